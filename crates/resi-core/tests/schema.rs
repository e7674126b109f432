//! Listing schema v1: round trips, and a typed error naming column and row for every bad file.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use common::*;
use parquet::arrow::ArrowWriter;
use resi_core::schema::{arrow_schema, decode_listings, encode_listings, DecodeLimits, SchemaError};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// A schema-v1 file with one column replaced (or dropped when `replacement` is None).
fn file_with(column: &str, replacement: Option<(DataType, ArrayRef)>) -> Bytes {
    rewrite(&encode_listings(&listings(3)).unwrap(), column, replacement)
}

/// `bytes` with one column replaced, or dropped when `replacement` is None.
fn rewrite(bytes: &[u8], column: &str, replacement: Option<(DataType, ArrayRef)>) -> Bytes {
    let decoded = resi_core::schema::decode_raw(Bytes::copy_from_slice(bytes)).unwrap();
    let batch = &decoded[0];
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.name() == column {
            if let Some((dt, replacement)) = &replacement {
                fields.push(Field::new(column, dt.clone(), true));
                arrays.push(replacement.clone());
            }
        } else {
            fields.push(field.as_ref().clone());
            arrays.push(array.clone());
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    Bytes::from(out)
}

#[test]
fn round_trips_every_field_including_nulls() {
    let mut rows = listings(5);
    rows[1].mls_id = None;
    rows[2].bathrooms = None;
    rows[3].property_type = None;
    rows[4].scraped_timestamp_ms = None;
    let bytes = encode_listings(&rows).unwrap();
    let decoded = decode_listings(Bytes::from(bytes), &limits()).unwrap();
    assert_eq!(decoded.to_listings(), rows);
}

#[test]
fn writes_plain_types() {
    let schema = arrow_schema();
    let types: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        types.join(","),
        "zpid:Utf8,mls_id:Utf8,address:Utf8,zipcode:Utf8,price:Int64,bedrooms:Int32,bathrooms:Float64,sqft:Int32,\
listing_date:Utf8,property_type:Utf8,listing_status:Utf8,days_on_market:Int32,source_url:Utf8,\
scraped_timestamp:Timestamp(ms, \"UTC\")"
    );
}

#[test]
fn wrong_type_names_the_column() {
    let bytes = file_with(
        "address",
        Some((DataType::Int64, Arc::new(Int64Array::from(vec![1, 2, 3])))),
    );
    let err = decode_listings(bytes, &limits()).unwrap_err();
    assert_eq!(
        err,
        SchemaError::WrongType {
            column: "address",
            expected: "string",
            found: "int64".into()
        }
    );
    assert_eq!(err.to_string(), "column address: expected string, found int64");
}

/// The original miners wrote `scraped_timestamp` as `datetime.isoformat()`
/// strings; they read as UTC milliseconds, with or without a zone. A string
/// that is no timestamp is refused with its row.
#[test]
fn iso_8601_timestamp_strings_are_read() {
    let texts = vec![
        "2025-10-01T12:00:00.123456",
        "2025-10-01 12:00:00Z",
        "2025-10-01T14:00:00.5+02:00",
    ];
    let bytes = file_with(
        "scraped_timestamp",
        Some((
            DataType::LargeUtf8,
            Arc::new(arrow_array::LargeStringArray::from(texts)),
        )),
    );
    let listings = decode_listings(bytes, &limits()).unwrap();
    let at = 1_759_320_000_000i64; // 2025-10-01T12:00:00Z
    let stamps: Vec<Option<i64>> = listings.scraped_timestamp.iter().collect();
    assert_eq!(stamps, [Some(at + 123), Some(at), Some(at + 500)]);

    let bad = file_with(
        "scraped_timestamp",
        Some((
            DataType::Utf8,
            Arc::new(StringArray::from(vec![
                "2025-10-01T12:00:00",
                "yesterday",
                "2025-10-01T12:00:00",
            ])),
        )),
    );
    let err = decode_listings(bad, &limits()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column scraped_timestamp: expected an ISO-8601 timestamp, found \"yesterday\" at row 1"
    );
}

