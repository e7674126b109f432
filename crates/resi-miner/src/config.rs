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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

fn default_profile() -> String {
    "honest-fast".into()
}

/// Command-line overrides, the last layer.
#[derive(Clone, Debug, Default)]
pub struct MinerFlags {
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
        let ScraperConfig::Sim { copy_of, .. } = &mut self.scraper;
        if let Some(p) = copy_of.as_mut() {
            fix(p);
        }
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        let ranges: [(&str, u64, u64, u64); 3] = [
            ("max_concurrent_scrapes", self.max_concurrent_scrapes as u64, 1, 1_024),
            ("retention_epochs", u64::from(self.retention_epochs), 1, 10_000),
            ("retry_seconds", self.retry_seconds, 1, 86_400),
        ];
        resi_core::config::check_ranges(&ranges).map_err(ConfigError::Invalid)?;
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
        #[cfg(feature = "sim")]
        {
            let ScraperConfig::Sim { profile, .. } = &self.scraper;
            profile
                .parse::<resi_sim::Profile>()
                .map_err(|e| ConfigError::Invalid(format!("scraper.profile: {e}")))?;
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
        let bad_profile = text.replace("honest-slow", "sneaky");
        let c: MinerConfig = toml::from_str(&bad_profile).unwrap();
        assert!(c.check().unwrap_err().to_string().contains("unknown profile"));
    }
}
