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
//! ```
//!
//! - [`select`]: which rows, from the results and the winners' files (pure).
//! - [`encode`]: the rows as Parquet, byte-identical for identical rows.
//! - [`manifest`]: row counts and content hashes per partition, the results
//!   hash it was built from, the publisher's signature.
//! - [`stats`]: per epoch, coverage and changes since the epoch before.
//! - [`sink`]: a folder the files go to, each written whole (temporary
//!   name, then rename) and the manifest last, so a reader never sees half
//!   a partition and a rerun finishes what a killed publish began.
//!
//! Architecture invariant: no network; the caller hands in the results and
//! the winners' decoded files, one zipcode at a time.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod encode;
pub mod manifest;
pub mod select;
pub mod sink;
pub mod stats;

pub use manifest::{DatasetManifest, Partition};
pub use select::{winners, zipcode_rows, DatasetRow};

/// Where an epoch's files live, relative to the dataset's root.
pub fn partition_key(epoch: &resi_core::EpochId, zipcode: &resi_core::Zipcode) -> String {
    format!("dataset/listings/epoch={epoch}/zipcode={zipcode}/part-0.parquet")
}

/// The epoch's manifest, relative to the dataset's root.
pub fn manifest_key(epoch: &resi_core::EpochId) -> String {
    format!("dataset/listings/epoch={epoch}/_manifest.json")
}
