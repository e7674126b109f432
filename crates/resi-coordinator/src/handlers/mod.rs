//! The coordinator's HTTP API (docs/API.md), on axum: the router and the
//! layers every request passes, then one file per resource. Handlers read
//! and write exactly the types of `resi-api`; every refusal is an
//! [`ApiError`] (JSON: `{"statusCode":400,"message":["…"],"error":"Bad Request"}`);
//! every signed route opens with the [`crate::signed::Signed`] extractor.

mod assignments;
mod dashboard;
mod health;
mod metrics;
mod reply;
mod s3_access;
mod stats;
mod status;

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use resi_api::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// The router with every endpoint of docs/API.md.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(routes::HEALTHCHECK, get(health::healthcheck))
        .route(routes::CURRENT_ASSIGNMENT, get(assignments::current))
        .route(routes::EPOCH_ASSIGNMENT, get(assignments::epoch))
        .route(routes::MINER_STATUS, post(status::report))
        .route(routes::STATS, get(stats::stats))
        .route(routes::FOLDER_ACCESS, post(s3_access::folder_access))
        .route(routes::VALIDATOR_READ, post(s3_access::validator_read))
        .route(routes::VALIDATOR_UPLOAD, post(s3_access::validator_upload))
        .route(routes::OPENAPI, get(health::openapi))
        .route(resi_telemetry::metrics::PATH, get(metrics::scrape))
        .route(routes::DASHBOARD, get(dashboard::page))
        .route(routes::DASHBOARD_DATA, get(dashboard::data))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method",
            )
        })
        .layer(axum::middleware::from_fn(request_limits))
        .layer(axum::middleware::from_fn(observe_request))
        .with_state(state)
}

/// Longest request target (path and query) answered.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) answered.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses oversized request targets and headers with the JSON error body
/// (the HTTP layer's own refusals, past its far larger buffer, have none).
async fn request_limits(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let uri = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("request target of {uri} bytes is over {MAX_URI_BYTES}"),
        )
        .into_response();
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("headers of {headers} bytes are over {MAX_HEADER_BYTES}"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Counts every request by its route template and status, times it, and
/// logs one line per request at debug (method, path, never the query: it
/// carries signatures; status; time). Server errors are logged at error
/// where they are answered.
/// Every request inside the coordinator's span: its log lines and metric
/// labels (`role`) say which daemon they are from, in a devnet's shared
/// process as in its own.
async fn observe_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    tracing::Instrument::instrument(observed(request, next), resi_runtime::daemon_span("coordinator", "")).await
}

async fn observed(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let debug = tracing::enabled!(tracing::Level::DEBUG);
    let described = debug.then(|| (request.method().clone(), request.uri().path().to_owned()));
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    crate::metrics::request(&endpoint, response.status().as_u16(), elapsed);
    if let Some((method, path)) = described {
        tracing::debug!(%method, %path, status = response.status().as_u16(), ms = elapsed.as_millis() as u64, "request");
    }
    response
}
