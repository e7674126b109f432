//! resi-api: the coordinator's wire contract, written once.
//!
//! - [`routes`] and [`Endpoint`]: every endpoint's method, path, caller and
//!   the commitment string its signature covers.
//! - [`types`]: the request and response bodies. The coordinator's handlers
//!   read and write exactly these; [`client::CoordinatorClient`] sends and
//!   reads the same ones. Every success body is a superset of what the
//!   original SN46 API documented (`success`, `message`, top-level upload
//!   `url`/`fields`, `epochStatus`, …), so existing Python miners and
//!   validators work unchanged.
//! - [`ErrorBody`]: every refusal's JSON.
//! - [`dashboard`]: the data of the coordinator's live page.
//! - `openapi` (feature `openapi`): the OpenAPI 3 document generated from
//!   these types, served at `/openapi.json` and checked in at
//!   `docs/openapi.json`.
//!
//! Architecture invariant: no server code here (no axum, no database, no
//! storage server), so miners and validators depend on this crate and never
//! on `resi-coordinator`.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod client;
pub mod dashboard;
pub mod endpoint;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod types;

pub use client::{ClientError, CoordinatorClient};
pub use endpoint::{routes, Caller, Endpoint, RateLimit, DASHBOARD_RATE_LIMIT};
pub use types::*;
