//! The epoch validation engine: examined submissions in, results document out.
//!
//! Per zipcode, submissions are ordered by (submission time, SHA-256 of
//! `{validationSeed}:{hotkey}`). The copy check runs in that order; then the
//! walk applies tier 3 in order: the first three submissions that pass every
//! tier are the winners, later ones are spot-checked too (unless
//! `spot_check_participants` is off) and become participants if they pass. Zipcodes are independent, so their tier-3 checks run
//! concurrently; the result does not depend on which finishes first.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use sha2::{Digest, Sha256};

use crate::config::{at_least, bps_pct, pct};
use crate::context::EpochContext;
use crate::examine::{RowClaim, ZPID_MIX};
use rayon::prelude::*;

use crate::examine::{Examined, Precheck};
use crate::hotkey::Hotkey;
use crate::results::ClaimRecord;
use crate::results::{
    SampleRecord, SourceHealth, SpotCheckRecord, Status, SubmissionRecord, Totals, UnassignedRecord, ValidationResults,
    ZipcodeOutcome, RESULTS_VERSION,
};
use crate::scoring::{score, ZipcodeRanking};
use crate::verify::{Claim, ListingVerifier, Verdict};
use crate::zipcode::Zipcode;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A second submission for the same (miner, zipcode) was offered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a submission of {hotkey} for zipcode {zipcode} was already added")]
pub struct DuplicateSubmission {
    pub hotkey: Hotkey,
    pub zipcode: Zipcode,
}

/// Collects examined submissions of one epoch, in any order, then decides it.
pub struct EpochValidation<'c> {
    ctx: &'c EpochContext,
    submissions: BTreeMap<(Zipcode, Hotkey), Examined>,
    /// Spot-check every candidate of a zipcode at once (the default) or one
    /// after another as the walk reaches it.
    tier3_at_once: bool,
}

impl<'c> EpochValidation<'c> {
    pub fn new(ctx: &'c EpochContext) -> Self {
        Self {
            ctx,
            submissions: BTreeMap::new(),
            tier3_at_once: true,
        }
    }

    /// Tier 3 one submission after another, in ranking order, instead of
    /// every candidate of a zipcode in one round trip. The results are the
    /// same (a test compares both on many seeds); only the waiting differs.
    pub fn one_lookup_round_per_submission(mut self) -> Self {
        self.tier3_at_once = false;
        self
    }

    pub fn insert(&mut self, examined: Examined) -> Result<(), DuplicateSubmission> {
        let key = (examined.zipcode, examined.hotkey.clone());
        if self.submissions.contains_key(&key) {
            return Err(DuplicateSubmission {
                hotkey: examined.hotkey,
                zipcode: examined.zipcode,
            });
        }
        self.submissions.insert(key, examined);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.submissions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.submissions.is_empty()
    }

    /// Copy check, ranking walk with tier 3, scores and the consensus hash.
    ///
    /// When the epoch's lookups show the property source broken (see
    /// [`SourceHealth`]), the walk is decided again with every sample
    /// undetermined: a source that cannot answer is never evidence against a
    /// miner. Verdicts are remembered per sampled listing, so a listing that
    /// several miners share is looked up once; the second walk asks nothing.
    pub async fn finish<V: ListingVerifier>(mut self, verifier: &V) -> ValidationResults {
        let memo = Memo {
            inner: verifier,
            verdicts: std::sync::Mutex::new(BTreeMap::new()),
            claims: std::sync::Mutex::new(BTreeMap::new()),
        };
        let none = BTreeMap::new();
        let prepared = self.prepare();
        let mut first = self.decide(&prepared, &memo, &none, None).await;
        // A stale claim shows the miner's timestamps are not when it read the
        // listings: its work anywhere else this epoch is not believed either.
        let barred = stale_hotkeys(&first);
        if !barred.is_empty() {
            first = self.decide(&prepared, &memo, &barred, Some(first)).await;
        }
        let health = source_health(&first, &self.ctx.config);
        let mut results = if health.broken {
            self.decide(&prepared, &BrokenSource, &none, None).await
        } else {
            first
        };
        results.property_source = health;
        // Freed on the pool: a million rows' claims and samples are many
        // small allocations, about a seventh of the finish stage's
        // single-threaded tail when freed on this thread.
        drop(prepared);
        let examined = std::mem::take(&mut self.submissions);
        let memo = memo.verdicts.into_inner().unwrap_or_else(|e| e.into_inner());
        rayon::join(
            || examined.into_par_iter().for_each(drop),
            || memo.into_par_iter().for_each(drop),
        );
        results
    }

