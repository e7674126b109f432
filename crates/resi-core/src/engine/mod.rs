//! The epoch validation engine: examined submissions in, results document out.
//!
//! Per zipcode, submissions are ordered by (submission time, SHA-256 of
//! `{validationSeed}:{hotkey}`). The copy check runs in that order; rules
//! that count submissions count one per owner (coldkey); then the walk
//! applies tier 3 in order: the first three submissions that pass every
//! tier are the winners, later ones are spot-checked too (unless
//! `spot_check_participants` is off) and become participants if they pass.
//! A submission holding the same listings as one already paid earns nothing
//! and is not looked up (one scrape, one reward), and each zipcode spends at
//! most its share of the epoch's lookup budget. Zipcodes are independent,
//! so their walks run concurrently; the result does not depend on which
//! finishes first.
//!
//! One file a job: this one drives an epoch (collect, prepare, walk, score,
//! decide again when the walk overruled someone or the source is broken);
//! `overruled` holds what a walk's evidence decides for the next (owners
//! barred, files short of a verified one); `source`
//! wraps the property source (one lookup per listing, the broken-source
//! stand-in, the source's health); `walk` ranks one zipcode with tier 3;
//! `checks` holds what tiers 0-2 decide across a zipcode's submissions (the
//! copy check, the relative quantity, the contested rows).

mod checks;
mod overruled;
mod source;
mod walk;

pub use checks::tie_break;
use checks::{contested_claims, copy_check, relative_quantity, representatives};
use overruled::Overruled;
use source::{source_health, BrokenSource, Memo};
use walk::{record_without_tier3, walk_zipcode, Prepared};

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::context::EpochContext;
use rayon::prelude::*;

use crate::examine::Examined;
use crate::hotkey::Hotkey;
use crate::results::{SourceHealth, Status, Totals, UnassignedRecord, ValidationResults, ZipcodeOutcome};
use crate::scoring::{score, ZipcodeRanking};
use crate::verify::ListingVerifier;
use crate::zipcode::Zipcode;

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
}

