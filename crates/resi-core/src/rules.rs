//! Results versions: which rules an epoch is validated by (PROTOCOL.md §7a).
//!
//! A rule change is a new results version. The coordinator announces the
//! version each epoch is validated by (in its assignment, fixed when the
//! epoch is created) and, ahead of time, the epoch from which the next one
//! applies. A release validates its own version and keeps the previous one's
//! rules, so validators upgrade at their own pace before the switch and all
//! of them validate every epoch by the same rules: no split. A validator
//! asked for a version it does not know publishes nothing for that epoch.

use serde::{Deserialize, Serialize};

/// A results version this release can validate by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ResultsVersion(u32);

/// A results version this release (or a validator held back to an older
/// release's rules) does not validate by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownResultsVersion {
    pub version: u32,
    pub oldest: u32,
    pub newest: u32,
}

impl std::fmt::Display for UnknownResultsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let advice = if self.version > self.newest {
            "upgrade resi"
        } else {
            "the subnet announced a version older than this release keeps"
        };
        write!(
            f,
            "results version {} is not one this release validates by (it knows {} to {}): {advice}",
            self.version, self.oldest, self.newest
        )
    }
}

impl std::error::Error for UnknownResultsVersion {}

impl ResultsVersion {
    /// Version 6: owners, one scrape one reward, the lookup budget (§6a).
    pub const V6: Self = Self(6);
    /// Version 7: a submission holding the same listings as one ranked
    /// before it is `same-listings`, counted in `totals.sameListings`;
    /// `ignored` is left to files modified after the deadline.
    pub const V7: Self = Self(7);
    /// The newest version this release validates by.
    pub const LATEST: Self = Self::V7;
    /// The oldest: the previous release's rules are kept for one release.
    pub const OLDEST: Self = Self::V6;
    /// An epoch whose coordinator announces no version (a coordinator
    /// older than announcements) is validated by this one.
    pub const UNANNOUNCED: Self = Self::V6;

    /// The version numbered `n`, if this release knows its rules.
    pub fn known(n: u32) -> Result<Self, UnknownResultsVersion> {
        Self::known_up_to(n, Self::LATEST)
    }

    /// As [`Self::known`], for a validator that validates by `newest` at
    /// most (one playing an older release).
    pub fn known_up_to(n: u32, newest: Self) -> Result<Self, UnknownResultsVersion> {
        let newest = newest.min(Self::LATEST);
        if (Self::OLDEST.0..=newest.0).contains(&n) {
            Ok(Self(n))
        } else {
            Err(UnknownResultsVersion {
                version: n,
                oldest: Self::OLDEST.0,
                newest: newest.0,
            })
        }
    }

    pub const fn number(self) -> u32 {
        self.0
    }

    /// Whether a submission that holds an earlier one's listings has the
    /// status of its own (version 7) or is `ignored` (version 6).
    pub fn same_listings_status(self) -> bool {
        self >= Self::V7
    }
}

impl TryFrom<u32> for ResultsVersion {
    type Error = UnknownResultsVersion;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::known(n)
    }
}

impl From<ResultsVersion> for u32 {
    fn from(v: ResultsVersion) -> u32 {
        v.0
    }
}

impl std::fmt::Display for ResultsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_release_knows_its_version_and_the_previous_one() {
        assert_eq!(ResultsVersion::known(6), Ok(ResultsVersion::V6));
        assert_eq!(ResultsVersion::known(7), Ok(ResultsVersion::V7));
        let newer = ResultsVersion::known(8).unwrap_err().to_string();
        assert!(
            newer.contains("results version 8") && newer.contains("upgrade resi"),
            "{newer}"
        );
        let older = ResultsVersion::known(5).unwrap_err().to_string();
        assert!(older.contains("older than this release keeps"), "{older}");
        assert!(serde_json::from_str::<ResultsVersion>("9").is_err());
        // A validator held to the previous release's rules.
        let held = ResultsVersion::known_up_to(7, ResultsVersion::V6)
            .unwrap_err()
            .to_string();
        assert!(held.contains("(it knows 6 to 6): upgrade resi"), "{held}");
        assert_eq!(
            ResultsVersion::known_up_to(6, ResultsVersion::V6),
            Ok(ResultsVersion::V6)
        );
        assert_eq!(serde_json::to_string(&ResultsVersion::V7).unwrap(), "7");
    }
}