    /// Everything about a zipcode that does not depend on tier 3: the
    /// ranking order, copies, the relative tier 1 and the contested rows.
    /// Computed once, whichever walks follow.
    fn prepare(&self) -> (Vec<Prepared<'_>>, Vec<UnassignedRecord>) {
        let ctx = self.ctx;
        let mut by_zipcode: BTreeMap<Zipcode, Vec<&Examined>> = ctx.zipcodes.keys().map(|z| (*z, Vec::new())).collect();
        let mut unassigned = Vec::new();
        for ((zipcode, _), examined) in &self.submissions {
            match by_zipcode.get_mut(zipcode) {
                Some(list) => list.push(examined),
                None => unassigned.push(UnassignedRecord {
                    zipcode: *zipcode,
                    submission: record_without_tier3(examined, ctx),
                }),
            }
        }
        // Zipcodes are independent: prepared on the caller's rayon pool, in
        // zipcode order whatever the threads.
        let prepared = by_zipcode
            .into_par_iter()
            .map(|(zipcode, mut list)| {
                list.sort_by_cached_key(|e| (e.submitted_at_ms, tie_break(&ctx.validation_seed, &e.hotkey)));
                Prepared {
                    zipcode,
                    copy_of: copy_check(ctx, &list),
                    short_of: relative_quantity(ctx, &list),
                    contested: contested_claims(ctx, zipcode, &list),
                    list,
                }
            })
            .collect();
        (prepared, unassigned)
    }

    /// Walks every zipcode and scores the epoch. With `earlier` (a walk of
    /// the same prepared zipcodes with the same remembered verdicts), a
    /// zipcode where no one is `barred` walks exactly as it did then, so its
    /// outcome is taken from there instead of walked again.
    async fn decide<V: ListingVerifier>(
        &self,
        prepared: &(Vec<Prepared<'_>>, Vec<UnassignedRecord>),
        verifier: &V,
        barred: &BTreeMap<Hotkey, String>,
        earlier: Option<ValidationResults>,
    ) -> ValidationResults {
        let ctx = self.ctx;
        let all_miners: BTreeSet<Hotkey> = self.submissions.keys().map(|(_, h)| h.clone()).collect();
        let (zipcodes, unassigned) = prepared;
        let unassigned = unassigned.clone();
        let at_once = self.tier3_at_once;
        let mut earlier: BTreeMap<Zipcode, ZipcodeOutcome> = earlier
            .map(|r| r.zipcodes.into_iter().map(|o| (o.zipcode, o)).collect())
            .unwrap_or_default();
        let walks = zipcodes.iter().map(|p| {
            let unchanged = p
                .list
                .iter()
                .all(|e| !barred.contains_key(&e.hotkey))
                .then(|| earlier.remove(&p.zipcode))
                .flatten();
            async move {
                match unchanged {
                    Some(outcome) => outcome,
                    None => walk_zipcode(ctx, p, verifier, barred, at_once).await,
                }
            }
        });
        let mut outcomes: Vec<ZipcodeOutcome> = join_all(walks).await;
        outcomes.sort_by_key(|o| o.zipcode);

        let rankings: BTreeMap<Zipcode, ZipcodeRanking> = outcomes
            .iter()
            .map(|o| {
                (
                    o.zipcode,
                    ZipcodeRanking {
                        expected_listings: o.expected_listings,
                        winners: o.winners.clone(),
                        participants: o
                            .submissions
                            .iter()
                            .filter(|s| s.status == Status::Participant)
                            .map(|s| (s.hotkey.clone(), s.listing_count.unwrap_or(0)))
                            .collect(),
                    },
                )
            })
            .collect();
        let (miner_scores, zipcode_weights) = score(&rankings, &all_miners, &ctx.config);
        for (outcome, weight) in outcomes.iter_mut().zip(&zipcode_weights) {
            outcome.weight_ppb = weight.weight_ppb;
        }

        let mut totals = Totals::default();
        let records = outcomes
            .iter()
            .flat_map(|o| o.submissions.iter())
            .chain(unassigned.iter().map(|u| &u.submission));
        for record in records {
            totals.submissions += 1;
            match record.status {
                Status::Winner => totals.winners += 1,
                Status::Participant => totals.participants += 1,
                Status::Failed => totals.failed += 1,
                Status::Undetermined => totals.undetermined += 1,
                Status::Ignored => totals.ignored += 1,
            }
        }
        totals.scored_miners = miner_scores.iter().filter(|m| m.score_ppb > 0).count() as u64;
        totals.score_ppb = miner_scores.iter().map(|m| m.score_ppb).sum();

        let mut results = ValidationResults {
            version: RESULTS_VERSION,
            epoch_id: ctx.epoch_id,
            nonce: ctx.nonce.clone(),
            validation_seed: ctx.validation_seed.clone(),
            validator: None,
            config: ctx.config.clone(),
            zipcodes: outcomes,
            unassigned,
            miner_scores,
            zipcode_weights,
            totals,
            property_source: SourceHealth::default(),
            consensus_hash: String::new(),
        };
        results.consensus_hash = results.recompute_consensus_hash();
        results
    }
}

/// Remembers each sampled listing's verdict, so the source is asked once per listing.
struct Memo<'v, V> {
    inner: &'v V,
    verdicts: std::sync::Mutex<BTreeMap<ListingKey, Verdict>>,
    claims: std::sync::Mutex<BTreeMap<Claim, Verdict>>,
}

