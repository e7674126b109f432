//! The synthetic market: properties by zipcode, looked up by zpid.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use resi_core::assignment::MarketTier;
use resi_core::verify::{HistoryEntry, HistoryEvent, PropertyRecord};
use resi_core::{Listing, ListingStatus, PropertyType, Zipcode};
use sha2::{Digest, Sha256};

/// zpids are `((zipcode × GENERATIONS) + generation mod GENERATIONS) ×
/// SLOTS + slot`, so a zpid names its zipcode, slot and listing.
const SLOTS: u64 = 100_000;
const GENERATIONS: u64 = 100_000;
const DAY_MS: i64 = 86_400_000;

/// One zipcode's market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipcodeMarket {
    /// Properties listed at any moment (the expected listing count).
    pub listings: u64,
    pub tier: MarketTier,
}

/// A deterministic market over a set of zipcodes that changes with time as
/// a real one does: each of a zipcode's `listings` slots holds one listing
/// at a time, listed for 20–80 days (about 2 % of listings turn over a day,
/// as in the real-data corpus: 104 of its 164 listings were listed in the
/// 30 days before it was recorded); a listing's asking price is cut by
/// 2–6 % every 30–200 days (the corpus: 38 price changes in those 30 days).
/// Every change has an instant, and the source keeps the history.
#[derive(Clone, Debug)]
pub struct Market {
    seed: u64,
    zipcodes: BTreeMap<Zipcode, ZipcodeMarket>,
}

/// One asking price from an instant on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricePoint {
    pub at_ms: i64,
    pub price: i64,
}

/// A listing as the market knows it at `asOfMs`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub zpid: String,
    pub zipcode: Zipcode,
    pub address: String,
    /// The asking price at `as_of_ms`.
    pub price: i64,
    pub bedrooms: i32,
    pub bathrooms: f64,
    pub sqft: i32,
    pub property_type: PropertyType,
    pub listing_status: ListingStatus,
    /// Days on the market at `as_of_ms`.
    pub days_on_market: i32,
    pub source_url: String,
    pub mls_id: String,
    pub listed_ms: i64,
    pub removed_ms: i64,
    /// The listing price and every cut, in time order (future ones too).
    pub prices: Vec<PricePoint>,
    pub as_of_ms: i64,
}

/// A CSV field, quoted when it holds a comma or a quote (RFC 4180).
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Property {
    /// The asking price at `at_ms`.
    pub fn price_at(&self, at_ms: i64) -> i64 {
        self.prices
            .iter()
            .take_while(|p| p.at_ms <= at_ms)
            .last()
            .or(self.prices.first())
            .map_or(self.price, |p| p.price)
    }

    /// Whether the listing is on the market at `at_ms`.
    pub fn listed_at(&self, at_ms: i64) -> bool {
        (self.listed_ms..self.removed_ms).contains(&at_ms)
    }

    /// The source's record at `at_ms`: today's values and the history so far.
    pub fn record(&self, at_ms: i64) -> PropertyRecord {
        let mut history: Vec<HistoryEntry> = self
            .prices
            .iter()
            .enumerate()
            .filter(|(_, p)| p.at_ms <= at_ms)
            .map(|(i, p)| HistoryEntry {
                at_ms: p.at_ms,
                event: if i == 0 {
                    HistoryEvent::Listed
                } else {
                    HistoryEvent::PriceChange
                },
                price: Some(p.price),
            })
            .collect();
        if self.removed_ms <= at_ms {
            history.push(HistoryEntry {
                at_ms: self.removed_ms,
                event: HistoryEvent::Removed,
                price: None,
            });
        }
        PropertyRecord {
            zpid: self.zpid.clone(),
            zipcode: self.zipcode.to_string(),
            address: Some(self.address.clone()),
            price: Some(self.price_at(at_ms)),
            bedrooms: Some(self.bedrooms),
            bathrooms: Some(self.bathrooms),
            sqft: Some(self.sqft),
            history,
        }
    }

    /// The listing an accurate scraper produces reading it at `scraped_ms`.
    pub fn listing(&self, scraped_ms: i64) -> Listing {
        Listing {
            zpid: self.zpid.clone(),
            mls_id: Some(self.mls_id.clone()),
            address: Some(self.address.clone()),
            zipcode: Some(self.zipcode.to_string()),
            price: Some(self.price_at(scraped_ms)),
            bedrooms: Some(self.bedrooms),
            bathrooms: Some(self.bathrooms),
            sqft: Some(self.sqft),
            listing_date: Some(iso_date(self.listed_ms.div_euclid(DAY_MS))),
            property_type: Some(self.property_type),
            listing_status: Some(self.listing_status),
            days_on_market: Some((scraped_ms - self.listed_ms).div_euclid(DAY_MS).max(0) as i32),
            source_url: Some(self.source_url.clone()),
            scraped_timestamp_ms: Some(scraped_ms),
        }
    }
}

