//! One zipcode's ranking walk: submissions in ranking order, tier 3 on
//! each that passed tiers 0-2, the first three passes the winners.

use std::collections::{BTreeMap, BTreeSet};

use super::checks;
use super::overruled::Overruled;

use crate::config::{at_least, bps_pct, pct};
use crate::context::EpochContext;

use crate::examine::{Examined, Precheck};
use crate::hotkey::Hotkey;
use crate::results::ClaimRecord;
use crate::results::{SampleRecord, SpotCheckRecord, Status, SubmissionRecord, ZipcodeOutcome};
use crate::verify::{Claim, ListingVerifier, Verdict};
use crate::zipcode::Zipcode;

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

pub(super) fn record_without_tier3(e: &Examined, _ctx: &EpochContext) -> SubmissionRecord {
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
pub(super) struct Prepared<'e> {
    pub(super) zipcode: Zipcode,
    pub(super) list: Vec<&'e Examined>,
    pub(super) copy_of: Vec<Option<String>>,
    pub(super) short_of: Vec<Option<String>>,
    pub(super) contested: Vec<Vec<Claim>>,
    /// Sorted zpids most owners of the zipcode hold (the source's health is judged on them).
    pub(super) corroborated: Vec<u64>,
    /// Sorted zpids at least two owners hold.
    pub(super) shared: Vec<u64>,
    /// Owners with a submission that passed tiers 0–2 here.
    pub(super) owners: usize,
    /// This zipcode's share of the epoch's lookup budget (`None`: no limit).
    pub(super) budget: Option<u64>,
}

/// The distinct zpids looked up for a zipcode (in this walk and the
/// epoch's earlier walks of it), against its share of the budget. A walk
/// with an untrusted (broken) source asks nothing that costs.
struct Budget {
    share: Option<u64>,
    spent: BTreeSet<String>,
    counting: bool,
}

impl Budget {
    /// The zpids a check of `e` might look up that this walk has not yet.
    fn cost(&self, e: &Examined, contested: &[Claim]) -> u64 {
        let wanted: BTreeSet<&str> = contested
            .iter()
            .map(|c| c.zpid.as_str())
            .chain(e.samples.iter().map(|s| s.listing.zpid.as_str()))
            .filter(|z| !self.spent.contains(*z))
            .collect();
        wanted.len() as u64
    }

    fn affords(&self, cost: u64) -> bool {
        !self.counting || self.share.is_none_or(|share| self.spent.len() as u64 + cost <= share)
    }

    fn spend(&mut self, spot: &SpotCheckRecord) {
        if !self.counting {
            return;
        }
        let zpids = spot
            .samples
            .iter()
            .map(|s| &s.zpid)
            .chain(spot.contested.iter().map(|c| &c.zpid));
        for zpid in zpids {
            if !self.spent.contains(zpid) {
                self.spent.insert(zpid.clone());
            }
        }
    }
}