/// Hotkeys with a contested claim the source's history contradicts, with
/// where (the first zipcode in order) and why.
fn stale_hotkeys(results: &ValidationResults) -> BTreeMap<Hotkey, String> {
    let mut out = BTreeMap::new();
    for z in &results.zipcodes {
        for s in &z.submissions {
            let Some(stale) = s.spot_check.as_ref().and_then(|c| {
                c.contested
                    .iter()
                    .find(|c| c.verdict.is_determined() && c.verdict != Verdict::Verified)
            }) else {
                continue;
            };
            out.entry(s.hotkey.clone())
                .or_insert_with(|| format!("zipcode {}, zpid {}: {}", z.zipcode, stale.zpid, stale.verdict.reason()));
        }
    }
    out
}

/// The verifier of an epoch whose property source was judged broken.
struct BrokenSource;

const BROKEN: &str = "the property source was broken this epoch (most lookups unanswered): no sample counts";

impl ListingVerifier for BrokenSource {
    async fn verify(&self, _: &crate::listing::Listing) -> Verdict {
        Verdict::Unavailable(BROKEN.into())
    }

    async fn verify_claim(&self, _: &Claim) -> Verdict {
        Verdict::Unavailable(BROKEN.into())
    }
}

/// Everything tier 3 compares, as one key (the scrape time too: a price is
/// judged as of it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ListingKey {
    zpid: String,
    zipcode: Option<String>,
    address: Option<String>,
    price: Option<i64>,
    bedrooms: Option<i32>,
    bathrooms: Option<u64>,
    sqft: Option<i32>,
    scraped_timestamp_ms: Option<i64>,
}

fn listing_key(l: &crate::listing::Listing) -> ListingKey {
    ListingKey {
        zpid: l.zpid.clone(),
        zipcode: l.zipcode.clone(),
        address: l.address.clone(),
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms: l.bathrooms.map(f64::to_bits),
        sqft: l.sqft,
        scraped_timestamp_ms: l.scraped_timestamp_ms,
    }
}

impl<V: ListingVerifier> ListingVerifier for Memo<'_, V> {
    async fn verify(&self, listing: &crate::listing::Listing) -> Verdict {
        let key = listing_key(listing);
        if let Some(known) = self.verdicts.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return known;
        }
        let verdict = self.inner.verify(listing).await;
        if let Ok(mut m) = self.verdicts.lock() {
            m.insert(key, verdict.clone());
        }
        verdict
    }

    async fn verify_claim(&self, claim: &Claim) -> Verdict {
        if let Some(known) = self.claims.lock().ok().and_then(|m| m.get(claim).cloned()) {
            return known;
        }
        let verdict = self.inner.verify_claim(claim).await;
        if let Ok(mut m) = self.claims.lock() {
            m.insert(claim.clone(), verdict.clone());
        }
        verdict
    }
}

/// Counts the epoch's tier-3 verdicts (each spot-checked sample once).
fn source_health(results: &ValidationResults, config: &crate::config::ValidationConfig) -> SourceHealth {
    let mut h = SourceHealth::default();
    let samples = results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter())
        .filter_map(|s| s.spot_check.as_ref())
        .flat_map(|c| c.samples.iter());
    let contested = results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter())
        .filter_map(|s| s.spot_check.as_ref())
        .flat_map(|c| c.contested.iter().map(|c| &c.verdict));
    for verdict in samples.map(|s| &s.verdict).chain(contested) {
        h.lookups += 1;
        match verdict {
            Verdict::Verified => h.verified += 1,
            Verdict::Mismatch(_) => h.mismatched += 1,
            Verdict::NotFound => h.not_found += 1,
            Verdict::Unavailable(_) => h.unavailable += 1,
            Verdict::Incomparable(_) => h.incomparable += 1,
        }
    }
    h.broken = h.lookups >= config.source_broken_min_lookups.max(1)
        && at_least(h.unavailable, h.lookups, config.source_broken_unavailable_bps);
    h
}

