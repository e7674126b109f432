//! Every refusal the API answers, typed: what went wrong decides the status,
//! the JSON body (`{"statusCode":400,"message":["…"],"error":"Bad Request"}`)
//! and whether it is logged (server errors only, once, where answered, with
//! their cause).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use resi_api::ErrorBody;

use crate::epochs::EpochError;
use crate::ratelimit::Decision;
use crate::store::StoreError;

/// What a 503 for an unavailable database asks the client to wait.
const DATABASE_RETRY_SECS: i64 = 5;

/// A refusal.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller's mistake (4xx): a bad body or field, an unknown epoch, a
    /// bad signature, a missing permission, a method or path that does not exist.
    #[error("{message}")]
    Refused { status: StatusCode, message: String },
    /// Past the route's rate limit (429), with its headers.
    #[error("rate limit of {} requests per {window_secs} s exceeded", .decision.limit)]
    RateLimited {
        decision: Decision,
        window_secs: i64,
        retry_after: i64,
    },
    /// Something the coordinator depends on cannot answer now (503).
    #[error("{0}")]
    Unavailable(String),
    /// The database failed: 503 when it cannot be reached (the client may
    /// retry), 500 otherwise.
    #[error("{0}")]
    Store(StoreError),
    /// The bucket failed (502).
    #[error("storage: {0}")]
    Storage(resi_storage::StorageError),
    /// A presigned URL or policy could not be made (500).
    #[error("presigning: {0}")]
    Presign(resi_storage::presign::PresignError),
    /// A bug or an impossible state (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Refused {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// The epoch named is not one the coordinator has.
    pub fn unknown_epoch(epoch: impl std::fmt::Display) -> Self {
        Self::not_found(format!("unknown epoch {epoch}"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::Internal(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Refused { status, .. } => *status,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) | ApiError::Presign(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Storage(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The message of the JSON body.
    fn message(&self) -> String {
        match self {
            ApiError::Store(e) if e.is_unavailable() => {
                format!("the coordinator's database is unavailable, try again shortly: {e}")
            }
            other => other.to_string(),
        }
    }

    /// Seconds a refused client should wait, if it should.
    fn retry_after(&self) -> Option<i64> {
        match self {
            ApiError::RateLimited { retry_after, .. } => Some(*retry_after),
            ApiError::Store(e) if e.is_unavailable() => Some(DATABASE_RETRY_SECS),
            _ => None,
        }
    }
}

/// The `X-RateLimit-*` headers of a decision.
pub(crate) fn rate_headers(headers: &mut HeaderMap, d: &Decision) {
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
        let status = self.status();
        let message = self.message();
        if status.is_server_error() {
            tracing::error!(status = %status, error = %message, "request failed");
        }
        let body = ErrorBody {
            status_code: status.as_u16(),
            message: vec![message],
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { decision, .. } = &self {
            rate_headers(response.headers_mut(), decision);
        }
        if let Some(secs) = self.retry_after() {
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
            EpochError::NoUniverse | EpochError::NothingEligible => ApiError::Unavailable(e.to_string()),
            EpochError::Store(store) => ApiError::Store(store),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl From<resi_storage::presign::PresignError> for ApiError {
    fn from(e: resi_storage::presign::PresignError) -> Self {
        ApiError::Presign(e)
    }
}
