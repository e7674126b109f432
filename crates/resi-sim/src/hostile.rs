//! Hostile listing files: valid Parquet built to exhaust a reader's memory.
//! Tests and benchmarks use them to show that validators refuse them
//! cheaply; nothing here is a protocol rule.

use std::sync::Arc;

use bytes::Bytes;
use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// Schema v1 as plain Parquet types (no embedded Arrow schema).
const SCHEMA: &str = "message listings {
  REQUIRED BYTE_ARRAY zpid (STRING);
  REQUIRED BYTE_ARRAY mls_id (STRING);
  REQUIRED BYTE_ARRAY address (STRING);
  REQUIRED BYTE_ARRAY zipcode (STRING);
  REQUIRED INT64 price;
  REQUIRED INT32 bedrooms;
  REQUIRED DOUBLE bathrooms;
  REQUIRED INT32 sqft;
  REQUIRED BYTE_ARRAY listing_date (STRING);
  REQUIRED BYTE_ARRAY property_type (STRING);
  REQUIRED BYTE_ARRAY listing_status (STRING);
  REQUIRED INT32 days_on_market;
  REQUIRED BYTE_ARRAY source_url (STRING);
  REQUIRED INT64 scraped_timestamp (TIMESTAMP(MILLIS,true));
}";

/// Rows written per batch: the builder holds one batch of values (shared
/// buffers) and the compressed pages, never the decoded file.
const BATCH: usize = 1_000;

/// A GZIP decompression bomb: `rows` listings whose address is `value_len`
/// repeated bytes, honestly declared. About a thousandth of rows × value_len
/// on disk; rows × value_len once decoded.
pub fn gzip_bomb(rows: usize, value_len: usize) -> Result<Vec<u8>, String> {
    let err = |e: parquet::errors::ParquetError| e.to_string();
    let schema = Arc::new(parse_message_type(SCHEMA).map_err(err)?);
    let props = WriterProperties::builder()
        .set_compression(Compression::GZIP(GzipLevel::try_new(9).map_err(err)?))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, Arc::new(props)).map_err(err)?;
    let mut group = writer.next_row_group().map_err(err)?;
    let big = ByteArray::from(Bytes::from(vec![b'A'; value_len]));
    let text = |s: &'static str| ByteArray::from(Bytes::from_static(s.as_bytes()));
    let mut column = 0;
    while let Some(mut col) = group.next_column().map_err(err)? {
        for start in (0..rows).step_by(BATCH) {
            let n = BATCH.min(rows - start);
            match column {
                0 => {
                    let zpids: Vec<ByteArray> = (start..start + n)
                        .map(|i| ByteArray::from(Bytes::from((10_000_000 + i).to_string())))
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(&zpids, None, None)
                }
                2 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&vec![big.clone(); n], None, None),
                1 | 3 | 8 | 9 | 10 | 12 => {
                    let value = match column {
                        3 => text("77429"),
                        8 => text("2023-11-01"),
                        9 => text("SINGLE_FAMILY"),
                        10 => text("FOR_SALE"),
                        _ => text("x"),
                    };
                    col.typed::<ByteArrayType>().write_batch(&vec![value; n], None, None)
                }
                4 => col.typed::<Int64Type>().write_batch(&vec![300_000; n], None, None),
                13 => col
                    .typed::<Int64Type>()
                    .write_batch(&vec![1_700_000_000_000; n], None, None),
                6 => col.typed::<DoubleType>().write_batch(&vec![2.0; n], None, None),
                _ => col.typed::<Int32Type>().write_batch(&vec![3; n], None, None),
            }
            .map_err(err)?;
        }
        col.close().map_err(err)?;
        column += 1;
    }
    group.close().map_err(err)?;
    writer.close().map_err(err)?;
    Ok(out)
}