/// The tie-break key of a hotkey: SHA-256 of `{validationSeed}:{hotkey}`.
pub fn tie_break(validation_seed: &str, hotkey: &Hotkey) -> [u8; 32] {
    Sha256::digest(format!("{validation_seed}:{hotkey}").as_bytes()).into()
}

fn base_record(e: &Examined, status: Status, reason: String) -> SubmissionRecord {
    SubmissionRecord {
        hotkey: e.hotkey.clone(),
        submitted_at_ms: e.submitted_at_ms,
        size_bytes: e.size_bytes,
        listing_count: e.listing_count,
        status,
        rank: None,
        failed_tier: None,
        reason,
        quality: e.quality.clone(),
        spot_check: None,
    }
}

fn record_without_tier3(e: &Examined, _ctx: &EpochContext) -> SubmissionRecord {
    match &e.precheck {
        Precheck::Late(reason) => base_record(e, Status::Ignored, reason.clone()),
        Precheck::Failed { tier, reason } => {
            let mut r = base_record(e, Status::Failed, format!("tier {tier}: {reason}"));
            r.failed_tier = Some(*tier);
            r
        }
        Precheck::Passed => base_record(e, Status::Participant, "passed tiers 0-2".into()),
    }
}

/// A zipcode's submissions in ranking order with what tiers 0–2 decided
/// across them, one entry per submission.
struct Prepared<'e> {
    zipcode: Zipcode,
    list: Vec<&'e Examined>,
    copy_of: Vec<Option<String>>,
    short_of: Vec<Option<String>>,
    contested: Vec<Vec<Claim>>,
}

async fn walk_zipcode<V: ListingVerifier>(
    ctx: &EpochContext,
    prepared: &Prepared<'_>,
    verifier: &V,
    barred: &BTreeMap<Hotkey, String>,
    at_once: bool,
) -> ZipcodeOutcome {
    let zipcode = prepared.zipcode;
    let list = &prepared.list;
    let expected = ctx.zipcodes.get(&zipcode).copied().unwrap_or(0);

    // Tier 3 in one round trip: when every submission past tiers 0–2 is
    // spot-checked anyway, ask the source for all of them at once (the
    // verifier remembers each verdict), then decide in ranking order below
    // exactly as before. The results do not depend on which answer comes
    // first; only the waiting does. Each check's record is kept for the walk.
    let mut ready: Vec<Option<SpotCheckRecord>> = vec![None; list.len()];
    if at_once && ctx.config.spot_check_participants {
        let candidates = list
            .iter()
            .zip(&prepared.copy_of)
            .zip(&prepared.short_of)
            .zip(&prepared.contested)
            .zip(ready.iter_mut())
            .filter(|((((e, copy), short), _), _)| {
                e.precheck == Precheck::Passed && copy.is_none() && short.is_none() && !barred.contains_key(&e.hotkey)
            })
            .map(|((((e, _), _), contested), slot)| async move {
                *slot = Some(spot_check(e, contested, verifier).await);
            });
        join_all(candidates).await;
    }

    let mut winners = Vec::new();
    let mut participants = Vec::new();
    // Coldkey → the hotkey of its that already holds a rank or a
    // participation here: one per owner.
    let mut owners: BTreeMap<&Hotkey, &Hotkey> = BTreeMap::new();
    let mut records = Vec::with_capacity(list.len());
    let rows = list
        .iter()
        .zip(&prepared.copy_of)
        .zip(&prepared.short_of)
        .zip(&prepared.contested)
        .zip(ready);
    for ((((e, copy), short), contested), ready) in rows {
        let owner = ctx.owner_of(&e.hotkey);
        let record = match (&e.precheck, copy) {
            (Precheck::Late(_), _) | (Precheck::Failed { .. }, _) => record_without_tier3(e, ctx),
            (Precheck::Passed, Some(reason)) => {
                let mut r = base_record(e, Status::Failed, format!("tier 0: {reason}"));
                r.failed_tier = Some(0);
                r
            }
            (Precheck::Passed, None) if short.is_some() => {
                let mut r = base_record(e, Status::Failed, short.clone().unwrap_or_default());
                r.failed_tier = Some(1);
                r
            }
            (Precheck::Passed, None) if barred.contains_key(&e.hotkey) => {
                // Checked all the same (the verdicts are remembered), so the
                // record shows the evidence where there is some.
                let spot = match ready {
                    Some(spot) => spot,
                    None => spot_check(e, contested, verifier).await,
                };
                let (status, reason) = tier3_decision(&spot, ctx);
                let reason = if status == Status::Failed {
                    reason
                } else {
                    let why = barred.get(&e.hotkey).cloned().unwrap_or_default();
                    format!("tier 3: barred this epoch: the property source contradicted a contested row of this hotkey ({why})")
                };
                let mut r = base_record(e, Status::Failed, reason);
                r.failed_tier = Some(3);
                r.spot_check = Some(spot);
                r
            }
            (Precheck::Passed, None) if owners.contains_key(owner) => {
                let first = owners.get(owner).map(|h| h.to_string()).unwrap_or_default();
                let mut r = base_record(
                    e,
                    Status::Failed,
                    format!(
                        "tier 0: same owner: coldkey {owner} already placed {first} in this zipcode (one per coldkey)"
                    ),
                );
                r.failed_tier = Some(0);
                r
            }
            (Precheck::Passed, None) if winners.len() >= 3 && !ctx.config.spot_check_participants => {
                participants.push(e.hotkey.clone());
                owners.insert(owner, &e.hotkey);
                base_record(
                    e,
                    Status::Participant,
                    "passed tiers 0-2; tier 3 not applied (three winners already)".into(),
                )
            }
            (Precheck::Passed, None) => {
                let spot = match ready {
                    Some(spot) => spot,
                    None => spot_check(e, contested, verifier).await,
                };
                let (status, reason) = tier3_decision(&spot, ctx);
                let mut r = base_record(e, status, reason);
                if status == Status::Winner {
                    owners.insert(owner, &e.hotkey);
                }
                match status {
                    Status::Winner if winners.len() >= 3 => {
                        participants.push(e.hotkey.clone());
                        r.status = Status::Participant;
                        r.reason = format!("participant (three winners already): {}", r.reason);
                    }
                    Status::Winner => {
                        winners.push(e.hotkey.clone());
                        r.rank = Some(winners.len() as u8);
                        r.reason = format!("rank {}: {}", winners.len(), r.reason);
                    }
                    Status::Failed => r.failed_tier = Some(3),
                    _ => {}
                }
                r.spot_check = Some(spot);
                r
            }
        };
        records.push(record);
    }
    ZipcodeOutcome {
        zipcode,
        expected_listings: expected,
        weight_ppb: 0,
        winners,
        participants,
        submissions: records,
    }
}

