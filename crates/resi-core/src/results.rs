//! The results document (`validation_results.json`, PROTOCOL.md §7) and its consensus hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::ValidationConfig;
use crate::epoch::EpochId;
use crate::examine::QualityCounts;
use crate::hotkey::Hotkey;
use crate::verify::Verdict;
use crate::zipcode::Zipcode;

/// The newest results version (layout and rules) this release writes; an
/// epoch is validated by the version its coordinator announced
/// ([`crate::rules::ResultsVersion`]).
pub const RESULTS_VERSION: u32 = crate::rules::ResultsVersion::LATEST.number();

/// What happened to one submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Winner,
    Participant,
    Failed,
    /// Tier 3 could not be decided (property source unavailable): not ranked, not penalized.
    Undetermined,
    /// Modified after the deadline (and, before results version 7, a
    /// submission holding the same listings as one ranked before it).
    Ignored,
    /// Results version 7: holds the same listings as a submission ranked
    /// before it (one scrape, one reward): earns nothing, costs no lookup.
    SameListings,
}

/// One sampled listing and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleRecord {
    pub index: u64,
    pub zpid: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The tier-3 spot check of one submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotCheckRecord {
    pub indices: Vec<u64>,
    pub samples: Vec<SampleRecord>,
    pub verified: u64,
    pub determined: u64,
    /// Freshness (results version 5): contested claims checked against the
    /// source's history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contested: Vec<ClaimRecord>,
}

/// One contested claim and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRecord {
    pub zpid: String,
    pub price: i64,
    pub scraped_ms: i64,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// One (miner, zipcode) submission and its outcome, with a human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionRecord {
    pub hotkey: Hotkey,
    pub submitted_at_ms: i64,
    pub size_bytes: u64,
    pub listing_count: Option<u64>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rank: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failed_tier: Option<u8>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quality: Option<QualityCounts>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub spot_check: Option<SpotCheckRecord>,
}

/// One assigned zipcode: its submissions in ranking order and who won.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZipcodeOutcome {
    pub zipcode: Zipcode,
    pub expected_listings: u64,
    pub weight_ppb: u64,
    /// Distinct zpids looked up for this zipcode: its part of the epoch's
    /// lookup budget.
    #[serde(default)]
    pub lookups: u64,
    pub winners: Vec<Hotkey>,
    pub participants: Vec<Hotkey>,
    pub submissions: Vec<SubmissionRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinerScore {
    pub hotkey: Hotkey,
    pub score_ppb: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZipcodeWeight {
    pub zipcode: Zipcode,
    pub weight_ppb: u64,
}

/// Counts over the epoch; part of the consensus hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub submissions: u64,
    pub winners: u64,
    pub participants: u64,
    pub failed: u64,
    pub undetermined: u64,
    pub ignored: u64,
    pub scored_miners: u64,
    pub score_ppb: u64,
    /// Paid lookups, counted as each zipcode's distinct zpids (the budget's unit).
    #[serde(default)]
    pub lookups: u64,
    /// Results version 7: submissions with the status `same-listings`
    /// (absent before, when `ignored` counted them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_listings: Option<u64>,
}

/// A submission for a zipcode that was not assigned this epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnassignedRecord {
    pub zipcode: Zipcode,
    #[serde(flatten)]
    pub submission: SubmissionRecord,
}

/// `validation_results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationResults {
    pub version: u32,
    pub epoch_id: EpochId,
    pub nonce: String,
    pub validation_seed: String,
    /// Set by the validator that publishes the file.
    pub validator: Option<Hotkey>,
    pub config: ValidationConfig,
    pub zipcodes: Vec<ZipcodeOutcome>,
    pub unassigned: Vec<UnassignedRecord>,
    pub miner_scores: Vec<MinerScore>,
    pub zipcode_weights: Vec<ZipcodeWeight>,
    pub totals: Totals,
    /// What the property source answered this epoch, and whether it was
    /// judged broken (then no sample was held against a miner).
    #[serde(default)]
    pub property_source: SourceHealth,
    pub consensus_hash: String,
}

