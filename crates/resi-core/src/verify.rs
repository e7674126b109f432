//! Tier 3: checking sampled listings against a property source.
//!
//! The comparison rules live here; fetching a property is the caller's
//! business, behind [`PropertySource`] (or a whole [`ListingVerifier`]).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::config::ValidationConfig;
use crate::listing::Listing;
use crate::text::normalize_address;

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
}

impl Verdict {
    /// Verified or failed: the verdicts that count toward the pass rate.
    pub fn is_determined(&self) -> bool {
        !matches!(self, Verdict::Unavailable(_))
    }

    pub fn reason(&self) -> String {
        match self {
            Verdict::Verified => "verified against the property source".into(),
            Verdict::Mismatch(why) => format!("mismatch: {why}"),
            Verdict::NotFound => "not found at the property source".into(),
            Verdict::Unavailable(why) => format!("undetermined: property source unavailable: {why}"),
        }
    }
}

/// Checks one sampled listing.
pub trait ListingVerifier: Sync {
    fn verify(&self, listing: &Listing) -> impl Future<Output = Verdict> + Send;
}

/// A property as the source knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyRecord {
    pub zpid: String,
    pub zipcode: String,
    pub address: String,
    pub price: i64,
    pub bedrooms: i32,
    pub bathrooms: f64,
    pub sqft: i32,
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

/// The tier-3 rule: same zipcode and normalized address, bedrooms and bathrooms
/// equal, price and sqft within the tolerance of the source's values.
pub fn compare(listing: &Listing, truth: &PropertyRecord, tolerance_bps: u64) -> Verdict {
    let mut problems = Vec::new();
    if listing.zipcode.as_deref() != Some(truth.zipcode.as_str()) {
        problems.push(format!(
            "zipcode {:?} vs source {}",
            listing.zipcode.as_deref().unwrap_or(""),
            truth.zipcode
        ));
    }
    let claimed_address = listing.address.as_deref().map(normalize_address).unwrap_or_default();
    if claimed_address != normalize_address(&truth.address) {
        problems.push(format!(
            "address {:?} vs source {:?}",
            listing.address.as_deref().unwrap_or(""),
            truth.address
        ));
    }
    if listing.bedrooms != Some(truth.bedrooms) {
        problems.push(format!("bedrooms {:?} vs source {}", listing.bedrooms, truth.bedrooms));
    }
    if listing.bathrooms != Some(truth.bathrooms) {
        problems.push(format!(
            "bathrooms {:?} vs source {}",
            listing.bathrooms, truth.bathrooms
        ));
    }
    if !listing.price.is_some_and(|p| within(p, truth.price, tolerance_bps)) {
        problems.push(format!("price {:?} vs source {}", listing.price, truth.price));
    }
    if !listing
        .sqft
        .is_some_and(|s| within(s as i64, truth.sqft as i64, tolerance_bps))
    {
        problems.push(format!("sqft {:?} vs source {}", listing.sqft, truth.sqft));
    }
    if problems.is_empty() {
        Verdict::Verified
    } else {
        Verdict::Mismatch(problems.join("; "))
    }
}