impl Market {
    /// What an accurate scraper reads in `zipcode` at `times` (one per
    /// slot, in slot order), from a `snapshot` of its listings taken a
    /// little earlier: a slot whose listing was replaced since is read anew.
    pub fn read(&self, zipcode: Zipcode, snapshot: &[Property], times: &[i64]) -> Vec<Listing> {
        snapshot
            .iter()
            .zip(times)
            .enumerate()
            .filter_map(|(slot, (p, &at))| {
                if p.listed_at(at) {
                    Some(p.listing(at))
                } else {
                    self.property(zipcode, slot as u64, at).map(|p| p.listing(at))
                }
            })
            .collect()
    }
}

/// The instants at which an accurate scraper starting at `start_ms` reads
/// `count` listings one after another: 1–8 ms apart, as an API's latency
/// varies (two scrapers never keep the same pace).
pub fn read_times(start_ms: i64, count: usize, scraper_seed: u64) -> Vec<i64> {
    let mut d = Draw::new(&[b"pace", &scraper_seed.to_le_bytes(), &start_ms.to_le_bytes()]);
    let mut at = start_ms;
    (0..count)
        .map(|_| {
            let now = at;
            at += 1 + d.below(8) as i64;
            now
        })
        .collect()
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn iso_date(days: i64) -> String {
    let date = time::Date::from_julian_day((days + 2_440_588) as i32).unwrap_or(time::Date::MIN);
    format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day())
}

/// A small deterministic random stream for one purpose.
pub(crate) struct Draw(ChaCha8Rng);

