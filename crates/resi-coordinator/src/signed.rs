//! The shared opening of every signed route, once: read the request, check
//! the signature against the metagraph, then admit it (replay record and
//! rate limit), taking the commitment and the limit from `resi-api`'s
//! [`Endpoint`] table. A handler that takes [`Signed<R>`] starts with a
//! verified, admitted caller; one that takes [`Counted<L>`] a public request
//! counted against its address's limit.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use resi_api::endpoint::Signing;
use resi_api::{Endpoint, RateLimit};
use resi_chain::Metagraph;
use resi_core::{EpochId, Hotkey};
use serde::de::DeserializeOwned;

use crate::auth::{check, SignedFields, Verified, TIMESTAMP_WINDOW_SECS};
use crate::error::ApiError;
use crate::ratelimit::{CallerKey, Decision, Limit};
use crate::state::AppState;
use crate::store::ReplayRecord;

/// How one signed endpoint reads its request.
pub trait SignedRequest: Sized + Send {
    /// Which endpoint: its commitment, caller and rate limit.
    const ENDPOINT: Endpoint;

    /// Reads the request (query, path or JSON body): everything the
    /// handler needs, the signed fields included. Nothing is checked against
    /// the chain or written yet.
    fn read(
        request: Request,
        state: &Arc<AppState>,
    ) -> impl std::future::Future<Output = Result<Self, ApiError>> + Send;

    fn fields(&self) -> &SignedFields;

    /// What the signature must cover.
    fn signing(&self) -> Signing<'_>;

    /// A check of the verified caller against the request, before anything
    /// is written (a refusal here spends no quota).
    fn check(&self, _who: &Verified) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A signed request, verified and admitted: `who` signed it, it was not
/// seen before, and `rate` is its place in its window.
pub struct Signed<R> {
    pub who: Verified,
    pub rate: Decision,
    pub request: R,
}

impl<R: SignedRequest> FromRequest<Arc<AppState>> for Signed<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let request = R::read(request, state).await?;
        let who = verify(state, request.fields(), request.signing()).await?;
        request.check(&who)?;
        let rate = admit(state, &who, R::ENDPOINT).await?;
        Ok(Signed { who, rate, request })
    }
}

/// The public routes' limits, by endpoint.
pub trait PublicRoute {
    const LIMIT: RateLimit;
}

/// A public request, counted against `L`'s limit per peer address.
pub struct Counted<L> {
    pub rate: Decision,
    _route: std::marker::PhantomData<L>,
}

impl<L: PublicRoute + Send> FromRequestParts<Arc<AppState>> for Counted<L> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("no peer address: {e}")))?;
        let rate = limit(state, L::LIMIT, CallerKey::peer(peer.ip())).await?;
        Ok(Counted {
            rate,
            _route: std::marker::PhantomData,
        })
    }
}

/// `GET /api/v1/zipcode-assignments/stats`.
pub struct Stats;
impl PublicRoute for Stats {
    const LIMIT: RateLimit = resi_api::endpoint::STATS_RATE_LIMIT;
}

/// `GET /api/v1/dashboard`.
pub struct Dashboard;
impl PublicRoute for Dashboard {
    const LIMIT: RateLimit = resi_api::DASHBOARD_RATE_LIMIT;
}

/// `limit` scaled by the coordinator's multiplier.
fn scaled(state: &AppState, limit: RateLimit) -> Limit {
    Limit {
        limit: limit.limit.saturating_mul(state.rate_limit_multiplier.max(1)),
        window_secs: limit.window_secs,
    }
}

/// Counts an unsigned request of `caller` (its peer address): 429 past the limit.
async fn limit(state: &AppState, route: RateLimit, caller: CallerKey) -> Result<Decision, ApiError> {
    let scaled = scaled(state, route);
    let now = state.now();
    let d = state.limiter.check(route.key, caller, scaled, now).await?;
    allowed(route, d, now)
}

/// Admits a verified signed request on `endpoint`: its replay record is
/// written, so the same signed request again is 401, and it is counted
/// against the endpoint's limit, 429 past it (a request over the limit
/// writes nothing). Nothing is answered before both are written.
async fn admit(state: &AppState, who: &Verified, endpoint: Endpoint) -> Result<Decision, ApiError> {
    let Some(route) = endpoint.rate_limit() else {
        return Err(ApiError::internal(format!("{} has no rate limit", endpoint.name())));
    };
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
            route.key,
            (&who.hotkey).into(),
            scaled(state, route),
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
    allowed(route, d, now)
}

/// `d` if it allows the request, else the 429 that says until when.
fn allowed(route: RateLimit, d: Decision, now: i64) -> Result<Decision, ApiError> {
    if d.allowed {
        Ok(d)
    } else {
        crate::metrics::rate_limited(route.key);
        Err(ApiError::RateLimited {
            decision: d,
            window_secs: route.window_secs,
            retry_after: d.reset_unix - now,
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
    checked.map_err(|e| {
        crate::metrics::auth_failure(e.reason);
        ApiError::new(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            e.message,
        )
    })
}

/// An epoch id as a client wrote it: 400 if it is not one.
pub fn parse_epoch(text: &str) -> Result<EpochId, ApiError> {
    EpochId::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The `epochId` a body must carry.
pub fn required_epoch(field: Option<&str>) -> Result<EpochId, ApiError> {
    parse_epoch(field.ok_or_else(|| ApiError::bad_request("epochId is required"))?)
}

/// The signed fields of a query string, or a 400 that says what is wrong.
pub fn query_fields(request: &Request) -> Result<SignedFields, ApiError> {
    Query::<SignedFields>::try_from_uri(request.uri())
        .map(|Query(f)| f)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// The path parameter of a request, or a 400.
pub async fn path_param(request: Request) -> Result<(String, Request), ApiError> {
    let (mut parts, body) = request.into_parts();
    let Path(value) = Path::<String>::from_request_parts(&mut parts, &())
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok((value, Request::from_parts(parts, body)))
}

/// A JSON body, or the rejection's status (400, 413, 415, 422) with what is wrong with it.
pub async fn json_body<T: DeserializeOwned>(request: Request, state: &Arc<AppState>) -> Result<T, ApiError> {
    Json::<T>::from_request(request, state)
        .await
        .map(|Json(b)| b)
        .map_err(|e| ApiError::new(e.status(), e.body_text()))
}
