//! Every rule and threshold boundary of tiers 0–3, ranking and scores (PROTOCOL.md §5–§6).

mod common;

use common::*;
use resi_core::config::ValidationConfig;
use resi_core::examine::{tier1, tier2, Precheck, QualityCounts};
use resi_core::results::Status;
use resi_core::rules::ResultsVersion;
use resi_core::sampling::{sample_indices, sample_seed, sample_size};
use resi_core::scoring::PPB;
use resi_core::{examine, ManifestEntry, Verdict};

fn precheck(ctx: &resi_core::EpochContext, rows: &[resi_core::Listing]) -> resi_core::Examined {
    examine(ctx, submission_for(hotkey(1), zip(), rows, START_MS + 7_200_000))
}

fn failed_tier(e: &resi_core::Examined) -> Option<(u8, String)> {
    match &e.precheck {
        Precheck::Failed { tier, reason } => Some((*tier, reason.clone())),
        _ => None,
    }
}

// ---------- tier 1 ----------

#[test]
fn tier1_bounds_are_inclusive_at_85_and_115_percent() {
    let c = ValidationConfig::default();
    assert!(tier1(85, 100, &c).is_none());
    assert!(tier1(84, 100, &c).is_some());
    assert!(tier1(115, 100, &c).is_none());
    assert!(tier1(116, 100, &c).is_some());
    // Non-round expectations: 0.85 × 401 = 340.85, so 341 passes and 340 fails.
    assert!(tier1(341, 401, &c).is_none());
    assert!(tier1(340, 401, &c).is_some());
    let reason = tier1(10, 100, &c).unwrap();
    assert!(reason.contains("10 unique listings, expected 100"), "{reason}");
}

#[test]
fn tier1_through_the_engine() {
    let ctx = ctx(100);
    assert!(failed_tier(&precheck(&ctx, &listings(85))).is_none());
    let (tier, reason) = failed_tier(&precheck(&ctx, &listings(84))).unwrap();
    assert_eq!(tier, 1, "{reason}");
    assert!(failed_tier(&precheck(&ctx, &listings(115))).is_none());
    assert_eq!(failed_tier(&precheck(&ctx, &listings(116))).unwrap().0, 1);
}

// ---------- tier 2 ----------

fn q(n: u64, complete: u64, reasonable: u64, consistent: u64, dups: u64) -> QualityCounts {
    QualityCounts {
        listings: n,
        complete,
        reasonable,
        consistent,
        address_price_duplicates: dups,
    }
}

#[test]
fn tier2_threshold_boundaries() {
    let c = ValidationConfig::default();
    assert!(tier2(&q(100, 90, 100, 100, 0), &c).is_none());
    assert!(tier2(&q(100, 89, 100, 100, 0), &c).unwrap().contains("completeness"));
    assert!(tier2(&q(100, 100, 95, 100, 0), &c).is_none());
    assert!(tier2(&q(100, 100, 94, 100, 0), &c).unwrap().contains("reasonable"));
    assert!(tier2(&q(100, 100, 100, 90, 0), &c).is_none());
    assert!(tier2(&q(100, 100, 100, 89, 0), &c).unwrap().contains("consistency"));
    assert!(tier2(&q(100, 100, 100, 100, 5), &c).is_none());
    assert!(tier2(&q(100, 100, 100, 100, 6), &c).unwrap().contains("duplicate rate"));
    assert!(tier2(&q(0, 0, 0, 0, 0), &c).is_some());
}

fn counts_of(ctx: &resi_core::EpochContext, rows: &[resi_core::Listing]) -> QualityCounts {
    precheck(ctx, rows).quality.expect("decoded")
}

#[test]
fn completeness_requires_what_real_listings_always_have() {
    let ctx = ctx(14);
    let mut rows = listings(14);
    rows[0].mls_id = None; // optional
    rows[1].address = Some(String::new()); // empty counts as missing
    rows[2].days_on_market = None;
    rows[3].property_type = None;
    rows[4].scraped_timestamp_ms = None;
    // Lots, new construction and plans: optional on real listings.
    rows[5].bedrooms = None;
    rows[6].bathrooms = None;
    rows[7].sqft = None;
    rows[8].sqft = Some(0);
    // A price is required; 0 means unknown.
    rows[9].price = Some(0);
    rows[10].price = None;
    rows[11].listing_date = None;
    rows[12].source_url = None;
    let c = counts_of(&ctx, &rows);
    // Incomplete: rows 1, 2, 3, 4, 9, 10, 11, 12.
    assert_eq!(c.complete, 6);
}

#[test]
fn absent_values_are_not_unreasonable() {
    let ctx = ctx(6);
    let mut rows = listings(6);
    rows[0].bedrooms = None;
    rows[1].bathrooms = None;
    rows[2].sqft = None;
    rows[3].sqft = Some(0); // unknown, not a 0-sqft home
    rows[4].price = Some(0);
    rows[5].sqft = Some(1); // present and out of range
    let c = counts_of(&ctx, &rows);
    assert_eq!(c.reasonable, 5);
}

#[test]
fn reasonable_value_ranges_are_inclusive() {
    let ctx = ctx(12);
    let mut rows = listings(12);
    rows[0].price = Some(10_000);
    rows[1].price = Some(9_999);
    rows[2].price = Some(50_000_000);
    rows[3].price = Some(50_000_001);
    rows[4].bedrooms = Some(20);
    rows[5].bedrooms = Some(21);
    rows[6].bathrooms = Some(20.0);
    rows[7].bathrooms = Some(20.5);
    rows[8].sqft = Some(100);
    rows[9].sqft = Some(99);
    rows[10].sqft = Some(100_001);
    rows[11].bathrooms = Some(f64::NAN);
    let c = counts_of(&ctx, &rows);
    // Unreasonable: rows 1, 3, 5, 7, 9, 10, 11.
    assert_eq!(c.reasonable, 5);
}

/// The reason names the value out of range with its unit and the range,
/// never a Rust `Some(…)`.
#[test]
fn an_unreasonable_row_is_named_in_plain_words() {
    let ctx = ctx(20);
    let mut rows = listings(20);
    rows[3].price = Some(164);
    rows[3].sqft = Some(250_000);
    rows[4].bedrooms = Some(40);
    let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).expect("2 of 20 unreasonable fail tier 2");
    assert_eq!(tier, 2, "{reason}");
    assert!(
        reason.contains("price $164 is outside $10,000 to $50,000,000; 250,000 sq ft is outside 100 to 100,000 sq ft"),
        "{reason}"
    );
    assert!(!reason.contains("Some("), "{reason}");
}

#[test]
fn consistency_is_relative_to_the_epoch_never_the_clock() {
    let ctx = ctx(9);
    let mut rows = listings(9);
    let lookback = ValidationConfig::default().scrape_lookback_ms;
    rows[0].scraped_timestamp_ms = Some(START_MS - lookback); // earliest allowed
    rows[1].scraped_timestamp_ms = Some(START_MS - lookback - 1);
    rows[2].scraped_timestamp_ms = Some(DEADLINE_MS); // latest allowed
    rows[3].scraped_timestamp_ms = Some(DEADLINE_MS + 1);
    rows[4].zipcode = Some("77430".into());
    rows[5].listing_date = Some("2025-02-30".into());
    rows[6].listing_date = Some("2025-10-02".into()); // after the scrape day
    rows[7].listing_date = Some("2025-10-01".into()); // same day: fine
    rows[7].scraped_timestamp_ms = Some(START_MS + 1);
    rows[8].listing_date = Some("20251001".into());
    let c = counts_of(&ctx, &rows);
    // Inconsistent: rows 1, 3, 4, 5, 6, 8.
    assert_eq!(c.consistent, 3);
}

