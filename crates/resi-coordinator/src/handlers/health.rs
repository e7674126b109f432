//! `GET /healthcheck` and `GET /openapi.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use resi_api::{DatabaseHealth, HealthResponse};

use crate::state::AppState;

/// 200 while the database answers, 503 (same body) while it does not.
pub(super) async fn healthcheck(State(state): State<Arc<AppState>>) -> Response {
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
        rules: state
            .policy
            .length
            .epoch_containing(state.now())
            .ok()
            .map(|current| state.policy.rules.announcement(&current)),
    };
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The OpenAPI document, generated from `resi-api`'s types once per process.
pub(super) async fn openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text: &'static str = DOCUMENT.get_or_init(resi_api::openapi::document_json);
    ([(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response()
}
