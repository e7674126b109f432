//! The miner's `manifest.json` (PROTOCOL.md §3): which files it uploaded for an
//! epoch, with their SHA-256, signed by the miner's hotkey over the manifest's
//! RFC 8785 canonical JSON (without the `signature` field).

use serde::{Deserialize, Serialize};

use crate::epoch::EpochId;
use crate::examine::ManifestEntry;
use crate::hotkey::Hotkey;
use crate::zipcode::Zipcode;

/// The scraper that produced the files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScraperInfo {
    pub name: String,
    pub version: String,
    pub source: String,
}

/// One uploaded file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    pub zipcode: Zipcode,
    pub key: String,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub listing_count: u64,
}

/// The signed part of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub epoch_id: EpochId,
    pub nonce: String,
    pub hotkey: Hotkey,
    pub scraper: ScraperInfo,
    pub files: Vec<ManifestFile>,
}

/// `manifest.json` as stored: the manifest plus its signature (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedManifest {
    #[serde(flatten)]
    pub manifest: Manifest,
    pub signature: String,
}

/// Why a manifest file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("manifest is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("manifest lists zipcode {0} twice")]
    DuplicateZipcode(Zipcode),
    #[error("manifest sha256 {0:?} is not 64 hex digits")]
    BadHash(String),
}

/// A manifest file entry the epoch does not back (a verdict's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestFileError {
    #[error("manifest lists zipcode {0}, which was not assigned this epoch")]
    NotAssigned(Zipcode),
    #[error("manifest lists zipcode {0}, but no such file was uploaded")]
    NotUploaded(Zipcode),
    #[error("manifest lists zipcode {zipcode} under key {listed:?}, not {expected:?}")]
    WrongKey {
        zipcode: Zipcode,
        listed: String,
        expected: String,
    },
}

impl Manifest {
    /// The bytes that are signed: RFC 8785 canonical JSON.
    pub fn canonical_json(&self) -> String {
        // Strings and integers only: canonicalization cannot fail.
        serde_jcs::to_string(self).unwrap_or_default()
    }

    /// Checks the manifest's claims against the epoch: every listed zipcode
    /// was assigned (`assigned`), has a file in the bucket (`present`), and is
    /// listed under the key the layout gives it (`key_for`). A manifest that
    /// claims files the epoch does not have is refused with the first such claim.
    pub fn check_files(
        &self,
        assigned: impl Fn(Zipcode) -> bool,
        present: &std::collections::BTreeSet<Zipcode>,
        key_for: impl Fn(Zipcode) -> String,
    ) -> Result<(), ManifestFileError> {
        for f in &self.files {
            if !assigned(f.zipcode) {
                return Err(ManifestFileError::NotAssigned(f.zipcode));
            }
            if !present.contains(&f.zipcode) {
                return Err(ManifestFileError::NotUploaded(f.zipcode));
            }
            let key = key_for(f.zipcode);
            if f.key != key {
                return Err(ManifestFileError::WrongKey {
                    zipcode: f.zipcode,
                    listed: f.key.chars().take(200).collect(),
                    expected: key,
                });
            }
        }
        Ok(())
    }

    /// What the manifest says about one zipcode's file.
    pub fn entry_for(&self, zipcode: Zipcode) -> ManifestEntry {
        self.files
            .iter()
            .find(|f| f.zipcode == zipcode)
            .and_then(|f| hex::decode(&f.sha256).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map_or(ManifestEntry::Missing, ManifestEntry::Sha256)
    }
}

impl SignedManifest {
    /// Parses `manifest.json` bytes (at most `max_bytes`), checking its shape;
    /// the signature is checked by `resi_auth::manifest::verify`.
    pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<Self, ManifestError> {
        if bytes.len() > max_bytes {
            return Err(ManifestError::TooLarge {
                size: bytes.len(),
                max: max_bytes,
            });
        }
        let signed: SignedManifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for f in &signed.manifest.files {
            if !seen.insert(f.zipcode) {
                return Err(ManifestError::DuplicateZipcode(f.zipcode));
            }
            if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ManifestError::BadHash(f.sha256.chars().take(80).collect()));
            }
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn manifest(zipcodes: &[&str]) -> Manifest {
        Manifest {
            epoch_id: EpochId::parse("2025-10-01T16-00-00").unwrap(),
            nonce: "n".into(),
            hotkey: Hotkey::from_public_key([1; 32]),
            scraper: ScraperInfo {
                name: "x".into(),
                version: "1".into(),
                source: "s".into(),
            },
            files: zipcodes
                .iter()
                .map(|z| ManifestFile {
                    zipcode: Zipcode::parse(z).unwrap(),
                    key: format!("k/{z}"),
                    sha256: "00".repeat(32),
                    listing_count: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn claims_must_match_the_epoch() {
        let z = |s: &str| Zipcode::parse(s).unwrap();
        let assigned = |zip: Zipcode| zip == z("77429") || zip == z("10001");
        let key = |zip: Zipcode| format!("k/{zip}");
        let present = BTreeSet::from([z("77429")]);
        assert!(manifest(&["77429"]).check_files(assigned, &present, key).is_ok());
        let unassigned = manifest(&["77429", "90210"]).check_files(assigned, &present, key);
        assert!(unassigned
            .unwrap_err()
            .to_string()
            .contains("90210, which was not assigned"));
        let missing = manifest(&["10001"]).check_files(assigned, &present, key);
        assert!(missing.unwrap_err().to_string().contains("no such file was uploaded"));
        let elsewhere = manifest(&["77429"]).check_files(assigned, &present, |zip| format!("other/{zip}"));
        assert!(elsewhere.unwrap_err().to_string().contains("under key"));
    }
}