#[test]
fn duplicate_rate_uses_normalized_address_and_price() {
    let ctx = ctx(10);
    let mut rows = listings(10);
    rows[1].address = Some("100  OAK st., Cypress TX 77429".into());
    rows[1].price = rows[0].price;
    rows[2].address = rows[0].address.clone();
    rows[2].price = Some(1_000_000); // other price: not a duplicate
    let c = counts_of(&ctx, &rows);
    assert_eq!(c.address_price_duplicates, 1);
}

// ---------- tier 0 ----------

#[test]
fn duplicate_zpids_fail_tier0_naming_the_rows() {
    let ctx = ctx(10);
    let mut rows = listings(10);
    rows[7] = rows[2].clone();
    rows[7].scraped_timestamp_ms = Some(START_MS + 5);
    let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).unwrap();
    assert_eq!(tier, 0);
    assert!(reason.contains("rows 2 and 7") && reason.contains("zpid"), "{reason}");
}

#[test]
fn zpids_must_be_canonical_at_tier0() {
    let ctx = ctx(10);
    // (An empty zpid is already unreadable: the column is required.)
    for bad in ["0123", "12a", "1 2", "-5", "12345678901234567890", "１２３"] {
        let mut rows = listings(10);
        rows[5].zpid = bad.to_owned();
        rows[5].source_url = None;
        let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).unwrap_or_else(|| panic!("{bad:?} passed"));
        assert_eq!(tier, 0, "{bad:?}");
        assert!(
            reason.contains("row 5") && reason.contains("not a canonical zpid"),
            "{reason}"
        );
    }
    for good in ["1", "1234567890123456789"] {
        let mut rows = listings(10);
        rows[5].zpid = good.to_owned();
        rows[5].source_url = None;
        assert!(failed_tier(&precheck(&ctx, &rows)).is_none(), "{good:?} failed");
    }
}

#[test]
fn a_url_naming_another_zpid_fails_tier0() {
    let ctx = ctx(10);
    let mut rows = listings(10);
    rows[4].source_url = Some(format!("https://www.zillow.com/homedetails/x/{}_zpid/", rows[3].zpid));
    let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).unwrap();
    assert_eq!(tier, 0);
    assert!(reason.contains("row 4 source_url names zpid"), "{reason}");
}

#[test]
fn duplicate_normalized_urls_fail_tier0() {
    let ctx = ctx(10);
    let mut rows = listings(10);
    rows[3].source_url = Some("https://example.com/listing/9?ref=1".into());
    rows[6].source_url = Some("HTTP://WWW.Example.com/listing/9/#top".into());
    let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).unwrap();
    assert_eq!(tier, 0);
    assert!(reason.contains("rows 3 and 6 have the same source_url"), "{reason}");
}

#[test]
fn same_content_under_new_zpids_fails_tier0() {
    let ctx = ctx(10);
    let mut rows = listings(10);
    let mut padded = rows[5].clone();
    padded.zpid = "999999".into();
    padded.source_url = Some("https://www.zillow.com/homedetails/pad/999999_zpid/".into());
    rows[9] = padded;
    let (tier, reason) = failed_tier(&precheck(&ctx, &rows)).unwrap();
    assert_eq!(tier, 0);
    assert!(reason.contains("same content"), "{reason}");
}

#[test]
fn manifest_missing_or_wrong_fails_tier0() {
    let ctx = ctx(10);
    let mut input = submission(1, &listings(10), START_MS + 1);
    input.manifest = ManifestEntry::Missing;
    let (tier, reason) = failed_tier(&examine(&ctx, input.clone())).unwrap();
    assert_eq!((tier, reason.contains("manifest")), (0, true));
    input.manifest = ManifestEntry::Sha256([0; 32]);
    let (tier, reason) = failed_tier(&examine(&ctx, input.clone())).unwrap();
    assert!(tier == 0 && reason.contains("differs"), "{reason}");
    let lenient = ctx_with(
        &[(zip(), 10)],
        ValidationConfig {
            require_manifest: false,
            ..Default::default()
        },
    );
    input.manifest = ManifestEntry::Missing;
    assert!(failed_tier(&examine(&lenient, input)).is_none());
}

#[test]
fn unreadable_files_fail_tier0_with_the_schema_error() {
    let ctx = ctx(10);
    let mut input = submission(1, &listings(10), START_MS + 1);
    input.bytes = bytes::Bytes::from_static(b"zpid,price\n1,2\n");
    input.manifest = ManifestEntry::Missing;
    let lenient = ctx_with(
        &[(zip(), 10)],
        ValidationConfig {
            require_manifest: false,
            ..Default::default()
        },
    );
    let (tier, reason) = failed_tier(&examine(&lenient, input)).unwrap();
    assert_eq!(tier, 0);
    assert!(reason.starts_with("unreadable:"), "{reason}");
    let _ = ctx;
}

#[test]
fn copies_are_detected_at_90_percent_of_fingerprints() {
    let ctx = ctx(101);
    // 101 rows read 10 ms apart: 100 pace fingerprints (zpid, next zpid, ms between).
    let original: Vec<_> = (0..101)
        .map(|i| listing_in(zip(), i, START_MS + 3_600_000 + 10 * i as i64))
        .collect();
    // Every stamp moved by 5 minutes: the pace is the same, a copy.
    let mut shifted = original.clone();
    for row in &mut shifted {
        row.scraped_timestamp_ms = Some(row.scraped_timestamp_ms.unwrap() + 300_000);
    }
    // Rows 10, 20, 30, 40, 50 read 3 ms later: 10 of 100 fingerprints
    // differ, 90 % shared, a copy.
    let mut copy = original.clone();
    for k in [10, 20, 30, 40, 50] {
        copy[k].scraped_timestamp_ms = Some(copy[k].scraped_timestamp_ms.unwrap() + 3);
    }
    // Five other rows and the last one (one fingerprint): 11 differ, 89 %,
    // not a copy (and 79 % like the copy).
    let mut almost = original.clone();
    for k in [60, 70, 80, 90, 95, 100] {
        almost[k].scraped_timestamp_ms = Some(almost[k].scraped_timestamp_ms.unwrap() + 3);
    }
    let results = run(
        &ctx,
        vec![
            submission_for(hotkey(1), zip(), &original, START_MS + 1_000),
            submission_for(hotkey(2), zip(), &copy, START_MS + 2_000),
            submission_for(hotkey(3), zip(), &almost, START_MS + 3_000),
            submission_for(hotkey(4), zip(), &shifted, START_MS + 4_000),
        ],
    );
    let r2 = record(&results, 2);
    assert_eq!((r2.status, r2.failed_tier), (Status::Failed, Some(0)), "{}", r2.reason);
    assert!(
        r2.reason.contains("copy") && r2.reason.contains("90.00 %"),
        "{}",
        r2.reason
    );
    // Not a copy: the same listings as the original, so paid through it
    // (one scrape, one reward), never failed.
    let r3 = record(&results, 3);
    assert_eq!(r3.status, Status::SameListings, "{}", r3.reason);
    assert!(r3.reason.contains("same listings as rank 1"), "{}", r3.reason);
    // Shifting every stamp hides nothing.
    let r4 = record(&results, 4);
    assert!(
        r4.reason.contains("copy") && r4.reason.contains("100.00 %"),
        "{}",
        r4.reason
    );
    // The original, submitted first, is never the copy.
    assert_eq!(record(&results, 1).rank, Some(1));
}

/// Miner `h`'s own scrape of the first `n` of its own listings (own
/// timestamps and zpids: neither a copy nor the same listings as another's).
fn scrape_of(h: u8, n: usize) -> Vec<resi_core::Listing> {
    let rows: Vec<_> = (0..n)
        .map(|i| listing_in(zip(), i, START_MS + 3_600_000 + h as i64 * 100_000 + i as i64 * 3))
        .collect();
    own_listings(h, &rows)
}

