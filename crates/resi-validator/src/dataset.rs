//! Publishing a validated epoch's listings as the dataset (resi-dataset):
//! the winners' files are read again, a zipcode at a time, so memory holds
//! one zipcode's winners at most.

use std::collections::BTreeMap;

use bytes::Bytes;
use resi_core::schema::decode_listings;
use resi_core::verify::PropertySource;
use resi_core::{EpochId, Hotkey, Listing, Zipcode};
use resi_dataset::sink::FolderSink;
use resi_dataset::{DatasetManifest, Partition};
use resi_storage::ObjectKey;

use crate::journal::EpochJournal;
use crate::pipeline::{Validator, ValidatorError};

impl<S: PropertySource + Clone + Send + Sync + 'static> Validator<S> {
    /// Writes `epoch`'s dataset into `sink` from this validator's own
    /// published results: every zipcode's partition, then the signed
    /// manifest. Running it again writes the same bytes and finishes what a
    /// killed run began.
    pub async fn publish_dataset(&self, epoch: EpochId, sink: &FolderSink) -> Result<DatasetManifest, ValidatorError> {
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
                let columns = decode_listings(bytes, &limits)
                    .map_err(|e| ValidatorError::Other(format!("{}: {e}", object.key)))?;
                listings.insert(winner.hotkey.clone(), columns.to_listings());
            }
            let rows = resi_dataset::zipcode_rows(outcome, &listings);
            let file = resi_dataset::encode::encode_rows(&rows).map_err(|e| ValidatorError::Other(e.to_string()))?;
            let key = resi_dataset::partition_key(&epoch, &outcome.zipcode);
            sink.put(&key, &file)
                .map_err(|e| ValidatorError::Other(e.to_string()))?;
            partitions.push(Partition {
                zipcode: outcome.zipcode,
                key,
                rows: rows.len() as u64,
                sha256: resi_dataset::manifest::sha256_hex(&file),
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
        let kept = sink
            .get(&key)
            .and_then(|bytes| serde_json::from_slice::<DatasetManifest>(&bytes).ok())
            .filter(|old| old.verify() && old.same_content(&manifest));
        let manifest = match kept {
            Some(old) => old,
            None => {
                sink.put(&key, &manifest.to_json())
                    .map_err(|e| ValidatorError::Other(e.to_string()))?;
                manifest
            }
        };
        tracing::info!(%epoch, rows = manifest.rows, zipcodes = manifest.partitions.len(), root = %sink.root().display(), "dataset published");
        Ok(manifest)
    }
}
