//! Setting weights the way the connected subnet wants them: a plain
//! `set_weights` when commit-reveal is off, a hash commit and a later reveal
//! when it is on. The commit's salt and weights are written to the reveal
//! journal before the commit is submitted, so a validator restarted between
//! commit and reveal still reveals.

use std::path::{Path, PathBuf};

use blake2::Digest;
use serde::{Deserialize, Serialize};
use subxt::dynamic::Value;
use subxt::ext::codec::Encode;
use subxt::ext::scale_value::Composite;
use subxt::utils::AccountId32;

use crate::error::SubtensorError;
use crate::node::{self, AtBlock};

const MODULE: &str = "SubtensorModule";

/// A call built from dynamic values, encoded against the runtime's metadata.
pub type Call = subxt::tx::DynamicPayload<Composite<()>>;

pub fn call(pallet: &str, name: &str, fields: Vec<Value>) -> Call {
    subxt::dynamic::tx(pallet, name, Composite::unnamed(fields))
}

/// The subnet's weight-setting rules as of one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightRules {
    pub version_key: u64,
    pub rate_limit: u64,
    pub commit_reveal: bool,
    pub reveal_period_epochs: u64,
    pub tempo: u64,
    /// `CommitRevealWeightsVersion` where the runtime has it.
    pub commit_reveal_version: Option<u64>,
}

pub async fn rules(at: &AtBlock, netuid: u16) -> Result<WeightRules, SubtensorError> {
    Ok(WeightRules {
        version_key: node::storage::<_, u64>(at, MODULE, "WeightsVersionKey", (netuid,)).await?,
        rate_limit: node::storage::<_, u64>(at, MODULE, "WeightsSetRateLimit", (netuid,)).await?,
        commit_reveal: node::storage::<_, bool>(at, MODULE, "CommitRevealWeightsEnabled", (netuid,)).await?,
        reveal_period_epochs: node::storage::<_, u64>(at, MODULE, "RevealPeriodEpochs", (netuid,)).await?,
        tempo: node::storage::<_, u16>(at, MODULE, "Tempo", (netuid,)).await?.into(),
        commit_reveal_version: if node::has_storage(at, MODULE, "CommitRevealWeightsVersion") {
            Some(
                node::storage::<_, u16>(at, MODULE, "CommitRevealWeightsVersion", ())
                    .await?
                    .into(),
            )
        } else {
            None
        },
    })
}

/// Blocks until `uid` may set weights again (0: now).
pub async fn rate_limited_for(at: &AtBlock, netuid: u16, uid: u16, rules: &WeightRules) -> Result<u64, SubtensorError> {
    if rules.rate_limit == 0 {
        return Ok(0);
    }
    let last: Vec<u64> = node::storage(at, MODULE, "LastUpdate", (netuid,)).await?;
    let last = last.get(uid as usize).copied().unwrap_or(0);
    // The extrinsic lands in the next block.
    Ok(blocks_to_wait(last, rules.rate_limit, at.block_number() + 1))
}

/// The runtime's `check_rate_limit` (subtensor `subnets/weights.rs`, the
/// same at spec 293 and at HEAD): a uid that never set weights (its
/// `LastUpdate` is the storage default, 0) may set them at once; otherwise
/// at the block where `block − last ≥ rate_limit`. Blocks from `block` (the
/// one the extrinsic would land in) until then.
pub fn blocks_to_wait(last_update: u64, rate_limit: u64, block: u64) -> u64 {
    if last_update == 0 {
        return 0;
    }
    last_update.saturating_add(rate_limit).saturating_sub(block)
}

/// How the weights go on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `set_weights(netuid, dests, weights, version_key)`.
    Set,
    /// `commit_weights(netuid, hash)` now, `reveal_weights(…)` in the reveal epoch.
    HashCommit,
    /// The weights encrypted to a drand round; the runtime reveals them itself.
    Timelocked(TimelockCall),
}

/// The connected runtime's timelocked commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelockCall {
    /// Spec ~230–300: `commit_crv3_weights(netuid, commit, reveal_round)`,
    /// payload (uids, values, version_key).
    Crv3,
    /// Today: `commit_timelocked_weights(netuid, commit, reveal_round,
    /// commit_reveal_version)`, payload (hotkey, uids, values, version_key).
    Timelocked,
}

pub use resi_chain::CommitRevealMode;

