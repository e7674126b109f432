//! Setting weights the way the connected subnet wants them: a plain
//! `set_weights` when commit-reveal is off, a hash commit and a later reveal
//! when it is on. The commit's salt and weights are written to the reveal
//! journal before the commit is submitted, so a validator restarted between
//! commit and reveal still reveals.

mod calls;
mod reveal;

pub use calls::{call, commit_hash, has_call, timelock_payload, Call, Target, TimelockCall};
pub use reveal::{
    new_salt, stored_commits, CommitLayout, Due, PendingReveal, RevealJournal, RevealWindow, StoredCommit,
};

use calls::MODULE;
use subxt::Metadata;

use crate::error::SubtensorError;
use crate::node::{self, AtBlock};
use crate::schedule::EpochSchedule;

/// The subnet's weight-setting rules as of one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightRules {
    pub version_key: u64,
    pub rate_limit: u64,
    pub commit_reveal: bool,
    pub reveal_period_epochs: u64,
    pub tempo: u64,
    /// `CommitRevealWeightsVersion` where the runtime has it.
    pub commit_reveal_version: Option<u64>,
    /// The stateful epoch schedule where the runtime has one (spec ≥ ~407).
    pub schedule: Option<EpochSchedule>,
    /// Milliseconds per block: the runtime's `Aura.SlotDuration` (12,000 on
    /// finney, 250 on fast-block local chains), 12,000 where it is absent.
    pub block_millis: u64,
}

pub async fn rules(at: &AtBlock, netuid: u16) -> Result<WeightRules, SubtensorError> {
    let tempo = node::storage::<_, u16>(at, MODULE, "Tempo", (netuid,)).await?;
    Ok(WeightRules {
        version_key: node::storage::<_, u64>(at, MODULE, "WeightsVersionKey", (netuid,)).await?,
        rate_limit: node::storage::<_, u64>(at, MODULE, "WeightsSetRateLimit", (netuid,)).await?,
        commit_reveal: node::storage::<_, bool>(at, MODULE, "CommitRevealWeightsEnabled", (netuid,)).await?,
        reveal_period_epochs: node::storage::<_, u64>(at, MODULE, "RevealPeriodEpochs", (netuid,)).await?,
        tempo: u64::from(tempo),
        commit_reveal_version: if node::has_storage(at, MODULE, "CommitRevealWeightsVersion") {
            Some(
                node::storage::<_, u16>(at, MODULE, "CommitRevealWeightsVersion", ())
                    .await?
                    .into(),
            )
        } else {
            None
        },
        schedule: schedule(at, netuid, tempo).await?,
        block_millis: at
            .constants()
            .entry(subxt::dynamic::constant::<u64>("Aura", "SlotDuration"))
            .unwrap_or(12_000),
    })
}

/// The subnet's stateful epoch schedule at `at` (its `tempo` already read),
/// `None` on runtimes without one (no `SubnetEpochIndex`).
async fn schedule(at: &AtBlock, netuid: u16, tempo: u16) -> Result<Option<EpochSchedule>, SubtensorError> {
    if !node::has_storage(at, MODULE, "SubnetEpochIndex") {
        return Ok(None);
    }
    let read = |entry: &'static str| node::storage::<_, u64>(at, MODULE, entry, (netuid,));
    Ok(Some(EpochSchedule {
        last_epoch_block: read("LastEpochBlock").await?,
        pending_epoch_at: read("PendingEpochAt").await?,
        subnet_epoch_index: read("SubnetEpochIndex").await?,
        tempo,
        blocks_since_last_step: read("BlocksSinceLastStep").await?,
        current_block: at.block_number(),
    }))
}

impl WeightRules {
    /// The block the chain reveals a timelocked commit sent now in.
    pub fn first_reveal_block(&self, netuid: u16, head: u64) -> Result<u64, SubtensorError> {
        match &self.schedule {
            Some(schedule) => schedule
                .first_reveal_block(self.reveal_period_epochs)
                .map_err(|e| SubtensorError::Refused(e.to_string())),
            None => Ok(crate::schedule::legacy_first_reveal_block(
                head,
                netuid,
                self.tempo,
                self.reveal_period_epochs,
            )),
        }
    }

    pub fn block_secs(&self) -> f64 {
        self.block_millis as f64 / 1000.0
    }
}

