//! The listing Parquet schema, version 1 (PROTOCOL.md §3): strict reading and plain writing.
//!
//! Reading checks the file before trusting it: size cap, Parquet magic, every
//! required column present with its type (or one the liberal reader
//! normalizes to it: pandas' and pyarrow's defaults, see [`liberal`]),
//! no null `zpid`, every enum value known. Errors name the column and, where it applies, the row. Extra columns
//! are allowed and not read (forward compatibility).
//!
//! Writing uses only plain types (utf8, int32, int64, float64, timestamp[ms, UTC])
//! and Snappy compression, which pyarrow, pandas and duckdb all read.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, LargeStringArray, PrimitiveArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

mod error;
pub mod liberal;

pub use error::SchemaError;

use crate::listing::{Listing, ListingStatus, PropertyType};
use liberal::Target;

/// The schema version this module reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Column names of schema v1, in file order.
pub mod col {
    pub const ZPID: &str = "zpid";
    pub const MLS_ID: &str = "mls_id";
    pub const ADDRESS: &str = "address";
    pub const ZIPCODE: &str = "zipcode";
    pub const PRICE: &str = "price";
    pub const BEDROOMS: &str = "bedrooms";
    pub const BATHROOMS: &str = "bathrooms";
    pub const SQFT: &str = "sqft";
    pub const LISTING_DATE: &str = "listing_date";
    pub const PROPERTY_TYPE: &str = "property_type";
    pub const LISTING_STATUS: &str = "listing_status";
    pub const DAYS_ON_MARKET: &str = "days_on_market";
    pub const SOURCE_URL: &str = "source_url";
    pub const SCRAPED_TIMESTAMP: &str = "scraped_timestamp";
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Utf8,
    Int32,
    Int64,
    Float64,
    TimestampMs,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Utf8 => "string",
            Kind::Int32 => "int32",
            Kind::Int64 => "int64",
            Kind::Float64 => "double",
            Kind::TimestampMs => "timestamp[ms, tz=UTC] (or an ISO-8601 string)",
        }
    }

    fn target(self) -> Target {
        match self {
            Kind::Utf8 => Target::Utf8,
            Kind::Int32 => Target::Int32,
            Kind::Int64 => Target::Int64,
            Kind::Float64 => Target::Float64,
            Kind::TimestampMs => Target::TimestampMs,
        }
    }

    /// The canonical type, or one the liberal reader normalizes to it
    /// (`liberal`: what pandas and pyarrow write by default).
    fn accepts(self, dt: &DataType) -> bool {
        self.target().accepts(dt)
    }
}

const COLUMNS: [(&str, Kind); 14] = [
    (col::ZPID, Kind::Utf8),
    (col::MLS_ID, Kind::Utf8),
    (col::ADDRESS, Kind::Utf8),
    (col::ZIPCODE, Kind::Utf8),
    (col::PRICE, Kind::Int64),
    (col::BEDROOMS, Kind::Int32),
    (col::BATHROOMS, Kind::Float64),
    (col::SQFT, Kind::Int32),
    (col::LISTING_DATE, Kind::Utf8),
    (col::PROPERTY_TYPE, Kind::Utf8),
    (col::LISTING_STATUS, Kind::Utf8),
    (col::DAYS_ON_MARKET, Kind::Int32),
    (col::SOURCE_URL, Kind::Utf8),
    (col::SCRAPED_TIMESTAMP, Kind::TimestampMs),
];

/// Limits applied before a file is decoded (see [`crate::pages`]): the
/// memory one decode may take is about `max_file_bytes + max_decoded_bytes +
/// 16 × max_rows × 14` bytes, whatever the file declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_file_bytes: u64,
    pub max_rows: u64,
    /// The declared decoded size of every page read, added up.
    pub max_decoded_bytes: u64,
    /// Longest string value in any column.
    pub max_string_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_rows: 200_000,
            max_decoded_bytes: 128 * 1024 * 1024,
            max_string_bytes: 2_048,
        }
    }
}

/// A utf8 column in whichever of Arrow's three string layouts the file used.
#[derive(Clone, Debug)]
pub enum StrColumn {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl StrColumn {
    fn from_array(array: &ArrayRef) -> Option<Self> {
        match array.data_type() {
            DataType::Utf8 => Some(Self::Utf8(array.as_string::<i32>().clone())),
            DataType::LargeUtf8 => Some(Self::Large(array.as_string::<i64>().clone())),
            DataType::Utf8View => Some(Self::View(array.as_string_view().clone())),
            _ => None,
        }
    }