pub(super) async fn walk_zipcode<V: ListingVerifier>(
    ctx: &EpochContext,
    prepared: &Prepared<'_>,
    verifier: &V,
    overruled: &Overruled,
    source_trusted: bool,
    spent_before: BTreeSet<String>,
) -> (ZipcodeOutcome, BTreeSet<String>) {
    let zipcode = prepared.zipcode;
    let list = &prepared.list;
    let expected = ctx.zipcodes.get(&zipcode).copied().unwrap_or(0);
    let mut budget = Budget {
        share: prepared.budget,
        spent: spent_before,
        counting: source_trusted,
    };
    let mut winners = Vec::new();
    let mut participants = Vec::new();
    // The submissions paid here so far (rank or participation), by index:
    // a later one with the same listings is the same scrape.
    let mut paid: Vec<usize> = Vec::new();
    // Coldkey → the hotkey of its that already holds a rank or a
    // participation here: one per owner.
    let mut owners: BTreeMap<&Hotkey, &Hotkey> = BTreeMap::new();
    let mut records: Vec<SubmissionRecord> = Vec::with_capacity(list.len());
    let rows = list
        .iter()
        .zip(&prepared.copy_of)
        .zip(&prepared.short_of)
        .zip(&prepared.contested)
        .enumerate();
    for (i, (((e, copy), short), contested)) in rows {
        let owner = ctx.owner_of(&e.hotkey);
        let same_as = || {
            paid.iter()
                .find_map(|&k| checks::same_listings(ctx, e, list[k]).map(|(agree, total)| (k, agree, total)))
        };
        let record = match (&e.precheck, copy) {
            (Precheck::Late(_), _) | (Precheck::Failed { .. }, _) => record_without_tier3(e, ctx),
            (Precheck::Passed, Some(reason)) => {
                let mut r = base_record(e, Status::Failed, format!("tier 0: {reason}"));
                r.failed_tier = Some(0);
                r
            }
            (Precheck::Passed, None)
                if short.is_some() || overruled.short.contains_key(&(zipcode, e.hotkey.clone())) =>
            {
                let reason = short
                    .clone()
                    .or_else(|| overruled.short.get(&(zipcode, e.hotkey.clone())).cloned())
                    .unwrap_or_default();
                let mut r = base_record(e, Status::Failed, reason);
                r.failed_tier = Some(1);
                r
            }
            (Precheck::Passed, None) if overruled.barred.contains_key(owner) => {
                // Its owner's timestamps are not believed anywhere this
                // epoch: no lookup is spent on it.
                let why = overruled.barred.get(owner).cloned().unwrap_or_default();
                let mut r = base_record(
                    e,
                    Status::Failed,
                    format!("tier 3: barred this epoch: the property source contradicted a contested row of coldkey {owner} ({why})"),
                );
                r.failed_tier = Some(3);
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
            (Precheck::Passed, None) => match same_as() {
                Some((k, agree, total)) => {
                    let earlier = &records[k];
                    let place = match earlier.rank {
                        Some(rank) => format!("rank {rank}"),
                        None => "a participant".to_owned(),
                    };
                    let status = if ctx.results_version.same_listings_status() {
                        Status::SameListings
                    } else {
                        Status::Ignored
                    };
                    base_record(
                        e,
                        status,
                        format!(
                            "same listings as {place}, {} (submitted earlier): {agree} of {total} rows agree (at least {}); one reward per scrape, no lookup spent",
                            earlier.hotkey,
                            bps_pct(ctx.config.same_listings_min_bps)
                        ),
                    )
                }
                None if winners.len() >= 3 && !ctx.config.spot_check_participants => {
                    participants.push(e.hotkey.clone());
                    owners.insert(owner, &e.hotkey);
                    paid.push(i);
                    base_record(
                        e,
                        Status::Participant,
                        "passed tiers 0-2; tier 3 not applied (three winners already)".into(),
                    )
                }
                None => {
                    // The last check's worth of the share is kept for a
                    // file whose listings most owners hold: junk uploaded
                    // early cannot spend the share before the honest files.
                    let reserve = if mostly_corroborated(e, &prepared.corroborated) {
                        0
                    } else {
                        ctx.config.spot_check_max + ctx.config.spot_check_contested_max
                    };
                    let cost = budget.cost(e, contested);
                    if !budget.affords(cost + reserve) {
                        base_record(
                            e,
                            Status::Undetermined,
                            format!(
                                "tier 3: not checked: this zipcode's share of the lookup budget ({} lookups) is spent ({} used, {cost} more needed); not ranked, not penalized",
                                budget.share.unwrap_or(0),
                                budget.spent.len()
                            ),
                        )
                    } else {
                        // Where other owners uploaded here and the source is
                        // trusted, a zpid only this owner holds that the
                        // source cannot answer is the miner's to prove.
                        let unshared = |zpid: &str| {
                            source_trusted
                                && prepared.owners >= 2
                                && zpid
                                    .parse::<u64>()
                                    .is_ok_and(|z| prepared.shared.binary_search(&z).is_err())
                        };
                        let spot = spot_check(ctx, e, contested, verifier, unshared).await;
                        budget.spend(&spot);
                        let (status, reason) = tier3_decision(&spot, ctx);
                        let mut r = base_record(e, status, reason);
                        match status {
                            Status::Winner if winners.len() >= 3 => {
                                participants.push(e.hotkey.clone());
                                owners.insert(owner, &e.hotkey);
                                paid.push(i);
                                r.status = Status::Participant;
                                r.reason = format!("participant (three winners already): {}", r.reason);
                            }
                            Status::Winner => {
                                winners.push(e.hotkey.clone());
                                owners.insert(owner, &e.hotkey);
                                paid.push(i);
                                r.rank = Some(winners.len() as u8);
                                r.reason = format!("rank {}: {}", winners.len(), r.reason);
                            }
                            Status::Failed => r.failed_tier = Some(3),
                            _ => {}
                        }
                        r.spot_check = Some(spot);
                        r
                    }
                }
            },
        };
        records.push(record);
    }
    let outcome = ZipcodeOutcome {
        zipcode,
        expected_listings: expected,
        weight_ppb: 0,
        lookups: budget.spent.len() as u64,
        winners,
        participants,
        submissions: records,
    };
    (outcome, budget.spent)
}

/// At least 90 % of the file's rows are zpids most owners of the zipcode hold.
fn mostly_corroborated(e: &Examined, corroborated: &[u64]) -> bool {
    let held = e
        .claims
        .iter()
        .filter(|c| corroborated.binary_search(&c.zpid).is_ok())
        .count() as u64;
    !e.claims.is_empty() && at_least(held, e.claims.len() as u64, 9_000)
}

/// Tier 3 for one submission, cheapest evidence first: its contested rows
/// (one the source's history contradicts fails it at once), then its
/// samples one after another, stopping as soon as the outcome cannot
/// change (a sample the source has never heard of past
/// `spot_check_max_not_found`, or too few left to reach the pass share).
/// The decision is the one checking every sample would give; only the
/// lookups differ.
async fn spot_check<V: ListingVerifier>(
    ctx: &EpochContext,
    e: &Examined,
    contested: &[Claim],
    verifier: &V,
    unshared: impl Fn(&str) -> bool,
) -> SpotCheckRecord {
    let config = &ctx.config;
    let mut record = SpotCheckRecord {
        indices: e.samples.iter().map(|s| s.index).collect(),
        samples: Vec::with_capacity(e.samples.len()),
        verified: 0,
        determined: 0,
        contested: Vec::with_capacity(contested.len()),
    };
    for c in contested {
        let verdict = verifier.verify_claim(c).await;
        let stale = verdict.is_determined() && verdict != Verdict::Verified;
        record.contested.push(ClaimRecord {
            zpid: c.zpid.clone(),
            price: c.price,
            scraped_ms: c.scraped_ms,
            verdict,
        });
        if stale {
            return record;
        }
    }
    let mut not_found = 0u64;
    for (k, s) in e.samples.iter().enumerate() {
        let verdict = match verifier.verify(&s.listing).await {
            Verdict::Unavailable(why) if unshared(&s.listing.zpid) => Verdict::Mismatch(format!(
                "unverifiable: the property source could not answer ({why}) and no other owner holds this zpid"
            )),
            verdict => verdict,
        };
        record.verified += u64::from(verdict == Verdict::Verified);
        record.determined += u64::from(verdict.is_determined());
        not_found += u64::from(verdict == Verdict::NotFound);
        record.samples.push(SampleRecord {
            index: s.index,
            zpid: s.listing.zpid.clone(),
            verdict,
        });
        let left = (e.samples.len() - k - 1) as u64;
        let decided_failed = not_found > config.spot_check_max_not_found
            || (record.determined >= config.spot_check_min_determined.max(1)
                && !at_least(
                    record.verified + left,
                    record.determined + left,
                    config.spot_check_pass_bps,
                ));
        if decided_failed {
            break;
        }
    }
    record
}

fn tier3_decision(spot: &SpotCheckRecord, ctx: &EpochContext) -> (Status, String) {
    let config = &ctx.config;
    let sampled = spot.indices.len() as u64;
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
                "tier 3: {} of {} samples checked not found at the property source (at most {} allowed); e.g. zpid {}",
                not_found.len(),
                spot.samples.len(),
                config.spot_check_max_not_found,
                not_found[0]
            ),
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
        let left = (spot.indices.len() - spot.samples.len()) as u64;
        let reason = if left == 0 {
            format!(
                "tier 3: spot check {} of {} verified ({}), below {}{first_problem}",
                spot.verified,
                spot.determined,
                pct(spot.verified, spot.determined),
                bps_pct(config.spot_check_pass_bps)
            )
        } else {
            // Stopped early: no answer to the other samples could pass it.
            format!(
                "tier 3: spot check {} of {} checked verified; with {left} more at most {} of {} ({}) could, below {}{first_problem}",
                spot.verified,
                spot.determined,
                spot.verified + left,
                spot.determined + left,
                pct(spot.verified + left, spot.determined + left),
                bps_pct(config.spot_check_pass_bps)
            )
        };
        (Status::Failed, reason)
    }
}