impl<'c> EpochValidation<'c> {
    pub fn new(ctx: &'c EpochContext) -> Self {
        Self {
            ctx,
            submissions: BTreeMap::new(),
        }
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
        let prepared = self.prepare();
        // What the walk's evidence decides against submissions, learnt walk
        // by walk until nothing new is: owners whose stamps a stale claim
        // showed false, files short of a verified one. Each walk reuses the
        // verdicts, so only newly reached submissions cost lookups.
        let mut overruled = Overruled::default();
        // Each zipcode's paid lookups over all its walks: a walk again
        // spends only what the earlier ones left of the budget.
        let spent = std::sync::Mutex::new(BTreeMap::new());
        let mut first = self.decide(&prepared, &memo, &overruled, None, &spent, true).await;
        let lists: Vec<(Zipcode, &[&Examined])> = prepared.0.iter().map(|p| (p.zipcode, p.list.as_slice())).collect();
        for _ in 0..MAX_WALKS {
            if !overruled.learn(self.ctx, &first, &lists) {
                break;
            }
            first = self
                .decide(&prepared, &memo, &overruled, Some(first), &spent, true)
                .await;
        }
        let corroborated = prepared
            .0
            .iter()
            .map(|p| (p.zipcode, p.corroborated.as_slice()))
            .collect();
        let health = source_health(&first, &corroborated, &self.ctx.config);
        let mut results = if health.broken {
            // Nothing is paid in this walk: each zipcode reports what its
            // trusted walks looked up.
            self.decide(&prepared, &BrokenSource, &Overruled::default(), None, &spent, false)
                .await
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
        // The lookup budget, split evenly over the assigned zipcodes in
        // order, the remainder one each to the first ones.
        let budget = ctx.config.lookup_budget_per_epoch;
        let zipcodes = by_zipcode.len().max(1) as u64;
        let share = |i: usize| (budget > 0).then(|| budget / zipcodes + u64::from((i as u64) < budget % zipcodes));
        // Zipcodes are independent: prepared on the caller's rayon pool, in
        // zipcode order whatever the threads.
        let prepared = by_zipcode
            .into_iter()
            .collect::<Vec<_>>()
            .into_par_iter()
            .enumerate()
            .map(|(i, (zipcode, mut list))| {
                list.sort_by_cached_key(|e| (e.submitted_at_ms, tie_break(&ctx.validation_seed, &e.hotkey)));
                let copy_of = copy_check(ctx, &list);
                let representative = representatives(ctx, &list, &copy_of);
                let expected = ctx.zipcodes.get(&zipcode).copied().unwrap_or(0);
                let contested = contested_claims(ctx, zipcode, &list, &representative, &copy_of);
                Prepared {
                    zipcode,
                    short_of: relative_quantity(ctx, &list, &representative, expected),
                    copy_of,
                    contested: contested.claims,
                    corroborated: contested.corroborated,
                    shared: contested.shared,
                    owners: contested.owners,
                    budget: share(i),
                    list,
                }
            })
            .collect();
        (prepared, unassigned)
    }

    /// Walks every zipcode and scores the epoch. With `earlier` (a walk of
    /// the same prepared zipcodes with the same remembered verdicts), a
    /// zipcode where nothing new is `overruled` walks exactly as it did
    /// then, so its outcome is taken from there instead of walked again.
    /// `spent`: each zipcode's zpids looked up by earlier walks, added to.
    /// `source_trusted` is false for the walk with a source judged broken:
    /// nothing it answers counts against a miner or the budget.
    async fn decide<V: ListingVerifier>(
        &self,
        prepared: &(Vec<Prepared<'_>>, Vec<UnassignedRecord>),
        verifier: &V,
        overruled: &Overruled,
        earlier: Option<ValidationResults>,
        spent: &std::sync::Mutex<BTreeMap<Zipcode, BTreeSet<String>>>,
        source_trusted: bool,
    ) -> ValidationResults {
        let ctx = self.ctx;
        let all_miners: BTreeSet<Hotkey> = self.submissions.keys().map(|(_, h)| h.clone()).collect();
        let (zipcodes, unassigned) = prepared;
        let unassigned = unassigned.clone();
        let mut earlier: BTreeMap<Zipcode, ZipcodeOutcome> = earlier
            .map(|r| r.zipcodes.into_iter().map(|o| (o.zipcode, o)).collect())
            .unwrap_or_default();
        let walks = zipcodes.iter().map(|p| {
            // A zipcode walks as before unless a submission there that did
            // not fail is overruled now (where it already failed, the
            // failure and its evidence stand).
            let failed_before = |hotkey: &Hotkey| {
                earlier.get(&p.zipcode).is_some_and(|o| {
                    o.submissions
                        .iter()
                        .any(|s| &s.hotkey == hotkey && s.status == Status::Failed)
                })
            };
            let unchanged = p
                .list
                .iter()
                .all(|e| !overruled.applies(ctx, p.zipcode, &e.hotkey) || failed_before(&e.hotkey))
                .then(|| earlier.remove(&p.zipcode))
                .flatten();
            async move {
                match unchanged {
                    Some(outcome) => outcome,
                    None => {
                        let before = spent
                            .lock()
                            .map(|m| m.get(&p.zipcode).cloned().unwrap_or_default())
                            .unwrap_or_default();
                        let (outcome, after) = walk_zipcode(ctx, p, verifier, overruled, source_trusted, before).await;
                        if source_trusted {
                            if let Ok(mut m) = spent.lock() {
                                m.insert(p.zipcode, after);
                            }
                        }
                        outcome
                    }
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

        let mut totals = Totals {
            same_listings: ctx.results_version.same_listings_status().then_some(0),
            ..Totals::default()
        };
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
                Status::SameListings => *totals.same_listings.get_or_insert(0) += 1,
            }
        }
        totals.lookups = outcomes.iter().map(|o| o.lookups).sum();
        totals.scored_miners = miner_scores.iter().filter(|m| m.score_ppb > 0).count() as u64;
        totals.score_ppb = miner_scores.iter().map(|m| m.score_ppb).sum();

        let mut results = ValidationResults {
            version: ctx.results_version.number(),
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

/// Walks after the first, at most: each learns something new or ends the
/// loop, and what can be learnt is bounded by the submissions; this only
/// caps a pathological epoch's time.
const MAX_WALKS: usize = 8;
