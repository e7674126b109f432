//! Timelock encryption to a drand quicknet round, in the exact format the
//! subtensor runtime decrypts (`tle`'s `TLECiphertext` for `TinyBLS381`,
//! ark-serialized, compressed): Boneh–Franklin identity-based encryption of a
//! fresh AES-256-GCM key, with the identity SHA-256(round, big-endian) hashed
//! to G1 as drand quicknet signs it (RFC 9380,
//! `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`), and the payload under that
//! key. Whoever holds the round's signature (the chain, once the drand
//! pallet stored the pulse) can decrypt; nobody can before the round.
//!
//! Layout of the ciphertext (ark `CanonicalSerialize`, `Vec` = u64 LE length
//! then items): `U` (G2, 96 bytes) ‖ `V` (Vec, 32 bytes: σ ⊕ H2(e(Q_id, r·P_pub)))
//! ‖ `W` (Vec, 32 bytes: key ⊕ H4(σ)) ‖ body (Vec of: AES-GCM ciphertext
//! and tag as a Vec ‖ 12-byte nonce as a Vec) ‖ cipher suite (Vec, `AES_GCM_`),
//! with r = H3(σ ‖ key) and H2 = H4 = SHA-256, H3 = SHA-256 read big-endian
//! mod the group order.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use ark_bls12_381::{g1, Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::hashing::curve_maps::wb::WBMap;
use ark_ec::hashing::map_to_curve_hasher::MapToCurveBasedHasher;
use ark_ec::hashing::HashToCurve;
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, Group};
use ark_ff::field_hashers::DefaultFieldHasher;
use ark_ff::PrimeField;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha256};

/// drand quicknet's public key (G2, compressed).
pub const QUICKNET_PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// Quicknet's first round's time (Unix seconds) and its period.
pub const QUICKNET_GENESIS_UNIX: u64 = 1_692_803_367;
pub const QUICKNET_PERIOD_SECS: u64 = 3;
const DST: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
const CIPHER_SUITE: &[u8] = b"AES_GCM_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelockError {
    #[error("timelock: {0}")]
    Crypto(String),
    #[error("timelock ciphertext: {0}")]
    Malformed(String),
    #[error("timelock: the signature does not open this ciphertext")]
    WrongSignature,
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn random<const N: usize>() -> Result<[u8; N], TimelockError> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| TimelockError::Crypto(format!("system randomness: {e}")))?;
    Ok(out)
}

fn identity(round: u64) -> Result<G1Affine, TimelockError> {
    let hasher = MapToCurveBasedHasher::<G1Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g1::Config>>::new(DST)
        .map_err(|e| TimelockError::Crypto(format!("hash to curve: {e}")))?;
    hasher
        .hash(&sha256(&[&round.to_be_bytes()]))
        .map_err(|e| TimelockError::Crypto(format!("hash to curve: {e}")))
}

fn h2(g: &<Bls12_381 as Pairing>::TargetField) -> Result<[u8; 32], TimelockError> {
    let mut bytes = Vec::new();
    g.serialize_compressed(&mut bytes)
        .map_err(|e| TimelockError::Crypto(e.to_string()))?;
    Ok(sha256(&[&bytes]))
}

fn h3(sigma: &[u8; 32], key: &[u8; 32]) -> Fr {
    Fr::from_be_bytes_mod_order(&sha256(&[sigma, key]))
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = *a;
    out.iter_mut().zip(b).for_each(|(o, b)| *o ^= b);
    out
}

fn put_vec(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take_vec<'a>(input: &mut &'a [u8], what: &str) -> Result<&'a [u8], TimelockError> {
    let bad = || TimelockError::Malformed(format!("{what} is cut short"));
    let (len, rest) = input.split_first_chunk::<8>().ok_or_else(bad)?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| bad())?;
    if rest.len() < len {
        return Err(bad());
    }
    let (item, rest) = rest.split_at(len);
    *input = rest;
    Ok(item)
}

