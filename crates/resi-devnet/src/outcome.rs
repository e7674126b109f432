//! What a devnet run came to, and the judgement of it: pure data, no I/O.

use resi_chain::WeightRecord;
use resi_core::consensus::ConsensusStatus;
use resi_core::{EpochId, Hotkey};
use resi_sim::Profile;
use resi_validator::EpochReport;

pub fn status_text(status: ConsensusStatus) -> &'static str {
    match status {
        ConsensusStatus::PerfectConsensus => "PERFECT_CONSENSUS",
        ConsensusStatus::MajorityConsensus => "MAJORITY_CONSENSUS",
        ConsensusStatus::ConsensusFailed => "CONSENSUS_FAILED",
    }
}

/// One miner of the devnet.
#[derive(Clone, Debug)]
pub struct MinerInfo {
    pub name: String,
    pub uid: u16,
    pub hotkey: Hotkey,
    pub profile: Profile,
}

/// One epoch as the validators saw it.
#[derive(Clone, Debug)]
pub struct EpochOutcome {
    pub epoch: EpochId,
    /// One report per validator, in validator order.
    pub reports: Vec<EpochReport>,
}

/// How the run went.
#[derive(Clone, Debug)]
pub struct DevnetOutcome {
    pub epochs: Vec<EpochOutcome>,
    pub miners: Vec<MinerInfo>,
    pub validators: Vec<(String, u16, Hotkey)>,
    /// Worst consensus status any validator reported in any epoch.
    pub consensus: ConsensusStatus,
    /// Every validator of every epoch published the same consensus hash.
    pub hashes_agree: bool,
    /// Honest miners paid in at least one epoch. One scrape, one reward
    /// (PROTOCOL.md §6): an honest miner beaten to the same listings by a
    /// faster one earns nothing for them, so not every honest miner is paid.
    pub honest_rewarded: usize,
    /// Honest miners with a failed submission in some epoch: always 0 when
    /// the rules are right.
    pub honest_failed: usize,
    pub honest_total: usize,
    pub cheaters_rewarded: usize,
    pub cheaters_total: usize,
    /// The weights the verdict judged: the ledger file, or on a chain each
    /// validator's `Weights` read back from chain storage.
    pub ledger: Vec<WeightRecord>,
    /// On a chain: its URL and the devnet's subnet.
    pub on_chain: Option<(String, u16)>,
    /// Epochs that did not finish in time (no report from some validator).
    pub missing_epochs: usize,
    /// A rules-upgrade rehearsal: the version it upgraded to, from which
    /// epoch, and each refusal the old validators published.
    pub upgrade: Option<UpgradeOutcome>,
    /// The judged epochs' dataset, or why it could not be published.
    pub dataset: Option<Result<DatasetOutcome, String>>,
}

/// The dataset the devnet published.
#[derive(Clone, Debug)]
pub struct DatasetOutcome {
    /// Where it was published (`s3://…` or a folder), for people.
    pub location: String,
    /// The same files on this machine: the folder holding `dataset/`
    /// (`resi dataset stats --dir local_root` reads it).
    pub local_root: std::path::PathBuf,
    pub manifests: Vec<resi_dataset::DatasetManifest>,
    pub stats: Vec<resi_dataset::stats::EpochStats>,
}

/// What a rules-upgrade rehearsal came to.
#[derive(Clone, Debug)]
pub struct UpgradeOutcome {
    pub version: u32,
    pub from_epoch: EpochId,
    /// One per old validator and epoch from the upgrade on.
    pub refusals: Vec<Refused>,
}

/// A validator that published no results for an epoch, and its signed
/// reason (or why none could be read).
#[derive(Clone, Debug)]
pub struct Refused {
    pub epoch: EpochId,
    pub validator: String,
    pub reason: Result<String, String>,
}

impl DevnetOutcome {
    /// Validators agreed, honest work was paid and never failed, no cheater
    /// was paid, every epoch finished.
    pub fn passed(&self) -> bool {
        self.consensus == ConsensusStatus::PerfectConsensus
            && self.hashes_agree
            && self.cheaters_rewarded == 0
            && self.honest_failed == 0
            && (self.honest_total == 0 || self.honest_rewarded > 0)
            && self.missing_epochs == 0
            && self
                .upgrade
                .as_ref()
                .is_none_or(|u| !u.refusals.is_empty() && u.refusals.iter().all(|r| r.reason.is_ok()))
    }

