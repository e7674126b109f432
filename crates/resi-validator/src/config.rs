//! `validator.toml`: what a validator operator configures.

use std::path::{Path, PathBuf};

use resi_core::ValidationConfig;
use serde::{Deserialize, Serialize};

/// Where tier 3 looks properties up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertySourceConfig {
    /// `property_source = "http://…"`: a `resi-http` source.
    Url(url::Url),
    Table(PropertySourceTable),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum PropertySourceTable {
    /// `GET {url}/api/v1/properties/{zpid}` (resi's own contract; the simulated market).
    #[serde(rename = "resi-http")]
    ResiHttp {
        url: url::Url,
        /// Requests per second at most.
        #[serde(default = "default_http_rate")]
        requests_per_second: f64,
        #[serde(default = "default_http_in_flight")]
        max_concurrent_requests: usize,
    },
    /// The Zillow JSON API's `GET {url}/property?zpid=` (or `resi sim replay`).
    #[serde(rename = "zillow-api")]
    ZillowApi {
        url: url::Url,
        /// Sent as `X-RapidAPI-Key`; better `api_key_env`.
        #[serde(default)]
        api_key: Option<String>,
        #[serde(default = "default_key_env")]
        api_key_env: String,
        /// The plan's rate limit, requests per second.
        #[serde(default = "default_rate")]
        requests_per_second: f64,
        #[serde(default = "default_in_flight")]
        max_concurrent_requests: usize,
    },
}

fn default_http_rate() -> f64 {
    50.0
}
fn default_http_in_flight() -> usize {
    16
}
fn default_key_env() -> String {
    "RESI_ZILLOW_API_KEY".into()
}
fn default_rate() -> f64 {
    5.0
}
fn default_in_flight() -> usize {
    4
}

fn check_budget(requests_per_second: f64, max_concurrent_requests: usize) -> Result<(), ConfigError> {
    if !(0.01..=10_000.0).contains(&requests_per_second) || !(1..=1_024).contains(&max_concurrent_requests) {
        return Err(ConfigError::Invalid(format!(
            "property_source: requests_per_second = {requests_per_second} must be in 0.01..=10000 and \
             max_concurrent_requests = {max_concurrent_requests} in 1..=1024"
        )));
    }
    Ok(())
}

impl PropertySourceConfig {
    pub fn url(&self) -> &url::Url {
        match self {
            PropertySourceConfig::Url(u)
            | PropertySourceConfig::Table(PropertySourceTable::ResiHttp { url: u, .. })
            | PropertySourceConfig::Table(PropertySourceTable::ZillowApi { url: u, .. }) => u,
        }
    }

    /// The configured source, ready to ask.
    pub fn build(&self) -> Result<resi_sources::AnySource, ConfigError> {
        let bad = |e: resi_sources::SourceError| ConfigError::Invalid(format!("property_source: {e}"));
        Ok(match self {
            PropertySourceConfig::Url(url) => resi_sources::AnySource::ResiHttp(
                resi_sources::HttpPropertySource::new(url.clone(), 4, std::time::Duration::from_millis(250))
                    .map_err(bad)?,
            ),
            PropertySourceConfig::Table(PropertySourceTable::ResiHttp {
                url,
                requests_per_second,
                max_concurrent_requests,
            }) => {
                check_budget(*requests_per_second, *max_concurrent_requests)?;
                resi_sources::AnySource::ResiHttp(
                    resi_sources::HttpPropertySource::new(url.clone(), 4, std::time::Duration::from_millis(250))
                        .map_err(bad)?
                        .with_budget(resi_sources::Budget::new(
                            *requests_per_second,
                            *max_concurrent_requests,
                        )),
                )
            }
            PropertySourceConfig::Table(PropertySourceTable::ZillowApi {
                url,
                api_key,
                api_key_env,
                requests_per_second,
                max_concurrent_requests,
            }) => {
                let key = resi_sources::zillow::resolve_api_key(api_key.as_deref(), api_key_env).ok_or_else(|| {
                    ConfigError::Invalid(format!("property_source: no api_key and {api_key_env} is not set"))
                })?;
                check_budget(*requests_per_second, *max_concurrent_requests)?;
                let settings = resi_sources::ZillowSettings {
                    requests_per_second: *requests_per_second,
                    max_concurrent: *max_concurrent_requests,
                    ..resi_sources::ZillowSettings::default()
                };
                resi_sources::AnySource::ZillowApi(
                    resi_sources::ZillowApi::new(url.clone(), &key, settings).map_err(bad)?,
                )
            }
        })
    }
}

/// Command-line overrides, the last layer.
#[derive(Clone, Debug, Default)]
pub struct ValidatorFlags {
    pub metrics_listen: Option<resi_runtime::config::MetricsListen>,
    pub coordinator: Option<url::Url>,
    pub data_dir: Option<PathBuf>,
    pub property_source: Option<url::Url>,
}

