//! The `sim` scraper: reads the simulated market over HTTP (`resi sim
//! serve`), then behaves like one of the miner profiles of `resi_sim` — so
//! the devnet can field honest miners and every kind of cheater.

use std::path::PathBuf;
use std::time::Duration;

use resi_core::manifest::ScraperInfo;
use resi_core::schema::{decode_listings, DecodeLimits};
use resi_core::{AssignedZipcode, Listing};
use resi_runtime::SharedClock;
use resi_sim::market::read_times;
use resi_sim::search::MarketSearch;
use resi_sim::{profile, Profile};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::scraper::{Deadline, ScrapeError, ZipcodeScraper};
use crate::state::MinerState;

/// The `sim` scraper of one miner.
pub struct SimScraper {
    search: MarketSearch,
    source: String,
    profile: Profile,
    miner_seed: u64,
    /// For `copier`: the database of the miner whose uploads it copies.
    copy_of: Option<PathBuf>,
    copied: OnceCell<MinerState>,
    clock: SharedClock,
}

impl SimScraper {
    /// `identity` (e.g. the hotkey) varies the details between miners of one profile.
    pub fn new(
        market: url::Url,
        profile: Profile,
        identity: &str,
        copy_of: Option<PathBuf>,
        clock: SharedClock,
    ) -> Result<Self, ScrapeError> {
        if profile == Profile::Copier && copy_of.is_none() {
            return Err(ScrapeError::Other(
                "the copier profile needs copy_of: the database of the miner it copies".into(),
            ));
        }
        let digest = Sha256::digest(identity.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&digest[..8]);
        Ok(Self {
            search: MarketSearch::new(market.clone(), 4, Duration::from_millis(200))
                .map_err(|e| ScrapeError::Other(e.to_string()))?,
            source: market.to_string(),
            profile,
            miner_seed: u64::from_le_bytes(seed),
            copy_of,
            copied: OnceCell::new(),
            clock,
        })
    }

    /// Waits until `fraction` of the epoch has passed: how long this profile
    /// takes to scrape (cheating is quick, honest-slow takes most of the epoch).
    async fn pace(&self, deadline: Deadline) {
        let w = deadline.epoch;
        // Miners of one profile do not finish in the same millisecond.
        let jitter = (self.miner_seed % 1_000) as i64;
        let finish_ms =
            w.start_ms() + ((w.deadline_ms() - w.start_ms()) as f64 * self.profile.finish_fraction()) as i64 + jitter;
        let wait = finish_ms - self.clock.now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
    }

    /// The copied miner's Parquet for the zipcode, once it has uploaded it.
    async fn copy(&self, zipcode: &AssignedZipcode, deadline: Deadline) -> Result<Vec<Listing>, ScrapeError> {
        let path = self
            .copy_of
            .as_ref()
            .ok_or_else(|| ScrapeError::Other("no copy_of database".into()))?;
        let state = self
            .copied
            .get_or_try_init(|| MinerState::open_read_only(path))
            .await
            .map_err(|e| ScrapeError::Unavailable(format!("{}: {e}", path.display())))?;
        loop {
            let found = state
                .uploaded_parquet(&deadline.epoch.id, zipcode.zipcode)
                .await
                .map_err(|e| ScrapeError::Unavailable(e.to_string()))?;
            if let Some(bytes) = found {
                let limits = DecodeLimits::default();
                let columns = decode_listings(bytes.into(), &limits).map_err(|e| ScrapeError::Other(e.to_string()))?;
                // Every stamp moved by a millisecond, so the file is not byte for byte the victim's.
                let mut listings = columns.to_listings();
                profile::shift(&mut listings, 1);
                return Ok(listings);
            }
            if self.clock.now_ms() >= deadline.at_ms() {
                return Err(ScrapeError::Unavailable(
                    "the copied miner uploaded nothing in time".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl ZipcodeScraper for SimScraper {
    fn info(&self) -> ScraperInfo {
        ScraperInfo {
            name: "sim".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source: self.source.clone(),
        }
    }

    async fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        _target: u64,
        deadline: Deadline,
    ) -> Result<Vec<Listing>, ScrapeError> {
        if self.profile == Profile::Copier {
            return self.copy(zipcode, deadline).await;
        }
        self.pace(deadline).await;
        let as_of =
            (self.profile == Profile::PreScrape).then(|| deadline.epoch.start_ms() - Profile::PRE_SCRAPE_LEAD_MS);
        let (population, properties) = self.search.all_as_of(zipcode.zipcode, as_of).await.map_err(|e| {
            let e = e.to_string();
            if e.contains("HTTP 404") {
                ScrapeError::UnknownZipcode(e)
            } else {
                ScrapeError::Unavailable(e)
            }
        })?;
        // Each listing is stamped when it was read: a few milliseconds apart,
        // at this miner's own, uneven pace (two honest miners never share it).
        let started = self.clock.now_ms();
        let mut times = read_times(started, properties.len(), self.miner_seed);
        // Near the deadline the reading goes faster (it never ends after it).
        let available = deadline.at_ms() - 1_000 - started;
        let span = times.last().map_or(0, |t| t - started);
        if span > available && span > 0 {
            for t in &mut times {
                *t = started + ((*t - started) as i128 * available.max(0) as i128 / span as i128) as i64;
            }
        }
        let mut listings: Vec<Listing> = properties
            .iter()
            .zip(&times)
            .map(|(p, at)| p.listing(as_of.unwrap_or(*at)))
            .collect();
        if as_of.is_some() {
            // An old scrape, stamped as if read now.
            profile::restamp(&mut listings, started, self.miner_seed);
        }
        // Reading them takes that long: return only once the last stamp is past.
        let done_ms = times.last().copied().unwrap_or(started);
        let wait = (done_ms - self.clock.now_ms()).min(deadline.at_ms() - self.clock.now_ms());
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        Ok(profile::apply(
            self.profile,
            listings,
            zipcode.zipcode,
            population,
            &deadline.epoch,
            self.miner_seed,
        ))
    }
}

/// A profile's behaviour as a rewrite of someone else's scrape (the
/// `zillow-api` scraper's `profile`): cheaters made of real listings.
pub fn profile_tamper(profile: Profile, identity: &str) -> crate::zillow::Tamper {
    let digest = Sha256::digest(identity.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let miner_seed = u64::from_le_bytes(seed);
    Box::new(move |listings, zipcode, deadline| {
        profile::apply(
            profile,
            listings,
            zipcode.zipcode,
            zipcode.expected_listings,
            &deadline.epoch,
            miner_seed,
        )
    })
}
