//! The devnet's rules-upgrade rehearsal: what the coordinator announces,
//! who plays the previous release, and the refusals they publish.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use resi_coordinator::rules::{RulesConfig, RulesUpgrade};
use resi_core::results::SignedRefusal;
use resi_core::{EpochId, Hotkey};
use resi_runtime::SharedClock;
use resi_storage::{ObjectKey, Presigner, RetryPolicy, S3Client, S3Config};

use crate::cast::UpgradeRehearsal;
use crate::outcome::Refused;
use crate::DevnetError;

/// The coordinator's `[rules]`: the newest version throughout, or for a
/// rehearsal the previous one with the newest announced from the chosen
/// judged epoch (the judged epochs are `epochs`, in order).
pub(crate) fn rules(rehearsal: Option<UpgradeRehearsal>, epochs: &[EpochId]) -> Result<RulesConfig, DevnetError> {
    let (previous, newest) = UpgradeRehearsal::versions();
    let Some(r) = rehearsal else {
        return Ok(RulesConfig {
            version: newest.number(),
            upgrade: None,
        });
    };
    let from = (r.from_epoch as usize)
        .checked_sub(1)
        .and_then(|i| epochs.get(i))
        .ok_or_else(|| {
            DevnetError(format!(
                "the upgrade epoch {} is not one of the {} epochs run",
                r.from_epoch,
                epochs.len()
            ))
        })?;
    Ok(RulesConfig {
        version: previous.number(),
        upgrade: Some(RulesUpgrade {
            version: newest.number(),
            from_epoch: *from,
        }),
    })
}

/// The validators playing the previous release: the last ones.
pub(crate) fn old_validators(
    rehearsal: Option<UpgradeRehearsal>,
    validators: &[(String, u16, Hotkey)],
) -> BTreeSet<Hotkey> {
    let old = rehearsal.map_or(0, |r| r.old_validators);
    validators
        .iter()
        .skip(validators.len().saturating_sub(old))
        .map(|(_, _, h)| h.clone())
        .collect()
}

/// Who publishes no results for which epoch: the old validators, from the
/// upgrade on.
pub(crate) fn refusing(
    rules: &RulesConfig,
    old: &BTreeSet<Hotkey>,
    epochs: &[EpochId],
) -> BTreeMap<EpochId, BTreeSet<Hotkey>> {
    let (previous, _) = UpgradeRehearsal::versions();
    epochs
        .iter()
        .filter(|e| rules.version_for(e) > previous.number())
        .map(|e| (*e, old.clone()))
        .collect()
}

/// The refusals the old validators published to the bucket, read back and
/// verified as the coordinator's dashboard reads them; a missing or
/// unverifiable one is named as such.
pub(crate) async fn published_refusals(
    s3: S3Config,
    refusing: &BTreeMap<EpochId, BTreeSet<Hotkey>>,
    validators: &[(String, u16, Hotkey)],
    clock: &SharedClock,
) -> Result<Vec<Refused>, DevnetError> {
    let presigner = Presigner::new(s3).map_err(|e| DevnetError(format!("presigning: {e}")))?;
    let client = S3Client::new(RetryPolicy::default()).map_err(|e| DevnetError(format!("S3 client: {e}")))?;
    let mut found = Vec::new();
    for (epoch, hotkeys) in refusing {
        for (name, _, hotkey) in validators.iter().filter(|(_, _, h)| hotkeys.contains(h)) {
            let key = ObjectKey::Refusal {
                validator: hotkey.clone(),
                epoch: *epoch,
            }
            .as_key();
            let now = time::OffsetDateTime::from_unix_timestamp(clock.now_unix())
                .map_err(|e| DevnetError(format!("the clock: {e}")))?;
            let url = presigner
                .get(&key, now, Duration::from_secs(60))
                .map_err(|e| DevnetError(format!("presigning {key}: {e}")))?;
            let reason = match client.get(&url, &key, 64 * 1024).await {
                Err(e) => Err(format!("no refusal published ({e})")),
                Ok(bytes) => serde_json::from_slice::<SignedRefusal>(&bytes)
                    .map_err(|e| format!("not a refusal: {e}"))
                    .and_then(|signed| {
                        resi_auth::refusal::verify(&signed, hotkey)
                            .map(|r| r.reason.clone())
                            .map_err(|e| e.to_string())
                    }),
            };
            found.push(Refused {
                epoch: *epoch,
                validator: name.clone(),
                reason,
            });
        }
    }
    Ok(found)
}
