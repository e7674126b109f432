//! Walks the page headers of a Parquet file's column chunks before anything is
//! decompressed, so that a small file cannot make a reader allocate gigabytes.
//!
//! The Parquet reader trusts what a file declares: it sizes every page buffer
//! from the page header's `uncompressed_page_size` (up to 2 GiB a page), and
//! its GZIP codec inflates until the stream ends whatever the header says. A
//! 300 KB file can therefore decode to gigabytes. This module reads each page
//! header of the columns that will be decoded (a minimal Thrift compact
//! protocol reader: only the page header is parsed, every other field is
//! skipped with a depth limit) and checks, before the reader runs:
//!
//! - every column chunk lies inside the file, with non-negative offsets;
//! - every page lies inside its chunk, with non-negative sizes;
//! - the declared decoded sizes of all pages add up to at most
//!   `max_decoded_bytes` for the whole file;
//! - no data page declares more values than the file may have rows;
//! - the codec is one resi reads, and no page can make its decoder write more
//!   than the page declares (see below).
//!
//! How each codec the reader accepts is held to the declared size:
//!
//! - UNCOMPRESSED, LZ4_RAW, ZSTD: the reader decompresses into a buffer of the
//!   declared size and fails when the stream would overrun it; nothing to check.
//! - SNAPPY: the same, and a stream whose own length prefix exceeds the declared
//!   size is refused here with a clear reason.
//! - GZIP: the reader inflates until the stream ends, so the page is inflated
//!   here first, counting at most one byte past the declared size and keeping
//!   nothing.
//! - LZ4 (the legacy codec): the reader tries Hadoop framing into a buffer of the
//!   declared size, and when that fails falls back to the LZ4 *frame* decoder,
//!   which inflates everything into memory before any size check (a 9 MB file
//!   reached 2 GB). So a legacy LZ4 page must be well-formed Hadoop framing whose
//!   blocks declare at most the page's size, and must not start like an LZ4 frame;
//!   anything else is refused here, before the reader could fall back.
//! - BROTLI, LZO: refused (not compiled into the reader).
//!
//! With these checks, decoding a file costs at most about the file, the
//! declared decoded pages and 16 bytes per (row, column) of Arrow values.

use std::io::Read;

use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;

/// Why a file's pages are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("column {column}: chunk at offset {offset} with {length} bytes lies outside the {file} byte file")]
    ChunkOutside {
        column: String,
        offset: i64,
        length: i64,
        file: u64,
    },
    #[error("column {column}: page header at byte {at}: {reason}")]
    BadHeader { column: String, at: u64, reason: String },
    #[error("column {column}: compression {codec} is not supported (use SNAPPY, ZSTD, GZIP, LZ4_RAW or none)")]
    Codec { column: String, codec: String },
    #[error("pages declare {declared} decoded bytes, over the limit of {max}")]
    TooLarge { declared: u64, max: u64 },
    #[error("column {column}: a page declares {values} values, over the limit of {max} rows")]
    TooManyValues { column: String, values: i64, max: u64 },
    #[error("column {column}: a {codec} page inflates beyond its declared {declared} bytes")]
    InflatesBeyond {
        column: String,
        codec: &'static str,
        declared: u64,
    },
    #[error("column {column}: an LZ4 page is not in Hadoop framing ({reason}); write LZ4_RAW instead")]
    Lz4Framing { column: String, reason: &'static str },
}

/// One page header, as far as the checks need it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PageHeader {
    page_type: i32,
    uncompressed: i32,
    compressed: i32,
    /// Values of a data page (v1 or v2) or entries of a dictionary page.
    num_values: i32,
    /// Data page v2: the level bytes before the (possibly compressed) values.
    levels_bytes: i32,
    /// Data page v2: whether the values are compressed (default true).
    v2_compressed: bool,
}

