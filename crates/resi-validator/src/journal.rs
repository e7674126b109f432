//! What a validator has done for an epoch, on disk, so that a restart picks
//! up where it stopped and never validates, uploads or sets weights twice.
//!
//! `{data_dir}/epochs/{epochId}/`: `validation_results.json` (the signed
//! results, written before the upload), `consensus.json` and `journal.json`.
//! Every file is written beside and renamed into place.

use std::path::{Path, PathBuf};

use resi_chain::WeightRecord;
use resi_core::consensus::ConsensusReport;
use resi_core::results::SignedResults;
use resi_core::EpochId;
use serde::{Deserialize, Serialize};

/// The steps done for one epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// The results file is in the bucket.
    pub uploaded: bool,
    /// Consensus as decided (after waiting for the others).
    pub consensus: Option<ConsensusReport>,
    /// Weights set for this epoch, or why none were.
    pub weights: Option<WeightRecord>,
    pub weights_skipped: Option<String>,
    /// Every step is done.
    pub done: bool,
    /// Why its weights were given up (a newer epoch's landed first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<String>,
}

/// Every epoch with a journal under `data_dir`, oldest first, with its entry.
/// Folders that are not epochs are left out; an unreadable journal is left
/// out with a warning naming it (that epoch is not caught up).
pub fn journaled(data_dir: &Path) -> Vec<(EpochId, JournalEntry)> {
    let Ok(dir) = std::fs::read_dir(data_dir.join("epochs")) else {
        return Vec::new();
    };
    let mut out: Vec<(EpochId, JournalEntry)> = dir
        .filter_map(Result::ok)
        .filter_map(|d| EpochId::parse(d.file_name().to_str()?).ok())
        .filter_map(|e| {
            let journal = EpochJournal::new(data_dir, &e);
            journal.dir.join("journal.json").is_file().then_some(())?;
            match journal.entry() {
                Ok(entry) => Some((e, entry)),
                Err(err) => {
                    tracing::warn!(epoch = %e, "journal not read, the epoch is not caught up: {err}");
                    None
                }
            }
        })
        .collect();
    out.sort_by_key(|(e, _)| *e);
    out
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct JournalError {
    pub path: PathBuf,
    pub reason: String,
}

/// One epoch's folder.
pub struct EpochJournal {
    dir: PathBuf,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let err = |e: std::io::Error| JournalError {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, JournalError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| JournalError {
            path: path.to_owned(),
            reason: format!("unreadable: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JournalError {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

impl EpochJournal {
    pub fn new(data_dir: &Path, epoch: &EpochId) -> Self {
        Self {
            dir: data_dir.join("epochs").join(epoch.to_string()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn results_path(&self) -> PathBuf {
        self.dir.join("validation_results.json")
    }

    pub fn entry(&self) -> Result<JournalEntry, JournalError> {
        Ok(read_json(&self.dir.join("journal.json"))?.unwrap_or_default())
    }

    pub fn save(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec_pretty(entry).map_err(|e| JournalError {
            path: self.dir.join("journal.json"),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.join("journal.json"), &bytes)
    }

    pub fn results(&self) -> Result<Option<SignedResults>, JournalError> {
        read_json(&self.results_path())
    }

    pub fn save_results(&self, results: &SignedResults) -> Result<(), JournalError> {
        write_atomic(&self.results_path(), results.to_json().as_bytes())
    }

    pub fn save_consensus(&self, report: &ConsensusReport) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec_pretty(report).map_err(|e| JournalError {
            path: self.dir.join("consensus.json"),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir.join("consensus.json"), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_journal_is_left_out_of_the_catch_up() {
        let dir = tempfile::tempdir().unwrap();
        let good = EpochId::parse("2025-10-01T16-00-00").unwrap();
        let bad = EpochId::parse("2025-10-01T17-00-00").unwrap();
        EpochJournal::new(dir.path(), &good)
            .save(&JournalEntry::default())
            .unwrap();
        let broken = EpochJournal::new(dir.path(), &bad);
        std::fs::create_dir_all(broken.dir()).unwrap();
        std::fs::write(broken.dir().join("journal.json"), b"{not json").unwrap();
        std::fs::create_dir_all(dir.path().join("epochs").join("not-an-epoch")).unwrap();
        let found: Vec<EpochId> = journaled(dir.path()).into_iter().map(|(e, _)| e).collect();
        assert_eq!(found, vec![good]);
    }
}
