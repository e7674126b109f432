//! The coordinator's Prometheus metrics: what each request did (counted
//! where it happens) and the state read when `/metrics` is scraped
//! (`handlers::metrics`).

use std::time::Duration;

pub const REQUESTS: &str = "resi_coordinator_requests_total";
pub const REQUEST_SECONDS: &str = "resi_coordinator_request_duration_seconds";
pub const AUTH_FAILURES: &str = "resi_coordinator_auth_failures_total";
pub const RATE_LIMITED: &str = "resi_coordinator_rate_limited_total";
pub const EPOCH_START: &str = "resi_coordinator_epoch_start_timestamp_seconds";
pub const EPOCH_TO_DEADLINE: &str = "resi_coordinator_epoch_seconds_to_deadline";
pub const METAGRAPH_NEURONS: &str = "resi_coordinator_metagraph_neurons";
pub const METAGRAPH_AGE: &str = "resi_coordinator_metagraph_age_seconds";
pub const DB_CONNECTIONS: &str = "resi_coordinator_db_connections";
pub const BUILD_INFO: &str = "resi_coordinator_build_info";

/// Names and help texts, once per process.
pub(crate) fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(REQUESTS, "Requests answered, by endpoint (route template) and status.");
        metrics::describe_histogram!(
            REQUEST_SECONDS,
            metrics::Unit::Seconds,
            "Time to answer a request, by endpoint."
        );
        metrics::describe_counter!(
            AUTH_FAILURES,
            "Signed requests refused, by reason (malformed, stale_timestamp, bad_signature, not_registered, not_validator, replay)."
        );
        metrics::describe_counter!(RATE_LIMITED, "Requests refused with 429, by route.");
        metrics::describe_gauge!(EPOCH_START, "Start of the current epoch, Unix seconds.");
        metrics::describe_gauge!(EPOCH_TO_DEADLINE, "Seconds until the current epoch's submission deadline.");
        metrics::describe_gauge!(METAGRAPH_NEURONS, "Neurons in the metagraph the coordinator checks callers against.");
        metrics::describe_gauge!(
            METAGRAPH_AGE,
            "Seconds since the metagraph was last read from the chain (or its file)."
        );
        metrics::describe_gauge!(DB_CONNECTIONS, "Database pool connections, by state (idle, in_use).");
        metrics::describe_gauge!(BUILD_INFO, "Always 1; the labels say which build and database backend.");
    });
}

/// One answered request. `endpoint` is the route template (`/api/v1/…/{epoch_id}`),
/// so ids in paths do not make a series each.
pub(crate) fn request(endpoint: &str, status: u16, elapsed: Duration) {
    let endpoint = endpoint.to_owned();
    metrics::counter!(REQUESTS, "endpoint" => endpoint.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!(REQUEST_SECONDS, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

pub(crate) fn auth_failure(reason: &'static str) {
    metrics::counter!(AUTH_FAILURES, "reason" => reason).increment(1);
}

pub(crate) fn rate_limited(route: &'static str) {
    metrics::counter!(RATE_LIMITED, "route" => route).increment(1);
}