/// Checks the pages of the `columns` (leaf indices) of every row group.
pub fn check_pages(
    file: &[u8],
    metadata: &ParquetMetaData,
    columns: &[usize],
    max_decoded_bytes: u64,
    max_rows: u64,
) -> Result<(), PageError> {
    let file_len = file.len() as u64;
    let mut declared: u64 = 0;
    for row_group in metadata.row_groups() {
        for &index in columns {
            let Some(chunk) = row_group.columns().get(index) else {
                continue;
            };
            let column = chunk.column_path().string();
            let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
            let length = chunk.compressed_size();
            let outside = || PageError::ChunkOutside {
                column: column.clone(),
                offset: start,
                length,
                file: file_len,
            };
            if start < 4 || length < 0 {
                return Err(outside());
            }
            let (start, length) = (start as u64, length as u64);
            let end = start.checked_add(length).ok_or_else(outside)?;
            // The footer (metadata, its length and the magic) follows the last chunk.
            if end > file_len.saturating_sub(8) {
                return Err(outside());
            }
            let codec = chunk.compression();
            match codec {
                Compression::UNCOMPRESSED
                | Compression::SNAPPY
                | Compression::GZIP(_)
                | Compression::LZ4
                | Compression::LZ4_RAW
                | Compression::ZSTD(_) => {}
                other => {
                    return Err(PageError::Codec {
                        column,
                        codec: other.to_string(),
                    })
                }
            }
            let mut at = start;
            while at < end {
                let bad = |reason: String| PageError::BadHeader {
                    column: column.clone(),
                    at,
                    reason,
                };
                let window = &file[at as usize..end as usize];
                let (header, header_len) = parse_page_header(window).map_err(|r| bad(r.to_owned()))?;
                if header.uncompressed < 0 || header.compressed < 0 || header.num_values < 0 {
                    return Err(bad("negative page size or value count".into()));
                }
                let body_start = at + header_len as u64;
                let body_end = body_start
                    .checked_add(header.compressed as u64)
                    .filter(|e| *e <= end)
                    .ok_or_else(|| {
                        bad(format!(
                            "page of {} bytes runs past its column chunk",
                            header.compressed
                        ))
                    })?;
                declared = declared.saturating_add(header.uncompressed as u64);
                if declared > max_decoded_bytes {
                    return Err(PageError::TooLarge {
                        declared,
                        max: max_decoded_bytes,
                    });
                }
                if header.num_values as u64 > max_rows && header.page_type != DICTIONARY_PAGE {
                    return Err(PageError::TooManyValues {
                        column,
                        values: header.num_values as i64,
                        max: max_rows,
                    });
                }
                let body = &file[body_start as usize..body_end as usize];
                let (levels, compressed) = match header.page_type {
                    DATA_PAGE_V2 => {
                        let levels = (header.levels_bytes.max(0) as usize).min(body.len());
                        (levels as u64, &body[levels..])
                    }
                    _ => (0, body),
                };
                let allowed = (header.uncompressed as u64).saturating_sub(levels);
                // The reader decompresses nothing for an empty page or a v2
                // page whose values are stored as they are.
                let decompressed = header.page_type != DATA_PAGE_V2 || header.v2_compressed;
                if allowed > 0 && decompressed {
                    check_body(codec, compressed, allowed).map_err(|e| e.for_column(&column))?;
                }
                at = body_end;
            }
        }
    }
    Ok(())
}

/// Where the bodies (the bytes after each page header) of leaf column
/// `leaf`'s pages lie in `file`, row group after row group: for tools and
/// tests that inspect or rewrite pages. Errors as [`check_pages`] would.
pub fn page_bodies(
    file: &[u8],
    metadata: &ParquetMetaData,
    leaf: usize,
) -> Result<Vec<std::ops::Range<usize>>, PageError> {
    let mut bodies = Vec::new();
    for row_group in metadata.row_groups() {
        let Some(chunk) = row_group.columns().get(leaf) else {
            continue;
        };
        let column = chunk.column_path().string();
        let start = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset());
        let outside = || PageError::ChunkOutside {
            column: column.clone(),
            offset: start,
            length: chunk.compressed_size(),
            file: file.len() as u64,
        };
        let start = usize::try_from(start).map_err(|_| outside())?;
        let end = usize::try_from(chunk.compressed_size())
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|e| *e <= file.len())
            .ok_or_else(outside)?;
        let mut at = start;
        while at < end {
            let (header, header_len) = parse_page_header(&file[at..end]).map_err(|r| PageError::BadHeader {
                column: column.clone(),
                at: at as u64,
                reason: r.to_owned(),
            })?;
            let body_start = at + header_len;
            let body_end = usize::try_from(header.compressed)
                .ok()
                .and_then(|n| body_start.checked_add(n))
                .filter(|e| *e <= end)
                .ok_or_else(outside)?;
            bodies.push(body_start..body_end);
            at = body_end;
        }
    }
    Ok(bodies)
}

