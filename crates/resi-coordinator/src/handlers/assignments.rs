//! The zipcode assignment: the current epoch's for registered miners, any
//! epoch's for validators (the validation seed only after the deadline).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use resi_api::endpoint::Signing;
use resi_api::Endpoint;
use resi_core::EpochId;

use super::reply::ok_serialized;
use crate::auth::SignedFields;
use crate::error::ApiError;
use crate::signed::{parse_epoch, path_param, query_fields, Signed, SignedRequest};
use crate::state::AppState;

/// `GET /api/v1/zipcode-assignments/current?hotkey=…&signature=…&timestamp=…`
pub struct CurrentAssignment {
    fields: SignedFields,
}

impl SignedRequest for CurrentAssignment {
    const ENDPOINT: Endpoint = Endpoint::CurrentAssignment;

    async fn read(request: Request, _: &Arc<AppState>) -> Result<Self, ApiError> {
        Ok(Self {
            fields: query_fields(&request)?,
        })
    }

    fn fields(&self) -> &SignedFields {
        &self.fields
    }

    fn signing(&self) -> Signing<'_> {
        Signing::CurrentAssignment
    }
}

pub(super) async fn current(
    State(state): State<Arc<AppState>>,
    signed: Signed<CurrentAssignment>,
) -> Result<Response, ApiError> {
    let now = state.now();
    let epoch = state.epochs.current(&state.store, &state.policy, now).await?;
    Ok(ok_serialized(epoch.response(now), Some(signed.rate)))
}

/// `GET /api/v1/zipcode-assignments/epoch/{epoch_id}?…`
pub struct EpochAssignment {
    epoch: EpochId,
    fields: SignedFields,
}

impl SignedRequest for EpochAssignment {
    const ENDPOINT: Endpoint = Endpoint::EpochAssignment;

    async fn read(request: Request, _: &Arc<AppState>) -> Result<Self, ApiError> {
        let fields = query_fields(&request)?;
        let (epoch, _) = path_param(request).await?;
        Ok(Self {
            epoch: parse_epoch(&epoch)?,
            fields,
        })
    }

    fn fields(&self) -> &SignedFields {
        &self.fields
    }

    fn signing(&self) -> Signing<'_> {
        Signing::EpochAssignment { epoch: &self.epoch }
    }
}

pub(super) async fn epoch(
    State(state): State<Arc<AppState>>,
    signed: Signed<EpochAssignment>,
) -> Result<Response, ApiError> {
    let epoch_id = signed.request.epoch;
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
    let epoch = epoch.ok_or_else(|| ApiError::unknown_epoch(epoch_id))?;
    Ok(ok_serialized(epoch.response(now), Some(signed.rate)))
}
