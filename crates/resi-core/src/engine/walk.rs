//! One zipcode's ranking walk: submissions in ranking order, tier 3 on
//! each that passed tiers 0-2, the first three passes the winners.

use std::collections::BTreeMap;

use futures_util::future::join_all;

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
}

pub(super) async fn walk_zipcode<V: ListingVerifier>(
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
