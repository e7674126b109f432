//! An S3 client for presigned URLs and POST forms, with retries.
//!
//! Retries (via `backon`): exponential backoff with jitter on timeouts,
//! connection errors, 500/502/503/504 and 429 (honouring `Retry-After`),
//! never on another 4xx, within a bound on the total time. Every error says
//! which key, and which attempt, failed.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

use crate::presign::PostForm;

/// How hard to try.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// No new attempt starts after this much time since the first.
    pub total_timeout: Duration,
    /// One attempt's limit.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            total_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What went wrong, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection refused or reset, DNS, TLS, or a timeout.
    Transport(String),
    /// An HTTP status with the start of the body (S3's XML error).
    Status {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// The object is larger than the caller accepts.
    TooLarge { limit: u64 },
    /// The response could not be understood.
    BadResponse(String),
}

impl FailureKind {
    fn retryable(&self) -> bool {
        match self {
            FailureKind::Transport(_) => true,
            FailureKind::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            FailureKind::TooLarge { .. } | FailureKind::BadResponse(_) => false,
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureKind::Transport(e) => write!(f, "transport error: {e}"),
            FailureKind::Status { status, body, .. } => write!(f, "HTTP {status}: {body}"),
            FailureKind::TooLarge { limit } => write!(f, "object is larger than the limit of {limit} bytes"),
            FailureKind::BadResponse(e) => write!(f, "bad response: {e}"),
        }
    }
}

/// A failed storage operation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} {key}: attempt {attempt} failed: {kind}")]
pub struct StorageError {
    pub operation: &'static str,
    pub key: String,
    pub attempt: u32,
    pub kind: FailureKind,
}

impl StorageError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            FailureKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// One object in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: String,
    /// `LastModified`, Unix milliseconds.
    pub last_modified_ms: i64,
}

/// One ListObjectsV2 page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ObjectInfo>,
    pub next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<ListContents>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListContents {
    key: String,
    size: u64,
    #[serde(rename = "ETag", default)]
    etag: String,
    last_modified: String,
}

/// Why a ListObjectsV2 response body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ListParseError(String);

/// Parses a ListObjectsV2 response body.
pub fn parse_list(xml: &str) -> Result<ListPage, ListParseError> {
    let result: ListBucketResult =
        quick_xml::de::from_str(xml).map_err(|e| ListParseError(format!("ListObjectsV2 XML: {e}")))?;
    let objects = result
        .contents
        .into_iter()
        .map(|c| {
            let modified = OffsetDateTime::parse(&c.last_modified, &Rfc3339)
                .map_err(|e| ListParseError(format!("LastModified {:?} of {}: {e}", c.last_modified, c.key)))?;
            let ms = modified.unix_timestamp() * 1000 + modified.millisecond() as i64;
            Ok(ObjectInfo {
                key: c.key,
                size: c.size,
                etag: c.etag.trim_matches('"').to_owned(),
                last_modified_ms: ms,
            })
        })
        .collect::<Result<Vec<_>, ListParseError>>()?;
    let next = if result.is_truncated {
        result.next_continuation_token
    } else {
        None
    };
    Ok(ListPage {
        objects,
        next_continuation_token: next,
    })
}

/// The client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct S3Client {
    http: reqwest::Client,
    retry: RetryPolicy,
}

enum Body {
    Empty,
    Bytes(Bytes),
    Form(PostForm, String, Bytes),
}

impl S3Client {
    pub fn new(retry: RetryPolicy) -> Result<Self, StorageError> {
        Self::with_builder(reqwest::Client::builder(), retry)
    }