    /// The first row whose value is longer than `max` bytes, with its length.
    fn first_longer_than(&self, max: u64) -> Option<(usize, u64)> {
        let lengths: Box<dyn Iterator<Item = u64>> = match self {
            Self::Utf8(a) => Box::new(a.offsets().windows(2).map(|w| (w[1] - w[0]) as u64)),
            Self::Large(a) => Box::new(a.offsets().windows(2).map(|w| (w[1] - w[0]) as u64)),
            // A view's low 32 bits are the value's length.
            Self::View(a) => Box::new(a.views().iter().map(|v| u64::from(*v as u32))),
        };
        lengths.enumerate().find(|(_, len)| *len > max)
    }

    /// The value at `row`, `None` when null.
    #[inline]
    pub fn get(&self, row: usize) -> Option<&str> {
        match self {
            Self::Utf8(a) => (!a.is_null(row)).then(|| a.value(row)),
            Self::Large(a) => (!a.is_null(row)).then(|| a.value(row)),
            Self::View(a) => (!a.is_null(row)).then(|| a.value(row)),
        }
    }
}

#[inline]
fn prim<T: arrow_array::ArrowPrimitiveType>(a: &PrimitiveArray<T>, row: usize) -> Option<T::Native> {
    (!a.is_null(row)).then(|| a.value(row))
}

/// A decoded, schema-checked submission, column by column. Rows are read
/// without copying; [`ListingColumns::listing`] materializes one when needed.
#[derive(Clone, Debug)]
pub struct ListingColumns {
    rows: usize,
    pub zpid: StrColumn,
    pub mls_id: StrColumn,
    pub address: StrColumn,
    pub zipcode: StrColumn,
    pub price: Int64Array,
    pub bedrooms: Int32Array,
    pub bathrooms: Float64Array,
    pub sqft: Int32Array,
    pub listing_date: StrColumn,
    pub property_type: Vec<Option<PropertyType>>,
    pub listing_status: Vec<Option<ListingStatus>>,
    pub days_on_market: Int32Array,
    pub source_url: StrColumn,
    pub scraped_timestamp: PrimitiveArray<TimestampMillisecondType>,
}

impl ListingColumns {
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The zpid of `row` (never null after decoding).
    #[inline]
    pub fn zpid(&self, row: usize) -> &str {
        self.zpid.get(row).unwrap_or("")
    }

    #[inline]
    pub fn price(&self, row: usize) -> Option<i64> {
        prim(&self.price, row)
    }
    #[inline]
    pub fn bedrooms(&self, row: usize) -> Option<i32> {
        prim(&self.bedrooms, row)
    }
    #[inline]
    pub fn bathrooms(&self, row: usize) -> Option<f64> {
        prim(&self.bathrooms, row)
    }
    #[inline]
    pub fn sqft(&self, row: usize) -> Option<i32> {
        prim(&self.sqft, row)
    }
    #[inline]
    pub fn days_on_market(&self, row: usize) -> Option<i32> {
        prim(&self.days_on_market, row)
    }
    #[inline]
    pub fn scraped_timestamp_ms(&self, row: usize) -> Option<i64> {
        prim(&self.scraped_timestamp, row)
    }

    /// Row `row` as an owned [`Listing`].
    pub fn listing(&self, row: usize) -> Listing {
        let own = |c: &StrColumn| c.get(row).map(str::to_owned);
        Listing {
            zpid: self.zpid(row).to_owned(),
            mls_id: own(&self.mls_id),
            address: own(&self.address),
            zipcode: own(&self.zipcode),
            price: self.price(row),
            bedrooms: self.bedrooms(row),
            bathrooms: self.bathrooms(row),
            sqft: self.sqft(row),
            listing_date: own(&self.listing_date),
            property_type: self.property_type[row],
            listing_status: self.listing_status[row],
            days_on_market: self.days_on_market(row),
            source_url: own(&self.source_url),
            scraped_timestamp_ms: self.scraped_timestamp_ms(row),
        }
    }