    /// For a rehearsal: `upgrade: results version 7 from epoch E; validator-2 refused 2 epochs: <reason>`.
    pub fn upgrade_verdict(&self) -> Option<String> {
        let u = self.upgrade.as_ref()?;
        let mut by_validator: std::collections::BTreeMap<&str, Vec<&Refused>> = Default::default();
        for r in &u.refusals {
            by_validator.entry(r.validator.as_str()).or_default().push(r);
        }
        let said: Vec<String> = by_validator
            .iter()
            .map(|(name, refused)| {
                let reason = refused
                    .iter()
                    .map(|r| r.reason.clone().unwrap_or_else(|e| e))
                    .next()
                    .unwrap_or_default();
                format!("{name} refused {} epochs: {reason}", refused.len())
            })
            .collect();
        Some(format!(
            "upgrade: results version {} from epoch {}; {}",
            u.version,
            u.from_epoch,
            if said.is_empty() {
                "no validator refused".to_owned()
            } else {
                said.join("; ")
            }
        ))
    }

    /// `devnet: <K> epochs, consensus <STATUS>, honest rewarded a/b (f failed), cheaters rewarded c/d`.
    pub fn verdict(&self) -> String {
        format!(
            "devnet: {} epochs, consensus {}, honest rewarded {}/{} ({} failed), cheaters rewarded {}/{}",
            self.epochs.len() + self.missing_epochs,
            status_text(self.consensus),
            self.honest_rewarded,
            self.honest_total,
            self.honest_failed,
            self.cheaters_rewarded,
            self.cheaters_total
        )
    }
}

fn rank(status: ConsensusStatus) -> u8 {
    match status {
        ConsensusStatus::PerfectConsensus => 0,
        ConsensusStatus::MajorityConsensus => 1,
        ConsensusStatus::ConsensusFailed => 2,
    }
}

pub(crate) fn judge(
    epochs: Vec<EpochOutcome>,
    wanted: usize,
    miners: Vec<MinerInfo>,
    validators: Vec<(String, u16, Hotkey)>,
    ledger: Vec<WeightRecord>,
) -> DevnetOutcome {
    let mut consensus = if epochs.is_empty() {
        ConsensusStatus::ConsensusFailed
    } else {
        ConsensusStatus::PerfectConsensus
    };
    let mut hashes_agree = true;
    for e in &epochs {
        for r in &e.reports {
            if rank(r.consensus.status) > rank(consensus) {
                consensus = r.consensus.status;
            }
        }
        let first = e.reports.first().map(|r| r.results.consensus_hash.clone());
        hashes_agree &= e
            .reports
            .iter()
            .all(|r| Some(&r.results.consensus_hash) == first.as_ref());
    }
    let score_in = |e: &EpochOutcome, h: &Hotkey| -> u64 {
        e.reports
            .first()
            .and_then(|r| r.results.miner_scores.iter().find(|s| &s.hotkey == h))
            .map_or(0, |s| s.score_ppb)
    };
    let weight_of = |uid: u16| -> bool {
        ledger
            .iter()
            .any(|r| r.uids.iter().zip(&r.weights).any(|(u, w)| *u == uid && *w > 0))
    };
    let (honest, cheaters): (Vec<&MinerInfo>, Vec<&MinerInfo>) = miners.iter().partition(|m| m.profile.is_honest());
    let honest_rewarded = honest
        .iter()
        .filter(|m| epochs.iter().any(|e| score_in(e, &m.hotkey) > 0))
        .count();
    let failed_in = |e: &EpochOutcome, h: &Hotkey| -> bool {
        e.reports.first().is_some_and(|r| {
            r.results
                .zipcodes
                .iter()
                .flat_map(|z| z.submissions.iter())
                .any(|s| &s.hotkey == h && s.status == resi_core::results::Status::Failed)
        })
    };
    let honest_failed = honest
        .iter()
        .filter(|m| epochs.iter().any(|e| failed_in(e, &m.hotkey)))
        .count();
    let cheaters_rewarded = cheaters
        .iter()
        .filter(|m| epochs.iter().any(|e| score_in(e, &m.hotkey) > 0) || weight_of(m.uid))
        .count();
    DevnetOutcome {
        missing_epochs: wanted - epochs.len(),
        honest_total: honest.len(),
        cheaters_total: cheaters.len(),
        epochs,
        consensus,
        hashes_agree,
        honest_rewarded,
        honest_failed,
        cheaters_rewarded,
        miners,
        validators,
        ledger,
        on_chain: None,
        upgrade: None,
        dataset: None,
    }
}
