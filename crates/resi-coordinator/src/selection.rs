//! Zipcode selection and the epoch's derived values (PROTOCOL.md §2a), all
//! deterministic from (secret, epochId): reproducible for the operator,
//! unpredictable for miners.

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use resi_core::{EpochId, SeedCommitment, ValidationSeed, Zipcode};
use sha2::Sha256;

use crate::universe::UniverseZipcode;

/// Version of the selection algorithm, published in every assignment.
pub const ALGORITHM_VERSION: &str = "resi-selection-v1";

pub use resi_core::selection::SelectionParams;

/// An epoch's selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Sorted by zipcode; the honeypot, if any, among them.
    pub zipcodes: Vec<UniverseZipcode>,
    pub honeypot: Option<Zipcode>,
    pub total_expected: u64,
    /// Hex of HMAC-SHA256(secret, epochId): the selection's randomness.
    pub selection_seed: String,
    /// True when the candidates ran out before the target's lower bound.
    pub short_of_target: bool,
}

/// Values derived from the secret for one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochSeeds {
    /// First 16 hex digits of HMAC-SHA256(secret, "{epochId}:{z1},{z2},…") over the sorted zipcodes.
    pub nonce: String,
    /// HMAC-SHA256(secret, "validation{epochId}"); revealed after the deadline.
    pub validation_seed: ValidationSeed,
    /// SHA-256 over the 32 bytes of the validation seed; published in advance.
    pub validation_seed_commitment: SeedCommitment,
}

