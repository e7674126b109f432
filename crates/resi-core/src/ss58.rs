//! SS58 addresses (Substrate's base58 account format) for 32-byte public keys.
//!
//! Only the simple one-byte prefix form (formats 0–63) is supported: that is
//! what Bittensor uses (format 42).

use blake2::{Blake2b512, Digest};

/// The SS58 format of every Bittensor address.
pub const BITTENSOR_SS58_FORMAT: u8 = 42;

const CHECKSUM_PREFIX: &[u8] = b"SS58PRE";
const CHECKSUM_LEN: usize = 2;
const PAYLOAD_LEN: usize = 1 + 32 + CHECKSUM_LEN;

/// Why a string is not a valid SS58 address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    #[error("not base58: {0}")]
    NotBase58(String),
    #[error("decodes to {0} bytes, expected {PAYLOAD_LEN} (1-byte format, 32-byte key, 2-byte checksum)")]
    BadLength(usize),
    #[error("SS58 format {found} is not supported here (expected {expected})")]
    WrongFormat { found: u8, expected: u8 },
    #[error("checksum mismatch")]
    BadChecksum,
}

fn checksum(prefix_and_key: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut hasher = Blake2b512::new();
    hasher.update(CHECKSUM_PREFIX);
    hasher.update(prefix_and_key);
    let digest = hasher.finalize();
    [digest[0], digest[1]]
}

/// Encodes a 32-byte public key as an SS58 address of the given format (0–63).
pub fn encode(public_key: &[u8; 32], format: u8) -> String {
    debug_assert!(format < 64, "only simple one-byte SS58 formats are supported");
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.push(format);
    payload.extend_from_slice(public_key);
    let sum = checksum(&payload);
    payload.extend_from_slice(&sum);
    bs58::encode(payload).into_string()
}

/// Decodes an SS58 address, verifying its checksum and that its format is `expected_format`.
pub fn decode(address: &str, expected_format: u8) -> Result<[u8; 32], Ss58Error> {
    let bytes = bs58::decode(address)
        .into_vec()
        .map_err(|e| Ss58Error::NotBase58(e.to_string()))?;
    if bytes.len() != PAYLOAD_LEN {
        return Err(Ss58Error::BadLength(bytes.len()));
    }
    if bytes[0] != expected_format {
        return Err(Ss58Error::WrongFormat {
            found: bytes[0],
            expected: expected_format,
        });
    }
    let (body, sum) = bytes.split_at(1 + 32);
    if checksum(body) != sum {
        return Err(Ss58Error::BadChecksum);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&body[1..]);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_test_vector_addresses() {
        let key = hex::decode("4c8a16afe059521b436a7a2cb63acac70ae4720374be01d4a24ff17e0e449d17").unwrap();
        let key: [u8; 32] = key.try_into().unwrap();
        let address = encode(&key, 42);
        assert_eq!(address, "5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaJ");
        assert_eq!(decode(&address, 42).unwrap(), key);
    }

    #[test]
    fn rejects_a_changed_character() {
        let bad = "5Do4WxQWgskGmQf443Kn8QWvUMj35oCPCWmKKpY2Yyzw4VaK";
        assert!(matches!(decode(bad, 42), Err(Ss58Error::BadChecksum)));
    }

    #[test]
    fn rejects_other_formats_and_garbage() {
        let key = [7u8; 32];
        let polkadot = encode(&key, 0);
        assert!(matches!(
            decode(&polkadot, 42),
            Err(Ss58Error::WrongFormat { found: 0, .. })
        ));
        assert!(matches!(decode("0OIl", 42), Err(Ss58Error::NotBase58(_))));
        assert!(matches!(decode("5Do4", 42), Err(Ss58Error::BadLength(_))));
    }
}
