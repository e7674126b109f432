//! `miner.toml`: what a miner operator configures. Defaults live here
//! (serde defaults); [`MinerConfig::load`] layers the file, `RESI_*`
//! environment variables and flags in that order.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What to do when the self-check says a zipcode would fail validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelfCheck {
    /// Do not upload it; log why (the default: an upload that fails earns
    /// nothing and only costs bandwidth).
    #[default]
    Enforce,
    /// Log why, upload anyway (for testing validators).
    Warn,
}

/// Which scraper to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ScraperConfig {
    /// The simulated market of `resi sim serve`.
    Sim {
        /// The market's base URL.
        url: url::Url,
        /// Behaviour profile: honest-fast (default), honest-slow, lazy,
        /// fabricator, duplicator, copier, stale, wrong-zipcode, unreasonable.
        #[serde(default = "default_profile")]
        profile: String,
        /// `copier` only: the state database of the miner it copies.
        #[serde(default)]
        copy_of: Option<PathBuf>,
    },
    /// The Zillow JSON API ("zillow-com1" on RapidAPI) or anything that
    /// answers like it (`resi sim replay`).
    #[serde(rename = "zillow-api")]
    ZillowApi {
        /// The API's base URL (e.g. `https://zillow-com1.p.rapidapi.com/`).
        url: url::Url,
        /// The key sent as `X-RapidAPI-Key`; better `api_key_env`, which
        /// names an environment variable holding it.
        #[serde(default)]
        api_key: Option<String>,
        #[serde(default = "default_key_env")]
        api_key_env: String,
        /// The plan's rate limit, requests per second.
        #[serde(default = "default_rate")]
        requests_per_second: f64,
        /// Requests in flight at most.
        #[serde(default = "default_in_flight")]
        max_concurrent_requests: usize,
        /// Testing validators only (builds with the `sim` feature): behave
        /// like one of `resi-sim`'s profiles on top of the real listings
        /// (`fabricator`, `stale`, `wrong-zipcode`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Any program: one run per zipcode, a JSON request on stdin, JSON
    /// lines of listings on stdout (README, "Scraper plug-ins").
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
        /// Extra environment variables for the program.
        #[serde(default)]
        env: std::collections::BTreeMap<String, String>,
        /// The name written into the manifest (default: the script's file name).
        #[serde(default)]
        name: Option<String>,
    },
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

impl ScraperConfig {
    /// The API key of a `zillow-api` scraper: `api_key`, else the variable `api_key_env` names.
    pub fn zillow_api_key(api_key: &Option<String>, api_key_env: &str) -> Result<String, ConfigError> {
        resi_sources::zillow::resolve_api_key(api_key.as_deref(), api_key_env)
            .ok_or_else(|| ConfigError::Invalid(format!("scraper: no api_key and {api_key_env} is not set")))
    }
}

fn default_profile() -> String {
    "honest-fast".into()
}

/// Command-line overrides, the last layer.
#[derive(Clone, Debug, Default)]
pub struct MinerFlags {
    pub metrics_listen: Option<resi_runtime::config::MetricsListen>,
    pub coordinator: Option<url::Url>,
    pub data_dir: Option<PathBuf>,
    pub max_concurrent_scrapes: Option<usize>,
}

/// `miner.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinerConfig {
    /// The coordinator's base URL.
    pub coordinator: url::Url,
    /// The hotkey: a Bittensor wallet hotkey file (JSON with `secretPhrase`
    /// or `privateKey`).
    pub hotkey_file: PathBuf,
    /// The coldkey owning the hotkey: an SS58 address, or a `coldkeypub.txt`.
    #[serde(default)]
    pub coldkey: Option<String>,
    #[serde(default)]
    pub coldkeypub_file: Option<PathBuf>,
    /// Where Prometheus metrics are served (`GET /metrics`): an address
    /// (loopback by default, so only this machine can scrape it) or `off`.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: resi_runtime::config::MetricsListen,
    /// Directory for the state database (`miner.db`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Zipcodes scraped at the same time.
    #[serde(default = "default_concurrency")]
    pub max_concurrent_scrapes: usize,
    /// Epochs kept in the database; older ones are deleted.
    #[serde(default = "default_retention")]
    pub retention_epochs: u32,
    #[serde(default)]
    pub self_check: SelfCheck,
    /// Seconds between tries when the coordinator cannot be reached.
    #[serde(default = "default_retry_secs")]
    pub retry_seconds: u64,
    pub scraper: ScraperConfig,
}

