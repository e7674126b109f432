//! The `local` backend's weight ledger: an append-only JSON Lines file, one
//! line per (validator, epoch) weights set (who, for which epoch, at which
//! simulated block, which uids and u16 weights). Nothing in it is ever
//! rewritten; setting an epoch's weights again returns the first record.

use std::io::Write;
use std::path::{Path, PathBuf};

use resi_core::{EpochId, Hotkey};
use serde::{Deserialize, Serialize};

/// Seconds per block on a Bittensor chain: simulated blocks advance at this pace.
pub const BLOCK_SECS: i64 = 12;

/// One `set_weights` as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightRecord {
    /// Simulated block: `unix / 12`, strictly increasing along the file.
    pub block: u64,
    /// Unix seconds when it was set.
    pub at: i64,
    pub validator: Hotkey,
    pub validator_uid: u16,
    pub epoch_id: EpochId,
    pub uids: Vec<u16>,
    pub weights: Vec<u16>,
}

impl WeightRecord {
    /// `validator`'s (uid `validator_uid`) weights for `epoch`, set at `block`.
    pub fn new(
        validator: &Hotkey,
        validator_uid: u16,
        epoch: &EpochId,
        weights: &resi_core::weights::WeightVector,
        block: u64,
        at: i64,
    ) -> Self {
        Self {
            block,
            at,
            validator: validator.clone(),
            validator_uid,
            epoch_id: *epoch,
            uids: weights.uids.clone(),
            weights: weights.weights.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{path}: line {line}: not a weight record: {reason}")]
    Format { path: PathBuf, line: usize, reason: String },
}

/// Reads every record; a missing file is an empty ledger.
pub fn read(path: &Path) -> Result<Vec<WeightRecord>, LedgerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LedgerError::Io {
                path: path.to_owned(),
                cause: source,
            })
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| LedgerError::Format {
                path: path.to_owned(),
                line: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The ledger file beside a metagraph file (`weights.jsonl` in its directory).
pub fn beside(metagraph: &Path) -> PathBuf {
    metagraph.with_file_name("weights.jsonl")
}

/// Appends a record, giving it the next block (at least `at / 12`, and after
/// the last block in the file). The file is locked while the last block is
/// read and the line written, so writers in several processes never share a
/// block; one `write` per line, with `O_APPEND`.
pub fn append(path: &Path, mut record: WeightRecord) -> Result<WeightRecord, LedgerError> {
    let io = |source| LedgerError::Io {
        path: path.to_owned(),
        cause: source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.lock().map_err(io)?;
    let existing = read(path)?;
    // One line per (validator, epoch): a validator killed between setting
    // weights and recording that it did gets its first record back.
    if let Some(done) = existing
        .iter()
        .find(|r| r.validator == record.validator && r.epoch_id == record.epoch_id)
    {
        return Ok(done.clone());
    }
    let last = existing.last().map_or(0, |r| r.block);
    record.block = (record.at.max(0) / BLOCK_SECS) as u64;
    if record.block <= last {
        record.block = last + 1;
    }
    let mut line = serde_json::to_string(&record).map_err(|e| LedgerError::Format {
        path: path.to_owned(),
        line: 0,
        reason: e.to_string(),
    })?;
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    // Dropping the file releases the lock.
    Ok(record)
}

/// A fixed-width table for people.
pub fn table(records: &[WeightRecord]) -> String {
    let mut out = format!(
        "{:>10}  {:<20}  {:<48}  {:>4}  {}\n",
        "block", "epoch", "validator", "uid", "weights (uid=u16)"
    );
    for r in records {
        let weights: Vec<String> = r.uids.iter().zip(&r.weights).map(|(u, w)| format!("{u}={w}")).collect();
        out.push_str(&format!(
            "{:>10}  {:<20}  {:<48}  {:>4}  {}\n",
            r.block,
            r.epoch_id,
            r.validator,
            r.validator_uid,
            if weights.is_empty() {
                "(none)".to_string()
            } else {
                weights.join(" ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, weights: Vec<u16>) -> WeightRecord {
        WeightRecord {
            block: 0,
            at,
            validator: Hotkey::from_public_key([7; 32]),
            validator_uid: 3,
            epoch_id: EpochId::parse("2026-11-25T03-00-00").unwrap(),
            uids: (0..weights.len() as u16).collect(),
            weights,
        }
    }

    #[test]
    fn appends_with_increasing_blocks_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights.jsonl");
        assert!(read(&path).unwrap().is_empty());
        let a = append(&path, record(1_200, vec![65_535, 100])).unwrap();
        assert_eq!(a.block, 100);
        // The same validator and epoch again: the first record stands.
        assert_eq!(append(&path, record(1_300, vec![1, 65_535])).unwrap(), a);
        // Same second, another epoch: still a later block.
        let mut other = record(1_200, vec![1, 65_535]);
        other.epoch_id = EpochId::parse("2026-11-25T07-00-00").unwrap();
        let b = append(&path, other).unwrap();
        assert_eq!(b.block, 101);
        let all = read(&path).unwrap();
        assert_eq!(all, vec![a, b]);
        assert!(table(&all).contains("0=65535 1=100"));
    }

    #[test]
    fn a_damaged_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weights.jsonl");
        append(&path, record(12, vec![1])).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{not json\n")
            .unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
