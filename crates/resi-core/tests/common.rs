//! Builders shared by the rule tests: a one- or two-zipcode epoch and valid listings.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use bytes::Bytes;
use resi_core::schema::encode_listings;
use resi_core::{
    examine, EpochContext, EpochLength, EpochValidation, Hotkey, Listing, ListingStatus, ListingVerifier,
    ManifestEntry, PropertyType, SubmissionInput, ValidationConfig, ValidationResults, Verdict, Zipcode,
};
use sha2::{Digest, Sha256};

pub const EPOCH: &str = "2025-10-01T16-00-00";
pub const START_MS: i64 = 1_759_334_400_000;
pub const DEADLINE_MS: i64 = START_MS + 4 * 3600 * 1000;
pub const SEED: &str = "5eed";

pub fn zip() -> Zipcode {
    Zipcode::parse("77429").unwrap()
}
pub fn zip2() -> Zipcode {
    Zipcode::parse("10001").unwrap()
}

pub fn ctx_with(zipcodes: &[(Zipcode, u64)], config: ValidationConfig) -> EpochContext {
    let length = EpochLength::PRODUCTION;
    let window = length.window(resi_core::EpochId::parse(EPOCH).unwrap()).unwrap();
    EpochContext::new(
        window,
        "00112233aabbccdd",
        SEED,
        zipcodes.iter().copied().collect(),
        config,
    )
    .unwrap()
}

pub fn ctx(expected: u64) -> EpochContext {
    ctx_with(&[(zip(), expected)], ValidationConfig::default())
}

pub fn hotkey(i: u8) -> Hotkey {
    Hotkey::from_public_key([i; 32])
}

/// A listing that passes every rule, for `zipcode`, scraped at `scraped_ms`.
pub fn listing_in(zipcode: Zipcode, i: usize, scraped_ms: i64) -> Listing {
    let zpid = format!("{}{:05}", zipcode, i);
    Listing {
        zpid: zpid.clone(),
        mls_id: Some(format!("M{i}")),
        address: Some(format!("{} Oak St, Cypress, TX {zipcode}", 100 + i)),
        zipcode: Some(zipcode.to_string()),
        price: Some(300_000 + i as i64 * 1_000),
        bedrooms: Some(3),
        bathrooms: Some(2.0),
        sqft: Some(1_800),
        listing_date: Some("2025-09-20".into()),
        property_type: Some(PropertyType::SingleFamily),
        listing_status: Some(ListingStatus::ForSale),
        days_on_market: Some(11),
        source_url: Some(format!(
            "https://www.zillow.com/homedetails/{}-Oak-St/{zpid}_zpid/",
            100 + i
        )),
        scraped_timestamp_ms: Some(scraped_ms),
    }
}

pub fn listing(i: usize) -> Listing {
    listing_in(zip(), i, START_MS + 3_600_000 + i as i64)
}

pub fn listings(n: usize) -> Vec<Listing> {
    (0..n).map(listing).collect()
}

pub fn submission_for(hotkey: Hotkey, zipcode: Zipcode, rows: &[Listing], at_ms: i64) -> SubmissionInput {
    let bytes = encode_listings(rows).unwrap();
    let sha: [u8; 32] = Sha256::digest(&bytes).into();
    SubmissionInput {
        hotkey,
        zipcode,
        submitted_at_ms: at_ms,
        bytes: Bytes::from(bytes),
        manifest: ManifestEntry::Sha256(sha),
    }
}

/// Miner `h`'s own scrape of `rows`: each stamp moved by 0–6 ms, a pace of
/// its own (two miners never read at the same pace, and the copy check
/// compares paces). [`submission_for`] keeps the stamps as given.
pub fn submission(h: u8, rows: &[Listing], at_ms: i64) -> SubmissionInput {
    submission_for(hotkey(h), zip(), &scraped_by(h, rows), at_ms)
}

/// `rows` as miner `h` reads them: each stamp moved by 0–6 ms.
pub fn scraped_by(h: u8, rows: &[Listing]) -> Vec<Listing> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let mut row = row.clone();
            let jitter = (h as i64 * 31 + (i * i) as i64 * 17 + i as i64 * h as i64) % 7;
            row.scraped_timestamp_ms = row.scraped_timestamp_ms.map(|t| t + jitter);
            row
        })
        .collect()
}

/// Verifies every zpid except those given another verdict; counts calls.
#[derive(Default)]
pub struct TableVerifier {
    pub verdicts: BTreeMap<String, Verdict>,
    pub calls: Mutex<Vec<String>>,
}

impl TableVerifier {
    pub fn with(verdicts: impl IntoIterator<Item = (String, Verdict)>) -> Self {
        Self {
            verdicts: verdicts.into_iter().collect(),
            calls: Mutex::new(Vec::new()),
        }
    }
    pub fn checked_zpids(&self) -> BTreeSet<String> {
        self.calls.lock().unwrap().iter().cloned().collect()
    }
}

impl ListingVerifier for TableVerifier {
    async fn verify(&self, listing: &Listing) -> Verdict {
        self.calls.lock().unwrap().push(listing.zpid.clone());
        self.verdicts.get(&listing.zpid).cloned().unwrap_or(Verdict::Verified)
    }

    /// Contested claims are looked up under `claim:{zpid}:{price}`.
    async fn verify_claim(&self, claim: &resi_core::verify::Claim) -> Verdict {
        let key = format!("claim:{}:{}", claim.zpid, claim.price);
        self.calls.lock().unwrap().push(key.clone());
        self.verdicts.get(&key).cloned().unwrap_or(Verdict::Verified)
    }
}

pub fn run_with(ctx: &EpochContext, inputs: Vec<SubmissionInput>, verifier: &TableVerifier) -> ValidationResults {
    let mut engine = EpochValidation::new(ctx);
    for input in inputs {
        engine.insert(examine(ctx, input)).unwrap();
    }
    futures_executor::block_on(engine.finish(verifier))
}

pub fn run(ctx: &EpochContext, inputs: Vec<SubmissionInput>) -> ValidationResults {
    run_with(ctx, inputs, &TableVerifier::default())
}

/// The record of `hotkey`'s submission in the first zipcode.
pub fn record(results: &ValidationResults, h: u8) -> &resi_core::results::SubmissionRecord {
    let key = hotkey(h);
    results
        .zipcodes
        .iter()
        .flat_map(|z| z.submissions.iter())
        .chain(results.unassigned.iter().map(|u| &u.submission))
        .find(|s| s.hotkey == key)
        .expect("submission recorded")
}

pub fn score(results: &ValidationResults, h: u8) -> u64 {
    let key = hotkey(h);
    results
        .miner_scores
        .iter()
        .find(|m| m.hotkey == key)
        .map_or(0, |m| m.score_ppb)
}

/// `rows` as listings of miner `h`'s own: each zpid prefixed with `h`, so
/// no other miner's file holds the same listings (one scrape, one reward
/// pays every such file; the same listings are paid once).
pub fn own_listings(h: u8, rows: &[Listing]) -> Vec<Listing> {
    rows.iter()
        .map(|row| {
            let mut row = row.clone();
            row.zpid = format!("{h}{}", row.zpid);
            row.source_url = Some(format!("https://www.zillow.com/homedetails/x/{}_zpid/", row.zpid));
            row
        })
        .collect()
}
