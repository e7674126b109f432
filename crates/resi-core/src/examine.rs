//! One submission through everything that depends on it alone: the manifest
//! hash, decoding, the tier-0 duplicate checks, tiers 1 and 2, the copy
//! fingerprints and the tier-3 sample. Pure and independent per submission,
//! so validators may run it on any number of threads in any order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use crate::config::{at_least, at_most, bps_pct, pct, ValidationConfig};
use crate::context::EpochContext;
use crate::hotkey::Hotkey;
use crate::listing::Listing;
use crate::sampling::{sample_indices, sample_seed, sample_size};
use crate::schema::{decode_listings, ListingColumns};
use crate::text::{embedded_zpid, normalize_address_bytes, normalize_url_bytes, parse_iso_date_days};
use crate::zipcode::Zipcode;

/// A hasher for keys that already are xxh3 hashes: it passes them through.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-integer keys, which this module never uses.
        self.0 = xxh3_64(bytes);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

pub(crate) type PrehashedMap<K, V> = HashMap<K, V, BuildHasherDefault<Prehashed>>;

const MS_PER_DAY: i64 = 86_400_000;

/// What the miner's manifest says about this file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestEntry {
    /// The SHA-256 the manifest lists for this file.
    Sha256([u8; 32]),
    /// No manifest, or the manifest does not list this file.
    Missing,
    /// The miner's manifest exists but was rejected (bad signature, wrong
    /// epoch or hotkey, malformed): the reason.
    Invalid(String),
}

/// One (miner, zipcode) Parquet object, as downloaded.
#[derive(Clone, Debug)]
pub struct SubmissionInput {
    pub hotkey: Hotkey,
    pub zipcode: Zipcode,
    /// The object's S3 `LastModified`, Unix milliseconds.
    pub submitted_at_ms: i64,
    pub bytes: Bytes,
    pub manifest: ManifestEntry,
}

/// Tier-2 measurements of one submission (counts of rows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityCounts {
    pub listings: u64,
    pub complete: u64,
    pub reasonable: u64,
    pub consistent: u64,
    /// Rows whose normalized address and price repeat an earlier row.
    pub address_price_duplicates: u64,
}

/// Where a submission stands after the checks that need no other submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precheck {
    /// Modified outside the epoch's window (after the deadline, or before the
    /// epoch started): not validated at all.
    Late(String),
    /// Failed at `tier` (0, 1 or 2) for `reason`.
    Failed { tier: u8, reason: String },
    /// Passed tiers 0–2 (the copy check, which needs the other submissions, is still to come).
    Passed,
}

/// A listing picked for the tier-3 spot check.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub index: u64,
    pub listing: Listing,
}

/// Everything later stages need from one submission; the decoded rows are gone.
#[derive(Clone, Debug)]
pub struct Examined {
    pub hotkey: Hotkey,
    pub zipcode: Zipcode,
    pub submitted_at_ms: i64,
    pub size_bytes: u64,
    /// Rows in the file, when it decoded.
    pub listing_count: Option<u64>,
    pub precheck: Precheck,
    pub quality: Option<QualityCounts>,
    /// The copy check's input: sorted, distinct 64-bit xxh3 hashes of the
    /// *pace* of the scrape, see [`pace_fingerprints`].
    pub fingerprints: Vec<u64>,
    pub samples: Vec<Sample>,
    /// Every row's claim, sorted by zpid, when the submission passed tiers
    /// 0–2: the freshness rule's input (which rows other submissions
    /// contradict).
    pub claims: Vec<RowClaim>,
}

/// What one row claims, compactly: the zpid (canonical, so a number), the
/// price (0: none) and when it was scraped (`i64::MIN`: never said).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowClaim {
    pub zpid: u64,
    pub price: i64,
    pub scraped_ms: i64,
}

