//! Coordinator configuration: defaults (here, once), then a TOML file, then
//! `RESI_*` environment variables and command-line flags on top.

use std::net::SocketAddr;
use std::path::PathBuf;

use resi_storage::S3Config;
use serde::{Deserialize, Serialize};

use crate::rules::RulesConfig;
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
    /// Moved to `[chain] validator_min_stake` (whole tokens, and a permit
    /// is needed too); kept only to name the move when an old file sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator_min_stake: Option<u64>,
    /// Multiplies every per-route rate limit (1 = the limits of docs/API.md).
    pub rate_limit_multiplier: u32,
    /// Count rate-limit windows in the database, so several coordinators
    /// on one PostgreSQL limit a caller as one. Unset: yes on PostgreSQL,
    /// no on SQLite (one process; counted in memory).
    pub shared_rate_limits: Option<bool>,
    /// How long the presigned GET URLs handed to validators live, seconds.
    pub read_url_ttl_secs: u64,
    pub selection: SelectionParams,
    /// `[rules]`: the results version epochs are validated by, and an
    /// upgrade announced from a given epoch (PROTOCOL.md §7a).
    pub rules: RulesConfig,
    /// `[server]`: connection limits, overall and per client address.
    pub server: ServerLimits,
    /// `[s3]` as written in the file. Any part may be left to `RESI_S3_*`,
    /// flags or the standard AWS settings (see docs/STORAGE.md).
    #[serde(rename = "s3", skip_serializing_if = "Option::is_none")]
    pub s3_section: Option<S3Section>,
    /// The bucket the coordinator brokers, once [`CoordinatorConfig::apply`]
    /// has merged every layer (the devnet and tests set it directly).
    #[serde(skip)]
    pub s3: Option<S3Config>,
    pub chain: ChainConfig,
}

/// The file's `[s3]`: every key optional, completed by the later layers.
/// Keys in camelCase (`accessKey`) or snake_case (`access_key`).
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Section {
    pub endpoint: Option<url::Url>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    #[serde(alias = "access_key")]
    pub access_key: Option<String>,
    #[serde(alias = "secret_key")]
    pub secret_key: Option<String>,
    #[serde(alias = "session_token")]
    pub session_token: Option<String>,
    #[serde(alias = "path_style")]
    pub path_style: Option<bool>,
}

impl std::fmt::Debug for S3Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Section")
            .field("endpoint", &self.endpoint.as_ref().map(url::Url::as_str))
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<redacted>"))
            .field("path_style", &self.path_style)
            .finish()
    }
}

pub use resi_chain::ChainConfig;

/// `[server]`: how many connections the API serves, and how much of that one
/// client address (an IPv4 address or an IPv6 /64) may take, so that one
/// client cannot starve the others (see `resi_net`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections one address may hold; more are closed when accepted.
    pub max_connections_per_peer: usize,
    /// Requests one address may have in progress; more are answered 429.
    pub max_requests_per_peer: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        let net = resi_net::Limits::default();
        Self {
            max_connections: net.max_connections,
            max_connections_per_peer: net.max_connections_per_peer,
            max_requests_per_peer: net.max_requests_per_peer,
        }
    }
}

impl ServerLimits {
    /// Every client on one address (a devnet: all daemons on loopback).
    pub fn one_address() -> Self {
        let net = resi_net::Limits::default().one_address();
        Self {
            max_connections: net.max_connections,
            max_connections_per_peer: net.max_connections_per_peer,
            max_requests_per_peer: net.max_requests_per_peer,
        }
    }

    pub fn net(&self) -> resi_net::Limits {
        resi_net::Limits {
            max_connections: self.max_connections,
            max_connections_per_peer: self.max_connections_per_peer,
            max_requests_per_peer: self.max_requests_per_peer,
            ..resi_net::Limits::default()
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
            validator_min_stake: None,
            rate_limit_multiplier: 1,
            shared_rate_limits: None,
            read_url_ttl_secs: 3_600,
            selection: SelectionParams::default(),
            rules: RulesConfig::default(),
            server: ServerLimits::default(),
            s3_section: None,
            s3: None,
            chain: ChainConfig::default(),
        }
    }
}

