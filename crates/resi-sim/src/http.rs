//! The market over HTTP (`resi sim serve`): miners' `sim` scraper searches it
//! by zipcode ([`crate::search::MarketSearch`]), validators' tier 3 looks
//! properties up by zpid (`resi_sources::HttpPropertySource`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use resi_core::{EpochLength, Zipcode};
use serde::Deserialize;
use serde_json::json;

use crate::market::Market;

/// What the server needs: the market, the epoch length (search pages name
/// the epoch) and a clock (the market changes with time).
pub struct SimState {
    pub market: Market,
    pub length: EpochLength,
    pub clock: resi_runtime::SharedClock,
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
    /// The market as it was at this instant (not after now).
    as_of_ms: Option<i64>,
}

pub use crate::search::MAX_PAGE_SIZE;

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
    let Ok(epoch) = state.length.epoch_containing(state.clock.now_unix()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "clock out of range");
    };
    let start = number.saturating_mul(size);
    let now = state.clock.now_ms();
    let at = match page.as_of_ms {
        Some(at) if at > now => return error(StatusCode::BAD_REQUEST, "asOfMs is in the future"),
        Some(at) => at,
        None => now,
    };
    let listings: Vec<_> = (start..(start + size).min(market.listings))
        .filter_map(|i| state.market.property(zipcode, i, at))
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
    let now = state.clock.now_ms();
    match state.market.lookup(&zpid, now) {
        Some(p) => Json(p.record(now)).into_response(),
        // The answer names the zpid: a client tells a real "no such property"
        // from a 404 of a wrong URL by it.
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"statusCode": 404, "error": "Not Found", "notFound": true, "zpid": zpid})),
        )
            .into_response(),
    }
}
