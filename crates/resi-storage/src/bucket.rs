//! A bucket this process holds credentials for (a validator's own dataset
//! bucket): put, get and list by key, each call through a URL it presigns
//! for a minute, so every request goes through [`S3Client`]'s retries.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::client::{FailureKind, ObjectInfo, RetryPolicy, S3Client, StorageError};
use crate::presign::{PresignError, Presigner, S3Config};

/// How long each presigned URL lives: one call, retries included.
const CALL_URL_SECS: u64 = 300;

/// The caller's clock, Unix seconds (signatures carry the time).
pub type UnixNow = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A bucket and the keys to it.
#[derive(Clone)]
pub struct Bucket {
    presigner: Presigner,
    client: S3Client,
    now: UnixNow,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("config", self.config()).finish()
    }
}

fn presign_failed(operation: &'static str, key: &str, e: PresignError) -> StorageError {
    StorageError {
        operation,
        key: key.to_owned(),
        attempt: 0,
        kind: FailureKind::BadResponse(e.to_string()),
    }
}

impl Bucket {
    pub fn new(config: S3Config, retry: RetryPolicy, now: UnixNow) -> Result<Self, StorageError> {
        let bucket = config.bucket.clone();
        let presigner = Presigner::new(config).map_err(|e| presign_failed("open", &bucket, e))?;
        Ok(Self {
            presigner,
            client: S3Client::new(retry)?,
            now,
        })
    }

    fn signing_time(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp((self.now)()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    pub fn config(&self) -> &S3Config {
        self.presigner.config()
    }

    /// `s3://bucket/`, for messages.
    pub fn describe(&self) -> String {
        format!("s3://{}/ at {}", self.config().bucket, self.config().endpoint)
    }

    fn ttl() -> Duration {
        Duration::from_secs(CALL_URL_SECS)
    }

    /// Writes `body` at `key` (an S3 PUT replaces an object whole: a reader
    /// sees the old bytes or the new, never a mix).
    pub async fn put(&self, key: &str, body: Bytes) -> Result<(), StorageError> {
        let url = self
            .presigner
            .put(key, self.signing_time(), Self::ttl())
            .map_err(|e| presign_failed("put", key, e))?;
        self.client.put(&url, key, body).await.map(|_| ())
    }

    /// The object at `key`, or `None` when there is none; more than
    /// `max_bytes` is an error.
    pub async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Bytes>, StorageError> {
        let url = self
            .presigner
            .get(key, self.signing_time(), Self::ttl())
            .map_err(|e| presign_failed("get", key, e))?;
        match self.client.get(&url, key, max_bytes).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        self.client
            .list_all(prefix, |token| {
                self.presigner
                    .list(prefix, token, Some(1_000), self.signing_time(), Self::ttl())
                    .map_err(|e| e.to_string())
            })
            .await
    }
}
