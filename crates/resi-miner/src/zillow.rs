//! The `zillow-api` scraper: searches the assigned zipcode on the Zillow
//! JSON API (every page), maps each hit to schema v1
//! (`resi_sources::zillow::listing_from_hit`: `listing_date` derived from
//! `daysOnZillow`, `source_url` the absolute `detailUrl`) and stamps each
//! listing with the time its page was read.

use resi_core::manifest::ScraperInfo;
use resi_core::{AssignedZipcode, Listing};
use resi_runtime::SharedClock;
use resi_sources::zillow::{listing_from_hit, ZillowError};
use resi_sources::ZillowApi;

use crate::scraper::{Deadline, ScrapeError, ZipcodeScraper};

/// Pages read per zipcode at most (41 hits a page: about 8,000 listings).
const MAX_PAGES: u64 = 200;

/// Rewrites a scrape before it is returned (testing validators: the devnet
/// makes cheaters out of real listings this way).
pub type Tamper = Box<dyn Fn(Vec<Listing>, &AssignedZipcode, &Deadline) -> Vec<Listing> + Send + Sync>;

pub struct ZillowScraper {
    api: ZillowApi,
    source: url::Url,
    clock: SharedClock,
    tamper: Option<Tamper>,
}

impl ZillowScraper {
    pub fn new(api: ZillowApi, source: url::Url, clock: SharedClock) -> Self {
        Self {
            api,
            source,
            clock,
            tamper: None,
        }
    }

    /// This scraper, with its output rewritten by `tamper`.
    pub fn tampered(mut self, tamper: Tamper) -> Self {
        self.tamper = Some(tamper);
        self
    }
}

fn scrape_error(zipcode: &str, page: u64, e: ZillowError) -> ScrapeError {
    match e {
        ZillowError::NotFound => ScrapeError::UnknownZipcode(format!("{zipcode}: search page {page}: not found")),
        ZillowError::Refused { status, body } => {
            ScrapeError::Other(format!("{zipcode}: search page {page}: refused: HTTP {status}: {body}"))
        }
        ZillowError::Unavailable(why) => ScrapeError::Unavailable(format!("{zipcode}: search page {page}: {why}")),
    }
}

impl ZipcodeScraper for ZillowScraper {
    fn info(&self) -> ScraperInfo {
        ScraperInfo {
            name: "zillow-api".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source: self.source.to_string(),
        }
    }

    async fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        _target: u64,
        deadline: Deadline,
    ) -> Result<Vec<Listing>, ScrapeError> {
        let zip = zipcode.zipcode.as_str();
        let mut listings = Vec::new();
        let mut page = 1;
        loop {
            if self.clock.now_ms() >= deadline.at_ms() {
                return Err(ScrapeError::Other(format!(
                    "{zip}: the deadline passed at search page {page}"
                )));
            }
            let found = self
                .api
                .search_page(zip, page)
                .await
                .map_err(|e| scrape_error(zip, page, e))?;
            // Stamped when the page was read, not when the zipcode is done.
            let read_at = self.clock.now_ms();
            let empty = found.hits.is_empty();
            listings.extend(found.hits.iter().filter_map(|hit| listing_from_hit(hit, zip, read_at)));
            if empty || page >= found.total_pages || page >= MAX_PAGES {
                break;
            }
            page += 1;
        }
        Ok(match &self.tamper {
            Some(tamper) => tamper(listings, zipcode, &deadline),
            None => listings,
        })
    }
}
