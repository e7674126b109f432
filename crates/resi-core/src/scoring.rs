//! Scores from ranks (PROTOCOL.md §6), in exact integer arithmetic.
//!
//! A miner's raw score is Σ share(rank) × expected_z / W over the zipcodes it
//! won (W = the expected listings of all zipcodes with a winner), plus, if
//! it is in P (the miners that passed somewhere and won nowhere), the
//! participation pool × min(L_m / L, max(cap, 1 / |P|)), with L_m its
//! listings in the submissions that made it a participant (each at most its
//! zipcode's expected count) and L those of all of P. All of
//! it over the common denominator 10⁸ × W × max(L, 1), so every raw score is
//! an integer numerator. Normalizing to 10⁹ ppb takes
//! floors and hands the remaining units to the largest remainders, ties to the
//! smaller hotkey: the ppb always sum to exactly 10⁹ when anything is scored.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{ValidationConfig, BPS};
use crate::hotkey::Hotkey;
use crate::results::{MinerScore, ZipcodeWeight};
use crate::zipcode::Zipcode;

/// Parts per billion: 10⁹ = everything.
pub const PPB: u64 = 1_000_000_000;

/// The ranking outcome of one zipcode, as scoring needs it.
#[derive(Clone, Debug, Default)]
pub struct ZipcodeRanking {
    pub expected_listings: u64,
    /// Ranks 1, 2, 3 in order.
    pub winners: Vec<Hotkey>,
    /// Participants with the listings of the submission that made them one.
    pub participants: Vec<(Hotkey, u64)>,
}

/// Splits [`PPB`] in proportion to `numerators` (largest remainder, ties to the
/// smaller key). All zero in, all zero out.
pub fn apportion_ppb<K: Ord + Clone>(numerators: &BTreeMap<K, u128>) -> BTreeMap<K, u64> {
    let total: u128 = numerators.values().sum();
    if total == 0 {
        return numerators.keys().map(|k| (k.clone(), 0)).collect();
    }
    let mut out = BTreeMap::new();
    let mut remainders = Vec::with_capacity(numerators.len());
    let mut assigned: u128 = 0;
    for (key, &num) in numerators {
        let scaled = num * PPB as u128;
        let floor = scaled / total;
        assigned += floor;
        remainders.push((scaled % total, key.clone()));
        out.insert(key.clone(), floor as u64);
    }
    let mut left = PPB as u128 - assigned;
    // Largest remainder first; BTreeMap order made `remainders` key-sorted, and
    // the stable sort keeps the smaller key first among equal remainders.
    remainders.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, key) in remainders {
        if left == 0 {
            break;
        }
        if let Some(v) = out.get_mut(&key) {
            *v += 1;
            left -= 1;
        }
    }
    out
}

/// Miner scores (every miner in `all_miners`, zero if unscored) and zipcode
/// weights (every assigned zipcode, zero without a winner), in ppb.
pub fn score(
    rankings: &BTreeMap<Zipcode, ZipcodeRanking>,
    all_miners: &BTreeSet<Hotkey>,
    config: &ValidationConfig,
) -> (Vec<MinerScore>, Vec<ZipcodeWeight>) {
    let won_total: u128 = rankings
        .values()
        .filter(|r| !r.winners.is_empty())
        .map(|r| r.expected_listings as u128)
        .sum();
    let winners: BTreeSet<&Hotkey> = rankings.values().flat_map(|r| r.winners.iter()).collect();
    // Listings per participant (one that won nowhere), over every zipcode;
    // a submission counts at most its zipcode's expected listings.
    let mut listings: BTreeMap<&Hotkey, u128> = BTreeMap::new();
    for ranking in rankings.values() {
        for (hotkey, n) in &ranking.participants {
            if !winners.contains(hotkey) {
                *listings.entry(hotkey).or_insert(0) += (*n).min(ranking.expected_listings) as u128;
            }
        }
    }
    let l_total = listings.values().sum::<u128>().max(1);
    const SCALE: u128 = BPS as u128;

    let mut numerators: BTreeMap<Hotkey, u128> = all_miners.iter().map(|h| (h.clone(), 0)).collect();
    for ranking in rankings.values() {
        for (rank, hotkey) in ranking.winners.iter().enumerate().take(3) {
            let share = config.winner_shares_bps[rank] as u128;
            *numerators.entry(hotkey.clone()).or_insert(0) +=
                share * ranking.expected_listings as u128 * l_total * SCALE;
        }
    }
    // With no winner anywhere W is 0; participation alone then decides, over W = 1.
    let w = won_total.max(1);
    // The cap never binds below an equal split (one participant takes the pool).
    let equal_split = SCALE.div_ceil(listings.len().max(1) as u128);
    let cap = (config.participation_max_share_bps as u128).max(equal_split) * l_total;
    for (hotkey, n) in listings {
        *numerators.entry(hotkey.clone()).or_insert(0) += config.participation_bps as u128 * w * (n * SCALE).min(cap);
    }
    let miner_scores = apportion_ppb(&numerators)
        .into_iter()
        .map(|(hotkey, score_ppb)| MinerScore { hotkey, score_ppb })
        .collect();

    let weights: BTreeMap<Zipcode, u128> = rankings
        .iter()
        .map(|(z, r)| {
            (
                *z,
                if r.winners.is_empty() {
                    0
                } else {
                    r.expected_listings as u128
                },
            )
        })
        .collect();
    let zipcode_weights = apportion_ppb(&weights)
        .into_iter()
        .map(|(zipcode, weight_ppb)| ZipcodeWeight { zipcode, weight_ppb })
        .collect();
    (miner_scores, zipcode_weights)
}
