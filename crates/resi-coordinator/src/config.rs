//! Coordinator configuration: a TOML file, then `RESI_*` environment variables
//! and command-line flags on top (the binary applies those).

use std::net::SocketAddr;
use std::path::PathBuf;

use resi_storage::S3Config;
use serde::{Deserialize, Serialize};

use crate::selection::SelectionParams;

/// `coordinator.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorConfig {
    /// Address to serve the API on.
    pub listen: SocketAddr,
    /// `sqlite://FILE?mode=rwc` (default) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Epoch length in seconds (14,400 = 4 h in production).
    pub epoch_seconds: u64,
    /// The selection secret (hex or text). Keep it private: it makes the
    /// selection and the validation seed unpredictable.
    pub secret: Option<String>,
    /// Or read the secret from this file.
    pub secret_file: Option<PathBuf>,
    /// Largest object a miner may upload, in bytes.
    pub max_upload_bytes: u64,
    /// Stake (rao) that makes a neuron a validator without a permit; 0 = permits only.
    pub validator_min_stake: u64,
    /// Multiplies every per-route rate limit (1 = the limits of DESIGN §3).
    pub rate_limit_multiplier: u32,
    pub selection: SelectionParams,
    pub s3: Option<S3Config>,
    pub chain: ChainConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// `local` (a metagraph JSON file); `subtensor` is not available yet.
    pub backend: String,
    /// The local metagraph file.
    pub metagraph: PathBuf,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            metagraph: PathBuf::from("metagraph.json"),
        }
    }
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://coordinator.db?mode=rwc".into(),
            epoch_seconds: 14_400,
            secret: None,
            secret_file: None,
            max_upload_bytes: 64 * 1024 * 1024,
            validator_min_stake: 0,
            rate_limit_multiplier: 1,
            selection: SelectionParams::default(),
            s3: None,
            chain: ChainConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Reads a TOML configuration file of any resi daemon (coordinator, miner,
/// validator); errors name the file, and the line and key where TOML can.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

impl CoordinatorConfig {
    /// Reads a TOML file; unknown keys are errors.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        read_toml(path)
    }

    /// Checks that the settings make sense (after every layer is applied).
    pub fn check(&self) -> Result<(), ConfigError> {
        resi_core::config::check_ranges(&[
            ("epoch_seconds", self.epoch_seconds, 1, resi_core::EpochLength::MAX_SECS),
            ("max_upload_bytes", self.max_upload_bytes, 1_024, 1 << 32),
            ("rate_limit_multiplier", u64::from(self.rate_limit_multiplier), 1, 1_000),
        ])
        .map_err(ConfigError::Invalid)?;
        if self.chain.backend != "local" {
            return Err(ConfigError::Invalid(format!(
                "chain backend {:?} is not available yet; use \"local\"",
                self.chain.backend
            )));
        }
        Ok(())
    }

    /// The secret's bytes, from `secret` or `secret_file`.
    pub fn secret_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        let text = match (&self.secret, &self.secret_file) {
            (Some(s), _) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?
                .trim()
                .to_owned(),
            (None, None) => {
                return Err(ConfigError::Invalid(
                    "no secret: set `secret`, `secret_file` or RESI_SECRET".into(),
                ))
            }
        };
        if text.len() < 16 {
            return Err(ConfigError::Invalid("the secret must be at least 16 characters".into()));
        }
        Ok(text.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file_and_rejects_unknown_keys() {
        let text = r#"
listen = "0.0.0.0:9090"
database_url = "postgres://resi:pw@db/resi"
epoch_seconds = 600
secret = "0123456789abcdef0123"
[selection]
target_listings = 5000
honeypot = true
[s3]
endpoint = "http://127.0.0.1:9000"
region = "us-east-1"
bucket = "resi"
accessKey = "a"
secretKey = "b"
pathStyle = true
[chain]
backend = "local"
metagraph = "/var/lib/resi/metagraph.json"
"#;
        let c: CoordinatorConfig = toml::from_str(text).unwrap();
        assert_eq!(c.listen.port(), 9090);
        assert_eq!(c.selection.target_listings, 5000);
        assert!(c.selection.honeypot);
        assert_eq!(c.s3.as_ref().unwrap().bucket, "resi");
        assert_eq!(c.secret_bytes().unwrap().len(), 20);
        assert!(toml::from_str::<CoordinatorConfig>("bogus = 1").is_err());
        assert!(CoordinatorConfig {
            secret: Some("short".into()),
            ..Default::default()
        }
        .secret_bytes()
        .is_err());
        c.check().unwrap();
        for (edit, complaint) in [
            ("max_upload_bytes = 0", "max_upload_bytes = 0 is outside"),
            ("rate_limit_multiplier = 0", "rate_limit_multiplier = 0 is outside"),
            ("epoch_seconds = 0", "epoch_seconds = 0 is outside"),
        ] {
            let text = text.replace("epoch_seconds = 600", edit);
            let c: CoordinatorConfig = toml::from_str(&text).unwrap();
            assert!(c.check().unwrap_err().to_string().contains(complaint), "{edit}");
        }
    }
}
