//! Validators' published results as the dashboard shows them: fetched and
//! verified once (they never change), and the ones that could not be shown
//! remembered with why, so a public page polled by every viewer costs the
//! bucket one fetch per file, not one per poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use resi_api::dashboard::DatasetSummary;
use resi_core::{EpochId, Hotkey, ValidationResults};

/// How long a validator's results that could not be shown (absent,
/// unreadable, refused) stay so before the bucket is asked again. The page
/// is public and polled every few seconds by every viewer: without this,
/// each poll fetched every missing file again, up to `MAX_RESULTS_BYTES`
/// each, and a validator's broken file cost one download per viewer per poll.
pub(crate) const RECHECK_MISSING_SECS: i64 = 30;

/// Published results already fetched and verified: they never change. And
/// the ones that could not be shown, with why, until they are asked again.
#[derive(Default)]
pub struct PublishedCache {
    results: Mutex<HashMap<(EpochId, Hotkey), Arc<ValidationResults>>>,
    missing: Mutex<HashMap<(EpochId, Hotkey), (String, i64)>>,
    /// Dataset manifests: a found one never changes; an absent one is
    /// asked for again after [`RECHECK_MISSING_SECS`] (the time it was
    /// last asked is kept).
    datasets: Mutex<HashMap<(EpochId, Hotkey), Result<DatasetSummary, i64>>>,
}

impl PublishedCache {
    /// Why the validator's results could not be shown, if that was found
    /// less than [`RECHECK_MISSING_SECS`] before `now`.
    pub(crate) fn missing(&self, epoch: EpochId, validator: &Hotkey, now: i64) -> Option<String> {
        let missing = self.missing.lock().unwrap_or_else(|p| p.into_inner());
        missing
            .get(&(epoch, validator.clone()))
            .filter(|(_, recheck_at)| now < *recheck_at)
            .map(|(reason, _)| reason.clone())
    }

    pub(crate) fn remember_missing(&self, epoch: EpochId, validator: Hotkey, reason: String, now: i64) {
        let mut missing = self.missing.lock().unwrap_or_else(|p| p.into_inner());
        if missing.len() > 256 {
            missing.retain(|_, (_, recheck_at)| now < *recheck_at);
        }
        missing.insert((epoch, validator), (reason, now + RECHECK_MISSING_SECS));
    }

    /// A validator's dataset of the epoch: `Some(Some(..))` found, `Some(None)`
    /// absent when last asked (less than [`RECHECK_MISSING_SECS`] ago),
    /// `None` to be asked.
    pub(crate) fn dataset(&self, epoch: EpochId, validator: &Hotkey, now: i64) -> Option<Option<DatasetSummary>> {
        let datasets = self.datasets.lock().unwrap_or_else(|p| p.into_inner());
        match datasets.get(&(epoch, validator.clone()))? {
            Ok(found) => Some(Some(found.clone())),
            Err(asked) if now < asked + RECHECK_MISSING_SECS => Some(None),
            Err(_) => None,
        }
    }

    pub(crate) fn remember_dataset(&self, epoch: EpochId, validator: Hotkey, found: Option<DatasetSummary>, now: i64) {
        let mut datasets = self.datasets.lock().unwrap_or_else(|p| p.into_inner());
        if datasets.len() > 256 {
            let newest = datasets.keys().map(|(e, _)| *e).max();
            if let Some(newest) = newest {
                datasets.retain(|(e, _), _| e.start_unix() + 86_400 >= newest.start_unix());
            }
        }
        datasets.insert((epoch, validator), found.ok_or(now));
    }

    pub(crate) fn get(&self, epoch: EpochId, validator: &Hotkey) -> Option<Arc<ValidationResults>> {
        let results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        results.get(&(epoch, validator.clone())).cloned()
    }

    pub(crate) fn keep(&self, epoch: EpochId, validator: Hotkey, results: ValidationResults) -> Arc<ValidationResults> {
        let mut kept = self.results.lock().unwrap_or_else(|p| p.into_inner());
        // Only the recent epochs are shown: drop older ones.
        if kept.len() > 256 {
            let newest = kept.keys().map(|(e, _)| *e).max();
            if let Some(newest) = newest {
                kept.retain(|(e, _), _| e.start_unix() + 86_400 >= newest.start_unix());
            }
        }
        Arc::clone(kept.entry((epoch, validator)).or_insert_with(|| Arc::new(results)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_that_could_not_be_shown_are_asked_for_again_only_after_a_while() {
        let cache = PublishedCache::default();
        let epoch = EpochId::from_start_unix(1_759_334_400).unwrap();
        let validator = Hotkey::parse("5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT").unwrap();
        let other = Hotkey::parse("5C7mGLnCd53F8XctZyLa1wXKrxrj9YfrBarg4TXrJZTut7kN").unwrap();
        let t = 1_759_338_000;
        assert_eq!(cache.missing(epoch, &validator, t), None);
        cache.remember_missing(epoch, validator.clone(), "not published yet".into(), t);
        assert_eq!(
            cache
                .missing(epoch, &validator, t + RECHECK_MISSING_SECS - 1)
                .as_deref(),
            Some("not published yet")
        );
        assert_eq!(cache.missing(epoch, &other, t), None, "another validator is asked");
        assert_eq!(
            cache.missing(epoch, &validator, t + RECHECK_MISSING_SECS),
            None,
            "asked again"
        );
    }
}
