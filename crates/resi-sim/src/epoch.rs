//! Synthetic epochs: many miners of every behaviour submitting for many
//! zipcodes, encoded as the Parquet bytes a validator would download.

use std::collections::BTreeMap;

use bytes::Bytes;
use rayon::prelude::*;
use resi_core::assignment::MarketTier;
use resi_core::schema::encode_listings;
use resi_core::{EpochContext, EpochLength, Hotkey, ManifestEntry, SubmissionInput, ValidationConfig, Zipcode};
use sha2::{Digest, Sha256};

use crate::market::{Market, ZipcodeMarket};
use crate::profile::{scrape, Profile};

/// What a synthetic miner does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinerKind {
    Behaves(Profile),
    /// Uploads bytes that are not Parquet (tier 0: unreadable).
    Corrupt,
    /// Its manifest lists a different hash (tier 0: manifest).
    ManifestMismatch,
}

impl MinerKind {
    pub fn label(&self) -> &'static str {
        match self {
            MinerKind::Behaves(p) => p.as_str(),
            MinerKind::Corrupt => "corrupt",
            MinerKind::ManifestMismatch => "manifest-mismatch",
        }
    }

    pub fn is_honest(&self) -> bool {
        matches!(self, MinerKind::Behaves(p) if p.is_honest())
    }

    /// The cheating kinds, in the order they are handed out.
    pub const CHEATS: [MinerKind; 14] = [
        MinerKind::Behaves(Profile::Lazy),
        MinerKind::Behaves(Profile::Fabricator),
        MinerKind::Behaves(Profile::Duplicator),
        MinerKind::Behaves(Profile::Copier),
        MinerKind::Behaves(Profile::Stale),
        MinerKind::Behaves(Profile::WrongZipcode),
        MinerKind::Behaves(Profile::Unreasonable),
        MinerKind::Behaves(Profile::AliasPadding),
        MinerKind::Behaves(Profile::ShortChanger),
        MinerKind::Behaves(Profile::LightFabricator),
        MinerKind::Behaves(Profile::Unverifiable),
        MinerKind::Behaves(Profile::PreScrape),
        MinerKind::Corrupt,
        MinerKind::ManifestMismatch,
    ];
}

/// The shape of a synthetic epoch.
#[derive(Clone, Copy, Debug)]
pub struct EpochSpec {
    pub miners: usize,
    pub zipcodes: usize,
    pub listings: u64,
    /// Share of miners that cheat, in percent (the rest are honest).
    pub cheater_percent: usize,
    pub seed: u64,
}

/// A generated epoch, ready for the validation engine.
pub struct SyntheticEpoch {
    pub ctx: EpochContext,
    pub market: Market,
    pub miners: Vec<(Hotkey, MinerKind)>,
    pub submissions: Vec<SubmissionInput>,
}

impl SyntheticEpoch {
    pub fn total_listings(&self) -> u64 {
        self.submissions.len() as u64 * self.ctx.zipcodes.values().next().copied().unwrap_or(0)
    }
    pub fn total_bytes(&self) -> u64 {
        self.submissions.iter().map(|s| s.bytes.len() as u64).sum()
    }
}

/// A miner's hotkey: any 32 bytes make a valid SS58 account.
pub fn synthetic_hotkey(seed: u64, index: usize) -> Hotkey {
    let digest: [u8; 32] = Sha256::digest(format!("resi-sim miner {seed} {index}").as_bytes()).into();
    Hotkey::from_public_key(digest)
}

/// Builds the epoch: the market, each miner's files and manifest hashes.
/// Work is spread over rayon's pool; the output does not depend on it.
pub fn build(spec: EpochSpec, config: ValidationConfig) -> Result<SyntheticEpoch, crate::SimError> {
    build_epoch(spec, config).map_err(crate::SimError)
}