/// What pandas and pyarrow write by default: int64 and float64 with NaN for
/// integers, µs/ns timestamps without a time zone, an all-null column typed
/// null, dictionary-encoded and large strings. Read as the canonical file.
#[test]
fn pandas_default_types_are_normalized() {
    use arrow_array::types::Int32Type;
    use arrow_array::{
        DictionaryArray, Float32Array, Float64Array, LargeStringArray, NullArray, TimestampMicrosecondArray,
        TimestampNanosecondArray, UInt16Array,
    };
    use arrow_schema::TimeUnit;
    let rows = listings(3);
    let canonical = decode_listings(Bytes::from(encode_listings(&rows).unwrap()), &limits())
        .unwrap()
        .to_listings();
    let ms: Vec<i64> = rows.iter().map(|r| r.scraped_timestamp_ms.unwrap()).collect();
    let replacements: Vec<(&str, DataType, ArrayRef)> = vec![
        (
            "bedrooms",
            DataType::Int64,
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.bedrooms.map(i64::from)).collect::<Vec<_>>(),
            )),
        ),
        (
            "sqft",
            DataType::Float64,
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.sqft.map(f64::from)).collect::<Vec<_>>(),
            )),
        ),
        (
            "days_on_market",
            DataType::UInt16,
            Arc::new(UInt16Array::from(
                rows.iter()
                    .map(|r| r.days_on_market.map(|d| d as u16))
                    .collect::<Vec<_>>(),
            )),
        ),
        (
            "bathrooms",
            DataType::Float32,
            Arc::new(Float32Array::from(
                rows.iter().map(|r| r.bathrooms.map(|b| b as f32)).collect::<Vec<_>>(),
            )),
        ),
        ("mls_id", DataType::Null, Arc::new(NullArray::new(3))),
        (
            "address",
            DataType::LargeUtf8,
            Arc::new(LargeStringArray::from(
                rows.iter().map(|r| r.address.clone()).collect::<Vec<_>>(),
            )),
        ),
        (
            "property_type",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Arc::new(
                rows.iter()
                    .map(|r| r.property_type.map(|p| p.as_str()))
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
        (
            "scraped_timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            Arc::new(TimestampMicrosecondArray::from(
                ms.iter().map(|m| m * 1_000).collect::<Vec<_>>(),
            )),
        ),
    ];
    let mut bytes = encode_listings(&rows).unwrap();
    for (column, dt, array) in replacements {
        bytes = replace_in(&bytes, column, dt, array).to_vec();
    }
    let mut read = decode_listings(Bytes::from(bytes), &limits()).unwrap().to_listings();
    // The all-null mls_id reads as absent; everything else is unchanged.
    for (r, c) in read.iter_mut().zip(&canonical) {
        assert_eq!(r.mls_id, None);
        r.mls_id = c.mls_id.clone();
    }
    assert_eq!(read, canonical);

    // Nanoseconds with a UTC zone too.
    let ns = replace_in(
        &encode_listings(&rows).unwrap(),
        "scraped_timestamp",
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        Arc::new(
            TimestampNanosecondArray::from(ms.iter().map(|m| m * 1_000_000).collect::<Vec<_>>()).with_timezone("UTC"),
        ),
    );
    assert_eq!(decode_listings(ns, &limits()).unwrap().to_listings(), canonical);

    // What does not fit is refused with the column and the row.
    let fractional = replace_in(
        &encode_listings(&rows).unwrap(),
        "bedrooms",
        DataType::Float64,
        Arc::new(Float64Array::from(vec![Some(2.0), Some(2.5), None])),
    );
    let err = decode_listings(fractional, &limits()).unwrap_err().to_string();
    assert!(err.contains("bedrooms") && err.contains("2.5 at row 1"), "{err}");
    let too_big = replace_in(
        &encode_listings(&rows).unwrap(),
        "sqft",
        DataType::Int64,
        Arc::new(Int64Array::from(vec![1, 5_000_000_000, 3])),
    );
    let err = decode_listings(too_big, &limits()).unwrap_err().to_string();
    assert!(err.contains("sqft") && err.contains("row 1"), "{err}");
    let zoned = replace_in(
        &encode_listings(&rows).unwrap(),
        "scraped_timestamp",
        DataType::Timestamp(TimeUnit::Millisecond, Some("America/Chicago".into())),
        Arc::new(arrow_array::TimestampMillisecondArray::from(ms.clone()).with_timezone("America/Chicago")),
    );
    assert!(decode_listings(zoned, &limits()).is_err(), "a non-UTC zone is refused");
}

/// `bytes` with one column replaced.
fn replace_in(bytes: &[u8], column: &str, dt: DataType, replacement: ArrayRef) -> Bytes {
    rewrite(bytes, column, Some((dt, replacement)))
}

#[test]
fn missing_column_is_named() {
    let err = decode_listings(file_with("sqft", None), &limits()).unwrap_err();
    assert_eq!(err, SchemaError::MissingColumn("sqft"));
}

