//! Every validation and scoring threshold (PROTOCOL.md §4–§6), with its default.
//!
//! Fractions are integer basis points (1/10,000) so that comparisons are exact
//! integer arithmetic on every validator: "at least 90 %" is
//! `count × 10,000 ≥ total × 9,000`, never a float compare.

use serde::{Deserialize, Serialize};

use crate::schema::DecodeLimits;

/// Basis points: 10,000 = 100 %.
pub const BPS: u64 = 10_000;

/// The validation configuration. It is written into every results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// Largest listings file read, in bytes.
    pub max_file_bytes: u64,
    /// Most rows read from one file.
    pub max_rows: u64,
    /// Most bytes the pages of one file may declare decoded (the decoder's
    /// memory bound, checked before decompressing).
    pub max_decoded_bytes: u64,
    /// Longest string value in any column of a file.
    pub max_string_bytes: u64,
    /// Whether a file must be listed, with a matching SHA-256, in its miner's manifest.
    pub require_manifest: bool,
    /// Tier 0: a submission whose fingerprints overlap an earlier one of another
    /// hotkey by at least this much is a copy.
    pub copy_overlap_min_bps: u64,
    /// Tier 0: submissions with fewer fingerprints than this are never
    /// judged copies (too little timing to tell a copy from chance).
    pub copy_min_fingerprints: u64,
    /// One scrape, one reward: a later submission that agrees with a ranked
    /// one of another owner on at least this share of rows (same zpid, price
    /// within `spot_check_tolerance_bps` or absent; out of the larger file)
    /// holds the same listings. It earns nothing and costs no lookup
    /// (PROTOCOL.md §6). 0 turns the rule off.
    pub same_listings_min_bps: u64,
    /// Paid property-source lookups a validator spends on an epoch, at
    /// most: split evenly over the assigned zipcodes (the remainder to the
    /// first ones), each zipcode's walk stops spot-checking when its share
    /// cannot pay for the next check. Counted as distinct zpids per
    /// zipcode. 0: no limit.
    pub lookup_budget_per_epoch: u64,
    /// Tier 1: allowed deviation of the unique-listing count from the expected count.
    pub quantity_tolerance_bps: u64,
    /// Tier 2 minimums and maximum.
    pub completeness_min_bps: u64,
    pub reasonable_min_bps: u64,
    pub consistency_min_bps: u64,
    pub duplicate_rate_max_bps: u64,
    /// Tier 2 "reasonable value" ranges (inclusive).
    pub price_min: i64,
    pub price_max: i64,
    pub bedrooms_min: i32,
    pub bedrooms_max: i32,
    pub bathrooms_min: f64,
    pub bathrooms_max: f64,
    pub sqft_min: i32,
    pub sqft_max: i32,
    /// Tier 2: how long before the epoch start a scrape may be, in
    /// milliseconds: clock skew, not a head start (the assignment is not
    /// known before the epoch starts).
    pub scrape_lookback_ms: i64,
    /// Tier 3, freshness: contested claims (rows other submissions for the
    /// zipcode disagree with) checked against the source's history per
    /// submission, at most.
    pub spot_check_contested_max: u64,
    /// Tier 3: k = min(max, max(min, ⌊fraction·n⌋)), at most n.
    pub spot_check_min: u64,
    pub spot_check_max: u64,
    pub spot_check_fraction_bps: u64,
    /// Tier 3: share of determined samples that must verify.
    pub spot_check_pass_bps: u64,
    /// Tier 1, relative: with at least `quantity_relative_min_peers`
    /// submissions that passed tiers 0–2 for a zipcode, each must hold this
    /// share of their median listing count (0 turns the rule off).
    pub quantity_relative_min_bps: u64,
    pub quantity_relative_min_peers: u64,
    /// Tier 3: fewer determined samples than this make the submission undetermined.
    pub spot_check_min_determined: u64,
    /// Tier 3: more samples than this that the source answers "no such
    /// zpid" fail the submission, whatever the share verified (0: one
    /// invented listing in the sample is enough).
    pub spot_check_max_not_found: u64,
    /// Tier 3: allowed relative difference of price and sqft from the source.
    pub spot_check_tolerance_bps: u64,
    /// Tier 3 for participants too: every submission that passed tiers 0–2 is
    /// spot-checked, not only those walked until three winners. Without it a
    /// slow fabricator earns the participation share (see PROTOCOL.md §6).
    pub spot_check_participants: bool,
    /// Tier 3: a property source that leaves at least this share of an
    /// epoch's lookups unanswered (with at least `source_broken_min_lookups`
    /// lookups) is broken: every sample of the epoch is undetermined.
    pub source_broken_unavailable_bps: u64,
    pub source_broken_min_lookups: u64,
    /// Scores: shares of a zipcode for ranks 1, 2, 3.
    pub winner_shares_bps: [u64; 3],
    /// Scores: share of the epoch split among participants by their listings.
    pub participation_bps: u64,
    /// Scores: the most of the participation pool one miner can take.
    pub participation_max_share_bps: u64,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_rows: 200_000,
            max_decoded_bytes: 128 * 1024 * 1024,
            max_string_bytes: 2_048,
            source_broken_unavailable_bps: 5_000,
            source_broken_min_lookups: 20,
            require_manifest: true,
            copy_overlap_min_bps: 9_000,
            copy_min_fingerprints: 10,
            same_listings_min_bps: 9_000,
            lookup_budget_per_epoch: 750,
            quantity_tolerance_bps: 1_500,
            completeness_min_bps: 9_000,
            reasonable_min_bps: 9_500,
            consistency_min_bps: 9_000,
            duplicate_rate_max_bps: 500,
            price_min: 10_000,
            price_max: 50_000_000,
            bedrooms_min: 0,
            bedrooms_max: 20,
            bathrooms_min: 0.0,
            bathrooms_max: 20.0,
            sqft_min: 100,
            sqft_max: 100_000,
            scrape_lookback_ms: 60 * 1000,
            spot_check_contested_max: 4,
            spot_check_min: 3,
            spot_check_max: 10,
            spot_check_fraction_bps: 1_000,
            spot_check_pass_bps: 8_000,
            spot_check_min_determined: 3,
            spot_check_max_not_found: 0,
            quantity_relative_min_bps: 9_000,
            quantity_relative_min_peers: 3,
            spot_check_tolerance_bps: 500,
            spot_check_participants: true,
            winner_shares_bps: [5_500, 3_000, 1_000],
            participation_bps: 500,
            participation_max_share_bps: 2_500,
        }
    }
}

