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
