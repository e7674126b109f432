//! `resi validator --check-upgrade`: the results versions the coordinator
//! announces against the ones this release validates by (PROTOCOL.md §7a).

use std::sync::Arc;

use resi_api::{CoordinatorClient, RulesAnnouncement};
use resi_core::rules::ResultsVersion;
use resi_runtime::SharedClock;

use crate::ValidatorError;

/// What the check found, line by line, and whether this release can
/// validate both the version in force and the announced upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpgradeCheck {
    pub lines: Vec<String>,
    pub ready: bool,
}

/// Asks the coordinator (`GET /healthcheck`) what it announces and judges
/// it for a validator that validates by `newest` at most.
pub async fn check_upgrade(
    coordinator: url::Url,
    key: Arc<resi_auth::Keypair>,
    clock: SharedClock,
    newest: ResultsVersion,
    release: &str,
) -> Result<UpgradeCheck, ValidatorError> {
    let client = CoordinatorClient::new(coordinator, key, clock)?;
    let health = client.health().await?;
    Ok(judge(health.rules, newest, release))
}

/// The judgement itself; a coordinator that announces nothing runs the
/// version epochs had before announcements.
pub fn judge(rules: Option<RulesAnnouncement>, newest: ResultsVersion, release: &str) -> UpgradeCheck {
    let rules = rules.unwrap_or(RulesAnnouncement {
        current_version: ResultsVersion::UNANNOUNCED.number(),
        upgrade: None,
    });
    let mut lines = vec![format!(
        "this release (resi {release}) validates results versions {} to {}",
        ResultsVersion::OLDEST,
        newest.min(ResultsVersion::LATEST)
    )];
    let mut ready = true;
    match ResultsVersion::known_up_to(rules.current_version, newest) {
        Ok(_) => lines.push(format!(
            "the subnet runs results version {}: validated",
            rules.current_version
        )),
        Err(e) => {
            lines.push(format!(
                "the subnet runs results version {}: NOT validated: {e}",
                rules.current_version
            ));
            ready = false;
        }
    }
    match &rules.upgrade {
        None => lines.push("no upgrade is announced".into()),
        Some(upgrade) => match ResultsVersion::known_up_to(upgrade.version, newest) {
            Ok(_) => lines.push(format!(
                "results version {} applies from epoch {}: this release is ready",
                upgrade.version, upgrade.from_epoch
            )),
            Err(e) => {
                lines.push(format!(
                    "results version {} applies from epoch {}: upgrade resi before then ({e})",
                    upgrade.version, upgrade.from_epoch
                ));
                ready = false;
            }
        },
    }
    UpgradeCheck { lines, ready }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_api::AnnouncedUpgrade;
    use resi_core::EpochId;

    fn upgrade_to(version: u32) -> Option<RulesAnnouncement> {
        Some(RulesAnnouncement {
            current_version: 6,
            upgrade: Some(AnnouncedUpgrade {
                version,
                from_epoch: EpochId::parse("2026-12-08T00-00-00").unwrap(),
            }),
        })
    }

    #[test]
    fn an_upgrade_this_release_knows_is_ready_and_one_it_does_not_is_not() {
        let ready = judge(upgrade_to(7), ResultsVersion::LATEST, "0.1.0");
        assert!(ready.ready, "{:?}", ready.lines);
        assert!(ready.lines[2].contains("applies from epoch 2026-12-08T00-00-00: this release is ready"));
        let held = judge(upgrade_to(7), ResultsVersion::V6, "0.1.0");
        assert!(!held.ready);
        assert!(held.lines[2].contains("upgrade resi before then"), "{:?}", held.lines);
        // An older coordinator announces nothing: version 6, no upgrade.
        let quiet = judge(None, ResultsVersion::LATEST, "0.1.0");
        assert!(quiet.ready && quiet.lines[1].contains("version 6") && quiet.lines[2] == "no upgrade is announced");
    }
}
