//! US zipcodes, checked against the embedded `zipcodes` dataset.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a zipcode was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipcodeError {
    #[error("zipcode {0:?} is not 5 digits")]
    Malformed(String),
    #[error("zipcode {0} does not exist in the US zipcode dataset")]
    Unknown(String),
}

/// A 5-digit US zipcode that exists in the dataset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zipcode([u8; 5]);

/// Where a zipcode is, from the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipcodeInfo {
    pub state: &'static str,
    pub city: &'static str,
    pub county: &'static str,
}

fn index() -> &'static BTreeMap<[u8; 5], &'static zipcodes::Zipcode> {
    static INDEX: OnceLock<BTreeMap<[u8; 5], &'static zipcodes::Zipcode>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = BTreeMap::new();
        for entry in zipcodes::database() {
            if let Ok(code) = <[u8; 5]>::try_from(entry.zip_code.as_bytes()) {
                map.entry(code).or_insert(entry);
            }
        }
        map
    })
}

impl Zipcode {
    /// Parses exactly five ASCII digits naming an existing US zipcode.
    pub fn parse(text: &str) -> Result<Self, ZipcodeError> {
        let code = Self::syntax(text)?;
        if !index().contains_key(&code) {
            return Err(ZipcodeError::Unknown(text.to_owned()));
        }
        Ok(Self(code))
    }

    fn syntax(text: &str) -> Result<[u8; 5], ZipcodeError> {
        let bytes = text.as_bytes();
        match <[u8; 5]>::try_from(bytes) {
            Ok(code) if code.iter().all(u8::is_ascii_digit) => Ok(code),
            _ => Err(ZipcodeError::Malformed(text.to_owned())),
        }
    }

    /// Every zipcode of the dataset, ascending.
    pub fn all() -> impl Iterator<Item = Zipcode> {
        index().keys().map(|code| Zipcode(*code))
    }

    /// `count` zipcodes spread evenly over the dataset (deterministic), for
    /// synthetic epochs.
    pub fn spread(count: usize) -> Vec<Zipcode> {
        let all: Vec<Zipcode> = Self::all().collect();
        if count == 0 || all.is_empty() {
            return Vec::new();
        }
        let step = (all.len() / count).max(1);
        all.iter().step_by(step).take(count).copied().collect()
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00000")
    }

    /// State, city and county from the dataset.
    pub fn info(&self) -> ZipcodeInfo {
        match index().get(&self.0) {
            Some(entry) => ZipcodeInfo {
                state: &entry.state,
                city: &entry.city,
                county: &entry.county,
            },
            None => ZipcodeInfo {
                state: "",
                city: "",
                county: "",
            },
        }
    }
}

impl fmt::Display for Zipcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Zipcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zipcode({})", self.as_str())
    }
}

impl FromStr for Zipcode {
    type Err = ZipcodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Zipcode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Zipcode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Zipcode::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_real_zipcodes() {
        let z = Zipcode::parse("77429").unwrap();
        let info = z.info();
        assert_eq!(info.state, "TX");
        assert_eq!(info.city, "Cypress");
        assert_eq!(z.to_string(), "77429");
    }

    #[test]
    fn rejects_bad_and_unknown_codes() {
        assert!(matches!(Zipcode::parse("7742"), Err(ZipcodeError::Malformed(_))));
        assert!(matches!(Zipcode::parse("77429-1145"), Err(ZipcodeError::Malformed(_))));
        assert!(matches!(Zipcode::parse("7742a"), Err(ZipcodeError::Malformed(_))));
        assert!(matches!(Zipcode::parse("00000"), Err(ZipcodeError::Unknown(_))));
    }
}
