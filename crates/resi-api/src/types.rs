//! Request and response bodies of every endpoint (JSON, camelCase).
//!
//! Success bodies carry `success: true` and a `message` first, as the
//! original API's did; fields resi's own daemons use sit beside the
//! original ones (e.g. upload access has both top-level `url`/`fields` and
//! the nested `upload` form).

use std::collections::BTreeMap;

use resi_core::selection::SelectionParams;
use resi_core::{Assignment, EpochId, Hotkey, Zipcode};
use resi_storage::PostForm;
use serde::{Deserialize, Serialize};
use url::Url;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The three signed fields, as received. Lenient on purpose: a missing or
/// malformed field is answered with a 400 that names it, not a parse error.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SignedFields {
    /// The caller's SS58 hotkey.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<String>,
    /// Unix seconds (a number or a decimal string); within 300 s of the server's clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub timestamp: Option<serde_json::Value>,
    /// sr25519 signature (hex, `0x` optional) of the endpoint's commitment string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Every refusal: `{"statusCode":400,"message":["…"],"error":"Bad Request"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub message: Vec<String>,
    pub error: String,
}

impl ErrorBody {
    /// The first message, or a placeholder.
    pub fn first_message(&self) -> &str {
        self.message.first().map(String::as_str).unwrap_or("no message")
    }
}

/// `GET /healthcheck`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    /// True when the database answers.
    pub success: bool,
    pub message: String,
    /// `ok` or `degraded`.
    pub status: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Seconds since the coordinator started.
    pub uptime: u64,
    pub database: DatabaseHealth,
    pub version: String,
    pub service: String,
    /// The results version in force and the upgrade announced, if any
    /// (absent from coordinators older than rule announcements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulesAnnouncement>,
}

/// The rules a coordinator announces (PROTOCOL.md §7a).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RulesAnnouncement {
    /// The results version the current epoch is validated by.
    pub current_version: u32,
    /// The next version and the first epoch it applies to, until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<AnnouncedUpgrade>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AnnouncedUpgrade {
    pub version: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2025-10-01T16-00-00"))]
    pub from_epoch: EpochId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub connected: bool,
}

/// `GET …/current` and `GET …/epoch/{epochId}`: the assignment at top level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssignmentResponse {
    pub success: bool,
    pub message: String,
    #[serde(flatten)]
    pub assignment: Assignment,
}

/// A miner's progress, as the original API's `MINER_STATUS` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MiningStatus {
    InProgress,
    Completed,
    Failed,
    Timeout,
}

/// One zipcode a miner reports done (original API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompletedZipcode {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "77429"))]
    pub zipcode: Zipcode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings_scraped: Option<u64>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// A zipcode resi's miner did not upload, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotUploaded {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub zipcode: Zipcode,
    pub reason: String,
}

/// The scraper a miner runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScraperName {
    pub name: String,
    pub version: String,
}

/// A miner's report: the original API's fields and resi's own. Every
/// field is optional; the ones present are checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The epoch's nonce (16 hex digits): must match the epoch's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MiningStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings_scraped: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcodes_completed: Option<Vec<CompletedZipcode>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_upload_complete: Option<bool>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_upload_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcodes_assigned: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcodes_uploaded: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listings_uploaded: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_uploaded: Option<Vec<NotUploaded>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scraper: Option<ScraperName>,
}

/// Most zipcodes a report may list (an epoch assigns at most a few hundred).
pub const MAX_REPORTED_ZIPCODES: usize = 1_000;

fn rfc3339(field: &str, text: &str) -> Result<(), String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|_| ())
        .map_err(|_| format!("{field} {text:?} is not an RFC 3339 time"))
}

/// What is wrong with a miner's status report (beyond its types).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

impl StatusReport {
    /// What the coordinator checks beyond types: list sizes, times, the nonce's form.
    pub fn check(&self) -> Result<(), ReportError> {
        self.check_fields().map_err(ReportError)
    }

    fn check_fields(&self) -> Result<(), String> {
        if let Some(nonce) = &self.nonce {
            if nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("nonce {nonce:?} is not 16 hex digits"));
            }
        }
        for (field, len) in [
            (
                "zipcodesCompleted",
                self.zipcodes_completed.as_ref().map_or(0, Vec::len),
            ),
            ("notUploaded", self.not_uploaded.as_ref().map_or(0, Vec::len)),
        ] {
            if len > MAX_REPORTED_ZIPCODES {
                return Err(format!(
                    "{field} lists {len} zipcodes, more than {MAX_REPORTED_ZIPCODES}"
                ));
            }
        }
        if let Some(t) = &self.s3_upload_timestamp {
            rfc3339("s3UploadTimestamp", t)?;
        }
        for z in self.zipcodes_completed.iter().flatten() {
            if let Some(t) = &z.completed_at {
                rfc3339("zipcodesCompleted[].completedAt", t)?;
            }
        }
        Ok(())
    }
}

