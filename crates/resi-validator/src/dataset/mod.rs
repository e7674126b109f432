//! Publishing a validated epoch's listings as the dataset (resi-dataset):
//! the winners' files are read again, a zipcode at a time, so memory holds
//! one zipcode's winners (and its history) at most. Per zipcode: its
//! partition, then its history; the signed manifest last. The manifest is
//! also published beside the validator's results in the subnet's bucket,
//! where the coordinator's dashboard reads it.

pub mod store;

use std::collections::BTreeMap;

use bytes::Bytes;
use resi_core::schema::decode_listings;
use resi_core::verify::PropertySource;
use resi_core::{EpochId, Hotkey, Listing, Zipcode};
use resi_dataset::history::history_key;
use resi_dataset::{Changes, DatasetManifest, History, Partition, Sighting};
use resi_storage::ObjectKey;

use crate::journal::EpochJournal;
use crate::pipeline::{Validator, ValidatorError};
use store::DatasetStore;

fn failed(e: impl std::fmt::Display) -> ValidatorError {
    ValidatorError::Other(e.to_string())
}

impl<S: PropertySource + Clone + Send + Sync + 'static> Validator<S> {
    /// Writes `epoch`'s dataset into `store` from this validator's own
    /// published results: every zipcode's partition and history, then the
    /// signed manifest. Running it again writes the same bytes and finishes
    /// what a killed run began.
    pub async fn publish_dataset(
        &self,
        epoch: EpochId,
        store: &DatasetStore,
    ) -> Result<DatasetManifest, ValidatorError> {
        let journal = EpochJournal::new(self.data_dir(), &epoch);
        let signed = journal.results()?.ok_or_else(|| {
            ValidatorError::Other(format!(
                "epoch {epoch}: this validator has no results for it (validate it first: resi validator --once {epoch})"
            ))
        })?;
        let results = &signed.results;
        let mut files: BTreeMap<(Zipcode, Hotkey), resi_api::ReadObject> = BTreeMap::new();
        for object in self.read_all(epoch, "data").await? {
            if let Ok(ObjectKey::Listings { hotkey, zipcode, .. }) = ObjectKey::parse(&object.key) {
                files.insert((zipcode, hotkey), object);
            }
        }
        let limits = self.settings().validation.decode_limits();
        let mut partitions = Vec::new();
        for outcome in &results.zipcodes {
            let mut listings: BTreeMap<Hotkey, Vec<Listing>> = BTreeMap::new();
            for winner in resi_dataset::winners(outcome) {
                let Some(object) = files.get(&(outcome.zipcode, winner.hotkey.clone())) else {
                    tracing::warn!(%epoch, zipcode = %outcome.zipcode, miner = %winner.hotkey, "a winner's file is gone from the bucket; its rows are left out");
                    continue;
                };
                let bytes: Bytes = self.get_capped(object, limits.max_file_bytes).await?.ok_or_else(|| {
                    ValidatorError::Other(format!("{}: over {} bytes", object.key, limits.max_file_bytes))
                })?;
                let columns = decode_listings(bytes, &limits).map_err(|e| failed(format!("{}: {e}", object.key)))?;
                listings.insert(winner.hotkey.clone(), columns.to_listings());
            }
            let rows = resi_dataset::zipcode_rows(outcome, &listings);
            drop(listings);
            let file = resi_dataset::encode::encode_rows(&rows).map_err(failed)?;
            let key = resi_dataset::partition_key(&epoch, &outcome.zipcode);
            let sha256 = resi_dataset::manifest::sha256_hex(&file);
            store.put(&key, file).await.map_err(failed)?;
            let sightings: Vec<Sighting> = rows.iter().map(|r| Sighting::from(&r.listing)).collect();
            let changes = update_history(store, epoch, outcome.zipcode, &sightings).await?;
            partitions.push(Partition {
                zipcode: outcome.zipcode,
                key,
                rows: rows.len() as u64,
                sha256,
                changes,
            });
            self.step_boundary()?;
        }
        let manifest = DatasetManifest {
            epoch_id: epoch,
            results_version: results.version,
            consensus_hash: results.consensus_hash.clone(),
            rows: partitions.iter().map(|p| p.rows).sum(),
            partitions,
            publisher: self.hotkey(),
            signature: String::new(),
        }
        .sign(self.key());
        // sr25519 signatures differ from one signing to the next: a manifest
        // already there that says the same, signed by this validator, stays.
        let key = resi_dataset::manifest_key(&epoch);
        let kept = store
            .get(&key)
            .await
            .map_err(failed)?
            .and_then(|bytes| serde_json::from_slice::<DatasetManifest>(&bytes).ok())
            .filter(|old| old.verify() && old.publisher == manifest.publisher && old.same_content(&manifest));
        let manifest = match kept {
            Some(old) => old,
            None => {
                store.put(&key, manifest.to_json()).await.map_err(failed)?;
                manifest
            }
        };
        tracing::info!(%epoch, rows = manifest.rows, zipcodes = manifest.partitions.len(), at = %store.describe(), "dataset published");
        Ok(manifest)
    }

    /// Publishes `manifest` beside this validator's results in the subnet's
    /// bucket (`validators/{hotkey}/{epoch}/dataset.json`), for the
    /// coordinator's dashboard.
    pub async fn announce_dataset(&self, manifest: &DatasetManifest) -> Result<(), ValidatorError> {
        let epoch = manifest.epoch_id;
        let access = self.client().validator_upload(&epoch).await?;
        let key = ObjectKey::Dataset {
            validator: self.hotkey(),
            epoch,
        }
        .as_key();
        self.storage()
            .post_form(&access.upload, &key, Bytes::from(manifest.to_json()))
            .await?;
        Ok(())
    }
}

