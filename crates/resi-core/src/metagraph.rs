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
    /// Total stake as the runtime's metagraph reports it (`total_stake`:
    /// alpha stake plus TAO stake × `TaoWeight`), in the subnet's alpha
    /// units of 10⁻⁹ (what the Python SDK shows as `metagraph.S`, in whole
    /// tokens there). Validators' consensus is weighted by it.
    pub stake: u64,
    /// Alpha staked on the hotkey in this subnet, units of 10⁻⁹ alpha (the
    /// SDK's `alpha_stake`); 0 where the backend does not know it.
    #[serde(default)]
    pub alpha_stake: u64,
    /// TAO staked on the hotkey (root), in rao, 10⁻⁹ TAO (the SDK's
    /// `tao_stake`); 0 where the backend does not know it.
    #[serde(default)]
    pub tao_stake: u64,
    pub validator_permit: bool,
    /// The block at which this hotkey registered on this uid (0 where the
    /// backend does not know it): a uid re-registered by someone else has a
    /// later block, so the two are never confused.
    #[serde(default)]
    pub registered_block: u64,
}

impl Neuron {
    /// A validator holds a validator permit **and** at least `min_stake`
    /// (units of 10⁻⁹, as [`Self::stake`]); a permit alone is not enough
    /// where a subnet has fewer neurons than permits and every miner holds
    /// one. Nobody without a permit is a validator: the chain ignores the
    /// weights of a neuron without one.
    pub fn is_validator(&self, min_stake: u64) -> bool {
        self.validator_permit && self.stake >= min_stake
    }
}