fn relative_run(counts: &[usize]) -> resi_core::ValidationResults {
    let ctx = ctx(100);
    let inputs = counts
        .iter()
        .enumerate()
        .map(|(k, n)| {
            submission(
                k as u8 + 1,
                &scrape_of(k as u8 + 1, *n),
                START_MS + 10_000 + k as i64 * 1_000,
            )
        })
        .collect();
    run(&ctx, inputs)
}

#[test]
fn tier1_is_relative_to_the_median_of_the_peers() {
    // Median of (100, 100, 90) is 100: 90 holds exactly 90 % and passes.
    let r = relative_run(&[100, 100, 90]);
    assert_eq!(record(&r, 3).status, Status::Winner, "{}", record(&r, 3).reason);
    // 89 is inside expected ± 15 % but below 90 % of 100: tier 1.
    let r = relative_run(&[100, 100, 89]);
    let short = record(&r, 3);
    assert_eq!(
        (short.status, short.failed_tier),
        (Status::Failed, Some(1)),
        "{}",
        short.reason
    );
    assert!(short.reason.contains("median of the 3 owners"), "{}", short.reason);
    // The lower median: (100, 89, 89, 100) has median 89, so nobody fails.
    let r = relative_run(&[100, 89, 89, 100]);
    assert!(r.zipcodes[0]
        .submissions
        .iter()
        .all(|s| s.status == Status::Winner || s.status == Status::Participant));
    // With fewer than three peers the expected count alone decides.
    let r = relative_run(&[100, 86]);
    assert_eq!(record(&r, 2).status, Status::Winner, "{}", record(&r, 2).reason);
    // The median never exceeds the expected count (100): three files padded
    // to 115 cannot put an honest 90 below the bar (results version 6).
    let r = relative_run(&[115, 115, 115, 90]);
    assert_ne!(record(&r, 4).failed_tier, Some(1), "{}", record(&r, 4).reason);
}

#[test]
fn the_relative_median_counts_owners_not_hotkeys() {
    // Miners 1-3 are one owner's hotkeys with 100 listings each (of their
    // own, so not copies); 4 and 5 are two owners with 86. One count per
    // owner: the median of (100, 86, 86) is 86, and nobody is short.
    let owner = hotkey(200);
    let coldkeys = (1..=3u8).map(|h| (hotkey(h), owner.clone())).collect();
    let ctx = ctx(100).with_coldkeys(coldkeys);
    let inputs = [(1u8, 100usize), (2, 100), (3, 100), (4, 86), (5, 86)]
        .iter()
        .map(|&(h, n)| submission(h, &scrape_of(h, n), START_MS + 10_000 + h as i64 * 1_000))
        .collect();
    let r = run(&ctx, inputs);
    for h in [4, 5] {
        assert_ne!(record(&r, h).failed_tier, Some(1), "{}", record(&r, h).reason);
    }
    // Counted per hotkey, the median would be 100 and both would fail.
    let inputs = [(1u8, 100usize), (2, 100), (3, 100), (4, 86), (5, 86)]
        .iter()
        .map(|&(h, n)| submission(h, &scrape_of(h, n), START_MS + 10_000 + h as i64 * 1_000))
        .collect();
    let r = run(&ctx_with(&[(zip(), 100)], ValidationConfig::default()), inputs);
    assert_eq!(record(&r, 4).failed_tier, Some(1), "{}", record(&r, 4).reason);
}

#[test]
fn one_rank_per_coldkey_per_zipcode() {
    // Miners 1 and 2 share a coldkey; 3 has its own. 2 would be rank 2.
    let owner = hotkey(200);
    let ctx = ctx(100).with_coldkeys(
        [
            (hotkey(1), owner.clone()),
            (hotkey(2), owner.clone()),
            (hotkey(3), hotkey(201)),
        ]
        .into(),
    );
    let inputs = (1..=3u8)
        .map(|h| submission(h, &scrape_of(h, 100), START_MS + 10_000 + h as i64 * 1_000))
        .collect();
    let r = run(&ctx, inputs);
    assert_eq!(record(&r, 1).rank, Some(1));
    let second = record(&r, 2);
    assert_eq!(
        (second.status, second.failed_tier),
        (Status::Failed, Some(0)),
        "{}",
        second.reason
    );
    assert!(second.reason.contains("same owner"), "{}", second.reason);
    assert_eq!(record(&r, 3).rank, Some(2), "the next owner moves up");
    // Without the metagraph's coldkeys every hotkey is its own owner.
    let inputs = (1..=3u8)
        .map(|h| submission(h, &scrape_of(h, 100), START_MS + 10_000 + h as i64 * 1_000))
        .collect();
    assert_eq!(
        record(&run(&ctx_with(&[(zip(), 100)], ValidationConfig::default()), inputs), 2).rank,
        Some(2)
    );
}

// ---------- tier 3 ----------

fn sampled_zpids(h: u8, rows: &[resi_core::Listing], at_ms: i64) -> Vec<String> {
    let c = ValidationConfig::default();
    let n = rows.len() as u64;
    let seed = sample_seed(SEED, hotkey(h).as_str(), at_ms, n);
    sample_indices(seed, n, sample_size(n, &c))
        .into_iter()
        .map(|i| rows[i as usize].zpid.clone())
        .collect()
}

/// A lone submission of 100 rows whose first `bad` samples (in sample
/// order) get `verdict`; the record and how many lookups it cost.
fn tier3_counted(bad: usize, verdict: Verdict) -> (resi_core::results::SubmissionRecord, usize) {
    let ctx = ctx(100);
    let rows = listings(100);
    let at = START_MS + 1_000;
    let zpids = sampled_zpids(1, &rows, at);
    assert_eq!(zpids.len(), 10);
    let verifier = TableVerifier::with(zpids.into_iter().take(bad).map(|z| (z, verdict.clone())));
    let results = run_with(&ctx, vec![submission(1, &rows, at)], &verifier);
    (record(&results, 1).clone(), verifier.checked_zpids().len())
}

fn tier3_with(bad: usize, verdict: Verdict) -> resi_core::results::SubmissionRecord {
    tier3_counted(bad, verdict).0
}

#[test]
fn spot_check_passes_at_80_percent() {
    let (pass, lookups) = tier3_counted(2, Verdict::Mismatch("price".into()));
    assert_eq!(pass.status, Status::Winner, "{}", pass.reason);
    let spot = pass.spot_check.unwrap();
    assert_eq!((spot.verified, spot.determined, lookups), (8, 10, 10));
    // Three mismatches first: after them at most 7 of 10 could verify, so
    // the check stops there (results version 6): the same verdict as all
    // ten would give, for three lookups.
    let (fail, lookups) = tier3_counted(3, Verdict::Mismatch("price".into()));
    assert_eq!(
        (fail.status, fail.failed_tier),
        (Status::Failed, Some(3)),
        "{}",
        fail.reason
    );
    assert!(fail.reason.contains("at most 7 of 10"), "{}", fail.reason);
    assert_eq!(lookups, 3);
}

fn tier3_not_found(not_found: usize, max_not_found: u64) -> resi_core::results::SubmissionRecord {
    let config = ValidationConfig {
        spot_check_max_not_found: max_not_found,
        ..ValidationConfig::default()
    };
    let ctx = ctx_with(&[(zip(), 100)], config);
    let rows = listings(100);
    let at = START_MS + 1_000;
    let zpids = sampled_zpids(1, &rows, at);
    let verifier = TableVerifier::with(zpids.into_iter().take(not_found).map(|z| (z, Verdict::NotFound)));
    let results = run_with(&ctx, vec![submission(1, &rows, at)], &verifier);
    record(&results, 1).clone()
}

