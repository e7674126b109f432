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

/// Rows written per batch by [`gzip_bomb`].
const BATCH: usize = 1_000;

/// A GZIP decompression bomb: `rows` listings whose address is `value_len`
/// repeated bytes, honestly declared. About a thousandth of rows × value_len
/// on disk; rows × value_len once decoded.
pub fn gzip_bomb(rows: usize, value_len: usize) -> Result<Vec<u8>, crate::SimError> {
    let err = |e: parquet::errors::ParquetError| e.to_string();
    let props = WriterProperties::builder()
        .set_compression(Compression::GZIP(GzipLevel::try_new(9).map_err(err)?))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    let big = ByteArray::from(Bytes::from(vec![b'A'; value_len]));
    Ok(write_listings(props, rows, BATCH, |_| big.clone())?)
}

/// Writes `rows` plain listings with `props`, `batch` rows at a time (the
/// writer holds one batch of values and the compressed pages, never the
/// decoded file), each row's address made by `address`.
fn write_listings(
    props: WriterProperties,
    rows: usize,
    batch: usize,
    mut address: impl FnMut(usize) -> ByteArray,
) -> Result<Vec<u8>, String> {
    let err = |e: parquet::errors::ParquetError| e.to_string();
    let schema = Arc::new(parse_message_type(SCHEMA).map_err(err)?);
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, Arc::new(props)).map_err(err)?;
    let mut group = writer.next_row_group().map_err(err)?;
    let text = |s: &'static str| ByteArray::from(Bytes::from_static(s.as_bytes()));
    let mut column = 0;
    while let Some(mut col) = group.next_column().map_err(err)? {
        for start in (0..rows).step_by(batch.max(1)) {
            let n = batch.max(1).min(rows - start);
            match column {
                0 => {
                    let zpids: Vec<ByteArray> = (start..start + n)
                        .map(|i| ByteArray::from(Bytes::from((10_000_000 + i).to_string())))
                        .collect();
                    col.typed::<ByteArrayType>().write_batch(&zpids, None, None)
                }
                ADDRESS_LEAF => {
                    let addresses: Vec<ByteArray> = (start..start + n).map(&mut address).collect();
                    col.typed::<ByteArrayType>().write_batch(&addresses, None, None)
                }
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

/// Which decoder a [`codec_bomb`] aims at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bomb {
    /// A legacy-LZ4 column whose page is an LZ4 *frame*: the reader's Hadoop
    /// attempt fails and its fallback, the frame decoder, inflates it whole.
    Lz4Frame,
    /// A ZSTD page whose stream inflates far beyond the page's declared size.
    Zstd,
    /// A SNAPPY page whose stream's length prefix claims far more than the
    /// page declares.
    Snappy,
}

/// A listings file of `rows` rows whose address column is one page, its
/// body replaced by a stream that inflates to about `inflated` bytes while
/// the page header still declares its honest (small) size. The rest of the
/// file is valid, so only a per-page bound stands between a reader and
/// `inflated` bytes of memory.
pub fn codec_bomb(kind: Bomb, rows: usize, inflated: u64) -> Result<Vec<u8>, crate::SimError> {
    let err = |e: parquet::errors::ParquetError| e.to_string();
    let codec = match kind {
        Bomb::Lz4Frame => Compression::LZ4,
        Bomb::Zstd => Compression::ZSTD(parquet::basic::ZstdLevel::default()),
        Bomb::Snappy => Compression::SNAPPY,
    };
    let file = address_page_file(codec, rows)?;
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::from(file.clone()))
        .map_err(err)?;
    let bodies = resi_core::pages::page_bodies(&file, &metadata, ADDRESS_LEAF).map_err(|e| e.to_string())?;
    let [body] = bodies.as_slice() else {
        return Err(format!("the address column has {} pages, not one", bodies.len()).into());
    };
    let stream = match kind {
        Bomb::Lz4Frame => lz4_frame_of_zeros(inflated)?,
        Bomb::Zstd => zstd_of_zeros(inflated)?,
        Bomb::Snappy => {
            // The length prefix alone: the reader sizes its buffer from it.
            let mut prefix = Vec::new();
            let mut n = inflated;
            while n >= 0x80 {
                prefix.push((n as u8) | 0x80);
                n >>= 7;
            }
            prefix.push(n as u8);
            prefix
        }
    };
    let padded = pad_with_skippable_frame(stream, body.len())?;
    let mut out = file;
    out[body.clone()].copy_from_slice(&padded);
    Ok(out)
}

/// The address column's leaf index in [`SCHEMA`].
const ADDRESS_LEAF: usize = 2;

/// A valid file whose address column is one page of incompressible bytes
/// (so its body is about `rows` × 1 KB whatever the codec).
fn address_page_file(codec: Compression, rows: usize) -> Result<Vec<u8>, String> {
    let props = WriterProperties::builder()
        .set_compression(codec)
        .set_dictionary_enabled(false)
        .set_data_page_size_limit(1 << 30)
        .set_write_batch_size(rows.max(1))
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    // splitmix64: bytes no codec can shrink, the same on every run.
    let mut state: u64 = 46;
    let noise = move |_| {
        let mut bytes = Vec::with_capacity(1_024);
        while bytes.len() < 1_024 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        ByteArray::from(Bytes::from(bytes))
    };
    // One batch: the address column is one page.
    write_listings(props, rows, rows, noise)
}

/// Streams `n` zero bytes through `write` a megabyte at a time.
fn zeros(n: u64, mut write: impl FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
    let chunk = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let take = left.min(chunk.len() as u64) as usize;
        write(&chunk[..take])?;
        left -= take as u64;
    }
    Ok(())
}

fn lz4_frame_of_zeros(n: u64) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let info = lz4_flex::frame::FrameInfo::new().block_size(lz4_flex::frame::BlockSize::Max4MB);
    let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    zeros(n, |chunk| encoder.write_all(chunk)).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

fn zstd_of_zeros(n: u64) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).map_err(|e| e.to_string())?;
    zeros(n, |chunk| encoder.write_all(chunk)).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

/// `stream` followed by a skippable frame (the one padding both LZ4 frame
/// and ZSTD decoders step over) to exactly `len` bytes.
fn pad_with_skippable_frame(mut stream: Vec<u8>, len: usize) -> Result<Vec<u8>, String> {
    let room = len
        .checked_sub(stream.len() + 8)
        .ok_or_else(|| format!("a {} byte stream does not fit a {len} byte page", stream.len()))?;
    stream.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
    stream.extend_from_slice(&(room as u32).to_le_bytes());
    stream.resize(len, 0);
    Ok(stream)
}