pub use resi_runtime::config::{read_toml, ConfigError};

/// Overrides from the environment and the command line (the binary's
/// `RESI_*` variables and flags): the last layers, applied by
/// [`CoordinatorConfig::apply`].
#[derive(Clone, Debug, Default)]
pub struct CoordinatorFlags {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub epoch_seconds: Option<u64>,
    pub secret: Option<String>,
    pub metagraph: Option<PathBuf>,
    pub chain: Option<String>,
    pub network: Option<String>,
    pub netuid: Option<u16>,
    pub max_upload_bytes: Option<u64>,
    pub validator_min_stake: Option<u64>,
    pub target_listings: Option<u64>,
    pub tolerance_percent: Option<u64>,
    pub min_expected: Option<u64>,
    pub max_expected: Option<u64>,
    pub cooldown_secs: Option<i64>,
    pub honeypot: Option<bool>,
    pub s3_endpoint: Option<url::Url>,
    pub s3_region: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_access_key: Option<String>,
    pub s3_secret_key: Option<String>,
    pub s3_path_style: Option<bool>,
    /// The standard AWS variables and shared files: below every resi setting.
    pub aws: Option<resi_storage::AwsSettings>,
}

impl CoordinatorConfig {
    /// Applies `flags` on top of this configuration. S3 settings merge key
    /// by key with `[s3]`; a partial S3 setting with no `[s3]` to complete
    /// it is an error naming what is missing.
    pub fn apply(&mut self, f: &CoordinatorFlags) -> Result<(), ConfigError> {
        use resi_runtime::config::layer;
        layer(&mut self.listen, f.listen);
        layer(&mut self.database_url, f.database_url.clone());
        layer(&mut self.epoch_seconds, f.epoch_seconds);
        if f.secret.is_some() {
            self.secret = f.secret.clone();
        }
        layer(&mut self.chain.metagraph, f.metagraph.clone());
        layer(&mut self.chain.backend, f.chain.clone());
        layer(&mut self.chain.network, f.network.clone());
        if f.netuid.is_some() {
            self.chain.netuid = f.netuid;
        }
        layer(&mut self.max_upload_bytes, f.max_upload_bytes);
        layer(&mut self.chain.validator_min_stake, f.validator_min_stake);
        let sel = &mut self.selection;
        layer(&mut sel.target_listings, f.target_listings);
        layer(&mut sel.tolerance_percent, f.tolerance_percent);
        layer(&mut sel.min_expected, f.min_expected);
        layer(&mut sel.max_expected, f.max_expected);
        layer(&mut sel.cooldown_secs, f.cooldown_secs);
        layer(&mut sel.honeypot, f.honeypot);
        self.apply_s3(f)
    }

