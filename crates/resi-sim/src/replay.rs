//! A replay of a real listings API (`resi sim replay`): answers the two
//! calls the real-data corpus records (`../shared/real-data`, recorded
//! responses of the "zillow-com1" RapidAPI API) from its files, so miners'
//! `zillow-api` scrapers and validators' `zillow-api` property sources run
//! on real listings.
//!
//! - `GET /propertyExtendedSearch?location={zipcode}[&page=N]`: the recorded
//!   page. The corpus holds the first page of each search only, so the
//!   answer says so: `totalPages` 1 and `totalResultCount` the hits served
//!   (a later page is empty).
//! - `GET /property?zpid={zpid}`: the recorded record (404 when unknown).
//! - `GET /zipcodes.csv`: the corpus's zipcodes as the coordinator's import
//!   CSV, expected listings = the hits served.
//!
//! Like the commercial API it wants `X-RapidAPI-Key` (401 without, 403 with
//! a wrong one), and it can be made slow and flaky: a fixed latency, and a
//! share of answers that are `429` with `Retry-After` or `503`, drawn from a
//! seeded sequence so a run is repeatable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::market::csv_field;

/// Where the real-data corpus is looked for: `RESI_REAL_DATA`, else
/// `../shared/real-data` beside this checkout.
pub fn corpus_location() -> PathBuf {
    std::env::var_os("RESI_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/real-data"))
}

/// The real-data corpus for a test that needs it. Such tests are
/// `#[ignore]`d with the reason (a plain `cargo test` lists them as ignored,
/// never as passed); run with `--include-ignored` (as `.ci/run` does), a
/// missing corpus fails the test with where it was looked for.
pub fn require_corpus() -> PathBuf {
    let dir = corpus_location();
    assert!(
        dir.join("search").is_dir(),
        "this test needs the real-data corpus, not found at {}: set RESI_REAL_DATA",
        dir.display()
    );
    dir
}

/// The corpus, in memory: search pages by zipcode, records by zpid.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub searches: BTreeMap<String, Value>,
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: not JSON: {cause}")]
    Json { path: PathBuf, cause: serde_json::Error },
    #[error("{path}: {why}")]
    Shape { path: PathBuf, why: String },
    #[error("{0}: no search/*.json files (is this the real-data folder?)")]
    Empty(PathBuf),
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CorpusError::Read {
        path: dir.to_owned(),
        cause: source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| CorpusError::Read {
                path: dir.to_owned(),
                cause: source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    // Directory order is the file system's; sort for one answer everywhere.
    files.sort();
    Ok(files)
}

fn read_json(path: &Path) -> Result<Value, CorpusError> {
    let bytes = std::fs::read(path).map_err(|source| CorpusError::Read {
        path: path.to_owned(),
        cause: source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| CorpusError::Json {
        path: path.to_owned(),
        cause: source,
    })
}

fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Corpus {
    /// Reads `dir/search/*.json` and `dir/property/*.json`; the recorder's
    /// `_metadata` names each file's zipcode, and is not served.
    pub fn load(dir: &Path) -> Result<Self, CorpusError> {
        let mut corpus = Corpus::default();
        for path in json_files(&dir.join("search"))? {
            let mut body = read_json(&path)?;
            let zipcode = key_of(&body["_metadata"]["zipcode"]).ok_or_else(|| CorpusError::Shape {
                path: path.clone(),
                why: "no _metadata.zipcode".into(),
            })?;
            if !body["props"].is_array() {
                return Err(CorpusError::Shape {
                    path,
                    why: "no props[]".into(),
                });
            }
            if let Some(map) = body.as_object_mut() {
                map.remove("_metadata");
            }
            corpus.searches.insert(zipcode, body);
        }
        if corpus.searches.is_empty() {
            return Err(CorpusError::Empty(dir.to_owned()));
        }
        for path in json_files(&dir.join("property"))? {
            let mut body = read_json(&path)?;
            let zpid = key_of(&body["zpid"]).ok_or_else(|| CorpusError::Shape {
                path: path.clone(),
                why: "no zpid".into(),
            })?;
            if let Some(map) = body.as_object_mut() {
                map.remove("_metadata");
            }
            corpus.properties.insert(zpid, body);
        }
        Ok(corpus)
    }

    /// Search hits of a zipcode.
    pub fn hits(&self, zipcode: &str) -> &[Value] {
        self.searches
            .get(zipcode)
            .and_then(|s| s["props"].as_array())
            .map_or(&[], Vec::as_slice)
    }

    /// The coordinator's import CSV: every zipcode of the corpus, expected
    /// listings = the hits served; state, city and county from the zipcode
    /// dataset.
    pub fn universe_csv(&self) -> String {
        let mut out = String::from("zipcode,state,city,county,expected_listings,market_tier,geographic_region\n");
        for zipcode in self.searches.keys() {
            let Ok(z) = resi_core::Zipcode::parse(zipcode) else {
                continue;
            };
            let info = z.info();
            out.push_str(&format!(
                "{z},{},{},{},{},standard,real-data\n",
                info.state,
                csv_field(info.city),
                csv_field(info.county),
                self.hits(zipcode).len()
            ));
        }
        out
    }
}

/// Faults and costs the replay adds, like a busy commercial API.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// The key clients must send in `X-RapidAPI-Key`.
    pub api_key: String,
    /// Added to every answer.
    pub latency: Duration,
    /// Share of answers that are `429` with `Retry-After: 1`, in basis points.
    pub rate_limited_bps: u32,
    /// Share of answers that are `503`, in basis points.
    pub server_error_bps: u32,
    /// Seed of the fault sequence.
    pub seed: u64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            api_key: "resi-replay".into(),
            latency: Duration::ZERO,
            rate_limited_bps: 0,
            server_error_bps: 0,
            seed: 1,
        }
    }
}