/// Tier 1 relative to what the zipcode holds: with at least
/// `quantity_relative_min_peers` submissions that passed tiers 0–2, each must
/// hold `quantity_relative_min_bps` of their median listing count (the lower
/// median, an integer). Expected ± tolerance stays the outer bound; this
/// stops a miner who uploads the least the tolerance allows, sooner.
fn relative_quantity(ctx: &EpochContext, list: &[&Examined]) -> Vec<Option<String>> {
    let config = &ctx.config;
    let mut counts: Vec<u64> = list
        .iter()
        .filter(|e| e.precheck == Precheck::Passed)
        .filter_map(|e| e.listing_count)
        .collect();
    if config.quantity_relative_min_bps == 0 || (counts.len() as u64) < config.quantity_relative_min_peers.max(1) {
        return vec![None; list.len()];
    }
    counts.sort_unstable();
    let median = counts[(counts.len() - 1) / 2];
    let peers = counts.len();
    list.iter()
        .map(|e| {
            let n = e.listing_count?;
            (e.precheck == Precheck::Passed && !at_least(n, median, config.quantity_relative_min_bps)).then(|| {
                format!(
                    "tier 1: quantity: {n} listings, below {} of {median}, the median of the {peers} submissions that passed tiers 0-2",
                    bps_pct(config.quantity_relative_min_bps)
                )
            })
        })
        .collect()
}

