//! Reading the dataset's own files back: a partition's sightings (what the
//! history and the change counts need) and a history file.

use arrow_array::{Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use resi_core::schema::col;
use resi_core::Listing;

/// One listing as seen in one epoch: the fields the history keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub zpid: String,
    pub price: Option<i64>,
    pub address: Option<String>,
    pub listing_status: Option<String>,
    pub days_on_market: Option<i32>,
    pub scraped_ms: Option<i64>,
}

impl From<&Listing> for Sighting {
    fn from(l: &Listing) -> Self {
        Self {
            zpid: l.zpid.clone(),
            price: l.price,
            address: l.address.clone(),
            listing_status: l.listing_status.map(|s| s.as_str().to_owned()),
            days_on_market: l.days_on_market,
            scraped_ms: l.scraped_timestamp_ms,
        }
    }
}

/// Why a dataset file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// The batches of a Parquet file and its Arrow schema's metadata.
pub(crate) fn batches(
    bytes: Bytes,
) -> Result<(Vec<RecordBatch>, std::collections::HashMap<String, String>), ReadError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| ReadError(e.to_string()))?;
    let metadata = std::collections::HashMap::from(builder.schema().metadata());
    let reader = builder.build().map_err(|e| ReadError(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ReadError(e.to_string()))?;
    Ok((batches, metadata))
}

/// A column of `batch` by name, as the array type `T`.
pub(crate) fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, ReadError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ReadError(format!("no column {name}")))?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| ReadError(format!("column {name} has the wrong type")))
}

pub(crate) fn string(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_owned())
}
pub(crate) fn int64(a: &Int64Array, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}
pub(crate) fn int32(a: &Int32Array, i: usize) -> Option<i32> {
    (!a.is_null(i)).then(|| a.value(i))
}
pub(crate) fn millis(a: &TimestampMillisecondArray, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The sightings of one partition file, in its order (by zpid).
pub fn partition_sightings(bytes: Bytes) -> Result<Vec<Sighting>, ReadError> {
    let (batches, _) = batches(bytes)?;
    let mut out = Vec::new();
    for batch in &batches {
        let zpid = column::<StringArray>(batch, col::ZPID)?;
        let price = column::<Int64Array>(batch, col::PRICE)?;
        let address = column::<StringArray>(batch, col::ADDRESS)?;
        let status = column::<StringArray>(batch, col::LISTING_STATUS)?;
        let dom = column::<Int32Array>(batch, col::DAYS_ON_MARKET)?;
        let scraped = column::<TimestampMillisecondArray>(batch, col::SCRAPED_TIMESTAMP)?;
        for i in 0..batch.num_rows() {
            out.push(Sighting {
                zpid: zpid.value(i).to_owned(),
                price: int64(price, i),
                address: string(address, i),
                listing_status: string(status, i),
                days_on_market: int32(dom, i),
                scraped_ms: millis(scraped, i),
            });
        }
    }
    Ok(out)
}