/// `POST …/status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MinerStatusRequest {
    #[serde(flatten)]
    pub signed: SignedFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_id: Option<String>,
    #[serde(flatten)]
    pub report: StatusReport,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MinerStatusResponse {
    pub success: bool,
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub epoch_id: EpochId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hotkey: Hotkey,
    /// The status reported, if any.
    pub status: Option<MiningStatus>,
    /// When the coordinator stored the report (RFC 3339).
    pub timestamp: String,
}

/// `POST /get-folder-access`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FolderAccessRequest {
    #[serde(flatten)]
    pub signed: SignedFields,
    /// The coldkey that owns the hotkey (SS58).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coldkey: Option<String>,
    /// Sent by the original clients; the policy always expires at the epoch's deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<i64>,
}

/// `POST …/validator-upload`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidatorUploadRequest {
    #[serde(flatten)]
    pub signed: SignedFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_id: Option<String>,
    /// Sent by the original clients; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_data_size_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// What a POST policy allows (original API's `metadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadMetadata {
    /// The key prefix every upload must start with.
    pub folder_path: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Bytes.
    pub max_file_size: u64,
}

/// Upload access for a folder: a browser-POST policy (AWS SigV4). POST a
/// multipart form with `fields`, then `key` (under `folder`), then `file`
/// to `uploadUrl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadAccessResponse {
    pub success: bool,
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub epoch_id: EpochId,
    pub folder: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub upload_url: Url,
    /// The same as `uploadUrl`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub url: Url,
    pub fields: BTreeMap<String, String>,
    pub metadata: UploadMetadata,
    /// The same policy as one object (what resi's daemons read).
    pub upload: PostForm,
    /// Miner access only: a presigned ListObjectsV2 URL for `folder` (one
    /// page of up to 1,000 keys), valid until the deadline, so a restarted
    /// miner can find uploads it made but did not record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub list_url: Option<Url>,
}

impl UploadAccessResponse {
    pub fn new(epoch_id: EpochId, folder: String, upload: PostForm, list_url: Option<Url>) -> Self {
        Self {
            success: true,
            message: format!("upload access to {folder} until {}", upload.expires_at),
            epoch_id,
            upload_url: upload.url.clone(),
            url: upload.url.clone(),
            fields: upload.fields.clone(),
            metadata: UploadMetadata {
                folder_path: folder.clone(),
                expires_at: upload.expires_at.clone(),
                max_file_size: upload.max_bytes,
            },
            folder,
            upload,
            list_url,
        }
    }
}

/// `POST …/validator-read`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ValidatorReadRequest {
    #[serde(flatten)]
    pub signed: SignedFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch_id: Option<String>,
    /// From the previous page; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
    /// `data` (miner submissions, default) or `validators` (published results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One object a validator may read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadObject {
    pub key: String,
    /// A presigned GET URL.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub url: Url,
    pub size: u64,
    pub etag: String,
    /// Unix milliseconds: the submission time.
    pub last_modified: i64,
}

/// One page of validator read access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadPage {
    pub success: bool,
    pub message: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub epoch_id: EpochId,
    pub objects: Vec<ReadObject>,
    pub next_continuation_token: Option<String>,
}

/// `GET …/stats`: the original API's `epochStatus` beside resi's own fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatsResponse {
    pub success: bool,
    pub message: String,
    /// RFC 3339.
    pub current_time: String,
    /// `operational`.
    pub system_status: String,
    pub epoch_status: EpochStatus,
    pub current_epoch: CurrentEpochStats,
    pub zipcodes_by_state: BTreeMap<String, u64>,
    pub zipcodes_by_tier: BTreeMap<String, u64>,
    pub configuration: StatsConfiguration,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub recent_epochs: Vec<EpochId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EpochStatus {
    pub current_epoch: EpochStatusCurrent,
    pub timing: EpochTiming,
    pub next_epoch: NextEpoch,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EpochStatusCurrent {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: EpochId,
    /// `ACTIVE`: epochs follow each other without gaps, so the current one is always open.
    pub status: String,
    /// RFC 3339.
    pub start_time: String,
    pub end_time: String,
    pub nonce: String,
    pub zipcode_count: u64,
    pub target_listings: u64,
    /// Expected listings summed over the assigned zipcodes.
    pub actual_expected: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EpochTiming {
    /// Seconds.
    pub time_until_epoch_end: i64,
    /// Seconds (the next epoch starts when this one ends).
    pub time_until_next_epoch: i64,
    pub epoch_duration_hours: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NextEpoch {
    /// RFC 3339.
    pub start_time: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CurrentEpochStats {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub epoch_id: EpochId,
    /// Unix seconds.
    pub epoch_start: i64,
    pub epoch_end: i64,
    pub seconds_remaining: i64,
    pub zipcode_count: u64,
    pub total_expected_listings: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatsConfiguration {
    pub epoch_length_seconds: u64,
    pub selection: SelectionParams,
    pub max_upload_bytes: u64,
}
