//! `GET /api/v1/dashboard`: what the coordinator's live page shows. Public
//! and read-only; built for the page, not part of the miners' and
//! validators' contract (it is not in the OpenAPI document and may grow).

use resi_core::consensus::ConsensusReport;
use resi_core::{EpochId, Zipcode};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardResponse {
    /// The coordinator's clock, Unix seconds (the page counts down from it).
    pub now: i64,
    pub epoch: DashboardEpoch,
    /// Status reports of the current epoch's miners, by hotkey.
    pub miners: Vec<MinerProgress>,
    /// Finished epochs, newest first, with what their validators published.
    pub recent: Vec<EpochOutcome>,
    /// The last weights set on the chain (local chain only), newest first.
    pub weights: Vec<WeightsSet>,
    /// What the chain backend can show of weights (`ledger` or `none`).
    pub weights_source: String,
    /// Every neuron of the metagraph, by uid: the page shows a uid beside
    /// each hotkey, so its tables read against the weights.
    #[serde(default)]
    pub neurons: Vec<DashboardNeuron>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardNeuron {
    pub uid: u16,
    pub hotkey: String,
    /// A validator by the subnet's rule (permit and minimum stake).
    pub validator: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardEpoch {
    pub id: EpochId,
    pub start: i64,
    /// The submission deadline, Unix seconds.
    pub deadline: i64,
    pub target_listings: u64,
    pub expected_listings: u64,
    /// How many zipcodes the epoch assigns.
    #[serde(default)]
    pub zipcode_count: u64,
    /// The assigned zipcodes, once the deadline has passed: before it only
    /// registered hotkeys learn them (signed `/assignments/current`).
    pub zipcodes: Vec<DashboardZipcode>,
    /// The results version this epoch is validated by, and the upgrade
    /// announced, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::types::RulesAnnouncement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardZipcode {
    pub zipcode: Zipcode,
    pub city: String,
    pub state: String,
    pub expected_listings: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinerProgress {
    pub hotkey: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED` or `TIMEOUT`, as reported.
    pub status: Option<String>,
    pub zipcodes_assigned: Option<u64>,
    pub zipcodes_uploaded: u64,
    pub listings: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochOutcome {
    pub epoch: EpochId,
    pub deadline: i64,
    /// The results version the epoch is validated by.
    #[serde(default)]
    pub results_version: u32,
    /// Validators that published verifiable results, with their hashes.
    pub published: Vec<PublishedResults>,
    /// Validators given upload access that have not published (yet), or
    /// whose file was refused (with why).
    pub missing: Vec<MissingResults>,
    /// Stake-weighted agreement of the published hashes; none before any.
    pub consensus: Option<ConsensusReport>,
    /// The majority's ranking: every miner that submitted, best first.
    pub leaderboard: Vec<LeaderboardRow>,
    pub zipcodes: Vec<ZipcodeWinners>,
    /// The epoch's dataset as validators published it (their signed
    /// manifests, `validators/{hotkey}/{epoch}/dataset.json`).
    #[serde(default)]
    pub datasets: Vec<DatasetSummary>,
}

/// One validator's dataset of an epoch: what `resi dataset stats` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSummary {
    pub publisher: String,
    /// The results hash the rows were chosen by.
    pub consensus_hash: String,
    pub zipcodes: u64,
    pub listings: u64,
    /// Since each zipcode's previous epoch in the dataset.
    pub new: u64,
    pub removed: u64,
    pub price_changed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedResults {
    pub validator: String,
    pub consensus_hash: String,
    pub stake: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingResults {
    pub validator: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardRow {
    pub rank: u32,
    pub miner: String,
    pub zipcodes_won: u64,
    pub zipcodes_submitted: u64,
    /// Share of the epoch's score, parts per billion.
    pub score_ppb: u64,
    /// Why the score is zero (the first refused submission's reason, or
    /// that it won nowhere); none when it scored.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZipcodeWinners {
    pub zipcode: Zipcode,
    pub expected_listings: u64,
    pub submissions: u64,
    pub winners: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightsSet {
    pub epoch: EpochId,
    pub validator: String,
    pub block: u64,
    pub at: i64,
    /// (uid, u16 weight) pairs.
    pub weights: Vec<(u16, u16)>,
}
