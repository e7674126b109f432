//! The zipcode universe: operator data imported from CSV
//! (`zipcode,state,city,county,expected_listings,market_tier,geographic_region`).
//!
//! Parsing reports every bad row with its line number and keeps the good
//! ones; whether to import a partly bad file is the caller's decision (the
//! import command refuses to import anything when a row is bad, so nothing is
//! ever half-imported).

use std::collections::BTreeMap;

use resi_core::{MarketTier, Zipcode};
use serde::{Deserialize, Serialize};

/// One zipcode of the universe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UniverseZipcode {
    pub zipcode: Zipcode,
    pub state: String,
    pub city: String,
    pub county: String,
    pub expected_listings: u64,
    pub market_tier: MarketTier,
    pub geographic_region: String,
}

/// A rejected CSV row.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// The outcome of reading a universe CSV.
#[derive(Debug, Default)]
pub struct ParsedUniverse {
    pub zipcodes: BTreeMap<Zipcode, UniverseZipcode>,
    pub errors: Vec<RowError>,
}

const HEADER: [&str; 7] = [
    "zipcode",
    "state",
    "city",
    "county",
    "expected_listings",
    "market_tier",
    "geographic_region",
];

/// Largest expected-listings value accepted for one zipcode.
pub const MAX_EXPECTED_LISTINGS: u64 = 100_000;

/// Parses the CSV text. The header must name the seven columns (in any order).
pub fn parse_csv(text: &str) -> ParsedUniverse {
    let mut out = ParsedUniverse::default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.push(RowError {
                line: 1,
                reason: format!("unreadable header: {e}"),
            });
            return out;
        }
    };
    let mut index = [0usize; 7];
    for (i, name) in HEADER.iter().enumerate() {
        match header.iter().position(|h| h.eq_ignore_ascii_case(name)) {
            Some(at) => index[i] = at,
            None => {
                out.errors.push(RowError {
                    line: 1,
                    reason: format!("header has no column {name:?} (expected {})", HEADER.join(",")),
                });
                return out;
            }
        }
    }
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.errors.push(RowError {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(index[i]).unwrap_or("");
        match parse_row(&field) {
            Ok(z) => match out.zipcodes.entry(z.zipcode) {
                std::collections::btree_map::Entry::Occupied(_) => out.errors.push(RowError {
                    line,
                    reason: format!("zipcode {} appears twice", z.zipcode),
                }),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(z);
                }
            },
            Err(reason) => out.errors.push(RowError { line, reason }),
        }
    }
    out
}

fn parse_row<'r>(field: &dyn Fn(usize) -> &'r str) -> Result<UniverseZipcode, String> {
    let zipcode = Zipcode::parse(field(0)).map_err(|e| e.to_string())?;
    let known = zipcode.info();
    let state = field(1).to_ascii_uppercase();
    if state.len() != 2 || !state.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!("state {:?} is not a two-letter code", field(1)));
    }
    if !known.state.is_empty() && known.state != state {
        return Err(format!("zipcode {zipcode} is in {}, not {state}", known.state));
    }
    let expected: u64 = field(4)
        .parse()
        .map_err(|_| format!("expected_listings {:?} is not a whole number", field(4)))?;
    if expected == 0 || expected > MAX_EXPECTED_LISTINGS {
        return Err(format!(
            "expected_listings {expected} is outside 1..={MAX_EXPECTED_LISTINGS}"
        ));
    }
    let market_tier = MarketTier::parse(field(5))
        .ok_or_else(|| format!("market_tier {:?} is not premium, standard or emerging", field(5)))?;
    let text = |i: usize, fallback: &str| {
        let v = field(i);
        if v.is_empty() {
            fallback.to_owned()
        } else {
            v.to_owned()
        }
    };
    Ok(UniverseZipcode {
        zipcode,
        state,
        city: text(2, known.city),
        county: text(3, known.county),
        expected_listings: expected,
        market_tier,
        geographic_region: text(6, "unknown"),
    })
}

/// A built-in sample universe for development: `count` real zipcodes spread
/// over the dataset, with plausible expected listing counts (60–1,200; a few
/// low-volume ones) and tiers, derived deterministically from the zipcode.
pub fn sample_universe(count: usize) -> BTreeMap<Zipcode, UniverseZipcode> {
    use sha2::{Digest, Sha256};
    Zipcode::spread(count)
        .into_iter()
        .map(|zipcode| {
            let info = zipcode.info();
            let h = Sha256::digest(zipcode.as_str().as_bytes());
            let n = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
            let expected = if n % 17 == 0 { 20 + n % 40 } else { 100 + n % 1_100 };
            let tier = match n % 10 {
                0..=1 => MarketTier::Premium,
                2..=7 => MarketTier::Standard,
                _ => MarketTier::Emerging,
            };
            let region = match info.state {
                "ME" | "NH" | "VT" | "MA" | "RI" | "CT" | "NY" | "NJ" | "PA" => "northeast",
                "OH" | "MI" | "IN" | "IL" | "WI" | "MN" | "IA" | "MO" | "ND" | "SD" | "NE" | "KS" => "midwest",
                "WA" | "OR" | "CA" | "NV" | "ID" | "MT" | "WY" | "UT" | "CO" | "AZ" | "NM" | "AK" | "HI" => "west",
                _ => "south",
            };
            (
                zipcode,
                UniverseZipcode {
                    zipcode,
                    state: info.state.to_owned(),
                    city: info.city.to_owned(),
                    county: info.county.to_owned(),
                    expected_listings: expected,
                    market_tier: tier,
                    geographic_region: region.to_owned(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_rows_and_reports_bad_ones_by_line() {
        let csv = "zipcode,state,city,county,expected_listings,market_tier,geographic_region\n\
77429,TX,Cypress,Harris County,420,standard,south\n\
10001,NY,New York,New York County,380,premium,northeast\n\
00000,TX,Nowhere,,100,standard,south\n\
77430,CA,,,100,standard,west\n\
30301,GA,Atlanta,Fulton County,lots,standard,south\n\
30302,GA,Atlanta,Fulton County,100,luxury,south\n\
77429,TX,Cypress,Harris County,420,standard,south\n";
        let parsed = parse_csv(csv);
        assert_eq!(parsed.zipcodes.len(), 2);
        let lines: Vec<u64> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7, 8], "{:?}", parsed.errors);
        assert!(parsed.errors[0].reason.contains("does not exist"));
        assert!(parsed.errors[1].reason.contains("is in TX, not CA"));
        assert!(parsed.errors[4].reason.contains("twice"));
        let z = &parsed.zipcodes[&Zipcode::parse("10001").unwrap()];
        assert_eq!((z.expected_listings, z.market_tier), (380, MarketTier::Premium));
    }

    #[test]
    fn sample_universe_is_real_and_plausible() {
        let u = sample_universe(300);
        assert_eq!(u.len(), 300);
        assert!(u
            .values()
            .all(|z| (20..=1_200).contains(&z.expected_listings) && z.state.len() == 2));
        assert!(
            u.values().any(|z| z.expected_listings < 60),
            "some low-volume zipcodes for honeypots"
        );
        assert_eq!(u, sample_universe(300));
    }

    #[test]
    fn header_must_name_every_column() {
        let parsed = parse_csv("zipcode,state\n77429,TX\n");
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].reason.contains("expected_listings"));
    }
}
