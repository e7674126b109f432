//! resi-coordinator: the subnet's clock and gatekeeper (DESIGN §2–§4).
//!
//! This crate holds the coordinator's decisions as plain, testable code: the
//! zipcode universe ([`universe`], CSV import with line-numbered errors),
//! deterministic weighted zipcode selection and the epoch's nonce and
//! validation seed ([`selection`]), and the signed-request checks
//! ([`auth`]). The HTTP API ([`service`], on `resi-api`'s types),
//! persistence ([`store`], whose per-request writes are grouped by
//! [`group`]) and S3 brokering build on these; [`app::App`]
//! builds and runs the whole service the same way for the binary, the
//! devnet and the tests; [`metrics`] is what it tells Prometheus and
//! [`dashboard`] the live page at `/`.
//!
//! Architecture invariant: every value an epoch publishes is a pure function
//! of (secret, epochId, universe, cooldown set, parameters); no wall clock
//! inside (the clock is a dependency); the chain is read through
//! `resi_chain::MetagraphSource` only.

pub mod app;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod epochs;
mod group;
pub mod metrics;
pub mod ratelimit;
pub mod selection;
pub mod service;
pub mod store;
pub mod universe;

pub use app::{App, AppError, Deps};
