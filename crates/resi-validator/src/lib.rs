//! resi-validator: the validator daemon.
//!
//! After each epoch's deadline (plus a grace period) a validator fetches the
//! epoch with its revealed validation seed and checks it against the
//! commitment, lists the epoch's objects through the coordinator, verifies
//! every miner's signed manifest, downloads and examines the submissions a
//! bounded number at a time (decoding on blocking threads, keeping only what
//! ranking needs), runs the engine of `resi-core` with tier 3 against a
//! property source, signs and publishes `validation_results.json`, collects
//! the other validators' results, evaluates the stake-weighted consensus and
//! sets weights through `resi-chain`. A journal per epoch makes every step
//! happen once, across restarts.

pub mod config;
pub mod journal;
pub mod pipeline;

pub use config::ValidatorConfig;
pub use pipeline::{EpochReport, Validator, ValidatorError, ValidatorSettings};
