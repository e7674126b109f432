//! sr25519 signatures: parsing and verification.

use resi_core::Hotkey;

/// The schnorrkel signing context of every Substrate/Bittensor signature.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// A 64-byte sr25519 signature (not yet checked against any key).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// Why a signature string was rejected before any verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is not hex: {0}")]
    NotHex(String),
    #[error("signature is {0} bytes, expected 64")]
    WrongLength(usize),
}

impl Signature {
    /// Parses hex, with or without a lowercase `0x` prefix, upper- or lowercase digits.
    pub fn parse_hex(text: &str) -> Result<Self, SignatureError> {
        let text = text.trim();
        let digits = text.strip_prefix("0x").unwrap_or(text);
        let bytes = hex::decode(digits).map_err(|e| SignatureError::NotHex(e.to_string()))?;
        Self::from_slice(&bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, SignatureError> {
        let array: [u8; 64] = bytes.try_into().map_err(|_| SignatureError::WrongLength(bytes.len()))?;
        Ok(Self(array))
    }

    /// Lowercase hex with a `0x` prefix.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not an sr25519 signature (schnorrkel rejects its encoding)")]
    Malformed,
    #[error("not a valid sr25519 public key")]
    BadPublicKey,
    #[error("signature does not match the message and key (raw or <Bytes>-wrapped)")]
    Mismatch,
}

/// A signer's public key, decoded: decoding the curve point is about a
/// fifth of a verification, so a verifier that sees the same signers again
/// and again (the coordinator) decodes each once.
#[derive(Clone, Copy, Debug)]
pub struct VerifyingKey(schnorrkel::PublicKey);

impl VerifyingKey {
    pub fn decode(signer: &Hotkey) -> Result<Self, VerifyError> {
        schnorrkel::PublicKey::from_bytes(signer.public_key())
            .map(Self)
            .map_err(|_| VerifyError::BadPublicKey)
    }

    /// [`verify`] with this key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), VerifyError> {
        let sig = schnorrkel::Signature::from_bytes(&signature.0).map_err(|_| VerifyError::Malformed)?;
        if self.0.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok() {
            return Ok(());
        }
        let mut wrapped = Vec::with_capacity(message.len() + 15);
        wrapped.extend_from_slice(b"<Bytes>");
        wrapped.extend_from_slice(message);
        wrapped.extend_from_slice(b"</Bytes>");
        self.0
            .verify_simple(SIGNING_CONTEXT, &wrapped, &sig)
            .map_err(|_| VerifyError::Mismatch)
    }
}

/// Verifies `signature` over `message` by `signer`: over the raw bytes, or
/// over `<Bytes>` + message + `</Bytes>` (what polkadot.js `signRaw` signs).
/// Never pre-hashes, whatever the length; never strips an existing wrapping.
pub fn verify(signer: &Hotkey, message: &[u8], signature: &Signature) -> Result<(), VerifyError> {
    VerifyingKey::decode(signer)?.verify(message, signature)
}