/// The server's state.
pub struct Replay {
    pub corpus: Corpus,
    pub options: ReplayOptions,
    requests: AtomicU64,
}

impl Replay {
    pub fn new(corpus: Corpus, options: ReplayOptions) -> Self {
        Self {
            corpus,
            options,
            requests: AtomicU64::new(0),
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"message": message.into()}))).into_response()
}

/// splitmix64: the fault drawn for request number `n`.
fn draw(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key check, the latency and the injected faults, before any answer.
async fn gate(state: &Replay, headers: &HeaderMap) -> Option<Response> {
    if !state.options.latency.is_zero() {
        tokio::time::sleep(state.options.latency).await;
    }
    match headers.get("x-rapidapi-key").and_then(|v| v.to_str().ok()) {
        None => return Some(error(StatusCode::UNAUTHORIZED, "missing X-RapidAPI-Key")),
        Some(key) if key != state.options.api_key => {
            return Some(error(StatusCode::FORBIDDEN, "You are not subscribed to this API."))
        }
        Some(_) => {}
    }
    let n = state.requests.fetch_add(1, Ordering::Relaxed);
    let roll = (draw(state.options.seed, n) % 10_000) as u32;
    if roll < state.options.rate_limited_bps {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return Some(response);
    }
    if roll < state.options.rate_limited_bps + state.options.server_error_bps {
        return Some(error(StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable"));
    }
    None
}

#[derive(Deserialize)]
struct SearchQuery {
    location: Option<String>,
    page: Option<u64>,
}

async fn search(State(state): State<Arc<Replay>>, headers: HeaderMap, query: Query<SearchQuery>) -> Response {
    if let Some(refused) = gate(&state, &headers).await {
        return refused;
    }
    let Some(location) = query.location.as_deref().map(str::trim).filter(|l| !l.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "location is required");
    };
    let page = query.page.unwrap_or(1).max(1);
    let Some(recorded) = state.corpus.searches.get(location) else {
        return Json(
            json!({"props": [], "resultsPerPage": 41, "totalPages": 0, "totalResultCount": 0, "currentPage": page}),
        )
        .into_response();
    };
    let mut body = recorded.clone();
    let served = state.corpus.hits(location).len();
    if page > 1 {
        body["props"] = json!([]);
    }
    body["currentPage"] = json!(page);
    body["totalPages"] = json!(1);
    body["totalResultCount"] = json!(served);
    Json(body).into_response()
}

#[derive(Deserialize)]
struct PropertyQuery {
    zpid: Option<String>,
}

async fn property(State(state): State<Arc<Replay>>, headers: HeaderMap, query: Query<PropertyQuery>) -> Response {
    if let Some(refused) = gate(&state, &headers).await {
        return refused;
    }
    let Some(zpid) = query.zpid.as_deref().map(str::trim).filter(|z| !z.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "zpid is required");
    };
    match state.corpus.properties.get(zpid) {
        Some(record) => Json(record.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no property with zpid {zpid}")),
    }
}

/// The replay's routes.
pub fn router(state: Arc<Replay>) -> Router {
    Router::new()
        .route("/propertyExtendedSearch", get(search))
        .route("/property", get(property))
        .route(
            "/zipcodes.csv",
            get(|State(state): State<Arc<Replay>>| async move {
                (
                    [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                    state.corpus.universe_csv(),
                )
            }),
        )
        .route(
            "/healthcheck",
            get(|| async { Json(json!({"status": "ok", "service": "resi-sim-replay"})) }),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::{draw, Corpus, CorpusError};

    #[test]
    fn a_folder_that_is_not_the_corpus_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("resi-replay-corpus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(Corpus::load(&dir), Err(CorpusError::Read { .. })));
        std::fs::create_dir_all(dir.join("search")).unwrap();
        assert!(matches!(Corpus::load(&dir), Err(CorpusError::Empty(_))));
        std::fs::write(dir.join("search/x.json"), "not json").unwrap();
        let err = Corpus::load(&dir).unwrap_err().to_string();
        assert!(err.contains("x.json") && err.contains("not JSON"), "{err}");
        std::fs::write(dir.join("search/x.json"), r#"{"props": []}"#).unwrap();
        assert!(Corpus::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("_metadata.zipcode"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn faults_are_a_fixed_sequence_of_the_seed() {
        let a: Vec<u64> = (0..5).map(|n| draw(7, n) % 10_000).collect();
        let b: Vec<u64> = (0..5).map(|n| draw(7, n) % 10_000).collect();
        assert_eq!(a, b);
        assert_ne!(a, (0..5).map(|n| draw(8, n) % 10_000).collect::<Vec<_>>());
    }
}
