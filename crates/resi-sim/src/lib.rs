//! resi-sim: a deterministic synthetic US property market, and how miners behave in it.
//!
//! The market is a pure function of (seed, zipcode, slot, instant): every
//! zipcode has listing slots whose listings have consistent attributes (price
//! by state and market tier, sqft and bathrooms following bedrooms, real city
//! and state from the zipcode dataset, unique zpids, Zillow-style URLs
//! embedding the zpid), turn over every 20–80 days and have their prices cut
//! at instants, with the history a source keeps. It is the one
//! listing generator of the code base: the benchmark, the tests and the devnet
//! all draw from it.
//!
//! Architecture invariant: the market, the profiles and the synthetic epochs
//! do no I/O and read no clock; the same inputs give the same listings on
//! every machine. Only `http` (feature `server`: serving the market, with
//! its clock injected) and [`search`] (reading it, for the miner's `sim`
//! scraper) talk to the network, and `replay` (feature `server`) reads the
//! real-data corpus from disk to serve it as the commercial API would.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod hostile;

/// Why a synthetic epoch, a hostile file or a market client could not be
/// made: the step and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SimError(pub String);

impl From<String> for SimError {
    fn from(message: String) -> Self {
        SimError(message)
    }
}
pub mod market;
pub mod profile;

pub use market::{Market, Property, ZipcodeMarket};
pub use profile::{scrape, Profile};
pub mod source;
pub use source::MarketSource;
pub mod epoch;
pub use epoch::{build as build_epoch, EpochSpec, MinerKind, SyntheticEpoch};
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod replay;
pub mod search;
