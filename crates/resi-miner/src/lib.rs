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
//! Scrapers: `sim::SimScraper` (feature `sim`: the simulated market, with
//! behaviour profiles for testing the incentive). Write your own by
//! implementing [`ZipcodeScraper`].

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod command;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod scraper;
#[cfg(feature = "sim")]
pub mod sim;
pub mod state;
pub mod zillow;

pub use config::{MinerConfig, MinerFlags, ScraperConfig, SelfCheck};
pub use daemon::{EpochSummary, Miner, MinerError, MinerSettings};
pub use scraper::{Deadline, ScrapeError, ZipcodeScraper};
pub use state::{MinerState, ZipcodeState};

use std::sync::Arc;
use std::time::Duration;

use resi_core::manifest::ScraperInfo;
use resi_core::{AssignedZipcode, Listing};
use resi_runtime::{Context, SharedClock, Shutdown};

/// The scrapers compiled into this build, chosen by `[scraper] kind`.
pub enum AnyScraper {
    #[cfg(feature = "sim")]
    Sim(Box<sim::SimScraper>),
    ZillowApi(Box<zillow::ZillowScraper>),
    Command(command::CommandScraper),
    /// Keeps the enum inhabited-by-type in a build with no scraper features.
    #[doc(hidden)]
    None(std::convert::Infallible),
}

impl ZipcodeScraper for AnyScraper {
    fn info(&self) -> ScraperInfo {
        match self {
            #[cfg(feature = "sim")]
            AnyScraper::Sim(s) => s.info(),
            AnyScraper::ZillowApi(s) => s.info(),
            AnyScraper::Command(s) => s.info(),
            AnyScraper::None(never) => match *never {},
        }
    }

    async fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        target: u64,
        deadline: Deadline,
    ) -> Result<Vec<Listing>, ScrapeError> {
        match self {
            #[cfg(feature = "sim")]
            AnyScraper::Sim(s) => s.scrape(zipcode, target, deadline).await,
            AnyScraper::ZillowApi(s) => s.scrape(zipcode, target, deadline).await,
            AnyScraper::Command(s) => s.scrape(zipcode, target, deadline).await,
            AnyScraper::None(never) => {
                let _ = (zipcode, target, deadline);
                match *never {}
            }
        }
    }
}

/// The scraper `config` names, if this build has it.
fn scraper(config: &MinerConfig, identity: &str, clock: &SharedClock) -> Result<AnyScraper, MinerError> {
    match &config.scraper {
        #[cfg(feature = "sim")]
        ScraperConfig::Sim { url, profile, copy_of } => {
            let profile: resi_sim::Profile = profile.parse().map_err(MinerError::Other)?;
            let s = sim::SimScraper::new(url.clone(), profile, identity, copy_of.clone(), Arc::clone(clock))
                .map_err(|e| MinerError::Other(e.to_string()))?;
            Ok(AnyScraper::Sim(Box::new(s)))
        }
        #[cfg(not(feature = "sim"))]
        ScraperConfig::Sim { .. } => {
            let _ = identity;
            Err(MinerError::Other(
                "this build has no `sim` scraper (build resi-miner with the `sim` feature)".into(),
            ))
        }
        ScraperConfig::ZillowApi {
            url,
            api_key,
            api_key_env,
            requests_per_second,
            max_concurrent_requests,
            profile,
        } => {
            let key = ScraperConfig::zillow_api_key(api_key, api_key_env)?;
            let settings = resi_sources::ZillowSettings {
                requests_per_second: *requests_per_second,
                max_concurrent: *max_concurrent_requests,
                ..resi_sources::ZillowSettings::default()
            };
            let api = resi_sources::ZillowApi::new(url.clone(), &key, settings)
                .map_err(|e| MinerError::Other(format!("scraper: {e}")))?;
            let scraper = zillow::ZillowScraper::new(api, url.clone(), Arc::clone(clock));
            #[cfg(feature = "sim")]
            let scraper = match profile {
                Some(profile) => scraper.tampered(sim::profile_tamper(
                    profile.parse().map_err(MinerError::Other)?,
                    identity,
                )),
                None => scraper,
            };
            #[cfg(not(feature = "sim"))]
            if profile.is_some() {
                return Err(MinerError::Other("scraper.profile needs the `sim` feature".into()));
            }
            Ok(AnyScraper::ZillowApi(Box::new(scraper)))
        }
        ScraperConfig::Command {
            program,
            args,
            env,
            name,
        } => Ok(AnyScraper::Command(command::CommandScraper::new(
            program.clone(),
            args.clone(),
            env.clone(),
            name.clone(),
            Arc::clone(clock),
        ))),
    }
}

/// A miner built from its configuration: reads the hotkey, opens the state
/// database, connects the coordinator client and the configured scraper.
pub async fn build(
    config: &MinerConfig,
    clock: SharedClock,
    shutdown: Shutdown,
) -> Result<Miner<AnyScraper>, MinerError> {
    config.check()?;
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
    let client = resi_api::CoordinatorClient::new(config.coordinator.clone(), Arc::clone(&key), Arc::clone(&clock))?;
    let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default())?;
    let scraper = scraper(config, key.hotkey().as_str(), &clock)?;
    let settings = MinerSettings {
        max_concurrent_scrapes: config.max_concurrent_scrapes,
        retention_epochs: config.retention_epochs,
        self_check: config.self_check,
        retry: Duration::from_secs(config.retry_seconds.max(1)),
        validation: resi_core::ValidationConfig::default(),
    };
    Ok(Miner::new(
        key,
        coldkey,
        client,
        s3,
        state,
        Arc::new(scraper),
        settings,
        Context { clock, shutdown },
    ))
}