/// The copy check's fingerprints: rows ordered by (scraped_timestamp,
/// zpid), and for each two consecutive rows read at different instants,
/// the hash of (zpid, next zpid, milliseconds between them). Shifting every
/// timestamp of a file by a constant keeps them all; two independent
/// scrapes share almost none, because request latencies differ by
/// milliseconds. Rows stamped in the same millisecond (a page read at once)
/// give none, so two honest scrapers of the same pages are never alike.
pub fn pace_fingerprints(claims: &[RowClaim]) -> Vec<u64> {
    let mut timed: Vec<(i64, u64)> = claims
        .iter()
        .filter(|c| c.scraped_ms != i64::MIN)
        .map(|c| (c.scraped_ms, c.zpid))
        .collect();
    timed.sort_unstable();
    let mut out: Vec<u64> = timed
        .windows(2)
        .filter(|w| w[1].0 > w[0].0)
        .map(|w| {
            let mut key = [0u8; 24];
            key[..8].copy_from_slice(&w[0].1.to_le_bytes());
            key[8..16].copy_from_slice(&w[1].1.to_le_bytes());
            key[16..].copy_from_slice(&(w[1].0 - w[0].0).to_le_bytes());
            xxh3_64(&key)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Examined {
    fn bare(input: &SubmissionInput, precheck: Precheck) -> Self {
        Self {
            hotkey: input.hotkey.clone(),
            zipcode: input.zipcode,
            submitted_at_ms: input.submitted_at_ms,
            size_bytes: input.bytes.len() as u64,
            listing_count: None,
            precheck,
            quality: None,
            fingerprints: Vec::new(),
            samples: Vec::new(),
            claims: Vec::new(),
        }
    }
}

/// Ignored when modified outside the epoch's window (before its start or
/// after its deadline): such an object was not uploaded during the epoch.
fn outside_window(ctx: &EpochContext, submitted_at_ms: i64) -> Option<Precheck> {
    if submitted_at_ms > ctx.deadline_ms {
        Some(Precheck::Late(format!(
            "modified at {submitted_at_ms} ms, after the deadline {} ms: ignored",
            ctx.deadline_ms
        )))
    } else if submitted_at_ms < ctx.start_ms {
        Some(Precheck::Late(format!(
            "modified at {submitted_at_ms} ms, before the epoch started at {} ms: ignored",
            ctx.start_ms
        )))
    } else {
        None
    }
}

/// The outcome for a file that could not be examined (larger than
/// `max_file_bytes`, so not downloaded; or its examination failed): tier 0,
/// unreadable, unless it lies outside the epoch's window.
pub fn examine_unreadable(
    ctx: &EpochContext,
    hotkey: Hotkey,
    zipcode: Zipcode,
    submitted_at_ms: i64,
    size: u64,
    reason: String,
) -> Examined {
    let input = SubmissionInput {
        hotkey,
        zipcode,
        submitted_at_ms,
        bytes: Bytes::new(),
        manifest: ManifestEntry::Missing,
    };
    let precheck = outside_window(ctx, submitted_at_ms).unwrap_or(Precheck::Failed {
        tier: 0,
        reason: format!("unreadable: {reason}"),
    });
    let mut out = Examined::bare(&input, precheck);
    out.size_bytes = size;
    out
}

/// [`examine_unreadable`] for a file over `max_file_bytes`.
pub fn examine_oversized(
    ctx: &EpochContext,
    hotkey: Hotkey,
    zipcode: Zipcode,
    submitted_at_ms: i64,
    size: u64,
) -> Examined {
    let reason = format!(
        "file is {size} bytes, over the limit of {} bytes",
        ctx.config.max_file_bytes
    );
    examine_unreadable(ctx, hotkey, zipcode, submitted_at_ms, size, reason)
}

/// Runs every per-submission rule on `input`.
/// Longest zpid accepted: every number of 19 digits fits a u64.
pub const MAX_ZPID_DIGITS: usize = 19;

/// A zpid as the source writes it: ASCII digits, no leading zero, at most
/// [`MAX_ZPID_DIGITS`]. Anything else is an id no source resolves (or
/// resolves to another row's property: `00123` is `123`).
pub fn is_canonical_zpid(zpid: &str) -> bool {
    let bytes = zpid.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_ZPID_DIGITS && bytes[0] != b'0' && bytes.iter().all(u8::is_ascii_digit)
}

pub fn examine(ctx: &EpochContext, input: SubmissionInput) -> Examined {
    let config = &ctx.config;
    if let Some(late) = outside_window(ctx, input.submitted_at_ms) {
        return Examined::bare(&input, late);
    }
    let fail = |tier: u8, reason: String| Precheck::Failed { tier, reason };
    let Some(&expected) = ctx.zipcodes.get(&input.zipcode) else {
        let reason = format!("zipcode {} was not assigned in epoch {}", input.zipcode, ctx.epoch_id);
        return Examined::bare(&input, fail(0, reason));
    };
    match &input.manifest {
        ManifestEntry::Missing if config.require_manifest => {
            return Examined::bare(
                &input,
                fail(0, "manifest: file is not listed in the miner's manifest".into()),
            );
        }
        ManifestEntry::Missing => {}
        ManifestEntry::Invalid(reason) if config.require_manifest => {
            return Examined::bare(&input, fail(0, format!("manifest: {reason}")));
        }
        ManifestEntry::Invalid(_) => {}
        ManifestEntry::Sha256(listed) => {
            let actual: [u8; 32] = Sha256::digest(&input.bytes).into();
            if &actual != listed {
                let reason = format!(
                    "manifest: file SHA-256 {} differs from the manifest's {}",
                    hex::encode(actual),
                    hex::encode(listed)
                );
                return Examined::bare(&input, fail(0, reason));
            }
        }
    }
    let columns = match decode_listings(input.bytes.clone(), &config.decode_limits()) {
        Ok(c) => c,
        Err(e) => return Examined::bare(&input, fail(0, format!("unreadable: {e}"))),
    };
    let n = columns.len() as u64;
    let mut out = Examined::bare(&input, Precheck::Passed);
    out.listing_count = Some(n);

    let scan = scan_rows(&columns, input.zipcode.as_str(), ctx, config);
    out.fingerprints = pace_fingerprints(&scan.claims);
    out.quality = Some(scan.quality.clone());

    let k = sample_size(n, config);
    let seed = sample_seed(&ctx.validation_seed, input.hotkey.as_str(), input.submitted_at_ms, n);
    out.samples = sample_indices(seed, n, k)
        .into_iter()
        .map(|index| Sample {
            index,
            listing: columns.listing(index as usize),
        })
        .collect();

    out.precheck = if let Some(reason) = scan.tier0_failure {
        fail(0, reason)
    } else if let Some(reason) = tier1(n, expected, config) {
        fail(1, reason)
    } else if let Some(reason) = tier2_explained(&scan.quality, &scan.examples, config) {
        fail(2, reason)
    } else {
        Precheck::Passed
    };
    if out.precheck == Precheck::Passed {
        let mut claims = scan.claims;
        claims.sort_unstable();
        out.claims = claims;
    }
    out
}

/// Tier 1: unique listings within expected × (1 ± tolerance), bounds inclusive.
pub fn tier1(unique: u64, expected: u64, config: &ValidationConfig) -> Option<String> {
    let tol = config.quantity_tolerance_bps as u128;
    let (u, e) = (unique as u128 * 10_000, expected as u128);
    let low_ok = u >= e * (10_000 - tol.min(10_000));
    let high_ok = u <= e * (10_000 + tol);
    if low_ok && high_ok {
        return None;
    }
    Some(format!(
        "quantity: {unique} unique listings, expected {expected} ± {} ({} to {})",
        bps_pct(config.quantity_tolerance_bps),
        (e * (10_000 - tol.min(10_000))).div_ceil(10_000),
        e * (10_000 + tol) / 10_000
    ))
}

/// The first row that failed each tier-2 check, described, so a reason can
/// name a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QualityExamples {
    pub incomplete: Option<String>,
    pub unreasonable: Option<String>,
    pub inconsistent: Option<String>,
    pub duplicate: Option<String>,
}

/// Tier 2: the four quality fractions against their thresholds, first failure wins.
pub fn tier2(q: &QualityCounts, config: &ValidationConfig) -> Option<String> {
    tier2_explained(q, &QualityExamples::default(), config)
}

/// [`tier2`], with the first offending listing of the failed check named.
pub fn tier2_explained(q: &QualityCounts, examples: &QualityExamples, config: &ValidationConfig) -> Option<String> {
    let n = q.listings;
    if n == 0 {
        return Some("quality: no listings".into());
    }
    // (what, rows, threshold, at-least (true) or at-most (false))
    let checks = [
        (
            "completeness",
            q.complete,
            config.completeness_min_bps,
            true,
            &examples.incomplete,
        ),
        (
            "reasonable values",
            q.reasonable,
            config.reasonable_min_bps,
            true,
            &examples.unreasonable,
        ),
        (
            "consistency",
            q.consistent,
            config.consistency_min_bps,
            true,
            &examples.inconsistent,
        ),
        (
            "duplicate rate",
            q.address_price_duplicates,
            config.duplicate_rate_max_bps,
            false,
            &examples.duplicate,
        ),
    ];
    checks.into_iter().find_map(|(what, rows, bps, minimum, example)| {
        let ok = if minimum {
            at_least(rows, n, bps)
        } else {
            at_most(rows, n, bps)
        };
        (!ok).then(|| {
            let side = if minimum { "below" } else { "above" };
            let example = example.as_deref().map(|e| format!("; e.g. {e}")).unwrap_or_default();
            format!(
                "quality: {what} {} ({rows} of {n}) is {side} {}{example}",
                pct(rows, n),
                bps_pct(bps)
            )
        })
    })
}

struct RowScan {
    tier0_failure: Option<String>,
    quality: QualityCounts,
    examples: QualityExamples,
    claims: Vec<RowClaim>,
}

/// An odd constant (the golden ratio's 64 bits): multiplying by it is a
/// bijection on u64 that spreads sequential numbers over the high bits.
pub(crate) const ZPID_MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// One pass over the rows: tier-0 duplicates, tier-2 counts and the rows' claims.
fn scan_rows(c: &ListingColumns, assigned_zipcode: &str, ctx: &EpochContext, config: &ValidationConfig) -> RowScan {
    let n = c.len();
    // Keys are 128-bit xxh3 hashes of the compared values; the row kept beside
    // them lets the report name the first row of a duplicate pair.
    // Canonical zpids are numbers: keyed by the number times an odd
    // constant (a bijection, so exact, and its high bits mixed for the table).
    let mut zpids: PrehashedMap<u64, usize> = PrehashedMap::with_capacity_and_hasher(n, Default::default());
    let mut urls: PrehashedMap<u128, usize> = PrehashedMap::with_capacity_and_hasher(n, Default::default());
    let mut contents: PrehashedMap<u128, usize> = PrehashedMap::with_capacity_and_hasher(n, Default::default());
    let mut address_prices: PrehashedMap<u128, ()> = PrehashedMap::with_capacity_and_hasher(n, Default::default());
    let mut claims = Vec::with_capacity(n);
    let mut tier0_failure: Option<String> = None;
    let mut ex = QualityExamples::default();
    let mut q = QualityCounts {
        listings: n as u64,
        ..Default::default()
    };
    let mut buf = Vec::<u8>::with_capacity(128);
    let mut content = Vec::<u8>::with_capacity(256);
    let mut key = Vec::<u8>::with_capacity(128);
    let earliest_scrape = ctx.start_ms.saturating_sub(config.scrape_lookback_ms);

    for row in 0..n {
        let zpid = c.zpid(row);
        let address = c.address.get(row);
        let zipcode = c.zipcode.get(row);
        let price = c.price(row);
        let bedrooms = c.bedrooms(row);
        let bathrooms = c.bathrooms(row);
        let sqft = c.sqft(row);
        let listing_date = c.listing_date.get(row);
        let property_type = c.property_type[row];
        let listing_status = c.listing_status[row];
        let days_on_market = c.days_on_market(row);
        let source_url = c.source_url.get(row);
        let scraped = c.scraped_timestamp_ms(row);

        // Tier 0: canonical zpids, duplicates and URL/zpid agreement. The
        // first offending row is reported.
        // At most 19 digits, so a canonical zpid always fits a u64.
        let zpid_number = is_canonical_zpid(zpid).then(|| zpid.parse::<u64>().ok()).flatten();
        if tier0_failure.is_none() && zpid_number.is_none() {
            tier0_failure = Some(format!(
                "zpid: row {row} has zpid {:?}, not a canonical zpid (1 to {MAX_ZPID_DIGITS} digits, no leading zero)",
                zpid.chars().take(40).collect::<String>()
            ));
        }
        if let (None, Some(number)) = (&tier0_failure, zpid_number) {
            if let Some(first) = zpids.insert(number.wrapping_mul(ZPID_MIX), row) {
                tier0_failure = Some(format!("duplicate: rows {first} and {row} have the same zpid {zpid:?}"));
            }
        }
        if let Some(url) = source_url.filter(|u| !u.is_empty()) {
            if tier0_failure.is_none() {
                if let Some(in_url) = embedded_zpid(url) {
                    if in_url != zpid {
                        tier0_failure = Some(format!(
                            "duplicate: row {row} source_url names zpid {in_url:?} but the row's zpid is {zpid:?}"
                        ));
                    }
                }
            }
            normalize_url_bytes(url, &mut buf);
            if tier0_failure.is_none() {
                if let Some(first) = urls.insert(xxh3_128(&buf), row) {
                    tier0_failure = Some(format!(
                        "duplicate: rows {first} and {row} have the same source_url {:?}",
                        String::from_utf8_lossy(&buf)
                    ));
                }
            }
        }
        if tier0_failure.is_none() && address.is_some_and(|a| !a.is_empty()) {
            content.clear();
            for part in [address, zipcode, listing_date] {
                content.extend_from_slice(part.unwrap_or("\u{0}").as_bytes());
                content.push(0xff);
            }
            content.extend_from_slice(&price.unwrap_or(i64::MIN).to_le_bytes());
            content.extend_from_slice(&bedrooms.unwrap_or(i32::MIN).to_le_bytes());
            content.extend_from_slice(&bathrooms.map_or(u64::MAX, f64::to_bits).to_le_bytes());
            content.extend_from_slice(&sqft.unwrap_or(i32::MIN).to_le_bytes());
            content.extend_from_slice(&days_on_market.unwrap_or(i32::MIN).to_le_bytes());
            content.push(property_type.map_or(0xff, |p| p as u8));
            content.push(listing_status.map_or(0xff, |s| s as u8));
            if let Some(first) = contents.insert(xxh3_128(&content), row) {
                tier0_failure = Some(format!(
                    "duplicate: rows {first} and {row} have the same content under different zpids"
                ));
            }
        }

        // Tier 2: completeness. Required: address, zipcode, a positive price,
        // listing date, property type, status, days on market, source URL and
        // scrape time. Real listings legitimately lack bedrooms, bathrooms
        // or living area (lots, new construction, plans) and often an MLS id:
        // those are optional (PROTOCOL.md §5, calibrated on the real corpus).
        let present = |s: Option<&str>| s.is_some_and(|s| !s.is_empty());
        // A 0 price or sqft is how real sources write "unknown".
        let price_known = price.filter(|p| *p > 0);
        let sqft_known = sqft.filter(|s| *s > 0);
        if present(address)
            && present(zipcode)
            && price_known.is_some()
            && present(listing_date)
            && property_type.is_some()
            && listing_status.is_some()
            && days_on_market.is_some()
            && present(source_url)
            && scraped.is_some()
        {
            q.complete += 1;
        } else if ex.incomplete.is_none() {
            let missing = [
                ("address", present(address)),
                ("zipcode", present(zipcode)),
                ("a positive price", price_known.is_some()),
                ("listing_date", present(listing_date)),
                ("property_type", property_type.is_some()),
                ("listing_status", listing_status.is_some()),
                ("days_on_market", days_on_market.is_some()),
                ("source_url", present(source_url)),
                ("scraped_timestamp", scraped.is_some()),
            ]
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(what, _)| *what)
            .collect::<Vec<_>>()
            .join(", ");
            ex.incomplete = Some(format!("row {row} (zpid {zpid}) lacks {missing}"));
        }
        // Reasonable values: every value present lies in its range; an absent
        // value is absent, not unreasonable (completeness counts what is required).
        let in_range = price_known.is_none_or(|p| (config.price_min..=config.price_max).contains(&p))
            && bedrooms.is_none_or(|b| (config.bedrooms_min..=config.bedrooms_max).contains(&b))
            && bathrooms.is_none_or(|b| b >= config.bathrooms_min && b <= config.bathrooms_max)
            && sqft_known.is_none_or(|s| (config.sqft_min..=config.sqft_max).contains(&s));
        if in_range {
            q.reasonable += 1;
        } else if ex.unreasonable.is_none() {
            ex.unreasonable = Some(format!(
                "row {row} (zpid {zpid}): {}",
                out_of_range(config, price_known, bedrooms, bathrooms, sqft_known)
            ));
        }
        // Consistency: the date parses, the zipcode is the assigned one, the scrape
        // lies in the epoch's window, and the listing is not dated after its scrape.
        let listing_day = listing_date.and_then(parse_iso_date_days);
        let consistent = match (listing_day, scraped) {
            (Some(day), Some(ts)) => {
                zipcode == Some(assigned_zipcode)
                    && ts >= earliest_scrape
                    && ts <= ctx.deadline_ms
                    && day <= ts.div_euclid(MS_PER_DAY)
            }
            _ => false,
        };
        if consistent {
            q.consistent += 1;
        } else if ex.inconsistent.is_none() {
            let why = if zipcode != Some(assigned_zipcode) {
                format!(
                    "zipcode {:?} is not the assigned {assigned_zipcode}",
                    zipcode.unwrap_or("")
                )
            } else if listing_day.is_none() {
                format!("listing_date {:?} is not a YYYY-MM-DD date", listing_date.unwrap_or(""))
            } else {
                match scraped {
                    None => "no scraped_timestamp".to_owned(),
                    Some(ts) if ts < earliest_scrape || ts > ctx.deadline_ms => {
                        format!("scraped_timestamp {ts} ms is outside the epoch's scrape window")
                    }
                    Some(_) => format!("listing_date {} is after the scrape day", listing_date.unwrap_or("")),
                }
            };
            ex.inconsistent = Some(format!("row {row} (zpid {zpid}): {why}"));
        }
        // Duplicate rate: normalized address + price.
        if let (Some(a), Some(p)) = (address, price) {
            normalize_address_bytes(a, &mut key);
            if !key.is_empty() {
                key.push(0xff);
                key.extend_from_slice(&p.to_le_bytes());
                if address_prices.insert(xxh3_128(&key), ()).is_some() {
                    q.address_price_duplicates += 1;
                    if ex.duplicate.is_none() {
                        ex.duplicate = Some(format!(
                            "row {row} (zpid {zpid}) repeats an earlier row's address and price"
                        ));
                    }
                }
            }
        }
        // Any zpid that reads as a number claims (a failed file's claims
        // still make its fingerprints, which later files are compared with).
        if let Some(zpid) = zpid_number.or_else(|| zpid.parse::<u64>().ok()) {
            claims.push(RowClaim {
                zpid,
                price: price.filter(|p| *p > 0).unwrap_or(0),
                scraped_ms: scraped.unwrap_or(i64::MIN),
            });
        }
    }
    RowScan {
        tier0_failure,
        quality: q,
        examples: ex,
        claims,
    }
}

/// Which present values lie outside their reasonable range, in plain words
/// and units (the failure reason of the reasonable-values rule).
fn out_of_range(
    config: &ValidationConfig,
    price: Option<i64>,
    bedrooms: Option<i32>,
    bathrooms: Option<f64>,
    sqft: Option<i32>,
) -> String {
    let mut found = Vec::new();
    if let Some(p) = price.filter(|p| !(config.price_min..=config.price_max).contains(p)) {
        found.push(format!(
            "price ${} is outside ${} to ${}",
            thousands(p),
            thousands(config.price_min),
            thousands(config.price_max)
        ));
    }
    if let Some(b) = bedrooms.filter(|b| !(config.bedrooms_min..=config.bedrooms_max).contains(b)) {
        found.push(format!(
            "{b} bedrooms is outside {} to {}",
            config.bedrooms_min, config.bedrooms_max
        ));
    }
    if let Some(b) = bathrooms.filter(|b| !(*b >= config.bathrooms_min && *b <= config.bathrooms_max)) {
        found.push(format!(
            "{b} bathrooms is outside {} to {}",
            config.bathrooms_min, config.bathrooms_max
        ));
    }
    if let Some(s) = sqft.filter(|s| !(config.sqft_min..=config.sqft_max).contains(s)) {
        found.push(format!(
            "{} sq ft is outside {} to {} sq ft",
            thousands(s.into()),
            thousands(config.sqft_min.into()),
            thousands(config.sqft_max.into())
        ));
    }
    found.join("; ")
}

/// 1234567 as "1,234,567".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}
