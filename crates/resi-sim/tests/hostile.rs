//! Hostile files are refused before they cost memory.

use bytes::Bytes;
use resi_core::pages::PageError;
use resi_core::schema::{decode_listings, DecodeLimits, SchemaError};

/// A GZIP bomb a few hundred KB long that decodes to 140 MB is refused from
/// its page headers; the same file under a limit it fits decodes (so it
/// really is a valid listings file, not merely a broken one).
#[test]
fn a_gzip_bomb_is_refused_before_decompression() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    match decode_listings(Bytes::from(bomb.clone()), &DecodeLimits::default()) {
        Err(SchemaError::Pages(PageError::TooLarge { declared, max })) => {
            assert_eq!(max, 128 * 1024 * 1024);
            assert!(declared > max);
        }
        other => panic!("expected a decoded-size refusal, got {other:?}"),
    }
    let roomy = DecodeLimits {
        max_decoded_bytes: 1 << 30,
        max_string_bytes: 4_096,
        ..DecodeLimits::default()
    };
    let decoded = decode_listings(Bytes::from(bomb), &roomy).unwrap();
    assert_eq!(decoded.len(), 70_000);
}

fn gzip_bomb() -> Vec<u8> {
    resi_sim::hostile::gzip_bomb(70_000, 2_000).unwrap()
}

/// Every codec's bomb, 256 MiB each once inflated, is refused: the legacy
/// LZ4 and SNAPPY ones from their page bodies before any decoder runs, the
/// ZSTD one by the reader decompressing into the declared size.
#[test]
fn every_codec_bomb_is_refused() {
    use resi_sim::hostile::{codec_bomb, Bomb};
    let inflated = 256 << 20;
    let lz4 = codec_bomb(Bomb::Lz4Frame, 2_000, inflated).unwrap();
    match decode_listings(Bytes::from(lz4), &DecodeLimits::default()) {
        Err(SchemaError::Pages(PageError::Lz4Framing { column, reason })) => {
            assert_eq!((column.as_str(), reason), ("address", "the page is an LZ4 frame"));
        }
        other => panic!("expected an LZ4 framing refusal, got {other:?}"),
    }
    let snappy = codec_bomb(Bomb::Snappy, 2_000, inflated).unwrap();
    match decode_listings(Bytes::from(snappy), &DecodeLimits::default()) {
        Err(SchemaError::Pages(PageError::InflatesBeyond { codec, .. })) => assert_eq!(codec, "SNAPPY"),
        other => panic!("expected a SNAPPY refusal, got {other:?}"),
    }
    let zstd = codec_bomb(Bomb::Zstd, 2_000, inflated).unwrap();
    match decode_listings(Bytes::from(zstd), &DecodeLimits::default()) {
        Err(SchemaError::Corrupt(message)) => assert!(message.contains("Destination buffer is too small"), "{message}"),
        other => panic!("expected the reader's refusal of an overlong ZSTD page, got {other:?}"),
    }
}