/// The copy check, in ranking order: a submission is a copy when at least
/// `copy_overlap_min_bps` of its fingerprints occur in one earlier decoded
/// submission of another hotkey (the earliest such one is named).
///
/// Exact intersection counts by sorting, not hashing: every (fingerprint,
/// submission) of the zipcode sorted once puts each fingerprint's holders
/// side by side, in ranking order. Each submission then counts, per earlier
/// submission, the fingerprints it shares with it by walking the runs it is
/// in, into one array indexed by submission: sequential memory access where
/// the hash index this replaced took a cache miss per fingerprint (a third
/// of the epoch's single-threaded work). The same verdicts.
fn copy_check(ctx: &EpochContext, list: &[&Examined]) -> Vec<Option<String>> {
    let n = list.len();
    let min_fingerprints = ctx.config.copy_min_fingerprints.max(1);
    let mut verdicts = vec![None; n];
    // Late submissions are neither checked nor compared against.
    let compared = |e: &Examined| !matches!(e.precheck, Precheck::Late(_));
    let held: usize = list.iter().filter(|e| compared(e)).map(|e| e.fingerprints.len()).sum();
    let mut holders: Vec<(u64, u32)> = Vec::with_capacity(held);
    for (i, e) in list.iter().enumerate().filter(|(_, e)| compared(e)) {
        holders.extend(e.fingerprints.iter().map(|&fp| (fp, i as u32)));
    }
    // Fingerprints are hashes, so their high bits spread them evenly: the
    // same order as a comparison sort, in a fraction of its time.
    sort_in_buckets(&mut holders, |&(fingerprint, _)| fingerprint);
    // The runs of two or more holders, as (start, length) in `holders`.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    let mut start = 0;
    for run in holders.chunk_by(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            runs.push((start as u32, run.len() as u32));
        }
        start += run.len();
    }
    // Each submission's runs, grouped by submission with a counting sort:
    // `runs_of[at[i]..at[i + 1]]`.
    let members = |&(start, len): &(u32, u32)| &holders[start as usize..(start + len) as usize];
    let mut at = vec![0usize; n + 1];
    for &(_, i) in runs.iter().flat_map(members) {
        at[i as usize + 1] += 1;
    }
    for i in 0..n {
        at[i + 1] += at[i];
    }
    let mut next = at.clone();
    let mut runs_of = vec![(0u32, 0u32); at[n]];
    for run in &runs {
        for &(_, i) in members(run) {
            runs_of[next[i as usize]] = *run;
            next[i as usize] += 1;
        }
    }
    let mut shared = vec![0u64; n];
    for (i, later) in list.iter().enumerate() {
        let total = later.fingerprints.len() as u64;
        // Too little timing to tell: compared against, never checked.
        if !compared(later) || total < min_fingerprints {
            continue;
        }
        for run in &runs_of[at[i]..at[i + 1]] {
            // A run is in ranking order: its earlier holders come first.
            for &(_, earlier) in members(run).iter().take_while(|(_, k)| (*k as usize) < i) {
                shared[earlier as usize] += 1;
            }
        }
        verdicts[i] = (0..i)
            .find(|&k| {
                shared[k] > 0
                    && list[k].hotkey != later.hotkey
                    && at_least(shared[k], total, ctx.config.copy_overlap_min_bps)
            })
            .map(|k| {
                format!(
                    "copy: {} of its scrape-pace fingerprints (consecutive zpids and the milliseconds between them) match the earlier submission of {} (threshold {})",
                    pct(shared[k], total),
                    list[k].hotkey,
                    bps_pct(ctx.config.copy_overlap_min_bps)
                )
            });
        shared[..i].fill(0);
    }
    verdicts
}

