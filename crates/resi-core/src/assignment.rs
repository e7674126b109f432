//! What the coordinator hands out each epoch (PROTOCOL.md §2a), and what a miner submits.

use serde::{Deserialize, Serialize};

use crate::epoch::{EpochId, EpochWindow};
use crate::hotkey::Hotkey;
use crate::seed::{SeedCommitment, ValidationSeed};
use crate::zipcode::Zipcode;

/// A zipcode's market tier; it weighs selection (premium 1.5, standard 1.0, emerging 0.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MarketTier {
    Premium,
    Standard,
    Emerging,
}

impl MarketTier {
    /// Selection weight in thousandths (1.5 → 1500), exact for every validator and operator.
    pub fn weight_milli(&self) -> u64 {
        match self {
            MarketTier::Premium => 1_500,
            MarketTier::Standard => 1_000,
            MarketTier::Emerging => 800,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "premium" => Some(MarketTier::Premium),
            "standard" => Some(MarketTier::Standard),
            "emerging" => Some(MarketTier::Emerging),
            _ => None,
        }
    }
}

/// One zipcode of an assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssignedZipcode {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "77429"))]
    pub zipcode: Zipcode,
    pub expected_listings: u64,
    pub state: String,
    pub city: String,
    pub county: String,
    pub market_tier: MarketTier,
    pub geographic_region: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssignmentMetadata {
    pub total_expected_listings: u64,
    pub zipcode_count: u64,
    pub algorithm_version: String,
    pub selection_seed: String,
}

/// An epoch's assignment, as served to miners and validators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2025-10-01T16-00-00"))]
    pub epoch_id: EpochId,
    /// RFC 3339, UTC.
    pub epoch_start: String,
    pub epoch_end: String,
    pub submission_deadline: String,
    /// 16 lowercase hex digits.
    pub nonce: String,
    pub target_listings: u64,
    pub tolerance_percent: u64,
    /// Hex SHA-256 of the validation seed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub validation_seed_commitment: SeedCommitment,
    pub zipcodes: Vec<AssignedZipcode>,
    pub metadata: AssignmentMetadata,
    /// Only present once the deadline has passed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub validation_seed: Option<ValidationSeed>,
    /// The results version this epoch is validated by (PROTOCOL.md §7a);
    /// an assignment without one (an older coordinator) is version 6.
    #[serde(default = "unannounced_results_version")]
    pub results_version: u32,
}

fn unannounced_results_version() -> u32 {
    crate::rules::ResultsVersion::UNANNOUNCED.number()
}

/// Why an assignment's times do not make an epoch window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("assignment {field} {text:?} is not RFC 3339: {reason}")]
    NotRfc3339 {
        field: &'static str,
        text: String,
        reason: String,
    },
    #[error("assignment epochStart {start} is not the start of epoch {epoch}")]
    NotItsEpoch { start: String, epoch: crate::EpochId },
    #[error("assignment deadline {deadline} is not after its start {start}")]
    DeadlineNotAfterStart { deadline: String, start: String },
}

impl Assignment {
    /// The epoch's window, from `epochStart`/`submissionDeadline` (RFC 3339).
    /// The start must be the epoch id's own start, and the deadline after it.
    pub fn window(&self) -> Result<EpochWindow, WindowError> {
        let parse = |field: &'static str, text: &str| -> Result<i64, WindowError> {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|e| WindowError::NotRfc3339 {
                    field,
                    text: text.to_owned(),
                    reason: e.to_string(),
                })
        };
        let start_unix = parse("epochStart", &self.epoch_start)?;
        let end_unix = parse("submissionDeadline", &self.submission_deadline)?;
        if start_unix != self.epoch_id.start_unix() {
            return Err(WindowError::NotItsEpoch {
                start: self.epoch_start.clone(),
                epoch: self.epoch_id,
            });
        }
        if end_unix <= start_unix {
            return Err(WindowError::DeadlineNotAfterStart {
                deadline: self.submission_deadline.clone(),
                start: self.epoch_start.clone(),
            });
        }
        Ok(EpochWindow {
            id: self.epoch_id,
            start_unix,
            end_unix,
        })
    }

    /// Expected listings by zipcode.
    pub fn expected_by_zipcode(&self) -> std::collections::BTreeMap<Zipcode, u64> {
        self.zipcodes.iter().map(|z| (z.zipcode, z.expected_listings)).collect()
    }
}

/// A miner's (miner, epoch, zipcode) object as seen in storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    pub hotkey: Hotkey,
    pub epoch_id: EpochId,
    pub zipcode: Zipcode,
    pub key: String,
    pub size_bytes: u64,
    pub etag: String,
    /// S3 `LastModified` in Unix milliseconds: the submission time.
    pub last_modified_ms: i64,
}