    /// With a caller-tuned HTTP client builder (tests use it to disable connection reuse).
    pub fn with_builder(builder: reqwest::ClientBuilder, retry: RetryPolicy) -> Result<Self, StorageError> {
        let http = builder
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| StorageError {
                operation: "build client",
                key: String::new(),
                attempt: 0,
                kind: FailureKind::Transport(e.to_string()),
            })?;
        Ok(Self { http, retry })
    }

    /// Runs one request with retries; `read` turns a success into the result.
    async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        key: &str,
        method: Method,
        url: &Url,
        body: &Body,
        read: F,
    ) -> Result<T, StorageError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<T, FailureKind>>,
    {
        let started = Instant::now();
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let once = || async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let fail = |kind| StorageError {
                operation,
                key: key.to_owned(),
                attempt: n,
                kind,
            };
            let request = match body {
                Body::Empty => self.http.request(method.clone(), url.clone()),
                Body::Bytes(b) => self.http.request(method.clone(), url.clone()).body(b.clone()),
                Body::Form(form, key, b) => {
                    let mut multipart = reqwest::multipart::Form::new();
                    for (name, value) in &form.fields {
                        multipart = multipart.text(name.clone(), value.clone());
                    }
                    multipart = multipart.text("key", key.clone()).part(
                        "file",
                        reqwest::multipart::Part::stream_with_length(b.clone(), b.len() as u64),
                    );
                    self.http.request(method.clone(), url.clone()).multipart(multipart)
                }
            };
            let response = request
                .send()
                .await
                .map_err(|e| fail(FailureKind::Transport(crate::transport::describe(&e))))?;
            let status = response.status();
            if !status.is_success() {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let text = response.text().await.unwrap_or_default();
                return Err(fail(FailureKind::Status {
                    status: status.as_u16(),
                    body: text.chars().take(300).collect(),
                    retry_after,
                }));
            }
            read(response).await.map_err(fail)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.initial_backoff)
            .with_max_delay(self.retry.max_backoff)
            .with_max_times(self.retry.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        let total = self.retry.total_timeout;
        once.retry(backoff)
            .when(|e: &StorageError| e.kind.retryable() && started.elapsed() < total)
            .adjust(|e: &StorageError, planned| match &e.kind {
                FailureKind::Status {
                    retry_after: Some(wait),
                    ..
                } => planned.map(|p| p.max(*wait).min(Duration::from_secs(60))),
                _ => planned,
            })
            .notify(|e: &StorageError, wait| tracing::warn!(error = %e, ?wait, "retrying"))
            .await
    }

    /// One ListObjectsV2 page from a presigned list URL.
    pub async fn list_page(&self, url: &Url, prefix: &str) -> Result<ListPage, StorageError> {
        self.call("list", prefix, Method::GET, url, &Body::Empty, |r| async move {
            let text = r.text().await.map_err(|e| FailureKind::Transport(e.to_string()))?;
            parse_list(&text).map_err(|e| FailureKind::BadResponse(e.to_string()))
        })
        .await
    }

    /// Every object under a prefix, following continuation tokens;
    /// `page_url(token)` presigns each page.
    pub async fn list_all(
        &self,
        prefix: &str,
        page_url: impl Fn(Option<&str>) -> Result<Url, String>,
    ) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let url = page_url(token.as_deref()).map_err(|e| StorageError {
                operation: "list",
                key: prefix.to_owned(),
                attempt: 0,
                kind: FailureKind::BadResponse(e),
            })?;
            let page = self.list_page(&url, prefix).await?;
            objects.extend(page.objects);
            match page.next_continuation_token {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(objects),
            }
        }
    }

    /// Downloads an object, refusing more than `max_bytes` (streamed, so an
    /// oversized object is never held in memory).
    pub async fn get(&self, url: &Url, key: &str, max_bytes: u64) -> Result<Bytes, StorageError> {
        self.call("get", key, Method::GET, url, &Body::Empty, |r| async move {
            if r.content_length().is_some_and(|len| len > max_bytes) {
                return Err(FailureKind::TooLarge { limit: max_bytes });
            }
            let mut out = BytesMut::new();
            let mut stream = r.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| FailureKind::Transport(e.to_string()))?;
                if out.len() as u64 + chunk.len() as u64 > max_bytes {
                    return Err(FailureKind::TooLarge { limit: max_bytes });
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out.freeze())
        })
        .await
    }

    /// Uploads to a presigned PUT URL; returns the ETag.
    pub async fn put(&self, url: &Url, key: &str, body: Bytes) -> Result<String, StorageError> {
        self.call("put", key, Method::PUT, url, &Body::Bytes(body), |r| async move {
            Ok(etag(&r))
        })
        .await
    }

    /// Uploads through a presigned POST form; returns the ETag.
    pub async fn post_form(&self, form: &PostForm, key: &str, body: Bytes) -> Result<String, StorageError> {
        let payload = Body::Form(form.clone(), key.to_owned(), body);
        self.call("post", key, Method::POST, &form.url, &payload, |r| async move {
            Ok(etag(&r))
        })
        .await
    }
}

fn etag(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_matches('"')
        .to_owned()
}

/// True when the status means "try again later".
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_list_page_with_milliseconds() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>data/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
  <NextContinuationToken>abc</NextContinuationToken>
  <Contents><Key>data/a</Key><LastModified>2025-10-01T16:00:00.123Z</LastModified><ETag>"e1"</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>data/b</Key><LastModified>2025-10-01T16:00:01Z</LastModified><ETag>&quot;e2&quot;</ETag><Size>0</Size></Contents>
</ListBucketResult>"#;
        let page = parse_list(xml).unwrap();
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.objects[0].last_modified_ms, 1_759_334_400_123);
        assert_eq!(page.objects[0].etag, "e1");
        assert_eq!(page.objects[1].etag, "e2");
        assert_eq!(page.next_continuation_token.as_deref(), Some("abc"));
        let empty = parse_list(r#"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"#).unwrap();
        assert!(empty.objects.is_empty());
        assert!(parse_list("<nonsense").is_err());
    }
}
