//! resi-coordinator: the subnet's clock and gatekeeper (PROTOCOL.md §1–§3, docs/API.md).
//!
//! This crate holds the coordinator's decisions as plain, testable code: the
//! zipcode universe ([`universe`], CSV import with line-numbered errors),
//! deterministic weighted zipcode selection and the epoch's nonce and
//! validation seed ([`selection`]), and the signed-request checks
//! ([`auth`]). The HTTP API ([`handlers`], one file per resource, on
//! `resi-api`'s types; [`state`] what they share, [`error`] how they refuse,
//! [`signed`] the opening every signed route shares), persistence
//! ([`store`], whose per-request writes are grouped by [`group`]) and S3
//! brokering build on these; [`app::App`] builds and runs the whole service
//! the same way for the binary, the devnet and the tests; [`metrics`] is
//! what it tells Prometheus and [`published`] what the dashboard keeps of
//! validators' results.
//!
//! Architecture invariant: every value an epoch publishes is a pure function
//! of (secret, epochId, universe, cooldown set, parameters); no wall clock
//! inside (the clock is a dependency); the chain is read through
//! `resi_chain::MetagraphSource` only.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod auth;
pub mod config;
pub mod epochs;
pub mod error;
mod group;
pub mod handlers;
pub mod metrics;
pub mod published;
pub mod ratelimit;
pub mod rules;
pub mod selection;
pub mod signed;
pub mod state;
pub mod store;
pub mod universe;

pub use app::{App, AppError, Deps};