#[test]
fn a_sample_the_source_has_never_heard_of_fails_the_submission() {
    // 9 of 10 verified would pass on the share; one invented listing fails it.
    let fail = tier3_not_found(1, 0);
    assert_eq!(
        (fail.status, fail.failed_tier),
        (Status::Failed, Some(3)),
        "{}",
        fail.reason
    );
    // The invented one is sampled first: the check stops at it.
    assert!(
        fail.reason.contains("1 of 1 samples checked not found"),
        "{}",
        fail.reason
    );
    assert_eq!(tier3_not_found(0, 0).status, Status::Winner);
    // The threshold is `spotCheckMaxNotFound`: at it passes, above it fails.
    assert_eq!(tier3_not_found(1, 1).status, Status::Winner);
    assert_eq!(tier3_not_found(2, 1).status, Status::Failed);
}

#[test]
fn unavailable_samples_count_neither_way() {
    // 4 unavailable: 6 determined, all verified: passes.
    let r = tier3_with(4, Verdict::Unavailable("timeout".into()));
    assert_eq!(r.status, Status::Winner, "{}", r.reason);
    // 7 unavailable: 3 determined is still enough.
    let r = tier3_with(7, Verdict::Unavailable("timeout".into()));
    assert_eq!(r.status, Status::Winner, "{}", r.reason);
    // 8 unavailable: 2 determined, undetermined as a whole, not penalized.
    let r = tier3_with(8, Verdict::Unavailable("timeout".into()));
    assert_eq!(r.status, Status::Undetermined, "{}", r.reason);
    assert_eq!(r.failed_tier, None);
}

#[test]
fn sample_size_rule_at_its_boundaries() {
    let c = ValidationConfig::default();
    assert_eq!(sample_size(39, &c), 3);
    assert_eq!(sample_size(40, &c), 4);
    assert_eq!(sample_size(109, &c), 10);
    assert_eq!(sample_size(1, &c), 1);
}

// ---------- ranking and scores ----------

#[test]
fn three_winners_by_time_then_participants() {
    let ctx = ctx(50);
    // Four scrapes of different listings (the same listings are paid once).
    let rows = |h: u8, t: i64| -> Vec<resi_core::Listing> {
        let rows: Vec<_> = (0..50).map(|i| listing_in(zip(), i, START_MS + t + i as i64)).collect();
        own_listings(h, &rows)
    };
    let results = run(
        &ctx,
        vec![
            submission(4, &rows(4, 40), START_MS + 40_000),
            submission(1, &rows(1, 10), START_MS + 10_000),
            submission(3, &rows(3, 30), START_MS + 30_000),
            submission(2, &rows(2, 20), START_MS + 20_000),
        ],
    );
    let z = &results.zipcodes[0];
    assert_eq!(z.winners, vec![hotkey(1), hotkey(2), hotkey(3)]);
    assert_eq!(z.participants, vec![hotkey(4)]);
    assert!(
        record(&results, 4).spot_check.is_some(),
        "participants are spot-checked too"
    );
    assert_eq!(score(&results, 1), 550_000_000);
    assert_eq!(score(&results, 2), 300_000_000);
    assert_eq!(score(&results, 3), 100_000_000);
    assert_eq!(score(&results, 4), 50_000_000);
    assert_eq!(results.miner_scores.iter().map(|m| m.score_ppb).sum::<u64>(), PPB);
    assert_eq!(results.zipcode_weights[0].weight_ppb, PPB);
}

#[test]
fn a_failed_spot_check_lets_the_next_submission_win() {
    let ctx = ctx(50);
    let rows = |t: i64| -> Vec<resi_core::Listing> {
        (0..50).map(|i| listing_in(zip(), i, START_MS + t + i as i64)).collect()
    };
    // Miner 1 is first but its sample fails: everything it sampled is "not found".
    let first = rows(10);
    let bad = sampled_zpids(1, &first, START_MS + 10_000);
    let verifier = TableVerifier::with(bad.into_iter().map(|z| (z, Verdict::NotFound)));
    // The same zpids occur in everyone's file, so give the others fresh zpids.
    let renamed = |t: i64, tag: &str| -> Vec<resi_core::Listing> {
        rows(t)
            .into_iter()
            .map(|mut l| {
                l.zpid = format!("{tag}{}", l.zpid);
                l.source_url = Some(format!("https://www.zillow.com/homedetails/x/{}_zpid/", l.zpid));
                l
            })
            .collect()
    };
    let results = run_with(
        &ctx,
        vec![
            submission(1, &first, START_MS + 10_000),
            submission(2, &renamed(20, "2"), START_MS + 20_000),
            submission(3, &renamed(30, "3"), START_MS + 30_000),
            submission(4, &renamed(40, "4"), START_MS + 40_000),
            submission(5, &renamed(50, "5"), START_MS + 50_000),
        ],
        &verifier,
    );
    assert_eq!(record(&results, 1).failed_tier, Some(3));
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(2), hotkey(3), hotkey(4)]);
    assert_eq!(results.zipcodes[0].participants, vec![hotkey(5)]);
    assert_eq!(score(&results, 1), 0);
}

#[test]
fn a_late_fabricator_is_spot_checked_and_earns_nothing() {
    let rows = |t: i64, tag: &str| -> Vec<resi_core::Listing> {
        (0..50)
            .map(|i| {
                let mut l = listing_in(zip(), i, START_MS + t + i as i64);
                l.zpid = format!("{tag}{}", l.zpid);
                l.source_url = Some(format!("https://www.zillow.com/homedetails/x/{}_zpid/", l.zpid));
                l
            })
            .collect()
    };
    let fabricated = rows(40, "9");
    let invented = sampled_zpids(4, &fabricated, START_MS + 40_000);
    let inputs = || {
        vec![
            submission(1, &rows(10, "1"), START_MS + 10_000),
            submission(2, &rows(20, "2"), START_MS + 20_000),
            submission(3, &rows(30, "3"), START_MS + 30_000),
            submission(4, &fabricated, START_MS + 40_000),
        ]
    };
    let verifier = TableVerifier::with(invented.iter().map(|z| (z.clone(), Verdict::NotFound)));
    let results = run_with(&ctx(50), inputs(), &verifier);
    assert_eq!(
        record(&results, 4).failed_tier,
        Some(3),
        "{}",
        record(&results, 4).reason
    );
    assert!(results.zipcodes[0].participants.is_empty());
    assert_eq!(score(&results, 4), 0);

    // PROTOCOL.md §6 as first written (the flag off): the same fabricator is a paid participant.
    let config = ValidationConfig {
        spot_check_participants: false,
        ..ValidationConfig::default()
    };
    let lenient = ctx_with(&[(zip(), 50)], config);
    let results = run_with(
        &lenient,
        inputs(),
        &TableVerifier::with(invented.into_iter().map(|z| (z, Verdict::NotFound))),
    );
    assert_eq!(results.zipcodes[0].participants, vec![hotkey(4)]);
    assert!(score(&results, 4) > 0);
}

#[test]
fn equal_times_are_broken_by_the_seeded_hash() {
    let ctx = ctx(20);
    let at = START_MS + 1_000;
    let rows = |h: u8| -> Vec<resi_core::Listing> {
        (0..20)
            .map(|i| listing_in(zip(), i, START_MS + h as i64 * 100 + i as i64))
            .collect()
    };
    let results = run(&ctx, vec![submission(1, &rows(1), at), submission(2, &rows(2), at)]);
    let key = |h: u8| resi_core::engine::tie_break(SEED, &hotkey(h));
    let expected_first = if key(1) < key(2) { 1 } else { 2 };
    assert_eq!(results.zipcodes[0].winners[0], hotkey(expected_first));
}

