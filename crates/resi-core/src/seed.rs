//! An epoch's validation seed and its commitment (PROTOCOL.md §2a): the seed is
//! revealed after the deadline and must hash to the commitment published
//! with the assignment.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a seed or commitment was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?} is not 64 hex digits")]
pub struct SeedError {
    what: &'static str,
    text: String,
}

fn parse32(what: &'static str, text: &str) -> Result<[u8; 32], SeedError> {
    let refuse = || SeedError {
        what,
        text: text.chars().take(80).collect(),
    };
    let bytes = hex::decode(text).map_err(|_| refuse())?;
    bytes.try_into().map_err(|_| refuse())
}

macro_rules! hex32 {
    ($name:ident, $what:literal) => {
        impl $name {
            pub fn parse(text: &str) -> Result<Self, SeedError> {
                parse32($what, text).map(Self)
            }

            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lowercase hex: the form every validator hashes and serves.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The 32-byte validation seed: sampling and tie-breaks derive from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidationSeed([u8; 32]);
hex32!(ValidationSeed, "validation seed");

/// SHA-256 of the validation seed's 32 bytes, published before the deadline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeedCommitment([u8; 32]);
hex32!(SeedCommitment, "seed commitment");

impl ValidationSeed {
    pub fn commitment(&self) -> SeedCommitment {
        SeedCommitment(Sha256::digest(self.0).into())
    }
}

impl SeedCommitment {
    /// True when `seed` is the seed this commitment was made for.
    pub fn is_commitment_to(&self, seed: &ValidationSeed) -> bool {
        seed.commitment() == *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_matches_only_its_own_commitment() {
        let seed = ValidationSeed::from_bytes([7; 32]);
        let commitment = seed.commitment();
        assert!(commitment.is_commitment_to(&seed));
        assert!(!commitment.is_commitment_to(&ValidationSeed::from_bytes([8; 32])));
        // Upper-case hex parses to the same value and prints lower-case.
        let upper = seed.to_hex().to_uppercase();
        assert_eq!(ValidationSeed::parse(&upper).unwrap(), seed);
        assert_eq!(
            serde_json::to_string(&commitment).unwrap(),
            format!("\"{}\"", commitment.to_hex())
        );
    }

    #[test]
    fn malformed_hex_is_refused() {
        for bad in ["", "00", &"0".repeat(63), &"g".repeat(64), &"0".repeat(66)] {
            assert!(ValidationSeed::parse(bad).is_err(), "{bad:?}");
            assert!(serde_json::from_str::<SeedCommitment>(&format!("\"{bad}\"")).is_err());
        }
    }
}
