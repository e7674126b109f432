//! resi-chain: what resi needs from the chain, behind one small interface.
//!
//! The subnet's metagraph (registered neurons with uid, hotkey, coldkey,
//! stake and validator permit) and, later, setting weights. Backends: `local`
//! (this crate: a JSON file of neurons, for development and tests) and
//! `subtensor` (a real node, to come).
//!
//! Architecture invariant: callers see only [`Metagraph`]; no other crate
//! reads the metagraph file or talks to a node.

pub mod local;

pub use local::{LocalMetagraph, MetagraphError};
pub use resi_core::Neuron;

/// The registered neurons of the subnet, by uid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metagraph {
    neurons: Vec<Neuron>,
}

impl Metagraph {
    pub fn new(mut neurons: Vec<Neuron>) -> Self {
        neurons.sort_by_key(|n| n.uid);
        Self { neurons }
    }

    pub fn neurons(&self) -> &[Neuron] {
        &self.neurons
    }

    pub fn by_hotkey(&self, hotkey: &resi_core::Hotkey) -> Option<&Neuron> {
        self.neurons.iter().find(|n| &n.hotkey == hotkey)
    }

    /// The next uid not taken.
    pub fn next_uid(&self) -> Option<u16> {
        (0..=u16::MAX).find(|uid| !self.neurons.iter().any(|n| n.uid == *uid))
    }

    /// A fixed-width table for people.
    pub fn table(&self, validator_min_stake: u64) -> String {
        let mut out = format!(
            "{:>5}  {:<48}  {:<48}  {:>20}  {}\n",
            "uid", "hotkey", "coldkey", "stake (rao)", "validator"
        );
        for n in &self.neurons {
            out.push_str(&format!(
                "{:>5}  {:<48}  {:<48}  {:>20}  {}\n",
                n.uid,
                n.hotkey,
                n.coldkey,
                n.stake,
                if n.is_validator(validator_min_stake) {
                    "yes"
                } else {
                    "no"
                }
            ));
        }
        out
    }
}
