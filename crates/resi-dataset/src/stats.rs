//! `resi dataset stats`: per epoch, what the dataset covers and what changed
//! since each zipcode's previous epoch (listings new, gone, repriced). The
//! changes are counted when the epoch is published and kept in its manifest,
//! so the figures are read from the manifests alone.

use std::collections::BTreeMap;

use resi_core::EpochId;

use crate::manifest::{Changes, DatasetManifest};
use crate::read::Sighting;

/// What changed from `before` to `now` (a zipcode's two epochs).
pub fn changes(before: &[Sighting], now: &[Sighting]) -> Changes {
    let before: BTreeMap<&str, Option<i64>> = before.iter().map(|s| (s.zpid.as_str(), s.price)).collect();
    let now: BTreeMap<&str, Option<i64>> = now.iter().map(|s| (s.zpid.as_str(), s.price)).collect();
    Changes {
        new: now.keys().filter(|z| !before.contains_key(*z)).count() as u64,
        removed: before.keys().filter(|z| !now.contains_key(*z)).count() as u64,
        price_changed: now
            .iter()
            .filter(|(z, p)| before.get(*z).is_some_and(|b| b != *p))
            .count() as u64,
    }
}

/// One epoch of the dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochStats {
    pub epoch: EpochId,
    pub zipcodes: u64,
    pub listings: u64,
    /// Summed over the zipcodes that had an earlier epoch (zipcodes seen for
    /// the first time count nothing).
    pub changes: Changes,
}

impl EpochStats {
    pub fn of(manifest: &DatasetManifest) -> Self {
        let mut changes = Changes::default();
        for c in manifest.partitions.iter().filter_map(|p| p.changes) {
            changes += c;
        }
        Self {
            epoch: manifest.epoch_id,
            zipcodes: manifest.partitions.len() as u64,
            listings: manifest.rows,
            changes,
        }
    }
}

impl std::fmt::Display for EpochStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {}: {} zipcodes, {} listings; since the epoch before: {} new, {} removed, {} price changes",
            self.epoch,
            self.zipcodes,
            self.listings,
            self.changes.new,
            self.changes.removed,
            self.changes.price_changed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(zpid: &str, price: i64) -> Sighting {
        Sighting {
            zpid: zpid.into(),
            price: Some(price),
            address: None,
            listing_status: None,
            days_on_market: None,
            scraped_ms: None,
        }
    }

    #[test]
    fn new_removed_and_repriced_are_counted_once_each() {
        let before = [s("1", 100), s("2", 200), s("3", 300)];
        let now = [s("1", 100), s("2", 210), s("4", 400), s("5", 500)];
        assert_eq!(
            changes(&before, &now),
            Changes {
                new: 2,
                removed: 1,
                price_changed: 1
            }
        );
    }
}
