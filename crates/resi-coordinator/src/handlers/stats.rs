//! `GET /api/v1/zipcode-assignments/stats`: the current epoch in numbers (public).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use resi_api::*;

use super::reply::ok;
use crate::epochs::rfc3339;
use crate::error::ApiError;
use crate::signed::{self, Counted};
use crate::state::AppState;

pub(super) async fn stats(
    State(state): State<Arc<AppState>>,
    counted: Counted<signed::Stats>,
) -> Result<Response, ApiError> {
    let rate = counted.rate;
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
