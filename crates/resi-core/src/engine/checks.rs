//! What tiers 0-2 decide across a zipcode's submissions, before any lookup:
//! copies, the relative quantity and the contested rows (freshness).

use crate::config::{at_least, bps_pct, pct};
use crate::context::EpochContext;
use crate::examine::{RowClaim, ZPID_MIX};

use crate::examine::{Examined, Precheck};
use crate::hotkey::Hotkey;
use crate::verify::{prices_agree, Claim};
use crate::zipcode::Zipcode;
use sha2::{Digest, Sha256};

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// One submission per owner (coldkey): its first in ranking order that
/// passed tiers 0–2 and is not a copy. Every rule that counts submissions
/// counts these, so an owner's extra hotkeys and copies add nothing to a
/// median, to a row's support or to the source's health.
pub(super) fn representatives(ctx: &EpochContext, list: &[&Examined], copy_of: &[Option<String>]) -> Vec<bool> {
    let mut seen = std::collections::BTreeSet::new();
    list.iter()
        .zip(copy_of)
        .map(|(e, copy)| e.precheck == Precheck::Passed && copy.is_none() && seen.insert(ctx.owner_of(&e.hotkey)))
        .collect()
}

/// Tier 1 relative to what the zipcode holds: with at least
/// `quantity_relative_min_peers` owners whose submission passed tiers 0–2,
/// each submission must hold `quantity_relative_min_bps` of their median
/// listing count (the lower median, an integer, one count per owner, and
/// never more than the expected count: files padded past what the zipcode
/// holds cannot raise the bar for everyone). Expected ± tolerance stays the
/// outer bound; this stops a miner who uploads the least the tolerance
/// allows, sooner.
pub(super) fn relative_quantity(
    ctx: &EpochContext,
    list: &[&Examined],
    representative: &[bool],
    expected: u64,
) -> Vec<Option<String>> {
    let config = &ctx.config;
    let mut counts: Vec<u64> = list
        .iter()
        .zip(representative)
        .filter(|(_, rep)| **rep)
        .filter_map(|(e, _)| e.listing_count)
        .collect();
    if config.quantity_relative_min_bps == 0 || (counts.len() as u64) < config.quantity_relative_min_peers.max(1) {
        return vec![None; list.len()];
    }
    counts.sort_unstable();
    let median = counts[(counts.len() - 1) / 2].min(expected);
    let owners = counts.len();
    list.iter()
        .map(|e| {
            let n = e.listing_count?;
            (e.precheck == Precheck::Passed && !at_least(n, median, config.quantity_relative_min_bps)).then(|| {
                format!(
                    "tier 1: quantity: {n} listings, below {} of {median}, the median of the {owners} owners whose submissions passed tiers 0-2 (at most the expected count)",
                    bps_pct(config.quantity_relative_min_bps)
                )
            })
        })
        .collect()
}

/// One scrape, one reward (PROTOCOL.md §6): `later` holds the same listings
/// as `earlier` when at least `same_listings_min_bps` of the rows of the
/// larger of the two agree (same zpid, prices agreeing or absent). Returns
/// the agreeing rows and that total when they do.
pub(super) fn same_listings(ctx: &EpochContext, later: &Examined, earlier: &Examined) -> Option<(u64, u64)> {
    let min = ctx.config.same_listings_min_bps;
    if min == 0 || later.claims.is_empty() || earlier.claims.is_empty() {
        return None;
    }
    let tolerance = ctx.config.spot_check_tolerance_bps;
    let (a, b) = (&later.claims, &earlier.claims);
    let mut agree = 0u64;
    for_shared_zpids(a, b, |x, y| {
        agree += u64::from(prices_agree(x.price, y.price, tolerance))
    });
    let total = a.len().max(b.len()) as u64;
    at_least(agree, total, min).then_some((agree, total))
}

