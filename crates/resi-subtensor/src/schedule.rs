//! When a subnet's epochs fire, as the runtime decides it: which epoch a
//! commit made now belongs to, when it may be revealed, and which block the
//! chain reveals a timelocked commit in. Pure arithmetic over a few storage
//! values, so it is tested against the Python SDK's vectors without a chain.
//!
//! Two schedules exist:
//! - **Stateful** (runtimes with `SubnetEpochIndex`, spec ≥ ~407): an epoch
//!   fires when `tempo` blocks have passed since `LastEpochBlock`, at an
//!   owner-triggered `PendingEpochAt`, or when `BlocksSinceLastStep` passed
//!   `MAX_TEMPO`; `SubnetEpochIndex` counts them. Commits are tagged with the
//!   epoch *with look-ahead* (one more when an epoch fires in that block,
//!   since reveals run before the epoch in `block_step`). Mirrors the
//!   runtime's `should_run_epoch` / `current_epoch_with_lookahead` and the SDK's
//!   `predict_first_reveal_block` (bittensor 11.x, `bittensor_core`).
//! - **Legacy** (older runtimes): epoch `(block + netuid + 1) / (tempo + 1)`.

/// The runtime's `MAX_TEMPO` (pallets/subtensor `lib.rs`).
pub const MAX_TEMPO: u64 = 50_400;
/// The extrinsic lands in the block after the head it was built on.
pub const COMMIT_INCLUSION_BLOCK_OFFSET: u64 = 1;

/// A subnet's epoch schedule as stored at block `current_block` (after that
/// block's `run_coinbase`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochSchedule {
    pub last_epoch_block: u64,
    pub pending_epoch_at: u64,
    pub subnet_epoch_index: u64,
    pub tempo: u16,
    pub blocks_since_last_step: u64,
    pub current_block: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the subnet's tempo is 0: it runs no epochs, so no commit can be revealed")]
    TempoZero,
    #[error("no reveal block within {0} blocks of the commit")]
    NoRevealBlock(u64),
}

impl EpochSchedule {
    /// A schedule at `current_block` whose last epoch fired at
    /// `last_epoch_block` on time, with nothing pending.
    pub fn steady(last_epoch_block: u64, subnet_epoch_index: u64, tempo: u16, current_block: u64) -> Self {
        Self {
            last_epoch_block,
            pending_epoch_at: 0,
            subnet_epoch_index,
            tempo,
            blocks_since_last_step: current_block.saturating_sub(last_epoch_block),
            current_block,
        }
    }

    /// The runtime's `should_run_epoch(netuid, block)` on this state.
    pub fn should_run_epoch(&self, block: u64) -> bool {
        if self.tempo == 0 {
            return false;
        }
        if self.pending_epoch_at > 0 && block >= self.pending_epoch_at {
            return true;
        }
        if self.blocks_since_last_step > MAX_TEMPO {
            return true;
        }
        block.saturating_sub(self.last_epoch_block) >= u64::from(self.tempo)
    }

    /// `current_epoch_with_lookahead` for an extrinsic in `block`, the block
    /// after this state's.
    pub fn epoch_with_lookahead(&self, block: u64) -> u64 {
        if self.should_run_epoch(block) {
            self.subnet_epoch_index.saturating_add(1)
        } else {
            self.subnet_epoch_index
        }
    }

    /// The state after `run_coinbase` in `block`.
    pub fn after(&self, block: u64) -> Self {
        let mut next = self.clone();
        next.blocks_since_last_step = next.blocks_since_last_step.saturating_add(1);
        next.current_block = block;
        if next.should_run_epoch(block) {
            next.last_epoch_block = block;
            next.pending_epoch_at = 0;
            next.subnet_epoch_index = next.subnet_epoch_index.saturating_add(1);
            next.blocks_since_last_step = 0;
        }
        next
    }

    /// The epoch a commit sent now is tagged with (it lands in the next block).
    pub fn commit_epoch(&self) -> u64 {
        self.epoch_with_lookahead(self.current_block.saturating_add(COMMIT_INCLUSION_BLOCK_OFFSET))
    }

