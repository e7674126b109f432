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
