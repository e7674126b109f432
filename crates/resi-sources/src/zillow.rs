//! The Zillow JSON API as sold through RapidAPI ("zillow-com1"), which the
//! original SN46 miners scrape: `GET {base}/propertyExtendedSearch?location={zipcode}[&page=N]`
//! (one page of search hits) and `GET {base}/property?zpid={zpid}` (one
//! property's full record), with the key in `X-RapidAPI-Key`.
//!
//! [`listing_from_hit`] and [`record_from_property`] are the mappings to
//! schema v1 and to tier 3's [`PropertyRecord`]; [`ZillowApi`] is the client
//! (a request-rate budget, `429`/`Retry-After` honoured, retries with
//! backoff), used by the miner's `zillow-api` scraper and the validator's
//! `zillow-api` property source.

use std::sync::Arc;
use std::time::Duration;

use resi_core::verify::{HistoryEntry, HistoryEvent, Lookup, PropertyRecord, PropertySource};
use resi_core::{Listing, ListingStatus, PropertyType};
use serde_json::Value;

use crate::budget::{retry_after, Budget};
use crate::lookup::SourceError;

/// Where a search hit's relative `detailUrl` points.
pub const ZILLOW_ORIGIN: &str = "https://www.zillow.com";

const MS_PER_DAY: i64 = 86_400_000;

/// A JSON string (trimmed, non-empty) or number, as text.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON number, or a string holding one, as an integer (rounded), if it fits.
pub fn int(v: &Value) -> Option<i64> {
    let f = match v {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        other => other.as_f64()?,
    };
    (f.is_finite() && f.abs() < 9e15).then(|| f.round() as i64)
}

fn int32(v: &Value) -> Option<i32> {
    int(v).and_then(|i| i32::try_from(i).ok())
}

/// The API's `propertyType`/`homeType` in the schema's words; anything else is `OTHER`.
pub fn property_type(api: &str) -> PropertyType {
    match api {
        "SINGLE_FAMILY" => PropertyType::SingleFamily,
        "CONDO" => PropertyType::Condo,
        "TOWNHOUSE" => PropertyType::Townhouse,
        "MULTI_FAMILY" => PropertyType::MultiFamily,
        "MANUFACTURED" => PropertyType::Manufactured,
        "LOT" => PropertyType::Lot,
        "APARTMENT" => PropertyType::Apartment,
        _ => PropertyType::Other,
    }
}

