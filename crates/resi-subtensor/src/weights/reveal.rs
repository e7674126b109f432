//! Hash commit-reveal: the journal of commits awaiting their reveal, the
//! commits as the chain stores them, and when one may be revealed.
//!
//! `WeightCommits` has held a 4-tuple of (H256, u64, u64, u64) in every
//! runtime, but its meaning changed at spec 407 (stateful epochs):
//! - before: `(hash, commit_block, first_reveal_block, last_reveal_block)`;
//! - since: `(hash, commit_epoch, commit_block, 0)`, revealable while the
//!   subnet's epoch (with look-ahead) is `commit_epoch + RevealPeriodEpochs`.
//!
//! The type cannot tell them apart; the storage entry's documentation in the
//! metadata names the fields, and the runtime's `SubnetEpochIndex` storage
//! marks the stateful schedule where documentation was stripped.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use subxt::utils::AccountId32;
use subxt::Metadata;

use super::calls::MODULE;
use crate::error::SubtensorError;
use crate::node::{self, AtBlock};
use crate::schedule::EpochSchedule;

/// A committed (or about to be committed) set of weights awaiting its reveal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingReveal {
    pub netuid: u16,
    /// The subnet mechanism the weights are for (journals written before
    /// mechanisms existed read as 0).
    #[serde(default)]
    pub mechanism: u8,
    pub hotkey: String,
    pub epoch_id: String,
    pub uids: Vec<u16>,
    pub values: Vec<u16>,
    pub salt: Vec<u16>,
    pub version_key: u64,
    pub hash: String,
    /// The block that included the commit; `None` until it is known.
    pub commit_block: Option<u64>,
}

impl PendingReveal {
    pub fn hash_bytes(&self) -> Option<[u8; 32]> {
        let bytes = hex::decode(self.hash.trim_start_matches("0x")).ok()?;
        bytes.try_into().ok()
    }
}

/// The reveal journal: a JSON array, replaced atomically on every change.
#[derive(Clone, Debug)]
pub struct RevealJournal {
    path: PathBuf,
}

impl RevealJournal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Vec<PendingReveal>, SubtensorError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SubtensorError::Journal(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(SubtensorError::Journal(format!("{}: {e}", self.path.display()))),
        }
    }

    pub fn save(&self, pending: &[PendingReveal]) -> Result<(), SubtensorError> {
        let io = |e: std::io::Error| SubtensorError::Journal(format!("{}: {e}", self.path.display()));
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let body = serde_json::to_vec_pretty(pending).map_err(|e| SubtensorError::Journal(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// A fresh salt: eight random u16, as the Python SDK makes them.
pub fn new_salt() -> Vec<u16> {
    (0..8).map(|_| rand::random::<u16>()).collect()
}

/// What the fields of a `WeightCommits` entry mean in this runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitLayout {
    /// `(hash, commit_block, first_reveal_block, last_reveal_block)`.
    Blocks,
    /// `(hash, commit_epoch, commit_block, unused)`.
    Epochs,
}

impl CommitLayout {
    pub fn of(metadata: &Metadata) -> Self {
        let Some(pallet) = metadata.pallet_by_name(MODULE) else {
            return Self::Blocks;
        };
        let storage = pallet.storage();
        let docs = storage
            .and_then(|s| s.entry_by_name("WeightCommits"))
            .map(|e| e.docs().join(" "))
            .unwrap_or_default();
        if docs.contains("commit_epoch") {
            return Self::Epochs;
        }
        if docs.contains("first_reveal_block") {
            return Self::Blocks;
        }
        if storage.and_then(|s| s.entry_by_name("SubnetEpochIndex")).is_some() {
            Self::Epochs
        } else {
            Self::Blocks
        }
    }
}

/// When a stored commit may be revealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevealWindow {
    /// From the block after `first` through `last` (older runtimes).
    Blocks { first: u64, last: u64 },
    /// While the subnet's epoch is `commit_epoch + RevealPeriodEpochs`.
    Epoch { commit_epoch: u64 },
}

/// A commit as the chain stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredCommit {
    pub hash: [u8; 32],
    pub commit_block: u64,
    pub window: RevealWindow,
}

impl StoredCommit {
    pub fn from_row(layout: CommitLayout, (hash, a, b, c): ([u8; 32], u64, u64, u64)) -> Self {
        match layout {
            CommitLayout::Blocks => Self {
                hash,
                commit_block: a,
                window: RevealWindow::Blocks { first: b, last: c },
            },
            CommitLayout::Epochs => Self {
                hash,
                commit_block: b,
                window: RevealWindow::Epoch { commit_epoch: a },
            },
        }
    }

