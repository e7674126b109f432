//! The storage layer against the real embedded S3 server, over HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use resi_s3_server::{EmbeddedS3, EmbeddedS3Options};
use resi_storage::client::FailureKind;
use resi_storage::{Presigner, RetryPolicy, S3Client, S3Config};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const TTL: Duration = Duration::from_secs(600);

async fn server() -> (EmbeddedS3, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(EmbeddedS3Options::local(dir.path(), "resi-test"))
        .await
        .unwrap();
    (s3, dir)
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        total_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
    }
}

fn client() -> S3Client {
    S3Client::new(fast_retries()).unwrap()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[tokio::test]
async fn put_get_list_round_trip() {
    let (s3, _dir) = server().await;
    let p = Presigner::new(s3.s3_config()).unwrap();
    let c = client();
    let body = Bytes::from((0..100_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<u8>>());
    let key = "data/a/b.parquet";
    let etag = c
        .put(&p.put(key, now(), TTL).unwrap(), key, body.clone())
        .await
        .unwrap();
    assert!(!etag.is_empty());
    let got = c.get(&p.get(key, now(), TTL).unwrap(), key, 1 << 20).await.unwrap();
    assert_eq!(got, body);
    let listed = c
        .list_all("data/", |t| {
            p.list("data/", t, None, now(), TTL).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].key.as_str(), listed[0].size, listed[0].etag.as_str()),
        (key, 400_000, etag.as_str())
    );
    let now_ms = (now().unix_timestamp_nanos() / 1_000_000) as i64;
    let age = now_ms - listed[0].last_modified_ms;
    assert!(
        (-5_000..60_000).contains(&age),
        "LastModified {} is not now ({now_ms})",
        listed[0].last_modified_ms
    );
    // The raw listing carries milliseconds.
    let raw = reqwest::get(p.list("data/", None, None, now(), TTL).unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stamp = raw
        .split("<LastModified>")
        .nth(1)
        .and_then(|s| s.split("</LastModified>").next())
        .unwrap();
    assert!(stamp.contains('.') && stamp.ends_with('Z'), "LastModified {stamp}");
    s3.shutdown().await;
}

#[tokio::test]
async fn size_cap_and_missing_keys_fail_once_with_the_key_named() {
    let (s3, _dir) = server().await;
    let p = Presigner::new(s3.s3_config()).unwrap();
    let c = client();
    let key = "data/big";
    c.put(&p.put(key, now(), TTL).unwrap(), key, Bytes::from(vec![7u8; 5_000]))
        .await
        .unwrap();
    let err = c.get(&p.get(key, now(), TTL).unwrap(), key, 4_999).await.unwrap_err();
    assert!(matches!(err.kind, FailureKind::TooLarge { limit: 4_999 }));
    assert!(err.to_string().contains("data/big"), "{err}");
    let err = c
        .get(&p.get("data/missing", now(), TTL).unwrap(), "data/missing", 10)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.attempt),
        (Some(404), 1),
        "a 404 is not retried: {err}"
    );
    assert!(
        err.to_string()
            .starts_with("get data/missing: attempt 1 failed: HTTP 404"),
        "{err}"
    );
}

