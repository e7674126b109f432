//! The coordinator's HTTP API (DESIGN §3), on axum. Handlers read and
//! write exactly the types of `resi-api`.
//!
//! Every refusal is JSON: `{"statusCode":400,"message":["…"],"error":"Bad Request"}`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resi_api::endpoint::Signing;
use resi_api::{routes, *};
use resi_auth::commitment;
use resi_chain::{Metagraph, MetagraphSource};
use resi_core::{EpochId, Hotkey};
use resi_runtime::SharedClock;
use resi_storage::layout::{miner_epoch_prefix, validator_epoch_prefix, ObjectKey};
use resi_storage::{Presigner, S3Client};
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::{check, SignedFields, Verified, TIMESTAMP_WINDOW_SECS};
use crate::epochs::{rfc3339, EpochCache, EpochError, EpochPolicy};
use crate::ratelimit::{CallerKey, Decision, Limit, RateLimiter};
use crate::store::{ReplayRecord, Store, StoreError};

/// Everything the handlers share.
pub struct AppState {
    pub store: Store,
    pub policy: EpochPolicy,
    /// Stored epochs never change: served from memory once read.
    pub epochs: EpochCache,
    /// The chain's read side: who is registered, who is a validator.
    pub chain: Arc<dyn MetagraphSource>,
    pub presigner: Presigner,
    pub s3: S3Client,
    pub limiter: RateLimiter,
    pub started: Instant,
    /// The clock, injected so tests can move past a deadline.
    pub clock: SharedClock,
    /// Largest object a miner may upload, in bytes.
    pub max_upload_bytes: u64,
    pub validator_min_stake: u64,
    /// How long presigned GET URLs handed to validators live.
    pub read_url_ttl: Duration,
    /// Every rate limit is multiplied by this (1 in production; a devnet with
    /// epochs of seconds needs more calls per minute).
    pub rate_limit_multiplier: u32,
    /// Validators' published results, read once for the dashboard.
    pub published: crate::dashboard::PublishedCache,
    /// Registered hotkeys' public keys, decoded once.
    pub keys: crate::auth::KeyCache,
    /// The process's Prometheus recorder, rendered at `/metrics`.
    pub metrics: resi_telemetry::metrics::PrometheusHandle,
}

impl AppState {
    fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    fn metagraph(&self) -> Result<Arc<Metagraph>, ApiError> {
        self.chain
            .metagraph()
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("metagraph unavailable: {e}")))
    }
}

/// A refusal with its status and message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    rate: Option<Decision>,
    /// Seconds until a refused caller may retry (429 only).
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            rate: None,
            retry_after: None,
        }
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

fn rate_headers(headers: &mut HeaderMap, d: &Decision) {
    for (name, value) in [
        ("x-ratelimit-limit", d.limit as i64),
        ("x-ratelimit-remaining", d.remaining as i64),
        ("x-ratelimit-reset", d.reset_unix),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, message = %self.message, "request failed");
        }
        let body = ErrorBody {
            status_code: self.status.as_u16(),
            message: vec![self.message],
            error: self.status.canonical_reason().unwrap_or("Error").to_owned(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(d) = &self.rate {
            rate_headers(response.headers_mut(), d);
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        response
    }
}

impl From<EpochError> for ApiError {
    fn from(e: EpochError) -> Self {
        match e {
            EpochError::NoUniverse | EpochError::NothingEligible => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            EpochError::Store(store) => store.into(),
            other => Self::internal(other.to_string()),
        }
    }
}

/// A database that cannot be reached (or is refusing work for now) is a
/// 503 the client may retry; any other database failure is a 500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            Self {
                retry_after: Some(DATABASE_RETRY_SECS),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the coordinator's database is unavailable, try again shortly: {e}"),
                )
            }
        } else {
            Self::internal(e.to_string())
        }
    }
}

/// What a 503 for an unavailable database asks the client to wait.
const DATABASE_RETRY_SECS: i64 = 5;

/// A successful JSON answer with its rate-limit headers.
pub(crate) fn ok<T: serde::Serialize>(body: T, rate: Option<Decision>) -> Response {
    let mut response = Json(body).into_response();
    if let Some(d) = &rate {
        rate_headers(response.headers_mut(), d);
    }
    response
}