    /// Whether a reveal landing in `block` (the one after the head whose
    /// `schedule` this is) is too early, on time or too late.
    pub fn due(&self, block: u64, schedule: Option<&EpochSchedule>, reveal_period_epochs: u64) -> Due {
        match self.window {
            RevealWindow::Blocks { first, last } => {
                if block <= first {
                    Due::NotYet
                } else if block > last.saturating_add(1) {
                    Due::Passed
                } else {
                    Due::Now
                }
            }
            RevealWindow::Epoch { commit_epoch } => {
                // Without the schedule the epoch is unknown: try; the chain
                // answers too early or too late by name.
                let Some(schedule) = schedule else {
                    return Due::Now;
                };
                let target = commit_epoch.saturating_add(reveal_period_epochs);
                let epoch = schedule.epoch_with_lookahead(block);
                match epoch.cmp(&target) {
                    std::cmp::Ordering::Less => Due::NotYet,
                    std::cmp::Ordering::Equal => Due::Now,
                    std::cmp::Ordering::Greater => Due::Passed,
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    NotYet,
    Now,
    Passed,
}

/// This hotkey's commits under `storage_index` (the netuid for mechanism 0).
pub async fn stored_commits(
    at: &AtBlock,
    storage_index: u16,
    hotkey: &[u8; 32],
) -> Result<Vec<StoredCommit>, SubtensorError> {
    let layout = CommitLayout::of(at.metadata_ref());
    let rows: Vec<([u8; 32], u64, u64, u64)> =
        node::storage(at, MODULE, "WeightCommits", (storage_index, AccountId32(*hotkey))).await?;
    Ok(rows
        .into_iter()
        .map(|row| StoredCommit::from_row(layout, row))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old layout: revealable from the block after `first` through
    /// `last + 1`.
    #[test]
    fn a_block_window_opens_after_its_first_block() {
        let c = StoredCommit::from_row(CommitLayout::Blocks, ([1; 32], 43, 52, 62));
        assert_eq!(c.commit_block, 43);
        assert_eq!(c.due(52, None, 1), Due::NotYet);
        assert_eq!(c.due(53, None, 1), Due::Now);
        assert_eq!(c.due(63, None, 1), Due::Now);
        assert_eq!(c.due(64, None, 1), Due::Passed);
    }

    /// The new layout: committed in epoch 7, period 1: revealable while the
    /// epoch with look-ahead is 8: from the block epoch 8 fires in (150)
    /// until the block epoch 9 fires in (200).
    #[test]
    fn an_epoch_window_is_the_reveal_epoch() {
        let c = StoredCommit::from_row(CommitLayout::Epochs, ([1; 32], 7, 120, 0));
        assert_eq!(c.commit_block, 120);
        assert_eq!(c.window, RevealWindow::Epoch { commit_epoch: 7 });
        assert_eq!(
            c.due(149, Some(&EpochSchedule::steady(100, 7, 50, 148)), 1),
            Due::NotYet
        );
        assert_eq!(c.due(150, Some(&EpochSchedule::steady(100, 7, 50, 149)), 1), Due::Now);
        assert_eq!(c.due(199, Some(&EpochSchedule::steady(150, 8, 50, 198)), 1), Due::Now);
        assert_eq!(
            c.due(200, Some(&EpochSchedule::steady(150, 8, 50, 199)), 1),
            Due::Passed
        );
        assert_eq!(c.due(200, None, 1), Due::Now);
    }

    #[test]
    fn the_journal_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let journal = RevealJournal::new(dir.path().join("reveals.json"));
        assert!(journal.load().unwrap().is_empty());
        let p = PendingReveal {
            netuid: 2,
            mechanism: 0,
            hotkey: "5F".into(),
            epoch_id: "e".into(),
            uids: vec![1],
            values: vec![65535],
            salt: new_salt(),
            version_key: 0,
            hash: format!("0x{}", hex::encode([1u8; 32])),
            commit_block: Some(10),
        };
        journal.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(RevealJournal::new(journal.path()).load().unwrap(), vec![p.clone()]);
        assert_eq!(p.hash_bytes(), Some([1u8; 32]));
        // A journal written before mechanisms existed still reads.
        let old = r#"[{"netuid":2,"hotkey":"5F","epochId":"e","uids":[1],"values":[1],"salt":[1],"versionKey":0,"hash":"0x00","commitBlock":null}]"#;
        std::fs::write(journal.path(), old).unwrap();
        assert_eq!(journal.load().unwrap()[0].mechanism, 0);
        std::fs::write(journal.path(), b"{").unwrap();
        assert!(matches!(journal.load(), Err(SubtensorError::Journal(_))));
    }
}