fn build_epoch(spec: EpochSpec, config: ValidationConfig) -> Result<SyntheticEpoch, String> {
    let zipcodes = Zipcode::spread(spec.zipcodes);
    let tiers = [MarketTier::Standard, MarketTier::Premium, MarketTier::Emerging];
    let markets: BTreeMap<Zipcode, ZipcodeMarket> = zipcodes
        .iter()
        .enumerate()
        .map(|(i, z)| {
            (
                *z,
                ZipcodeMarket {
                    listings: spec.listings,
                    tier: tiers[i % tiers.len()],
                },
            )
        })
        .collect();
    let market = Market::new(spec.seed, markets.clone());
    let length = EpochLength::PRODUCTION;
    let epoch = length.epoch_containing(1_759_334_400).map_err(|e| e.to_string())?;
    let window = length.window(epoch).map_err(|e| e.to_string())?;
    let seed_hex = hex::encode(Sha256::digest(format!("validation seed {}", spec.seed).as_bytes()));
    let nonce = hex::encode(&Sha256::digest(format!("nonce {}", spec.seed).as_bytes())[..8]);
    let ctx = EpochContext::new(
        window,
        nonce,
        seed_hex,
        markets.iter().map(|(z, m)| (*z, m.listings)).collect(),
        config,
    )
    .map_err(|e| e.to_string())?;

    let cheaters = spec.miners * spec.cheater_percent / 100;
    let honest = spec.miners - cheaters;
    let miners: Vec<(Hotkey, MinerKind)> = (0..spec.miners)
        .map(|i| {
            let kind = if i < honest {
                MinerKind::Behaves(if i % 4 == 3 {
                    Profile::HonestSlow
                } else {
                    Profile::HonestFast
                })
            } else {
                MinerKind::CHEATS[(i - honest) % MinerKind::CHEATS.len()]
            };
            (synthetic_hotkey(spec.seed, i), kind)
        })
        .collect();

    let properties: BTreeMap<Zipcode, Vec<crate::market::Property>> = zipcodes
        .par_iter()
        .map(|z| (*z, market.properties(*z, window.start_ms())))
        .collect();
    let epoch_ms = (window.end_unix - window.start_unix) * 1000;
    let jobs: Vec<(usize, Zipcode)> = (0..miners.len())
        .flat_map(|m| zipcodes.iter().map(move |z| (m, *z)))
        .collect();
    let submissions = jobs
        .par_iter()
        .map(|&(m, zipcode)| -> Result<SubmissionInput, String> {
            let (hotkey, kind) = &miners[m];
            let profile = match kind {
                MinerKind::Behaves(p) => *p,
                _ => Profile::HonestFast,
            };
            // Each miner finishes a zipcode at its own moment; slow ones late.
            let zip_jitter = (zipcode.as_str().parse::<i64>().unwrap_or(0) % 997) * 13;
            let finish_ms = (epoch_ms as f64 * profile.finish_fraction()) as i64 + m as i64 * 1_000 + zip_jitter;
            let scraped_ms = window.start_ms() + finish_ms - 120_000;
            let props = properties.get(&zipcode).map(Vec::as_slice).unwrap_or(&[]);
            let (listings, submitted_at_ms) = if profile == Profile::Copier {
                // Copies miner 0's files a little later, every stamp 1 ms on.
                let victim_finish = (epoch_ms as f64 * Profile::HonestFast.finish_fraction()) as i64 + zip_jitter;
                let victim_scraped = window.start_ms() + victim_finish - 120_000;
                let mut copied = scrape(&market, props, zipcode, &window, Profile::HonestFast, 0, victim_scraped);
                crate::profile::shift(&mut copied, 1);
                (copied, window.start_ms() + finish_ms + 5_000)
            } else {
                (
                    scrape(&market, props, zipcode, &window, profile, m as u64, scraped_ms),
                    window.start_ms() + finish_ms,
                )
            };
            let mut bytes = encode_listings(&listings).map_err(|e| e.to_string())?;
            if *kind == MinerKind::Corrupt {
                bytes.truncate(bytes.len() / 2);
            }
            let mut sha: [u8; 32] = Sha256::digest(&bytes).into();
            if *kind == MinerKind::ManifestMismatch {
                sha[0] ^= 0xff;
            }
            Ok(SubmissionInput {
                hotkey: hotkey.clone(),
                zipcode,
                submitted_at_ms,
                bytes: Bytes::from(bytes),
                manifest: ManifestEntry::Sha256(sha),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(SyntheticEpoch {
        ctx,
        market,
        miners,
        submissions,
    })
}
