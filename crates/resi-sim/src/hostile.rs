//! Hostile listing files: valid Parquet built to exhaust a reader's memory or
//! CPU. Tests and the fuzz corpus use them to show that validators refuse
//! them cheaply; nothing here is a protocol rule.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel};
use parquet::file::properties::WriterProperties;

/// How the big column is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bomb {
    /// Every row's address is `value_len` repeated bytes, GZIP-compressed at
    /// the highest level: a few hundred KB that decode to rows × value_len.
    Gzip,
    /// One `value_len`-byte address shared by every row through a dictionary:
    /// tiny pages, but a reader that materializes strings copies it per row.
    Dictionary,
}

/// A schema-v1 file of `rows` listings whose address column is the bomb.
pub fn listings_bomb(kind: Bomb, rows: usize, value_len: usize) -> Result<Vec<u8>, String> {
    let schema = Arc::new(resi_core::schema::arrow_schema());
    let big = "A".repeat(value_len);
    let mut zpid = StringBuilder::new();
    let text = |value: Option<&str>| {
        let mut b = StringBuilder::new();
        for _ in 0..rows {
            b.append_option(value);
        }
        Arc::new(b.finish()) as ArrayRef
    };
    for row in 0..rows {
        zpid.append_value(format!("{}", 10_000_000 + row));
    }
    let mut price = Int64Builder::new();
    let int32 = || {
        let mut b = Int32Builder::new();
        for _ in 0..rows {
            b.append_value(3);
        }
        Arc::new(b.finish()) as ArrayRef
    };
    for _ in 0..rows {
        price.append_value(300_000);
    }
    let mut bathrooms = Float64Builder::new();
    let mut scraped = TimestampMillisecondBuilder::new().with_timezone("UTC");
    for _ in 0..rows {
        bathrooms.append_value(2.0);
        scraped.append_value(1_700_000_000_000);
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(zpid.finish()),
        text(None),
        text(Some(&big)),
        text(Some("77429")),
        Arc::new(price.finish()),
        int32(),
        Arc::new(bathrooms.finish()),
        int32(),
        text(Some("2023-11-01")),
        text(Some("SINGLE_FAMILY")),
        text(Some("FOR_SALE")),
        int32(),
        text(None),
        Arc::new(scraped.finish()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())?;
    let props = match kind {
        Bomb::Gzip => WriterProperties::builder()
            .set_compression(Compression::GZIP(GzipLevel::try_new(9).map_err(|e| e.to_string())?))
            .set_dictionary_enabled(false),
        Bomb::Dictionary => WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(true),
    }
    .set_max_row_group_row_count(Some(rows.max(1)))
    .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}
