//! `resi bench gauntlet`: attacker strategies against honest miners of equal
//! speed, through the real engine and real Parquet, over many seeds.
//!
//! A trial is one epoch of the synthetic market: `honest` honest miners whose
//! finish times are drawn from one distribution (30–60 % of the epoch per
//! zipcode), and the strategy's hotkeys, whose work is drawn from the same
//! distribution and then shortened by what the strategy skips. Scrapes are
//! stamped per page (every row of a 40-row page with the page's instant) as
//! resi's own and the example scrapers stamp them; `per_row_stamps` stamps
//! each row apart. Every file is encoded to Parquet and examined, ranked and
//! scored by `resi-core` with the market as the tier-3 source (a zpid too
//! long for a URL is `unavailable`, as an HTTP source answers 414), behind
//! the validators' per-epoch cache. Per strategy the report gives the
//! trials, the share of trials where the strategy earned nothing (caught),
//! its earnings over an honest miner's mean (all its hotkeys together; the
//! ratio of the totals over the trials, ± the standard deviation of the
//! per-trial ratios), the same per unit of work (earnings over the listings
//! it fetched from the source, against an honest miner's), the share of
//! honest submissions that failed and the paid lookups per epoch. Every
//! strategy meets the same markets and finish times trial by trial, and
//! `honest-control` is an honest miner in the attacker's place. Everything
//! is a function of the seed.

use std::collections::BTreeMap;

use bytes::Bytes;
use rayon::prelude::*;
use resi_core::listing::Listing;
use resi_core::results::Status;
use resi_core::verify::{Lookup, PropertySource, SourceVerifier};
use resi_core::{
    examine, EpochContext, EpochLength, EpochValidation, Hotkey, ManifestEntry, SubmissionInput, ValidationConfig,
    Zipcode,
};
use resi_sim::market::{read_times, Market, ZipcodeMarket};
use resi_sim::profile::{apply, restamp, shift, Profile};
use sha2::{Digest, Sha256};

use crate::BenchError;

/// An attacker's plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// An honest miner in the attacker's place: the baseline every other
    /// line compares with (not exactly 1: the mean of per-trial ratios).
    HonestControl,
    /// Scrapes the zipcode 1–23 h before the epoch, re-stamps the rows
    /// into its first second and uploads then.
    PreScrape,
    /// Scrapes 10 % and pads with the same zpids given leading zeros.
    AliasPadding,
    /// One scrape under three hotkeys of one coldkey, timestamps shifted by ms.
    Sybil,
    /// The same under three coldkeys (registration cost is the bound).
    SybilColdkeys,
    /// This many hotkeys on as many coldkeys, each hotkey's copy of one
    /// scrape re-stamped at a pace of its own: nothing in the files tells
    /// it from that many honest scrapes.
    SybilRestamped(usize),
    /// Scrapes 1–23 h before the epoch, stamps the rows into its first
    /// second, prices 4 rows $1 higher as decoys for the freshness rule, and
    /// a helper hotkey of the same coldkey uploads the file shifted by 1 ms.
    PreScrapeDecoys,
    /// Inflates the zipcode's median listing count so honest files fail the
    /// relative tier 1: a fresh scrape plus 18 listings removed within the
    /// week (the source still knows them) and 4 decoys, uploaded by 5
    /// helper hotkeys on coldkeys of their own as well, each re-stamped.
    MedianInflation,
    /// The short-changer and 4 helper hotkeys on coldkeys of their own
    /// uploading its file, each re-stamped.
    ShortChangerHelpers,
    /// Against a sloppy source (one that answers an unknown zpid with an
    /// error, not a not-found): 5 breaker hotkeys on coldkeys of their own
    /// upload invented zpids to make the source look broken, and the main
    /// hotkey invents half of its rows.
    SourceBreaker,
    /// Half the rows carry ids no property API accepts (a 400 or 414 is
    /// `unavailable`, never evidence), so they are never checked.
    Unverifiable,
    /// Uploads exactly ⌈0.85 × expected⌉ rows, sooner.
    ShortChanger,
    /// Twenty hotkeys upload the same full scrape late, for the participation pool.
    ParticipationSybil,
    /// Copies an honest miner's file, shifting every timestamp by 1 ms.
    CopierShifted,
    /// Invents 5–10 % of its rows.
    LightFabricator,
    /// Today's devnet profiles.
    Profile(Profile),
}

