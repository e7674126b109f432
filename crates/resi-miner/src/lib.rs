//! resi-miner: the miner daemon.
//!
//! Follows the coordinator's current assignment; when an epoch starts it
//! scrapes every assigned zipcode through a [`ZipcodeScraper`] (a few at a
//! time), checks its own listings with the validators' tier-0/1/2 rules, keeps
//! everything in a local SQLite database ([`state`]), uploads each zipcode's
//! Parquet the moment it is ready through the coordinator's POST policy,
//! keeps a signed `manifest.json` current, and reports status. Killed and
//! restarted, it resumes the epoch from the database.
//!
//! Scrapers: [`sim::SimScraper`] (the simulated market, with behaviour
//! profiles for testing the incentive). Write your own by implementing
//! [`ZipcodeScraper`].

pub mod config;
pub mod daemon;
pub mod scraper;
pub mod sim;
pub mod state;

pub use config::{MinerConfig, ScraperConfig, SelfCheck};
pub use daemon::{EpochSummary, Miner, MinerError, MinerSettings};
pub use scraper::{Deadline, ScrapeError, ZipcodeScraper};
pub use state::{MinerState, ZipcodeState};

use std::sync::Arc;
use std::time::Duration;

/// A miner with the `sim` scraper, built from its configuration: reads the
/// hotkey, opens the state database, connects the coordinator client.
pub async fn build(config: &MinerConfig) -> Result<Miner<sim::SimScraper>, MinerError> {
    config.check().map_err(|e| MinerError::Other(e.to_string()))?;
    let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
        .map_err(|e| MinerError::Other(format!("hotkey {}: {e}", config.hotkey_file.display())))?;
    let coldkey = match (&config.coldkey, &config.coldkeypub_file) {
        (Some(text), _) => resi_core::Hotkey::parse(text)
            .map_err(|e| MinerError::Other(format!("coldkey {text:?} is not an SS58 address: {e}")))?,
        (None, Some(path)) => resi_auth::wallet::read_public(path)
            .map_err(|e| MinerError::Other(format!("coldkey {}: {e}", path.display())))?,
        (None, None) => return Err(MinerError::Other("no coldkey configured".into())),
    };
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| MinerError::Other(format!("{}: {e}", config.data_dir.display())))?;
    let state = MinerState::open(&config.data_dir.join("miner.db")).await?;
    let key = Arc::new(key);
    let client = resi_coordinator::client::CoordinatorClient::new(config.coordinator.clone(), Arc::clone(&key))?;
    let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default())?;
    let ScraperConfig::Sim { url, profile, copy_of } = &config.scraper;
    let profile: resi_sim::Profile = profile.parse().map_err(MinerError::Other)?;
    let scraper = sim::SimScraper::new(url.clone(), profile, key.hotkey().as_str(), copy_of.clone())
        .map_err(MinerError::Other)?;
    let settings = MinerSettings {
        max_concurrent_scrapes: config.max_concurrent_scrapes,
        retention_epochs: config.retention_epochs,
        self_check: config.self_check,
        retry: Duration::from_secs(config.retry_seconds.max(1)),
        validation: resi_core::ValidationConfig::default(),
    };
    Ok(Miner::new(key, coldkey, client, s3, state, Arc::new(scraper), settings))
}