pub(crate) const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;

/// Counts an unsigned request of `caller` (its peer address) on `route`: 429 past the limit.
pub(crate) async fn limit(
    state: &AppState,
    route: &'static str,
    caller: CallerKey,
    limit: u32,
    window_secs: i64,
) -> Result<Decision, ApiError> {
    let limit = limit.saturating_mul(state.rate_limit_multiplier.max(1));
    let now = state.now();
    let d = state
        .limiter
        .check(route, caller, Limit { limit, window_secs }, now)
        .await?;
    allowed(route, d, window_secs, now)
}

/// Admits a verified signed request on `route`: its replay record is
/// written, so the same signed request again is 401, and it is counted
/// against the route's limit, 429 past it. Nothing is answered before both
/// are written (on PostgreSQL, by one statement).
async fn admit(
    state: &AppState,
    who: &Verified,
    route: &'static str,
    limit: u32,
    window_secs: i64,
) -> Result<Decision, ApiError> {
    let limit = limit.saturating_mul(state.rate_limit_multiplier.max(1));
    let now = state.now();
    // Each signed request is accepted once: a captured request cannot be
    // replayed within the window, on this coordinator or any other sharing
    // the database.
    let record = ReplayRecord {
        hotkey: who.hotkey.as_str().to_owned(),
        signature: who.signature.clone(),
        expires_at: who.timestamp.saturating_add(TIMESTAMP_WINDOW_SECS),
        now_unix: now,
    };
    let admitted = state
        .limiter
        .admit(
            &state.store,
            record,
            route,
            (&who.hotkey).into(),
            Limit { limit, window_secs },
            now,
        )
        .await?;
    let Some(d) = admitted else {
        crate::metrics::auth_failure("replay");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this signed request was already used: sign every request anew",
        ));
    };
    allowed(route, d, window_secs, now)
}

/// `d` if it allows the request, else the 429 that says until when.
fn allowed(route: &'static str, d: Decision, window_secs: i64, now: i64) -> Result<Decision, ApiError> {
    if d.allowed {
        Ok(d)
    } else {
        crate::metrics::rate_limited(route);
        Err(ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!("rate limit of {} requests per {window_secs} s exceeded", d.limit),
            rate: Some(d),
            retry_after: Some(d.reset_unix - now),
        })
    }
}

/// Checks a signed request's fields against the metagraph: signature,
/// timestamp window, registration, role. No database: [`admit`] follows.
async fn verify(state: &AppState, fields: &SignedFields, signing: Signing<'_>) -> Result<Verified, ApiError> {
    let metagraph = state.metagraph()?;
    let now = state.now();
    let caller = signing.endpoint().caller();
    let commitments = |signer: &Hotkey, ts: i64| signing.accepted(signer, ts);
    let check_against = |metagraph: &Metagraph| {
        check(
            fields,
            commitments,
            now,
            metagraph,
            &state.keys,
            caller,
            state.validator_min_stake,
        )
    };
    let mut checked = check_against(&metagraph);
    if checked.as_ref().is_err_and(|e| e.status == 403) {
        // Maybe registered since the last sync: ask the chain for a fresh
        // metagraph (backends rate-limit this) and look again if it changed.
        state.chain.request_refresh();
        let fresh = state.metagraph()?;
        if !Arc::ptr_eq(&fresh, &metagraph) {
            checked = check_against(&fresh);
        }
    }
    let who = checked.map_err(|e| {
        crate::metrics::auth_failure(e.reason);
        ApiError::new(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.message,
        )
    })?;
    Ok(who)
}

fn parse_epoch(text: &str) -> Result<EpochId, ApiError> {
    EpochId::parse(text).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The `epochId` a body must carry.
fn required_epoch(field: Option<&str>) -> Result<EpochId, ApiError> {
    parse_epoch(field.ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "epochId is required"))?)
}

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;
type QueryFields = Result<Query<SignedFields>, axum::extract::rejection::QueryRejection>;

/// A JSON body, or the rejection's status (400, 413, 415, 422) with what is wrong with it.
fn json_body<T>(body: JsonBody<T>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::new(e.status(), e.body_text()))
}