/// Sorts `items` into buckets by the high bits of `spread` (evenly spread
/// 64-bit values, such as hashes), then sorts each bucket: equal items end
/// up side by side, and within a bucket in order. When `spread` is monotone
/// in the order (a hash that is itself the first field), the whole is in
/// order, exactly as `sort_unstable` leaves it. The copy check and the
/// freshness rule sort a zipcode's every fingerprint and row this way: a
/// counting pass and small sorts instead of one large comparison sort. A
/// skewed `spread` only makes a large bucket, sorted like any slice.
fn sort_in_buckets<T: Ord + Copy>(items: &mut Vec<T>, spread: impl Fn(&T) -> u64) {
    let n = items.len();
    let Some(&filler) = items.first() else {
        return;
    };
    if n < 4_096 {
        items.sort_unstable();
        return;
    }
    // About 16 items per bucket.
    let bits = (usize::BITS - (n / 16).leading_zeros()).clamp(8, 16);
    let bucket = |item: &T| (spread(item) >> (64 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for item in items.iter() {
        starts[bucket(item) + 1] += 1;
    }
    for b in 0..1 << bits {
        starts[b + 1] += starts[b];
    }
    let mut next = starts.clone();
    let mut sorted = vec![filler; n];
    for item in items.iter() {
        let b = bucket(item);
        sorted[next[b]] = *item;
        next[b] += 1;
    }
    for b in 0..1 << bits {
        sorted[starts[b]..starts[b + 1]].sort_unstable();
    }
    *items = sorted;
}

/// Freshness (PROTOCOL.md §5): per submission that passed tiers 0–2, the
/// rows other such submissions for the zipcode contradict (a zpid some of
/// them lack, or a price they give differently), at most
/// `spot_check_contested_max`: those the fewest submissions share (same
/// zpid and price) first, then by a hash keyed with the validation seed and
/// the hotkey.
/// A stale row is one only its stale file holds; a row an honest miner
/// shares with the others is rarely checked.
fn contested_claims(ctx: &EpochContext, zipcode: Zipcode, list: &[&Examined]) -> Vec<Vec<Claim>> {
    let mut out = vec![Vec::new(); list.len()];
    let max = ctx.config.spot_check_contested_max as usize;
    let passed: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].precheck == Precheck::Passed && !list[i].claims.is_empty())
        .collect();
    if max == 0 || passed.len() < 2 {
        return out;
    }
    // (zpid, price, submission) over every passed submission, grouped by zpid.
    let mut rows: Vec<(u64, i64, u32)> = passed
        .iter()
        .flat_map(|&i| list[i].claims.iter().map(move |c| (c.zpid, c.price, i as u32)))
        .collect();
    // Grouped by zpid, each group sorted by (price, submission); the groups'
    // own order does not matter below, so they are spread by a mix of the zpid.
    sort_in_buckets(&mut rows, |&(zpid, _, _)| zpid.wrapping_mul(ZPID_MIX));
    // Per submission: (how many submissions hold the same zpid and price, zpid).
    let mut contested: Vec<Vec<(usize, u64)>> = vec![Vec::new(); list.len()];
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let everyone = group.len() == passed.len();
        let one_price = group.iter().all(|r| r.1 == group[0].1);
        if everyone && one_price {
            continue;
        }
        // `rows` is sorted, so equal prices are adjacent within the group.
        for same in group.chunk_by(|a, b| a.1 == b.1) {
            for r in same {
                contested[r.2 as usize].push((same.len(), r.0));
            }
        }
    }
    for (i, zpids) in contested.into_iter().enumerate() {
        if zpids.is_empty() {
            continue;
        }
        let e = list[i];
        // Ties are broken by a keyed hash: xxh3-64 of the zpid's 8
        // little-endian bytes, seeded with the first 8 bytes (little-endian)
        // of SHA-256(`{validationSeed}:{hotkey}`): the tie-break key.
        let key = tie_break(&ctx.validation_seed, &e.hotkey);
        let seed = u64::from_le_bytes([key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7]]);
        let mut keyed: Vec<(usize, u64, u64)> = zpids
            .into_iter()
            .map(|(support, z)| (support, xxh3_64_with_seed(&z.to_le_bytes(), seed), z))
            .collect();
        if keyed.len() > max {
            keyed.select_nth_unstable(max - 1);
            keyed.truncate(max);
        }
        keyed.sort_unstable();
        out[i] = keyed
            .into_iter()
            .take(max)
            .filter_map(|(_, _, z)| {
                let at = e.claims.binary_search_by_key(&z, |c| c.zpid).ok()?;
                let c: &RowClaim = &e.claims[at];
                Some(Claim {
                    zpid: z.to_string(),
                    zipcode: zipcode.to_string(),
                    price: c.price,
                    scraped_ms: c.scraped_ms,
                })
            })
            .collect();
    }
    out
}

async fn spot_check<V: ListingVerifier>(e: &Examined, contested: &[Claim], verifier: &V) -> SpotCheckRecord {
    let verdicts: Vec<Verdict> = join_all(e.samples.iter().map(|s| verifier.verify(&s.listing))).await;
    let claim_verdicts: Vec<Verdict> = join_all(contested.iter().map(|c| verifier.verify_claim(c))).await;
    let samples: Vec<SampleRecord> = e
        .samples
        .iter()
        .zip(verdicts)
        .map(|(s, verdict)| SampleRecord {
            index: s.index,
            zpid: s.listing.zpid.clone(),
            verdict,
        })
        .collect();
    let verified = samples.iter().filter(|s| s.verdict == Verdict::Verified).count() as u64;
    let determined = samples.iter().filter(|s| s.verdict.is_determined()).count() as u64;
    SpotCheckRecord {
        indices: e.samples.iter().map(|s| s.index).collect(),
        samples,
        verified,
        determined,
        contested: contested
            .iter()
            .zip(claim_verdicts)
            .map(|(c, verdict)| ClaimRecord {
                zpid: c.zpid.clone(),
                price: c.price,
                scraped_ms: c.scraped_ms,
                verdict,
            })
            .collect(),
    }
}