    /// The first block whose reveal step sees epoch `commit_epoch +
    /// reveal_period`, for a commit sent now: the block the chain reveals a
    /// timelocked commit in (the SDK's `predict_first_reveal_block`).
    pub fn first_reveal_block(&self, reveal_period_epochs: u64) -> Result<u64, ScheduleError> {
        if self.tempo == 0 {
            return Err(ScheduleError::TempoZero);
        }
        let extrinsic_block = self.current_block.saturating_add(COMMIT_INCLUSION_BLOCK_OFFSET);
        let target = self.commit_epoch().saturating_add(reveal_period_epochs);
        let budget = reveal_period_epochs.saturating_mul(MAX_TEMPO).saturating_add(MAX_TEMPO);
        let mut state = self.clone();
        for block in extrinsic_block..=extrinsic_block.saturating_add(budget) {
            if state.epoch_with_lookahead(block) == target {
                return Ok(block);
            }
            state = state.after(block);
        }
        Err(ScheduleError::NoRevealBlock(budget))
    }
}

/// The legacy schedule's first block of the epoch `reveal_period_epochs`
/// after the one `current_block` is in (bittensor-drand 1.x
/// `generate_commit`, the runtime's `get_first_block_of_epoch`).
pub fn legacy_first_reveal_block(current_block: u64, netuid: u16, tempo: u64, reveal_period_epochs: u64) -> u64 {
    let tempo_plus_one = tempo.saturating_add(1);
    let netuid_plus_one = u64::from(netuid) + 1;
    let current_epoch = current_block.saturating_add(netuid_plus_one) / tempo_plus_one;
    current_epoch
        .saturating_add(reveal_period_epochs)
        .saturating_mul(tempo_plus_one)
        .saturating_sub(netuid_plus_one)
}

#[cfg(test)]
mod tests {
    use super::*;

    use EpochSchedule as S;

    /// An epoch fires `tempo` blocks after the last one, not one earlier.
    #[test]
    fn an_epoch_fires_tempo_blocks_after_the_last() {
        let s = S::steady(100, 7, 50, 120);
        assert!(!s.should_run_epoch(149));
        assert!(s.should_run_epoch(150));
        assert_eq!(s.epoch_with_lookahead(149), 7);
        assert_eq!(s.epoch_with_lookahead(150), 8);
        let fired = s.after(150);
        assert_eq!(
            (
                fired.last_epoch_block,
                fired.subnet_epoch_index,
                fired.blocks_since_last_step
            ),
            (150, 8, 0)
        );
    }

    /// An owner-triggered epoch fires at its block; a stalled subnet past
    /// `MAX_TEMPO` blocks fires at once.
    #[test]
    fn pending_and_stalled_epochs_fire() {
        let mut s = S::steady(100, 7, 50, 120);
        s.pending_epoch_at = 125;
        assert!(!s.should_run_epoch(124));
        assert!(s.should_run_epoch(125));
        let mut stalled = S::steady(100, 7, 50, 120);
        stalled.blocks_since_last_step = MAX_TEMPO + 1;
        assert!(stalled.should_run_epoch(121));
    }

    /// Committed in epoch 7 (head 120, next epoch at 150), revealed one
    /// epoch later: the first block whose reveal step sees epoch 8 is 150.
    #[test]
    fn the_first_reveal_block_is_where_the_target_epoch_begins() {
        let s = S::steady(100, 7, 50, 120);
        assert_eq!(s.commit_epoch(), 7);
        assert_eq!(s.first_reveal_block(1), Ok(150));
        assert_eq!(s.first_reveal_block(2), Ok(200));
        // A commit landing in a firing block belongs to the new epoch.
        let on_fire = S::steady(100, 7, 50, 149);
        assert_eq!(on_fire.commit_epoch(), 8);
        assert_eq!(on_fire.first_reveal_block(1), Ok(200));
        assert_eq!(
            S::steady(0, 0, 0, 5).first_reveal_block(1),
            Err(ScheduleError::TempoZero)
        );
    }

    #[test]
    fn the_legacy_schedule_counts_tempo_plus_one() {
        // netuid 1, tempo 360: epoch e starts at e·361 − 2.
        assert_eq!(legacy_first_reveal_block(1_000, 1, 360, 1), 1_081);
        assert_eq!(legacy_first_reveal_block(1_081, 1, 360, 1), 1_442);
    }
}
