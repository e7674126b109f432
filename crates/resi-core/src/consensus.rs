//! Agreement between validators (PROTOCOL.md §7): group published results by
//! consensus hash and weigh the groups by stake.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hotkey::Hotkey;

/// Share of participating stake the largest group needs for a majority, in bps.
pub const MAJORITY_BPS: u64 = 9_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsensusStatus {
    PerfectConsensus,
    MajorityConsensus,
    ConsensusFailed,
}

impl std::fmt::Display for ConsensusStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConsensusStatus::PerfectConsensus => "PERFECT_CONSENSUS",
            ConsensusStatus::MajorityConsensus => "MAJORITY_CONSENSUS",
            ConsensusStatus::ConsensusFailed => "CONSENSUS_FAILED",
        })
    }
}

/// One validator's published hash and its stake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedHash {
    pub validator: Hotkey,
    pub stake: u64,
    pub consensus_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashGroup {
    pub consensus_hash: String,
    pub validators: Vec<Hotkey>,
    pub stake: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusReport {
    pub status: ConsensusStatus,
    /// The hash of the heaviest group (None when nobody published).
    pub majority_hash: Option<String>,
    pub groups: Vec<HashGroup>,
    /// Validators outside the heaviest group.
    pub outliers: Vec<Hotkey>,
    pub participating_stake: u64,
}

/// Groups published hashes. When every participant has zero stake, each
/// counts as one unit so that a devnet without stake still has a majority rule.
/// The heaviest group wins; equal stake goes to the smaller hash.
pub fn evaluate(published: &[PublishedHash]) -> ConsensusReport {
    let zero_stake = published.iter().all(|p| p.stake == 0);
    let weight = |p: &PublishedHash| if zero_stake { 1 } else { p.stake };
    let mut groups: BTreeMap<&str, HashGroup> = BTreeMap::new();
    let mut seen: BTreeMap<&Hotkey, ()> = BTreeMap::new();
    for p in published {
        if seen.insert(&p.validator, ()).is_some() {
            continue; // one vote per validator: the first published result counts
        }
        let g = groups.entry(&p.consensus_hash).or_insert_with(|| HashGroup {
            consensus_hash: p.consensus_hash.clone(),
            validators: Vec::new(),
            stake: 0,
        });
        g.validators.push(p.validator.clone());
        g.stake += weight(p);
    }
    let mut groups: Vec<HashGroup> = groups.into_values().collect();
    for g in &mut groups {
        g.validators.sort();
    }
    groups.sort_by(|a, b| {
        b.stake
            .cmp(&a.stake)
            .then_with(|| a.consensus_hash.cmp(&b.consensus_hash))
    });
    let participating_stake: u64 = groups.iter().map(|g| g.stake).sum();
    let (status, majority_hash, outliers) = match groups.first() {
        None => (ConsensusStatus::ConsensusFailed, None, Vec::new()),
        Some(top) => {
            let mut outliers: Vec<Hotkey> = groups[1..].iter().flat_map(|g| g.validators.iter().cloned()).collect();
            outliers.sort();
            let status = if groups.len() == 1 {
                ConsensusStatus::PerfectConsensus
            } else if top.stake as u128 * 10_000 >= participating_stake as u128 * MAJORITY_BPS as u128 {
                ConsensusStatus::MajorityConsensus
            } else {
                ConsensusStatus::ConsensusFailed
            };
            (status, Some(top.consensus_hash.clone()), outliers)
        }
    };
    ConsensusReport {
        status,
        majority_hash,
        groups,
        outliers,
        participating_stake,
    }
}