impl Strategy {
    pub fn all() -> Vec<Strategy> {
        let mut all = vec![
            Strategy::HonestControl,
            Strategy::PreScrape,
            Strategy::AliasPadding,
            Strategy::Sybil,
            Strategy::SybilColdkeys,
            Strategy::SybilRestamped(2),
            Strategy::SybilRestamped(3),
            Strategy::SybilRestamped(5),
            Strategy::SybilRestamped(10),
            Strategy::PreScrapeDecoys,
            Strategy::MedianInflation,
            Strategy::ShortChangerHelpers,
            Strategy::SourceBreaker,
            Strategy::Unverifiable,
            Strategy::ShortChanger,
            Strategy::ParticipationSybil,
            Strategy::CopierShifted,
            Strategy::LightFabricator,
        ];
        all.extend(
            [
                Profile::Lazy,
                Profile::Fabricator,
                Profile::Duplicator,
                Profile::Stale,
                Profile::WrongZipcode,
                Profile::Unreasonable,
            ]
            .map(Strategy::Profile),
        );
        all
    }

    pub fn name(&self) -> String {
        match self {
            Strategy::HonestControl => "honest-control".into(),
            Strategy::PreScrape => "pre-scrape".into(),
            Strategy::AliasPadding => "alias-padding".into(),
            Strategy::Sybil => "sybil".into(),
            Strategy::SybilColdkeys => "sybil-coldkeys".into(),
            Strategy::SybilRestamped(n) => format!("sybil-restamped-{n}"),
            Strategy::PreScrapeDecoys => "pre-scrape-decoys".into(),
            Strategy::MedianInflation => "median-inflation".into(),
            Strategy::ShortChangerHelpers => "short-changer-helpers".into(),
            Strategy::SourceBreaker => "source-breaker".into(),
            Strategy::Unverifiable => "unverifiable-rows".into(),
            Strategy::ShortChanger => "short-changer".into(),
            Strategy::ParticipationSybil => "participation-sybil".into(),
            Strategy::CopierShifted => "copier-shifted".into(),
            Strategy::LightFabricator => "light-fabricator".into(),
            Strategy::Profile(p) => p.as_str().into(),
        }
    }

    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::all().into_iter().find(|s| s.name() == name)
    }

    /// Its hotkeys belong to different coldkeys.
    pub fn different_coldkeys(&self) -> bool {
        matches!(
            self,
            Strategy::SybilColdkeys
                | Strategy::SybilRestamped(_)
                | Strategy::MedianInflation
                | Strategy::ShortChangerHelpers
                | Strategy::SourceBreaker
        )
    }
}

/// Parameters of `resi bench gauntlet`.
#[derive(Clone, Debug)]
pub struct GauntletParams {
    pub trials: usize,
    pub seed: u64,
    pub honest: usize,
    pub zipcodes: usize,
    pub listings: u64,
    pub strategies: Vec<Strategy>,
    /// The rules under test.
    pub rules: ValidationConfig,
    /// Stamp every row apart instead of every page at once.
    pub per_row_stamps: bool,
}

impl Default for GauntletParams {
    fn default() -> Self {
        Self {
            trials: 150,
            seed: 1,
            honest: 5,
            zipcodes: 4,
            listings: 120,
            strategies: Strategy::all(),
            rules: ValidationConfig::default(),
            per_row_stamps: false,
        }
    }
}

/// One strategy's line.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyReport {
    pub strategy: String,
    pub trials: usize,
    /// Trials in which the strategy earned nothing.
    pub caught_pct: f64,
    pub ratio_mean: f64,
    pub ratio_sd: f64,
    pub honest_false_positive_pct: f64,
    pub sybil_different_coldkeys: bool,
    /// Why the strategy's first failed submission failed (for people).
    pub example_reason: Option<String>,
    /// Paid lookups per trial epoch, on average.
    pub lookups_per_epoch: f64,
    /// Earnings per listing fetched from the source over an honest miner's
    /// (ratio of the totals over the trials); infinite when it earned
    /// without fetching anything.
    pub earnings_per_work: f64,
}

impl StrategyReport {
    pub fn json(&self) -> String {
        format!(
            "{{\"strategy\":\"{}\",\"trials\":{},\"caughtPct\":{:.2},\"ratioMean\":{:.4},\"ratioSd\":{:.4},\"earningsPerWork\":{},\"honestFalsePositivePct\":{:.2},\"sybilDifferentColdkeys\":{},\"lookupsPerEpoch\":{:.1}}}",
            self.strategy,
            self.trials,
            self.caught_pct,
            self.ratio_mean,
            self.ratio_sd,
            // JSON has no infinity: earning without fetching is `null`.
            if self.earnings_per_work.is_finite() {
                format!("{:.4}", self.earnings_per_work)
            } else {
                "null".to_owned()
            },
            self.honest_false_positive_pct,
            self.sybil_different_coldkeys,
            self.lookups_per_epoch
        )
    }
}