#[test]
fn zipcode_weights_and_participation_across_zipcodes() {
    let ctx = ctx_with(&[(zip(), 30), (zip2(), 10)], ValidationConfig::default());
    let rows = |z, t: i64| -> Vec<resi_core::Listing> {
        (0..if z == zip() { 30 } else { 10 })
            .map(|i| listing_in(z, i, START_MS + t + i as i64))
            .collect()
    };
    let mut inputs = Vec::new();
    // Zipcode 1: miners 1, 2, 3 win; miner 4 participates. Zipcode 2: only miner 4, who wins it.
    for (h, t) in [(1u8, 10_000i64), (2, 20_000), (3, 30_000), (4, 40_000)] {
        inputs.push(submission_for(
            hotkey(h),
            zip(),
            &own_listings(h, &rows(zip(), t)),
            START_MS + t,
        ));
    }
    inputs.push(submission_for(
        hotkey(4),
        zip2(),
        &rows(zip2(), 5_000),
        START_MS + 5_000,
    ));
    let results = run(&ctx, inputs);
    // Weights 30/40 and 10/40. Miner 4 won zipcode 2, so it takes no participation share;
    // nobody else only participated, so the 5 % goes unassigned and normalization spreads it.
    let total = 0.55 * 0.75 + 0.30 * 0.75 + 0.10 * 0.75 + 0.55 * 0.25;
    let expect = |raw: f64| (raw / total * 1e9).round() as i64;
    let close = |h: u8, raw: f64| (score(&results, h) as i64 - expect(raw)).abs() <= 1;
    assert!(close(1, 0.55 * 0.75) && close(2, 0.30 * 0.75) && close(3, 0.10 * 0.75) && close(4, 0.55 * 0.25));
    assert_eq!(results.miner_scores.iter().map(|m| m.score_ppb).sum::<u64>(), PPB);
    let weights: Vec<u64> = results.zipcode_weights.iter().map(|w| w.weight_ppb).collect();
    assert_eq!(weights.iter().sum::<u64>(), PPB);
    assert!(weights.contains(&750_000_000) && weights.contains(&250_000_000));
}

#[test]
fn late_and_unassigned_submissions() {
    let ctx = ctx(10);
    let late = submission(1, &listings(10), DEADLINE_MS + 1);
    let on_time = submission(2, &listings(10), DEADLINE_MS);
    let elsewhere = submission_for(hotkey(3), zip2(), &listings(10), START_MS + 1);
    let results = run(&ctx, vec![late, on_time, elsewhere]);
    assert_eq!(record(&results, 1).status, Status::Ignored);
    assert_eq!(record(&results, 2).status, Status::Winner);
    let r3 = record(&results, 3);
    assert_eq!((r3.status, r3.failed_tier), (Status::Failed, Some(0)));
    assert!(r3.reason.contains("not assigned"), "{}", r3.reason);
    assert_eq!(results.totals.ignored, 1);
    // Everyone who submitted is listed in the scores, unscored ones at zero.
    assert_eq!(results.miner_scores.len(), 3);
}

/// An object modified before the epoch started (planted in a future epoch's
/// folder) is ignored, whatever its rank would be; at the start it counts.
#[test]
fn objects_from_before_the_epoch_are_ignored() {
    let ctx = ctx(10);
    let planted = submission(1, &listings(10), START_MS - 1);
    let at_start = submission(2, &listings(10), START_MS);
    let results = run(&ctx, vec![planted, at_start]);
    let r1 = record(&results, 1);
    assert_eq!(r1.status, Status::Ignored);
    assert!(r1.reason.contains("before the epoch started"), "{}", r1.reason);
    assert_eq!(record(&results, 2).status, Status::Winner);
    assert_eq!(record(&results, 2).rank, Some(1));
}

#[test]
fn nothing_scored_means_all_zero() {
    let ctx = ctx(10);
    let results = run(&ctx, vec![submission(1, &listings(3), START_MS + 1)]);
    assert_eq!(results.miner_scores.iter().map(|m| m.score_ppb).sum::<u64>(), 0);
    assert_eq!(results.totals.score_ppb, 0);
}

#[test]
fn every_outcome_has_a_reason_and_the_config_is_recorded() {
    let ctx = ctx(10);
    let results = run(
        &ctx,
        vec![
            submission(1, &listings(10), START_MS + 1),
            submission(2, &listings(2), START_MS + 2),
        ],
    );
    for z in &results.zipcodes {
        for s in &z.submissions {
            assert!(!s.reason.is_empty());
        }
    }
    let json = results.to_json();
    assert!(json.contains("\"completenessMinBps\": 9000"), "{json}");
    assert_eq!(results.recompute_consensus_hash(), results.consensus_hash);
    let back: resi_core::ValidationResults = serde_json::from_str(&json).unwrap();
    assert_eq!(back, results);
}

