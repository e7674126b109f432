//! What a validator knows about an epoch before it looks at any submission.

use std::collections::BTreeMap;

use crate::config::{ConfigError, ValidationConfig};
use crate::epoch::{EpochId, EpochWindow};
use crate::zipcode::Zipcode;

/// The epoch being validated: its identity, the revealed seed, the assigned
/// zipcodes with their expected listing counts, and the thresholds.
#[derive(Clone, Debug)]
pub struct EpochContext {
    pub epoch_id: EpochId,
    pub nonce: String,
    /// The revealed validation seed (hex), as published by the coordinator.
    pub validation_seed: String,
    pub start_ms: i64,
    pub deadline_ms: i64,
    pub zipcodes: BTreeMap<Zipcode, u64>,
    pub config: ValidationConfig,
}

impl EpochContext {
    pub fn new(
        window: EpochWindow,
        nonce: impl Into<String>,
        validation_seed: impl Into<String>,
        zipcodes: BTreeMap<Zipcode, u64>,
        config: ValidationConfig,
    ) -> Result<Self, ConfigError> {
        config.check()?;
        Ok(Self {
            epoch_id: window.id,
            nonce: nonce.into(),
            validation_seed: validation_seed.into(),
            start_ms: window.start_ms(),
            deadline_ms: window.deadline_ms(),
            zipcodes,
            config,
        })
    }
}