/// The table for people.
pub fn render(reports: &[StrategyReport]) -> String {
    let mut out = format!(
        "{:<24} {:>7} {:>8} {:>18} {:>9} {:>10} {:>14}  {}\n",
        "strategy",
        "trials",
        "caught",
        "earns vs honest",
        "per work",
        "honest FP",
        "lookups/epoch",
        "e.g. failed because"
    );
    for r in reports {
        let reason: String = r.example_reason.as_deref().unwrap_or("").chars().take(70).collect();
        let per_work = if r.earnings_per_work.is_finite() {
            format!("{:.2}×", r.earnings_per_work)
        } else {
            "∞".to_owned()
        };
        out.push_str(&format!(
            "{:<24} {:>7} {:>7.1}% {:>11.2}× ±{:<5.2} {:>9} {:>9.2}% {:>14.1}  {reason}\n",
            r.strategy,
            r.trials,
            r.caught_pct,
            r.ratio_mean,
            r.ratio_sd,
            per_work,
            r.honest_false_positive_pct,
            r.lookups_per_epoch
        ));
    }
    out
}

/// Trials staged at once: their examined submissions wait in memory for
/// their turn to be judged.
const TRIALS_AT_ONCE: usize = 32;

/// Runs every strategy; results do not depend on the threads. Trials are
/// built and examined in parallel, then judged one after another: judging
/// blocks on the engine's `finish`, which spreads its own work over the
/// rayon pool, and judging inside a rayon job could then be stolen onto a
/// thread already blocked in another trial's `finish` (futures' executor
/// refuses to nest and panics).
pub fn run(params: &GauntletParams) -> Result<Vec<StrategyReport>, BenchError> {
    params
        .strategies
        .iter()
        .map(|strategy| {
            let mut outcomes = Vec::with_capacity(params.trials);
            for first in (0..params.trials).step_by(TRIALS_AT_ONCE) {
                let staged = (first..params.trials.min(first + TRIALS_AT_ONCE))
                    .into_par_iter()
                    .map(|t| stage(params, *strategy, t as u64))
                    .collect::<Result<Vec<_>, _>>()?;
                for trial in staged {
                    outcomes.push(judge(trial)?);
                }
            }
            Ok(summarize(*strategy, &outcomes))
        })
        .collect()
}

/// What one trial showed.
#[derive(Clone, Debug)]
struct Outcome {
    attacker_ppb: u64,
    honest_mean_ppb: f64,
    honest_failed: usize,
    honest_submissions: usize,
    attacker_reason: Option<String>,
    /// Paid lookups of the trial's epoch.
    lookups: u64,
    /// Listings the attacker's hotkeys fetched from the source, together.
    attacker_fetched: u64,
    /// Listings each honest miner fetched.
    honest_fetched: u64,
}

