//! Every endpoint: method, path, who may call it, and what its signature covers.

use resi_auth::commitment;
use resi_core::{EpochId, Hotkey};

/// Paths, as the server routes them (`{epoch_id}` is a path parameter).
pub mod routes {
    pub const HEALTHCHECK: &str = "/healthcheck";
    pub const CURRENT_ASSIGNMENT: &str = "/api/v1/zipcode-assignments/current";
    pub const EPOCH_ASSIGNMENT: &str = "/api/v1/zipcode-assignments/epoch/{epoch_id}";
    pub const MINER_STATUS: &str = "/api/v1/zipcode-assignments/status";
    pub const STATS: &str = "/api/v1/zipcode-assignments/stats";
    pub const FOLDER_ACCESS: &str = "/get-folder-access";
    pub const VALIDATOR_READ: &str = "/api/v1/s3-access/validator-read";
    pub const VALIDATOR_UPLOAD: &str = "/api/v1/s3-access/validator-upload";
    pub const OPENAPI: &str = "/openapi.json";
    /// The live page (HTML) and the data it polls (public, read-only).
    pub const DASHBOARD: &str = "/";
    pub const DASHBOARD_DATA: &str = "/api/v1/dashboard";

    /// The path of one epoch's assignment.
    pub fn epoch_assignment(epoch: &resi_core::EpochId) -> String {
        EPOCH_ASSIGNMENT.replace("{epoch_id}", &epoch.to_string())
    }
}

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Anyone (rate-limited per IP).
    Public,
    /// Any hotkey registered on the subnet.
    Registered,
    /// A registered hotkey with a validator permit (or enough stake).
    Validator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// The coordinator's endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Healthcheck,
    CurrentAssignment,
    EpochAssignment,
    MinerStatus,
    Stats,
    FolderAccess,
    ValidatorRead,
    ValidatorUpload,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Healthcheck,
        Endpoint::CurrentAssignment,
        Endpoint::EpochAssignment,
        Endpoint::MinerStatus,
        Endpoint::Stats,
        Endpoint::FolderAccess,
        Endpoint::ValidatorRead,
        Endpoint::ValidatorUpload,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Healthcheck => routes::HEALTHCHECK,
            Endpoint::CurrentAssignment => routes::CURRENT_ASSIGNMENT,
            Endpoint::EpochAssignment => routes::EPOCH_ASSIGNMENT,
            Endpoint::MinerStatus => routes::MINER_STATUS,
            Endpoint::Stats => routes::STATS,
            Endpoint::FolderAccess => routes::FOLDER_ACCESS,
            Endpoint::ValidatorRead => routes::VALIDATOR_READ,
            Endpoint::ValidatorUpload => routes::VALIDATOR_UPLOAD,
        }
    }

    pub fn method(self) -> Method {
        match self {
            Endpoint::Healthcheck | Endpoint::CurrentAssignment | Endpoint::EpochAssignment | Endpoint::Stats => {
                Method::Get
            }
            _ => Method::Post,
        }
    }

    pub fn caller(self) -> Caller {
        match self {
            Endpoint::Healthcheck | Endpoint::Stats => Caller::Public,
            Endpoint::CurrentAssignment | Endpoint::MinerStatus | Endpoint::FolderAccess => Caller::Registered,
            Endpoint::EpochAssignment | Endpoint::ValidatorRead | Endpoint::ValidatorUpload => Caller::Validator,
        }
    }

    /// A short name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Healthcheck => "healthcheck",
            Endpoint::CurrentAssignment => "current assignment",
            Endpoint::EpochAssignment => "epoch assignment",
            Endpoint::MinerStatus => "status",
            Endpoint::Stats => "stats",
            Endpoint::FolderAccess => "folder access",
            Endpoint::ValidatorRead => "validator read",
            Endpoint::ValidatorUpload => "validator upload",
        }
    }

    /// The commitment strings this endpoint's signature may cover, the
    /// current one first (what resi's client signs), then the original
    /// API's form that existing clients sign, where they differ. `None` for
    /// unsigned endpoints.
    pub fn commitment_templates(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Endpoint::Healthcheck | Endpoint::Stats => return None,
            Endpoint::CurrentAssignment => &["zipcode:assignment:current:{timestamp}"],
            Endpoint::EpochAssignment => &["zipcode:assignment:epoch:{epochId}:{timestamp}"],
            Endpoint::MinerStatus => &[
                "miner:status:{hotkey}:{epochId}:{timestamp}:{bodySha256}",
                "miner:status:{hotkey}:{epochId}:{timestamp}",
            ],
            Endpoint::FolderAccess => &["s3:data:access:{coldkey}:{hotkey}:{timestamp}"],
            Endpoint::ValidatorRead => &["s3:validator:read:{epochId}:{timestamp}"],
            Endpoint::ValidatorUpload => &[
                "s3:validator:upload:{epochId}:{timestamp}",
                "s3:validator:upload:{timestamp}",
            ],
        })
    }
}

/// A route's rate limit: `limit` requests per `window_secs` per caller (the
/// verified hotkey on signed routes, the address on public ones), counted
/// under `key` in the coordinator's windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub key: &'static str,
    pub limit: u32,
    pub window_secs: i64,
}

impl RateLimit {
    const fn per_minute(key: &'static str, limit: u32) -> Self {
        Self {
            key,
            limit,
            window_secs: 60,
        }
    }
}

