//! `resi dataset stats`: per epoch, what the dataset covers and what
//! changed since the epoch before (listings new, gone, repriced), read from
//! the files alone.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::{Array, Int64Array, RecordBatchReader, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use resi_core::schema::col;
use resi_core::EpochId;

use crate::manifest::DatasetManifest;

/// One epoch of the dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochStats {
    pub epoch: EpochId,
    pub zipcodes: u64,
    pub listings: u64,
    /// Against each zipcode's previous epoch in the dataset (zipcodes seen
    /// for the first time count nothing): zpids not there before, there
    /// before and not now, and listed at another price.
    pub new: u64,
    pub removed: u64,
    pub price_changed: u64,
}

impl std::fmt::Display for EpochStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "epoch {}: {} zipcodes, {} listings; since the epoch before: {} new, {} removed, {} price changes",
            self.epoch, self.zipcodes, self.listings, self.new, self.removed, self.price_changed
        )
    }
}

/// Why the dataset could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {cause}")]
pub struct StatsError {
    pub path: String,
    pub cause: String,
}

/// Every complete epoch (one with a manifest) under `root`, oldest first.
pub fn manifests(root: &Path) -> Result<Vec<DatasetManifest>, StatsError> {
    let listings = root.join("dataset").join("listings");
    let fail = |path: &Path, cause: String| StatsError {
        path: path.display().to_string(),
        cause,
    };
    let entries = match std::fs::read_dir(&listings) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(&listings, e.to_string())),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join("_manifest.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                found.push(serde_json::from_slice::<DatasetManifest>(&bytes).map_err(|e| fail(&path, e.to_string()))?)
            }
            // An epoch still being published has no manifest yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(&path, e.to_string())),
        }
    }
    found.sort_by_key(|m| m.epoch_id);
    Ok(found)
}

/// zpid → price of one partition file.
fn prices(file: &Path) -> Result<BTreeMap<String, Option<i64>>, StatsError> {
    let fail = |cause: String| StatsError {
        path: file.display().to_string(),
        cause,
    };
    let reader = std::fs::File::open(file).map_err(|e| fail(e.to_string()))?;
    let batches = ParquetRecordBatchReaderBuilder::try_new(reader)
        .and_then(|b| b.build())
        .map_err(|e| fail(e.to_string()))?;
    let schema = batches.schema();
    let (zpid_at, price_at) = (
        schema.index_of(col::ZPID).map_err(|e| fail(e.to_string()))?,
        schema.index_of(col::PRICE).map_err(|e| fail(e.to_string()))?,
    );
    let mut out = BTreeMap::new();
    for batch in batches {
        let batch = batch.map_err(|e| fail(e.to_string()))?;
        let zpids = batch.column(zpid_at).as_any().downcast_ref::<StringArray>();
        let prices = batch.column(price_at).as_any().downcast_ref::<Int64Array>();
        let (Some(zpids), Some(prices)) = (zpids, prices) else {
            return Err(fail("zpid is not a string or price not an int64 column".into()));
        };
        for i in 0..batch.num_rows() {
            let price = (!prices.is_null(i)).then(|| prices.value(i));
            out.insert(zpids.value(i).to_owned(), price);
        }
    }
    Ok(out)
}

/// Stats of every complete epoch under `root`, oldest first.
pub fn stats(root: &Path) -> Result<Vec<EpochStats>, StatsError> {
    let mut previous: BTreeMap<String, BTreeMap<String, Option<i64>>> = BTreeMap::new();
    let mut out = Vec::new();
    for manifest in manifests(root)? {
        let mut current = BTreeMap::new();
        let (mut new, mut removed, mut price_changed) = (0, 0, 0);
        for partition in &manifest.partitions {
            let now = prices(&root.join(&partition.key))?;
            let zipcode = partition.zipcode.to_string();
            if let Some(before) = previous.get(&zipcode) {
                new += now.keys().filter(|z| !before.contains_key(*z)).count() as u64;
                removed += before.keys().filter(|z| !now.contains_key(*z)).count() as u64;
                price_changed += now
                    .iter()
                    .filter(|(z, p)| before.get(*z).is_some_and(|b| b != *p))
                    .count() as u64;
            }
            current.insert(zipcode, now);
        }
        out.push(EpochStats {
            epoch: manifest.epoch_id,
            zipcodes: manifest.partitions.len() as u64,
            listings: manifest.rows,
            new,
            removed,
            price_changed,
        });
        previous.extend(current);
    }
    Ok(out)
}