    /// S3, key by key: flags and `RESI_S3_*`, then the file's `[s3]`, then the
    /// standard AWS settings. The bucket is resi's alone, so S3 is configured
    /// once a resi setting names any part of it.
    fn apply_s3(&mut self, f: &CoordinatorFlags) -> Result<(), ConfigError> {
        let mut file = self.s3_section.take().unwrap_or_default();
        if let Some(set) = self.s3.take() {
            // Set in code (the devnet): the file layer.
            file = S3Section {
                endpoint: Some(set.endpoint),
                region: Some(set.region),
                bucket: Some(set.bucket),
                access_key: Some(set.access_key),
                secret_key: Some(set.secret_key),
                session_token: set.session_token,
                path_style: Some(set.path_style),
            };
        }
        let resi_settings = [
            f.s3_endpoint.is_some() || file.endpoint.is_some(),
            f.s3_bucket.is_some() || file.bucket.is_some(),
            f.s3_access_key.is_some() || file.access_key.is_some(),
            f.s3_secret_key.is_some() || file.secret_key.is_some(),
            f.s3_region.is_some() || file.region.is_some(),
            f.s3_path_style.is_some() || file.path_style.is_some(),
        ];
        if !resi_settings.contains(&true) {
            return Ok(());
        }
        let aws = f.aws.clone().unwrap_or_default();
        let missing = |what: &str, aws_names: &str| {
            ConfigError::Invalid(format!(
                "S3 {what} missing: set it in [s3], with --s3-{what} or RESI_S3_{}{aws_names}",
                what.to_ascii_uppercase().replace('-', "_")
            ))
        };
        // Keys come as a pair, from one layer: a resi access key never meets an AWS secret.
        let (access_key, secret_key, session_token) = match (
            f.s3_access_key.clone().or(file.access_key),
            f.s3_secret_key.clone().or(file.secret_key),
        ) {
            (Some(access), Some(secret)) => (access, secret, file.session_token),
            (None, None) => (
                aws.access_key
                    .clone()
                    .ok_or_else(|| missing("access-key", ", or AWS_ACCESS_KEY_ID / an AWS profile"))?,
                aws.secret_key
                    .clone()
                    .ok_or_else(|| missing("secret-key", ", or AWS_SECRET_ACCESS_KEY / an AWS profile"))?,
                aws.session_token.clone(),
            ),
            (Some(_), None) => return Err(missing("secret-key", " (the access key is set)")),
            (None, Some(_)) => return Err(missing("access-key", " (the secret key is set)")),
        };
        let region = f
            .s3_region
            .clone()
            .or(file.region)
            .or_else(|| aws.region.clone())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let endpoint = f
            .s3_endpoint
            .clone()
            .or(file.endpoint)
            .or_else(|| aws.endpoint.clone())
            .or_else(|| url::Url::parse(&format!("https://s3.{region}.amazonaws.com")).ok())
            .ok_or_else(|| missing("endpoint", ", or AWS_ENDPOINT_URL"))?;
        self.s3 = Some(S3Config {
            endpoint,
            region,
            bucket: f
                .s3_bucket
                .clone()
                .or(file.bucket)
                .ok_or_else(|| missing("bucket", ""))?,
            access_key,
            secret_key,
            path_style: f.s3_path_style.or(file.path_style).unwrap_or(false),
            session_token,
        });
        Ok(())
    }