fn quicknet_key() -> Result<G2Affine, TimelockError> {
    let bytes = hex::decode(QUICKNET_PUBLIC_KEY).map_err(|e| TimelockError::Crypto(e.to_string()))?;
    G2Affine::deserialize_compressed(&bytes[..]).map_err(|e| TimelockError::Crypto(e.to_string()))
}

/// Encrypts `plaintext` so that drand quicknet's signature of `round` opens it.
pub fn encrypt(plaintext: &[u8], round: u64) -> Result<Vec<u8>, TimelockError> {
    encrypt_to(plaintext, round, quicknet_key()?)
}

fn encrypt_to(plaintext: &[u8], round: u64, public_key: G2Affine) -> Result<Vec<u8>, TimelockError> {
    let key: [u8; 32] = random()?;
    // σ is SHA-256 of a random scalar's encoding, as `tle` makes it.
    let t = Fr::from_le_bytes_mod_order(&random::<64>()?);
    let mut t_bytes = Vec::new();
    t.serialize_compressed(&mut t_bytes)
        .map_err(|e| TimelockError::Crypto(e.to_string()))?;
    let sigma = sha256(&[&t_bytes]);
    let r = h3(&sigma, &key);
    let u = G2Projective::generator() * r;
    let g_id = Bls12_381::pairing(identity(round)?, (public_key * r).into_affine()).0;
    let v = xor(&sigma, &h2(&g_id)?);
    let w = xor(&key, &sha256(&[&sigma]));

    let nonce: [u8; 12] = random()?;
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|e| TimelockError::Crypto(e.to_string()))?;
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .map_err(|e| TimelockError::Crypto(format!("AES-GCM: {e}")))?;
    let mut body = Vec::with_capacity(sealed.len() + 28);
    put_vec(&sealed, &mut body);
    put_vec(&nonce, &mut body);

    let mut out = Vec::with_capacity(96 + 80 + body.len() + 16);
    u.serialize_compressed(&mut out)
        .map_err(|e| TimelockError::Crypto(e.to_string()))?;
    put_vec(&v, &mut out);
    put_vec(&w, &mut out);
    put_vec(&body, &mut out);
    put_vec(CIPHER_SUITE, &mut out);
    Ok(out)
}

/// Opens a ciphertext with the round's signature (G1, compressed), as the
/// runtime does; for tests and for checking a commit before sending it.
pub fn decrypt(ciphertext: &[u8], signature: &[u8]) -> Result<Vec<u8>, TimelockError> {
    let sig =
        G1Affine::deserialize_compressed(signature).map_err(|e| TimelockError::Malformed(format!("signature: {e}")))?;
    let mut input = ciphertext;
    let u = G2Affine::deserialize_compressed(&mut input).map_err(|e| TimelockError::Malformed(format!("U: {e}")))?;
    let v: [u8; 32] = take_vec(&mut input, "V")?
        .try_into()
        .map_err(|_| TimelockError::Malformed("V is not 32 bytes".into()))?;
    let w: [u8; 32] = take_vec(&mut input, "W")?
        .try_into()
        .map_err(|_| TimelockError::Malformed("W is not 32 bytes".into()))?;
    let mut body = take_vec(&mut input, "body")?;
    let suite = take_vec(&mut input, "cipher suite")?;
    if suite != CIPHER_SUITE || !input.is_empty() {
        return Err(TimelockError::Malformed("not an AES_GCM_ timelock ciphertext".into()));
    }
    let sigma = xor(&v, &h2(&Bls12_381::pairing(sig, u).0)?);
    let key = xor(&w, &sha256(&[&sigma]));
    if (G2Projective::generator() * h3(&sigma, &key)).into_affine() != u {
        return Err(TimelockError::WrongSignature);
    }
    let sealed = take_vec(&mut body, "AES-GCM ciphertext")?;
    let nonce = take_vec(&mut body, "nonce")?;
    if nonce.len() != 12 {
        return Err(TimelockError::Malformed("the nonce is not 12 bytes".into()));
    }
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|e| TimelockError::Crypto(e.to_string()))?;
    cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| TimelockError::WrongSignature)
}