#[test]
fn consensus_hash_is_sha256_of_the_canonical_payload() {
    use sha2::{Digest, Sha256};
    let ctx = ctx(10);
    let results = run(&ctx, vec![submission(1, &listings(10), START_MS + 1)]);
    let canonical = results.consensus_payload().canonical_json();
    let expected = format!(
        "{{\"epochId\":\"2025-10-01T16-00-00\",\"minerScores\":[{{\"hotkey\":\"{}\",\"scorePpb\":1000000000}}],\
\"nonce\":\"00112233aabbccdd\",\"totals\":{{\"failed\":0,\"ignored\":0,\"lookups\":3,\"participants\":0,\"sameListings\":0,\"scorePpb\":1000000000,\
\"scoredMiners\":1,\"submissions\":1,\"undetermined\":0,\"winners\":1}},\
\"zipcodeWeights\":[{{\"weightPpb\":1000000000,\"zipcode\":\"77429\"}}]}}",
        hotkey(1)
    );
    assert_eq!(canonical, expected);
    assert_eq!(
        results.consensus_hash,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
}

/// A property source that leaves half of an epoch's lookups unanswered (at
/// least `sourceBrokenMinLookups` of them) is broken: every sample is
/// undetermined, so nobody is failed on its word. Only zpids most owners of
/// the zipcode hold are counted (results version 6), each once: owners
/// uploading ids the source cannot answer make it look broken to nobody.
#[test]
fn a_broken_property_source_fails_nobody() {
    let shared: Vec<resi_core::Listing> = listings(100);
    let at = |h: u8| START_MS + i64::from(h) * 10_000;
    let run = |config: ValidationConfig, verdicts: Vec<(String, Verdict)>, inputs: Vec<resi_core::SubmissionInput>| {
        run_with(
            &ctx_with(&[(zip(), 100)], config),
            inputs,
            &TableVerifier::with(verdicts),
        )
    };
    // Four owners with the same 100 listings; the source answers none.
    let everything_down: Vec<(String, Verdict)> = shared
        .iter()
        .map(|l| (l.zpid.clone(), Verdict::Unavailable("HTTP 503".into())))
        .collect();
    let four = || (1..=4).map(|h| submission(h, &shared, at(h))).collect::<Vec<_>>();
    let broken = run(ValidationConfig::default(), everything_down.clone(), four());
    let health = &broken.property_source;
    assert!(health.broken, "{health:?}");
    assert_eq!(health.lookups, health.unavailable);
    for h in 1..=4 {
        assert_eq!(
            record(&broken, h).status,
            Status::Undetermined,
            "{}",
            record(&broken, h).reason
        );
    }
    // At the threshold: `lookups` distinct zpids were counted; one more
    // needed and the source is not judged broken.
    let at_threshold = ValidationConfig {
        source_broken_min_lookups: health.lookups,
        ..ValidationConfig::default()
    };
    assert!(
        run(at_threshold, everything_down.clone(), four())
            .property_source
            .broken
    );
    let above = ValidationConfig {
        source_broken_min_lookups: health.lookups + 1,
        ..ValidationConfig::default()
    };
    assert!(!run(above, everything_down, four()).property_source.broken);

    // Five breaker owners, first, with 100 ids of their own that the source
    // cannot answer; three honest owners after them with the real listings.
    let breaker_rows = |h: u8| -> Vec<resi_core::Listing> {
        (0..100)
            .map(|i| {
                let mut l = listing_in(zip(), i, START_MS + 3_600_000 + i as i64);
                l.zpid = format!("{h}{}", l.zpid);
                l.source_url = Some(format!("https://www.zillow.com/homedetails/x/{}_zpid/", l.zpid));
                l
            })
            .collect()
    };
    let mut inputs: Vec<_> = (1..=5).map(|h| submission(h, &breaker_rows(h), at(h))).collect();
    let unanswered: Vec<(String, Verdict)> = (1..=5)
        .flat_map(breaker_rows)
        .map(|l| (l.zpid, Verdict::Unavailable("HTTP 500".into())))
        .collect();
    inputs.extend((6..=8).map(|h| submission(h, &shared, at(h))));
    let flipped = run(ValidationConfig::default(), unanswered, inputs);
    assert!(!flipped.property_source.broken, "{:?}", flipped.property_source);
    assert_eq!(flipped.property_source.unavailable, 0, "{:?}", flipped.property_source);
    assert_eq!(record(&flipped, 6).rank, Some(1), "{}", record(&flipped, 6).reason);
}

// ---------- tier 3: comparing a listing with the source's record ----------

fn truth_of(l: &resi_core::Listing) -> resi_core::verify::PropertyRecord {
    resi_core::verify::PropertyRecord {
        zpid: l.zpid.clone(),
        zipcode: l.zipcode.clone().unwrap(),
        address: l.address.clone(),
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms: l.bathrooms,
        sqft: l.sqft,
        history: Vec::new(),
    }
}

#[test]
fn spot_check_compares_what_both_sides_have() {
    use resi_core::verify::compare;
    let tolerance = ValidationConfig::default().spot_check_tolerance_bps;
    let listing = listings(1).remove(0);
    let truth = truth_of(&listing);
    assert_eq!(compare(&listing, &truth, tolerance), Verdict::Verified);

    // The street part is compared, whatever follows it and however units are written.
    let mut split = truth.clone();
    let street = listing
        .address
        .as_deref()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    split.address = Some(format!("{} UNIT 7", street.to_uppercase()));
    let mut with_unit = listing.clone();
    with_unit.address = Some(format!("{street} #7, Cypress, TX 77429"));
    assert_eq!(compare(&with_unit, &split, tolerance), Verdict::Verified);
    let mut other_unit = with_unit.clone();
    other_unit.address = Some(format!("{street} #8"));
    assert!(matches!(compare(&other_unit, &split, tolerance), Verdict::Mismatch(_)));

    // Absent on either side (null, or a 0 price or sqft) is not compared.
    let mut sparse_truth = truth.clone();
    sparse_truth.sqft = Some(0);
    sparse_truth.bedrooms = None;
    let mut sparse_listing = listing.clone();
    sparse_listing.bathrooms = None;
    sparse_listing.sqft = Some(12_345);
    assert_eq!(compare(&sparse_listing, &sparse_truth, tolerance), Verdict::Verified);

    // A present value that differs is a mismatch, at the tolerance's edge.
    let price = truth.price.unwrap();
    let mut off = listing.clone();
    off.price = Some(price + price * tolerance as i64 / 10_000);
    assert_eq!(compare(&off, &truth, tolerance), Verdict::Verified);
    off.price = Some(price + price * tolerance as i64 / 10_000 + 1);
    assert!(matches!(compare(&off, &truth, tolerance), Verdict::Mismatch(_)));

    // The source's record must be for the row's zpid.
    let mut alias = listing.clone();
    alias.zpid = format!("0{}", listing.zpid);
    assert!(matches!(compare(&alias, &truth, tolerance), Verdict::Mismatch(m) if m.contains("zpid")));

    // Too little on both sides: neither verified nor failed.
    let bare = resi_core::verify::PropertyRecord {
        address: None,
        price: None,
        bedrooms: None,
        bathrooms: None,
        sqft: None,
        ..truth.clone()
    };
    let verdict = compare(&listing, &bare, tolerance);
    assert!(matches!(verdict, Verdict::Incomparable(_)), "{verdict:?}");
    assert!(!verdict.is_determined());
    let mut street_only = bare.clone();
    street_only.address = truth.address.clone();
    assert!(matches!(
        compare(&listing, &street_only, tolerance),
        Verdict::Incomparable(_)
    ));
    street_only.bathrooms = truth.bathrooms;
    assert_eq!(compare(&listing, &street_only, tolerance), Verdict::Verified);
}

// ---------- freshness (results version 5) ----------

/// A row other submissions contradict is checked against the source's
/// history at its own timestamp; one the history contradicts fails the
/// submission and bars the hotkey from every zipcode of the epoch.
#[test]
fn a_contradicted_contested_row_fails_and_bars_the_epoch() {
    let ctx = ctx_with(&[(zip(), 20), (zip2(), 20)], ValidationConfig::default());
    let rows = |z: resi_core::Zipcode| -> Vec<resi_core::Listing> {
        (0..20)
            .map(|i| listing_in(z, i, START_MS + 60_000 + 10 * i as i64))
            .collect()
    };
    let mut stale = rows(zip());
    stale[7].price = Some(stale[7].price.unwrap() + 25_000);
    let stale_zpid = stale[7].zpid.clone();
    let inputs = |stale_rows: &[resi_core::Listing]| {
        let mut inputs: Vec<_> = (1..=3u8)
            .map(|h| {
                submission_for(
                    hotkey(h),
                    zip(),
                    &scraped_by(h, &rows(zip())),
                    START_MS + h as i64 * 1_000,
                )
            })
            .collect();
        inputs.push(submission_for(
            hotkey(4),
            zip(),
            &scraped_by(4, stale_rows),
            START_MS + 500,
        ));
        inputs.push(submission_for(
            hotkey(4),
            zip2(),
            &scraped_by(4, &rows(zip2())),
            START_MS + 500,
        ));
        inputs
    };
    let claim = format!("claim:{stale_zpid}:{}", stale[7].price.unwrap());
    let verifier = TableVerifier::with([(
        claim.clone(),
        Verdict::Mismatch("stale: the history shows it listed at 307000 then".into()),
    )]);
    let results = run_with(&ctx, inputs(&stale), &verifier);
    let z1 = results.zipcodes.iter().find(|z| z.zipcode == zip()).unwrap();
    let r4 = z1.submissions.iter().find(|s| s.hotkey == hotkey(4)).unwrap();
    assert_eq!((r4.status, r4.failed_tier), (Status::Failed, Some(3)), "{}", r4.reason);
    assert!(
        r4.reason.starts_with(&format!("tier 3: contested zpid {stale_zpid}")),
        "{}",
        r4.reason
    );
    let contested = &r4.spot_check.as_ref().unwrap().contested;
    assert!(contested.iter().any(|c| c.zpid == stale_zpid), "{contested:?}");
    // Its other zipcode, where nothing was wrong, fails too.
    let z2 = results.zipcodes.iter().find(|z| z.zipcode == zip2()).unwrap();
    let r4b = &z2.submissions[0];
    assert_eq!(
        (r4b.status, r4b.failed_tier),
        (Status::Failed, Some(3)),
        "{}",
        r4b.reason
    );
    assert!(
        r4b.reason.contains("barred") && r4b.reason.contains(&stale_zpid),
        "{}",
        r4b.reason
    );
    assert_eq!(score(&results, 4), 0);
    // The honest miners' side of the disagreement was checked too, and
    // held; 2 and 3 hold the same listings as 1 and are paid through it.
    assert_eq!(z1.winners, vec![hotkey(1)]);
    assert_eq!(record(&results, 2).status, Status::SameListings);
    let r1 = record(&results, 1);
    assert!(r1
        .spot_check
        .as_ref()
        .unwrap()
        .contested
        .iter()
        .any(|c| c.zpid == stale_zpid));
    assert!(verifier.checked_zpids().contains(&claim));

    // A history that agrees (or no history: incomparable) is no evidence.
    let agreeing = TableVerifier::with([(claim, Verdict::Incomparable("no history".into()))]);
    let results = run_with(&ctx, inputs(&stale), &agreeing);
    assert_eq!(results.zipcodes[0].winners[0], hotkey(4));
}

#[test]
fn contested_rows_are_capped_per_submission() {
    let ctx = ctx(20);
    let rows: Vec<_> = (0..20)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    let repriced = |percent: i64| -> Vec<resi_core::Listing> {
        let mut other = rows.clone();
        for row in &mut other {
            row.price = row.price.map(|p| p + p * percent / 100);
        }
        other
    };
    // Every price 20 % off the other's: every row contested, four checked each.
    let results = run(
        &ctx,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(2, &repriced(20), START_MS + 2_000),
        ],
    );
    for h in [1, 2] {
        let contested = &record(&results, h).spot_check.as_ref().unwrap().contested;
        assert_eq!(
            contested.len() as u64,
            ValidationConfig::default().spot_check_contested_max
        );
    }
    // Prices inside the 5 % tolerance contradict nothing (results version
    // 6): nothing contested, and the second file holds the same listings.
    let results = run(
        &ctx,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(2, &repriced(4), START_MS + 2_000),
        ],
    );
    assert!(record(&results, 1).spot_check.as_ref().unwrap().contested.is_empty());
    let second = record(&results, 2);
    assert_eq!(second.status, Status::SameListings, "{}", second.reason);
    assert!(second.reason.contains("same listings as rank 1"), "{}", second.reason);
    assert!(second.spot_check.is_none(), "no lookup spent on it");
}

