//! Tier 3: checking sampled listings against a property source.
//!
//! The comparison rules live here; fetching a property is the caller's
//! business, behind [`PropertySource`] (or a whole [`ListingVerifier`]).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::config::ValidationConfig;
use crate::listing::Listing;
use crate::text::street_key;

/// The verdict on one sampled listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "kebab-case")]
pub enum Verdict {
    Verified,
    Mismatch(String),
    NotFound,
    /// The source could not answer (after the verifier's own retries). Never
    /// evidence against the miner.
    Unavailable(String),
    /// Found, but too little is present on both sides to compare (the
    /// street address and at least one of price, bedrooms, bathrooms, sqft).
    /// Not evidence either way.
    Incomparable(String),
}

impl Verdict {
    /// Verified or failed: the verdicts that count toward the pass rate.
    pub fn is_determined(&self) -> bool {
        !matches!(self, Verdict::Unavailable(_) | Verdict::Incomparable(_))
    }

    pub fn reason(&self) -> String {
        match self {
            Verdict::Verified => "verified against the property source".into(),
            Verdict::Mismatch(why) => format!("mismatch: {why}"),
            Verdict::NotFound => "not found at the property source".into(),
            Verdict::Unavailable(why) => format!("undetermined: property source unavailable: {why}"),
            Verdict::Incomparable(why) => format!("undetermined: {why}"),
        }
    }
}

/// Checks one sampled listing.
pub trait ListingVerifier: Sync {
    fn verify(&self, listing: &Listing) -> impl Future<Output = Verdict> + Send;
}

/// A property as the source knows it. Real sources leave fields out (a
/// lot has no bedrooms, new construction no living area): every field but
/// the zpid and zipcode may be absent, and a `0` price or sqft means absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyRecord {
    pub zpid: String,
    pub zipcode: String,
    /// The street address, alone or followed by `, city, ST zip`.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub price: Option<i64>,
    #[serde(default)]
    pub bedrooms: Option<i32>,
    #[serde(default)]
    pub bathrooms: Option<f64>,
    #[serde(default)]
    pub sqft: Option<i32>,
}

/// The answer of a property source to a lookup by zpid.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    Found(PropertyRecord),
    NotFound,
    Unavailable(String),
}

/// Something that looks properties up by zpid (the simulated market, an HTTP API).
pub trait PropertySource: Sync {
    fn lookup(&self, zpid: &str) -> impl Future<Output = Lookup> + Send;
}

/// A [`ListingVerifier`] that applies the protocol's comparison rules to a [`PropertySource`].
pub struct SourceVerifier<S> {
    source: S,
    tolerance_bps: u64,
}

impl<S: PropertySource> SourceVerifier<S> {
    pub fn new(source: S, config: &ValidationConfig) -> Self {
        Self {
            source,
            tolerance_bps: config.spot_check_tolerance_bps,
        }
    }
}

impl<S: PropertySource> ListingVerifier for SourceVerifier<S> {
    async fn verify(&self, listing: &Listing) -> Verdict {
        match self.source.lookup(&listing.zpid).await {
            Lookup::Found(record) => compare(listing, &record, self.tolerance_bps),
            Lookup::NotFound => Verdict::NotFound,
            Lookup::Unavailable(why) => Verdict::Unavailable(why),
        }
    }
}

fn within(claimed: i64, truth: i64, tolerance_bps: u64) -> bool {
    let diff = (claimed as i128 - truth as i128).unsigned_abs();
    diff * 10_000 <= truth.unsigned_abs() as u128 * tolerance_bps as u128
}

/// A price or sqft of 0 is how real sources write "unknown".
fn positive<T: Copy + Into<i64>>(v: Option<T>) -> Option<i64> {
    v.map(Into::into).filter(|v| *v > 0)
}

/// The tier-3 rule (PROTOCOL.md §6): same zpid and zipcode; then every field
/// present on both sides must agree: the street address compared by
/// [`street_key`], bedrooms and bathrooms equal, price and sqft within the
/// tolerance. A field absent on either side (null, empty, or a 0 price or
/// sqft) is not compared. A sample counts only with the street address and
/// at least one numeric field compared; otherwise it is incomparable.
pub fn compare(listing: &Listing, truth: &PropertyRecord, tolerance_bps: u64) -> Verdict {
    let mut problems = Vec::new();
    if listing.zpid != truth.zpid {
        problems.push(format!("zpid {:?} vs source {}", listing.zpid, truth.zpid));
    }
    if listing.zipcode.as_deref() != Some(truth.zipcode.as_str()) {
        problems.push(format!(
            "zipcode {:?} vs source {}",
            listing.zipcode.as_deref().unwrap_or(""),
            truth.zipcode
        ));
    }
    let claimed = listing.address.as_deref().map(street_key).filter(|k| !k.is_empty());
    let known = truth.address.as_deref().map(street_key).filter(|k| !k.is_empty());
    let address_compared = claimed.is_some() && known.is_some();
    if address_compared && claimed != known {
        problems.push(format!(
            "address {:?} vs source {:?}",
            listing.address.as_deref().unwrap_or(""),
            truth.address.as_deref().unwrap_or("")
        ));
    }
    let mut numbers_compared = 0;
    if let (Some(claimed), Some(known)) = (listing.bedrooms, truth.bedrooms) {
        numbers_compared += 1;
        if claimed != known {
            problems.push(format!("bedrooms {claimed} vs source {known}"));
        }
    }
    if let (Some(claimed), Some(known)) = (listing.bathrooms, truth.bathrooms) {
        numbers_compared += 1;
        if claimed != known {
            problems.push(format!("bathrooms {claimed} vs source {known}"));
        }
    }
    if let (Some(claimed), Some(known)) = (positive(listing.price), positive(truth.price)) {
        numbers_compared += 1;
        if !within(claimed, known, tolerance_bps) {
            problems.push(format!("price {claimed} vs source {known}"));
        }
    }
    if let (Some(claimed), Some(known)) = (positive(listing.sqft), positive(truth.sqft)) {
        numbers_compared += 1;
        if !within(claimed, known, tolerance_bps) {
            problems.push(format!("sqft {claimed} vs source {known}"));
        }
    }
    if !problems.is_empty() {
        return Verdict::Mismatch(problems.join("; "));
    }
    if !address_compared || numbers_compared == 0 {
        return Verdict::Incomparable(format!(
            "too little to compare for zpid {} (street address on both sides: {address_compared}, numeric fields: {numbers_compared})",
            truth.zpid
        ));
    }
    Verdict::Verified
}
