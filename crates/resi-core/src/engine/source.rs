//! The property source as the engine uses it: each listing and claim looked
//! up once per epoch (`Memo`), the stand-in for a source judged broken, and
//! the verdicts counted into the source's health.

use std::collections::BTreeMap;

use crate::config::at_least;

use crate::results::{SourceHealth, ValidationResults};
use crate::verify::{Claim, ListingVerifier, Verdict};

/// Remembers each sampled listing's verdict, so the source is asked once per listing.
pub(super) struct Memo<'v, V> {
    pub(super) inner: &'v V,
    pub(super) verdicts: std::sync::Mutex<BTreeMap<ListingKey, Verdict>>,
    pub(super) claims: std::sync::Mutex<BTreeMap<Claim, Verdict>>,
}

/// The verifier of an epoch whose property source was judged broken.
pub(super) struct BrokenSource;

const BROKEN: &str = "the property source was broken this epoch (most lookups unanswered): no sample counts";

impl ListingVerifier for BrokenSource {
    async fn verify(&self, _: &crate::listing::Listing) -> Verdict {
        Verdict::Unavailable(BROKEN.into())
    }

    async fn verify_claim(&self, _: &Claim) -> Verdict {
        Verdict::Unavailable(BROKEN.into())
    }
}

/// Everything tier 3 compares, as one key (the scrape time too: a price is
/// judged as of it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ListingKey {
    zpid: String,
    zipcode: Option<String>,
    address: Option<String>,
    price: Option<i64>,
    bedrooms: Option<i32>,
    bathrooms: Option<u64>,
    sqft: Option<i32>,
    scraped_timestamp_ms: Option<i64>,
}

fn listing_key(l: &crate::listing::Listing) -> ListingKey {
    ListingKey {
        zpid: l.zpid.clone(),
        zipcode: l.zipcode.clone(),
        address: l.address.clone(),
        price: l.price,
        bedrooms: l.bedrooms,
        bathrooms: l.bathrooms.map(f64::to_bits),
        sqft: l.sqft,
        scraped_timestamp_ms: l.scraped_timestamp_ms,
    }
}

impl<V: ListingVerifier> ListingVerifier for Memo<'_, V> {
    async fn verify(&self, listing: &crate::listing::Listing) -> Verdict {
        let key = listing_key(listing);
        if let Some(known) = self.verdicts.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return known;
        }
        let verdict = self.inner.verify(listing).await;
        if let Ok(mut m) = self.verdicts.lock() {
            m.insert(key, verdict.clone());
        }
        verdict
    }

    async fn verify_claim(&self, claim: &Claim) -> Verdict {
        if let Some(known) = self.claims.lock().ok().and_then(|m| m.get(claim).cloned()) {
            return known;
        }
        let verdict = self.inner.verify_claim(claim).await;
        if let Ok(mut m) = self.claims.lock() {
            m.insert(claim.clone(), verdict.clone());
        }
        verdict
    }
}

/// Counts the epoch's tier-3 verdicts on corroborated zpids: those most
/// owners of the zipcode hold (`corroborated`, sorted, per zipcode), each
/// once per zipcode. A miner's own rows (invented ids, ids a source cannot
/// answer) are never among them unless most owners upload them too, so no
/// minority of owners can make the source look broken and void tier 3 for
/// everyone.
pub(super) fn source_health(
    results: &ValidationResults,
    corroborated: &BTreeMap<crate::zipcode::Zipcode, &[u64]>,
    config: &crate::config::ValidationConfig,
) -> SourceHealth {
    let mut h = SourceHealth::default();
    for z in &results.zipcodes {
        let Some(held) = corroborated.get(&z.zipcode) else {
            continue;
        };
        let mut counted: BTreeMap<&str, &Verdict> = BTreeMap::new();
        for check in z.submissions.iter().filter_map(|s| s.spot_check.as_ref()) {
            let verdicts = check
                .samples
                .iter()
                .map(|s| (s.zpid.as_str(), &s.verdict))
                .chain(check.contested.iter().map(|c| (c.zpid.as_str(), &c.verdict)));
            for (zpid, verdict) in verdicts {
                let is_held = zpid.parse::<u64>().is_ok_and(|n| held.binary_search(&n).is_ok());
                if is_held {
                    counted.entry(zpid).or_insert(verdict);
                }
            }
        }
        for verdict in counted.into_values() {
            h.lookups += 1;
            match verdict {
                Verdict::Verified => h.verified += 1,
                Verdict::Mismatch(_) => h.mismatched += 1,
                Verdict::NotFound => h.not_found += 1,
                Verdict::Unavailable(_) => h.unavailable += 1,
                Verdict::Incomparable(_) => h.incomparable += 1,
            }
        }
    }
    h.broken = h.lookups >= config.source_broken_min_lookups.max(1)
        && at_least(h.unavailable, h.lookups, config.source_broken_unavailable_bps);
    h
}