/// Why a configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid validation config: {0}")]
pub struct ConfigError(pub String);

impl ValidationConfig {
    pub fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_file_bytes: self.max_file_bytes,
            max_rows: self.max_rows,
            max_decoded_bytes: self.max_decoded_bytes,
            max_string_bytes: self.max_string_bytes,
        }
    }

    /// Checks that the thresholds make sense together.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bps_fields = [
            ("copyOverlapMinBps", self.copy_overlap_min_bps),
            ("sameListingsMinBps", self.same_listings_min_bps),
            ("quantityToleranceBps", self.quantity_tolerance_bps),
            ("quantityRelativeMinBps", self.quantity_relative_min_bps),
            ("completenessMinBps", self.completeness_min_bps),
            ("reasonableMinBps", self.reasonable_min_bps),
            ("consistencyMinBps", self.consistency_min_bps),
            ("duplicateRateMaxBps", self.duplicate_rate_max_bps),
            ("spotCheckFractionBps", self.spot_check_fraction_bps),
            ("spotCheckPassBps", self.spot_check_pass_bps),
            ("spotCheckToleranceBps", self.spot_check_tolerance_bps),
            ("participationBps", self.participation_bps),
            ("participationMaxShareBps", self.participation_max_share_bps),
            ("sourceBrokenUnavailableBps", self.source_broken_unavailable_bps),
        ];
        for (name, value) in bps_fields {
            if value > BPS {
                return Err(ConfigError(format!("{name} = {value} is over 10000 (100 %)")));
            }
        }
        let ranges: [(&str, u64, u64, u64); 12] = [
            ("maxFileBytes", self.max_file_bytes, 1024, 1 << 32),
            ("maxRows", self.max_rows, 1, 10_000_000),
            ("maxDecodedBytes", self.max_decoded_bytes, 1 << 20, 1 << 34),
            ("maxStringBytes", self.max_string_bytes, 64, 1 << 20),
            ("spotCheckMin", self.spot_check_min, 0, 1_000),
            ("spotCheckMax", self.spot_check_max, 1, 1_000),
            ("spotCheckMinDetermined", self.spot_check_min_determined, 0, 1_000),
            ("spotCheckMaxNotFound", self.spot_check_max_not_found, 0, 1_000),
            ("quantityRelativeMinPeers", self.quantity_relative_min_peers, 1, 1_000),
            ("spotCheckContestedMax", self.spot_check_contested_max, 0, 1_000),
            ("copyMinFingerprints", self.copy_min_fingerprints, 1, 1_000_000),
            ("lookupBudgetPerEpoch", self.lookup_budget_per_epoch, 0, 100_000_000),
        ];
        check_ranges(&ranges).map_err(|e| ConfigError(e.to_string()))?;
        let shares: u64 = self.winner_shares_bps.iter().sum::<u64>() + self.participation_bps;
        if shares > BPS {
            return Err(ConfigError(format!(
                "winner shares plus participation add up to {shares} bps, over 10000"
            )));
        }
        if self.spot_check_min > self.spot_check_max {
            return Err(ConfigError("spotCheckMin is greater than spotCheckMax".into()));
        }
        if self.price_min > self.price_max || self.bedrooms_min > self.bedrooms_max || self.sqft_min > self.sqft_max {
            return Err(ConfigError("a reasonable-value range has min > max".into()));
        }
        if self
            .bathrooms_min
            .partial_cmp(&self.bathrooms_max)
            .is_none_or(|o| o.is_gt())
        {
            return Err(ConfigError(
                "bathroomsMin must be a number not greater than bathroomsMax".into(),
            ));
        }
        if self.scrape_lookback_ms < 0 {
            return Err(ConfigError("scrapeLookbackMs must not be negative".into()));
        }
        Ok(())
    }
}

