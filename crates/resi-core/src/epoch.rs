//! Epochs: fixed-length UTC windows aligned to the Unix epoch, named by their start.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Why an epoch id or epoch length was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    #[error("epoch id {0:?} is not of the form YYYY-MM-DDTHH-MM-SS")]
    Malformed(String),
    #[error("epoch id {id} is not aligned to the epoch length of {length_secs} s")]
    NotAligned { id: String, length_secs: u64 },
    #[error("epoch length must be between 1 s and 7 days, got {0} s")]
    BadLength(u64),
    #[error("epoch time {0} is outside the supported range")]
    OutOfRange(i64),
}

const ID_FORMAT: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]");

/// An epoch id: the UTC start of the epoch, written `YYYY-MM-DDTHH-MM-SS`.
///
/// Internally the Unix second of the start; the text form is canonical, so
/// parsing and printing round-trip exactly.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EpochId {
    start_unix: i64,
}

impl EpochId {
    /// Parses `YYYY-MM-DDTHH-MM-SS` (UTC).
    pub fn parse(text: &str) -> Result<Self, EpochError> {
        let malformed = || EpochError::Malformed(text.to_owned());
        if text.len() != 19 {
            return Err(malformed());
        }
        let parsed = PrimitiveDateTime::parse(text, ID_FORMAT).map_err(|_| malformed())?;
        Ok(Self {
            start_unix: parsed.assume_utc().unix_timestamp(),
        })
    }

    /// The epoch starting at this Unix second (not checked for alignment).
    pub fn from_start_unix(start_unix: i64) -> Result<Self, EpochError> {
        OffsetDateTime::from_unix_timestamp(start_unix).map_err(|_| EpochError::OutOfRange(start_unix))?;
        Ok(Self { start_unix })
    }

    pub fn start_unix(&self) -> i64 {
        self.start_unix
    }

    pub fn start_ms(&self) -> i64 {
        self.start_unix * 1000
    }
}

impl fmt::Display for EpochId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Construction guarantees the timestamp is in range.
        match OffsetDateTime::from_unix_timestamp(self.start_unix)
            .ok()
            .and_then(|t| t.format(ID_FORMAT).ok())
        {
            Some(text) => f.write_str(&text),
            None => write!(f, "@{}", self.start_unix),
        }
    }
}

impl fmt::Debug for EpochId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EpochId({self})")
    }
}

impl FromStr for EpochId {
    type Err = EpochError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for EpochId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EpochId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EpochId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The configured length of every epoch (4 h in production, seconds in a devnet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochLength {
    secs: u64,
}

impl EpochLength {
    pub const PRODUCTION: EpochLength = EpochLength { secs: 4 * 3600 };
    pub const MAX_SECS: u64 = 7 * 24 * 3600;

    pub fn from_secs(secs: u64) -> Result<Self, EpochError> {
        if secs == 0 || secs > Self::MAX_SECS {
            return Err(EpochError::BadLength(secs));
        }
        Ok(Self { secs })
    }

    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// The epoch containing the Unix second `now_unix`.
    pub fn epoch_containing(&self, now_unix: i64) -> Result<EpochId, EpochError> {
        let len = self.secs as i64;
        EpochId::from_start_unix(now_unix.div_euclid(len) * len)
    }

    /// The window of `id`, checking that `id` is aligned to this length.
    pub fn window(&self, id: EpochId) -> Result<EpochWindow, EpochError> {
        if id.start_unix.rem_euclid(self.secs as i64) != 0 {
            return Err(EpochError::NotAligned {
                id: id.to_string(),
                length_secs: self.secs,
            });
        }
        Ok(EpochWindow {
            id,
            start_unix: id.start_unix,
            end_unix: id.start_unix + self.secs as i64,
        })
    }
}

/// Start and end (exclusive, = the submission deadline) of one epoch, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochWindow {
    pub id: EpochId,
    pub start_unix: i64,
    pub end_unix: i64,
}

impl EpochWindow {
    pub fn start_ms(&self) -> i64 {
        self.start_unix * 1000
    }
    /// The submission deadline: objects last modified after it are ignored.
    pub fn deadline_ms(&self) -> i64 {
        self.end_unix * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_text_form() {
        let id = EpochId::parse("2025-10-01T16-00-00").unwrap();
        assert_eq!(id.start_unix(), 1_759_334_400);
        assert_eq!(id.to_string(), "2025-10-01T16-00-00");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"2025-10-01T16-00-00\"");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "2025-10-01T16:00:00",
            "2025-13-01T16-00-00",
            "2025-10-01T16-00-00Z",
            "",
            "2025-02-30T00-00-00",
        ] {
            assert!(EpochId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aligns_epochs() {
        let len = EpochLength::PRODUCTION;
        let id = len.epoch_containing(1_759_334_400 + 3 * 3600 + 59).unwrap();
        assert_eq!(id.to_string(), "2025-10-01T16-00-00");
        let w = len.window(id).unwrap();
        assert_eq!(w.end_unix - w.start_unix, 14_400);
        let off = EpochId::parse("2025-10-01T17-00-00").unwrap();
        assert!(matches!(len.window(off), Err(EpochError::NotAligned { .. })));
        assert!(EpochLength::from_secs(0).is_err());
        // Before 1970 aligns downwards too.
        assert_eq!(
            EpochLength::from_secs(60)
                .unwrap()
                .epoch_containing(-1)
                .unwrap()
                .start_unix(),
            -60
        );
    }
}
