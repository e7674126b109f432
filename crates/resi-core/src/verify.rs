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

    /// Checks a contested claim (PROTOCOL.md §5, freshness): that the
    /// listing was on the market at the claimed price at its claimed scrape
    /// time, by the source's history.
    fn verify_claim(&self, claim: &Claim) -> impl Future<Output = Verdict> + Send;
}

/// What a submission claims about one listing: listed in `zipcode` at
/// `price` (0: none given) when it was scraped at `scraped_ms`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    pub zpid: String,
    pub zipcode: String,
    pub price: i64,
    pub scraped_ms: i64,
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
    /// The listing's sale history as the source keeps it (Zillow's
    /// `priceHistory`), oldest first (events at one instant apply in this
    /// order); empty when the source keeps none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
}

/// One event of a listing's sale history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryEvent {
    /// Listed for sale at `price`.
    Listed,
    /// Asking price changed to `price`.
    PriceChange,
    /// Under contract (pending, contingent): still listed.
    Pending,
    /// Off the market: listing removed, sold.
    Removed,
}

/// A dated event of a listing's sale history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Unix milliseconds. A time at 00:00:00.000 UTC is a date, not an
    /// instant: the event happened some time in the day before or the day
    /// of that midnight (a US listing's local date).
    pub at_ms: i64,
    pub event: HistoryEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

impl HistoryEntry {
    /// The instants at which the event may have happened: `[from, to)`.
    fn window(&self) -> (i64, i64) {
        if self.at_ms.rem_euclid(DAY_MS) == 0 {
            (self.at_ms - DAY_MS, self.at_ms + DAY_MS)
        } else {
            (self.at_ms, self.at_ms + 1)
        }
    }
}

/// A listing's state by its history: listed or not, and its asking price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryState {
    pub listed: bool,
    pub price: Option<i64>,
}

impl HistoryState {
    fn after(state: Option<HistoryState>, e: &HistoryEntry) -> Option<HistoryState> {
        let before = state.unwrap_or(HistoryState {
            listed: false,
            price: None,
        });
        Some(match e.event {
            HistoryEvent::Listed => HistoryState {
                listed: true,
                price: e.price.or(before.price),
            },
            HistoryEvent::PriceChange => HistoryState {
                listed: before.listed,
                price: e.price.or(before.price),
            },
            HistoryEvent::Pending => HistoryState {
                listed: true,
                price: before.price,
            },
            HistoryEvent::Removed => HistoryState {
                listed: false,
                price: before.price,
            },
        })
    }
}

/// Every state the history allows at instant `t`: the events certainly
/// before `t` applied, then each event whose time is uncertain around `t`
/// (a date) applied or not, in order. `None` in the list: no event yet.
/// Empty when the history is.
pub fn states_at(history: &[HistoryEntry], t: i64) -> Vec<Option<HistoryState>> {
    if history.is_empty() {
        return Vec::new();
    }
    // Stable: events at one instant apply in the order given (oldest first).
    let mut events = history.to_vec();
    events.sort_by_key(|e| e.at_ms);
    let mut state: Option<HistoryState> = None;
    let mut possible: Vec<Option<HistoryState>> = Vec::new();
    for e in &events {
        let (from, to) = e.window();
        if to <= t {
            for s in possible.iter_mut() {
                *s = HistoryState::after(*s, e);
            }
            state = HistoryState::after(state, e);
        } else if from <= t {
            possible.push(state);
            state = HistoryState::after(state, e);
        } else {
            break;
        }
    }
    possible.push(state);
    possible.dedup();
    possible
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

impl<S: PropertySource> PropertySource for &S {
    fn lookup(&self, zpid: &str) -> impl Future<Output = Lookup> + Send {
        (**self).lookup(zpid)
    }
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

    async fn verify_claim(&self, claim: &Claim) -> Verdict {
        match self.source.lookup(&claim.zpid).await {
            Lookup::Found(record) => compare_claim(claim, &record, self.tolerance_bps),
            Lookup::NotFound => Verdict::NotFound,
            Lookup::Unavailable(why) => Verdict::Unavailable(why),
        }
    }
}

/// The freshness rule (PROTOCOL.md §5): by the record's history, the
/// listing was on the market at the claimed scrape time, at the claimed
/// price (within the tolerance). A record without history is not evidence
/// either way; one whose history shows the listing not yet listed, off the
/// market or at another price then is a `mismatch`.
pub fn compare_claim(claim: &Claim, truth: &PropertyRecord, tolerance_bps: u64) -> Verdict {
    if claim.zpid != truth.zpid || claim.zipcode != truth.zipcode {
        return Verdict::Mismatch(format!(
            "zpid {} in {} vs source zpid {} in {}",
            claim.zpid, claim.zipcode, truth.zpid, truth.zipcode
        ));
    }
    let states = states_at(&truth.history, claim.scraped_ms);
    if states.is_empty() {
        return Verdict::Incomparable(format!("the source keeps no history for zpid {}", truth.zpid));
    }
    let held = |s: &HistoryState| {
        s.listed && (claim.price <= 0 || s.price.is_none_or(|p| p <= 0 || within(claim.price, p, tolerance_bps)))
    };
    if states.iter().flatten().any(held) {
        return Verdict::Verified;
    }
    let shown: Vec<String> = states
        .iter()
        .map(|s| match s {
            None => "not yet listed".to_owned(),
            Some(s) if !s.listed => "off the market".to_owned(),
            Some(s) => match s.price {
                Some(p) => format!("listed at {p}"),
                None => "listed".to_owned(),
            },
        })
        .collect();
    Verdict::Mismatch(format!(
        "stale: claimed {} at {} ms, but the source's history shows it {} then",
        if claim.price > 0 {
            format!("listed at {}", claim.price)
        } else {
            "listed".to_owned()
        },
        claim.scraped_ms,
        shown.join(" or ")
    ))
}

/// Two miners' prices for one listing agree: within the tolerance of the
/// larger one, or one of them absent (0). Contradicting prices are what the
/// freshness rule contests and what makes two files hold different listings.
pub fn prices_agree(a: i64, b: i64, tolerance_bps: u64) -> bool {
    if a <= 0 || b <= 0 {
        return true;
    }
    let diff = (a as i128 - b as i128).unsigned_abs();
    diff * 10_000 <= a.max(b) as u128 * tolerance_bps as u128
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
        // The price may have changed since the scrape: a price the history
        // shows at the claimed scrape time is as good as today's.
        let then = listing
            .scraped_timestamp_ms
            .map(|t| states_at(&truth.history, t))
            .unwrap_or_default();
        let held_then = then
            .iter()
            .flatten()
            .filter_map(|s| positive(s.price))
            .any(|p| within(claimed, p, tolerance_bps));
        if !within(claimed, known, tolerance_bps) && !held_then {
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
