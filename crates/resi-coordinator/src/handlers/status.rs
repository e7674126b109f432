//! `POST /api/v1/zipcode-assignments/status`: a miner's report on its epoch.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use resi_api::endpoint::Signing;
use resi_api::{Endpoint, MinerStatusRequest, MinerStatusResponse};
use resi_auth::commitment;
use resi_core::EpochId;
use serde_json::Value;

use super::reply::ok;
use crate::auth::SignedFields;
use crate::epochs::rfc3339;
use crate::error::ApiError;
use crate::signed::{json_body, required_epoch, Signed, SignedRequest};
use crate::state::AppState;

/// Largest report stored.
const MAX_REPORT_BYTES: usize = 64 * 1024;

/// The report as received (what the signature covers) and as read.
pub struct StatusReport {
    raw: serde_json::Map<String, Value>,
    body_sha256: String,
    request: MinerStatusRequest,
    epoch: EpochId,
}

impl SignedRequest for StatusReport {
    const ENDPOINT: Endpoint = Endpoint::MinerStatus;

    async fn read(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let raw: serde_json::Map<String, Value> = json_body(request, state).await?;
        // The signature covers the raw report (every field but the envelope),
        // so it is hashed as received, before any field is interpreted.
        let body_sha256 = commitment::status_body_sha256(&raw);
        let request: MinerStatusRequest = serde_json::from_value(Value::Object(raw.clone()))
            .map_err(|e| ApiError::bad_request(format!("status report: {e}")))?;
        let epoch = required_epoch(request.epoch_id.as_deref())?;
        Ok(Self {
            raw,
            body_sha256,
            request,
            epoch,
        })
    }

    fn fields(&self) -> &SignedFields {
        &self.request.signed
    }

    fn signing(&self) -> Signing<'_> {
        Signing::MinerStatus {
            epoch: &self.epoch,
            body_sha256: &self.body_sha256,
        }
    }
}

pub(super) async fn report(
    State(state): State<Arc<AppState>>,
    signed: Signed<StatusReport>,
) -> Result<Response, ApiError> {
    let Signed { who, rate, request } = signed;
    let StatusReport {
        raw, request, epoch, ..
    } = request;
    let epoch_id = epoch;
    request
        .report
        .check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let epoch = &state.stored_epoch(&epoch_id).await?.stored;
    if let Some(nonce) = &request.report.nonce {
        if !nonce.eq_ignore_ascii_case(&epoch.nonce) {
            return Err(ApiError::bad_request(format!(
                "nonce {nonce} is not epoch {epoch_id}'s nonce"
            )));
        }
    }
    for done in request.report.zipcodes_completed.iter().flatten() {
        if !epoch.zipcodes.iter().any(|(z, _)| z.zipcode == done.zipcode) {
            return Err(ApiError::bad_request(format!(
                "zipcode {} is not assigned in epoch {epoch_id}",
                done.zipcode
            )));
        }
    }
    let report: BTreeMap<&String, &Value> = raw
        .iter()
        .filter(|(k, _)| !commitment::STATUS_ENVELOPE_FIELDS.contains(&k.as_str()))
        .collect();
    let text = serde_json::to_string(&report).map_err(|e| ApiError::internal(format!("the report: {e}")))?;
    if text.len() > MAX_REPORT_BYTES {
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