/// Why one page body is refused, before the column is known.
enum BodyError {
    InflatesBeyond { codec: &'static str, declared: u64 },
    Lz4Framing(&'static str),
}

impl BodyError {
    fn for_column(self, column: &str) -> PageError {
        match self {
            BodyError::InflatesBeyond { codec, declared } => PageError::InflatesBeyond {
                column: column.to_owned(),
                codec,
                declared,
            },
            BodyError::Lz4Framing(reason) => PageError::Lz4Framing {
                column: column.to_owned(),
                reason,
            },
        }
    }
}

/// Checks that decoding `compressed` with `codec` writes at most `allowed`
/// bytes (see the module comment for why each codec is checked as it is).
fn check_body(codec: Compression, compressed: &[u8], allowed: u64) -> Result<(), BodyError> {
    match codec {
        Compression::GZIP(_) if inflated_len(compressed, allowed) > allowed => {
            return Err(BodyError::InflatesBeyond {
                codec: "GZIP",
                declared: allowed,
            });
        }
        Compression::SNAPPY => {
            let mut prefix = Cursor {
                bytes: compressed,
                pos: 0,
            };
            // A stream without a readable prefix is the reader's to report.
            if prefix.varint().is_ok_and(|len| len > allowed) {
                return Err(BodyError::InflatesBeyond {
                    codec: "SNAPPY",
                    declared: allowed,
                });
            }
        }
        Compression::LZ4 => check_hadoop_lz4(compressed, allowed)?,
        _ => {}
    }
    Ok(())
}

/// Bytes a GZIP stream inflates to, counting at most `limit + 1`.
fn inflated_len(compressed: &[u8], limit: u64) -> u64 {
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(limit.saturating_add(1));
    // A corrupt stream is the reader's to report; count what inflated.
    std::io::copy(&mut decoder, &mut std::io::sink()).unwrap_or(0)
}

/// The magic numbers with which the LZ4 frame decoder accepts a stream: the
/// frame format, its skippable frames and the legacy frame format.
fn starts_like_an_lz4_frame(bytes: &[u8]) -> bool {
    let Some(head) = bytes.get(..4) else {
        return false;
    };
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    magic == 0x184D_2204 || magic == 0x184C_2102 || (0x184D_2A50..=0x184D_2A5F).contains(&magic)
}

/// A legacy LZ4 page the reader decodes into its declared size and nowhere
/// else: Hadoop blocks (big-endian decompressed size, compressed size, data)
/// that use up the page exactly and declare at most `allowed` bytes in all,
/// and no LZ4 frame magic the reader's fallback would inflate.
fn check_hadoop_lz4(page: &[u8], allowed: u64) -> Result<(), BodyError> {
    if starts_like_an_lz4_frame(page) {
        return Err(BodyError::Lz4Framing("the page is an LZ4 frame"));
    }
    let mut rest = page;
    let mut declared: u64 = 0;
    while !rest.is_empty() {
        let Some((prefix, after)) = rest.split_first_chunk::<8>() else {
            return Err(BodyError::Lz4Framing("a block prefix is cut short"));
        };
        let decompressed = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let compressed = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
        if compressed > after.len() {
            return Err(BodyError::Lz4Framing("a block runs past the page"));
        }
        declared = declared.saturating_add(u64::from(decompressed));
        if declared > allowed {
            return Err(BodyError::InflatesBeyond {
                codec: "LZ4",
                declared: allowed,
            });
        }
        rest = &after[compressed..];
    }
    Ok(())
}

const DATA_PAGE_V2: i32 = 3;
const DICTIONARY_PAGE: i32 = 2;

/// Thrift compact protocol types.
mod ty {
    pub const STOP: u8 = 0;
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

/// Nesting deeper than this is not a page header.
const MAX_DEPTH: u32 = 16;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, &'static str>;

impl Cursor<'_> {
    fn byte(&mut self) -> R<u8> {
        let b = *self.bytes.get(self.pos).ok_or("truncated")?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> R<u64> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("varint overflows 64 bits");
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint too long")
    }

    fn zigzag(&mut self) -> R<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn i32(&mut self) -> R<i32> {
        i32::try_from(self.zigzag()?).map_err(|_| "i32 out of range")
    }

    fn skip(&mut self, n: u64) -> R<()> {
        let n = usize::try_from(n).map_err(|_| "length out of range")?;
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or("truncated")?;
        self.pos = end;
        Ok(())
    }

    /// Skips one value of compact type `t`.
    fn skip_value(&mut self, t: u8, depth: u32) -> R<()> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        match t {
            ty::TRUE | ty::FALSE => Ok(()),
            ty::BYTE => self.skip(1),
            ty::I16 | ty::I32 | ty::I64 => self.varint().map(drop),
            ty::DOUBLE => self.skip(8),
            ty::BINARY => {
                let n = self.varint()?;
                self.skip(n)
            }
            ty::LIST | ty::SET => {
                let head = self.byte()?;
                let mut n = u64::from(head >> 4);
                if n == 15 {
                    n = self.varint()?;
                }
                let elem = head & 0x0f;
                // Every element takes at least one byte: a count beyond the
                // remaining bytes is a lie, refused before looping on it.
                if n > (self.bytes.len() - self.pos) as u64 {
                    return Err("list longer than the header");
                }
                for _ in 0..n {
                    if elem == ty::TRUE || elem == ty::FALSE {
                        self.skip(1)?;
                    } else {
                        self.skip_value(elem, depth + 1)?;
                    }
                }
                Ok(())
            }
            ty::MAP => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                if n > (self.bytes.len() - self.pos) as u64 {
                    return Err("map longer than the header");
                }
                let kinds = self.byte()?;
                for _ in 0..n {
                    self.skip_value(kinds >> 4, depth + 1)?;
                    self.skip_value(kinds & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            ty::STRUCT => self.fields(depth + 1, |_, c, t, d| c.skip_value(t, d)),
            _ => Err("unknown Thrift type"),
        }
    }

    /// Reads a struct's fields, handing each (id, type) to `field`.
    fn fields(&mut self, depth: u32, mut field: impl FnMut(i16, &mut Self, u8, u32) -> R<()>) -> R<()> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        let mut last: i16 = 0;
        loop {
            let head = self.byte()?;
            let t = head & 0x0f;
            if t == ty::STOP {
                return Ok(());
            }
            let delta = head >> 4;
            let id = if delta == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| "field id out of range")?
            } else {
                last.checked_add(i16::from(delta)).ok_or("field id out of range")?
            };
            last = id;
            field(id, self, t, depth)?;
        }
    }
}

