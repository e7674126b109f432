//! Miner behaviour profiles: what a miner of each kind uploads for a zipcode.

use std::fmt;
use std::str::FromStr;

use resi_core::{EpochWindow, Listing, Zipcode};

use crate::market::{read_times, Draw, Market, Property};

/// How a simulated miner behaves. Every profile but the two honest ones must
/// end up unrewarded by validators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Scrapes everything accurately, early in the epoch.
    HonestFast,
    /// Scrapes everything accurately, late in the epoch.
    HonestSlow,
    /// Uploads about 60 % of the listings (tier 1).
    Lazy,
    /// Four in five of its listings are invented (tier 3: not found at the source).
    Fabricator,
    /// Pads its upload with repeated rows (tier 0: duplicate zpids).
    Duplicator,
    /// A second hotkey uploading another miner's data (tier 0: copy).
    /// [`scrape`] returns honest data for it; the caller uploads the victim's files.
    Copier,
    /// Scrape timestamps from days before the epoch (tier 2: consistency).
    Stale,
    /// Labels its listings with another zipcode (tier 2: consistency).
    WrongZipcode,
    /// Prices and sizes that are not plausible (tier 2: reasonable values).
    Unreasonable,
    /// Scrapes 10 % and pads the rest with the same zpids given leading
    /// zeros, which a source reads as the same numbers (tier 0: canonical zpids).
    AliasPadding,
    /// Uploads ⌈85 %⌉ of the listings, the least tier 1's tolerance allows,
    /// sooner (tier 1: relative to the peers' median).
    ShortChanger,
    /// Invents one row in twelve (8 %), the rest scraped accurately (tier 3:
    /// a sampled or contested invented row is not found).
    LightFabricator,
    /// Half its rows carry ids no property API accepts, so a lookup could
    /// only be `unavailable` (tier 0: canonical zpids).
    Unverifiable,
    /// Uses a scrape taken 23 h before the epoch, stamped as read at its
    /// start, and uploads at once (tier 3: contested rows against the
    /// source's history). [`scrape`] reads the old market for it.
    PreScrape,
}

impl Profile {
    pub const ALL: [Profile; 14] = [
        Profile::HonestFast,
        Profile::HonestSlow,
        Profile::Lazy,
        Profile::Fabricator,
        Profile::Duplicator,
        Profile::Copier,
        Profile::Stale,
        Profile::WrongZipcode,
        Profile::Unreasonable,
        Profile::AliasPadding,
        Profile::ShortChanger,
        Profile::LightFabricator,
        Profile::Unverifiable,
        Profile::PreScrape,
    ];

    /// How long before the epoch a [`Profile::PreScrape`] miner scraped.
    pub const PRE_SCRAPE_LEAD_MS: i64 = 23 * 3_600_000;

    pub fn is_honest(&self) -> bool {
        matches!(self, Profile::HonestFast | Profile::HonestSlow)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Profile::HonestFast => "honest-fast",
            Profile::HonestSlow => "honest-slow",
            Profile::Lazy => "lazy",
            Profile::Fabricator => "fabricator",
            Profile::Duplicator => "duplicator",
            Profile::Copier => "copier",
            Profile::Stale => "stale",
            Profile::WrongZipcode => "wrong-zipcode",
            Profile::Unreasonable => "unreasonable",
            Profile::AliasPadding => "alias-padding",
            Profile::ShortChanger => "short-changer",
            Profile::LightFabricator => "light-fabricator",
            Profile::Unverifiable => "unverifiable",
            Profile::PreScrape => "pre-scrape",
        }
    }

    /// When, as a fraction of the epoch, this miner's upload of a zipcode is
    /// done. Cheating is quicker than scraping, so cheaters come first and
    /// every one of them meets the spot check.
    pub fn finish_fraction(&self) -> f64 {
        match self {
            Profile::HonestFast | Profile::Copier => 0.1,
            Profile::HonestSlow => 0.6,
            Profile::PreScrape => 0.01,
            _ => 0.05,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            format!(
                "unknown profile {s:?}; one of: {}",
                Profile::ALL.map(|p| p.as_str()).join(", ")
            )
        })
    }
}

/// New timestamps for `listings`, at a pace of their own, from `first_ms` on.
pub fn restamp(listings: &mut [Listing], first_ms: i64, pace_seed: u64) {
    let times = read_times(first_ms, listings.len(), pace_seed);
    for (l, at) in listings.iter_mut().zip(times) {
        l.scraped_timestamp_ms = Some(at);
    }
}

/// Every timestamp of `listings` moved by `ms` (a copier's disguise).
pub fn shift(listings: &mut [Listing], ms: i64) {
    for l in listings {
        l.scraped_timestamp_ms = l.scraped_timestamp_ms.map(|t| t + ms);
    }
}