#[tokio::test]
async fn tampered_and_expired_urls_are_refused() {
    let (s3, _dir) = server().await;
    let p = Presigner::new(s3.s3_config()).unwrap();
    let c = client();
    c.put(
        &p.put("data/x", now(), TTL).unwrap(),
        "data/x",
        Bytes::from_static(b"x"),
    )
    .await
    .unwrap();
    // Another key under the same signature.
    let url = p.get("data/x", now(), TTL).unwrap();
    let tampered = url::Url::parse(&url.as_str().replace("/data/x?", "/data/y?")).unwrap();
    assert_eq!(c.get(&tampered, "data/y", 10).await.unwrap_err().status(), Some(403));
    // A flipped signature character.
    let sig_at = url.as_str().find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut text = url.as_str().to_owned();
    let flipped = if &text[sig_at..sig_at + 1] == "0" { "1" } else { "0" };
    text.replace_range(sig_at..sig_at + 1, flipped);
    assert_eq!(
        c.get(&url::Url::parse(&text).unwrap(), "data/x", 10)
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
    // Signed an hour ago for one minute.
    let old = p
        .get("data/x", now() - Duration::from_secs(3600), Duration::from_secs(60))
        .unwrap();
    assert_eq!(c.get(&old, "data/x", 10).await.unwrap_err().status(), Some(403));
    // Wrong credentials.
    let mut wrong = s3.s3_config();
    wrong.secret_key.push('x');
    let q = Presigner::new(wrong).unwrap();
    assert_eq!(
        c.get(&q.get("data/x", now(), TTL).unwrap(), "data/x", 10)
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
}

#[tokio::test]
async fn post_policies_are_enforced() {
    let (s3, _dir) = server().await;
    let p = Presigner::new(s3.s3_config()).unwrap();
    let c = client();
    let prefix = "data/hotkey=5Hp5/epoch=2025-10-01T16-00-00/";
    let form = p
        .post_policy(prefix, 1_000, now(), now() + Duration::from_secs(600))
        .unwrap();
    let inside = format!("{prefix}zipcode=77429/listings.parquet");
    c.post_form(&form, &inside, Bytes::from(vec![1u8; 1_000]))
        .await
        .unwrap();
    let got = c
        .get(&p.get(&inside, now(), TTL).unwrap(), &inside, 10_000)
        .await
        .unwrap();
    assert_eq!(got.len(), 1_000);
    // Another miner's prefix.
    let outside = "data/hotkey=OTHER/epoch=2025-10-01T16-00-00/zipcode=77429/listings.parquet";
    // (s3s answers a failed policy condition with 400 InvalidPolicyDocument, AWS with 403.)
    let err = c.post_form(&form, outside, Bytes::from_static(b"x")).await.unwrap_err();
    assert!(matches!(err.status(), Some(400 | 403)), "{err}");
    assert_eq!(err.attempt, 1, "a refused policy is not retried");
    // One byte over the limit.
    let err = c
        .post_form(&form, &inside, Bytes::from(vec![1u8; 1_001]))
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400..=403)), "{err}");
    // An expired policy.
    let past = now() - Duration::from_secs(7200);
    let expired = p
        .post_policy(prefix, 1_000, past, past + Duration::from_secs(60))
        .unwrap();
    let err = c
        .post_form(&expired, &inside, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    // A tampered policy (a wider prefix) no longer matches its signature.
    let mut forged = form.clone();
    let wide = p
        .post_policy("data/", 1_000, now(), now() + Duration::from_secs(600))
        .unwrap();
    forged.fields.insert("policy".into(), wide.fields["policy"].clone());
    let err = c
        .post_form(&forged, outside, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    // 403 for the signature; 400 when the forged policy was made in another
    // second (its x-amz-date no longer matches the form's): refused either way.
    assert!(matches!(err.status(), Some(400 | 403)), "{err}");
}

#[tokio::test]
async fn lists_more_than_a_thousand_keys_across_pages() {
    let (s3, _dir) = server().await;
    let config = s3.s3_config();
    let p = Presigner::new(config.clone()).unwrap();
    let c = client();
    let keys: Vec<String> = (0..1_050).map(|i| format!("data/k{i:05}")).collect();
    for chunk in keys.chunks(50) {
        let uploads = chunk.iter().map(|k| {
            let url = p.put(k, now(), TTL).unwrap();
            let c = c.clone();
            let k = k.clone();
            async move { c.put(&url, &k, Bytes::from(k.clone().into_bytes())).await }
        });
        for r in futures_util::future::join_all(uploads).await {
            r.unwrap();
        }
    }
    let pages = AtomicUsize::new(0);
    let listed = c
        .list_all("data/", |t| {
            pages.fetch_add(1, Ordering::Relaxed);
            p.list("data/", t, None, now(), TTL).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert_eq!(pages.load(Ordering::Relaxed), 2);
    let mut got: Vec<String> = listed.into_iter().map(|o| o.key).collect();
    got.sort();
    assert_eq!(got, keys);
    // Small pages work the same way.
    let small = c
        .list_all("data/k0000", |t| {
            p.list("data/k0000", t, Some(3), now(), TTL).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert_eq!(small.len(), 10);
    let _ = config;
}

/// Reads one HTTP/1.1 request (head and Content-Length body) so that an
/// answer written afterwards is read by the client rather than lost to a reset.
async fn read_request(stream: &mut TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut have = buf.len() - (end + 4);
            while have < length {
                let Ok(n) = stream.read(&mut chunk).await else { return };
                if n == 0 {
                    return;
                }
                have += n;
            }
            return;
        }
    }
}

/// A TCP proxy that, by connection number, answers 503, drops the connection,
/// answers 429 with Retry-After, or forwards to the upstream.
async fn fault_proxy(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let faults = Arc::new(AtomicUsize::new(0));
    let counter = faults.clone();
    tokio::spawn(async move {
        let mut n = 0usize;
        while let Ok((mut inbound, _)) = listener.accept().await {
            n += 1;
            let faults = counter.clone();
            tokio::spawn(async move {
                match n % 5 {
                    1 => {
                        faults.fetch_add(1, Ordering::Relaxed);
                        read_request(&mut inbound).await;
                        let _ = inbound
                            .write_all(
                                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            )
                            .await;
                    }
                    2 => {
                        faults.fetch_add(1, Ordering::Relaxed);
                        drop(inbound);
                    }
                    3 if n < 10 => {
                        faults.fetch_add(1, Ordering::Relaxed);
                        read_request(&mut inbound).await;
                        let _ = inbound
                            .write_all(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                    _ => {
                        if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }
                }
            });
        }
    });
    (addr, faults)
}

#[tokio::test]
async fn transfers_complete_through_faults() {
    let (s3, _dir) = server().await;
    let (proxy, faults) = fault_proxy(s3.addr()).await;
    let through_proxy = S3Config {
        endpoint: format!("http://{proxy}").parse().unwrap(),
        ..s3.s3_config()
    };
    let p = Presigner::new(through_proxy).unwrap();
    // A fresh connection per request, so every request meets the proxy's choice.
    let c = S3Client::with_builder(reqwest::Client::builder().pool_max_idle_per_host(0), fast_retries()).unwrap();
    let started = std::time::Instant::now();
    for i in 0..12u32 {
        let key = format!("data/f{i}");
        let body = Bytes::from(vec![i as u8; 10_000 + i as usize]);
        c.put(&p.put(&key, now(), TTL).unwrap(), &key, body.clone())
            .await
            .unwrap();
        let got = c.get(&p.get(&key, now(), TTL).unwrap(), &key, 1 << 20).await.unwrap();
        assert_eq!(got, body, "{key} byte-identical");
    }
    let listed = c
        .list_all("data/", |t| {
            p.list("data/", t, None, now(), TTL).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 12);
    assert!(faults.load(Ordering::Relaxed) >= 10, "the proxy injected faults");
    // Two answers were 429 with Retry-After: 1, far above the 50 ms backoff cap.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit() {
    // A port with nothing behind it: every attempt is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = S3Config {
        endpoint: format!("http://{addr}").parse().unwrap(),
        region: "us-east-1".into(),
        bucket: "b".into(),
        access_key: "a".into(),
        secret_key: "s".into(),
        path_style: true,
        session_token: None,
    };
    let p = Presigner::new(config).unwrap();
    let policy = RetryPolicy {
        max_attempts: 3,
        ..fast_retries()
    };
    let c = S3Client::new(policy).unwrap();
    let err = c
        .get(&p.get("data/z", now(), TTL).unwrap(), "data/z", 10)
        .await
        .unwrap_err();
    assert_eq!(err.attempt, 3, "{err}");
    assert!(matches!(err.kind, FailureKind::Transport(_)));
}

#[tokio::test]
async fn bad_bucket_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = EmbeddedS3::start(EmbeddedS3Options::local(dir.path(), "Bad_Bucket"))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("invalid bucket name"));
}

/// A miner's POST policy grants `data/hotkey=ME/epoch=E/`; keys that climb out
/// of it with `..` (or hide behind empty and `.` segments, or percent-encode
/// them) must write nothing, anywhere.
#[tokio::test]
async fn traversal_keys_are_refused_and_write_nothing() {
    let (s3, dir) = server().await;
    let p = Presigner::new(s3.s3_config()).unwrap();
    let c = client();
    let epoch = "2025-10-01T16-00-00";
    let prefix = format!("data/hotkey=ME/epoch={epoch}/");
    let form = p
        .post_policy(&prefix, 1_000, now(), now() + Duration::from_secs(600))
        .unwrap();
    for key in [
        format!("{prefix}../../hotkey=VICTIM/epoch={epoch}/manifest.json"),
        format!("{prefix}../../../validators/V/{epoch}/validation_results.json"),
        format!("{prefix}../epoch=2025-10-01T17-00-00/zipcode=77429/listings.parquet"),
        format!("{prefix}../../../root.json"),
        format!("{prefix}./zipcode=77429/listings.parquet"),
        format!("{prefix}/zipcode=77429/listings.parquet"),
        format!("{prefix}zipcode=77429//listings.parquet"),
        // Encoded dot segments: a reader that decodes keys would climb out.
        format!("{prefix}%2e%2e/%2e%2e/hotkey=VICTIM/epoch={epoch}/manifest.json"),
        format!("{prefix}%2E%2E/x.parquet"),
        format!("{prefix}.%2e/x.parquet"),
        format!("{prefix}%2e/x.parquet"),
        format!("{prefix}%252e%252e/x.parquet"),
        format!("{prefix}a%2f..%2fb.parquet"),
    ] {
        let err = c.post_form(&form, &key, Bytes::from_static(b"evil")).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{key}: {err}");
        assert_eq!(err.attempt, 1, "a refused key is not retried");
    }
    // Nothing was written: the bucket directory holds no object file at all.
    let mut written = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.file_name().unwrap().to_string_lossy().starts_with(".bucket-") {
                written.push(path);
            }
        }
    }
    assert!(written.is_empty(), "files written: {written:?}");
    // A key inside the prefix still works, and its POST answers with the ETag.
    let inside = format!("{prefix}zipcode=77429/listings.parquet");
    let etag = c.post_form(&form, &inside, Bytes::from_static(b"fine")).await.unwrap();
    assert!(!etag.is_empty(), "POST upload answered without an ETag");
}