/// The signed fields of a query string, or a 400 that says what is wrong.
fn query_fields(fields: QueryFields) -> Result<SignedFields, ApiError> {
    fields
        .map(|Query(f)| f)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// The router with every endpoint of DESIGN §3.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(routes::HEALTHCHECK, get(healthcheck))
        .route(routes::CURRENT_ASSIGNMENT, get(current_assignment))
        .route(routes::EPOCH_ASSIGNMENT, get(epoch_assignment))
        .route(routes::MINER_STATUS, post(miner_status))
        .route(routes::STATS, get(stats))
        .route(routes::FOLDER_ACCESS, post(folder_access))
        .route(routes::VALIDATOR_READ, post(validator_read))
        .route(routes::VALIDATOR_UPLOAD, post(validator_upload))
        .route(routes::OPENAPI, get(openapi))
        .route(resi_telemetry::metrics::PATH, get(crate::metrics::scrape))
        .route(routes::DASHBOARD, get(crate::dashboard::page))
        .route(routes::DASHBOARD_DATA, get(crate::dashboard::data))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
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
async fn observe_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
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

/// The OpenAPI document, generated from `resi-api`'s types once per process.
async fn openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text: &'static str = DOCUMENT.get_or_init(resi_api::openapi::document_json);
    ([(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response()
}

async fn healthcheck(State(state): State<Arc<AppState>>) -> Response {
    let database = state.store.ping().await;
    let body = HealthResponse {
        success: database,
        message: if database {
            "coordinator is up".into()
        } else {
            "the database does not answer".into()
        },
        status: if database { "ok" } else { "degraded" }.into(),
        timestamp: state.now(),
        uptime: state.started.elapsed().as_secs(),
        database: DatabaseHealth {
            backend: state.store.backend().as_str().into(),
            connected: database,
        },
        version: env!("CARGO_PKG_VERSION").into(),
        service: "resi-coordinator".into(),
    };
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// A JSON body serialized beforehand, with its rate-limit headers.
fn ok_serialized(body: bytes::Bytes, rate: Option<Decision>) -> Response {
    let mut response = ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(d) = &rate {
        rate_headers(response.headers_mut(), d);
    }
    response
}

async fn current_assignment(State(state): State<Arc<AppState>>, fields: QueryFields) -> Result<Response, ApiError> {
    let fields = query_fields(fields)?;
    let who = verify(&state, &fields, Signing::CurrentAssignment).await?;
    let rate = admit(&state, &who, "current", 10, MINUTE).await?;
    let now = state.now();
    let epoch = state.epochs.current(&state.store, &state.policy, now).await?;
    Ok(ok_serialized(epoch.response(now), Some(rate)))
}

async fn epoch_assignment(
    State(state): State<Arc<AppState>>,
    Path(epoch_id): Path<String>,
    fields: QueryFields,
) -> Result<Response, ApiError> {
    let fields = query_fields(fields)?;
    let epoch_id = parse_epoch(&epoch_id)?;
    let who = verify(&state, &fields, Signing::EpochAssignment { epoch: &epoch_id }).await?;
    let rate = admit(&state, &who, "epoch", 30, MINUTE).await?;
    let now = state.now();
    // The current epoch is created on first use; past epochs must exist.
    let current_id = state
        .policy
        .length
        .epoch_containing(now)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let epoch = if epoch_id == current_id {
        Some(state.epochs.current(&state.store, &state.policy, now).await?)
    } else {
        state.epochs.existing(&state.store, &epoch_id).await?
    };
    let epoch = epoch.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("unknown epoch {epoch_id}")))?;
    Ok(ok_serialized(epoch.response(now), Some(rate)))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

async fn miner_status(
    State(state): State<Arc<AppState>>,
    body: JsonBody<serde_json::Map<String, Value>>,
) -> Result<Response, ApiError> {
    let raw = json_body(body)?;
    // The signature covers the raw report (every field but the envelope),
    // so it is hashed as received, before any field is interpreted.
    let body_hash = commitment::status_body_sha256(&raw);
    let request: MinerStatusRequest =
        serde_json::from_value(Value::Object(raw.clone())).map_err(|e| bad_request(format!("status report: {e}")))?;
    let epoch_id = required_epoch(request.epoch_id.as_deref())?;
    let who = verify(
        &state,
        &request.signed,
        Signing::MinerStatus {
            epoch: &epoch_id,
            body_sha256: &body_hash,
        },
    )
    .await?;
    let rate = admit(&state, &who, "status", 5, MINUTE).await?;
    request.report.check().map_err(bad_request)?;
    let epoch = &state
        .epochs
        .existing(&state.store, &epoch_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("unknown epoch {epoch_id}")))?
        .stored;
    if let Some(nonce) = &request.report.nonce {
        if !nonce.eq_ignore_ascii_case(&epoch.nonce) {
            return Err(bad_request(format!("nonce {nonce} is not epoch {epoch_id}'s nonce")));
        }
    }
    for done in request.report.zipcodes_completed.iter().flatten() {
        if !epoch.zipcodes.iter().any(|(z, _)| z.zipcode == done.zipcode) {
            return Err(bad_request(format!(
                "zipcode {} is not assigned in epoch {epoch_id}",
                done.zipcode
            )));
        }
    }
    let report: BTreeMap<&String, &Value> = raw
        .iter()
        .filter(|(k, _)| !commitment::STATUS_ENVELOPE_FIELDS.contains(&k.as_str()))
        .collect();
    let text = serde_json::to_string(&report).map_err(|e| ApiError::internal(e.to_string()))?;
    if text.len() > 64 * 1024 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "status report over 64 KiB",
        ));
    }
    let now = state.now();
    state
        .store
        .put_miner_status(&epoch_id, who.hotkey.as_str(), &text, now)
        .await?;
    Ok(ok(
        MinerStatusResponse {
            success: true,
            message: "status recorded".into(),
            epoch_id,
            hotkey: who.hotkey,
            status: request.report.status,
            timestamp: rfc3339(now),
        },
        Some(rate),
    ))
}

