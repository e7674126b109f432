//! Epochs as the coordinator serves them: created (selected, seeded,
//! persisted) on first use, never changed afterwards.

use resi_core::assignment::{AssignedZipcode, Assignment, AssignmentMetadata};
use resi_core::{EpochId, EpochLength};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::rules::RulesConfig;
use crate::selection::{epoch_seeds, select, SelectionParams, ALGORITHM_VERSION};
use crate::store::{Store, StoreError, StoredEpoch};

/// How epochs are made.
#[derive(Clone, Debug)]
pub struct EpochPolicy {
    pub length: EpochLength,
    pub secret: Vec<u8>,
    pub selection: SelectionParams,
    /// The results version each new epoch announces.
    pub rules: RulesConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no zipcodes imported: run `resi coordinator import-zipcodes FILE.csv` first")]
    NoUniverse,
    #[error("no zipcode of the universe is eligible this epoch (check min/max expected listings and the cooldown)")]
    NothingEligible,
    #[error("{0}")]
    Epoch(resi_core::epoch::EpochError),
    #[error("serializing the assignment: {0}")]
    Serialize(String),
}

/// The epoch containing `now_unix`, created if this is its first use.
pub async fn current(store: &Store, policy: &EpochPolicy, now_unix: i64) -> Result<StoredEpoch, EpochError> {
    let id = policy.length.epoch_containing(now_unix)?;
    if let Some(existing) = store.epoch(&id).await? {
        return Ok(existing);
    }
    let window = policy.length.window(id)?;
    let universe = store.universe().await?;
    if universe.is_empty() {
        return Err(EpochError::NoUniverse);
    }
    let cooling = store
        .assigned_between(window.start_unix - policy.selection.cooldown_secs, window.start_unix)
        .await?;
    let selection = select(&policy.secret, &id, &universe, &cooling, &policy.selection);
    if selection.zipcodes.is_empty() {
        return Err(EpochError::NothingEligible);
    }
    if selection.short_of_target {
        tracing::warn!(epoch = %id, total = selection.total_expected, "selection fell short of the target listings");
    }
    let zipcodes: Vec<_> = selection.zipcodes.iter().map(|z| z.zipcode).collect();
    let seeds = epoch_seeds(&policy.secret, &id, &zipcodes);
    let stored = StoredEpoch {
        epoch_id: id,
        start_unix: window.start_unix,
        end_unix: window.end_unix,
        nonce: seeds.nonce,
        validation_seed: seeds.validation_seed,
        seed_commitment: seeds.validation_seed_commitment,
        selection_seed: selection.selection_seed,
        target_listings: policy.selection.target_listings,
        tolerance_percent: policy.selection.tolerance_percent,
        algorithm_version: ALGORITHM_VERSION.to_owned(),
        results_version: policy.rules.version_for(&id),
        zipcodes: selection
            .zipcodes
            .iter()
            .map(|z| (z.clone(), Some(z.zipcode) == selection.honeypot))
            .collect(),
    };
    // A concurrent request may have created it first: the stored one wins.
    Ok(store.insert_epoch_if_absent(&stored, now_unix).await?)
}

/// A persisted epoch, never created on demand.
pub async fn existing(store: &Store, id: &EpochId) -> Result<Option<StoredEpoch>, EpochError> {
    Ok(store.epoch(id).await?)
}

/// Unix seconds as RFC 3339 (UTC); empty for a time out of range.
pub(crate) fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The assignment document; the validation seed is included only once
/// `now_unix` is at or past the deadline.
pub fn assignment(epoch: &StoredEpoch, now_unix: i64) -> Assignment {
    let total: u64 = epoch.zipcodes.iter().map(|(z, _)| z.expected_listings).sum();
    Assignment {
        epoch_id: epoch.epoch_id,
        epoch_start: rfc3339(epoch.start_unix),
        epoch_end: rfc3339(epoch.end_unix),
        submission_deadline: rfc3339(epoch.end_unix),
        nonce: epoch.nonce.clone(),
        target_listings: epoch.target_listings,
        tolerance_percent: epoch.tolerance_percent,
        validation_seed_commitment: epoch.seed_commitment,
        zipcodes: epoch
            .zipcodes
            .iter()
            .map(|(z, _)| AssignedZipcode {
                zipcode: z.zipcode,
                expected_listings: z.expected_listings,
                state: z.state.clone(),
                city: z.city.clone(),
                county: z.county.clone(),
                market_tier: z.market_tier,
                geographic_region: z.geographic_region.clone(),
            })
            .collect(),
        metadata: AssignmentMetadata {
            total_expected_listings: total,
            zipcode_count: epoch.zipcodes.len() as u64,
            algorithm_version: epoch.algorithm_version.clone(),
            selection_seed: epoch.selection_seed.clone(),
        },
        validation_seed: (now_unix >= epoch.end_unix).then_some(epoch.validation_seed),
        results_version: epoch.results_version,
    }
}