    /// Every row as owned listings (tests and tools; validation reads columns).
    pub fn to_listings(&self) -> Vec<Listing> {
        (0..self.rows).map(|r| self.listing(r)).collect()
    }
}

fn parse_enum<T: Copy>(
    column: &'static str,
    values: &StrColumn,
    rows: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<Option<T>>, SchemaError> {
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        match values.get(row) {
            None | Some("") => out.push(None),
            Some(text) => match parse(text) {
                Some(v) => out.push(Some(v)),
                None => {
                    return Err(SchemaError::UnknownEnumValue {
                        column,
                        row,
                        value: text.chars().take(64).collect(),
                    })
                }
            },
        }
    }
    Ok(out)
}

/// Opens a Parquet file for reading with every string column read as
/// `Utf8View`: views into the decoded pages instead of one copy per value,
/// which is most of the decoding work for listing files.
fn open(bytes: Bytes) -> Result<ParquetRecordBatchReaderBuilder<Bytes>, SchemaError> {
    let not_parquet = |e: parquet::errors::ParquetError| SchemaError::NotParquet(e.to_string());
    let plain = ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(not_parquet)?;
    let fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
    let viewed = ArrowReaderMetadata::try_new(plain.metadata().clone(), options).map_err(not_parquet)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, viewed))
}

/// Decodes a Parquet file of listings into Arrow only (no schema v1 checks):
/// the floor every validator pays, used by the benchmark for comparison.
pub fn decode_raw(bytes: Bytes) -> Result<Vec<RecordBatch>, SchemaError> {
    let builder = open(bytes)?;
    let rows = builder.metadata().file_metadata().num_rows().max(1) as usize;
    let reader = builder
        .with_batch_size(rows)
        .build()
        .map_err(|e| SchemaError::Corrupt(e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SchemaError::Corrupt(e.to_string()))
}

/// Decodes and checks a listings file against schema v1.
///
/// Untrusted bytes: the page headers are checked against `limits` before
/// anything is decompressed, and a panic inside the Parquet decoder becomes
/// [`SchemaError::DecoderPanicked`] for this file alone.
pub fn decode_listings(bytes: Bytes, limits: &DecodeLimits) -> Result<ListingColumns, SchemaError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_checked(bytes, limits))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".into());
        Err(SchemaError::DecoderPanicked(message.chars().take(200).collect()))
    })
}

fn decode_checked(bytes: Bytes, limits: &DecodeLimits) -> Result<ListingColumns, SchemaError> {
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(SchemaError::TooLarge {
            size,
            max: limits.max_file_bytes,
        });
    }
    if size < 12 || !bytes.starts_with(b"PAR1") || !bytes.ends_with(b"PAR1") {
        return Err(SchemaError::NotParquet("missing PAR1 magic bytes".into()));
    }
    let builder = open(bytes.clone())?;
    let footer_rows = builder.metadata().file_metadata().num_rows();
    let group_rows = builder
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .try_fold(0i64, |sum, n| if n < 0 { None } else { sum.checked_add(n) });
    let num_rows = match group_rows {
        Some(rows) if rows == footer_rows => rows as u64,
        _ => {
            return Err(SchemaError::Corrupt(format!(
                "the footer's row count {footer_rows} is not the sum of its row groups' counts"
            )))
        }
    };
    if num_rows > limits.max_rows {
        return Err(SchemaError::TooManyRows {
            rows: num_rows,
            max: limits.max_rows,
        });
    }

    // Check types on the Arrow schema before reading a single page.
    let schema = builder.schema().clone();
    let mut roots = Vec::with_capacity(COLUMNS.len());
    for (name, kind) in COLUMNS {
        let (index, field) = schema.column_with_name(name).ok_or(SchemaError::MissingColumn(name))?;
        if !kind.accepts(field.data_type()) {
            return Err(SchemaError::WrongType {
                column: name,
                expected: kind.name(),
                found: liberal::user_type_name(field.data_type()),
            });
        }
        roots.push(index);
    }
    let leaves: Vec<usize> = (0..builder.parquet_schema().num_columns())
        .filter(|leaf| roots.contains(&builder.parquet_schema().get_column_root_idx(*leaf)))
        .collect();
    crate::pages::check_pages(
        &bytes,
        builder.metadata(),
        &leaves,
        limits.max_decoded_bytes,
        limits.max_rows,
    )?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(num_rows.max(1) as usize)
        .build()
        .map_err(|e| SchemaError::Corrupt(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SchemaError::Corrupt(e.to_string()))?;
    let batch = match batches.len() {
        0 => RecordBatch::new_empty(Arc::new(projected_schema(&schema))),
        1 => batches
            .into_iter()
            .next()
            .ok_or_else(|| SchemaError::Corrupt("no batch".into()))?,
        // A batch as large as the footer's row count holds the whole file; more
        // than one means the footer lied.
        _ => return Err(SchemaError::Corrupt("row count differs from the file footer".into())),
    };
    let targets: Vec<(&'static str, Target)> = COLUMNS.iter().map(|(name, kind)| (*name, kind.target())).collect();
    let batch = liberal::normalize(&batch, &targets)?;
    let columns = columns_from_batch(&batch)?;
    for (name, column) in [
        (col::ZPID, &columns.zpid),
        (col::MLS_ID, &columns.mls_id),
        (col::ADDRESS, &columns.address),
        (col::ZIPCODE, &columns.zipcode),
        (col::LISTING_DATE, &columns.listing_date),
        (col::SOURCE_URL, &columns.source_url),
    ] {
        if let Some((row, len)) = column.first_longer_than(limits.max_string_bytes) {
            return Err(SchemaError::StringTooLong {
                column: name,
                row,
                len,
                max: limits.max_string_bytes,
            });
        }
    }
    Ok(columns)
}

fn projected_schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .filter_map(|(name, _)| schema.field_with_name(name).ok().cloned())
        .collect();
    Schema::new(fields)
}

