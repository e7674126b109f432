//! The scraper plug-in: how a miner gets the listings of one zipcode.
//!
//! A scraper is anything that implements [`ZipcodeScraper`]. The daemon calls
//! [`ZipcodeScraper::scrape`] for every assigned zipcode, several at a time
//! (bounded), and does everything else itself: the self-check, Parquet,
//! storage, upload, manifest and status. Implementations should return as
//! soon as they have the zipcode's listings; the earlier a zipcode is
//! uploaded, the better its rank.

use std::future::Future;

use resi_core::manifest::ScraperInfo;
use resi_core::{AssignedZipcode, EpochWindow, Listing};

/// The epoch a scrape is for; its deadline is when uploads stop counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub epoch: EpochWindow,
}

impl Deadline {
    /// The submission deadline, Unix milliseconds.
    pub fn at_ms(&self) -> i64 {
        self.epoch.deadline_ms()
    }

    /// Milliseconds left at `now_ms` (0 once passed).
    pub fn remaining_ms(&self, now_ms: i64) -> u64 {
        (self.at_ms() - now_ms).max(0) as u64
    }
}

/// Why a scrape produced nothing. The daemon logs it and retries the zipcode
/// later in the epoch (or after a restart) while the deadline allows.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScrapeError {
    /// The source could not be reached or answered with an error.
    #[error("source unavailable: {0}")]
    Unavailable(String),
    /// The source has no such zipcode.
    #[error("zipcode not available at the source: {0}")]
    UnknownZipcode(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// A source of listings for one zipcode at a time.
pub trait ZipcodeScraper: Send + Sync + 'static {
    /// Name, version and data source; written into every manifest.
    fn info(&self) -> ScraperInfo;

    /// The current listings of `zipcode`. `target` is the expected count (the
    /// assignment's `expectedListings`: validators accept ±15 %). Every
    /// listing's `scraped_timestamp` must be the time it was actually read.
    fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        target: u64,
        deadline: Deadline,
    ) -> impl Future<Output = Result<Vec<Listing>, ScrapeError>> + Send;
}