impl Draw {
    pub(crate) fn new(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Self(ChaCha8Rng::from_seed(h.finalize().into()))
    }
    /// Uniform in `0..m` (m > 0); the tiny modulo bias is irrelevant for synthetic data.
    pub(crate) fn below(&mut self, m: u64) -> u64 {
        self.0.next_u64() % m.max(1)
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const STREETS: &[&str] = &[
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Main",
    "Sunset",
    "Highland",
    "Willow",
    "Jefferson",
    "Lincoln",
    "Madison",
    "Franklin",
    "Ridge",
    "River",
    "Meadow",
    "Forest",
    "Spring",
    "Church",
    "Mill",
    "Walnut",
    "Cherry",
    "Jackson",
    "Adams",
    "Valley",
    "Prairie",
];
const SUFFIXES: &[&str] = &["St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Ter"];

/// Median price per square foot by state (rough 2025 levels), USD.
fn state_price_per_sqft(state: &str) -> f64 {
    match state {
        "HI" => 650.0,
        "CA" => 560.0,
        "DC" => 520.0,
        "MA" => 420.0,
        "WA" => 380.0,
        "NY" => 360.0,
        "CO" => 330.0,
        "NJ" => 300.0,
        "OR" | "UT" => 290.0,
        "FL" | "AZ" | "NV" | "ID" | "MT" => 260.0,
        "TX" | "NC" | "GA" | "VA" | "MD" | "CT" | "RI" | "NH" => 210.0,
        "MS" | "AR" | "WV" | "OK" | "AL" | "LA" | "KY" => 130.0,
        _ => 170.0,
    }
}

fn tier_multiplier(tier: MarketTier) -> f64 {
    match tier {
        MarketTier::Premium => 1.7,
        MarketTier::Standard => 1.0,
        MarketTier::Emerging => 0.7,
    }
}

impl Market {
    pub fn new(seed: u64, zipcodes: BTreeMap<Zipcode, ZipcodeMarket>) -> Self {
        Self { seed, zipcodes }
    }

    pub fn zipcodes(&self) -> &BTreeMap<Zipcode, ZipcodeMarket> {
        &self.zipcodes
    }

    /// The zpid of the first listing of slot `index` of `zipcode` (a
    /// number the market never lists when `index` is past the zipcode's
    /// slots: what a fabricator invents).
    pub fn zpid(zipcode: Zipcode, index: u64) -> String {
        Self::zpid_of(zipcode, 0, index)
    }

    fn zpid_of(zipcode: Zipcode, generation: i64, slot: u64) -> String {
        let zip: u64 = zipcode.as_str().parse().unwrap_or(0);
        ((zip * GENERATIONS + generation.rem_euclid(GENERATIONS as i64) as u64) * SLOTS + slot).to_string()
    }

    /// Every listing on the market in `zipcode` at `at_ms`, in slot order.
    pub fn properties(&self, zipcode: Zipcode, at_ms: i64) -> Vec<Property> {
        let count = self.zipcodes.get(&zipcode).map_or(0, |z| z.listings.min(SLOTS));
        (0..count).filter_map(|i| self.property(zipcode, i, at_ms)).collect()
    }

    /// Looks a listing up by zpid at `at_ms`, as the tier-3 source does: a
    /// listing that was removed is still found, with its history.
    pub fn lookup(&self, zpid: &str, at_ms: i64) -> Option<Property> {
        if zpid.starts_with('0') {
            return None;
        }
        let n: u64 = zpid.parse().ok()?;
        let slot = n % SLOTS;
        let generation = (n / SLOTS) % GENERATIONS;
        let zipcode = Zipcode::parse(&format!("{:05}", n / SLOTS / GENERATIONS)).ok()?;
        let now = self.generation(zipcode, slot, at_ms);
        let generation = now - (now - generation as i64).rem_euclid(GENERATIONS as i64);
        self.listing_of(zipcode, slot, generation, at_ms)
    }

    /// The listing in slot `index` of `zipcode` at `at_ms`.
    pub fn property(&self, zipcode: Zipcode, index: u64, at_ms: i64) -> Option<Property> {
        let generation = self.generation(zipcode, index, at_ms);
        self.listing_of(zipcode, index, generation, at_ms)
    }

    /// A slot's listing lifetime and phase, in ms.
    fn slot_timing(&self, zipcode: Zipcode, slot: u64) -> (i64, i64) {
        let mut d = Draw::new(&[
            b"slot",
            &self.seed.to_le_bytes(),
            zipcode.as_str().as_bytes(),
            &slot.to_le_bytes(),
        ]);
        let lifetime = 20 * DAY_MS + d.below(60 * DAY_MS as u64) as i64;
        let phase = d.below(lifetime as u64) as i64;
        (lifetime, phase)
    }

    fn generation(&self, zipcode: Zipcode, slot: u64, at_ms: i64) -> i64 {
        let (lifetime, phase) = self.slot_timing(zipcode, slot);
        (at_ms - phase).div_euclid(lifetime)
    }

    fn listing_of(&self, zipcode: Zipcode, index: u64, generation: i64, at_ms: i64) -> Option<Property> {
        let market = self.zipcodes.get(&zipcode)?;
        if index >= market.listings.min(SLOTS) {
            return None;
        }
        let (lifetime, phase) = self.slot_timing(zipcode, index);
        let listed_ms = phase + generation * lifetime;
        let removed_ms = listed_ms + lifetime;
        let info = zipcode.info();
        let mut d = Draw::new(&[
            b"property",
            &self.seed.to_le_bytes(),
            zipcode.as_str().as_bytes(),
            &index.to_le_bytes(),
            &generation.to_le_bytes(),
        ]);
        let property_type = *d.pick(&[
            PropertyType::SingleFamily,
            PropertyType::SingleFamily,
            PropertyType::SingleFamily,
            PropertyType::SingleFamily,
            PropertyType::Condo,
            PropertyType::Condo,
            PropertyType::Townhouse,
            PropertyType::MultiFamily,
            PropertyType::Manufactured,
            PropertyType::Apartment,
        ]);
        let bedrooms = match property_type {
            PropertyType::Condo | PropertyType::Apartment => 1 + d.below(3) as i32,
            PropertyType::MultiFamily => 3 + d.below(5) as i32,
            _ => 2 + d.below(4) as i32,
        };
        let bathrooms = (bedrooms as f64 - 1.0 + d.below(4) as f64 * 0.5).max(1.0);
        let sqft = (350 + bedrooms * 420 + d.below(600) as i32).min(99_000);
        let ppsf = state_price_per_sqft(info.state) * tier_multiplier(market.tier) * (0.75 + 0.5 * d.unit());
        let base_price = (sqft as f64 * ppsf).max(25_000.0);
        let number = 100 + d.below(9_800);
        let street = d.pick(STREETS);
        let suffix = d.pick(SUFFIXES);
        let listing_status = *d.pick(&[
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::Pending,
            ListingStatus::Contingent,
        ]);
        let mls_id = format!("MLS{:08}", d.below(100_000_000));
        let mut price = (base_price / 100.0).round() as i64 * 100;
        let mut prices = vec![PricePoint {
            at_ms: listed_ms,
            price,
        }];
        let cut_every = 30 * DAY_MS + d.below(170 * DAY_MS as u64) as i64;
        let mut at = listed_ms + cut_every;
        while at < removed_ms {
            let cut = 0.02 + 0.04 * d.unit();
            price = ((price as f64 * (1.0 - cut)) / 100.0).round() as i64 * 100;
            prices.push(PricePoint { at_ms: at, price });
            at += cut_every;
        }

        let zpid = Self::zpid_of(zipcode, generation, index);
        let city = if info.city.is_empty() { "Springfield" } else { info.city };
        let address = format!("{number} {street} {suffix}, {city}, {} {zipcode}", info.state);
        let slug: String = address
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let mut property = Property {
            source_url: format!("https://www.zillow.com/homedetails/{slug}/{zpid}_zpid/"),
            zpid,
            zipcode,
            address,
            price: 0,
            bedrooms,
            bathrooms,
            sqft,
            property_type,
            listing_status,
            days_on_market: ((at_ms - listed_ms).div_euclid(DAY_MS)).max(0) as i32,
            mls_id,
            listed_ms,
            removed_ms,
            prices,
            as_of_ms: at_ms,
        };
        property.price = property.price_at(at_ms);
        Some(property)
    }
}

impl Market {
    /// A market over `count` real zipcodes spread across the dataset, with
    /// listing counts of 150–900 and mixed tiers, derived from `seed`.
    pub fn sample(seed: u64, count: usize) -> Self {
        let zipcodes = Zipcode::spread(count)
            .into_iter()
            .map(|z| {
                let mut d = Draw::new(&[b"sample", &seed.to_le_bytes(), z.as_str().as_bytes()]);
                let tier = *d.pick(&[
                    MarketTier::Premium,
                    MarketTier::Standard,
                    MarketTier::Standard,
                    MarketTier::Emerging,
                ]);
                (
                    z,
                    ZipcodeMarket {
                        listings: 150 + d.below(751),
                        tier,
                    },
                )
            })
            .collect();
        Self::new(seed, zipcodes)
    }

    /// The market's zipcodes in the coordinator's import format
    /// (`zipcode,state,city,county,expected_listings,market_tier,geographic_region`).
    pub fn universe_csv(&self) -> String {
        let mut out = String::from("zipcode,state,city,county,expected_listings,market_tier,geographic_region\n");
        for (z, m) in &self.zipcodes {
            let info = z.info();
            let tier = match m.tier {
                MarketTier::Premium => "premium",
                MarketTier::Standard => "standard",
                MarketTier::Emerging => "emerging",
            };
            out.push_str(&format!(
                "{z},{},{},{},{},{tier},sim\n",
                info.state,
                csv_field(info.city),
                csv_field(info.county),
                m.listings
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> (Market, Zipcode) {
        let z = Zipcode::parse("77429").unwrap();
        let mut m = BTreeMap::new();
        m.insert(
            z,
            ZipcodeMarket {
                listings: 50,
                tier: MarketTier::Standard,
            },
        );
        (Market::new(7, m), z)
    }

    const T: i64 = 1_759_334_400_000; // 2025-10-01T16:00:00Z

    #[test]
    fn deterministic_unique_and_consistent() {
        let (m, z) = market();
        let a = m.properties(z, T);
        assert_eq!(a, m.properties(z, T));
        assert_eq!(a.len(), 50);
        let zpids: std::collections::BTreeSet<_> = a.iter().map(|p| p.zpid.clone()).collect();
        assert_eq!(zpids.len(), 50);
        for p in &a {
            assert!(p.address.contains("Cypress, TX 77429"), "{}", p.address);
            assert!(p.source_url.ends_with(&format!("/{}_zpid/", p.zpid)));
            assert!(p.bathrooms >= 1.0 && p.bathrooms <= p.bedrooms as f64 + 0.5);
            assert!((10_000..50_000_000).contains(&p.price));
            assert!(p.listed_at(T));
            assert!(resi_core::examine::is_canonical_zpid(&p.zpid), "{}", p.zpid);
            assert_eq!(m.lookup(&p.zpid, T).as_ref(), Some(p));
        }
        assert!(m.lookup(&Market::zpid(z, 50), T).is_none());
        assert!(m.lookup("nonsense", T).is_none());
        assert!(m.lookup(&format!("0{}", a[0].zpid), T).is_none());
    }

    #[test]
    fn listings_turn_over_and_keep_their_history() {
        let (m, z) = market();
        let now = m.properties(z, T);
        let later = m.properties(z, T + 30 * DAY_MS);
        let replaced: Vec<_> = now.iter().zip(&later).filter(|(a, b)| a.zpid != b.zpid).collect();
        // Lifetimes of 20–80 days: within 30 days most slots turned over, not all.
        assert!(replaced.len() > 10 && replaced.len() < 50, "{}", replaced.len());
        let (gone, _) = replaced[0];
        let found = m.lookup(&gone.zpid, T + 30 * DAY_MS).unwrap();
        assert!(!found.listed_at(T + 30 * DAY_MS));
        let record = found.record(T + 30 * DAY_MS);
        assert_eq!(record.history.first().map(|h| h.event), Some(HistoryEvent::Listed));
        assert_eq!(record.history.last().map(|h| h.event), Some(HistoryEvent::Removed));
        // Read at any instant of its life, a listing verifies as of then.
        let claim = resi_core::verify::Claim {
            zpid: gone.zpid.clone(),
            zipcode: z.to_string(),
            price: gone.price,
            scraped_ms: T,
        };
        assert_eq!(
            resi_core::verify::compare_claim(&claim, &record, 500),
            resi_core::Verdict::Verified
        );
        let stale = resi_core::verify::Claim {
            scraped_ms: gone.removed_ms + 1,
            ..claim
        };
        assert!(matches!(
            resi_core::verify::compare_claim(&stale, &record, 500),
            resi_core::Verdict::Mismatch(_)
        ));
    }

    #[test]
    fn prices_are_cut_at_instants() {
        let (m, z) = market();
        let cut = m
            .properties(z, T)
            .into_iter()
            .find(|p| p.prices.len() > 1)
            .expect("some listing has a price cut");
        let at = cut.prices[1].at_ms;
        assert!(cut.price_at(at) < cut.price_at(at - 1));
        assert_eq!(cut.listing(at - 1).price, Some(cut.prices[0].price));
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20362), "2025-10-01");
    }
}