/// `validator.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorConfig {
    /// The coordinator's base URL.
    pub coordinator: url::Url,
    /// The validator's hotkey: a Bittensor wallet hotkey file.
    pub hotkey_file: PathBuf,
    /// Where Prometheus metrics are served (`GET /metrics`): an address
    /// (loopback by default, so only this machine can scrape it) or `off`.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: resi_runtime::config::MetricsListen,
    /// Directory for results, consensus reports and the per-epoch journal.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Tier-3 property source: a URL (a `resi-http` source, e.g. the
    /// simulated market), or a table with `kind = "resi-http"` or
    /// `kind = "zillow-api"` (see [`PropertySourceConfig`]).
    pub property_source: PropertySourceConfig,
    /// Seconds after an epoch's deadline before validating it.
    #[serde(default = "default_grace")]
    pub grace_seconds: u64,
    /// Submissions downloaded and examined at the same time; with the
    /// largest file allowed this bounds memory.
    #[serde(default = "default_downloads")]
    pub max_concurrent_downloads: usize,
    /// How long to wait for the other validators' results before deciding consensus.
    #[serde(default = "default_consensus_wait")]
    pub consensus_wait_seconds: u64,
    /// After downtime, finished epochs this far back are still validated
    /// (oldest first); 1 = only the last one.
    #[serde(default = "default_backfill")]
    pub backfill_epochs: u32,
    /// Seconds between tries when something failed (coordinator, storage).
    #[serde(default = "default_retry")]
    pub retry_seconds: u64,
    /// Moved to `[chain] validator_min_stake` (whole tokens, and a permit
    /// is needed too); kept only to name the move when an old file sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_min_stake: Option<u64>,
    /// Share of the weights burnt to the owner uid, in basis points.
    #[serde(default)]
    pub burn_bps: u64,
    #[serde(default)]
    pub burn_owner_uid: Option<u16>,
    /// Chain backend: `local` and its metagraph file, or `subtensor` with
    /// `network` and `netuid`.
    #[serde(default)]
    pub chain: ChainSection,
    /// Validation thresholds; the defaults are the protocol's. Changing them
    /// changes the consensus hash: every validator must use the same.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// `[dataset]`: publish each validated epoch's winning listings.
    #[serde(default)]
    pub dataset: DatasetSection,
}

/// `[dataset]` (docs/DATASET.md).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSection {
    /// After each epoch's weights, publish its dataset.
    #[serde(default)]
    pub publish: bool,
    /// The dataset's root (files in `dir/dataset/listings/…`); default the
    /// data directory. Relative to this file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `[dataset.s3]`: publish to a bucket instead of `dir`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<DatasetBucket>,
}

/// `[dataset.s3]`: a bucket this validator holds the keys to. What is left
/// out comes from the standard AWS settings (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, a profile).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetBucket {
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<url::Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Path-style URLs (MinIO, Garage, an IP endpoint).
    #[serde(default)]
    pub path_style: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

impl DatasetBucket {
    /// The bucket's full configuration, completed from `aws`.
    pub fn s3_config(&self, aws: &resi_storage::AwsSettings) -> Result<resi_storage::S3Config, ConfigError> {
        let missing = |what: &str| {
            ConfigError::Invalid(format!(
                "[dataset.s3] needs {what}: set it in the file, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / an AWS profile"
            ))
        };
        let (access_key, secret_key, session_token) = match (&self.access_key, &self.secret_key) {
            (Some(a), Some(s)) => (a.clone(), s.clone(), None),
            (None, None) => (
                aws.access_key.clone().ok_or_else(|| missing("access_key"))?,
                aws.secret_key.clone().ok_or_else(|| missing("secret_key"))?,
                aws.session_token.clone(),
            ),
            (Some(_), None) => return Err(missing("secret_key (access_key is set)")),
            (None, Some(_)) => return Err(missing("access_key (secret_key is set)")),
        };
        let region = self
            .region
            .clone()
            .or_else(|| aws.region.clone())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let endpoint = match self.endpoint.clone().or_else(|| aws.endpoint.clone()) {
            Some(url) => url,
            None => url::Url::parse(&format!("https://s3.{region}.amazonaws.com"))
                .map_err(|e| ConfigError::Invalid(format!("[dataset.s3] region {region:?}: {e}")))?,
        };
        Ok(resi_storage::S3Config {
            endpoint,
            region,
            bucket: self.bucket.clone(),
            access_key,
            secret_key,
            path_style: self.path_style,
            session_token,
        })
    }
}

/// `[chain]`: the same section as the coordinator's.
pub use resi_chain::ChainConfig as ChainSection;