/// Calls `each` with the rows of `a` and `b` (both sorted by zpid, each
/// zpid once) that have the same zpid.
fn for_shared_zpids(a: &[RowClaim], b: &[RowClaim], mut each: impl FnMut(&RowClaim, &RowClaim)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].zpid.cmp(&b[j].zpid) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                each(&a[i], &b[j]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// `x` is short of `longer` (a ranked submission of another owner) when at
/// least `quantity_relative_min_bps` of `x`'s rows are listings `longer`
/// holds too, yet `x` holds fewer than that share of `longer`'s count: the
/// same scrape with listings left out. The source verified `longer`, so
/// the listings `x` lacks are not `longer`'s invention; a market does not
/// grow by a tenth between two scrapes of one epoch. The reason when short.
pub(super) fn short_of(ctx: &EpochContext, x: &Examined, longer: &Examined) -> Option<String> {
    let min = ctx.config.quantity_relative_min_bps;
    let (n, m) = (x.claims.len() as u64, longer.claims.len() as u64);
    if min == 0 || n == 0 || at_least(n, m, min) {
        return None;
    }
    let mut shared = 0u64;
    for_shared_zpids(&x.claims, &longer.claims, |_, _| shared += 1);
    at_least(shared, n, min).then(|| {
        format!(
            "{n} listings, {shared} of them among the {m} (below {}) of the verified submission",
            bps_pct(min)
        )
    })
}

/// The copy check, in ranking order: a submission is a copy when at least
/// `copy_overlap_min_bps` of its fingerprints occur in one earlier decoded
/// submission of another owner (the earliest such one is named).
///
/// Exact intersection counts by sorting, not hashing: every (fingerprint,
/// submission) of the zipcode sorted once puts each fingerprint's holders
/// side by side, in ranking order. Each submission then counts, per earlier
/// submission, the fingerprints it shares with it by walking the runs it is
/// in, into one array indexed by submission: sequential memory access where
/// the hash index this replaced took a cache miss per fingerprint (a third
/// of the epoch's single-threaded work). The same verdicts.
pub(super) fn copy_check(ctx: &EpochContext, list: &[&Examined]) -> Vec<Option<String>> {
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
                    && ctx.owner_of(&list[k].hotkey) != ctx.owner_of(&later.hotkey)
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

/// What the freshness rule (PROTOCOL.md §5) found in a zipcode: per
/// submission the rows to check against the source's history, and the
/// zpids most owners agree on (the source's health is judged on those).
pub(super) struct Contested {
    pub(super) claims: Vec<Vec<Claim>>,
    /// Sorted zpids held by at least two owners and at least half of them.
    pub(super) corroborated: Vec<u64>,
    /// Sorted zpids held by at least two owners.
    pub(super) shared: Vec<u64>,
    /// Owners with a representative submission here.
    pub(super) owners: usize,
}

/// Freshness (PROTOCOL.md §5): per owner's representative submission, the
/// rows the other owners contradict (a zpid some of them lack, or a price
/// outside the tolerance of theirs; an absent price contradicts nothing),
/// at most `spot_check_contested_max`: those the fewest owners support
/// (same zpid, agreeing price) first, then by a hash keyed with the
/// validation seed and the hotkey. A stale row is one only its owner holds;
/// a row an honest miner shares with the other owners is rarely checked,
/// and an owner's extra hotkeys and copies support nothing.
pub(super) fn contested_claims(
    ctx: &EpochContext,
    zipcode: Zipcode,
    list: &[&Examined],
    representative: &[bool],
    copy_of: &[Option<String>],
) -> Contested {
    let owners: Vec<usize> = (0..list.len())
        .filter(|&i| representative[i] && !list[i].claims.is_empty())
        .collect();
    let mut out = Contested {
        claims: vec![Vec::new(); list.len()],
        corroborated: Vec::new(),
        shared: Vec::new(),
        owners: owners.len(),
    };
    let max = ctx.config.spot_check_contested_max as usize;
    let tolerance = ctx.config.spot_check_tolerance_bps;
    if owners.len() < 2 {
        return out;
    }
    // (zpid, price, submission) over every owner, grouped by zpid.
    let mut rows: Vec<(u64, i64, u32)> = owners
        .iter()
        .flat_map(|&i| list[i].claims.iter().map(move |c| (c.zpid, c.price, i as u32)))
        .collect();
    // Grouped by zpid, each group sorted by (price, submission); the groups'
    // own order does not matter below, so they are spread by a mix of the zpid.
    sort_in_buckets(&mut rows, |&(zpid, _, _)| zpid.wrapping_mul(ZPID_MIX));
    let majority = owners.len().div_ceil(2).max(2);
    // Per submission: (how many owners hold the same zpid at an agreeing price, zpid).
    let mut contested: Vec<Vec<(usize, u64)>> = vec![Vec::new(); list.len()];
    // Where each zpid's group is, for the owners' other submissions below.
    let mut groups: Vec<(u64, u32, u32)> = Vec::new();
    let mut start = 0u32;
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        groups.push((group[0].0, start, group.len() as u32));
        start += group.len() as u32;
        if group.len() >= majority {
            out.corroborated.push(group[0].0);
        }
        if group.len() >= 2 {
            out.shared.push(group[0].0);
        }
        // Sorted by price: the absent ones (≤ 0) first, then the rest.
        let absent = group.partition_point(|r| r.1 <= 0);
        let priced = &group[absent..];
        let someone_lacks = group.len() < owners.len();
        for r in group {
            let p = r.1;
            let disagrees = p > 0
                && priced
                    .first()
                    .zip(priced.last())
                    .is_some_and(|(lo, hi)| !prices_agree(p, lo.1, tolerance) || !prices_agree(p, hi.1, tolerance));
            if !someone_lacks && !disagrees {
                continue;
            }
            let support = if p <= 0 {
                group.len()
            } else {
                // Agreement is monotone in the other price, so the agreeing
                // prices are one run of the sorted group.
                let lo = priced.partition_point(|q| q.1 < p && !prices_agree(q.1, p, tolerance));
                let hi = priced.partition_point(|q| q.1 <= p || prices_agree(q.1, p, tolerance));
                absent + (hi - lo)
            };
            contested[r.2 as usize].push((support, r.0));
        }
    }
    out.corroborated.sort_unstable();
    out.shared.sort_unstable();
    // An owner's other submissions that passed (a second hotkey, which the
    // walk fails if the first is paid) are contested against the other
    // owners the same way, so that a helper of a stale file is checked too.
    groups.sort_unstable();
    let owner_of = |i: usize| ctx.owner_of(&list[i].hotkey);
    for i in 0..list.len() {
        let e = list[i];
        if representative[i] || e.precheck != Precheck::Passed || e.claims.is_empty() || copy_of[i].is_some() {
            continue;
        }
        let own = owner_of(i);
        let others = owners.iter().filter(|&&k| owner_of(k) != own).count();
        if others == 0 {
            continue;
        }
        for c in &e.claims {
            let group: Vec<i64> = match groups.binary_search_by_key(&c.zpid, |g| g.0) {
                Ok(at) => {
                    let (_, start, len) = groups[at];
                    rows[start as usize..(start + len) as usize]
                        .iter()
                        .filter(|r| owner_of(r.2 as usize) != own)
                        .map(|r| r.1)
                        .collect()
                }
                Err(_) => Vec::new(),
            };
            let agreeing = group.iter().filter(|&&q| prices_agree(c.price, q, tolerance)).count();
            if group.len() < others || agreeing < group.len() {
                contested[i].push((1 + agreeing, c.zpid));
            }
        }
    }
    for (i, zpids) in contested.into_iter().enumerate() {
        if zpids.is_empty() || max == 0 {
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
        out.claims[i] = keyed
            .into_iter()
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

/// The tie-break key of a hotkey: SHA-256 of `{validationSeed}:{hotkey}`.
pub fn tie_break(validation_seed: &str, hotkey: &Hotkey) -> [u8; 32] {
    Sha256::digest(format!("{validation_seed}:{hotkey}").as_bytes()).into()
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