/// Blocks until `uid` may set weights again (0: now).
pub async fn rate_limited_for(
    at: &AtBlock,
    target: &Target,
    uid: u16,
    rules: &WeightRules,
) -> Result<u64, SubtensorError> {
    if rules.rate_limit == 0 {
        return Ok(0);
    }
    let last: Vec<u64> = node::storage(at, MODULE, "LastUpdate", (target.storage_index(),)).await?;
    let last = last.get(uid as usize).copied().unwrap_or(0);
    // The extrinsic lands in the next block.
    Ok(blocks_to_wait(last, rules.rate_limit, at.block_number() + 1))
}

/// The runtime's `check_rate_limit` (subtensor `subnets/weights.rs`, the
/// same at spec 293 and at HEAD): a uid that never set weights (its
/// `LastUpdate` is the storage default, 0) may set them at once; otherwise
/// at the block where `block − last ≥ rate_limit`. Blocks from `block` (the
/// one the extrinsic would land in) until then.
pub fn blocks_to_wait(last_update: u64, rate_limit: u64, block: u64) -> u64 {
    if last_update == 0 {
        return 0;
    }
    last_update.saturating_add(rate_limit).saturating_sub(block)
}

/// How the weights go on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `set_weights(netuid, dests, weights, version_key)`.
    Set,
    /// `commit_weights(netuid, hash)` now, `reveal_weights(…)` in the reveal epoch.
    HashCommit,
    /// The weights encrypted to a drand round; the runtime reveals them itself.
    Timelocked(TimelockCall),
}

pub use resi_chain::CommitRevealMode;

/// The route for these rules in this runtime. With commit-reveal on, a plain
/// `set_weights` is never sent: the chain rejects it (`CommitRevealEnabled`).
pub fn route(
    metadata: &Metadata,
    target: &Target,
    rules: &WeightRules,
    mode: CommitRevealMode,
) -> Result<Route, SubtensorError> {
    if !rules.commit_reveal {
        return Ok(Route::Set);
    }
    if mode == CommitRevealMode::Auto {
        if target.has(metadata, "commit_timelocked_weights") {
            return Ok(Route::Timelocked(TimelockCall::Timelocked));
        }
        if target.has(metadata, "commit_crv3_weights") {
            return Ok(Route::Timelocked(TimelockCall::Crv3));
        }
    }
    if target.has(metadata, "commit_weights") && target.has(metadata, "reveal_weights") {
        return Ok(Route::HashCommit);
    }
    Err(SubtensorError::Refused(format!(
        "the subnet has commit-reveal on (version {:?}) and this runtime offers no commit call resi knows; \
         weights were not set",
        rules.commit_reveal_version
    )))
}

/// The validator's weights in chain storage: `Weights(storage index, uid)`
/// as (uid, value) pairs; the storage index is the netuid for mechanism 0.
pub async fn stored_weights(at: &AtBlock, storage_index: u16, uid: u16) -> Result<Vec<(u16, u16)>, SubtensorError> {
    node::storage(at, MODULE, "Weights", (storage_index, uid)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use subxt::ext::codec::{Compact, Encode};

    /// The runtime's `check_rate_limit` at its threshold, and its exception
    /// for a uid that never set weights.
    #[test]
    fn the_rate_limit_is_the_runtimes() {
        // Set at block 100, limit 100: allowed at block 200, not at 199.
        assert_eq!(blocks_to_wait(100, 100, 199), 1);
        assert_eq!(blocks_to_wait(100, 100, 200), 0);
        assert_eq!(blocks_to_wait(100, 100, 5_000), 0);
        // Never set (LastUpdate 0): allowed at once, even at block 50 of a
        // limit of 100, which `block − 0 ≥ 100` alone would refuse.
        assert_eq!(blocks_to_wait(0, 100, 50), 0);
        assert_eq!(blocks_to_wait(0, 0, 1), 0);
    }

    #[test]
    fn compact_lengths_are_scale() {
        let enc = |n: u32| Compact(n).encode();
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(63), [252]);
        assert_eq!(enc(64), [1, 1]);
        assert_eq!(enc(16_383), [253, 255]);
        assert_eq!(enc(16_384), [2, 0, 1, 0]);
    }

    #[test]
    fn the_commit_hash_covers_every_input() {
        let key = [7u8; 32];
        let base = commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 0);
        assert_ne!(
            base,
            commit_hash(&key, 3, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 0)
        );
        assert_ne!(
            base,
            commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 9], 0)
        );
        assert_ne!(
            base,
            commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 1)
        );
    }
}