// ---------- participation by listings (results version 5) ----------

#[test]
fn participation_is_split_by_listings_with_a_cap() {
    let ctx = ctx(100);
    let rows = |h: u8, n: usize, t: i64| -> Vec<resi_core::Listing> {
        let rows: Vec<_> = (0..n)
            .map(|i| listing_in(zip(), i, START_MS + t + 10 * i as i64))
            .collect();
        own_listings(h, &rows)
    };
    let results = run(
        &ctx,
        vec![
            submission(1, &rows(1, 100, 10_000), START_MS + 10_000),
            submission(2, &rows(2, 100, 20_000), START_MS + 20_000),
            submission(3, &rows(3, 100, 30_000), START_MS + 30_000),
            submission(4, &rows(4, 100, 40_000), START_MS + 40_000),
            submission(5, &rows(5, 90, 50_000), START_MS + 50_000),
        ],
    );
    assert_eq!(results.zipcodes[0].participants, vec![hotkey(4), hotkey(5)]);
    // Miner 4 holds 100/190 of the participants' listings, over the cap of
    // an equal split between two (50 %); miner 5 its 90/190.
    let raw = [0.55, 0.30, 0.10, 0.05 * 0.5, 0.05 * 90.0 / 190.0];
    let total: f64 = raw.iter().sum();
    for (h, r) in (1..=5u8).zip(raw) {
        let expect = (r / total * 1e9).round() as i64;
        assert!(
            (score(&results, h) as i64 - expect).abs() <= 1,
            "miner {h}: {} vs {expect}",
            score(&results, h)
        );
    }
    assert_eq!(results.miner_scores.iter().map(|m| m.score_ppb).sum::<u64>(), PPB);
}

// ---------- the lookup budget (results version 6) ----------

/// A zipcode spends at most its share of `lookupBudgetPerEpoch` (counted as
/// distinct zpids): a check that could cost more than what is left is not
/// made, and its submission is undetermined, never failed.
#[test]
fn a_zipcode_spends_at_most_its_share_of_the_lookup_budget() {
    let rows: Vec<_> = (0..100)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    // Three owners with listings of their own: each check is 10 samples
    // and 4 contested rows, 14 zpids.
    let inputs = || -> Vec<_> {
        (1..=3u8)
            .map(|h| submission(h, &own_listings(h, &rows), START_MS + h as i64 * 1_000))
            .collect()
    };
    let with_budget = |budget: u64| {
        let config = ValidationConfig {
            lookup_budget_per_epoch: budget,
            ..ValidationConfig::default()
        };
        let verifier = TableVerifier::default();
        let results = run_with(&ctx_with(&[(zip(), 100)], config), inputs(), &verifier);
        (results, verifier.checked_zpids().len())
    };
    // 0: no limit. What each check costs (a contested row may also be sampled).
    let (unlimited, _) = with_budget(0);
    assert_eq!(unlimited.zipcodes[0].winners.len(), 3);
    let cost = |h: u8| -> u64 {
        let spot = record(&unlimited, h).spot_check.clone().unwrap();
        let zpids: std::collections::BTreeSet<String> = spot
            .samples
            .iter()
            .map(|s| s.zpid.clone())
            .chain(spot.contested.iter().map(|c| c.zpid.clone()))
            .collect();
        zpids.len() as u64
    };
    let all = cost(1) + cost(2) + cost(3);
    assert_eq!(unlimited.zipcodes[0].lookups, all);
    // No two owners hold the same zpids here, so every check must also
    // leave a full check's worth (10 samples + 4 contested rows) for a file
    // most owners corroborate.
    let reserve = 14;
    let (results, calls) = with_budget(all + reserve - 1);
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(1), hotkey(2)]);
    let third = record(&results, 3);
    assert_eq!(
        (third.status, third.failed_tier),
        (Status::Undetermined, None),
        "{}",
        third.reason
    );
    assert!(third.reason.contains("lookup budget"), "{}", third.reason);
    let two = cost(1) + cost(2);
    assert_eq!((results.zipcodes[0].lookups, results.totals.lookups), (two, two));
    // The verifier was asked about the samples and claims of two checks.
    assert!(calls as u64 <= two + 8, "{calls} calls");
    // At exactly three checks' worth and the reserve, the third is made.
    let (results, _) = with_budget(all + reserve);
    assert_eq!(results.zipcodes[0].winners.len(), 3);
}

/// Files that hold listings no other owner holds, uploaded first, cannot
/// spend a zipcode's share before the honest files: the last check's worth
/// is kept for a file whose listings most owners hold.
#[test]
fn early_junk_cannot_spend_the_budget_of_honest_files() {
    let config = ValidationConfig {
        lookup_budget_per_epoch: 20,
        ..ValidationConfig::default()
    };
    let ctx = ctx_with(&[(zip(), 100)], config);
    let rows: Vec<_> = (0..100)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    let mut inputs: Vec<_> = (1..=3u8)
        .map(|h| submission(h, &own_listings(h, &rows), START_MS + h as i64 * 100))
        .collect();
    inputs.extend((4..=6u8).map(|h| submission(h, &rows, START_MS + h as i64 * 1_000)));
    let results = run(&ctx, inputs);
    for h in 1..=3 {
        let r = record(&results, h);
        assert_eq!(r.status, Status::Undetermined, "{}", r.reason);
        assert!(r.reason.contains("lookup budget"), "{}", r.reason);
    }
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(4)]);
    assert!(results.zipcodes[0].lookups <= 20);
}