async fn stats(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ApiError> {
    let rate = limit(&state, "stats", CallerKey::peer(peer.ip()), 30, MINUTE).await?;
    let now = state.now();
    let epoch = &state.epochs.current(&state.store, &state.policy, now).await?.stored;
    let mut by_state = BTreeMap::<String, u64>::new();
    let mut by_tier = BTreeMap::<String, u64>::new();
    for (z, _) in &epoch.zipcodes {
        *by_state.entry(z.state.clone()).or_default() += 1;
        *by_tier
            .entry(format!("{:?}", z.market_tier).to_lowercase())
            .or_default() += 1;
    }
    let recent = state.store.recent_epoch_ids(10).await?;
    let total_expected: u64 = epoch.zipcodes.iter().map(|(z, _)| z.expected_listings).sum();
    let zipcode_count = epoch.zipcodes.len() as u64;
    let remaining = (epoch.end_unix - now).max(0);
    let body = StatsResponse {
        success: true,
        message: format!("epoch {} is active", epoch.epoch_id),
        current_time: rfc3339(now),
        system_status: "operational".into(),
        epoch_status: EpochStatus {
            current_epoch: EpochStatusCurrent {
                id: epoch.epoch_id,
                status: "ACTIVE".into(),
                start_time: rfc3339(epoch.start_unix),
                end_time: rfc3339(epoch.end_unix),
                nonce: epoch.nonce.clone(),
                zipcode_count,
                target_listings: epoch.target_listings,
                actual_expected: total_expected,
            },
            timing: EpochTiming {
                time_until_epoch_end: remaining,
                time_until_next_epoch: remaining,
                epoch_duration_hours: state.policy.length.secs() as f64 / 3_600.0,
            },
            next_epoch: NextEpoch {
                start_time: rfc3339(epoch.end_unix),
            },
        },
        current_epoch: CurrentEpochStats {
            epoch_id: epoch.epoch_id,
            epoch_start: epoch.start_unix,
            epoch_end: epoch.end_unix,
            seconds_remaining: remaining,
            zipcode_count,
            total_expected_listings: total_expected,
        },
        zipcodes_by_state: by_state,
        zipcodes_by_tier: by_tier,
        configuration: StatsConfiguration {
            epoch_length_seconds: state.policy.length.secs(),
            selection: state.policy.selection.clone(),
            max_upload_bytes: state.max_upload_bytes,
        },
        recent_epochs: recent,
    };
    Ok(ok(body, Some(rate)))
}

async fn folder_access(
    State(state): State<Arc<AppState>>,
    body: JsonBody<FolderAccessRequest>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let coldkey = body
        .coldkey
        .as_deref()
        .ok_or_else(|| bad_request("coldkey is required"))?;
    let coldkey = Hotkey::parse(coldkey).map_err(|e| bad_request(format!("coldkey: {e}")))?;
    let who = verify(&state, &body.signed, Signing::FolderAccess { coldkey: &coldkey }).await?;
    if who.neuron.coldkey != coldkey {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("hotkey {} is not owned by coldkey {coldkey}", who.hotkey),
        ));
    }
    let rate = admit(&state, &who, "folder", 10, MINUTE).await?;
    let now = state.now();
    let epoch = &state.epochs.current(&state.store, &state.policy, now).await?.stored;
    let prefix = miner_epoch_prefix(&who.hotkey, &epoch.epoch_id);
    // Validators list the folders of the hotkeys given access, never the bucket.
    state
        .store
        .record_grant(&epoch.epoch_id, GRANT_DATA, who.hotkey.as_str(), now)
        .await?;
    let form = state
        .presigner
        .post_policy(&prefix, state.max_upload_bytes, unix(now)?, unix(epoch.end_unix)?)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    // Read access to its own folder, so a restarted miner can see what it
    // uploaded without recording it (one page: a folder holds one object per
    // assigned zipcode and the manifest).
    let list_ttl = Duration::from_secs((epoch.end_unix - now).max(1) as u64);
    let list_url = state
        .presigner
        .list(&prefix, None, Some(1_000), unix(now)?, list_ttl)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(ok(
        UploadAccessResponse::new(epoch.epoch_id, prefix, form, Some(list_url)),
        Some(rate),
    ))
}