fn default_metrics_listen() -> resi_runtime::config::MetricsListen {
    resi_runtime::config::MetricsListen::At(std::net::SocketAddr::from(([127, 0, 0, 1], 9185)))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("validator-data")
}
fn default_grace() -> u64 {
    60
}
fn default_downloads() -> usize {
    8
}
fn default_consensus_wait() -> u64 {
    600
}
fn default_backfill() -> u32 {
    3
}
fn default_retry() -> u64 {
    30
}

pub use resi_runtime::config::ConfigError;
use resi_runtime::config::{env_var, layer};

impl ValidatorConfig {
    /// Reads a TOML file; unknown keys are errors; relative paths are
    /// relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let config = Self::read(path)?;
        config.check()?;
        Ok(config)
    }

    /// The file, then `RESI_COORDINATOR`, `RESI_DATA_DIR` and
    /// `RESI_PROPERTY_SOURCE`, then `flags`; checked once at the end.
    pub fn load(path: &Path, flags: ValidatorFlags) -> Result<Self, ConfigError> {
        let mut config = Self::read(path)?;
        layer(&mut config.metrics_listen, env_var("METRICS_LISTEN")?);
        layer(&mut config.metrics_listen, flags.metrics_listen);
        layer(&mut config.coordinator, env_var("COORDINATOR")?);
        layer(&mut config.data_dir, env_var("DATA_DIR")?);
        layer(
            &mut config.property_source,
            env_var::<url::Url>("PROPERTY_SOURCE")?.map(PropertySourceConfig::Url),
        );
        layer(&mut config.coordinator, flags.coordinator);
        layer(&mut config.data_dir, flags.data_dir);
        layer(
            &mut config.property_source,
            flags.property_source.map(PropertySourceConfig::Url),
        );
        config.check()?;
        Ok(config)
    }

    fn read(path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = resi_runtime::config::read_toml(path)?;
        if let Some(dir) = path.parent() {
            for p in [
                &mut config.hotkey_file,
                &mut config.data_dir,
                &mut config.chain.metagraph,
            ]
            .into_iter()
            .chain(config.dataset.dir.as_mut())
            {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        Ok(config)
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        resi_chain::refuse_moved_validator_min_stake(self.validator_min_stake)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let ranges: [(&str, u64, u64, u64); 5] = [
            // Memory is bounded by downloads in flight × the file and decode caps.
            ("max_concurrent_downloads", self.max_concurrent_downloads as u64, 1, 256),
            // Each backfilled epoch is a whole validation; a week of hourly epochs at most.
            ("backfill_epochs", u64::from(self.backfill_epochs), 1, 168),
            ("retry_seconds", self.retry_seconds, 1, 86_400),
            ("grace_seconds", self.grace_seconds, 0, 86_400),
            ("consensus_wait_seconds", self.consensus_wait_seconds, 0, 86_400),
        ];
        resi_core::config::check_ranges(&ranges).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for (name, url) in [
            ("coordinator", &self.coordinator),
            ("property_source", self.property_source.url()),
        ] {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid(format!("{name} {url} is not an http(s) URL")));
            }
        }
        if self.burn_bps > 10_000 {
            return Err(ConfigError::Invalid(format!(
                "burn_bps {} is over 10000",
                self.burn_bps
            )));
        }
        if self.burn_bps > 0 && self.burn_owner_uid.is_none() {
            return Err(ConfigError::Invalid("burn_bps needs burn_owner_uid".into()));
        }
        self.chain.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.validation.check().map_err(|e| ConfigError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_is_published_where_the_file_says_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("validator.toml");
        let base = "coordinator = \"http://127.0.0.1:8080\"\nhotkey_file = \"hot\"\nproperty_source = \"http://127.0.0.1:8090\"\n";
        std::fs::write(&file, base).unwrap();
        let folder = |config: &ValidatorConfig| match config.dataset_store().unwrap() {
            crate::DatasetStore::Folder(root) => root,
            other => panic!("{other:?}"),
        };
        let config = ValidatorConfig::from_file(&file).unwrap();
        assert!(!config.dataset.publish, "off by default");
        assert_eq!(folder(&config), config.data_dir, "the data directory by default");
        std::fs::write(&file, format!("{base}[dataset]\npublish = true\ndir = \"published\"\n")).unwrap();
        let config = ValidatorConfig::from_file(&file).unwrap();
        assert!(config.dataset.publish);
        assert_eq!(folder(&config), dir.path().join("published"), "relative to the file");
        let bucket = DatasetBucket {
            bucket: "resi-dataset".into(),
            endpoint: Some("http://127.0.0.1:9000".parse().unwrap()),
            path_style: true,
            access_key: Some("AK".into()),
            ..DatasetBucket::default()
        };
        let err = bucket.s3_config(&resi_storage::AwsSettings::default()).unwrap_err();
        assert!(err.to_string().contains("secret_key (access_key is set)"), "{err}");
        let aws = resi_storage::AwsSettings {
            access_key: Some("ENVAK".into()),
            secret_key: Some("ENVSK".into()),
            region: Some("eu-west-1".into()),
            ..resi_storage::AwsSettings::default()
        };
        let config = DatasetBucket {
            access_key: None,
            endpoint: None,
            ..bucket
        }
        .s3_config(&aws)
        .unwrap();
        assert_eq!(
            (
                config.access_key.as_str(),
                config.region.as_str(),
                config.endpoint.as_str()
            ),
            ("ENVAK", "eu-west-1", "https://s3.eu-west-1.amazonaws.com/"),
            "what the file leaves out comes from the AWS settings"
        );
    }

    #[test]
    fn minimal_file_gets_protocol_defaults() {
        let text = r#"
coordinator = "http://127.0.0.1:8080"
hotkey_file = "wallets/validator/hotkeys/default"
property_source = "http://127.0.0.1:8090"
[chain]
metagraph = "metagraph.json"
[validation]
spotCheckMax = 12
"#;
        let c: ValidatorConfig = toml::from_str(text).unwrap();
        c.check().unwrap();
        assert_eq!(c.grace_seconds, 60);
        assert_eq!(c.validation.spot_check_max, 12);
        assert_eq!(c.validation.spot_check_min, ValidationConfig::default().spot_check_min);
        let c: ValidatorConfig = toml::from_str(&text.replace("[chain]", "burn_bps = 100\n[chain]")).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("burn_owner_uid"));
        // The minimum stake of an older file is refused with where it moved.
        let c: ValidatorConfig = toml::from_str(&text.replace("[chain]", "validator_min_stake = 0\n[chain]")).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("moved to [chain]"));
        for (edit, complaint) in [
            (
                "backfill_epochs = 4000000000",
                "backfill_epochs = 4000000000 is outside 1..=168",
            ),
            ("max_concurrent_downloads = 1000000000000", "max_concurrent_downloads"),
            ("retry_seconds = 0", "retry_seconds = 0 is outside"),
        ] {
            let c: ValidatorConfig = toml::from_str(&text.replace("[chain]", &format!("{edit}\n[chain]"))).unwrap();
            assert!(c.check().unwrap_err().to_string().contains(complaint), "{edit}");
        }
        let c: ValidatorConfig =
            toml::from_str(&text.replace("http://127.0.0.1:8080", "ftp://127.0.0.1:8080")).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("not an http(s) URL"));
        let c: ValidatorConfig = toml::from_str(&text.replace("spotCheckMax = 12", "maxFileBytes = 0")).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("maxFileBytes = 0"));
    }

    #[test]
    fn property_sources_by_kind() {
        let head = "coordinator = \"http://127.0.0.1:8080\"\nhotkey_file = \"h\"\n";
        let url: ValidatorConfig =
            toml::from_str(&format!("{head}property_source = \"http://127.0.0.1:8090\"\n")).unwrap();
        assert!(matches!(
            url.property_source.build().unwrap(),
            resi_sources::AnySource::ResiHttp(_)
        ));
        let http: ValidatorConfig = toml::from_str(&format!(
            "{head}[property_source]\nkind = \"resi-http\"\nurl = \"http://127.0.0.1:8090\"\nrequests_per_second = 5\n"
        ))
        .unwrap();
        assert!(matches!(
            http.property_source.build().unwrap(),
            resi_sources::AnySource::ResiHttp(_)
        ));
        let zillow = format!(
            "{head}[property_source]\nkind = \"zillow-api\"\nurl = \"http://127.0.0.1:8091/\"\napi_key_env = \"RESI_TEST_SURELY_UNSET\"\n"
        );
        let c: ValidatorConfig = toml::from_str(&zillow).unwrap();
        c.check().unwrap();
        let err = c.property_source.build().unwrap_err().to_string();
        assert!(err.contains("RESI_TEST_SURELY_UNSET"), "{err}");
        let keyed: ValidatorConfig = toml::from_str(&format!("{zillow}api_key = \"k\"\n")).unwrap();
        assert!(matches!(
            keyed.property_source.build().unwrap(),
            resi_sources::AnySource::ZillowApi(_)
        ));
        let fast: ValidatorConfig =
            toml::from_str(&format!("{zillow}api_key = \"k\"\nrequests_per_second = 0\n")).unwrap();
        assert!(fast.property_source.build().is_err());
        assert!(toml::from_str::<ValidatorConfig>(&format!("{zillow}surprise = 1\n")).is_err());
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/validator.toml");
        let config = ValidatorConfig::from_file(&path).unwrap();
        config.check().unwrap();
    }
}
