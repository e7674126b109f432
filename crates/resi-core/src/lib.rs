//! resi-core: the protocol of the resi zipcode-mining subnet, as pure code.
//!
//! Domain types that parse at the boundary ([`Hotkey`], [`EpochId`],
//! [`Zipcode`], [`Listing`]), the listing Parquet schema, the validation tiers
//! 0–3, ranking, scores in parts per billion, the consensus hash, consensus
//! evaluation and the conversion of scores to on-chain weights.
//!
//! Architecture invariant: no network, no clock, no files, no global RNG, no
//! hash-map iteration order in any result. The only bytes it reads are the
//! Parquet bytes handed to it; the only I/O it awaits is the caller's
//! [`verify::ListingVerifier`].

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod assignment;
pub mod config;
pub mod consensus;
pub mod context;
pub mod engine;
pub mod epoch;
pub mod examine;
pub mod hotkey;
pub mod listing;
pub mod manifest;
pub mod metagraph;
pub mod pages;
pub mod results;
pub mod rules;
pub mod sampling;
pub mod schema;
pub mod scoring;
pub mod seed;
pub mod selection;
pub mod ss58;
pub mod text;
pub mod verify;
pub mod weights;
pub mod zipcode;

pub use assignment::{AssignedZipcode, Assignment, MarketTier, Submission};
pub use config::ValidationConfig;
pub use context::EpochContext;
pub use engine::EpochValidation;
pub use epoch::{EpochId, EpochLength, EpochWindow};
pub use examine::{examine, Examined, ManifestEntry, SubmissionInput};
pub use hotkey::Hotkey;
pub use listing::{Listing, ListingStatus, PropertyType};
pub use metagraph::Neuron;
pub use results::ValidationResults;
pub use rules::ResultsVersion;
pub use seed::{SeedCommitment, ValidationSeed};
pub use verify::{ListingVerifier, Verdict};
pub use zipcode::Zipcode;