pub(crate) fn unix(t: i64) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::from_unix_timestamp(t).map_err(|e| ApiError::internal(e.to_string()))
}

async fn validator_read(
    State(state): State<Arc<AppState>>,
    body: JsonBody<ValidatorReadRequest>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let epoch_id = required_epoch(body.epoch_id.as_deref())?;
    let who = verify(&state, &body.signed, Signing::ValidatorRead { epoch: &epoch_id }).await?;
    let rate = admit(&state, &who, "validator-read", 30, MINUTE).await?;
    let epoch = &state
        .epochs
        .existing(&state.store, &epoch_id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("unknown epoch {epoch_id}")))?
        .stored;
    let now = state.now();
    if now < epoch.end_unix {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "epoch {epoch_id} is still open: read access starts at its deadline ({} s from now)",
                epoch.end_unix - now
            ),
        ));
    }
    let kind = match body.kind.as_deref().unwrap_or(GRANT_DATA) {
        k @ (GRANT_DATA | GRANT_VALIDATORS) => k,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("kind {other:?} is not data or validators"),
            ))
        }
    };
    let cursor = ReadCursor::parse(body.continuation_token.as_deref())?;
    // The epoch's folders are those of the hotkeys given write access for it:
    // a listing costs one S3 call per folder with objects of this epoch, never
    // a walk over every epoch in the bucket.
    let grants = state.store.grants(&epoch_id, kind).await?;
    let start = match &cursor.hotkey {
        Some(c) => grants.partition_point(|h| h < c),
        None => 0,
    };
    let mut objects = Vec::new();
    let mut next: Option<String> = None;
    let mut s3_token = cursor.s3_token;
    for (calls, hotkey) in grants[start..].iter().enumerate() {
        if calls == READ_FOLDERS_PER_PAGE || objects.len() >= READ_OBJECTS_PER_PAGE {
            next = Some(ReadCursor::encode(hotkey, None));
            break;
        }
        let Ok(owner) = Hotkey::parse(hotkey) else {
            continue;
        };
        let prefix = if kind == GRANT_DATA {
            miner_epoch_prefix(&owner, &epoch_id)
        } else {
            validator_epoch_prefix(&owner, &epoch_id)
        };
        let list_url = state
            .presigner
            .list(
                &prefix,
                s3_token.take().as_deref(),
                Some(1_000),
                unix(now)?,
                Duration::from_secs(300),
            )
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let page = state
            .s3
            .list_page(&list_url, &prefix)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, format!("storage: {e}")))?;
        for object in page.objects {
            // Only this epoch's keys in resi's layout; anything else is skipped.
            let Ok(key) = ObjectKey::parse(&object.key) else {
                continue;
            };
            if key.epoch() != epoch_id {
                continue;
            }
            let url = state
                .presigner
                .get(&object.key, unix(now)?, state.read_url_ttl)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            objects.push(ReadObject {
                key: object.key,
                url,
                size: object.size,
                etag: object.etag,
                last_modified: object.last_modified_ms,
            });
        }
        if let Some(token) = page.next_continuation_token {
            next = Some(ReadCursor::encode(hotkey, Some(&token)));
            break;
        }
    }
    Ok(ok(
        ReadPage {
            success: true,
            message: format!("{} objects", objects.len()),
            epoch_id,
            objects,
            next_continuation_token: next,
        },
        Some(rate),
    ))
}

