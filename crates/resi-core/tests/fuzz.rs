//! A deterministic mutation fuzzer for the two parsers that read a miner's
//! bytes: the listings Parquet reader and the signed-manifest parser.
//!
//! Each run mutates valid files (every codec the reader accepts: SNAPPY,
//! GZIP, ZSTD, LZ4_RAW, the legacy LZ4 and none; dictionary and plain pages,
//! data page v1 and v2, several row groups) with a seeded generator, biased
//! toward the footer where the reader's trust lives, and asserts that every
//! mutant decodes or is refused with an error: nothing escapes
//! `decode_listings`. Inputs that reach a panic inside the Parquet or Arrow
//! crates (contained as [`SchemaError::DecoderPanicked`]) are written under
//! `$TMPDIR/resi-fuzz-crashes/` and listed; they must stay rare, and once
//! found they are kept in `tests/fuzz-regressions/`, where every file is
//! replayed on every run.
//!
//! `RESI_FUZZ_ITERATIONS` (default 1,500 per seed file) and `RESI_FUZZ_SEED`
//! make longer or different runs.

mod common;

use std::path::PathBuf;

use bytes::Bytes;
use common::*;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use resi_core::manifest::SignedManifest;
use resi_core::schema::{decode_listings, encode_listings, DecodeLimits, SchemaError};

