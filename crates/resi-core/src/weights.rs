//! From scores to on-chain weights (PROTOCOL.md §8), the way Bittensor does it.
//!
//! [`convert_weights_and_uids_for_emit`] and [`normalize_max_weight`] follow
//! `bittensor.utils.weight_utils` (bittensor 10.5) operation for operation;
//! `tests/fixtures/weights.json` holds the vectors made with the real package.

use std::collections::BTreeMap;

use crate::hotkey::Hotkey;
use crate::metagraph::Neuron;
use crate::results::MinerScore;

pub const U16_MAX: u16 = u16::MAX;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightError {
    #[error("passed weight is negative: {0}")]
    NegativeWeight(String),
    #[error("passed weight is not a number")]
    NotANumber,
    #[error("uids and weights differ in length ({uids} vs {weights})")]
    LengthMismatch { uids: usize, weights: usize },
    #[error("burn of {0} bps is over 10000")]
    BurnTooLarge(u64),
}

/// `convert_weights_and_uids_for_emit`: each weight becomes
/// `round_half_even(w / max(w) × 65535)` in f64; entries that round to 0 are
/// dropped with their uid; input order is kept; all-zero (or empty) input
/// gives two empty lists.
pub fn convert_weights_and_uids_for_emit(uids: &[u16], weights: &[f64]) -> Result<(Vec<u16>, Vec<u16>), WeightError> {
    if let Some(w) = weights.iter().find(|w| **w < 0.0) {
        return Err(WeightError::NegativeWeight(w.to_string()));
    }
    if weights.iter().any(|w| w.is_nan()) {
        return Err(WeightError::NotANumber);
    }
    if uids.len() != weights.len() {
        return Err(WeightError::LengthMismatch {
            uids: uids.len(),
            weights: weights.len(),
        });
    }
    let sum: f64 = weights.iter().sum();
    if sum == 0.0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let max = weights.iter().copied().fold(0.0f64, f64::max);
    let mut out_uids = Vec::with_capacity(uids.len());
    let mut out_weights = Vec::with_capacity(uids.len());
    for (&uid, &w) in uids.iter().zip(weights) {
        let scaled = (w / max * U16_MAX as f64).round_ties_even();
        let value = scaled.clamp(0.0, U16_MAX as f64) as u16;
        if value != 0 {
            out_uids.push(uid);
            out_weights.push(value);
        }
    }
    Ok((out_uids, out_weights))
}

/// numpy's pairwise float32 summation (`np.add.reduce` on a contiguous array):
/// the first element, plus the pairwise sum of the rest.
fn numpy_sum_f32(values: &[f32]) -> f32 {
    fn pairwise(a: &[f32]) -> f32 {
        let n = a.len();
        if n < 8 {
            let mut res = 0.0f32;
            for &v in a {
                res += v;
            }
            res
        } else if n <= 128 {
            let mut r = [0.0f32; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise(&a[..n2]) + pairwise(&a[n2..])
        }
    }
    match values.split_first() {
        None => 0.0,
        Some((first, rest)) => *first + pairwise(rest),
    }
}

/// `normalize_max_weight(x, limit)`: normalizes `x` to sum 1 with no entry
/// above `limit`, in float32 as numpy does it.
pub fn normalize_max_weight(x: &[f32], limit: f64) -> Vec<f32> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let epsilon = 1e-7f32;
    let limit32 = limit as f32;
    let mut values = x.to_vec();
    values.sort_by(f32::total_cmp);
    let values_sum = numpy_sum_f32(&values);
    if numpy_sum_f32(x) == 0.0 || n as f64 * limit <= 1.0 {
        return vec![1.0 / n as f32; n];
    }
    let estimation: Vec<f32> = values.iter().map(|v| v / values_sum).collect();
    let est_max = estimation.iter().copied().fold(f32::MIN, f32::max);
    if est_max <= limit32 {
        let s = numpy_sum_f32(x);
        return x.iter().map(|v| v / s).collect();
    }
    let mut cumsum = Vec::with_capacity(n);
    let mut acc = 0.0f32;
    for e in &estimation {
        acc += e;
        cumsum.push(acc);
    }
    let n_values = (0..n)
        .filter(|&i| {
            let estimation_sum = (n - i - 1) as f32 * estimation[i];
            estimation[i] / (estimation_sum + cumsum[i] + epsilon) < limit32
        })
        .count();
    // numpy: python float for the denominator, float32 everywhere else.
    let denominator = (1.0 - limit * (n - n_values) as f64) as f32;
    let cum = if n_values == 0 {
        cumsum[n - 1]
    } else {
        cumsum[n_values - 1]
    };
    let cutoff_scale = (limit32 * cum - epsilon) / denominator;
    let cutoff = cutoff_scale * values_sum;
    let clipped: Vec<f32> = x.iter().map(|&w| if w > cutoff { cutoff } else { w }).collect();
    let s = numpy_sum_f32(&clipped);
    clipped.iter().map(|w| w / s).collect()
}

/// Optional burn: a share of the emission to the subnet owner's uid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BurnPolicy {
    pub burn_bps: u64,
    pub owner_uid: Option<u16>,
}

/// The weights a validator sets, ready for the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightVector {
    pub uids: Vec<u16>,
    pub weights: Vec<u16>,
    /// Scored hotkeys that have no uid on the metagraph (deregistered): not paid.
    pub unmapped: Vec<Hotkey>,
}

/// Maps scores to uids and converts them: validators and `self_hotkey` get 0,
/// `burn_bps` of the total goes to the owner uid, then
/// [`convert_weights_and_uids_for_emit`]. With nothing scored and no burn the
/// vector is empty (the caller then sets no weights).
pub fn scores_to_weights(
    scores: &[MinerScore],
    neurons: &[Neuron],
    self_hotkey: &Hotkey,
    validator_min_stake: u64,
    burn: BurnPolicy,
) -> Result<WeightVector, WeightError> {
    if burn.burn_bps > 10_000 {
        return Err(WeightError::BurnTooLarge(burn.burn_bps));
    }
    let by_hotkey: BTreeMap<&Hotkey, &Neuron> = neurons.iter().map(|n| (&n.hotkey, n)).collect();
    // Integer numerators (ppb × bps ≤ 10¹³) are exact in f64.
    let mut per_uid: BTreeMap<u16, u128> = neurons.iter().map(|n| (n.uid, 0)).collect();
    let mut unmapped = Vec::new();
    let mut miner_total: u128 = 0;
    for s in scores.iter().filter(|s| s.score_ppb > 0) {
        match by_hotkey.get(&s.hotkey) {
            None => unmapped.push(s.hotkey.clone()),
            Some(n) if n.is_validator(validator_min_stake) || &n.hotkey == self_hotkey => {}
            Some(n) => {
                let v = s.score_ppb as u128 * (10_000 - burn.burn_bps) as u128;
                *per_uid.entry(n.uid).or_insert(0) += v;
                miner_total += s.score_ppb as u128;
            }
        }
    }
    if let Some(owner) = burn.owner_uid.filter(|_| burn.burn_bps > 0) {
        let burned = if miner_total == 0 {
            10_000 * 1_000_000_000
        } else {
            miner_total * burn.burn_bps as u128
        };
        *per_uid.entry(owner).or_insert(0) += burned;
    }
    let uids: Vec<u16> = per_uid.keys().copied().collect();
    let weights: Vec<f64> = per_uid.values().map(|v| *v as f64).collect();
    let (uids, weights) = convert_weights_and_uids_for_emit(&uids, &weights)?;
    Ok(WeightVector {
        uids,
        weights,
        unmapped,
    })
}
