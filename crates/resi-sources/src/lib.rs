//! resi-sources: where listings are read from, over the network: the
//! property sources validators check tier 3 against (and, as they arrive,
//! the listing sources miners' scrapers read). Shared by the validator and
//! the miner so both speak to a source the same way.
//!
//! Architecture invariant: no protocol rules (a lookup's answer is judged by
//! `resi-core`); a source that cannot answer says "unavailable", which is
//! never counted against a miner.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod any;
pub mod budget;
pub mod lookup;
pub mod zillow;

pub use any::{AnySource, CachedSource};
pub use budget::Budget;
pub use lookup::{HttpPropertySource, SourceError};
pub use zillow::{ZillowApi, ZillowSettings};
