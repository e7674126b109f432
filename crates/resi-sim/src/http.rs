//! The market over HTTP (`resi sim serve`): miners' `sim` scraper searches it
//! by zipcode, validators' tier 3 looks properties up by zpid. And the client
//! side of the lookup, a [`PropertySource`] with retries.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use resi_core::verify::{Lookup, PropertyRecord, PropertySource};
use resi_core::{EpochLength, Zipcode};
use serde::Deserialize;
use serde_json::json;

use crate::market::Market;

/// What the server needs: the market, the epoch length (prices drift per
/// epoch) and a clock.
pub struct SimState {
    pub market: Market,
    pub length: EpochLength,
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"statusCode": status.as_u16(), "message": [message.into()], "error": status.canonical_reason().unwrap_or("Error")});
    (status, Json(body)).into_response()
}

/// The market's routes.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(
            "/healthcheck",
            get(|| async { Json(json!({"status": "ok", "service": "resi-sim"})) }),
        )
        .route("/api/v1/zipcodes", get(zipcodes))
        .route("/api/v1/zipcodes.csv", get(zipcodes_csv))
        .route("/api/v1/zipcodes/{zipcode}/listings", get(search))
        .route("/api/v1/properties/{zpid}", get(property))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(state)
}

async fn zipcodes(State(state): State<Arc<SimState>>) -> Response {
    let list: Vec<_> = state
        .market
        .zipcodes()
        .iter()
        .map(|(z, m)| json!({"zipcode": z, "listings": m.listings, "marketTier": m.tier}))
        .collect();
    Json(list).into_response()
}

async fn zipcodes_csv(State(state): State<Arc<SimState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        state.market.universe_csv(),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page: Option<u64>,
    page_size: Option<u64>,
}

const MAX_PAGE_SIZE: u64 = 500;

async fn search(State(state): State<Arc<SimState>>, Path(zipcode): Path<String>, Query(page): Query<Page>) -> Response {
    let zipcode = match Zipcode::parse(&zipcode) {
        Ok(z) => z,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let Some(market) = state.market.zipcodes().get(&zipcode).copied() else {
        return error(
            StatusCode::NOT_FOUND,
            format!("zipcode {zipcode} is not in this market"),
        );
    };
    let size = page.page_size.unwrap_or(100);
    if size == 0 || size > MAX_PAGE_SIZE {
        return error(StatusCode::BAD_REQUEST, format!("pageSize must be 1..={MAX_PAGE_SIZE}"));
    }
    let number = page.page.unwrap_or(0);
    let Ok(epoch) = state.length.epoch_containing((state.clock)()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "clock out of range");
    };
    let start = number.saturating_mul(size);
    let listings: Vec<_> = (start..(start + size).min(market.listings))
        .filter_map(|i| state.market.property(zipcode, i, epoch))
        .collect();
    Json(json!({
        "zipcode": zipcode,
        "epochId": epoch,
        "total": market.listings,
        "page": number,
        "pageSize": size,
        "listings": listings,
    }))
    .into_response()
}

async fn property(State(state): State<Arc<SimState>>, Path(zpid): Path<String>) -> Response {
    let Ok(epoch) = state.length.epoch_containing((state.clock)()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "clock out of range");
    };
    match state.market.lookup(&zpid, epoch) {
        Some(p) => Json(p.record()).into_response(),
        // The answer names the zpid: a client tells a real "no such property"
        // from a 404 of a wrong URL by it.
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"statusCode": 404, "error": "Not Found", "notFound": true, "zpid": zpid})),
        )
            .into_response(),
    }
}

fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// Looks properties up at a market (or any service with the same
/// `GET {base}/api/v1/properties/{zpid}` contract): 200 is found, 404 not
/// found; anything else is retried, then reported as unavailable (which
/// validators never count against a miner).
#[derive(Clone, Debug)]
pub struct HttpPropertySource {
    base: url::Url,
    http: reqwest::Client,
    attempts: u32,
    backoff: Duration,
}

impl HttpPropertySource {
    pub fn new(base: url::Url, attempts: u32, backoff: Duration) -> Result<Self, String> {
        let http = http_client(Duration::from_secs(10))?;
        Ok(Self {
            base,
            http,
            attempts: attempts.max(1),
            backoff,
        })
    }
}

impl PropertySource for HttpPropertySource {
    async fn lookup(&self, zpid: &str) -> Lookup {
        let mut url = self.base.clone();
        match url.path_segments_mut() {
            Ok(mut segments) => {
                segments.pop_if_empty().extend(["api", "v1", "properties", zpid]);
            }
            Err(()) => return Lookup::Unavailable(format!("base URL {} cannot take a path", self.base)),
        }
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            match self.http.get(url.clone()).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::OK => match r.json::<PropertyRecord>().await {
                    Ok(record) => return Lookup::Found(record),
                    Err(e) => last = format!("attempt {attempt}: bad body: {e}"),
                },
                // Not found only when the source says so for this zpid; any
                // other 404 (a wrong base URL, a proxy's page) is the
                // source's failure, never evidence against a miner.
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    let body: serde_json::Value = r.json().await.unwrap_or_default();
                    if body["notFound"] == serde_json::Value::Bool(true) && body["zpid"].as_str() == Some(zpid) {
                        return Lookup::NotFound;
                    }
                    last = format!("attempt {attempt}: HTTP 404 that is not a not-found answer for zpid {zpid} (wrong property_source URL?)");
                }
                Ok(r) => last = format!("attempt {attempt}: HTTP {}", r.status()),
                Err(e) => last = format!("attempt {attempt}: {e}"),
            }
            if attempt < self.attempts {
                tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt - 1)).await;
            }
        }
        Lookup::Unavailable(format!("property {zpid}: {last}"))
    }
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
    pub fn new(base: url::Url, attempts: u32, backoff: Duration) -> Result<Self, String> {
        if base.cannot_be_a_base() {
            return Err(format!("market URL {base} cannot take a path"));
        }
        let http = http_client(Duration::from_secs(30))?;
        Ok(Self {
            base,
            http,
            attempts: attempts.max(1),
            backoff,
        })
    }

    async fn page(&self, zipcode: Zipcode, page: u64) -> Result<SearchPage, String> {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "v1", "zipcodes", zipcode.as_str(), "listings"]);
        }
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("pageSize", &SEARCH_PAGE_SIZE.to_string());
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
    pub async fn all(&self, zipcode: Zipcode) -> Result<(u64, Vec<crate::market::Property>), String> {
        let first = self.page(zipcode, 0).await?;
        let total = first.total;
        let mut all = first.listings;
        let mut page = 1;
        while (all.len() as u64) < total && page * SEARCH_PAGE_SIZE < total {
            let next = self.page(zipcode, page).await?;
            if next.listings.is_empty() {
                break;
            }
            all.extend(next.listings);
            page += 1;
        }
        Ok((total, all))
    }
}
