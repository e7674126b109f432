//! What every handler shares: the coordinator's state, built once by
//! [`crate::App::build`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use resi_chain::{Metagraph, MetagraphSource};
use resi_runtime::SharedClock;
use resi_storage::{Presigner, S3Client};
use time::OffsetDateTime;

use resi_core::EpochId;

use crate::epochs::{CachedEpoch, EpochCache, EpochPolicy};
use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use crate::store::Store;

/// Everything the handlers share.
pub struct AppState {
    pub store: Store,
    pub policy: EpochPolicy,
    /// Stored epochs never change: served from memory once read.
    pub epochs: EpochCache,
    /// The chain's read side: who is registered, who is a validator.
    pub chain: Arc<dyn MetagraphSource>,
    pub presigner: Presigner,
    pub s3: S3Client,
    pub limiter: RateLimiter,
    pub started: Instant,
    /// The clock, injected so tests can move past a deadline.
    pub clock: SharedClock,
    /// Largest object a miner may upload, in bytes.
    pub max_upload_bytes: u64,
    pub validator_min_stake: u64,
    /// How long presigned GET URLs handed to validators live.
    pub read_url_ttl: Duration,
    /// Every rate limit is multiplied by this (1 in production; a devnet with
    /// epochs of seconds needs more calls per minute).
    pub rate_limit_multiplier: u32,
    /// Validators' published results, read once for the dashboard.
    pub published: crate::published::PublishedCache,
    /// Registered hotkeys' public keys, decoded once.
    pub keys: crate::auth::KeyCache,
    /// The process's Prometheus recorder, rendered at `/metrics`.
    pub metrics: resi_telemetry::metrics::PrometheusHandle,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// A stored epoch, or 404 `unknown epoch …`.
    pub async fn stored_epoch(&self, id: &EpochId) -> Result<Arc<CachedEpoch>, ApiError> {
        self.epochs
            .existing(&self.store, id)
            .await?
            .ok_or_else(|| ApiError::unknown_epoch(id))
    }

    pub fn metagraph(&self) -> Result<Arc<Metagraph>, ApiError> {
        self.chain
            .metagraph()
            .map_err(|e| ApiError::Unavailable(format!("metagraph unavailable: {e}")))
    }
}

/// A Unix second as the presigner takes it.
pub(crate) fn unix(t: i64) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| ApiError::internal(format!("time {t}: {e}")))
}