fn hmac(secret: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC-SHA256 accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The nonce and validation seed of an epoch with these zipcodes.
pub fn epoch_seeds(secret: &[u8], epoch: &EpochId, zipcodes: &[Zipcode]) -> EpochSeeds {
    let mut sorted: Vec<&str> = zipcodes.iter().map(Zipcode::as_str).collect();
    sorted.sort_unstable();
    let nonce_input = format!("{epoch}:{}", sorted.join(","));
    let nonce = hex::encode(&hmac(secret, nonce_input.as_bytes())[..8]);
    let seed = ValidationSeed::from_bytes(hmac(secret, format!("validation{epoch}").as_bytes()));
    EpochSeeds {
        nonce,
        validation_seed: seed,
        validation_seed_commitment: seed.commitment(),
    }
}

fn below(rng: &mut ChaCha20Rng, m: u128) -> u128 {
    let threshold = m.wrapping_neg() % m;
    loop {
        let x = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
        if x >= threshold {
            return x % m;
        }
    }
}

/// Weighted selection without replacement: weight = expected listings ×
/// tier weight × state weight (exact integers); draws until the total reaches
/// target × (1 − tolerance), skipping draws that would pass target × (1 + tolerance).
pub fn select(
    secret: &[u8],
    epoch: &EpochId,
    universe: &BTreeMap<Zipcode, UniverseZipcode>,
    recently_assigned: &BTreeSet<Zipcode>,
    params: &SelectionParams,
) -> Selection {
    let seed = hmac(secret, epoch.to_string().as_bytes());
    let mut rng = ChaCha20Rng::from_seed(seed);
    let mut candidates: Vec<(&UniverseZipcode, u128)> = universe
        .values()
        .filter(|z| (params.min_expected..=params.max_expected).contains(&z.expected_listings))
        .filter(|z| !recently_assigned.contains(&z.zipcode))
        .map(|z| {
            let state = params.state_priority_milli.get(&z.state).copied().unwrap_or(1_000);
            (
                z,
                z.expected_listings as u128 * z.market_tier.weight_milli() as u128 * state as u128,
            )
        })
        .filter(|(_, w)| *w > 0)
        .collect();
    let lower = (params.target_listings * 100u64.saturating_sub(params.tolerance_percent)).div_ceil(100);
    let upper = params.target_listings * (100 + params.tolerance_percent) / 100;
    let mut chosen: Vec<UniverseZipcode> = Vec::new();
    let mut total = 0u64;
    while total < lower && !candidates.is_empty() && chosen.len() < params.max_zipcodes {
        let sum: u128 = candidates.iter().map(|(_, w)| w).sum();
        let mut r = below(&mut rng, sum);
        let mut pick = candidates.len() - 1;
        for (i, (_, w)) in candidates.iter().enumerate() {
            if r < *w {
                pick = i;
                break;
            }
            r -= w;
        }
        let (z, _) = candidates.remove(pick);
        if total + z.expected_listings <= upper {
            total += z.expected_listings;
            chosen.push(z.clone());
        }
    }
    let short_of_target = total < lower;
    let mut honeypot = None;
    if params.honeypot {
        let picked: BTreeSet<Zipcode> = chosen.iter().map(|z| z.zipcode).collect();
        let pots: Vec<&UniverseZipcode> = universe
            .values()
            .filter(|z| z.expected_listings <= params.honeypot_max_expected)
            .filter(|z| !recently_assigned.contains(&z.zipcode) && !picked.contains(&z.zipcode))
            .collect();
        if !pots.is_empty() {
            let z = pots[below(&mut rng, pots.len() as u128) as usize];
            honeypot = Some(z.zipcode);
            total += z.expected_listings;
            chosen.push(z.clone());
        }
    }
    chosen.sort_by_key(|z| z.zipcode);
    Selection {
        zipcodes: chosen,
        honeypot,
        total_expected: total,
        selection_seed: hex::encode(seed),
        short_of_target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_core::MarketTier;

    fn universe(n: usize) -> BTreeMap<Zipcode, UniverseZipcode> {
        Zipcode::all()
            .step_by(37)
            .take(n)
            .enumerate()
            .map(|(i, z)| {
                let info = z.info();
                let tier = [MarketTier::Premium, MarketTier::Standard, MarketTier::Emerging][i % 3];
                let expected = 20 + (i as u64 * 7919) % 1_500;
                (
                    z,
                    UniverseZipcode {
                        zipcode: z,
                        state: info.state.to_owned(),
                        city: info.city.to_owned(),
                        county: info.county.to_owned(),
                        expected_listings: expected,
                        market_tier: tier,
                        geographic_region: "test".into(),
                    },
                )
            })
            .collect()
    }

    fn epoch(h: i64) -> EpochId {
        EpochId::from_start_unix(1_759_334_400 + h * 14_400).unwrap()
    }

    #[test]
    fn deterministic_and_within_bounds() {
        let u = universe(400);
        let p = SelectionParams::default();
        let a = select(b"secret", &epoch(0), &u, &BTreeSet::new(), &p);
        assert_eq!(a, select(b"secret", &epoch(0), &u, &BTreeSet::new(), &p));
        assert!(!a.short_of_target);
        assert!((9_000..=11_000).contains(&a.total_expected), "{}", a.total_expected);
        assert!(a.zipcodes.iter().all(|z| (100..=2_000).contains(&z.expected_listings)));
        assert!(a.zipcodes.windows(2).all(|w| w[0].zipcode < w[1].zipcode));
        // Another epoch or another secret draws differently.
        assert_ne!(
            a.zipcodes,
            select(b"secret", &epoch(1), &u, &BTreeSet::new(), &p).zipcodes
        );
        assert_ne!(
            a.zipcodes,
            select(b"other", &epoch(0), &u, &BTreeSet::new(), &p).zipcodes
        );
    }

    #[test]
    fn cooldown_and_honeypot() {
        let u = universe(400);
        let p = SelectionParams {
            honeypot: true,
            ..Default::default()
        };
        let first = select(b"s", &epoch(0), &u, &BTreeSet::new(), &p);
        let pot = first.honeypot.expect("a low-volume zipcode exists");
        assert!(u[&pot].expected_listings <= 60);
        let cooled: BTreeSet<Zipcode> = first.zipcodes.iter().map(|z| z.zipcode).collect();
        let second = select(b"s", &epoch(0), &u, &cooled, &p);
        assert!(second.zipcodes.iter().all(|z| !cooled.contains(&z.zipcode)));
    }

    #[test]
    fn a_small_universe_comes_up_short_without_looping() {
        let u = universe(5);
        let s = select(b"s", &epoch(0), &u, &BTreeSet::new(), &SelectionParams::default());
        assert!(s.short_of_target);
        assert!(s.zipcodes.len() <= 5);
    }

    #[test]
    fn seeds_and_commitment() {
        let z = [Zipcode::parse("77429").unwrap(), Zipcode::parse("10001").unwrap()];
        let a = epoch_seeds(b"secret", &epoch(0), &z);
        let b = epoch_seeds(b"secret", &epoch(0), &[z[1], z[0]]);
        assert_eq!(a, b, "order of zipcodes does not matter");
        assert_eq!(a.nonce.len(), 16);
        assert!(a.validation_seed_commitment.is_commitment_to(&a.validation_seed));
        assert!(!a
            .validation_seed_commitment
            .is_commitment_to(&epoch_seeds(b"x", &epoch(0), &z).validation_seed));
        assert_ne!(a.nonce, epoch_seeds(b"secret", &epoch(0), &z[..1]).nonce);
    }
}
