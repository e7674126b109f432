//! resi-dataset: the subnet's product. For each validated epoch, the
//! listings of every zipcode's winning submissions (rank 1, plus ranks 2–3
//! where they add listings rank 1 lacks), deduplicated by zpid and sorted by
//! it, with provenance (which miner, which rank, whether the row was a
//! spot-checked sample and its verdict), as a Hive-partitioned Parquet
//! dataset any query engine reads (docs/DATASET.md):
//!
//! ```text
//! dataset/listings/epoch={epochId}/zipcode={zipcode}/part-0.parquet
//! dataset/listings/epoch={epochId}/_manifest.json
//! dataset/history/zipcode={zipcode}/part-0.parquet
//! ```
//!
//! - [`select`]: which rows, from the results and the winners' files (pure).
//! - [`encode`]: the rows as Parquet, byte-identical for identical rows.
//! - [`manifest`]: row counts and content hashes per partition, the results
//!   hash it was built from, the publisher's signature.
//! - [`history`]: a zipcode's listings across epochs, one row per zpid and
//!   price, first and last seen.
//! - [`stats`]: per epoch, coverage and changes since the epoch before.
//! - [`read`]: the dataset's own files read back.
//!
//! Architecture invariant: no I/O (as resi-core): the caller (the
//! validator's `dataset` module) reads and writes the files, one zipcode at
//! a time, and hands in the results, the winners' decoded files and the
//! dataset's earlier files as bytes.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod encode;
pub mod history;
pub mod manifest;
pub mod read;
pub mod select;
pub mod stats;

pub use history::History;
pub use manifest::{Changes, DatasetManifest, Partition};
pub use read::Sighting;
pub use select::{winners, zipcode_rows, DatasetRow};

/// Where an epoch's files live, relative to the dataset's root.
pub fn partition_key(epoch: &resi_core::EpochId, zipcode: &resi_core::Zipcode) -> String {
    format!("dataset/listings/epoch={epoch}/zipcode={zipcode}/part-0.parquet")
}

/// The epoch's manifest, relative to the dataset's root.
pub fn manifest_key(epoch: &resi_core::EpochId) -> String {
    format!("dataset/listings/epoch={epoch}/_manifest.json")
}

/// Where the epochs' folders are, relative to the dataset's root.
pub const LISTINGS_PREFIX: &str = "dataset/listings/";

/// The epoch a manifest key names (`dataset/listings/epoch=E/_manifest.json`).
pub fn manifest_epoch(key: &str) -> Option<resi_core::EpochId> {
    let rest = key.strip_prefix(LISTINGS_PREFIX)?.strip_prefix("epoch=")?;
    let epoch = rest.strip_suffix("/_manifest.json")?;
    resi_core::EpochId::parse(epoch).ok()
}
