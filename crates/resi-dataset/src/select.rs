//! Which rows an epoch contributes for one zipcode.

use std::collections::BTreeMap;

use resi_core::results::{Status, SubmissionRecord, ZipcodeOutcome};
use resi_core::verify::Verdict;
use resi_core::{Hotkey, Listing};

/// One listing of the dataset and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRow {
    pub listing: Listing,
    /// The miner whose submission the row is from.
    pub miner: Hotkey,
    /// That submission's rank in the zipcode (1 to 3).
    pub rank: u8,
    /// The row was a tier-3 sample of that submission: its verdict
    /// (`verified`, `mismatch`, `not_found`, `unavailable`, `incomparable`).
    pub sample_verdict: Option<&'static str>,
}

/// The zipcode's winning submissions, best rank first.
pub fn winners(outcome: &ZipcodeOutcome) -> Vec<&SubmissionRecord> {
    let mut won: Vec<&SubmissionRecord> = outcome
        .submissions
        .iter()
        .filter(|s| s.status == Status::Winner && s.rank.is_some())
        .collect();
    won.sort_by_key(|s| s.rank);
    won
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Verified => "verified",
        Verdict::Mismatch(_) => "mismatch",
        Verdict::NotFound => "not_found",
        Verdict::Unavailable(_) => "unavailable",
        Verdict::Incomparable(_) => "incomparable",
    }
}

/// The zipcode's rows: every row of rank 1, then the rows of ranks 2 and 3
/// whose zpid no better rank holds; one row per zpid, sorted by zpid.
/// `files` holds each winner's decoded listings; a winner without its file
/// contributes nothing (the caller says why).
pub fn zipcode_rows(outcome: &ZipcodeOutcome, files: &BTreeMap<Hotkey, Vec<Listing>>) -> Vec<DatasetRow> {
    let mut rows: BTreeMap<String, DatasetRow> = BTreeMap::new();
    for winner in winners(outcome) {
        let (Some(rank), Some(listings)) = (winner.rank, files.get(&winner.hotkey)) else {
            continue;
        };
        let sampled: BTreeMap<&str, &'static str> = winner
            .spot_check
            .iter()
            .flat_map(|s| s.samples.iter())
            .map(|s| (s.zpid.as_str(), verdict_name(&s.verdict)))
            .collect();
        // The first row of a zpid wins: a better rank's, or within a file
        // (which holds a zpid once after tier 0) its first.
        for listing in listings {
            if rows.contains_key(&listing.zpid) {
                continue;
            }
            rows.insert(
                listing.zpid.clone(),
                DatasetRow {
                    listing: listing.clone(),
                    miner: winner.hotkey.clone(),
                    rank,
                    sample_verdict: sampled.get(listing.zpid.as_str()).copied(),
                },
            );
        }
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_core::results::{SampleRecord, SpotCheckRecord};
    use resi_core::Zipcode;

    fn listing(zpid: &str, price: i64) -> Listing {
        Listing {
            zpid: zpid.into(),
            mls_id: None,
            address: Some(format!("{zpid} Main St")),
            zipcode: Some("78704".into()),
            price: Some(price),
            bedrooms: Some(3),
            bathrooms: Some(2.0),
            sqft: Some(1500),
            listing_date: Some("2026-12-01".into()),
            property_type: None,
            listing_status: None,
            days_on_market: Some(6),
            source_url: None,
            scraped_timestamp_ms: Some(1_796_000_000_000),
        }
    }

    fn record(i: u8, status: Status, rank: Option<u8>, sampled: &[&str]) -> SubmissionRecord {
        SubmissionRecord {
            hotkey: Hotkey::from_public_key([i; 32]),
            submitted_at_ms: i64::from(i),
            size_bytes: 1,
            listing_count: Some(3),
            status,
            rank,
            failed_tier: None,
            reason: String::new(),
            quality: None,
            spot_check: Some(SpotCheckRecord {
                indices: vec![],
                samples: sampled
                    .iter()
                    .enumerate()
                    .map(|(k, z)| SampleRecord {
                        index: k as u64,
                        zpid: (*z).into(),
                        verdict: Verdict::Verified,
                    })
                    .collect(),
                verified: sampled.len() as u64,
                determined: sampled.len() as u64,
                contested: vec![],
            }),
        }
    }

    #[test]
    fn rank_one_first_then_what_ranks_two_and_three_add_sorted_by_zpid() {
        let outcome = ZipcodeOutcome {
            zipcode: Zipcode::parse("78704").unwrap(),
            expected_listings: 3,
            weight_ppb: 1,
            lookups: 0,
            winners: vec![],
            participants: vec![],
            submissions: vec![
                record(2, Status::Winner, Some(2), &[]),
                record(1, Status::Winner, Some(1), &["30"]),
                record(4, Status::Failed, None, &[]),
                record(3, Status::SameListings, None, &[]),
            ],
        };
        let files = BTreeMap::from([
            (
                Hotkey::from_public_key([1; 32]),
                vec![listing("30", 100), listing("10", 100)],
            ),
            // Rank 2 holds 10 too (rank 1's row is kept) and adds 20.
            (
                Hotkey::from_public_key([2; 32]),
                vec![listing("10", 999), listing("20", 200)],
            ),
            (Hotkey::from_public_key([4; 32]), vec![listing("40", 1)]),
            (Hotkey::from_public_key([3; 32]), vec![listing("50", 1)]),
        ]);
        let rows = zipcode_rows(&outcome, &files);
        let got: Vec<(&str, u8, Option<i64>, Option<&str>)> = rows
            .iter()
            .map(|r| (r.listing.zpid.as_str(), r.rank, r.listing.price, r.sample_verdict))
            .collect();
        assert_eq!(
            got,
            vec![
                ("10", 1, Some(100), None),
                ("20", 2, Some(200), None),
                ("30", 1, Some(100), Some("verified")),
            ]
        );
    }
}
