//! The process's Prometheus recorder and the `/metrics` route that renders it.
//!
//! One recorder per process (the `metrics` facade is global): in the devnet,
//! where the coordinator, miners and validators share a process, every
//! `/metrics` shows them all. Every series recorded inside a daemon's span
//! carries that span's `role` and `hotkey` as labels ([`DAEMON_LABELS`],
//! with [`crate::logs`]'s subscriber), so one miner's series are told from
//! another's.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use metrics_tracing_context::TracingContextLayer;
use metrics_util::layers::Layer;

/// The path every daemon serves its metrics at.
pub const PATH: &str = "/metrics";

/// Histogram buckets of every `*_seconds` metric: from a fast API answer to
/// a whole epoch's validation.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0,
];
/// Buckets of every `*_listings` histogram (listings in one zipcode's file).
const LISTINGS_BUCKETS: &[f64] = &[
    0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("installing the Prometheus recorder: {0}")]
    Install(String),
    #[error("metrics listener on {addr}: {cause}")]
    Listen { addr: SocketAddr, cause: std::io::Error },
}

static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// The span fields that become labels: the daemon's (`resi_runtime::daemon_span`).
/// Not `epoch`: a label per epoch would grow without end.
pub const DAEMON_LABELS: [&str; 2] = ["role", "hotkey"];

/// Installs the process-wide recorder on first call and returns its handle;
/// later calls return the same handle. Inside a tokio runtime it also starts
/// the upkeep that keeps histograms from growing between scrapes.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    let mut slot = match HANDLE.lock() {
        Ok(slot) => slot,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_listings".into()), LISTINGS_BUCKETS))
        .map_err(|e| MetricsError::Install(e.to_string()))?
        .build_recorder();
    let handle = recorder.handle();
    let labelled = TracingContextLayer::only_allow(DAEMON_LABELS).layer(recorder);
    ::metrics::set_global_recorder(labelled).map_err(|e| MetricsError::Install(e.to_string()))?;
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let upkeep = handle.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
    }
    *slot = Some(handle.clone());
    Ok(handle)
}

/// The metrics in Prometheus's text format (version 0.0.4).
pub fn render(handle: &PrometheusHandle) -> String {
    handle.run_upkeep();
    handle.render()
}

/// A `GET /metrics` answer from `handle`.
pub fn response(handle: &PrometheusHandle) -> axum::response::Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        render(handle),
    )
        .into_response()
}

/// A router with `GET /metrics` alone, for daemons that serve nothing else.
pub fn router(handle: PrometheusHandle) -> axum::Router {
    axum::Router::new().route(PATH, get(move || async move { response(&handle) }))
}

/// Serves `GET /metrics` on `addr` (port 0 picks one) until `shutdown`,
/// with resi-net's limits; returns the address bound. Installs the recorder
/// if no one has yet.
pub async fn serve(
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, MetricsError> {
    let handle = install()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Listen { addr, cause: source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MetricsError::Listen { addr, cause: source })?;
    let limits = resi_net::Limits {
        max_connections: 32,
        ..resi_net::Limits::default()
    };
    tokio::spawn(resi_net::serve(listener, router(handle), limits, shutdown));
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn serves_what_was_recorded_in_the_text_format() {
        let addr = serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending())
            .await
            .unwrap();
        ::metrics::counter!("resi_test_events_total", "kind" => "a").increment(3);
        ::metrics::histogram!("resi_test_step_seconds").record(0.02);
        ::metrics::gauge!("resi_test_level").set(7.0);
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        let lines = body.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        let value = |name: &str| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == name)
                .map(|s| s.value.clone())
        };
        assert!(matches!(value("resi_test_events_total"), Some(prometheus_parse::Value::Counter(v)) if v == 3.0));
        assert!(matches!(value("resi_test_level"), Some(prometheus_parse::Value::Gauge(v)) if v == 7.0));
        assert!(
            matches!(
                value("resi_test_step_seconds"),
                Some(prometheus_parse::Value::Histogram(_))
            ),
            "{body}"
        );
    }
}
