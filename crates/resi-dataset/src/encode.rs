//! Dataset rows as Parquet: the listing schema v1 columns but `zipcode`
//! (the partition says it), then the provenance columns. Identical rows
//! give identical bytes.

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use resi_core::schema::{arrow_schema, col, listing_arrays, write_parquet, EncodeError, UNIQUE_PER_ROW};
use resi_core::Listing;

use crate::select::DatasetRow;

/// The miner whose submission a row is from (SS58).
pub const MINER_HOTKEY: &str = "miner_hotkey";
/// That submission's rank in the zipcode, 1 to 3.
pub const RANK: &str = "rank";
/// The row's tier-3 verdict when it was a spot-checked sample, else null.
pub const SAMPLE_VERDICT: &str = "sample_verdict";

/// The dataset's Arrow schema: schema v1 without `zipcode`, then provenance.
pub fn dataset_schema() -> Schema {
    let mut fields: Vec<Field> = arrow_schema()
        .fields()
        .iter()
        .filter(|f| f.name() != col::ZIPCODE)
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(MINER_HOTKEY, DataType::Utf8, false));
    fields.push(Field::new(RANK, DataType::Int32, false));
    fields.push(Field::new(SAMPLE_VERDICT, DataType::Utf8, true));
    Schema::new(fields)
}

/// One zipcode's rows (as [`crate::zipcode_rows`] orders them) as a Parquet file.
pub fn encode_rows(rows: &[DatasetRow]) -> Result<Vec<u8>, EncodeError> {
    let listings: Vec<&Listing> = rows.iter().map(|r| &r.listing).collect();
    let base = arrow_schema();
    let mut arrays: Vec<ArrayRef> = listing_arrays(&listings)
        .into_iter()
        .zip(base.fields().iter())
        .filter(|(_, f)| f.name() != col::ZIPCODE)
        .map(|(a, _)| a)
        .collect();
    let mut miner = StringBuilder::with_capacity(rows.len(), rows.len() * 48);
    let mut rank = Int32Builder::with_capacity(rows.len());
    let mut verdict = StringBuilder::with_capacity(rows.len(), rows.len());
    for r in rows {
        miner.append_value(r.miner.as_str());
        rank.append_value(i32::from(r.rank));
        verdict.append_option(r.sample_verdict);
    }
    arrays.push(Arc::new(miner.finish()));
    arrays.push(Arc::new(rank.finish()));
    arrays.push(Arc::new(verdict.finish()));
    let schema = Arc::new(dataset_schema());
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| EncodeError::new(e.to_string()))?;
    write_parquet(schema, &batch, &UNIQUE_PER_ROW)
}
