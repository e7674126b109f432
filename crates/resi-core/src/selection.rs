//! The operator's zipcode-selection parameters (PROTOCOL.md §2a): published in
//! the coordinator's stats, applied by its selection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Selection parameters (operator configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", default, deny_unknown_fields)]
pub struct SelectionParams {
    /// Expected listings summed over the selected zipcodes.
    pub target_listings: u64,
    /// Allowed deviation from the target, in percent.
    pub tolerance_percent: u64,
    /// Only zipcodes whose expected listings lie in [min, max] are drawn.
    pub min_expected: u64,
    pub max_expected: u64,
    /// A zipcode assigned within this many seconds is not drawn again.
    pub cooldown_secs: i64,
    /// State weights in thousandths (1000 = 1.0); unlisted states weigh 1000.
    pub state_priority_milli: BTreeMap<String, u64>,
    /// Add one low-volume zipcode (expected listings at most `honeypot_max_expected`).
    pub honeypot: bool,
    pub honeypot_max_expected: u64,
    /// Never select more zipcodes than this.
    pub max_zipcodes: usize,
}

impl Default for SelectionParams {
    fn default() -> Self {
        Self {
            target_listings: 10_000,
            tolerance_percent: 10,
            min_expected: 100,
            max_expected: 2_000,
            cooldown_secs: 24 * 3600,
            state_priority_milli: BTreeMap::new(),
            honeypot: false,
            honeypot_max_expected: 60,
            max_zipcodes: 100,
        }
    }
}
