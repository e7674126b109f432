//! `resi bench validate --input DIR`: an epoch's submissions as Parquet files
//! on disk, read back the way a validator reads what it downloaded.
//!
//! `DIR/epoch.json` names the synthetic epoch the files belong to (its spec:
//! the context and market are rebuilt from it) and every file with its
//! miner, zipcode, upload time and manifest hash. A file may be replaced by
//! any Parquet file (one written by pandas, say): with `"sha256": null` its
//! manifest entry is the hash of whatever is on disk.

use std::path::{Path, PathBuf};

use resi_core::{Hotkey, ManifestEntry, SubmissionInput, Zipcode};
use resi_sim::{EpochSpec, SyntheticEpoch};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::BenchError;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EpochFile {
    miners: usize,
    zipcodes: usize,
    listings: u64,
    cheater_percent: usize,
    seed: u64,
    submissions: Vec<SubmissionFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubmissionFile {
    /// Relative to the directory.
    file: String,
    hotkey: String,
    zipcode: String,
    submitted_at_ms: i64,
    /// Hex SHA-256 the miner's manifest lists; null: the file's own.
    sha256: Option<String>,
}

/// A submission whose bytes are on disk.
#[derive(Clone, Debug)]
pub struct OnDisk {
    pub path: PathBuf,
    pub hotkey: Hotkey,
    pub zipcode: Zipcode,
    pub submitted_at_ms: i64,
    pub manifest: ManifestEntry,
}

impl OnDisk {
    /// Reads the file: the submission a validator has after its download.
    pub fn read(&self) -> Result<SubmissionInput, BenchError> {
        let bytes =
            std::fs::read(&self.path).map_err(|e| BenchError::Files(format!("{}: {e}", self.path.display())))?;
        Ok(SubmissionInput {
            hotkey: self.hotkey.clone(),
            zipcode: self.zipcode,
            submitted_at_ms: self.submitted_at_ms,
            bytes: bytes.into(),
            manifest: self.manifest.clone(),
        })
    }
}

const EPOCH_FILE: &str = "epoch.json";

/// Whether `dir` already holds an epoch.
pub fn exists(dir: &Path) -> bool {
    dir.join(EPOCH_FILE).is_file()
}

/// Writes the epoch's submissions and `epoch.json` into `dir`.
pub fn write(dir: &Path, spec: &EpochSpec, epoch: &SyntheticEpoch) -> Result<(), BenchError> {
    let io = |what: &Path, e: std::io::Error| BenchError::Files(format!("{}: {e}", what.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut submissions = Vec::with_capacity(epoch.submissions.len());
    for s in &epoch.submissions {
        let file = format!("{}-{}.parquet", s.hotkey, s.zipcode);
        let path = dir.join(&file);
        std::fs::write(&path, &s.bytes).map_err(|e| io(&path, e))?;
        submissions.push(SubmissionFile {
            file,
            hotkey: s.hotkey.to_string(),
            zipcode: s.zipcode.to_string(),
            submitted_at_ms: s.submitted_at_ms,
            sha256: match &s.manifest {
                ManifestEntry::Sha256(h) => Some(hex::encode(h)),
                _ => None,
            },
        });
    }
    let index = EpochFile {
        miners: spec.miners,
        zipcodes: spec.zipcodes,
        listings: spec.listings,
        cheater_percent: spec.cheater_percent,
        seed: spec.seed,
        submissions,
    };
    let text = serde_json::to_string_pretty(&index).map_err(|e| BenchError::Files(e.to_string()))?;
    let path = dir.join(EPOCH_FILE);
    std::fs::write(&path, text).map_err(|e| io(&path, e))
}

/// Reads `dir/epoch.json`: the spec to rebuild the context from, and the files.
pub fn read(dir: &Path) -> Result<(EpochSpec, Vec<OnDisk>), BenchError> {
    let path = dir.join(EPOCH_FILE);
    let bad = |why: String| BenchError::Files(format!("{}: {why}", path.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let index: EpochFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let spec = EpochSpec {
        miners: index.miners,
        zipcodes: index.zipcodes,
        listings: index.listings,
        cheater_percent: index.cheater_percent,
        seed: index.seed,
    };
    let files = index
        .submissions
        .into_iter()
        .map(|s| {
            let file = dir.join(&s.file);
            let hotkey = Hotkey::parse(&s.hotkey).map_err(|e| bad(format!("{}: hotkey: {e}", s.file)))?;
            let zipcode = Zipcode::parse(&s.zipcode).map_err(|e| bad(format!("{}: zipcode: {e}", s.file)))?;
            let sha: [u8; 32] = match s.sha256 {
                Some(h) => hex::decode(&h)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad(format!("{}: sha256 is not 64 hex digits", s.file)))?,
                None => {
                    let bytes = std::fs::read(&file).map_err(|e| bad(format!("{}: {e}", s.file)))?;
                    sha2::Sha256::digest(&bytes).into()
                }
            };
            Ok(OnDisk {
                path: file,
                hotkey,
                zipcode,
                submitted_at_ms: s.submitted_at_ms,
                manifest: ManifestEntry::Sha256(sha),
            })
        })
        .collect::<Result<_, BenchError>>()?;
    Ok((spec, files))
}