/// Checks `(name, value, min, max)` settings, inclusive; the first value out
/// of its range is named (`retry_seconds = 0 is outside 1..=86400`). Every
/// daemon's configuration check uses it.
pub fn check_ranges(ranges: &[(&str, u64, u64, u64)]) -> Result<(), OutOfRange> {
    match ranges.iter().find(|(_, value, min, max)| !(min..=max).contains(&value)) {
        Some((name, value, min, max)) => Err(OutOfRange {
            name: (*name).to_owned(),
            value: *value,
            min: *min,
            max: *max,
        }),
        None => Ok(()),
    }
}

/// A setting outside its range, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} = {value} is outside {min}..={max}")]
pub struct OutOfRange {
    pub name: String,
    pub value: u64,
    pub min: u64,
    pub max: u64,
}

/// `part / total` as a percentage with two decimals, for reasons.
pub fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        return "n/a".into();
    }
    let hundredths = (part as u128 * 10_000 + total as u128 / 2) / total as u128;
    format!("{}.{:02} %", hundredths / 100, hundredths % 100)
}

/// Basis points as a percentage, for reasons.
pub fn bps_pct(bps: u64) -> String {
    format!("{}.{:02} %", bps / 100, bps % 100)
}

/// `part / total ≥ min_bps / 10,000`, exactly.
pub fn at_least(part: u64, total: u64, min_bps: u64) -> bool {
    part as u128 * BPS as u128 >= total as u128 * min_bps as u128
}

/// `part / total ≤ max_bps / 10,000`, exactly.
pub fn at_most(part: u64, total: u64, max_bps: u64) -> bool {
    part as u128 * BPS as u128 <= total as u128 * max_bps as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = ValidationConfig::default();
        c.check().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"completenessMinBps\":9000"));
        let back: ValidationConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn rejects_nonsense() {
        let c = ValidationConfig {
            winner_shares_bps: [9_000, 1_000, 1_000],
            ..Default::default()
        };
        assert!(c.check().is_err());
        let c = ValidationConfig {
            spot_check_min: 11,
            ..Default::default()
        };
        assert!(c.check().is_err());
        assert!(serde_json::from_str::<ValidationConfig>("{\"bogus\":1}").is_err());
    }

    #[test]
    fn exact_fraction_comparisons() {
        assert!(at_least(90, 100, 9_000));
        assert!(!at_least(89, 100, 9_000));
        assert!(at_most(5, 100, 500));
        assert!(!at_most(6, 100, 500));
        assert_eq!(pct(1, 3), "33.33 %");
    }
}