/// The page header at the start of `bytes` and its length in bytes.
fn parse_page_header(bytes: &[u8]) -> R<(PageHeader, usize)> {
    let mut c = Cursor { bytes, pos: 0 };
    let mut h = PageHeader {
        v2_compressed: true,
        ..Default::default()
    };
    let mut seen = [false; 3];
    c.fields(0, |id, c, t, depth| {
        let int = |c: &mut Cursor, t: u8| if t == ty::I32 { c.i32() } else { Err("expected an i32") };
        match id {
            1 => {
                h.page_type = int(c, t)?;
                seen[0] = true;
            }
            2 => {
                h.uncompressed = int(c, t)?;
                seen[1] = true;
            }
            3 => {
                h.compressed = int(c, t)?;
                seen[2] = true;
            }
            // data_page_header, dictionary_page_header: num_values is field 1.
            5 | 7 if t == ty::STRUCT => c.fields(depth + 1, |id, c, t, d| match (id, t) {
                (1, ty::I32) => {
                    h.num_values = c.i32()?;
                    Ok(())
                }
                _ => c.skip_value(t, d),
            })?,
            8 if t == ty::STRUCT => c.fields(depth + 1, |id, c, t, d| match (id, t) {
                (1, ty::I32) => {
                    h.num_values = c.i32()?;
                    Ok(())
                }
                (5 | 6, ty::I32) => {
                    h.levels_bytes = h.levels_bytes.saturating_add(c.i32()?.max(0));
                    Ok(())
                }
                (7, ty::TRUE) => {
                    h.v2_compressed = true;
                    Ok(())
                }
                (7, ty::FALSE) => {
                    h.v2_compressed = false;
                    Ok(())
                }
                _ => c.skip_value(t, d),
            })?,
            _ => c.skip_value(t, depth + 1)?,
        }
        Ok(())
    })?;
    if seen != [true; 3] {
        return Err("missing type or page sizes");
    }
    Ok((h, c.pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plain_header_and_skips_the_rest() {
        // type=0 (i32 zigzag 0), uncompressed=100, compressed=50, data_page_header{num_values=7, encoding=0 ...}
        let bytes = [
            0x15, 0x00, // field 1 i32: 0
            0x15, 0xc8, 0x01, // field 2 i32: 100
            0x15, 0x64, // field 3 i32: 50
            0x2c, // field 5 struct
            0x15, 0x0e, // field 1 i32: 7
            0x15, 0x00, // field 2 i32: 0
            0x00, // stop
            0x00, // stop
        ];
        let (h, len) = parse_page_header(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(
            (h.page_type, h.uncompressed, h.compressed, h.num_values),
            (0, 100, 50, 7)
        );
    }

    #[test]
    fn refuses_truncated_and_lying_headers() {
        assert!(parse_page_header(&[0x15]).is_err());
        assert!(parse_page_header(&[0x00]).is_err(), "no sizes");
        // A list claiming a billion elements in a three-byte header.
        assert!(parse_page_header(&[0x19, 0xf5, 0xff, 0xff, 0xff, 0x03]).is_err());
        // Deep nesting.
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 64).collect();
        assert!(parse_page_header(&deep).is_err());
    }

    #[test]
    fn hadoop_lz4_pages_are_held_to_their_declared_size() {
        let block = |decompressed: u32, data: &[u8]| {
            let mut b = decompressed.to_be_bytes().to_vec();
            b.extend_from_slice(&(data.len() as u32).to_be_bytes());
            b.extend_from_slice(data);
            b
        };
        let two = [block(60, &[1, 2, 3]), block(40, &[4])].concat();
        assert!(check_hadoop_lz4(&two, 100).is_ok());
        assert!(matches!(
            check_hadoop_lz4(&two, 99),
            Err(BodyError::InflatesBeyond {
                codec: "LZ4",
                declared: 99
            })
        ));
        let cut = &two[..two.len() - 1];
        assert!(matches!(check_hadoop_lz4(cut, 100), Err(BodyError::Lz4Framing(_))));
        assert!(matches!(
            check_hadoop_lz4(&two[..5], 100),
            Err(BodyError::Lz4Framing(_))
        ));
        // An LZ4 frame, a skippable frame and a legacy frame: the reader's fallback would inflate them.
        for magic in [0x184D_2204u32, 0x184D_2A5F, 0x184C_2102] {
            let mut frame = magic.to_le_bytes().to_vec();
            frame.extend_from_slice(&[0; 16]);
            assert!(matches!(
                check_hadoop_lz4(&frame, 1 << 30),
                Err(BodyError::Lz4Framing("the page is an LZ4 frame"))
            ));
        }
    }

    #[test]
    fn a_snappy_length_prefix_over_the_page_is_refused() {
        // 300 as a varint: 0xac 0x02.
        assert!(check_body(Compression::SNAPPY, &[0xac, 0x02, 0, 0], 300).is_ok());
        assert!(matches!(
            check_body(Compression::SNAPPY, &[0xac, 0x02, 0, 0], 299),
            Err(BodyError::InflatesBeyond { codec: "SNAPPY", .. })
        ));
    }
}