fn summarize(strategy: Strategy, outcomes: &[Outcome]) -> StrategyReport {
    let n = outcomes.len().max(1) as f64;
    let ratios: Vec<f64> = outcomes
        .iter()
        .map(|o| {
            if o.honest_mean_ppb > 0.0 {
                o.attacker_ppb as f64 / o.honest_mean_ppb
            } else {
                0.0
            }
        })
        .collect();
    // The headline is the ratio of the totals (what the strategy earns over
    // the trials against what an honest miner earns): the mean of per-trial
    // ratios is biased upwards (an honest miner in the attacker's place
    // scored 1.16× by it, 150 trials). The spread is that of the per-trial ratios.
    let honest_total: f64 = outcomes.iter().map(|o| o.honest_mean_ppb).sum();
    let attacker_total: f64 = outcomes.iter().map(|o| o.attacker_ppb as f64).sum();
    let mean = if honest_total > 0.0 {
        attacker_total / honest_total
    } else {
        0.0
    };
    let ratio_avg = ratios.iter().sum::<f64>() / n;
    let var = ratios.iter().map(|r| (r - ratio_avg).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let failed: usize = outcomes.iter().map(|o| o.honest_failed).sum();
    let total: usize = outcomes.iter().map(|o| o.honest_submissions).sum();
    let attacker_fetched: f64 = outcomes.iter().map(|o| o.attacker_fetched as f64).sum();
    let honest_fetched: f64 = outcomes.iter().map(|o| o.honest_fetched as f64).sum();
    let earnings_per_work = if attacker_total == 0.0 {
        0.0
    } else if attacker_fetched == 0.0 || honest_total == 0.0 {
        f64::INFINITY
    } else {
        (attacker_total / attacker_fetched) / (honest_total / honest_fetched.max(1.0))
    };
    StrategyReport {
        strategy: strategy.name(),
        trials: outcomes.len(),
        caught_pct: 100.0 * outcomes.iter().filter(|o| o.attacker_ppb == 0).count() as f64 / n,
        earnings_per_work,
        ratio_mean: mean,
        ratio_sd: var.sqrt(),
        honest_false_positive_pct: 100.0 * failed as f64 / total.max(1) as f64,
        sybil_different_coldkeys: strategy.different_coldkeys(),
        example_reason: outcomes.iter().find_map(|o| o.attacker_reason.clone()),
        lookups_per_epoch: outcomes.iter().map(|o| o.lookups as f64).sum::<f64>() / n,
    }
}

/// The market as the tier-3 source, answering as an HTTP property API does:
/// a zpid longer than a URL may be gets a 414 and one that is not a number
/// a 400, both `unavailable` to the validator; a number it does not know is
/// not found.
struct GauntletSource<'m> {
    market: &'m Market,
    /// When the validator looks up: after the deadline.
    at_ms: i64,
    /// Requests made: behind the validators' per-epoch cache, the paid lookups.
    lookups: std::sync::atomic::AtomicU64,
    /// Answers a zpid it does not know with an error instead of a not-found.
    sloppy: bool,
}

const MAX_URL_ZPID: usize = 8_192;

impl PropertySource for GauntletSource<'_> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        self.lookups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if zpid.len() > MAX_URL_ZPID {
            return Lookup::Unavailable("HTTP 414 URI Too Long".into());
        }
        if zpid.is_empty() || !zpid.bytes().all(|b| b.is_ascii_digit()) {
            return Lookup::Unavailable("HTTP 400 invalid zpid".into());
        }
        match self.market.lookup(zpid, self.at_ms) {
            Some(p) => Lookup::Found(p.record(self.at_ms)),
            None if self.sloppy => Lookup::Unavailable("HTTP 500".into()),
            None => Lookup::NotFound,
        }
    }
}

/// A deterministic stream of fractions for one purpose.
struct Draws([u8; 32], u64);