    /// Reads a TOML file; unknown keys are errors. Relative paths in it
    /// (`secret_file`, `[chain] metagraph`, a SQLite `database_url`'s file)
    /// are relative to the file's folder, as in every resi config file;
    /// those given by flags or `RESI_*` variables stay relative to the
    /// current folder.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let mut config: Self = read_toml(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Some(p) = config.secret_file.as_mut().filter(|p| p.is_relative()) {
                *p = dir.join(&*p);
            }
            if config.chain.metagraph.is_relative() {
                config.chain.metagraph = dir.join(&config.chain.metagraph);
            }
            config.database_url = sqlite_file_relative_to(&config.database_url, dir);
        }
        Ok(config)
    }

    /// Checks that the settings make sense (after every layer is applied).
    pub fn check(&self) -> Result<(), ConfigError> {
        resi_chain::refuse_moved_validator_min_stake(self.validator_min_stake)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        resi_core::config::check_ranges(&[
            ("epoch_seconds", self.epoch_seconds, 1, resi_core::EpochLength::MAX_SECS),
            ("max_upload_bytes", self.max_upload_bytes, 1_024, 1 << 32),
            ("rate_limit_multiplier", u64::from(self.rate_limit_multiplier), 1, 1_000),
            ("read_url_ttl_secs", self.read_url_ttl_secs, 60, 7 * 24 * 3_600),
            ("server.max_connections", self.server.max_connections as u64, 1, 1 << 20),
            (
                "server.max_connections_per_peer",
                self.server.max_connections_per_peer as u64,
                1,
                self.server.max_connections as u64,
            ),
            (
                "server.max_requests_per_peer",
                self.server.max_requests_per_peer as u64,
                1,
                self.server.max_connections as u64,
            ),
        ])
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.chain.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.rules.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(())
    }

    /// The secret's bytes, from `secret` or `secret_file`.
    pub fn secret_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        let text = match (&self.secret, &self.secret_file) {
            (Some(s), _) => s.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    cause: source,
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

/// A SQLite URL whose file is a relative path, with the path taken from
/// `dir`: `sqlite://coordinator.db` read from `/etc/resi/coordinator.toml`
/// is `sqlite:///etc/resi/coordinator.db`. Anything else is left as given.
pub fn sqlite_file_relative_to(url: &str, dir: &std::path::Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return url.to_owned();
    };
    let (file, query) = rest.split_once('?').map_or((rest, None), |(f, q)| (f, Some(q)));
    if file.is_empty() || file.starts_with(':') || std::path::Path::new(file).is_absolute() {
        return url.to_owned();
    }
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("sqlite://{}{query}", dir.join(file).display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_in_the_file_are_taken_from_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        let file = etc.join("coordinator.toml");
        std::fs::write(
            &file,
            "database_url = \"sqlite://state/coordinator.db\"\nsecret_file = \"coordinator.secret\"\n[chain]\nmetagraph = \"/srv/metagraph.json\"\n",
        )
        .unwrap();
        let config = CoordinatorConfig::from_file(&file).unwrap();
        assert_eq!(
            config.database_url,
            format!("sqlite://{}", etc.join("state/coordinator.db").display())
        );
        assert_eq!(config.secret_file, Some(etc.join("coordinator.secret")));
        assert_eq!(config.chain.metagraph, std::path::Path::new("/srv/metagraph.json"));
        let here = std::path::Path::new("/etc/resi");
        for (url, want) in [
            ("sqlite:coord.db?mode=rwc", "sqlite:///etc/resi/coord.db?mode=rwc"),
            ("sqlite:///var/lib/resi/coord.db", "sqlite:///var/lib/resi/coord.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://resi@db/resi", "postgres://resi@db/resi"),
        ] {
            assert_eq!(sqlite_file_relative_to(url, here), want, "{url}");
        }
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/coordinator.toml");
        let config = CoordinatorConfig::from_file(&path).unwrap();
        config.check().unwrap();
        assert_eq!(config.server, ServerLimits::default());
        // A per-peer share of nothing, or more than the whole, is refused by name.
        for (server, complaint) in [
            (
                "max_connections_per_peer = 0",
                "server.max_connections_per_peer = 0 is outside 1..=1024",
            ),
            (
                "max_requests_per_peer = 2000",
                "server.max_requests_per_peer = 2000 is outside 1..=1024",
            ),
        ] {
            let c: CoordinatorConfig = toml::from_str(&format!("[server]\n{server}\n")).unwrap();
            let err = c.check().unwrap_err().to_string();
            assert!(err.contains(complaint), "{err}");
        }
        assert!(
            toml::from_str::<CoordinatorConfig>("[server]\nmax_conections = 5\n").is_err(),
            "a misspelt key"
        );
        // The minimum stake of an older file is refused with where it moved.
        let old: CoordinatorConfig = toml::from_str("validator_min_stake = 1000\n").unwrap();
        assert!(old.check().unwrap_err().to_string().contains("moved to [chain]"));
        let s3 = config.s3_section.as_ref().unwrap();
        assert_eq!(s3.bucket.as_deref(), Some("resi-subnet"));
    }

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
        let mut c: CoordinatorConfig = toml::from_str(text).unwrap();
        c.apply(&CoordinatorFlags::default()).unwrap();
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
