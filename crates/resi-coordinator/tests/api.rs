//! The coordinator's HTTP API over real HTTP: the server on port 0, the
//! embedded S3 server, a local metagraph, signatures made by resi-auth; on
//! SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::harness::*;
use resi_auth::{commitment, Keypair};
use resi_core::{EpochId, EpochLength};
use resi_runtime::SystemClock;
use resi_storage::{PostForm, Presigner};
use serde_json::json;
use time::OffsetDateTime;

/// Replay records stored for `hotkey`.
async fn replay_records(db_url: &str, hotkey: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(db_url).await.unwrap();
    sqlx::query("SELECT COUNT(*) FROM seen_requests WHERE hotkey = $1")
        .bind(hotkey)
        .fetch_one(&mut connection)
        .await
        .unwrap()
        .get(0)
}

async fn scenario(db_url: &str) {
    let h = start(db_url).await;
    // Start at the beginning of a fresh epoch, so the steps before the deadline fit in it.
    sleep_until((wall() / EPOCH_SECS as i64 + 1) * EPOCH_SECS as i64).await;
    let now = h.now();

    // Health.
    let (status, _, health) = h.get("/healthcheck", &[]).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["service"], "resi-coordinator");

    // Current assignment: happy path with rate-limit headers.
    let (status, headers, a) = h
        .get(
            "/api/v1/zipcode-assignments/current",
            &h.signed(&h.miner, &commitment::current_assignment(now), now),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        a["epochId"],
        EpochLength::from_secs(EPOCH_SECS)
            .unwrap()
            .epoch_containing(now)
            .unwrap()
            .to_string()
    );
    assert_eq!(a["nonce"].as_str().unwrap().len(), 16);
    assert!(a.get("validationSeed").is_none());
    assert_eq!(headers["x-ratelimit-limit"], "10");
    assert_eq!(headers["x-ratelimit-remaining"], "9");
    let epoch = EpochId::parse(a["epochId"].as_str().unwrap()).unwrap();

    // Rejections.
    let (s, _, b) = h
        .get(
            "/api/v1/zipcode-assignments/current",
            &h.signed(&h.miner, "wrong message", now),
        )
        .await;
    assert_eq!(s, 401);
    error_shape(&b, 401);
    let stale = now - 301;
    let (s, _, b) = h
        .get(
            "/api/v1/zipcode-assignments/current",
            &h.signed(&h.miner, &commitment::current_assignment(stale), stale),
        )
        .await;
    assert_eq!(s, 401, "{b}");
    let (s, _, b) = h
        .get(
            "/api/v1/zipcode-assignments/current",
            &h.signed(&h.stranger, &commitment::current_assignment(now), now),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, _, b) = h
        .get("/api/v1/zipcode-assignments/current", &[("hotkey", "x".into())])
        .await;
    assert_eq!(s, 400);
    error_shape(&b, 400);
    let (s, _, _) = h.get("/no/such/route", &[]).await;
    assert_eq!(s, 404);

    // Rate limit: 10 per minute per hotkey (one used above).
    // (Windows are wall-clock minutes; 21 requests hit the limit even across one boundary.)
    let mut limited = None;
    for _ in 0..21 {
        let (s, headers, b) = h
            .get(
                "/api/v1/zipcode-assignments/current",
                &h.signed(&h.miner, &commitment::current_assignment(now), now),
            )
            .await;
        if s == 429 {
            limited = Some((headers, b));
            break;
        }
    }
    let (headers, b) = limited.expect("rate limited within 21 requests");
    error_shape(&b, 429);
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert!(headers.contains_key("retry-after"));
    // A rate-limited request writes nothing: no replay record (each request
    // is counted alone, so a window ending meanwhile cannot blur it).
    let miner = h.miner.hotkey().to_string();
    let mut refused = 0;
    for _ in 0..20 {
        let before = replay_records(db_url, &miner).await;
        let (s, _, _) = h
            .get(
                "/api/v1/zipcode-assignments/current",
                &h.signed(&h.miner, &commitment::current_assignment(now), now),
            )
            .await;
        if s == 429 {
            refused += 1;
            assert_eq!(
                replay_records(db_url, &miner).await,
                before,
                "a 429 wrote a replay record"
            );
        }
    }
    assert!(refused >= 10, "{refused} of 20 refused");

    // Epoch endpoint: validators only; 404 unknown; the seed only after the deadline.
    let path = format!("/api/v1/zipcode-assignments/epoch/{epoch}");
    let (s, _, e) = h
        .get(
            &path,
            &h.signed(&h.validator, &commitment::epoch_assignment(&epoch, now), now),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(e["nonce"], a["nonce"]);
    assert!(e.get("validationSeed").is_none());
    let (s, _, _) = h
        .get(
            &path,
            &h.signed(&h.miner, &commitment::epoch_assignment(&epoch, now), now),
        )
        .await;
    assert_eq!(s, 403);
    let old = EpochId::parse("2025-09-01T00-00-00").unwrap();
    let (s, _, _) = h
        .get(
            &format!("/api/v1/zipcode-assignments/epoch/{old}"),
            &h.signed(&h.validator, &commitment::epoch_assignment(&old, now), now),
        )
        .await;
    assert_eq!(s, 404);

    // Miner status: the signature covers the report.
    let report = json!({"uploaded": 3});
    let report_hash = commitment::status_body_sha256(report.as_object().unwrap());
    let status_body = h.body(
        &h.miner,
        &commitment::miner_status(&h.miner.hotkey(), &epoch, now, &report_hash),
        now,
        json!({"epochId": epoch, "uploaded": 3}),
    );
    let (s, b) = h.post("/api/v1/zipcode-assignments/status", status_body.clone()).await;
    assert_eq!(s, 200, "{b}");
    // The same signed request again: a replay, refused.
    let (s, b) = h.post("/api/v1/zipcode-assignments/status", status_body.clone()).await;
    assert_eq!(s, 401, "{b}");
    error_shape(&b, 401);
    assert!(b["message"][0].as_str().unwrap().contains("already used"), "{b}");
    // A signature over one report does not carry another (a forged report).
    let mut forged = h.body(
        &h.miner,
        &commitment::miner_status(&h.miner.hotkey(), &epoch, now, &report_hash),
        now,
        json!({"epochId": epoch, "uploaded": 3}),
    );
    forged["uploaded"] = json!(999);
    let (s, b) = h.post("/api/v1/zipcode-assignments/status", forged).await;
    assert_eq!(s, 401, "{b}");
    // A replayed GET is refused too.
    let query = h.signed(&h.validator, &commitment::epoch_assignment(&epoch, now), now);
    let (s, _, b) = h.get(&path, &query).await;
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = h.get(&path, &query).await;
    assert_eq!(s, 401, "{b}");
    // Malformed queries and bodies answer JSON errors with their status.
    let r = h
        .http
        .get(format!(
            "{}/api/v1/zipcode-assignments/current?hotkey=a&hotkey=b",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    error_shape(&r.json().await.unwrap(), 400);
    let r = h
        .http
        .delete(format!("{}/api/v1/zipcode-assignments/current", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    error_shape(&r.json().await.unwrap(), 405);
    let r = h
        .http
        .post(format!("{}/api/v1/zipcode-assignments/status", h.base))
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    error_shape(&r.json().await.unwrap(), 413);
    let r = h
        .http
        .get(format!(
            "{}/api/v1/zipcode-assignments/stats?{}",
            h.base,
            "a".repeat(20_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    error_shape(&r.json().await.unwrap(), 414);
    let r = h
        .http
        .get(format!("{}/healthcheck", h.base))
        .header("x-big", "b".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    error_shape(&r.json().await.unwrap(), 431);

    // Miner upload access: own prefix only, size-capped.
    let cold = h.miner_cold.hotkey();
    let (s, access) = h
        .post(
            "/get-folder-access",
            h.body(
                &h.miner,
                &commitment::miner_upload_access(&cold, &h.miner.hotkey(), now),
                now,
                json!({"coldkey": cold}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{access}");
    let form: PostForm = serde_json::from_value(access["upload"].clone()).unwrap();
    let folder = access["folder"].as_str().unwrap().to_owned();
    assert_eq!(folder, format!("data/hotkey={}/epoch={epoch}/", h.miner.hotkey()));
    let zipcode = a["zipcodes"][0]["zipcode"].as_str().unwrap().to_owned();
    let key = format!("{folder}zipcode={zipcode}/listings.parquet");
    h.s3.post_form(&form, &key, bytes::Bytes::from_static(b"PAR1 test PAR1"))
        .await
        .unwrap();
    let other = format!(
        "data/hotkey={}/epoch={epoch}/zipcode={zipcode}/listings.parquet",
        h.validator.hotkey()
    );
    assert!(
        h.s3.post_form(&form, &other, bytes::Bytes::from_static(b"x"))
            .await
            .is_err(),
        "another hotkey's prefix"
    );
    let next_epoch = format!(
        "data/hotkey={}/epoch=2025-10-01T20-00-00/zipcode={zipcode}/listings.parquet",
        h.miner.hotkey()
    );
    assert!(
        h.s3.post_form(&form, &next_epoch, bytes::Bytes::from_static(b"x"))
            .await
            .is_err(),
        "another epoch"
    );
    // A coldkey that does not own the hotkey.
    let wrong = h.stranger.hotkey();
    let (s, b) = h
        .post(
            "/get-folder-access",
            h.body(
                &h.miner,
                &commitment::miner_upload_access(&wrong, &h.miner.hotkey(), now),
                now,
                json!({"coldkey": wrong}),
            ),
        )
        .await;
    assert_eq!(s, 403, "{b}");

    // Validator read: refused before the deadline, then every object with a working URL.
    let read = |ts: i64| {
        h.body(
            &h.validator,
            &commitment::validator_read_access(&epoch, ts),
            ts,
            json!({"epochId": epoch}),
        )
    };
    // An object in the epoch's layout under a hotkey that was never given
    // access (written here with the bucket's own credentials) is not one of
    // the epoch's folders: validators are not shown it.
    let planted = format!(
        "data/hotkey={}/epoch={epoch}/zipcode={zipcode}/listings.parquet",
        h.stranger.hotkey()
    );
    let bucket = Presigner::new(h._s3_server.s3_config()).unwrap();
    h.s3.put(
        &bucket
            .put(&planted, OffsetDateTime::now_utc(), Duration::from_secs(60))
            .unwrap(),
        &planted,
        bytes::Bytes::from_static(b"PAR1 planted PAR1"),
    )
    .await
    .unwrap();
    let (s, b) = h.post("/api/v1/s3-access/validator-read", read(h.now())).await;
    assert_eq!(s, 409, "{b}");
    error_shape(&b, 409);
    sleep_until(epoch.start_unix() + EPOCH_SECS as i64).await;
    let later = h.now();
    let (s, listing) = h.post("/api/v1/s3-access/validator-read", read(later)).await;
    assert_eq!(s, 200, "{listing}");
    let objects = listing["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{listing}");
    assert_eq!(objects[0]["key"], key);
    assert!(objects[0]["lastModified"].as_i64().unwrap() > 0);
    let url: url::Url = objects[0]["url"].as_str().unwrap().parse().unwrap();
    let got = h.s3.get(&url, &key, 1_000).await.unwrap();
    assert_eq!(&got[..], b"PAR1 test PAR1");
    // The seed is now revealed.
    let (s, _, e) = h
        .get(
            &path,
            &h.signed(&h.validator, &commitment::epoch_assignment(&epoch, later), later),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(e["validationSeed"].as_str().unwrap().len(), 64);

    // Validator upload policy: the signature names the epoch, so it opens no other.
    let other_epoch = EpochId::from_start_unix(epoch.start_unix() - EPOCH_SECS as i64).unwrap();
    let upload_signed_for_epoch = |body_epoch: EpochId| {
        h.body(
            &h.validator,
            &commitment::validator_upload_access(&epoch, later),
            later,
            json!({"epochId": body_epoch}),
        )
    };
    let (s, b) = h
        .post(
            "/api/v1/s3-access/validator-upload",
            upload_signed_for_epoch(other_epoch),
        )
        .await;
    assert_eq!(s, 401, "{b}");
    let (s, up) = h
        .post("/api/v1/s3-access/validator-upload", upload_signed_for_epoch(epoch))
        .await;
    assert_eq!(s, 200, "{up}");
    assert_eq!(up["folder"], format!("validators/{}/{epoch}/", h.validator.hotkey()));

    // Stats are public.
    let (s, _, stats) = h.get("/api/v1/zipcode-assignments/stats", &[]).await;
    assert_eq!(s, 200, "{stats}");
    assert!(stats["zipcodesByState"].as_object().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await;
}

#[tokio::test]
async fn api_on_postgres() {
    common::with_postgres("api", |url| async move { scenario(&url).await }).await;
}

/// A database that goes away mid-run: signed requests and the health check
/// answer 503 with the JSON error body (and a Retry-After), within the pool's
/// 5 s wait, instead of 500.
#[tokio::test]
async fn a_database_outage_is_answered_503() {
    common::with_postgres("outage", |url| async move {
        let upstream = url::Url::parse(&url).unwrap();
        let upstream = (upstream.host_str().unwrap(), upstream.port().unwrap_or(5432));
        let upstream = tokio::net::lookup_host(upstream).await.unwrap().next().unwrap();
        let proxy = common::CuttableProxy::start(upstream).await;
        let h = start(&proxy.url(&url)).await;
        let current = |ts: i64| h.signed(&h.miner, &commitment::current_assignment(ts), ts);
        let (s, _, b) = h.get("/api/v1/zipcode-assignments/current", &current(h.now())).await;
        assert_eq!(s, 200, "{b}");

        proxy.cut();
        let (s, headers, b) = h.get("/api/v1/zipcode-assignments/current", &current(h.now())).await;
        assert_eq!(s, 503, "{b}");
        error_shape(&b, 503);
        assert!(
            b["message"][0].as_str().unwrap().contains("database is unavailable"),
            "{b}"
        );
        assert_eq!(headers["retry-after"], "5");
        let (s, _, health) = h.get("/healthcheck", &[]).await;
        assert_eq!(s, 503, "{health}");
        assert_eq!(health["database"]["connected"], false);
    })
    .await;
}

#[tokio::test]
async fn the_client_speaks_every_endpoint() {
    use resi_api::{CoordinatorClient, StatusReport};
    let dir = tempfile::tempdir().unwrap();
    let h = start(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await;
    sleep_until((wall() / EPOCH_SECS as i64 + 1) * EPOCH_SECS as i64).await;
    let base: url::Url = format!("{}/", h.base).parse().unwrap();
    let miner = CoordinatorClient::new(
        base.clone(),
        Arc::new(Keypair::from_seed(h.miner.seed().unwrap()).unwrap()),
        SystemClock::shared(),
    )
    .unwrap();
    let validator = CoordinatorClient::new(
        base.clone(),
        Arc::new(Keypair::from_seed(h.validator.seed().unwrap()).unwrap()),
        SystemClock::shared(),
    )
    .unwrap();
    let a = miner.current_assignment().await.unwrap();
    assert!(!a.zipcodes.is_empty());
    let report = StatusReport {
        zipcodes_uploaded: Some(1),
        ..StatusReport::default()
    };
    let stored = miner.report_status(&a.epoch_id, report).await.unwrap();
    assert!(stored.success);
    let access = miner.upload_access(&h.miner_cold.hotkey()).await.unwrap();
    let key = format!("{}zipcode={}/listings.parquet", access.folder, a.zipcodes[0].zipcode);
    h.s3.post_form(&access.upload, &key, bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    let early = validator.validator_read(&a.epoch_id, "data", None).await.unwrap_err();
    assert_eq!(early.status, Some(409), "{early}");
    let refused = miner.epoch(&a.epoch_id).await.unwrap_err();
    assert_eq!(refused.status, Some(403));
    sleep_until(a.epoch_id.start_unix() + EPOCH_SECS as i64).await;
    let page = validator.validator_read(&a.epoch_id, "data", None).await.unwrap();
    assert_eq!(page.objects.len(), 1);
    assert_eq!(page.objects[0].key, key);
    let revealed = validator.epoch(&a.epoch_id).await.unwrap();
    assert!(revealed.validation_seed.is_some());
    let up = validator.validator_upload(&a.epoch_id).await.unwrap();
    assert!(up.folder.starts_with("validators/"));
}