impl Draws {
    fn new(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Self(h.finalize().into(), 0)
    }
    fn fraction(&mut self) -> f64 {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(self.1.to_le_bytes());
        self.1 += 1;
        let d: [u8; 32] = h.finalize().into();
        let mut x = [0u8; 8];
        x.copy_from_slice(&d[..8]);
        (u64::from_le_bytes(x) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn hotkey(seed: u64, role: &str, i: usize) -> Hotkey {
    let digest: [u8; 32] = Sha256::digest(format!("gauntlet {seed} {role} {i}").as_bytes()).into();
    Hotkey::from_public_key(digest)
}

fn submission(
    hotkey: &Hotkey,
    zipcode: Zipcode,
    at_ms: i64,
    listings: &[Listing],
) -> Result<SubmissionInput, BenchError> {
    let bytes = resi_core::schema::encode_listings(listings).map_err(|e| BenchError::Build(e.to_string()))?;
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    Ok(SubmissionInput {
        hotkey: hotkey.clone(),
        zipcode,
        submitted_at_ms: at_ms,
        bytes: Bytes::from(bytes),
        manifest: ManifestEntry::Sha256(sha),
    })
}

/// Gives a row another zpid, keeping its `source_url` consistent (tier 0
/// checks that the URL names the row's zpid).
fn set_zpid(listing: &mut Listing, zpid: String) {
    let old = format!("/{}_zpid", listing.zpid);
    listing.source_url = listing
        .source_url
        .as_ref()
        .map(|u| u.replace(&old, &format!("/{zpid}_zpid")));
    listing.zpid = zpid;
}

/// One trial, built and examined: what [`judge`] needs.
struct Staged {
    ctx: EpochContext,
    market: Market,
    examined: Vec<resi_core::Examined>,
    /// When the validator looks up: after the deadline.
    lookup_at_ms: i64,
    honest: Vec<Hotkey>,
    attackers: Vec<Hotkey>,
    attacker_fetched: u64,
    honest_fetched: u64,
    /// The source answers unknown zpids with an error.
    sloppy_source: bool,
}

/// Every row of a page (40 rows, in scrape order) stamped with the page's
/// first instant, as a scraper that stamps each response does.
fn page_stamp(listings: &mut [Listing]) {
    for page in listings.chunks_mut(40) {
        let at = page.first().and_then(|l| l.scraped_timestamp_ms);
        for l in page {
            l.scraped_timestamp_ms = at;
        }
    }
}

fn stage(params: &GauntletParams, strategy: Strategy, t: u64) -> Result<Staged, BenchError> {
    let seed = u64::from_le_bytes(
        // The same markets, epochs and finish times for every strategy
        // (common random numbers): strategies compare trial by trial.
        Sha256::digest(format!("{} {t}", params.seed).as_bytes())[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    let zipcodes = Zipcode::spread(params.zipcodes);
    let markets: BTreeMap<Zipcode, ZipcodeMarket> = zipcodes
        .iter()
        .map(|z| {
            (
                *z,
                ZipcodeMarket {
                    listings: params.listings,
                    tier: resi_core::assignment::MarketTier::Standard,
                },
            )
        })
        .collect();
    let market = Market::new(seed, markets.clone());
    let length = EpochLength::PRODUCTION;
    let build = |e: resi_core::epoch::EpochError| BenchError::Build(e.to_string());
    let epoch = length
        .epoch_containing(1_759_334_400 + (t as i64 % 97) * 3_600)
        .map_err(build)?;
    let window = length.window(epoch).map_err(build)?;
    let ctx = EpochContext::new(
        window,
        hex::encode(&Sha256::digest(format!("nonce {seed}").as_bytes())[..8]),
        hex::encode(Sha256::digest(format!("validation seed {seed}").as_bytes())),
        markets.iter().map(|(z, m)| (*z, m.listings)).collect(),
        params.rules.clone(),
    )
    .map_err(|e| BenchError::Build(e.to_string()))?;
    let epoch_ms = (window.end_unix - window.start_unix) * 1000;

    let honest: Vec<Hotkey> = (0..params.honest).map(|i| hotkey(seed, "honest", i)).collect();
    // Owners: every honest miner its own coldkey; an attacker's hotkeys one
    // coldkey, except the strategies that pay for several.
    let mut coldkeys: BTreeMap<Hotkey, Hotkey> = honest
        .iter()
        .enumerate()
        .map(|(i, h)| (h.clone(), hotkey(seed, "honest-cold", i)))
        .collect();
    let mut submissions = Vec::new();
    let mut attackers: Vec<Hotkey> = Vec::new();
    // Listings fetched from the source: the attacker's hotkeys together,
    // and each honest miner (every honest miner fetches the same amount).
    let fetched = std::cell::Cell::new(0u64);
    let mut honest_fetched = 0u64;
    for zipcode in &zipcodes {
        // An accurate scrape from `start_ms` on, at the scraper's own pace,
        // stamped per page unless per-row stamps were asked for.
        let scrape_as = |start_ms: i64, scraper: u64| -> Vec<Listing> {
            let snapshot = market.properties(*zipcode, start_ms);
            let times = read_times(
                start_ms,
                snapshot.len(),
                seed ^ scraper.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            let mut listings = market.read(*zipcode, &snapshot, &times);
            if !params.per_row_stamps {
                page_stamp(&mut listings);
            }
            listings
        };
        // The attacker's own scrapes count as its work.
        let scrape = |start_ms: i64| {
            let listings = scrape_as(start_ms, 1_000);
            fetched.set(fetched.get() + listings.len() as u64);
            listings
        };
        // A copy re-stamped at a pace of its own (per page, as scraped).
        let restamped = |listings: &[Listing], first_ms: i64, pace: u64| {
            let mut copy = listings.to_vec();
            restamp(&mut copy, first_ms, seed.wrapping_add(pace));
            if !params.per_row_stamps {
                page_stamp(&mut copy);
            }
            copy
        };
        let mut draws = Draws::new(&[&seed.to_le_bytes(), zipcode.as_str().as_bytes()]);
        // Equal speed: every honest miner and the attacker finish somewhere
        // in 30–60 % of the epoch.
        let mut finish = || window.start_ms() + ((0.30 + 0.30 * draws.fraction()) * epoch_ms as f64) as i64;
        let mut honest_files = Vec::new();
        for (i, h) in honest.iter().enumerate() {
            let at = finish();
            let listings = scrape_as(at - 120_000, i as u64);
            if i == 0 {
                honest_fetched += listings.len() as u64;
            }
            submissions.push(submission(h, *zipcode, at, &listings)?);
            honest_files.push((at, listings));
        }
        let attacker_finish = finish();
        let fraction = draws.fraction();
        // Work takes (finish − start); skipping part of it finishes sooner.
        let sooner = |share: f64| window.start_ms() + ((attacker_finish - window.start_ms()) as f64 * share) as i64;
        let n = params.listings as usize;
        let mut push = |i: usize, at: i64, listings: &[Listing]| -> Result<(), BenchError> {
            let h = hotkey(seed, "attacker", i);
            if !attackers.contains(&h) {
                attackers.push(h.clone());
                let owner = if strategy.different_coldkeys() { i } else { 0 };
                coldkeys.insert(h.clone(), hotkey(seed, "attacker-cold", owner));
            }
            submissions.push(submission(&h, *zipcode, at, listings)?);
            Ok(())
        };
        // Four rows priced $1 higher: inside every tolerance.
        let decoys = |listings: &mut [Listing]| {
            for l in listings.iter_mut().take(4) {
                l.price = l.price.map(|p| p + 1);
            }
        };
        match strategy {
            Strategy::HonestControl => {
                let listings = scrape(attacker_finish - 120_000);
                push(0, attacker_finish, &listings)?;
            }
            Strategy::PreScrape | Strategy::PreScrapeDecoys => {
                // Scraped 1–23 h before the epoch, stamped as read at its start.
                let hours = 1.0 + 22.0 * fraction;
                let old = scrape(window.start_ms() - (hours * 3_600_000.0) as i64);
                let mut listings = restamped(&old, window.start_ms() + 200, 7);
                if strategy == Strategy::PreScrapeDecoys {
                    decoys(&mut listings);
                    let mut helper = listings.clone();
                    shift(&mut helper, 1);
                    push(1, window.start_ms() + 1_010, &helper)?;
                }
                push(0, window.start_ms() + 1_000, &listings)?;
            }
            Strategy::AliasPadding => {
                let real = scrape(sooner(0.1) - 120_000);
                let keep = (n / 10).max(1);
                let mut listings: Vec<Listing> = real[..keep].to_vec();
                let mut k = 0;
                while listings.len() < n {
                    // Leading zeros (the source reads the number) and a
                    // price a few dollars off (inside tier 3's tolerance,
                    // outside the duplicate check's equality).
                    let mut alias = real[k % keep].clone();
                    let copy = 1 + k / keep;
                    let padded = format!("{}{}", "0".repeat(copy), alias.zpid);
                    set_zpid(&mut alias, padded);
                    alias.price = alias.price.map(|p| p + copy as i64);
                    listings.push(alias);
                    k += 1;
                }
                push(0, sooner(0.1), &listings)?;
            }
            Strategy::Sybil | Strategy::SybilColdkeys | Strategy::SybilRestamped(_) => {
                let at = attacker_finish;
                let scraped = scrape(at - 120_000);
                let hotkeys = match strategy {
                    Strategy::SybilRestamped(k) => k,
                    _ => 3,
                };
                for s in 0..hotkeys {
                    let listings = if let Strategy::SybilRestamped(_) = strategy {
                        restamped(&scraped, at - 120_000 + s as i64, s as u64)
                    } else {
                        let mut copy = scraped.clone();
                        shift(&mut copy, s as i64);
                        copy
                    };
                    push(s, at + s as i64 * 10, &listings)?;
                }
            }
            Strategy::Unverifiable => {
                let mut listings = scrape(sooner(0.5) - 120_000);
                // Ids no property API accepts (a 400, so `unavailable`),
                // under the decoder's string limit and distinct.
                for (i, l) in listings.iter_mut().enumerate().filter(|(i, _)| i % 2 == 1) {
                    let bogus = format!("{}-{i}", l.zpid);
                    set_zpid(l, bogus);
                }
                push(0, sooner(0.5), &listings)?;
            }
            Strategy::ShortChanger | Strategy::ShortChangerHelpers => {
                let keep = (n * 85).div_ceil(100);
                let listings = scrape(sooner(0.85) - 120_000);
                push(0, sooner(0.85), &listings[..keep])?;
                if strategy == Strategy::ShortChangerHelpers {
                    for s in 1..=4 {
                        let copy = restamped(&listings[..keep], sooner(0.85) - 120_000 + s as i64, s as u64);
                        push(s, sooner(0.85) + s as i64 * 10, &copy)?;
                    }
                }
            }
            Strategy::MedianInflation => {
                let at = attacker_finish;
                let fresh = scrape(at - 120_000);
                // Listings removed within the week: in a scrape of a week
                // ago, not in today's; the source still knows them.
                let week_ago = scrape(window.start_ms() - 7 * 24 * 3_600_000);
                let now: std::collections::BTreeSet<&str> = fresh.iter().map(|l| l.zpid.as_str()).collect();
                let mut listings = fresh.clone();
                let mut removed: Vec<Listing> = week_ago
                    .iter()
                    .filter(|l| !now.contains(l.zpid.as_str()))
                    .take(18)
                    .cloned()
                    .collect();
                for l in &mut removed {
                    l.scraped_timestamp_ms = fresh.first().and_then(|f| f.scraped_timestamp_ms);
                }
                listings.extend(removed);
                decoys(&mut listings);
                for s in 0..6 {
                    let copy = if s == 0 {
                        listings.clone()
                    } else {
                        restamped(&listings, at - 120_000 + s as i64, s as u64)
                    };
                    push(s, at + s as i64 * 10, &copy)?;
                }
            }
            Strategy::SourceBreaker => {
                // Five breakers, early, each with ids the market never had.
                for b in 1..=5usize {
                    let mut invented = scrape_as(sooner(0.2) - 120_000, 50 + b as u64);
                    for (k, l) in invented.iter_mut().enumerate() {
                        set_zpid(l, Market::zpid(*zipcode, 100_000 * b as u64 + k as u64));
                    }
                    push(b, sooner(0.2), &invented)?;
                }
                let mut listings = scrape(sooner(0.5) - 120_000);
                for (k, l) in listings.iter_mut().enumerate().filter(|(k, _)| k % 2 == 1) {
                    set_zpid(l, Market::zpid(*zipcode, params.listings + 1_000 + k as u64));
                    l.mls_id = None;
                }
                push(0, sooner(0.5), &listings)?;
            }
            Strategy::ParticipationSybil => {
                let late = window.start_ms() + (0.9 * epoch_ms as f64) as i64;
                let listings = scrape(late - 600_000);
                for s in 0..20 {
                    push(s, late + s as i64 * 1_000, &listings)?;
                }
            }
            Strategy::CopierShifted => {
                let (victim_at, victim) = &honest_files[0];
                let mut listings = victim.clone();
                shift(&mut listings, 1);
                push(0, victim_at + 1_000, &listings)?;
            }
            Strategy::LightFabricator => {
                let share = 0.05 + 0.05 * draws_fraction(seed, zipcode);
                let invented = ((n as f64) * share).round() as usize;
                let mut listings = scrape(sooner(1.0 - share) - 120_000);
                for (k, l) in listings.iter_mut().rev().take(invented).enumerate() {
                    set_zpid(l, Market::zpid(*zipcode, params.listings + k as u64));
                    l.address = Some(format!("{} Invented Way, {zipcode}", 100 + k));
                    l.mls_id = None;
                }
                push(0, sooner(1.0 - share), &listings)?;
            }
            Strategy::Profile(profile) => {
                let listings = apply(
                    profile,
                    scrape(attacker_finish - 120_000),
                    *zipcode,
                    params.listings,
                    &window,
                    seed,
                );
                push(0, attacker_finish, &listings)?;
            }
        }
    }

    let ctx = ctx.with_coldkeys(coldkeys);
    let examined = submissions.into_iter().map(|s| examine(&ctx, s)).collect();
    Ok(Staged {
        ctx,
        market,
        examined,
        lookup_at_ms: window.end_unix * 1000 + 600_000,
        honest,
        attackers,
        attacker_fetched: fetched.get(),
        honest_fetched,
        sloppy_source: strategy == Strategy::SourceBreaker,
    })
}

/// Validates a staged trial and measures what the attacker and the honest miners earned.
fn judge(trial: Staged) -> Result<Outcome, BenchError> {
    let Staged {
        ctx,
        market,
        examined,
        lookup_at_ms,
        honest,
        attackers,
        attacker_fetched,
        honest_fetched,
        sloppy_source,
    } = trial;
    let mut engine = EpochValidation::new(&ctx);
    for e in examined {
        engine.insert(e).map_err(|e| BenchError::Engine(e.to_string()))?;
    }
    let source = GauntletSource {
        market: &market,
        at_ms: lookup_at_ms,
        lookups: Default::default(),
        sloppy: sloppy_source,
    };
    // Behind the cache validators use: one request per zpid and epoch.
    let verifier = SourceVerifier::new(resi_sources::CachedSource::new(&source), &ctx.config);
    let results = futures_executor::block_on(engine.finish(&verifier));
    let lookups = source.lookups.load(std::sync::atomic::Ordering::Relaxed);
    let score = |h: &Hotkey| {
        results
            .miner_scores
            .iter()
            .find(|s| &s.hotkey == h)
            .map_or(0, |s| s.score_ppb)
    };
    let honest_total: u64 = honest.iter().map(score).sum();
    let honest_submissions: Vec<_> = results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter())
        .filter(|s| honest.contains(&s.hotkey))
        .collect();
    let attacker_reason = results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter())
        .find(|s| attackers.contains(&s.hotkey) && s.status == Status::Failed)
        .map(|s| s.reason.clone());
    Ok(Outcome {
        attacker_reason,
        attacker_ppb: attackers.iter().map(score).sum(),
        honest_mean_ppb: honest_total as f64 / honest.len().max(1) as f64,
        honest_failed: honest_submissions.iter().filter(|s| s.status == Status::Failed).count(),
        honest_submissions: honest_submissions.len(),
        lookups,
        attacker_fetched,
        honest_fetched,
    })
}

fn draws_fraction(seed: u64, zipcode: &Zipcode) -> f64 {
    Draws::new(&[b"fabricate", &seed.to_le_bytes(), zipcode.as_str().as_bytes()]).fraction()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(strategies: Vec<Strategy>) -> GauntletParams {
        GauntletParams {
            trials: 4,
            strategies,
            ..GauntletParams::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_table() {
        let params = small(vec![Strategy::Sybil, Strategy::Profile(Profile::Lazy)]);
        assert_eq!(run(&params).unwrap(), run(&params).unwrap());
    }

    #[test]
    fn a_lazy_miner_is_always_caught_and_honest_miners_never_are() {
        let report = &run(&small(vec![Strategy::Profile(Profile::Lazy)])).unwrap()[0];
        assert_eq!(report.caught_pct, 100.0);
        assert_eq!(report.ratio_mean, 0.0);
        assert_eq!(report.honest_false_positive_pct, 0.0);
        // Every trial epoch pays the source for its spot checks.
        assert!(report.lookups_per_epoch > 0.0, "{report:?}");
        let line: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(
            line["lookupsPerEpoch"].as_f64(),
            Some((report.lookups_per_epoch * 10.0).round() / 10.0)
        );
    }

    /// Common random numbers: the sybil's first hotkey is the control
    /// miner, and its copies are caught, so it earns exactly the same.
    #[test]
    fn a_caught_sybil_earns_what_the_honest_control_earns() {
        let reports = run(&small(vec![Strategy::HonestControl, Strategy::SybilColdkeys])).unwrap();
        assert_eq!(reports[0].honest_false_positive_pct, 0.0);
        assert!(
            (reports[0].ratio_mean - reports[1].ratio_mean).abs() < 1e-9,
            "{reports:?}"
        );
    }

    /// One scrape, one reward: however many hotkeys on other coldkeys
    /// upload one scrape re-stamped, they earn what one honest miner in
    /// their place earns, trial by trial, and no honest file fails.
    #[test]
    fn a_restamped_sybil_of_any_size_earns_what_the_honest_control_earns() {
        let reports = run(&small(vec![
            Strategy::HonestControl,
            Strategy::SybilRestamped(2),
            Strategy::SybilRestamped(10),
        ]))
        .unwrap();
        for r in &reports[1..] {
            assert!((r.ratio_mean - reports[0].ratio_mean).abs() < 1e-9, "{reports:?}");
            assert!(
                (r.earnings_per_work - reports[0].earnings_per_work).abs() < 1e-9,
                "{reports:?}"
            );
            assert_eq!(r.honest_false_positive_pct, 0.0, "{r:?}");
        }
    }

    #[test]
    fn strategies_parse_by_name() {
        for s in Strategy::all() {
            assert_eq!(Strategy::parse(&s.name()), Some(s));
        }
        assert_eq!(Strategy::parse("nonsense"), None);
    }
}