/// A stored epoch and its assignment answers, serialized once: an epoch
/// never changes after it is stored, and every miner asks for it.
pub struct CachedEpoch {
    pub stored: StoredEpoch,
    /// The assignment response before the deadline (no validation seed) and after it.
    before_deadline: bytes::Bytes,
    after_deadline: bytes::Bytes,
}

impl CachedEpoch {
    fn new(stored: StoredEpoch) -> Result<Self, EpochError> {
        let body = |now| {
            let assignment = assignment(&stored, now);
            let response = resi_api::AssignmentResponse {
                success: true,
                message: format!("epoch {}: {} zipcodes", assignment.epoch_id, assignment.zipcodes.len()),
                assignment,
            };
            serde_json::to_vec(&response)
                .map(bytes::Bytes::from)
                .map_err(|e| EpochError::Serialize(e.to_string()))
        };
        Ok(Self {
            before_deadline: body(stored.start_unix)?,
            after_deadline: body(stored.end_unix)?,
            stored,
        })
    }

    /// The assignment response (JSON) as of `now_unix`.
    pub fn response(&self, now_unix: i64) -> bytes::Bytes {
        if now_unix >= self.stored.end_unix {
            self.after_deadline.clone()
        } else {
            self.before_deadline.clone()
        }
    }
}

/// The epochs served lately, newest last: the current one and a few past.
#[derive(Default)]
pub struct EpochCache {
    recent: std::sync::Mutex<std::collections::VecDeque<std::sync::Arc<CachedEpoch>>>,
}

/// Epochs kept in memory; older ones are read from the database again.
const CACHED_EPOCHS: usize = 8;

impl EpochCache {
    fn find(&self, id: &EpochId) -> Option<std::sync::Arc<CachedEpoch>> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().rev().find(|e| &e.stored.epoch_id == id).cloned()
    }

    fn keep(&self, stored: StoredEpoch) -> Result<std::sync::Arc<CachedEpoch>, EpochError> {
        let cached = std::sync::Arc::new(CachedEpoch::new(stored)?);
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        // Two requests may have read it at once: keep one copy.
        if let Some(kept) = recent.iter().find(|e| e.stored.epoch_id == cached.stored.epoch_id) {
            return Ok(std::sync::Arc::clone(kept));
        }
        if recent.len() == CACHED_EPOCHS {
            recent.pop_front();
        }
        recent.push_back(std::sync::Arc::clone(&cached));
        Ok(cached)
    }

    /// [`current`], from memory once stored.
    pub async fn current(
        &self,
        store: &Store,
        policy: &EpochPolicy,
        now_unix: i64,
    ) -> Result<std::sync::Arc<CachedEpoch>, EpochError> {
        let id = policy.length.epoch_containing(now_unix)?;
        if let Some(hit) = self.find(&id) {
            return Ok(hit);
        }
        self.keep(current(store, policy, now_unix).await?)
    }

    /// [`existing`], from memory once read.
    pub async fn existing(
        &self,
        store: &Store,
        id: &EpochId,
    ) -> Result<Option<std::sync::Arc<CachedEpoch>>, EpochError> {
        if let Some(hit) = self.find(id) {
            return Ok(Some(hit));
        }
        existing(store, id).await?.map(|e| self.keep(e)).transpose()
    }
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<resi_core::epoch::EpochError> for EpochError {
    fn from(e: resi_core::epoch::EpochError) -> Self {
        EpochError::Epoch(e)
    }
}