/// The route for these rules in this runtime. With commit-reveal on, a plain
/// `set_weights` is never sent: the chain rejects it (`CommitRevealEnabled`).
pub fn route(at: &AtBlock, rules: &WeightRules, mode: CommitRevealMode) -> Result<Route, SubtensorError> {
    if !rules.commit_reveal {
        return Ok(Route::Set);
    }
    if mode == CommitRevealMode::Auto {
        if node::has_call(at, MODULE, "commit_timelocked_weights") {
            return Ok(Route::Timelocked(TimelockCall::Timelocked));
        }
        if node::has_call(at, MODULE, "commit_crv3_weights") {
            return Ok(Route::Timelocked(TimelockCall::Crv3));
        }
    }
    if node::has_call(at, MODULE, "commit_weights") && node::has_call(at, MODULE, "reveal_weights") {
        return Ok(Route::HashCommit);
    }
    Err(SubtensorError::Refused(format!(
        "the subnet has commit-reveal on (version {:?}) and this runtime offers no commit call resi knows; \
         weights were not set",
        rules.commit_reveal_version
    )))
}

/// The plaintext of a timelocked commit: SCALE of (hotkey bytes, for the
/// current call), uids, values, version_key.
pub fn timelock_payload(
    call: TimelockCall,
    hotkey: &[u8; 32],
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Vec<u8> {
    let (uids, values) = (uids.to_vec(), values.to_vec());
    match call {
        TimelockCall::Timelocked => (hotkey.to_vec(), uids, values, version_key).encode(),
        TimelockCall::Crv3 => (uids, values, version_key).encode(),
    }
}

pub fn timelocked_call(
    call: TimelockCall,
    netuid: u16,
    commit: &[u8],
    reveal_round: u64,
    version: Option<u64>,
) -> Call {
    match call {
        TimelockCall::Crv3 => self::call(
            MODULE,
            "commit_crv3_weights",
            vec![
                Value::u128(netuid.into()),
                Value::from_bytes(commit),
                Value::u128(reveal_round.into()),
            ],
        ),
        TimelockCall::Timelocked => self::call(
            MODULE,
            "commit_timelocked_weights",
            vec![
                Value::u128(netuid.into()),
                Value::from_bytes(commit),
                Value::u128(reveal_round.into()),
                Value::u128(version.unwrap_or(4).into()),
            ],
        ),
    }
}

/// The commit hash the chain recomputes at reveal:
/// BLAKE2b-256(hotkey ‖ SCALE(netuid: u16, uids: Vec<u16>, values: Vec<u16>,
/// salt: Vec<u16>, version_key: u64)).
pub fn commit_hash(
    hotkey: &[u8; 32],
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let mut payload = hotkey.to_vec();
    (netuid, uids, values, salt, version_key).encode_to(&mut payload);
    blake2::Blake2b::<blake2::digest::consts::U32>::digest(&payload).into()
}

/// A committed (or about to be committed) set of weights awaiting its reveal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingReveal {
    pub netuid: u16,
    pub hotkey: String,
    pub epoch_id: String,
    pub uids: Vec<u16>,
    pub values: Vec<u16>,
    pub salt: Vec<u16>,
    pub version_key: u64,
    pub hash: String,
    /// The block that included the commit; `None` until it is known.
    pub commit_block: Option<u64>,
}

impl PendingReveal {
    pub fn hash_bytes(&self) -> Option<[u8; 32]> {
        let bytes = hex::decode(self.hash.trim_start_matches("0x")).ok()?;
        bytes.try_into().ok()
    }
}

/// The reveal journal: a JSON array, replaced atomically on every change.
#[derive(Clone, Debug)]
pub struct RevealJournal {
    path: PathBuf,
}

