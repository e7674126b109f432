//! Account identities: a parsed, checksum-verified SS58 address.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ss58::{self, Ss58Error, BITTENSOR_SS58_FORMAT};

/// A Bittensor account (hotkey or coldkey): SS58 format 42 with a verified checksum.
///
/// Holding a `Hotkey` means the address was parsed; nothing inside the program re-checks it.
/// Ordering is by the SS58 text, which is the order the protocol sorts miners in.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hotkey {
    address: String,
    public_key: [u8; 32],
}

impl Hotkey {
    /// Parses an SS58 address (format 42), verifying its checksum.
    pub fn parse(address: &str) -> Result<Self, Ss58Error> {
        let public_key = ss58::decode(address.trim(), BITTENSOR_SS58_FORMAT)?;
        Ok(Self::from_public_key(public_key))
    }

    /// The account of a 32-byte sr25519 public key.
    pub fn from_public_key(public_key: [u8; 32]) -> Self {
        Self {
            address: ss58::encode(&public_key, BITTENSOR_SS58_FORMAT),
            public_key,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

impl fmt::Display for Hotkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl fmt::Debug for Hotkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hotkey({})", self.address)
    }
}

impl FromStr for Hotkey {
    type Err = Ss58Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Hotkey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.address)
    }
}

impl<'de> Deserialize<'de> for Hotkey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hotkey::parse(&text).map_err(|e| serde::de::Error::custom(format!("invalid SS58 address {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_by_text() {
        let a = Hotkey::parse("5C7mGLnCd53F8XctZyLa1wXKrxrj9YfrBarg4TXrJZTut7kN").unwrap();
        let b = Hotkey::parse("5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT").unwrap();
        assert!(a < b);
        assert_eq!(Hotkey::from_public_key(*a.public_key()), a);
    }

    #[test]
    fn serde_rejects_bad_addresses() {
        let err = serde_json::from_str::<Hotkey>("\"5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wA\"").unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