/// Tier-3 lookups of an epoch by verdict, over the zpids most owners of
/// their zipcode hold (each once per zipcode): what no miner, nor one
/// owner's hotkeys, can make up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceHealth {
    pub lookups: u64,
    pub verified: u64,
    pub mismatched: u64,
    pub not_found: u64,
    pub unavailable: u64,
    /// Found, but too little present on both sides to compare.
    #[serde(default)]
    pub incomparable: u64,
    /// At least `sourceBrokenMinLookups` lookups and at least
    /// `sourceBrokenUnavailableBps` of them unavailable.
    pub broken: bool,
}

/// The part of the results every validator must agree on, hashed canonically.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusPayload<'a> {
    pub epoch_id: &'a EpochId,
    pub nonce: &'a str,
    pub miner_scores: &'a [MinerScore],
    pub zipcode_weights: &'a [ZipcodeWeight],
    pub totals: &'a Totals,
}

impl ConsensusPayload<'_> {
    /// The RFC 8785 canonical JSON that the consensus hash is taken over.
    pub fn canonical_json(&self) -> String {
        // Only strings and integers: canonicalization cannot fail.
        serde_jcs::to_string(self).unwrap_or_default()
    }

    /// SHA-256 (lowercase hex) of [`Self::canonical_json`].
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }
}

impl ValidationResults {
    /// Recomputes the hash from the scored fields (to check a downloaded file).
    pub fn recompute_consensus_hash(&self) -> String {
        self.consensus_payload().hash()
    }

    pub fn consensus_payload(&self) -> ConsensusPayload<'_> {
        ConsensusPayload {
            epoch_id: &self.epoch_id,
            nonce: &self.nonce,
            miner_scores: &self.miner_scores,
            zipcode_weights: &self.zipcode_weights,
            totals: &self.totals,
        }
    }

    /// The document as pretty JSON; field order is fixed, so the bytes are
    /// identical for identical results.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `validation_results.json` as published: the results plus the validator's
/// signature (hex) over their RFC 8785 canonical JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedResults {
    #[serde(flatten)]
    pub results: ValidationResults,
    pub signature: String,
}

impl ValidationResults {
    /// The bytes a validator signs: the canonical JSON of the whole document.
    pub fn signing_bytes(&self) -> Vec<u8> {
        // Strings, integers, booleans and finite floats only: cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}

/// Why a downloaded results file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultsFileError {
    #[error("results file is {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("results file is not valid: {0}")]
    Invalid(String),
}

impl SignedResults {
    /// Parses a downloaded file, refusing one over `max_bytes`.
    pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<Self, ResultsFileError> {
        if bytes.len() > max_bytes {
            return Err(ResultsFileError::TooLarge {
                size: bytes.len(),
                max: max_bytes,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| ResultsFileError::Invalid(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `refusal.json` (PROTOCOL.md §7a): a validator's signed word that it
/// publishes no results for an epoch, and why: the epoch is announced for
/// a results version its release does not validate by. The dashboard shows
/// it beside the validators that did publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub epoch_id: EpochId,
    pub validator: Hotkey,
    /// The results version the epoch is announced for.
    pub results_version: u32,
    /// The oldest and newest versions the refusing release validates by.
    pub known_versions: [u32; 2],
    /// `resi --version` of the refusing validator.
    pub release: String,
    pub reason: String,
}

impl Refusal {
    /// The bytes the validator signs: the RFC 8785 canonical JSON.
    pub fn signing_bytes(&self) -> Vec<u8> {
        // Strings and integers only: cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }
}

/// A [`Refusal`] as stored: the document plus its signature (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRefusal {
    #[serde(flatten)]
    pub refusal: Refusal,
    pub signature: String,
}