/// Grant kinds: miners' data folders and validators' results folders.
const GRANT_DATA: &str = "data";
pub(crate) const GRANT_VALIDATORS: &str = "validators";
/// Folders listed per validator-read call (one S3 call each).
const READ_FOLDERS_PER_PAGE: usize = 64;
/// Objects per validator-read page, about.
const READ_OBJECTS_PER_PAGE: usize = 1_000;

/// Where a validator-read listing resumes: at a hotkey's folder, and inside
/// it at an S3 continuation token. Opaque to callers: `{hotkey}` or
/// `{hotkey}/{s3Token}`.
struct ReadCursor {
    hotkey: Option<String>,
    s3_token: Option<String>,
}

impl ReadCursor {
    fn parse(token: Option<&str>) -> Result<Self, ApiError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(Self {
                hotkey: None,
                s3_token: None,
            });
        };
        let (hotkey, s3_token) = match token.split_once('/') {
            Some((h, t)) => (h, Some(t.to_owned())),
            None => (token, None),
        };
        Hotkey::parse(hotkey).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "continuationToken is not one this coordinator made",
            )
        })?;
        Ok(Self {
            hotkey: Some(hotkey.to_owned()),
            s3_token,
        })
    }

    fn encode(hotkey: &str, s3_token: Option<&str>) -> String {
        match s3_token {
            Some(t) => format!("{hotkey}/{t}"),
            None => hotkey.to_owned(),
        }
    }
}

async fn validator_upload(
    State(state): State<Arc<AppState>>,
    body: JsonBody<ValidatorUploadRequest>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let epoch_id = required_epoch(body.epoch_id.as_deref())?;
    let who = verify(&state, &body.signed, Signing::ValidatorUpload { epoch: &epoch_id }).await?;
    let rate = admit(&state, &who, "validator-upload", 5, HOUR).await?;
    if !state.store.epoch_exists(&epoch_id).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown epoch {epoch_id}"),
        ));
    }
    let now = state.now();
    let prefix = validator_epoch_prefix(&who.hotkey, &epoch_id);
    state
        .store
        .record_grant(&epoch_id, GRANT_VALIDATORS, who.hotkey.as_str(), now)
        .await?;
    let form = state
        .presigner
        .post_policy(&prefix, 64 * 1024 * 1024, unix(now)?, unix(now + HOUR)?)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(ok(UploadAccessResponse::new(epoch_id, prefix, form, None), Some(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT";

    #[test]
    fn read_cursors_round_trip_and_refuse_strangers() {
        // S3 continuation tokens are opaque and may hold '/': only the first one splits.
        for s3 in [None, Some("abc"), Some("a/b+c==")] {
            let cursor = ReadCursor::parse(Some(&ReadCursor::encode(H, s3))).unwrap();
            assert_eq!(cursor.hotkey.as_deref(), Some(H));
            assert_eq!(cursor.s3_token.as_deref(), s3);
        }
        let start = ReadCursor::parse(Some("")).unwrap();
        assert!(start.hotkey.is_none() && start.s3_token.is_none());
        let refused = ReadCursor::parse(Some("data/hotkey=x/")).err().unwrap();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }
}
