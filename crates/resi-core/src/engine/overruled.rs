//! What the walks' evidence decides against submissions before the next
//! walk: owners barred for the epoch by a stale row, files short of a
//! verified one.

use std::collections::BTreeMap;

use super::checks;
use crate::context::EpochContext;
use crate::examine::Examined;
use crate::hotkey::Hotkey;
use crate::results::{Status, ValidationResults};
use crate::verify::Verdict;
use crate::zipcode::Zipcode;

/// What the walks' evidence decided against submissions before their walk.
#[derive(Default)]
pub(super) struct Overruled {
    /// Owner (coldkey) → why it is barred for the epoch: a contested row of
    /// one of its hotkeys the source's history contradicts.
    pub(super) barred: BTreeMap<Hotkey, String>,
    /// (zipcode, hotkey) → why the submission is short: it holds fewer than
    /// `quantityRelativeMinBps` of the listings of a ranked submission of
    /// another owner that holds almost all of its own.
    pub(super) short: BTreeMap<(Zipcode, Hotkey), String>,
}

impl Overruled {
    pub(super) fn applies(&self, ctx: &EpochContext, zipcode: Zipcode, hotkey: &Hotkey) -> bool {
        self.barred.contains_key(ctx.owner_of(hotkey)) || self.short.contains_key(&(zipcode, hotkey.clone()))
    }

    /// Adds what `results` show; whether anything was new.
    pub(super) fn learn(
        &mut self,
        ctx: &EpochContext,
        results: &ValidationResults,
        lists: &[(Zipcode, &[&Examined])],
    ) -> bool {
        let mut new = false;
        for z in &results.zipcodes {
            for s in &z.submissions {
                let Some(stale) = s.spot_check.as_ref().and_then(|c| {
                    c.contested
                        .iter()
                        .find(|c| c.verdict.is_determined() && c.verdict != Verdict::Verified)
                }) else {
                    continue;
                };
                let owner = ctx.owner_of(&s.hotkey).clone();
                if let std::collections::btree_map::Entry::Vacant(entry) = self.barred.entry(owner) {
                    entry.insert(format!(
                        "{} in zipcode {}, zpid {}: {}",
                        s.hotkey,
                        z.zipcode,
                        stale.zpid,
                        stale.verdict.reason()
                    ));
                    new = true;
                }
            }
        }
        for (z, (zipcode, list)) in results.zipcodes.iter().zip(lists) {
            debug_assert_eq!(z.zipcode, *zipcode);
            let ranked: Vec<(usize, u8)> = z
                .submissions
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.rank.map(|r| (i, r)))
                .collect();
            for (j, s) in z.submissions.iter().enumerate() {
                let key = (z.zipcode, s.hotkey.clone());
                if s.status == Status::Failed || self.short.contains_key(&key) {
                    continue;
                }
                let (Some(x), owner) = (list.get(j), ctx.owner_of(&s.hotkey)) else {
                    continue;
                };
                let shorter = ranked.iter().find_map(|&(w, rank)| {
                    let longer = list.get(w)?;
                    if ctx.owner_of(&longer.hotkey) == owner {
                        return None;
                    }
                    checks::short_of(ctx, x, longer).map(|reason| (rank, &longer.hotkey, reason))
                });
                if let Some((rank, hotkey, reason)) = shorter {
                    self.short
                        .insert(key, format!("tier 1: short: {reason} of rank {rank}, {hotkey}"));
                    new = true;
                }
            }
        }
        new
    }
}