fn default_metrics_listen() -> resi_runtime::config::MetricsListen {
    resi_runtime::config::MetricsListen::At(std::net::SocketAddr::from(([127, 0, 0, 1], 9184)))
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("miner-data")
}
fn default_concurrency() -> usize {
    4
}
fn default_retention() -> u32 {
    6
}
fn default_retry_secs() -> u64 {
    15
}

pub use resi_runtime::config::ConfigError;
use resi_runtime::config::{env_var, layer};

impl MinerConfig {
    /// Reads a TOML file; unknown keys are errors. Relative paths in it are
    /// relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = resi_runtime::config::read_toml(path)?;
        if let Some(dir) = path.parent() {
            config.resolve_relative_to(dir);
        }
        config.check()?;
        Ok(config)
    }

    fn resolve_relative_to(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        fix(&mut self.hotkey_file);
        fix(&mut self.data_dir);
        if let Some(p) = self.coldkeypub_file.as_mut() {
            fix(p);
        }
        if let ScraperConfig::Sim { copy_of: Some(p), .. } = &mut self.scraper {
            fix(p);
        }
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        let ranges: [(&str, u64, u64, u64); 3] = [
            ("max_concurrent_scrapes", self.max_concurrent_scrapes as u64, 1, 1_024),
            ("retention_epochs", u64::from(self.retention_epochs), 1, 10_000),
            ("retry_seconds", self.retry_seconds, 1, 86_400),
        ];
        resi_core::config::check_ranges(&ranges).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if !matches!(self.coordinator.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(format!(
                "coordinator {} is not an http(s) URL",
                self.coordinator
            )));
        }
        if self.coldkey.is_none() && self.coldkeypub_file.is_none() {
            return Err(ConfigError::Invalid(
                "set coldkey (SS58) or coldkeypub_file: the coordinator checks that the coldkey owns the hotkey".into(),
            ));
        }
        match &self.scraper {
            #[cfg(feature = "sim")]
            ScraperConfig::Sim { profile, .. } => {
                profile
                    .parse::<resi_sim::Profile>()
                    .map_err(|e| ConfigError::Invalid(format!("scraper.profile: {e}")))?;
            }
            #[cfg(not(feature = "sim"))]
            ScraperConfig::Sim { .. } => {}
            ScraperConfig::Command { program, .. } => {
                if program.trim().is_empty() {
                    return Err(ConfigError::Invalid("scraper.program is empty".into()));
                }
            }
            ScraperConfig::ZillowApi {
                url,
                requests_per_second,
                max_concurrent_requests,
                profile,
                ..
            } => {
                #[cfg(feature = "sim")]
                if let Some(profile) = profile {
                    profile
                        .parse::<resi_sim::Profile>()
                        .map_err(|e| ConfigError::Invalid(format!("scraper.profile: {e}")))?;
                }
                #[cfg(not(feature = "sim"))]
                if profile.is_some() {
                    return Err(ConfigError::Invalid(
                        "scraper.profile needs a build with the `sim` feature (it is for testing validators)".into(),
                    ));
                }
                if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                    return Err(ConfigError::Invalid(format!(
                        "scraper.url {url} is not an http(s) base URL"
                    )));
                }
                if !(0.01..=1_000.0).contains(requests_per_second) {
                    return Err(ConfigError::Invalid(format!(
                        "scraper.requests_per_second = {requests_per_second} is outside 0.01..=1000"
                    )));
                }
                resi_core::config::check_ranges(&[(
                    "scraper.max_concurrent_requests",
                    *max_concurrent_requests as u64,
                    1,
                    256,
                )])
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// The file, then `RESI_COORDINATOR`, `RESI_DATA_DIR` and
    /// `RESI_MAX_CONCURRENT_SCRAPES`, then `flags`; checked once at the end.
    pub fn load(path: &Path, flags: MinerFlags) -> Result<Self, ConfigError> {
        let mut config: Self = resi_runtime::config::read_toml(path)?;
        if let Some(dir) = path.parent() {
            config.resolve_relative_to(dir);
        }
        layer(&mut config.metrics_listen, env_var("METRICS_LISTEN")?);
        layer(&mut config.metrics_listen, flags.metrics_listen);
        layer(&mut config.coordinator, env_var("COORDINATOR")?);
        layer(&mut config.data_dir, env_var("DATA_DIR")?);
        layer(&mut config.max_concurrent_scrapes, env_var("MAX_CONCURRENT_SCRAPES")?);
        layer(&mut config.coordinator, flags.coordinator);
        layer(&mut config.data_dir, flags.data_dir);
        layer(&mut config.max_concurrent_scrapes, flags.max_concurrent_scrapes);
        config.check()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_and_refuses_unknown_keys() {
        let text = r#"
coordinator = "http://127.0.0.1:8080"
hotkey_file = "wallets/miner/hotkeys/default"
coldkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
[scraper]
kind = "sim"
url = "http://127.0.0.1:8090"
profile = "honest-slow"
"#;
        let c: MinerConfig = toml::from_str(text).unwrap();
        c.check().unwrap();
        assert_eq!(c.max_concurrent_scrapes, 4);
        assert_eq!(c.self_check, SelfCheck::Enforce);
        let bad = format!("{text}\nsurprise = 1\n");
        assert!(toml::from_str::<MinerConfig>(&bad).is_err());
        for (edit, complaint) in [
            ("max_concurrent_scrapes = 1000000000000", "max_concurrent_scrapes"),
            ("retry_seconds = 0", "retry_seconds = 0 is outside"),
        ] {
            let c: MinerConfig = toml::from_str(&text.replace("[scraper]", &format!("{edit}\n[scraper]"))).unwrap();
            assert!(c.check().unwrap_err().to_string().contains(complaint), "{edit}");
        }
        let c: MinerConfig = toml::from_str(&text.replace("http://127.0.0.1:8080", "ftp://127.0.0.1:8080")).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("not an http(s) URL"));
        // The sim scraper's profiles are known only to a build that has it.
        #[cfg(feature = "sim")]
        {
            let bad_profile = text.replace("honest-slow", "sneaky");
            let c: MinerConfig = toml::from_str(&bad_profile).unwrap();
            assert!(c.check().unwrap_err().to_string().contains("unknown profile"));
        }
    }

    #[test]
    fn zillow_and_command_scrapers_are_configured_and_checked() {
        let head = "coordinator = \"http://127.0.0.1:8080\"\nhotkey_file = \"h\"\ncoldkey = \"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"\n";
        let zillow = format!("{head}[scraper]\nkind = \"zillow-api\"\nurl = \"http://127.0.0.1:8091/\"\n");
        let c: MinerConfig = toml::from_str(&zillow).unwrap();
        c.check().unwrap();
        let ScraperConfig::ZillowApi {
            requests_per_second,
            api_key_env,
            ..
        } = &c.scraper
        else {
            panic!("{:?}", c.scraper)
        };
        assert_eq!(
            (*requests_per_second, api_key_env.as_str()),
            (5.0, "RESI_ZILLOW_API_KEY")
        );
        let fast: MinerConfig = toml::from_str(&format!("{zillow}requests_per_second = 0\n")).unwrap();
        assert!(fast.check().unwrap_err().to_string().contains("requests_per_second"));
        let command = format!(
            "{head}[scraper]\nkind = \"command\"\nprogram = \"python3\"\nargs = [\"s.py\"]\nenv = {{ A = \"1\" }}\n"
        );
        let c: MinerConfig = toml::from_str(&command).unwrap();
        c.check().unwrap();
        assert!(toml::from_str::<MinerConfig>(&format!("{command}surprise = 1\n")).is_err());
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/miner.toml");
        let config = MinerConfig::from_file(&path).unwrap();
        config.check().unwrap();
    }
}