fn column<'a>(batch: &'a RecordBatch, name: &'static str) -> Result<&'a ArrayRef, SchemaError> {
    batch.column_by_name(name).ok_or(SchemaError::MissingColumn(name))
}

fn str_column(batch: &RecordBatch, name: &'static str) -> Result<StrColumn, SchemaError> {
    let array = column(batch, name)?;
    StrColumn::from_array(array).ok_or_else(|| SchemaError::WrongType {
        column: name,
        expected: "string",
        found: liberal::user_type_name(array.data_type()),
    })
}

fn prim_column<T: arrow_array::ArrowPrimitiveType>(
    batch: &RecordBatch,
    name: &'static str,
    expected: &'static str,
) -> Result<PrimitiveArray<T>, SchemaError> {
    let array = column(batch, name)?;
    array
        .as_primitive_opt::<T>()
        .cloned()
        .ok_or_else(|| SchemaError::WrongType {
            column: name,
            expected,
            found: liberal::user_type_name(array.data_type()),
        })
}

fn columns_from_batch(batch: &RecordBatch) -> Result<ListingColumns, SchemaError> {
    let rows = batch.num_rows();
    let zpid = str_column(batch, col::ZPID)?;
    for row in 0..rows {
        if zpid.get(row).is_none_or(str::is_empty) {
            return Err(SchemaError::MissingRequired { column: col::ZPID, row });
        }
    }
    let property_type = parse_enum(
        col::PROPERTY_TYPE,
        &str_column(batch, col::PROPERTY_TYPE)?,
        rows,
        PropertyType::parse,
    )?;
    let listing_status = parse_enum(
        col::LISTING_STATUS,
        &str_column(batch, col::LISTING_STATUS)?,
        rows,
        ListingStatus::parse,
    )?;
    Ok(ListingColumns {
        rows,
        zpid,
        mls_id: str_column(batch, col::MLS_ID)?,
        address: str_column(batch, col::ADDRESS)?,
        zipcode: str_column(batch, col::ZIPCODE)?,
        price: prim_column::<Int64Type>(batch, col::PRICE, "int64")?,
        bedrooms: prim_column::<Int32Type>(batch, col::BEDROOMS, "int32")?,
        bathrooms: prim_column::<Float64Type>(batch, col::BATHROOMS, "double")?,
        sqft: prim_column::<Int32Type>(batch, col::SQFT, "int32")?,
        listing_date: str_column(batch, col::LISTING_DATE)?,
        property_type,
        listing_status,
        days_on_market: prim_column::<Int32Type>(batch, col::DAYS_ON_MARKET, "int32")?,
        source_url: str_column(batch, col::SOURCE_URL)?,
        scraped_timestamp: prim_column::<TimestampMillisecondType>(
            batch,
            col::SCRAPED_TIMESTAMP,
            "timestamp[ms, tz=UTC]",
        )?,
    })
}

/// The Arrow schema resi writes: `zpid` non-null, everything else nullable.
pub fn arrow_schema() -> Schema {
    Schema::new(
        COLUMNS
            .iter()
            .map(|(name, kind)| {
                let dt = match kind {
                    Kind::Utf8 => DataType::Utf8,
                    Kind::Int32 => DataType::Int32,
                    Kind::Int64 => DataType::Int64,
                    Kind::Float64 => DataType::Float64,
                    Kind::TimestampMs => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                };
                Field::new(*name, dt, *name != col::ZPID)
            })
            .collect::<Vec<_>>(),
    )
}