/// The listings a miner of `profile` uploads for `zipcode`, given the
/// zipcode's `properties` this epoch ([`Market::properties`]), scraping at
/// `scraped_ms` (each row a few milliseconds apart). `miner_seed` varies the
/// details between miners of the same profile.
pub fn scrape(
    market: &Market,
    properties: &[Property],
    zipcode: Zipcode,
    window: &EpochWindow,
    profile: Profile,
    miner_seed: u64,
    scraped_ms: i64,
) -> Vec<Listing> {
    let listings = if profile == Profile::PreScrape {
        let old = market.properties(zipcode, window.start_ms() - Profile::PRE_SCRAPE_LEAD_MS);
        let read = read_times(window.start_ms() - Profile::PRE_SCRAPE_LEAD_MS, old.len(), miner_seed);
        let mut listings = market.read(zipcode, &old, &read);
        restamp(&mut listings, window.start_ms() + 200, miner_seed);
        listings
    } else {
        let times = read_times(scraped_ms, properties.len(), miner_seed);
        market.read(zipcode, properties, &times)
    };
    let population = market.zipcodes().get(&zipcode).map_or(0, |z| z.listings);
    apply(profile, listings, zipcode, population, window, miner_seed)
}

/// Turns an accurate scrape of `zipcode` into what a miner of `profile`
/// uploads. `population` is the number of properties the source has in the
/// zipcode (invented zpids are numbered after it, so they cannot exist).
pub fn apply(
    profile: Profile,
    mut listings: Vec<Listing>,
    zipcode: Zipcode,
    population: u64,
    window: &EpochWindow,
    miner_seed: u64,
) -> Vec<Listing> {
    let mut d = Draw::new(&[
        b"scrape",
        &miner_seed.to_le_bytes(),
        zipcode.as_str().as_bytes(),
        &window.start_unix.to_le_bytes(),
    ]);
    let n = listings.len();
    match profile {
        Profile::HonestFast | Profile::HonestSlow | Profile::Copier | Profile::PreScrape => {}
        Profile::AliasPadding => {
            let keep = (n / 10).max(1);
            listings.truncate(keep);
            let mut k = 0;
            while listings.len() < n {
                let mut alias = listings[k % keep].clone();
                let zeros = "0".repeat(1 + k / keep);
                let zpid = format!("{zeros}{}", alias.zpid);
                alias.source_url = alias
                    .source_url
                    .map(|u| u.replace(&format!("/{}_zpid", alias.zpid), &format!("/{zpid}_zpid")));
                alias.zpid = zpid;
                alias.price = alias.price.map(|p| p + 1 + (k / keep) as i64);
                listings.push(alias);
                k += 1;
            }
        }
        Profile::ShortChanger => listings.truncate((n * 85).div_ceil(100)),
        Profile::LightFabricator => {
            for (i, listing) in listings.iter_mut().enumerate().filter(|(i, _)| i % 12 == 11) {
                let zpid = Market::zpid(zipcode, population + i as u64);
                listing.source_url = Some(format!("https://www.zillow.com/homedetails/x/{zpid}_zpid/"));
                listing.zpid = zpid;
                listing.address = Some(format!("{} Invented Way, {}", 100 + d.below(9_000), zipcode));
                listing.mls_id = None;
            }
        }
        Profile::Unverifiable => {
            for (i, listing) in listings.iter_mut().enumerate().filter(|(i, _)| i % 2 == 1) {
                let bogus = format!("{}-{i}", listing.zpid);
                listing.source_url = listing
                    .source_url
                    .as_ref()
                    .map(|u| u.replace(&format!("/{}_zpid", listing.zpid), &format!("/{bogus}_zpid")));
                listing.zpid = bogus;
            }
        }
        Profile::Lazy => listings.truncate(n * 6 / 10),
        Profile::Fabricator => {
            for (i, listing) in listings.iter_mut().enumerate().filter(|(i, _)| i % 5 != 0) {
                let zpid = Market::zpid(zipcode, population + i as u64);
                listing.zpid = zpid.clone();
                listing.mls_id = Some(format!("MLS{:08}", d.below(100_000_000)));
                listing.address = Some(format!("{} Imaginary Ln, {}", 100 + d.below(9_000), zipcode));
                listing.source_url = Some(format!("https://www.zillow.com/homedetails/x/{zpid}_zpid/"));
            }
        }
        Profile::Duplicator => {
            listings.truncate(n * 3 / 4);
            let real = listings.len();
            for i in 0..(n - real) {
                let copy = listings[i % real.max(1)].clone();
                listings.push(copy);
            }
        }
        Profile::Stale => {
            let stale = window.start_ms() - 3 * 86_400_000;
            for (i, listing) in listings.iter_mut().enumerate() {
                listing.scraped_timestamp_ms = Some(stale + i as i64 * 7);
            }
        }
        Profile::WrongZipcode => {
            let other = format!("{:05}", (zipcode.as_str().parse::<u32>().unwrap_or(0) + 1) % 100_000);
            for listing in &mut listings {
                listing.zipcode = Some(other.clone());
            }
        }
        Profile::Unreasonable => {
            for listing in &mut listings {
                listing.price = Some(1 + d.below(500) as i64);
                listing.sqft = Some(d.below(50) as i32);
            }
        }
    }
    listings
}
