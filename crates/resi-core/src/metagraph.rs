//! The subnet's registered neurons, as the chain reports them.

use serde::{Deserialize, Serialize};

use crate::hotkey::Hotkey;

/// One registered neuron.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Neuron {
    pub uid: u16,
    pub hotkey: Hotkey,
    pub coldkey: Hotkey,
    /// Stake in rao (10⁻⁹ TAO).
    pub stake: u64,
    pub validator_permit: bool,
    /// The block at which this hotkey registered on this uid (0 where the
    /// backend does not know it): a uid re-registered by someone else has a
    /// later block, so the two are never confused.
    #[serde(default)]
    pub registered_block: u64,
}

impl Neuron {
    /// A validator holds a validator permit or at least `min_stake`.
    pub fn is_validator(&self, min_stake: u64) -> bool {
        self.validator_permit || (min_stake > 0 && self.stake >= min_stake)
    }
}
