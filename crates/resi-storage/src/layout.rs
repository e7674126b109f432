//! Object keys of the bucket (PROTOCOL.md §3), built and parsed back.
//!
//! ```text
//! data/hotkey={minerHotkey}/epoch={epochId}/zipcode={zipcode}/listings.parquet
//! data/hotkey={minerHotkey}/epoch={epochId}/manifest.json
//! validators/{validatorHotkey}/{epochId}/validation_results.json
//! validators/{validatorHotkey}/{epochId}/refusal.json
//! validators/{validatorHotkey}/{epochId}/dataset.json
//! ```
//! Parsing accepts exactly these shapes: anything else (other prefixes, path
//! traversal, empty segments, malformed hotkeys, epochs or zipcodes) is an error.

use resi_core::{EpochId, Hotkey, Zipcode};

/// A key of the bucket that resi understands.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKey {
    Listings {
        hotkey: Hotkey,
        epoch: EpochId,
        zipcode: Zipcode,
    },
    Manifest {
        hotkey: Hotkey,
        epoch: EpochId,
    },
    Results {
        validator: Hotkey,
        epoch: EpochId,
    },
    /// A validator's signed word that it publishes no results for the
    /// epoch (a results version its release does not know).
    Refusal {
        validator: Hotkey,
        epoch: EpochId,
    },
    /// The signed manifest of the epoch's dataset a validator published
    /// (the dataset itself is wherever that validator keeps it).
    Dataset {
        validator: Hotkey,
        epoch: EpochId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("object key {key:?} is not a resi key: {reason}")]
pub struct LayoutError {
    pub key: String,
    pub reason: String,
}

/// `data/hotkey={hotkey}/epoch={epoch}/`: everything a miner may write in an epoch.
pub fn miner_epoch_prefix(hotkey: &Hotkey, epoch: &EpochId) -> String {
    format!("data/hotkey={hotkey}/epoch={epoch}/")
}

/// `validators/{validator}/{epoch}/`: where a validator publishes its results.
pub fn validator_epoch_prefix(validator: &Hotkey, epoch: &EpochId) -> String {
    format!("validators/{validator}/{epoch}/")
}

/// Every miner object lives under this prefix.
pub const DATA_PREFIX: &str = "data/";
/// Every validator object lives under this prefix.
pub const VALIDATORS_PREFIX: &str = "validators/";

impl ObjectKey {
    pub fn listings(hotkey: Hotkey, epoch: EpochId, zipcode: Zipcode) -> Self {
        Self::Listings { hotkey, epoch, zipcode }
    }

    /// The key's text.
    pub fn as_key(&self) -> String {
        match self {
            Self::Listings { hotkey, epoch, zipcode } => {
                format!(
                    "{}zipcode={zipcode}/listings.parquet",
                    miner_epoch_prefix(hotkey, epoch)
                )
            }
            Self::Manifest { hotkey, epoch } => format!("{}manifest.json", miner_epoch_prefix(hotkey, epoch)),
            Self::Results { validator, epoch } => {
                format!("{}validation_results.json", validator_epoch_prefix(validator, epoch))
            }
            Self::Refusal { validator, epoch } => format!("{}refusal.json", validator_epoch_prefix(validator, epoch)),
            Self::Dataset { validator, epoch } => format!("{}dataset.json", validator_epoch_prefix(validator, epoch)),
        }
    }

    pub fn epoch(&self) -> EpochId {
        match self {
            Self::Listings { epoch, .. }
            | Self::Manifest { epoch, .. }
            | Self::Results { epoch, .. }
            | Self::Refusal { epoch, .. }
            | Self::Dataset { epoch, .. } => *epoch,
        }
    }

