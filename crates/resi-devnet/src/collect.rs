//! Gathering the validators' reports into whole epochs, as they finish.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use resi_core::{EpochId, Hotkey};
use resi_runtime::SharedClock;
use resi_validator::EpochReport;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::outcome::{EpochOutcome, MinerInfo};
use crate::DevnetEvent;

fn ordered(by_validator: &BTreeMap<Hotkey, EpochReport>, validators: &[(String, u16, Hotkey)]) -> Vec<EpochReport> {
    validators
        .iter()
        .filter_map(|(_, _, h)| by_validator.get(h).cloned())
        .collect()
}

/// Receives reports until every validator finished every epoch in `epochs`
/// (or `give_up_ms` passes), emitting each epoch once it is whole, in order;
/// validators in `refusing` for an epoch (a results version they do not
/// know) are not waited for. Returns the whole epochs.
#[allow(clippy::too_many_arguments)]
pub async fn reports(
    mut rx: UnboundedReceiver<EpochReport>,
    epochs: &[EpochId],
    refusing: &BTreeMap<EpochId, BTreeSet<Hotkey>>,
    miners: &[MinerInfo],
    validators: &[(String, u16, Hotkey)],
    clock: &SharedClock,
    give_up_ms: i64,
    on_event: &mut impl FnMut(DevnetEvent),
) -> Vec<EpochOutcome> {
    let mut collected: BTreeMap<EpochId, BTreeMap<Hotkey, EpochReport>> = BTreeMap::new();
    let mut outcomes = Vec::new();
    while outcomes.len() < epochs.len() {
        let left = give_up_ms - clock.now_ms();
        if left <= 0 {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(left as u64), rx.recv()).await {
            Ok(Some(r)) => {
                collected
                    .entry(r.results.epoch_id)
                    .or_default()
                    .insert(r.validator.clone(), r);
            }
            _ => break,
        }
        while let Some(epoch) = epochs.get(outcomes.len()) {
            let expected = validators.len() - refusing.get(epoch).map_or(0, BTreeSet::len);
            let whole = collected.get(epoch).is_some_and(|m| m.len() == expected);
            if !whole {
                break;
            }
            let outcome = EpochOutcome {
                epoch: *epoch,
                reports: ordered(&collected[epoch], validators),
            };
            on_event(DevnetEvent::EpochFinished {
                outcome: outcome.clone(),
                miners: miners.to_vec(),
                validators: validators.to_vec(),
            });
            outcomes.push(outcome);
        }
    }
    outcomes
}
