//! Successful answers: JSON bodies with the caller's rate-limit headers.

use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::rate_headers;
use crate::ratelimit::Decision;

/// A successful JSON answer with its rate-limit headers.
pub(super) fn ok<T: serde::Serialize>(body: T, rate: Option<Decision>) -> Response {
    let mut response = Json(body).into_response();
    if let Some(d) = &rate {
        rate_headers(response.headers_mut(), d);
    }
    response
}

/// A JSON body serialized beforehand, with its rate-limit headers.
pub(super) fn ok_serialized(body: bytes::Bytes, rate: Option<Decision>) -> Response {
    let mut response = ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(d) = &rate {
        rate_headers(response.headers_mut(), d);
    }
    response
}
