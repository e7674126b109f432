//! What a validator knows about an epoch before it looks at any submission.

use std::collections::BTreeMap;

use crate::config::{ConfigError, ValidationConfig};
use crate::epoch::{EpochId, EpochWindow};
use crate::hotkey::Hotkey;
use crate::rules::ResultsVersion;
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
    /// Each miner hotkey's coldkey, from the metagraph: one rank per coldkey
    /// per zipcode (PROTOCOL.md §5). Hotkeys not in it are their own owner.
    pub coldkeys: BTreeMap<Hotkey, Hotkey>,
    /// The rules the epoch is validated by, as its coordinator announced
    /// them (PROTOCOL.md §7a); the newest this release knows by default.
    pub results_version: ResultsVersion,
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
            coldkeys: BTreeMap::new(),
            results_version: ResultsVersion::LATEST,
        })
    }

    /// The results version the epoch's coordinator announced.
    pub fn with_results_version(mut self, version: ResultsVersion) -> Self {
        self.results_version = version;
        self
    }

    /// The owners of the miners' hotkeys (hotkey → coldkey).
    pub fn with_coldkeys(mut self, coldkeys: BTreeMap<Hotkey, Hotkey>) -> Self {
        self.coldkeys = coldkeys;
        self
    }

    /// Who owns `hotkey`: its coldkey, or itself when unknown.
    pub fn owner_of<'a>(&'a self, hotkey: &'a Hotkey) -> &'a Hotkey {
        self.coldkeys.get(hotkey).unwrap_or(hotkey)
    }
}