/// Why listings could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing listings to Parquet: {0}")]
pub struct EncodeError(String);

impl EncodeError {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// Encodes listings as a schema-v1 Parquet file (one row group, Snappy).
pub fn encode_listings(listings: &[Listing]) -> Result<Vec<u8>, EncodeError> {
    let rows: Vec<&Listing> = listings.iter().collect();
    let arrays = listing_arrays(&rows);
    let schema = Arc::new(arrow_schema());
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| EncodeError(e.to_string()))?;
    write_parquet(schema, &batch, &UNIQUE_PER_ROW)
}

/// Columns whose values are unique per row: a dictionary gains nothing and
/// costs every reader a gather; the low-cardinality columns keep theirs.
pub const UNIQUE_PER_ROW: [&str; 5] = [
    col::ZPID,
    col::MLS_ID,
    col::ADDRESS,
    col::SOURCE_URL,
    col::SCRAPED_TIMESTAMP,
];

/// One batch as a Parquet file: one row group, Snappy, no dictionary for
/// `unique` columns; the same batch gives the same bytes.
pub fn write_parquet(schema: Arc<Schema>, batch: &RecordBatch, unique: &[&str]) -> Result<Vec<u8>, EncodeError> {
    let n = batch.num_rows();
    let mut props = WriterProperties::builder().set_compression(Compression::SNAPPY);
    for column in unique {
        props = props.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    let props = props.set_max_row_group_row_count(Some(n.max(1))).build();
    let mut out = Vec::with_capacity(n * 64 + 1024);
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(|e| EncodeError(e.to_string()))?;
    writer.write(batch).map_err(|e| EncodeError(e.to_string()))?;
    writer.close().map_err(|e| EncodeError(e.to_string()))?;
    Ok(out)
}

/// The schema-v1 columns of `listings`, in [`arrow_schema`]'s order.
pub fn listing_arrays(listings: &[&Listing]) -> Vec<ArrayRef> {
    let n = listings.len();
    let mut zpid = StringBuilder::with_capacity(n, n * 10);
    let mut mls_id = StringBuilder::with_capacity(n, n * 10);
    let mut address = StringBuilder::with_capacity(n, n * 32);
    let mut zipcode = StringBuilder::with_capacity(n, n * 5);
    let mut price = Int64Builder::with_capacity(n);
    let mut bedrooms = Int32Builder::with_capacity(n);
    let mut bathrooms = Float64Builder::with_capacity(n);
    let mut sqft = Int32Builder::with_capacity(n);
    let mut listing_date = StringBuilder::with_capacity(n, n * 10);
    let mut property_type = StringBuilder::with_capacity(n, n * 12);
    let mut listing_status = StringBuilder::with_capacity(n, n * 8);
    let mut days_on_market = Int32Builder::with_capacity(n);
    let mut source_url = StringBuilder::with_capacity(n, n * 64);
    let mut scraped = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    for l in listings {
        zpid.append_value(&l.zpid);
        mls_id.append_option(l.mls_id.as_deref());
        address.append_option(l.address.as_deref());
        zipcode.append_option(l.zipcode.as_deref());
        price.append_option(l.price);
        bedrooms.append_option(l.bedrooms);
        bathrooms.append_option(l.bathrooms);
        sqft.append_option(l.sqft);
        listing_date.append_option(l.listing_date.as_deref());
        property_type.append_option(l.property_type.map(|p| p.as_str()));
        listing_status.append_option(l.listing_status.map(|s| s.as_str()));
        days_on_market.append_option(l.days_on_market);
        source_url.append_option(l.source_url.as_deref());
        scraped.append_option(l.scraped_timestamp_ms);
    }
    vec![
        Arc::new(zpid.finish()),
        Arc::new(mls_id.finish()),
        Arc::new(address.finish()),
        Arc::new(zipcode.finish()),
        Arc::new(price.finish()),
        Arc::new(bedrooms.finish()),
        Arc::new(bathrooms.finish()),
        Arc::new(sqft.finish()),
        Arc::new(listing_date.finish()),
        Arc::new(property_type.finish()),
        Arc::new(listing_status.finish()),
        Arc::new(days_on_market.finish()),
        Arc::new(source_url.finish()),
        Arc::new(scraped.finish()),
    ]
}
