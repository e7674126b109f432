//! `[rules]`: which results version each epoch is validated by.
//!
//! Every epoch's assignment announces its version, fixed when the epoch is
//! created; `upgrade` announces the next one ahead of time, from a given
//! epoch, so validators upgrade before it applies and never disagree over
//! which rules an epoch is judged by (PROTOCOL.md §7a).

use resi_core::rules::{ResultsVersion, UnknownResultsVersion};
use resi_core::EpochId;
use serde::{Deserialize, Serialize};

/// `[rules]` in `coordinator.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// The results version epochs are validated by until `upgrade` applies.
    /// Default: the oldest this release knows, so validators still on the
    /// previous release keep validating after the coordinator upgrades.
    pub version: u32,
    /// The next version, and the first epoch it applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<RulesUpgrade>,
}

/// `[rules.upgrade]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesUpgrade {
    pub version: u32,
    /// Epochs starting at or after this one are validated by `version`.
    pub from_epoch: EpochId,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            version: ResultsVersion::OLDEST.number(),
            upgrade: None,
        }
    }
}

/// A `[rules]` section this coordinator cannot announce.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("[rules] version: {0}")]
    Version(UnknownResultsVersion),
    #[error("[rules.upgrade] version: {0}")]
    Upgrade(UnknownResultsVersion),
    #[error("[rules.upgrade] version {next} is not newer than [rules] version {current}")]
    NotNewer { current: u32, next: u32 },
}

impl RulesConfig {
    /// Both versions are ones this release knows (a coordinator announces
    /// nothing its own release could not validate), the upgrade newer.
    pub fn check(&self) -> Result<(), RulesError> {
        ResultsVersion::known(self.version).map_err(RulesError::Version)?;
        if let Some(upgrade) = &self.upgrade {
            ResultsVersion::known(upgrade.version).map_err(RulesError::Upgrade)?;
            if upgrade.version <= self.version {
                return Err(RulesError::NotNewer {
                    current: self.version,
                    next: upgrade.version,
                });
            }
        }
        Ok(())
    }

    /// The version `epoch` is validated by.
    pub fn version_for(&self, epoch: &EpochId) -> u32 {
        match &self.upgrade {
            Some(upgrade) if *epoch >= upgrade.from_epoch => upgrade.version,
            _ => self.version,
        }
    }

    /// What the coordinator says of its rules while `current` runs: the
    /// version in force and the upgrade still to come, if any.
    pub fn announcement(&self, current: &EpochId) -> resi_api::RulesAnnouncement {
        resi_api::RulesAnnouncement {
            current_version: self.version_for(current),
            upgrade: self
                .upgrade
                .as_ref()
                .filter(|u| *current < u.from_epoch)
                .map(|u| resi_api::AnnouncedUpgrade {
                    version: u.version,
                    from_epoch: u.from_epoch,
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(text: &str) -> EpochId {
        EpochId::parse(text).unwrap()
    }

    #[test]
    fn an_upgrade_applies_from_its_epoch_and_is_announced_until_then() {
        let rules: RulesConfig =
            toml::from_str("version = 6\n[upgrade]\nversion = 7\nfrom_epoch = \"2026-12-08T00-00-00\"\n").unwrap();
        rules.check().unwrap();
        let before = epoch("2026-12-07T20-00-00");
        let from = epoch("2026-12-08T00-00-00");
        assert_eq!(rules.version_for(&before), 6);
        assert_eq!(rules.version_for(&from), 7);
        assert_eq!(rules.version_for(&epoch("2026-12-08T04-00-00")), 7);
        let ahead = rules.announcement(&before);
        assert_eq!(ahead.current_version, 6);
        assert_eq!(ahead.upgrade.map(|u| (u.version, u.from_epoch)), Some((7, from)));
        let after = rules.announcement(&from);
        assert_eq!((after.current_version, after.upgrade), (7, None));
    }

    #[test]
    fn versions_this_release_does_not_know_are_refused() {
        let unknown = RulesConfig {
            version: 99,
            upgrade: None,
        };
        assert!(unknown.check().unwrap_err().to_string().contains("results version 99"));
        let backwards = RulesConfig {
            version: 7,
            upgrade: Some(RulesUpgrade {
                version: 6,
                from_epoch: epoch("2026-12-08T00-00-00"),
            }),
        };
        assert!(backwards.check().unwrap_err().to_string().contains("not newer"));
        assert_eq!(RulesConfig::default().version, ResultsVersion::OLDEST.number());
    }
}
