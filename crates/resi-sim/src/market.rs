//! The synthetic market: properties by zipcode, looked up by zpid.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use resi_core::assignment::MarketTier;
use resi_core::verify::PropertyRecord;
use resi_core::{EpochId, Listing, ListingStatus, PropertyType, Zipcode};
use sha2::{Digest, Sha256};

/// zpids are `zipcode × ZPID_STRIDE + index`, so a zpid names its zipcode.
const ZPID_STRIDE: u64 = 100_000;

/// One zipcode's market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipcodeMarket {
    /// Properties currently listed (the expected listing count).
    pub listings: u64,
    pub tier: MarketTier,
}

/// A deterministic market over a set of zipcodes.
#[derive(Clone, Debug)]
pub struct Market {
    seed: u64,
    zipcodes: BTreeMap<Zipcode, ZipcodeMarket>,
}

/// A property as the market knows it in one epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub zpid: String,
    pub zipcode: Zipcode,
    pub address: String,
    pub price: i64,
    pub bedrooms: i32,
    pub bathrooms: f64,
    pub sqft: i32,
    pub property_type: PropertyType,
    pub listing_status: ListingStatus,
    pub days_on_market: i32,
    pub source_url: String,
    pub mls_id: String,
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
    pub fn record(&self) -> PropertyRecord {
        PropertyRecord {
            zpid: self.zpid.clone(),
            zipcode: self.zipcode.to_string(),
            address: Some(self.address.clone()),
            price: Some(self.price),
            bedrooms: Some(self.bedrooms),
            bathrooms: Some(self.bathrooms),
            sqft: Some(self.sqft),
        }
    }

    /// The listing an accurate scraper produces at `scraped_ms` of `epoch`.
    pub fn listing(&self, epoch: EpochId, scraped_ms: i64) -> Listing {
        let listed_day = epoch.start_unix().div_euclid(86_400) - self.days_on_market as i64;
        Listing {
            zpid: self.zpid.clone(),
            mls_id: Some(self.mls_id.clone()),
            address: Some(self.address.clone()),
            zipcode: Some(self.zipcode.to_string()),
            price: Some(self.price),
            bedrooms: Some(self.bedrooms),
            bathrooms: Some(self.bathrooms),
            sqft: Some(self.sqft),
            listing_date: Some(iso_date(listed_day)),
            property_type: Some(self.property_type),
            listing_status: Some(self.listing_status),
            days_on_market: Some(self.days_on_market),
            source_url: Some(self.source_url.clone()),
            scraped_timestamp_ms: Some(scraped_ms),
        }
    }
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

    /// The zpid of property `index` of `zipcode`.
    pub fn zpid(zipcode: Zipcode, index: u64) -> String {
        let zip: u64 = zipcode.as_str().parse().unwrap_or(0);
        (zip * ZPID_STRIDE + index).to_string()
    }

    /// Every property listed in `zipcode` during `epoch`, in index order.
    pub fn properties(&self, zipcode: Zipcode, epoch: EpochId) -> Vec<Property> {
        let count = self.zipcodes.get(&zipcode).map_or(0, |z| z.listings.min(ZPID_STRIDE));
        (0..count).filter_map(|i| self.property(zipcode, i, epoch)).collect()
    }

    /// Looks a property up by zpid, as the tier-3 source does.
    pub fn lookup(&self, zpid: &str, epoch: EpochId) -> Option<Property> {
        let n: u64 = zpid.parse().ok()?;
        let zipcode = Zipcode::parse(&format!("{:05}", n / ZPID_STRIDE)).ok()?;
        self.property(zipcode, n % ZPID_STRIDE, epoch)
    }

    /// Property `index` of `zipcode` as it is during `epoch`.
    pub fn property(&self, zipcode: Zipcode, index: u64, epoch: EpochId) -> Option<Property> {
        let market = self.zipcodes.get(&zipcode)?;
        if index >= market.listings.min(ZPID_STRIDE) {
            return None;
        }
        let info = zipcode.info();
        let mut d = Draw::new(&[
            b"property",
            &self.seed.to_le_bytes(),
            zipcode.as_str().as_bytes(),
            &index.to_le_bytes(),
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
        let days_on_market = d.below(120) as i32;
        let listing_status = *d.pick(&[
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::ForSale,
            ListingStatus::Pending,
            ListingStatus::Contingent,
        ]);
        let mls_id = format!("MLS{:08}", d.below(100_000_000));
        // Drift: each epoch moves the price by up to ±1 % of the base.
        let mut drift = Draw::new(&[
            b"drift",
            &self.seed.to_le_bytes(),
            zipcode.as_str().as_bytes(),
            &index.to_le_bytes(),
            &epoch.start_unix().to_le_bytes(),
        ]);
        let price = ((base_price * (0.99 + 0.02 * drift.unit())) / 100.0).round() as i64 * 100;

        let zpid = Self::zpid(zipcode, index);
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
        Some(Property {
            source_url: format!("https://www.zillow.com/homedetails/{slug}/{zpid}_zpid/"),
            zpid,
            zipcode,
            address,
            price,
            bedrooms,
            bathrooms,
            sqft,
            property_type,
            listing_status,
            days_on_market,
            mls_id,
        })
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

    #[test]
    fn deterministic_unique_and_consistent() {
        let (m, z) = market();
        let epoch = EpochId::parse("2025-10-01T16-00-00").unwrap();
        let a = m.properties(z, epoch);
        assert_eq!(a, m.properties(z, epoch));
        assert_eq!(a.len(), 50);
        let zpids: std::collections::BTreeSet<_> = a.iter().map(|p| p.zpid.clone()).collect();
        assert_eq!(zpids.len(), 50);
        for p in &a {
            assert!(p.address.contains("Cypress, TX 77429"), "{}", p.address);
            assert!(p.source_url.ends_with(&format!("/{}_zpid/", p.zpid)));
            assert!(p.bathrooms >= 1.0 && p.bathrooms <= p.bedrooms as f64 + 0.5);
            assert!((10_000..50_000_000).contains(&p.price));
            assert_eq!(m.lookup(&p.zpid, epoch).as_ref(), Some(p));
        }
        assert!(m.lookup("7742900050", epoch).is_none());
        assert!(m.lookup("nonsense", epoch).is_none());
    }

    #[test]
    fn prices_drift_a_little_between_epochs() {
        let (m, z) = market();
        let e1 = EpochId::parse("2025-10-01T16-00-00").unwrap();
        let e2 = EpochId::parse("2025-10-01T20-00-00").unwrap();
        let (a, b) = (m.property(z, 3, e1).unwrap(), m.property(z, 3, e2).unwrap());
        assert_eq!(a.address, b.address);
        let diff = (a.price - b.price).abs() as f64 / a.price as f64;
        assert!(diff < 0.025, "{diff}");
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20362), "2025-10-01");
    }
}
