//! The client side of the market's search: what the miner's `sim` scraper reads.

use std::time::Duration;

use resi_core::Zipcode;
use serde::Deserialize;

/// Largest page the market serves.
pub const MAX_PAGE_SIZE: u64 = 500;

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// One page of a zipcode search, as the market serves it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub zipcode: Zipcode,
    pub epoch_id: resi_core::EpochId,
    pub total: u64,
    pub listings: Vec<crate::market::Property>,
}

/// Searches a market (`GET {base}/api/v1/zipcodes/{zipcode}/listings`) page
/// by page, retrying each page; what the `sim` scraper of miners uses.
#[derive(Clone, Debug)]
pub struct MarketSearch {
    base: url::Url,
    http: reqwest::Client,
    attempts: u32,
    backoff: Duration,
}

const SEARCH_PAGE_SIZE: u64 = MAX_PAGE_SIZE;

impl MarketSearch {
    pub fn new(base: url::Url, attempts: u32, backoff: Duration) -> Result<Self, crate::SimError> {
        if base.cannot_be_a_base() {
            return Err(crate::SimError(format!("market URL {base} cannot take a path")));
        }
        let http = http_client(Duration::from_secs(30))?;
        Ok(Self {
            base,
            http,
            attempts: attempts.max(1),
            backoff,
        })
    }

    async fn page(&self, zipcode: Zipcode, page: u64, as_of_ms: Option<i64>) -> Result<SearchPage, String> {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "v1", "zipcodes", zipcode.as_str(), "listings"]);
        }
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("pageSize", &SEARCH_PAGE_SIZE.to_string());
        if let Some(at) = as_of_ms {
            url.query_pairs_mut().append_pair("asOfMs", &at.to_string());
        }
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match self.http.get(url.clone()).send().await {
                Ok(r) if r.status().is_success() => match r.json::<SearchPage>().await {
                    Ok(p) => return Ok(p),
                    Err(e) => last = format!("attempt {attempt}: bad body: {e}"),
                },
                // A 4xx will not get better by asking again.
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    return Err(format!("search {zipcode} page {page}: HTTP {status}: {body}"));
                }
                Ok(r) => last = format!("attempt {attempt}: HTTP {}", r.status()),
                Err(e) => last = format!("attempt {attempt}: {e}"),
            }
            if attempt < self.attempts {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
        }
        Err(format!("search {zipcode} page {page}: {last}"))
    }

    /// Every property listed in `zipcode` now, with the market's total.
    pub async fn all(&self, zipcode: Zipcode) -> Result<(u64, Vec<crate::market::Property>), crate::SimError> {
        self.all_as_of(zipcode, None).await
    }

    /// [`Self::all`] as the market was at `as_of_ms` (`None`: now). The
    /// simulated market remembers; the `pre-scrape` profile reads an old
    /// scrape from it instead of keeping one.
    pub async fn all_as_of(
        &self,
        zipcode: Zipcode,
        as_of_ms: Option<i64>,
    ) -> Result<(u64, Vec<crate::market::Property>), crate::SimError> {
        let first = self.page(zipcode, 0, as_of_ms).await?;
        let total = first.total;
        let mut all = first.listings;
        let mut page = 1;
        while (all.len() as u64) < total && page * SEARCH_PAGE_SIZE < total {
            let next = self.page(zipcode, page, as_of_ms).await?;
            if next.listings.is_empty() {
                break;
            }
            all.extend(next.listings);
            page += 1;
        }
        Ok((total, all))
    }
}