fn iterations() -> u64 {
    std::env::var("RESI_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn seed() -> u64 {
    std::env::var("RESI_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(46)
}

fn limits() -> DecodeLimits {
    DecodeLimits {
        max_file_bytes: 1 << 20,
        max_rows: 10_000,
        max_decoded_bytes: 8 << 20,
        max_string_bytes: 2_048,
    }
}

/// Valid listing files written every way a reader must cope with.
fn seed_files() -> Vec<(&'static str, Vec<u8>)> {
    let rows = listings(60);
    let batch = {
        let bytes = encode_listings(&rows).unwrap();
        resi_core::schema::decode_raw(Bytes::from(bytes)).unwrap().remove(0)
    };
    let write = |props: WriterProperties| {
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out
    };
    vec![
        ("resi-snappy", encode_listings(&rows).unwrap()),
        (
            "gzip-dictionary",
            write(
                WriterProperties::builder()
                    .set_compression(Compression::GZIP(GzipLevel::default()))
                    .build(),
            ),
        ),
        (
            "zstd-v2-row-groups",
            write(
                WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .set_max_row_group_row_count(Some(17))
                    .set_data_page_row_count_limit(8)
                    .set_write_batch_size(8)
                    .build(),
            ),
        ),
        (
            "lz4-plain",
            write(
                WriterProperties::builder()
                    .set_compression(Compression::LZ4_RAW)
                    .set_dictionary_enabled(false)
                    .build(),
            ),
        ),
        (
            "lz4-hadoop-v2",
            write(
                WriterProperties::builder()
                    .set_compression(Compression::LZ4)
                    .set_writer_version(WriterVersion::PARQUET_2_0)
                    .set_data_page_row_count_limit(16)
                    .set_write_batch_size(16)
                    .build(),
            ),
        ),
        (
            "uncompressed",
            write(
                WriterProperties::builder()
                    .set_compression(Compression::UNCOMPRESSED)
                    .build(),
            ),
        ),
    ]
}

/// One mutation of `input`, chosen by `rng`.
fn mutate(input: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let len = out.len();
    let below = |rng: &mut ChaCha8Rng, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    // Most of the reader's trust is in the footer: aim two thirds of the edits there.
    let footer_len = u32::from_le_bytes(out[len - 8..len - 4].try_into().unwrap()) as usize;
    let footer_start = len.saturating_sub(8 + footer_len);
    let edits = 1 + below(rng, 4);
    for _ in 0..edits {
        let at = if below(rng, 3) < 2 {
            footer_start + below(rng, len - footer_start)
        } else {
            below(rng, len)
        };
        let at = at.min(out.len().saturating_sub(1));
        match below(rng, 8) {
            0 => out[at] ^= 1 << below(rng, 8),
            1 => out[at] = rng.next_u64() as u8,
            // Varint extremes: a large or negative zigzag i32/i64.
            2 => {
                let extreme: &[u8] = match below(rng, 4) {
                    0 => &[0xff, 0xff, 0xff, 0xff, 0x0f],
                    1 => &[0xfe, 0xff, 0xff, 0xff, 0x0f],
                    2 => &[0x01],
                    _ => &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                };
                for (i, b) in extreme.iter().enumerate() {
                    if at + i < out.len() {
                        out[at + i] = *b;
                    }
                }
            }
            3 => out[at] = out[at].wrapping_add(1),
            4 => out[at] = out[at].wrapping_sub(1),
            5 => {
                // Duplicate a short run over another place.
                let n = 1 + below(rng, 16);
                let from = below(rng, out.len().saturating_sub(n));
                let chunk: Vec<u8> = out[from..(from + n).min(out.len())].to_vec();
                for (i, b) in chunk.into_iter().enumerate() {
                    if at + i < out.len() {
                        out[at + i] = b;
                    }
                }
            }
            6 => out[at] = 0,
            _ => out[at] = 0xff,
        }
    }
    // Occasionally truncate (keeping the magic at the end).
    if below(rng, 20) == 0 && out.len() > 64 {
        let cut = below(rng, out.len() - 16);
        out.drain(cut..cut + below(rng, 32).min(out.len() - 12 - cut));
    }
    out
}

fn crash_dir() -> PathBuf {
    std::env::temp_dir().join("resi-fuzz-crashes")
}

fn regressions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions")
}

#[test]
fn parquet_reader_never_panics_on_mutated_files() {
    let limits = limits();
    let mut crashes = Vec::new();
    let mut refused = 0u64;
    let mut total = 0u64;
    let mut escaped = Vec::new();
    for (name, file) in seed_files() {
        decode_listings(Bytes::from(file.clone()), &limits).unwrap_or_else(|e| panic!("{name} must decode: {e}"));
        let mut rng = ChaCha8Rng::seed_from_u64(seed() ^ xxh(name));
        for i in 0..iterations() {
            let mutant = mutate(&file, &mut rng);
            total += 1;
            let outcome = std::panic::catch_unwind(|| decode_listings(Bytes::from(mutant.clone()), &limits));
            let Ok(outcome) = outcome else {
                escaped.push(format!("{name} mutant {i}"));
                continue;
            };
            match outcome {
                Err(SchemaError::DecoderPanicked(message)) => {
                    let dir = crash_dir();
                    std::fs::create_dir_all(&dir).unwrap();
                    let path = dir.join(format!("{name}-{i}.parquet"));
                    std::fs::write(&path, &mutant).unwrap();
                    crashes.push(format!("{}: {message}", path.display()));
                }
                Err(_) => refused += 1,
                Ok(_) => {}
            }
        }
    }
    assert!(escaped.is_empty(), "panics escaped decode_listings: {escaped:?}");
    if !crashes.is_empty() {
        eprintln!(
            "{} of {total} mutants reached a (contained) panic inside the Parquet/Arrow decoder; keep them in tests/fuzz-regressions/:\n{}",
            crashes.len(),
            crashes.join("\n")
        );
    }
    assert!(
        crashes.len() as u64 * 200 <= total,
        "{} of {total} mutants reached a decoder panic: the pre-decode checks should catch more of them",
        crashes.len()
    );
    assert!(
        refused > total / 4,
        "the mutations should break most files ({refused} of {total})"
    );
}

fn xxh(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Every input that once crashed the reader is refused with an error now.
#[test]
fn kept_crashing_inputs_are_refused_cleanly() {
    let mut seen = 0;
    for entry in std::fs::read_dir(regressions_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| decode_listings(Bytes::from(bytes), &DecodeLimits::default()));
        match outcome {
            Err(_) => panic!("{}: a panic escaped decode_listings", path.display()),
            Ok(Err(_)) => {}
            Ok(Ok(_)) => panic!("{}: decodes, but it was kept as a crashing input", path.display()),
        }
    }
    assert!(seen > 0, "the regression corpus is empty");
}

#[test]
fn manifest_parser_never_panics_on_mutated_manifests() {
    let manifest = serde_json::json!({
        "hotkey": hotkey(1).to_string(),
        "epochId": "2025-10-01T16-00-00",
        "nonce": "abc",
        "scraper": {"name": "x", "version": "1", "source": "s"},
        "files": [{"zipcode": "77429", "key": "k", "sha256": "00".repeat(32), "listingCount": 3}],
        "signature": "00".repeat(64),
    })
    .to_string()
    .into_bytes();
    SignedManifest::parse(&manifest, 1 << 20).expect("the seed manifest parses");
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    for _ in 0..iterations() * 4 {
        let mut mutant = manifest.clone();
        for _ in 0..1 + rng.next_u64() % 4 {
            let at = (rng.next_u64() % mutant.len() as u64) as usize;
            match rng.next_u64() % 3 {
                0 => mutant[at] = rng.next_u64() as u8,
                1 => {
                    mutant.remove(at);
                }
                _ => mutant.insert(at, b"{}[]\",:0-e9"[(rng.next_u64() % 11) as usize]),
            }
        }
        let outcome = std::panic::catch_unwind(|| SignedManifest::parse(&mutant, 1 << 20).map(drop));
        assert!(outcome.is_ok(), "panicked on {:?}", String::from_utf8_lossy(&mutant));
    }
}