#[test]
fn unknown_enum_value_names_column_and_row() {
    let values = StringArray::from(vec!["CONDO", "CASTLE", "LOT"]);
    let err = decode_listings(
        file_with("property_type", Some((DataType::Utf8, Arc::new(values)))),
        &limits(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "column property_type row 1: unknown value \"CASTLE\"");
}

#[test]
fn null_zpid_names_the_row() {
    let values = StringArray::from(vec![Some("1"), Some("2"), None]);
    let err = decode_listings(file_with("zpid", Some((DataType::Utf8, Arc::new(values)))), &limits()).unwrap_err();
    assert_eq!(err, SchemaError::MissingRequired { column: "zpid", row: 2 });
}

#[test]
fn extra_columns_and_large_strings_are_accepted() {
    let good = encode_listings(&listings(3)).unwrap();
    let decoded = resi_core::schema::decode_raw(Bytes::from(good)).unwrap();
    let batch = &decoded[0];
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    fields.push(Field::new("garage", DataType::Int32, true));
    arrays.push(Arc::new(Int32Array::from(vec![1, 0, 2])));
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), None).unwrap();
    writer.write(&RecordBatch::try_new(schema, arrays).unwrap()).unwrap();
    writer.close().unwrap();
    let decoded = decode_listings(Bytes::from(out), &limits()).unwrap();
    assert_eq!(decoded.to_listings(), listings(3));
}

#[test]
fn not_parquet_too_large_and_too_many_rows() {
    assert!(matches!(
        decode_listings(Bytes::from_static(b"zpid,price\n1,2\n"), &limits()),
        Err(SchemaError::NotParquet(_))
    ));
    let mut truncated = encode_listings(&listings(3)).unwrap();
    truncated.truncate(truncated.len() - 20);
    assert!(decode_listings(Bytes::from(truncated), &limits()).is_err());
    let bytes = Bytes::from(encode_listings(&listings(10)).unwrap());
    let small = DecodeLimits {
        max_file_bytes: 100,
        max_rows: 1_000,
        ..limits()
    };
    assert!(matches!(
        decode_listings(bytes.clone(), &small),
        Err(SchemaError::TooLarge { max: 100, .. })
    ));
    let few = DecodeLimits {
        max_file_bytes: 1 << 20,
        max_rows: 5,
        ..limits()
    };
    assert_eq!(
        decode_listings(bytes, &few).unwrap_err(),
        SchemaError::TooManyRows { rows: 10, max: 5 }
    );
}

#[test]
fn empty_file_decodes_to_no_rows() {
    let bytes = encode_listings(&[]).unwrap();
    let decoded = decode_listings(Bytes::from(bytes), &limits()).unwrap();
    assert!(decoded.is_empty());
}

#[test]
fn reads_every_common_compression() {
    use parquet::basic::{Compression, GzipLevel, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let good = encode_listings(&listings(20)).unwrap();
    let batch = resi_core::schema::decode_raw(Bytes::from(good)).unwrap().remove(0);
    for compression in [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::LZ4_RAW,
        Compression::ZSTD(ZstdLevel::default()),
    ] {
        let props = WriterProperties::builder().set_compression(compression).build();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let decoded = decode_listings(Bytes::from(out), &limits()).unwrap_or_else(|e| panic!("{compression:?}: {e}"));
        assert_eq!(decoded.to_listings(), listings(20), "{compression:?}");
    }
}

/// The declared decoded size of the pages is checked before anything is
/// decompressed: exactly at the limit passes, one byte under it is refused.
#[test]
fn decoded_size_limit_is_checked_before_decompressing() {
    let bytes = Bytes::from(encode_listings(&listings(200)).unwrap());
    // Find the file's declared total by probing down from a generous limit.
    let at = |max: u64| DecodeLimits {
        max_decoded_bytes: max,
        ..limits()
    };
    let declared = match decode_listings(bytes.clone(), &at(1)) {
        Err(SchemaError::Pages(resi_core::pages::PageError::TooLarge { declared, .. })) => declared,
        other => panic!("expected a decoded-size refusal, got {other:?}"),
    };
    let mut total = declared;
    // The first refusal names the running total where it crossed; walk up to the whole.
    while let Err(SchemaError::Pages(resi_core::pages::PageError::TooLarge { declared, .. })) =
        decode_listings(bytes.clone(), &at(total))
    {
        total = declared;
    }
    assert!(decode_listings(bytes.clone(), &at(total)).is_ok());
    assert!(matches!(
        decode_listings(bytes, &at(total - 1)),
        Err(SchemaError::Pages(resi_core::pages::PageError::TooLarge { .. }))
    ));
}

#[test]
fn strings_over_the_cap_are_refused_with_column_and_row() {
    let mut rows = listings(5);
    rows[3].address = Some("A".repeat(2_049));
    let bytes = Bytes::from(encode_listings(&rows).unwrap());
    assert_eq!(
        decode_listings(bytes.clone(), &limits()).unwrap_err(),
        SchemaError::StringTooLong {
            column: "address",
            row: 3,
            len: 2_049,
            max: 2_048
        }
    );
    rows[3].address = Some("A".repeat(2_048));
    assert!(decode_listings(Bytes::from(encode_listings(&rows).unwrap()), &limits()).is_ok());
}
