//! resi-telemetry: how every resi daemon reports on itself.
//!
//! - [`logs`]: the one tracing subscriber of the binary. Text with colour
//!   only when stderr is a terminal (and `NO_COLOR` is unset); JSON lines for
//!   files and log shippers, each carrying the fields of the spans it is in
//!   (the daemon's `role` and `hotkey`, the `epoch` being worked).
//! - [`metrics`]: the process's Prometheus recorder and the `/metrics`
//!   route. The libraries record through the `metrics` facade alone (a no-op
//!   until [`metrics::install`] runs), so a library test records nothing and
//!   needs no exporter.
//!
//! Architecture invariant: no protocol rules and no knowledge of any one
//! daemon's metrics; the daemons name and record their own.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod logs;
pub mod metrics;

pub use logs::LogFormat;
