//! `_manifest.json`: what an epoch's dataset holds and what it was built from.

use resi_auth::Keypair;
use resi_core::{EpochId, Hotkey, Zipcode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One partition: a zipcode's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partition {
    pub zipcode: Zipcode,
    /// Relative to the dataset's root.
    pub key: String,
    pub rows: u64,
    /// SHA-256 (hex) of the file.
    pub sha256: String,
    /// Against the zipcode's previous epoch in the dataset; none when this
    /// is the zipcode's first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// What changed in a zipcode since its previous epoch in the dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// zpids not there before.
    pub new: u64,
    /// zpids there before and not now.
    pub removed: u64,
    /// zpids there both times at another price.
    pub price_changed: u64,
}

impl std::ops::AddAssign for Changes {
    fn add_assign(&mut self, other: Self) {
        self.new += other.new;
        self.removed += other.removed;
        self.price_changed += other.price_changed;
    }
}

/// The epoch's manifest, written after every partition: its presence says
/// the epoch is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetManifest {
    pub epoch_id: EpochId,
    /// The results version the epoch was validated by.
    pub results_version: u32,
    /// The consensus hash of the results the rows were chosen by.
    pub consensus_hash: String,
    /// Sorted by zipcode.
    pub partitions: Vec<Partition>,
    pub rows: u64,
    /// The publisher (a validator's hotkey) and its sr25519 signature (hex)
    /// over the RFC 8785 canonical JSON of the manifest without `signature`.
    pub publisher: Hotkey,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// SHA-256 (hex) of a file's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl DatasetManifest {
    fn signing_bytes(&self) -> Vec<u8> {
        let unsigned = Self {
            signature: String::new(),
            ..self.clone()
        };
        // Strings and integers only: cannot fail.
        serde_jcs::to_vec(&unsigned).unwrap_or_default()
    }

    /// Names `key` as the publisher and signs.
    pub fn sign(mut self, key: &Keypair) -> Self {
        self.publisher = key.hotkey();
        self.signature = key.sign(&self.signing_bytes()).to_hex();
        self
    }

    /// Whether the signature is the publisher's over this manifest.
    pub fn verify(&self) -> bool {
        resi_auth::Signature::parse_hex(&self.signature)
            .is_ok_and(|s| resi_auth::verify(&self.publisher, &self.signing_bytes(), &s).is_ok())
    }

    /// Everything but the signature is the same.
    pub fn same_content(&self, other: &Self) -> bool {
        self.signing_bytes() == other.signing_bytes()
    }

    /// Pretty JSON, fields in a fixed order: the same manifest, the same bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}