/// The API's `listingStatus`/`homeStatus` in the schema's words; anything else is `OTHER`.
pub fn listing_status(api: &str) -> ListingStatus {
    match api {
        "FOR_SALE" => ListingStatus::ForSale,
        "PENDING" => ListingStatus::Pending,
        "CONTINGENT" => ListingStatus::Contingent,
        "SOLD" | "RECENTLY_SOLD" => ListingStatus::Sold,
        "FOR_RENT" => ListingStatus::ForRent,
        _ => ListingStatus::Other,
    }
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
fn iso_day(days: i64) -> Option<String> {
    let date = time::OffsetDateTime::from_unix_timestamp(days.checked_mul(86_400)?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

/// The 5-digit zipcode an address string ends with ("…, TN 37201").
fn trailing_zipcode(address: &str) -> Option<String> {
    let last = address.split_whitespace().last()?;
    let digits = last.get(..5)?;
    digits.bytes().all(|b| b.is_ascii_digit()).then(|| digits.to_owned())
}

/// One search hit as a schema-v1 listing, read at `scraped_ms`.
///
/// `listing_date` is derived: the scrape's UTC day minus `daysOnZillow` (the
/// search has no listing date; the property record's `datePosted` would cost
/// one more call per listing). `zipcode` is the one the address ends with,
/// else the zipcode searched. `source_url` is `detailUrl` made absolute.
/// `None` for a hit without a zpid.
pub fn listing_from_hit(hit: &Value, searched_zipcode: &str, scraped_ms: i64) -> Option<Listing> {
    let zpid = text(&hit["zpid"])?;
    let address = text(&hit["address"]);
    let days_on_market = int32(&hit["daysOnZillow"]).filter(|d| *d >= 0);
    let listing_date = days_on_market.and_then(|d| iso_day(scraped_ms.div_euclid(MS_PER_DAY) - i64::from(d)));
    let source_url = text(&hit["detailUrl"]).map(|u| {
        if u.starts_with('/') {
            format!("{ZILLOW_ORIGIN}{u}")
        } else {
            u
        }
    });
    Some(Listing {
        zipcode: Some(
            address
                .as_deref()
                .and_then(trailing_zipcode)
                .unwrap_or_else(|| searched_zipcode.to_owned()),
        ),
        zpid,
        mls_id: None,
        address,
        price: int(&hit["price"]),
        bedrooms: int32(&hit["bedrooms"]),
        bathrooms: hit["bathrooms"].as_f64().filter(|b| b.is_finite()),
        sqft: int32(&hit["livingArea"]),
        listing_date,
        property_type: hit["propertyType"].as_str().map(property_type),
        listing_status: hit["listingStatus"].as_str().map(listing_status),
        days_on_market,
        source_url,
        scraped_timestamp_ms: Some(scraped_ms),
    })
}

/// A `/property?zpid=` record as tier 3 compares it: the street address
/// with city, state and zipcode; price, bedrooms, bathrooms and living area
/// where the record has them. `None` without a zpid or zipcode.
pub fn record_from_property(record: &Value) -> Option<PropertyRecord> {
    let zpid = text(&record["zpid"])?;
    let zipcode = text(&record["zipcode"]).or_else(|| text(&record["address"]["zipcode"]))?;
    let street = text(&record["streetAddress"]).or_else(|| text(&record["address"]["streetAddress"]));
    let address = street.map(|street| {
        let city = text(&record["city"]).unwrap_or_default();
        let state = text(&record["state"]).unwrap_or_default();
        format!("{street}, {city}, {state} {zipcode}")
    });
    Some(PropertyRecord {
        zpid,
        zipcode,
        address,
        price: int(&record["price"]),
        bedrooms: int32(&record["bedrooms"]),
        bathrooms: record["bathrooms"].as_f64().filter(|b| b.is_finite()),
        sqft: int32(&record["livingArea"]),
        history: listing_history(record),
    })
}

/// [`sale_history`], completed by the record's own `datePosted` and
/// `homeStatus`: Zillow's `priceHistory` lags (in the real-data corpus two
/// listings posted days before the recording had no "Listed for sale" event
/// yet), so a listing on the market that was posted after its last `listed`
/// event gets one at `datePosted`, at its current price.
pub fn listing_history(record: &Value) -> Vec<HistoryEntry> {
    let mut history = sale_history(&record["priceHistory"]);
    let on_market = matches!(
        record["homeStatus"].as_str(),
        Some("FOR_SALE" | "PENDING" | "CONTINGENT" | "COMING_SOON")
    );
    let posted = record["datePosted"].as_str().and_then(date_ms);
    if let (true, Some(posted)) = (on_market, posted) {
        let listed_since = history
            .iter()
            .any(|e| e.event == HistoryEvent::Listed && e.at_ms >= posted);
        if !listed_since {
            history.push(HistoryEntry {
                at_ms: posted,
                event: HistoryEvent::Listed,
                price: int(&record["price"]).filter(|p| *p > 0),
            });
        }
    }
    history
}

/// 00:00 UTC of a `YYYY-MM-DD` date, in Unix milliseconds.
fn date_ms(date: &str) -> Option<i64> {
    resi_core::text::parse_iso_date_days(date).map(|days| days * 86_400_000)
}

/// A record's `priceHistory` as the freshness rule reads it, oldest first
/// (Zillow lists the newest first; a relisting on the day of a removal
/// comes after it): sale events only (rentals are another market), at
/// their `time` (Zillow gives the event's date at 00:00 UTC: a date, which
/// the rule reads as one) or, without it, their `date`. Events resi does not
/// know are left out.
pub fn sale_history(history: &Value) -> Vec<HistoryEntry> {
    let Some(events) = history.as_array() else {
        return Vec::new();
    };
    events
        .iter()
        .rev()
        .filter(|e| e["postingIsRental"].as_bool() != Some(true))
        .filter_map(|e| {
            let event = match e["event"].as_str()? {
                "Listed for sale" => HistoryEvent::Listed,
                "Price change" => HistoryEvent::PriceChange,
                "Pending sale" | "Contingent" => HistoryEvent::Pending,
                "Listing removed" | "Sold" => HistoryEvent::Removed,
                _ => return None,
            };
            let at_ms = e["time"].as_i64().or_else(|| date_ms(e["date"].as_str()?))?;
            Some(HistoryEntry {
                at_ms,
                event,
                price: int(&e["price"]).filter(|p| *p > 0),
            })
        })
        .collect()
}

/// The API key: `api_key` when set, else the environment variable
/// `api_key_env` names; `None` when neither has one.
pub fn resolve_api_key(api_key: Option<&str>, api_key_env: &str) -> Option<String> {
    api_key
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .or_else(|| std::env::var(api_key_env).ok().filter(|k| !k.is_empty()))
}

/// How a [`ZillowApi`] behaves.
#[derive(Clone, Debug)]
pub struct ZillowSettings {
    /// Requests per second at most (the plan's rate limit), shared by every task.
    pub requests_per_second: f64,
    /// Requests in flight at most.
    pub max_concurrent: usize,
    /// Tries per request (429 and 5xx are retried).
    pub attempts: u32,
    /// Backoff before the second try; doubled after each.
    pub backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the tries.
    pub max_retry_after: Duration,
    pub timeout: Duration,
}

impl Default for ZillowSettings {
    fn default() -> Self {
        Self {
            requests_per_second: 5.0,
            max_concurrent: 4,
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        }
    }
}

/// Why a call to the API gave nothing usable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ZillowError {
    /// 404, or a body that says the zpid does not exist.
    #[error("not found")]
    NotFound,
    /// 4xx other than 404/429: asking again will not help (a bad key, say).
    #[error("refused: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    /// Transport errors, 429 and 5xx after every try, bad bodies.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A client of the API: one per process, shared by its tasks.
#[derive(Clone)]
pub struct ZillowApi {
    base: url::Url,
    key: Arc<str>,
    http: reqwest::Client,
    settings: ZillowSettings,
    budget: Budget,
}

impl std::fmt::Debug for ZillowApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ZillowApi").field("base", &self.base.as_str()).finish()
    }
}

/// One page of a search.
#[derive(Clone, Debug)]
pub struct SearchPage {
    pub hits: Vec<Value>,
    pub total_pages: u64,
    pub total_results: u64,
}

impl ZillowApi {
    pub fn new(base: url::Url, key: &str, settings: ZillowSettings) -> Result<Self, SourceError> {
        if base.cannot_be_a_base() {
            return Err(SourceError::BadBase(base));
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(SourceError::Client)?;
        Ok(Self {
            base,
            key: Arc::from(key),
            http,
            budget: Budget::new(settings.requests_per_second, settings.max_concurrent),
            settings,
        })
    }

    fn endpoint(&self, path: &str, query: &[(&str, String)]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(path);
        }
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    /// GET with the key, the rate budget, retries on 429 (after its
    /// `Retry-After`) and 5xx; the JSON body of a 200.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ZillowError> {
        let url = self.endpoint(path, query);
        let mut last = String::new();
        for attempt in 1..=self.settings.attempts.max(1) {
            let response = {
                let _slot = self.budget.admit().await;
                self.http
                    .get(url.clone())
                    .header("X-RapidAPI-Key", &*self.key)
                    .header("X-RapidAPI-Host", url.host_str().unwrap_or_default())
                    .send()
                    .await
            };
            let mut wait = self.settings.backoff * 2u32.saturating_pow(attempt - 1);
            match response {
                Ok(r) if r.status().is_success() => {
                    return r
                        .json::<Value>()
                        .await
                        .map_err(|e| ZillowError::Unavailable(format!("{path}: bad body: {e}")));
                }
                // Not found only when the answer says so of what was asked
                // (its JSON names the zpid or zipcode); any other 404 (a
                // wrong base URL, a proxy's page) is the source failing,
                // never evidence against a miner.
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    let body: Value = r.json().await.unwrap_or_default();
                    if names_any(&body, query) {
                        return Err(ZillowError::NotFound);
                    }
                    return Err(ZillowError::Unavailable(format!(
                        "{path}: HTTP 404 that is not a not-found answer for {} (wrong API URL?)",
                        query.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
                Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    if let Some(after) = retry_after(&r) {
                        if after > self.settings.max_retry_after {
                            return Err(ZillowError::Unavailable(format!(
                                "{path}: rate limited for {after:?}, longer than {:?}",
                                self.settings.max_retry_after
                            )));
                        }
                        wait = wait.max(after);
                    }
                    last = format!("attempt {attempt}: HTTP 429");
                }
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status().as_u16();
                    let body: String = r.text().await.unwrap_or_default().chars().take(200).collect();
                    return Err(ZillowError::Refused { status, body });
                }
                Ok(r) => last = format!("attempt {attempt}: HTTP {}", r.status()),
                Err(e) => last = format!("attempt {attempt}: {e}"),
            }
            if attempt < self.settings.attempts.max(1) {
                tokio::time::sleep(wait).await;
            }
        }
        Err(ZillowError::Unavailable(format!("{path}: {last}")))
    }

    /// One page (1-based) of a zipcode's search.
    pub async fn search_page(&self, zipcode: &str, page: u64) -> Result<SearchPage, ZillowError> {
        let mut query = vec![("location", zipcode.to_owned())];
        if page > 1 {
            query.push(("page", page.to_string()));
        }
        let body = self.get("propertyExtendedSearch", &query).await?;
        let hits = body["props"].as_array().cloned().unwrap_or_default();
        Ok(SearchPage {
            total_pages: body["totalPages"].as_u64().unwrap_or(1),
            total_results: body["totalResultCount"].as_u64().unwrap_or(hits.len() as u64),
            hits,
        })
    }

    /// One property's full record.
    pub async fn property(&self, zpid: &str) -> Result<Value, ZillowError> {
        self.get("property", &[("zpid", zpid.to_owned())]).await
    }
}

/// Whether a not-found answer names one of the values asked for: a string
/// in it (at most two levels deep) that contains the value.
fn names_any(body: &Value, query: &[(&str, String)]) -> bool {
    let strings: Vec<&str> = match body {
        Value::Object(map) => map
            .values()
            .flat_map(|v| match v {
                Value::String(s) => vec![s.as_str()],
                Value::Object(inner) => inner.values().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            })
            .collect(),
        Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    };
    query
        .iter()
        .any(|(_, value)| !value.is_empty() && strings.iter().any(|s| s.contains(value.as_str())))
}

impl PropertySource for ZillowApi {
    async fn lookup(&self, zpid: &str) -> Lookup {
        // A zpid the API could never have issued is not worth a request.
        if zpid.is_empty() || zpid.len() > 20 || !zpid.bytes().all(|b| b.is_ascii_digit()) {
            return Lookup::NotFound;
        }
        match self.property(zpid).await {
            Ok(body) => match record_from_property(&body) {
                Some(record) => Lookup::Found(record),
                None => Lookup::Unavailable(format!("property {zpid}: the record has no zpid or zipcode")),
            },
            Err(ZillowError::NotFound) => Lookup::NotFound,
            Err(e) => Lookup::Unavailable(format!("property {zpid}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server whose `/property` answers a proper not-found for zpid 1
    /// and a bare 404 (a wrong path, a proxy's page) for anything else.
    async fn server() -> url::Url {
        use axum::extract::Query;
        use axum::http::StatusCode;
        let property = |Query(q): Query<std::collections::HashMap<String, String>>| async move {
            match q.get("zpid").map(String::as_str) {
                Some("1") => (StatusCode::NOT_FOUND, r#"{"message":"no property with zpid 1"}"#),
                _ => (StatusCode::NOT_FOUND, r#"{"message":"no such endpoint"}"#),
            }
        };
        let router = axum::Router::new().route("/property", axum::routing::get(property));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/").parse().unwrap()
    }

    /// Only a 404 that names the zpid asked for is "not found"; any other 404
    /// (a wrong API URL answers every zpid so) leaves the listing unjudged.
    #[tokio::test]
    async fn a_404_is_not_found_only_when_it_names_the_zpid() {
        let base = server().await;
        let settings = ZillowSettings {
            attempts: 1,
            ..ZillowSettings::default()
        };
        let api = ZillowApi::new(base.clone(), "k", settings.clone()).unwrap();
        assert_eq!(api.lookup("1").await, Lookup::NotFound);
        match api.lookup("2").await {
            Lookup::Unavailable(why) => assert!(why.contains("not a not-found answer for 2"), "{why}"),
            other => panic!("a bare 404 judged {other:?}"),
        }
        // A wrong base URL: every lookup unavailable, none not found.
        let wrong = ZillowApi::new(base.join("api/").unwrap(), "k", settings).unwrap();
        assert!(matches!(wrong.lookup("1").await, Lookup::Unavailable(_)));
    }
}