/// The budget is split evenly over the assigned zipcodes, the remainder one
/// each to the first zipcodes in order.
#[test]
fn the_lookup_budget_is_split_over_the_zipcodes() {
    let rows = |z: resi_core::Zipcode| -> Vec<resi_core::Listing> {
        (0..100)
            .map(|i| listing_in(z, i, START_MS + 60_000 + 10 * i as i64))
            .collect()
    };
    // Two owners with the same listings in each zipcode: the first is
    // checked (10 samples, nothing contested), the second holds the same
    // listings.
    let run_with_budget = |budget: u64| {
        let config = ValidationConfig {
            lookup_budget_per_epoch: budget,
            ..ValidationConfig::default()
        };
        let ctx = ctx_with(&[(zip(), 100), (zip2(), 100)], config);
        let mut inputs = Vec::new();
        for z in [zip(), zip2()] {
            for h in 1..=2u8 {
                inputs.push(submission_for(
                    hotkey(h),
                    z,
                    &scraped_by(h, &rows(z)),
                    START_MS + h as i64 * 1_000,
                ));
            }
        }
        let results = run(&ctx, inputs);
        results
            .zipcodes
            .iter()
            .map(|z| (z.winners.len(), z.lookups))
            .collect::<Vec<_>>()
    };
    // 20: 10 each, both checked.
    assert_eq!(run_with_budget(20), vec![(1, 10), (1, 10)]);
    // 19: 10 for zip() (the remainder goes to the first zipcode), 9 for
    // zip2(), too few for its check.
    assert_eq!(run_with_budget(19), vec![(1, 10), (0, 0)]);
}

// ---------- one scrape, one reward (results version 6; its own status in 7) ----------

/// A later submission agreeing with a paid one of another owner on at least
/// `sameListingsMinBps` (90 %) of the rows of the larger file holds the same
/// listings: it earns nothing, costs no lookup and is not failed. Hotkeys
/// on other coldkeys re-stamping one scrape are paid once.
#[test]
fn the_same_listings_are_paid_once() {
    let ctx = ctx(100);
    let rows: Vec<_> = (0..100)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    // 10 of 100 rows with prices 20 % off: 90 agree, the same listings.
    let differing = |k: usize| -> Vec<resi_core::Listing> {
        let mut other = rows.clone();
        for row in other.iter_mut().take(k) {
            row.price = row.price.map(|p| p + p / 5);
        }
        other
    };
    let verifier = TableVerifier::default();
    let results = run_with(
        &ctx,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(2, &differing(10), START_MS + 2_000),
            submission(3, &rows, START_MS + 3_000),
        ],
        &verifier,
    );
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(1)]);
    for h in [2, 3] {
        let r = record(&results, h);
        assert_eq!((r.status, r.failed_tier), (Status::SameListings, None), "{}", r.reason);
        assert!(r.spot_check.is_none());
        assert_eq!(score(&results, h), 0);
    }
    assert!(record(&results, 2).reason.contains("90 of 100 rows agree"));
    assert_eq!(score(&results, 1), PPB);
    assert_eq!((results.totals.ignored, results.totals.same_listings), (0, Some(2)));
    // Results version 6, kept for one release: the same submissions are
    // `ignored`, and the totals (so the consensus hash) have no count of
    // their own; scores and weights are the same.
    let v6 = ctx.clone().with_results_version(ResultsVersion::V6);
    let old = run_with(
        &v6,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(2, &differing(10), START_MS + 2_000),
            submission(3, &rows, START_MS + 3_000),
        ],
        &verifier,
    );
    assert_eq!(old.version, 6);
    assert_eq!(results.version, 7);
    for h in [2, 3] {
        assert_eq!(record(&old, h).status, Status::Ignored);
    }
    assert_eq!((old.totals.ignored, old.totals.same_listings), (2, None));
    assert!(!old.consensus_payload().canonical_json().contains("sameListings"));
    assert_eq!(old.miner_scores, results.miner_scores);
    assert_eq!(old.zipcode_weights, results.zipcode_weights);
    // 11 of 100 off: 89 %, another scrape, checked and ranked second (its
    // contested rows hold at the source here).
    let results = run(
        &ctx,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(2, &differing(11), START_MS + 2_000),
        ],
    );
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(1), hotkey(2)]);
    // When the earlier one fails tier 3, the same listings are checked on their own.
    let first = sampled_zpids(1, &rows, START_MS + 1_000);
    let verifier = TableVerifier::with([(first[0].clone(), Verdict::NotFound)]);
    let results = run_with(
        &ctx,
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(3, &rows, START_MS + 3_000),
        ],
        &verifier,
    );
    assert_eq!(record(&results, 1).failed_tier, Some(3));
    // Miner 3's samples are its own draw; the one invented zpid may be among them.
    let third = record(&results, 3);
    assert!(third.spot_check.is_some(), "{}", third.reason);
    // The rule off (0): every file is ranked on its own.
    let config = ValidationConfig {
        same_listings_min_bps: 0,
        ..ValidationConfig::default()
    };
    let results = run(
        &ctx_with(&[(zip(), 100)], config),
        vec![
            submission(1, &rows, START_MS + 1_000),
            submission(3, &rows, START_MS + 3_000),
        ],
    );
    assert_eq!(results.zipcodes[0].winners.len(), 2);
}

/// A file that leaves out listings a ranked file of another owner holds
/// (at least 90 % of its rows among them, fewer than 90 % of that file's
/// count) is short, whatever the median: helpers uploading the same short
/// file cannot lower the bar.
#[test]
fn a_file_short_of_a_verified_one_fails_tier1() {
    let ctx = ctx(100);
    let full: Vec<_> = (0..100)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    // The short-changer and three helpers on coldkeys of their own: 89
    // rows each, first; one honest owner with all 100, after them.
    let mut inputs: Vec<_> = (1..=4u8)
        .map(|h| submission(h, &full[..89], START_MS + h as i64 * 100))
        .collect();
    inputs.push(submission(9, &full, START_MS + 10_000));
    let results = run(&ctx, inputs);
    for h in 1..=4 {
        let r = record(&results, h);
        assert_eq!(
            (r.status, r.failed_tier),
            (Status::Failed, Some(1)),
            "{h}: {}",
            r.reason
        );
        assert!(
            r.reason.contains("short: 89 listings, 89 of them among the 100"),
            "{}",
            r.reason
        );
    }
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(9)]);
    assert_eq!(score(&results, 9), PPB);
    // 90 of 100 is not short.
    let results = run(
        &ctx,
        vec![
            submission(1, &full[..90], START_MS + 100),
            submission(9, &full, START_MS + 10_000),
        ],
    );
    assert_eq!(results.zipcodes[0].winners[0], hotkey(1));
}

/// A stale contested row bars its owner, every hotkey of its coldkey, for
/// the epoch: a helper hotkey of the same coldkey is not paid either.
#[test]
fn a_stale_row_bars_every_hotkey_of_its_coldkey() {
    let owner = hotkey(200);
    let ctx = ctx(20).with_coldkeys([(hotkey(1), owner.clone()), (hotkey(2), owner)].into());
    let rows: Vec<_> = (0..20)
        .map(|i| listing_in(zip(), i, START_MS + 60_000 + 10 * i as i64))
        .collect();
    let mut stale = rows.clone();
    stale[3].price = stale[3].price.map(|p| p + p / 4);
    let claim = format!("claim:{}:{}", stale[3].zpid, stale[3].price.unwrap());
    let verifier = TableVerifier::with([(claim, Verdict::Mismatch("stale".into()))]);
    let results = run_with(
        &ctx,
        vec![
            submission(1, &stale, START_MS + 100),
            // The helper's own file is fresh: only its owner's stale row bars it.
            submission(2, &rows, START_MS + 101),
            submission(3, &rows, START_MS + 5_000),
            submission(4, &rows, START_MS + 6_000),
        ],
        &verifier,
    );
    for h in [1, 2] {
        let r = record(&results, h);
        assert_eq!(
            (r.status, r.failed_tier),
            (Status::Failed, Some(3)),
            "{h}: {}",
            r.reason
        );
        assert_eq!(score(&results, h), 0);
    }
    assert!(
        record(&results, 2).reason.contains("barred"),
        "{}",
        record(&results, 2).reason
    );
    assert_eq!(results.zipcodes[0].winners, vec![hotkey(3)]);
}