fn tier3_decision(spot: &SpotCheckRecord, ctx: &EpochContext) -> (Status, String) {
    let config = &ctx.config;
    let sampled = spot.samples.len() as u64;
    if let Some(stale) = spot
        .contested
        .iter()
        .find(|c| c.verdict.is_determined() && c.verdict != Verdict::Verified)
    {
        // Contradicted by the source's own history at the claimed time: the
        // row was not read then (PROTOCOL.md §5, freshness).
        return (
            Status::Failed,
            format!("tier 3: contested zpid {}: {}", stale.zpid, stale.verdict.reason()),
        );
    }
    if spot.determined < config.spot_check_min_determined.max(1) {
        return (
            Status::Undetermined,
            format!(
                "tier 3: undetermined: only {} of {sampled} samples could be checked (need {}); not ranked, not penalized",
                spot.determined, config.spot_check_min_determined
            ),
        );
    }
    let not_found: Vec<&str> = spot
        .samples
        .iter()
        .filter(|s| s.verdict == Verdict::NotFound)
        .map(|s| s.zpid.as_str())
        .collect();
    if not_found.len() as u64 > config.spot_check_max_not_found {
        // A listing the source has never heard of was invented: no share
        // verified makes up for it (PROTOCOL.md §5).
        return (
            Status::Failed,
            format!(
                "tier 3: {} of {} samples not found at the property source (at most {} allowed); e.g. zpid {}",
                not_found.len(),
                spot.determined,
                config.spot_check_max_not_found,
                not_found[0]
            ),
        );
    }
    if at_least(spot.verified, spot.determined, config.spot_check_pass_bps) {
        (
            Status::Winner,
            format!(
                "passed every tier; spot check {} of {} verified ({})",
                spot.verified,
                spot.determined,
                pct(spot.verified, spot.determined)
            ),
        )
    } else {
        let first_problem = spot
            .samples
            .iter()
            .find(|s| s.verdict.is_determined() && s.verdict != Verdict::Verified)
            .map(|s| format!("; e.g. zpid {}: {}", s.zpid, s.verdict.reason()))
            .unwrap_or_default();
        (
            Status::Failed,
            format!(
                "tier 3: spot check {} of {} verified ({}), below {}{first_problem}",
                spot.verified,
                spot.determined,
                pct(spot.verified, spot.determined),
                bps_pct(config.spot_check_pass_bps)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: usize, seed: u64) -> impl Iterator<Item = u64> {
        let mut x = seed | 1;
        (0..n).map(move |_| {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        })
    }

    #[test]
    fn bucket_sort_by_the_first_field_is_a_full_sort() {
        for n in [0, 1, 100, 4_095, 4_096, 50_000] {
            let mut items: Vec<(u64, u32)> = numbers(n, n as u64 + 7).map(|x| (x, (x % 97) as u32)).collect();
            // Repeated fingerprints, held by several submissions.
            let copies: Vec<(u64, u32)> = items.iter().step_by(3).map(|&(x, i)| (x, i + 1)).collect();
            items.extend(copies);
            let mut expected = items.clone();
            expected.sort_unstable();
            sort_in_buckets(&mut items, |&(x, _)| x);
            assert_eq!(items, expected, "n = {n}");
        }
    }

    #[test]
    fn a_skewed_spread_still_sorts() {
        let mut items: Vec<(u64, u32)> = numbers(20_000, 3).map(|x| (x >> 40, 1)).collect();
        let mut expected = items.clone();
        expected.sort_unstable();
        sort_in_buckets(&mut items, |_| 42);
        assert_eq!(items, expected);
    }

    #[test]
    fn a_mixed_spread_groups_equal_zpids_each_in_order() {
        // Sequential zpids, as real ones are, with several prices each.
        let mut rows: Vec<(u64, i64, u32)> = numbers(30_000, 11)
            .map(|x| (2_000_000_000 + x % 3_000, (x >> 20) as i64 % 4, (x >> 40) as u32 % 100))
            .collect();
        let mut expected = rows.clone();
        expected.sort_unstable();
        sort_in_buckets(&mut rows, |&(zpid, _, _)| zpid.wrapping_mul(ZPID_MIX));
        let mut groups: Vec<&[(u64, i64, u32)]> = rows.chunk_by(|a, b| a.0 == b.0).collect();
        assert!(groups.iter().all(|g| g.is_sorted()), "each zpid's rows in order");
        groups.sort_by_key(|g| g[0].0);
        assert_eq!(groups.concat(), expected, "every zpid in one group");
    }
}