/// Folds `epoch`'s `sightings` into the zipcode's history and counts what
/// changed since the zipcode's previous epoch there. An epoch already in
/// the history leaves it as it is; one older than its last (a backfilled
/// epoch) rebuilds it from the partitions, in order; so does a history file
/// that cannot be read, from the complete epochs holding the zipcode.
async fn update_history(
    store: &DatasetStore,
    epoch: EpochId,
    zipcode: Zipcode,
    sightings: &[Sighting],
) -> Result<Option<Changes>, ValidatorError> {
    let key = history_key(&zipcode);
    let partition = |at: EpochId| async move {
        let key = resi_dataset::partition_key(&at, &zipcode);
        match store.get(&key).await.map_err(failed)? {
            Some(bytes) => resi_dataset::read::partition_sightings(bytes)
                .map(Some)
                .map_err(|e| failed(format!("{key}: {e}"))),
            None => Ok(None),
        }
    };
    let (history, readable) = match store.get(&key).await.map_err(failed)? {
        Some(bytes) => match History::decode(bytes) {
            Ok(history) => (history, true),
            Err(e) => {
                tracing::warn!(%key, "the history cannot be read ({e}); rebuilding it from the partitions");
                (History::default(), false)
            }
        },
        None => (History::default(), true),
    };
    // The epochs the history covers (recovered from the complete epochs
    // when it cannot be read: a zipcode is in few of them).
    let covered: Vec<EpochId> = if readable {
        history.epochs().to_vec()
    } else {
        let mut found = Vec::new();
        for at in store.epochs().await.map_err(failed)? {
            let held = store
                .get(&resi_dataset::partition_key(&at, &zipcode))
                .await
                .map_err(failed)?
                .is_some();
            if held && at != epoch {
                found.push(at);
            }
        }
        found
    };
    let changes = match covered.iter().rev().find(|e| **e < epoch) {
        // The history's last epoch is its rows last seen then: no need to
        // read that partition again.
        Some(&before) if readable && covered.last() == Some(&before) => {
            let seen: Vec<Sighting> = history
                .rows()
                .iter()
                .filter(|r| r.last_seen_epoch == before)
                .map(|r| Sighting {
                    zpid: r.zpid.clone(),
                    price: r.price,
                    address: None,
                    listing_status: None,
                    days_on_market: None,
                    scraped_ms: None,
                })
                .collect();
            Some(resi_dataset::stats::changes(&seen, sightings))
        }
        Some(&before) => partition(before)
            .await?
            .map(|before| resi_dataset::stats::changes(&before, sightings)),
        None => None,
    };
    if readable && covered.contains(&epoch) {
        return Ok(changes);
    }
    let rebuilt = match covered.last() {
        Some(&last) if last > epoch || !readable => {
            let mut all = covered;
            all.push(epoch);
            all.sort();
            let mut fresh = History::default();
            for at in all {
                let seen = if at == epoch {
                    Some(sightings.to_vec())
                } else {
                    partition(at).await?
                };
                match seen {
                    Some(seen) => fresh.fold(at, &seen).map_err(failed)?,
                    None => tracing::warn!(%at, %zipcode, "a partition the history names is gone; left out"),
                }
            }
            fresh
        }
        _ => {
            let mut next = history;
            next.fold(epoch, sightings).map_err(failed)?;
            next
        }
    };
    store
        .put(&key, rebuilt.encode().map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_dataset::select::DatasetRow;

    fn epoch(hour: u32) -> EpochId {
        EpochId::parse(&format!("2026-12-07T{hour:02}-00-00")).unwrap()
    }

    fn row(zpid: &str, price: i64) -> DatasetRow {
        DatasetRow {
            listing: Listing {
                zpid: zpid.into(),
                mls_id: None,
                address: Some(format!("{zpid} Main St")),
                zipcode: None,
                price: Some(price),
                bedrooms: None,
                bathrooms: None,
                sqft: None,
                listing_date: None,
                property_type: None,
                listing_status: None,
                days_on_market: None,
                source_url: None,
                scraped_timestamp_ms: Some(1),
            },
            miner: Hotkey::from_public_key([1; 32]),
            rank: 1,
            sample_verdict: None,
        }
    }

    /// Publishes `rows` as `at`'s partition of 78704 and folds its history,
    /// as `publish_dataset` does for each zipcode.
    async fn publish(store: &DatasetStore, at: EpochId, rows: &[DatasetRow]) -> Option<Changes> {
        let zipcode = Zipcode::parse("78704").unwrap();
        let file = resi_dataset::encode::encode_rows(rows).unwrap();
        store
            .put(&resi_dataset::partition_key(&at, &zipcode), file)
            .await
            .unwrap();
        let sightings: Vec<Sighting> = rows.iter().map(|r| Sighting::from(&r.listing)).collect();
        update_history(store, at, zipcode, &sightings).await.unwrap()
    }

    async fn history(store: &DatasetStore) -> Vec<u8> {
        let key = history_key(&Zipcode::parse("78704").unwrap());
        store.get(&key).await.unwrap().unwrap().to_vec()
    }

    #[tokio::test]
    async fn the_history_is_the_same_whatever_order_the_epochs_are_published_in() {
        let epochs = [
            (epoch(0), vec![row("1", 100), row("2", 200)]),
            (epoch(4), vec![row("1", 100), row("2", 210), row("3", 300)]),
            (epoch(8), vec![row("2", 210), row("3", 300)]),
        ];
        let in_order = tempfile::tempdir().unwrap();
        let in_order = DatasetStore::Folder(in_order.path().to_owned());
        let mut changes = Vec::new();
        for (at, rows) in &epochs {
            changes.push(publish(&in_order, *at, rows).await);
        }
        assert_eq!(
            changes,
            vec![
                None,
                Some(Changes {
                    new: 1,
                    removed: 0,
                    price_changed: 1
                }),
                Some(Changes {
                    new: 0,
                    removed: 1,
                    price_changed: 0
                }),
            ],
            "each epoch against the one before"
        );
        let expected = history(&in_order).await;
        let folded = History::decode(Bytes::from(expected.clone())).unwrap();
        assert_eq!(folded.epochs(), &[epoch(0), epoch(4), epoch(8)]);
        assert_eq!(folded.rows().len(), 4, "1 at 100; 2 at 200 then 210; 3 at 300");

        // Published again: nothing folds twice.
        let again = publish(&in_order, epoch(4), &epochs[1].1).await;
        assert_eq!(again, changes[1]);
        assert_eq!(history(&in_order).await, expected, "republishing changes nothing");

        // The middle epoch last (a backfill): rebuilt in order, the same bytes.
        let backfilled = tempfile::tempdir().unwrap();
        let backfilled = DatasetStore::Folder(backfilled.path().to_owned());
        for i in [0, 2, 1] {
            publish(&backfilled, epochs[i].0, &epochs[i].1).await;
        }
        assert_eq!(history(&backfilled).await, expected);

        // A history file that cannot be read is rebuilt from the complete
        // epochs (those with a manifest) holding the zipcode.
        let damaged = tempfile::tempdir().unwrap();
        let damaged = DatasetStore::Folder(damaged.path().to_owned());
        for (at, rows) in &epochs {
            publish(&damaged, *at, rows).await;
            damaged
                .put(&resi_dataset::manifest_key(at), b"{}".to_vec())
                .await
                .unwrap();
        }
        let key = history_key(&Zipcode::parse("78704").unwrap());
        damaged.put(&key, b"not parquet".to_vec()).await.unwrap();
        assert_eq!(publish(&damaged, epoch(8), &epochs[2].1).await, changes[2]);
        assert_eq!(history(&damaged).await, expected);
    }
}
