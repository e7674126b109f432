//! `GET /metrics`: the gauges read now, then everything rendered.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use crate::metrics::{BUILD_INFO, DB_CONNECTIONS, EPOCH_START, EPOCH_TO_DEADLINE, METAGRAPH_AGE, METAGRAPH_NEURONS};
use crate::state::AppState;

pub(super) async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let now = state.clock.now_unix();
    if let Ok(window) = state
        .policy
        .length
        .epoch_containing(now)
        .and_then(|id| state.policy.length.window(id))
    {
        metrics::gauge!(EPOCH_START).set(window.start_unix as f64);
        metrics::gauge!(EPOCH_TO_DEADLINE).set((window.end_unix - now).max(0) as f64);
    }
    if let Ok(metagraph) = state.chain.metagraph() {
        metrics::gauge!(METAGRAPH_NEURONS).set(metagraph.neurons().len() as f64);
    }
    if let Some(synced) = state.chain.synced() {
        metrics::gauge!(METAGRAPH_AGE).set(synced.elapsed().as_secs_f64());
    }
    let (size, idle) = state.store.pool_connections();
    metrics::gauge!(DB_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(DB_CONNECTIONS, "state" => "in_use").set((size as usize).saturating_sub(idle) as f64);
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "database" => state.store.backend().as_str()
    )
    .set(1.0);
    resi_telemetry::metrics::response(&state.metrics)
}