impl Endpoint {
    /// The endpoint's rate limit (docs/API.md), before the coordinator's
    /// `rate_limit_multiplier`; `None` for the health check.
    pub fn rate_limit(self) -> Option<RateLimit> {
        Some(match self {
            Endpoint::Healthcheck => return None,
            Endpoint::CurrentAssignment => RateLimit::per_minute("current", 10),
            Endpoint::EpochAssignment => RateLimit::per_minute("epoch", 30),
            Endpoint::MinerStatus => RateLimit::per_minute("status", 5),
            Endpoint::Stats => STATS_RATE_LIMIT,
            Endpoint::FolderAccess => RateLimit::per_minute("folder", 10),
            Endpoint::ValidatorRead => RateLimit::per_minute("validator-read", 30),
            Endpoint::ValidatorUpload => RateLimit {
                key: "validator-upload",
                limit: 5,
                window_secs: 3_600,
            },
        })
    }
}

/// `GET /api/v1/zipcode-assignments/stats` (public).
pub const STATS_RATE_LIMIT: RateLimit = RateLimit::per_minute("stats", 30);

/// The dashboard's data (public, not one of the original API's endpoints).
pub const DASHBOARD_RATE_LIMIT: RateLimit = RateLimit::per_minute("dashboard", 60);

/// What a signature is checked against: the fields a commitment is built from.
#[derive(Clone, Debug)]
pub enum Signing<'a> {
    CurrentAssignment,
    EpochAssignment { epoch: &'a EpochId },
    MinerStatus { epoch: &'a EpochId, body_sha256: &'a str },
    FolderAccess { coldkey: &'a Hotkey },
    ValidatorRead { epoch: &'a EpochId },
    ValidatorUpload { epoch: &'a EpochId },
}

impl Signing<'_> {
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Signing::CurrentAssignment => Endpoint::CurrentAssignment,
            Signing::EpochAssignment { .. } => Endpoint::EpochAssignment,
            Signing::MinerStatus { .. } => Endpoint::MinerStatus,
            Signing::FolderAccess { .. } => Endpoint::FolderAccess,
            Signing::ValidatorRead { .. } => Endpoint::ValidatorRead,
            Signing::ValidatorUpload { .. } => Endpoint::ValidatorUpload,
        }
    }

    /// The commitment resi signs: what [`crate::CoordinatorClient`] sends.
    pub fn commitment(&self, signer: &Hotkey, timestamp: i64) -> String {
        match self {
            Signing::CurrentAssignment => commitment::current_assignment(timestamp),
            Signing::EpochAssignment { epoch } => commitment::epoch_assignment(epoch, timestamp),
            Signing::MinerStatus { epoch, body_sha256 } => {
                commitment::miner_status(signer, epoch, timestamp, body_sha256)
            }
            Signing::FolderAccess { coldkey } => commitment::miner_upload_access(coldkey, signer, timestamp),
            Signing::ValidatorRead { epoch } => commitment::validator_read_access(epoch, timestamp),
            Signing::ValidatorUpload { epoch } => commitment::validator_upload_access(epoch, timestamp),
        }
    }

    /// Every commitment the coordinator accepts, [`Self::commitment`] first,
    /// then the original API's form where it differs (see
    /// [`Endpoint::commitment_templates`]).
    pub fn accepted(&self, signer: &Hotkey, timestamp: i64) -> Vec<String> {
        let mut accepted = vec![self.commitment(signer, timestamp)];
        match self {
            Signing::MinerStatus { epoch, .. } => {
                accepted.push(commitment::legacy_miner_status(signer, epoch, timestamp))
            }
            Signing::ValidatorUpload { .. } => accepted.push(commitment::legacy_validator_upload_access(timestamp)),
            _ => {}
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signed_endpoint_names_its_commitments_and_they_match_the_builders() {
        let hot = Hotkey::parse("5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT").unwrap();
        let cold = Hotkey::parse("5FsX1fqKPD1VNk1eEwY7RtuLLs15kEz4XeZNUsE3SdbjWKse").unwrap();
        let epoch = EpochId::parse("2025-10-01T16-00-00").unwrap();
        let cases = [
            Signing::CurrentAssignment,
            Signing::EpochAssignment { epoch: &epoch },
            Signing::MinerStatus {
                epoch: &epoch,
                body_sha256: "ab",
            },
            Signing::FolderAccess { coldkey: &cold },
            Signing::ValidatorRead { epoch: &epoch },
            Signing::ValidatorUpload { epoch: &epoch },
        ];
        for signing in cases {
            let templates = signing.endpoint().commitment_templates().unwrap();
            let accepted = signing.accepted(&hot, 1_700_000_000);
            assert_eq!(templates.len(), accepted.len(), "{signing:?}");
            for (template, message) in templates.iter().zip(&accepted) {
                let filled = template
                    .replace("{hotkey}", hot.as_str())
                    .replace("{coldkey}", cold.as_str())
                    .replace("{epochId}", &epoch.to_string())
                    .replace("{timestamp}", "1700000000")
                    .replace("{bodySha256}", "ab");
                assert_eq!(&filled, message);
            }
        }
        assert!(Endpoint::Stats.commitment_templates().is_none());
        assert_eq!(
            routes::epoch_assignment(&epoch),
            "/api/v1/zipcode-assignments/epoch/2025-10-01T16-00-00"
        );
    }
}
