//! Which finished epochs a validator works on next, and which it gives up:
//! the last `backfill_epochs` that are not done, and older ones whose
//! journal shows work left (weights a chain outage kept from landing),
//! until a newer epoch is done. Weights of an older epoch set after a newer
//! one's would overwrite them on chain, so an unfinished epoch older than a
//! done one is given up, once, and said at error level.

use resi_core::EpochId;

use crate::journal::JournalEntry;

/// What to do with the unfinished epochs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Oldest first.
    pub work: Vec<EpochId>,
    /// Each with the newer done epoch that made it pointless.
    pub give_up: Vec<(EpochId, EpochId)>,
}

/// `window`: the last finished epochs worth validating (oldest first);
/// `journaled`: every epoch with a journal and its entry.
pub fn plan(window: &[EpochId], journaled: &[(EpochId, JournalEntry)]) -> Plan {
    let entry = |e: &EpochId| journaled.iter().find(|(j, _)| j == e).map(|(_, entry)| entry);
    let newest_done = journaled.iter().filter(|(_, j)| j.done).map(|(e, _)| *e).max();
    let mut candidates: Vec<EpochId> = window
        .iter()
        .copied()
        .filter(|e| entry(e).is_none_or(|j| !j.done && j.given_up.is_none()))
        .collect();
    let oldest_in_window = window.iter().min().copied();
    candidates.extend(
        journaled
            .iter()
            .filter(|(e, j)| !j.done && j.given_up.is_none() && oldest_in_window.is_some_and(|w| *e < w))
            .map(|(e, _)| *e),
    );
    candidates.sort();
    candidates.dedup();
    let mut plan = Plan::default();
    for epoch in candidates {
        match newest_done {
            Some(done) if done > epoch => {
                // Only epochs the validator started (a journal) were owed weights.
                if entry(&epoch).is_some() {
                    plan.give_up.push((epoch, done));
                }
            }
            _ => plan.work.push(epoch),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epochs(n: i64) -> Vec<EpochId> {
        (0..n)
            .map(|i| EpochId::from_start_unix(1_759_334_400 + i * 3_600).unwrap())
            .collect()
    }

    fn unfinished() -> JournalEntry {
        JournalEntry {
            uploaded: true,
            ..JournalEntry::default()
        }
    }

    fn done() -> JournalEntry {
        JournalEntry {
            uploaded: true,
            done: true,
            ..JournalEntry::default()
        }
    }

    #[test]
    fn an_outage_longer_than_the_window_keeps_the_old_epochs() {
        let e = epochs(6);
        // Epochs 0-2 got results but no weights (the chain was down); the
        // window has moved on to 3-5, none started.
        let journaled = vec![(e[0], unfinished()), (e[1], unfinished()), (e[2], unfinished())];
        let plan = plan(&e[3..], &journaled);
        assert_eq!(plan.work, e.to_vec(), "oldest first, the old ones too");
        assert!(plan.give_up.is_empty());
    }

    #[test]
    fn a_newer_epochs_weights_end_the_older_ones() {
        let e = epochs(6);
        let journaled = vec![
            (e[0], unfinished()),
            (e[1], unfinished()),
            (e[3], done()),
            (e[4], unfinished()),
        ];
        let plan = plan(&e[3..], &journaled);
        assert_eq!(plan.give_up, vec![(e[0], e[3]), (e[1], e[3])]);
        assert_eq!(plan.work, vec![e[4], e[5]]);
    }

    #[test]
    fn given_up_and_done_epochs_are_left_alone() {
        let e = epochs(4);
        let given_up = JournalEntry {
            given_up: Some("weights of a newer epoch landed".into()),
            ..unfinished()
        };
        let journaled = vec![(e[0], given_up), (e[2], done())];
        let plan = plan(&e[1..], &journaled);
        // Epoch 1 was never started: nothing owed, nothing said.
        assert_eq!(plan.work, vec![e[3]]);
        assert!(plan.give_up.is_empty());
    }
}