/// Blocks after the reveal block whose pulse is targeted, so the chain has
/// ingested it by then (the SDK's `SECURITY_BLOCK_OFFSET`).
pub const SECURITY_BLOCK_OFFSET: u64 = 3;

/// The quicknet round to encrypt to for a commit sent at `current_block`
/// whose reveal block is `first_reveal_block` (from [`crate::schedule`]), as
/// the Python SDK computes it (bittensor 11.x `get_encrypted_commit_v2`,
/// bittensor-drand 1.x `generate_commit`): the reveal block plus
/// [`SECURITY_BLOCK_OFFSET`], estimated at `block_secs` per block (the
/// runtime's `Aura.SlotDuration`) from `now_secs`, rounded **down** so the
/// round's pulse is never later than the reveal; at least round 1.
pub fn reveal_round(now_secs: f64, current_block: u64, first_reveal_block: u64, block_secs: f64) -> u64 {
    let blocks = first_reveal_block
        .saturating_add(SECURITY_BLOCK_OFFSET)
        .saturating_sub(current_block);
    // f64 as the SDK does it, so the same inputs floor to the same round.
    let target = now_secs + blocks as f64 * block_secs;
    let round = ((target - QUICKNET_GENESIS_UNIX as f64) / QUICKNET_PERIOD_SECS as f64).floor();
    if round < 1.0 {
        1
    } else {
        round as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quicknet round 1000's signature: public, so anything encrypted to
    /// round 1000 opens today (pallet-drand's and tle's own tests use it).
    pub const ROUND_1000_SIGNATURE: &str =
        "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";

    #[test]
    fn round_1000_opens_what_was_sealed_for_it() {
        let sig = hex::decode(ROUND_1000_SIGNATURE).unwrap();
        let sealed = encrypt(b"weights", 1000).unwrap();
        assert_eq!(decrypt(&sealed, &sig).unwrap(), b"weights");
        // …and nothing sealed for another round.
        let other = encrypt(b"weights", 1001).unwrap();
        assert_eq!(decrypt(&other, &sig), Err(TimelockError::WrongSignature));
        // A cut ciphertext is malformed, not a panic.
        assert!(matches!(
            decrypt(&sealed[..100], &sig),
            Err(TimelockError::Malformed(_))
        ));
    }

    #[test]
    fn two_seals_of_one_payload_differ() {
        assert_ne!(encrypt(b"x", 1000).unwrap(), encrypt(b"x", 1000).unwrap());
    }

    #[test]
    fn the_reveal_round_follows_the_reveal_block() {
        // netuid 1, tempo 360, block 3,600,000 (legacy schedule): the reveal
        // epoch starts at block 3,600,251; its pulse is targeted 3 blocks
        // later, 254 blocks (3,048 s) on, rounded down.
        let first = crate::schedule::legacy_first_reveal_block(3_600_000, 1, 360, 1);
        assert_eq!(first, 3_600_251);
        let now = (QUICKNET_GENESIS_UNIX + 3_000_000) as f64;
        assert_eq!(reveal_round(now, 3_600_000, first, 12.0), (3_000_000 + 3_048) / 3);
        assert_eq!(reveal_round(now + 2.9, 3_600_000, first, 12.0), (3_000_000 + 3_048) / 3);
        assert_eq!(
            reveal_round(now + 3.0, 3_600_000, first, 12.0),
            (3_000_000 + 3_048) / 3 + 1
        );
        // Before quicknet's genesis: round 1.
        assert_eq!(reveal_round(0.0, 0, 10, 12.0), 1);
    }
}