    /// Parses a key back; only the shapes above are accepted.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let err = |reason: &str| LayoutError {
            key: key.chars().take(300).collect(),
            reason: reason.to_owned(),
        };
        if key.contains('\\') || key.contains('\0') || key.starts_with('/') {
            return Err(err("backslash, NUL or leading slash"));
        }
        let parts: Vec<&str> = key.split('/').collect();
        if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return Err(err("empty, '.' or '..' path segment"));
        }
        let value = |part: &str, name: &str| -> Result<String, LayoutError> {
            part.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| err(&format!("expected {name}=…, found {part:?}")))
        };
        let hotkey = |text: &str| Hotkey::parse(text).map_err(|e| err(&format!("hotkey: {e}")));
        let epoch = |text: &str| EpochId::parse(text).map_err(|e| err(&format!("epoch: {e}")));
        match parts.as_slice() {
            ["data", h, e, z, "listings.parquet"] => Ok(Self::Listings {
                hotkey: hotkey(&value(h, "hotkey")?)?,
                epoch: epoch(&value(e, "epoch")?)?,
                zipcode: Zipcode::parse(&value(z, "zipcode")?).map_err(|e| err(&format!("zipcode: {e}")))?,
            }),
            ["data", h, e, "manifest.json"] => Ok(Self::Manifest {
                hotkey: hotkey(&value(h, "hotkey")?)?,
                epoch: epoch(&value(e, "epoch")?)?,
            }),
            ["validators", v, e, "validation_results.json"] => Ok(Self::Results {
                validator: hotkey(v)?,
                epoch: epoch(e)?,
            }),
            ["validators", v, e, "refusal.json"] => Ok(Self::Refusal {
                validator: hotkey(v)?,
                epoch: epoch(e)?,
            }),
            ["validators", v, e, "dataset.json"] => Ok(Self::Dataset {
                validator: hotkey(v)?,
                epoch: epoch(e)?,
            }),
            _ => Err(err("not one of the data/… or validators/… shapes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "5Hp5FnteUfPFizXsKtxa6aXP3jfzWApSHJ3yeVRxoRGJV4wT";

    #[test]
    fn round_trips_every_shape() {
        let hotkey = Hotkey::parse(H).unwrap();
        let epoch = EpochId::parse("2025-10-01T16-00-00").unwrap();
        let keys = [
            ObjectKey::listings(hotkey.clone(), epoch, Zipcode::parse("77429").unwrap()),
            ObjectKey::Manifest {
                hotkey: hotkey.clone(),
                epoch,
            },
            ObjectKey::Results {
                validator: hotkey.clone(),
                epoch,
            },
            ObjectKey::Refusal {
                validator: hotkey.clone(),
                epoch,
            },
            ObjectKey::Dataset {
                validator: hotkey,
                epoch,
            },
        ];
        for key in keys {
            assert_eq!(ObjectKey::parse(&key.as_key()).unwrap(), key);
        }
        assert_eq!(
            ObjectKey::parse(&format!(
                "data/hotkey={H}/epoch=2025-10-01T16-00-00/zipcode=77429/listings.parquet"
            ))
            .unwrap()
            .epoch(),
            epoch
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            format!("data/hotkey={H}/epoch=2025-10-01T16-00-00/zipcode=77429/../x/listings.parquet"),
            format!("data/hotkey={H}/epoch=2025-10-01T16-00-00/zipcode=7742/listings.parquet"),
            format!("data/hotkey={H}x/epoch=2025-10-01T16-00-00/manifest.json"),
            format!("data/hotkey={H}/epoch=2025-10-01T16:00:00/manifest.json"),
            format!("data/hotkey={H}/epoch=2025-10-01T16-00-00/zipcode=77429/other.parquet"),
            format!("/data/hotkey={H}/epoch=2025-10-01T16-00-00/manifest.json"),
            format!("data//hotkey={H}/epoch=2025-10-01T16-00-00/manifest.json"),
            format!("other/hotkey={H}/epoch=2025-10-01T16-00-00/manifest.json"),
            format!("data/miner={H}/epoch=2025-10-01T16-00-00/manifest.json"),
            format!("validators/{H}/2025-10-01T16-00-00/../validation_results.json"),
            "".to_owned(),
        ] {
            assert!(ObjectKey::parse(&bad).is_err(), "{bad}");
        }
    }
}