impl RevealJournal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Vec<PendingReveal>, SubtensorError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SubtensorError::Journal(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(SubtensorError::Journal(format!("{}: {e}", self.path.display()))),
        }
    }

    pub fn save(&self, pending: &[PendingReveal]) -> Result<(), SubtensorError> {
        let io = |e: std::io::Error| SubtensorError::Journal(format!("{}: {e}", self.path.display()));
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let body = serde_json::to_vec_pretty(pending).map_err(|e| SubtensorError::Journal(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// A fresh salt: eight random u16, as the Python SDK makes them.
pub fn new_salt() -> Vec<u16> {
    (0..8).map(|_| rand::random::<u16>()).collect()
}

pub fn set_weights_call(netuid: u16, uids: &[u16], values: &[u16], version_key: u64) -> Call {
    call(
        MODULE,
        "set_weights",
        vec![
            Value::u128(netuid.into()),
            u16_list(uids),
            u16_list(values),
            Value::u128(version_key.into()),
        ],
    )
}

pub fn commit_call(netuid: u16, hash: &[u8; 32]) -> Call {
    call(
        MODULE,
        "commit_weights",
        vec![Value::u128(netuid.into()), Value::from_bytes(hash)],
    )
}

pub fn reveal_call(p: &PendingReveal) -> Call {
    call(
        MODULE,
        "reveal_weights",
        vec![
            Value::u128(p.netuid.into()),
            u16_list(&p.uids),
            u16_list(&p.values),
            u16_list(&p.salt),
            Value::u128(p.version_key.into()),
        ],
    )
}

fn u16_list(values: &[u16]) -> Value {
    Value::unnamed_composite(values.iter().map(|v| Value::u128((*v).into())))
}

/// A commit as the chain stores it: (hash, commit block, first reveal block,
/// last reveal block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredCommit {
    pub hash: [u8; 32],
    pub commit_block: u64,
    pub first_reveal_block: u64,
    pub last_reveal_block: u64,
}

pub async fn stored_commits(at: &AtBlock, netuid: u16, hotkey: &[u8; 32]) -> Result<Vec<StoredCommit>, SubtensorError> {
    let rows: Vec<([u8; 32], u64, u64, u64)> =
        node::storage(at, MODULE, "WeightCommits", (netuid, AccountId32(*hotkey))).await?;
    Ok(rows
        .into_iter()
        .map(
            |(hash, commit_block, first_reveal_block, last_reveal_block)| StoredCommit {
                hash,
                commit_block,
                first_reveal_block,
                last_reveal_block,
            },
        )
        .collect())
}

/// The validator's weights in chain storage: `Weights(netuid, uid)` as
/// (uid, value) pairs.
pub async fn stored_weights(at: &AtBlock, netuid: u16, uid: u16) -> Result<Vec<(u16, u16)>, SubtensorError> {
    node::storage(at, MODULE, "Weights", (netuid, uid)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use subxt::ext::codec::Compact;

    /// The runtime's `check_rate_limit` at its threshold, and its exception
    /// for a uid that never set weights.
    #[test]
    fn the_rate_limit_is_the_runtimes() {
        // Set at block 100, limit 100: allowed at block 200, not at 199.
        assert_eq!(blocks_to_wait(100, 100, 199), 1);
        assert_eq!(blocks_to_wait(100, 100, 200), 0);
        assert_eq!(blocks_to_wait(100, 100, 5_000), 0);
        // Never set (LastUpdate 0): allowed at once, even at block 50 of a
        // limit of 100, which `block − 0 ≥ 100` alone would refuse.
        assert_eq!(blocks_to_wait(0, 100, 50), 0);
        assert_eq!(blocks_to_wait(0, 0, 1), 0);
    }

    #[test]
    fn compact_lengths_are_scale() {
        let enc = |n: u32| Compact(n).encode();
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(63), [252]);
        assert_eq!(enc(64), [1, 1]);
        assert_eq!(enc(16_383), [253, 255]);
        assert_eq!(enc(16_384), [2, 0, 1, 0]);
    }

    #[test]
    fn the_commit_hash_covers_every_input() {
        let key = [7u8; 32];
        let base = commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 0);
        assert_ne!(
            base,
            commit_hash(&key, 3, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 0)
        );
        assert_ne!(
            base,
            commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 9], 0)
        );
        assert_ne!(
            base,
            commit_hash(&key, 2, &[2, 3], &[65535, 12345], &[1, 2, 3, 4, 5, 6, 7, 8], 1)
        );
    }

    #[test]
    fn the_journal_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let journal = RevealJournal::new(dir.path().join("reveals.json"));
        assert!(journal.load().unwrap().is_empty());
        let p = PendingReveal {
            netuid: 2,
            hotkey: "5F".into(),
            epoch_id: "e".into(),
            uids: vec![1],
            values: vec![65535],
            salt: new_salt(),
            version_key: 0,
            hash: format!("0x{}", hex::encode([1u8; 32])),
            commit_block: Some(10),
        };
        journal.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(RevealJournal::new(journal.path()).load().unwrap(), vec![p.clone()]);
        assert_eq!(p.hash_bytes(), Some([1u8; 32]));
        std::fs::write(journal.path(), b"{").unwrap();
        assert!(matches!(journal.load(), Err(SubtensorError::Journal(_))));
    }
}
