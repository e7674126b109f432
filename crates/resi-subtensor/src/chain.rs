//! [`SubtensorChain`]: resi's [`Chain`] on a subtensor node. The metagraph is
//! synced on an interval (and soon after [`MetagraphSource::request_refresh`])
//! and served from memory in between; weights go through
//! [`crate::weights`]; pending reveals are sent by the same background task.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use resi_auth::Keypair;
use resi_chain::{BoxFuture, Chain, ChainError, Metagraph, MetagraphSource, WeightRecord};
use resi_core::weights::WeightVector;
use resi_core::{EpochId, Hotkey};
use resi_runtime::Shutdown;
use tokio::sync::{Mutex, Notify};

use crate::error::SubtensorError;
use crate::metagraph::{self, ChainMetagraph};
use crate::node::Node;
use crate::weights::{self, Due, PendingReveal, RevealJournal, Route, Target};

/// How a [`SubtensorChain`] connects and what it may do.
pub struct SubtensorOptions {
    pub url: String,
    pub netuid: u16,
    /// The subnet mechanism whose weights are set (`[chain] mechanism_id`).
    pub mechanism: u8,
    pub sync_interval: Duration,
    pub inclusion_timeout: Duration,
    /// The validator's hotkey, which signs weight extrinsics; `None` for a
    /// read-only chain (coordinator, miner).
    pub signer: Option<Arc<Keypair>>,
    /// Where commits wait for their reveal (the validator's data directory).
    pub reveal_journal: Option<std::path::PathBuf>,
    pub commit_reveal: weights::CommitRevealMode,
    /// Timelocked commits: encrypt to this drand round instead of the one
    /// the reveal epoch falls in. Only for local chains without drand, with
    /// an already published round (its pulse stored by hand): the runtime
    /// then reveals at once.
    pub timelock_round: Option<u64>,
}

pub struct SubtensorChain {
    node: Node,
    netuid: u16,
    mechanism: u8,
    sync_interval: Duration,
    snapshot: RwLock<Arc<ChainMetagraph>>,
    synced: RwLock<std::time::Instant>,
    signer: Option<Arc<Keypair>>,
    journal: Option<RevealJournal>,
    commit_reveal: weights::CommitRevealMode,
    timelock_round: Option<u64>,
    // One extrinsic at a time per key: the nonce comes from the chain.
    submitting: Mutex<()>,
    wake: Notify,
}

/// Oldest snapshot a refresh request may leave in place.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(5);

impl SubtensorChain {
    /// Connects and reads the metagraph once (so a wrong netuid or an
    /// unreachable node fails at startup, not at the first request).
    pub async fn connect(options: SubtensorOptions) -> Result<Arc<Self>, SubtensorError> {
        let node = Node::new(options.url, options.inclusion_timeout);
        let at = node.at_best().await?;
        let first = metagraph::read(&at, options.netuid).await?;
        tracing::info!(
            url = node.url(),
            netuid = options.netuid,
            block = first.block,
            neurons = first.metagraph.neurons().len(),
            spec = at.spec_version(),
            "subtensor: metagraph synced"
        );
        Ok(Arc::new(Self {
            node,
            netuid: options.netuid,
            mechanism: options.mechanism,
            sync_interval: options.sync_interval,
            snapshot: RwLock::new(Arc::new(first)),
            synced: RwLock::new(std::time::Instant::now()),
            signer: options.signer,
            journal: options.reveal_journal.map(RevealJournal::new),
            commit_reveal: options.commit_reveal,
            timelock_round: options.timelock_round,
            submitting: Mutex::new(()),
            wake: Notify::new(),
        }))
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn netuid(&self) -> u16 {
        self.netuid
    }

    /// The last synced metagraph with its block.
    pub fn snapshot(&self) -> Arc<ChainMetagraph> {
        Arc::clone(&self.snapshot.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Reads the metagraph now and serves it from then on.
    pub async fn sync(&self) -> Result<Arc<ChainMetagraph>, SubtensorError> {
        let at = self.node.at_best().await?;
        let fresh = Arc::new(metagraph::read(&at, self.netuid).await?);
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&fresh);
        *self.synced.write().unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        Ok(fresh)
    }

    /// The background task: sync every interval (sooner on request, never
    /// more often than every few seconds), reveal due commits; errors are
    /// logged and retried with growing waits; ends on shutdown.
    pub fn spawn(self: &Arc<Self>, shutdown: Shutdown) -> tokio::task::JoinHandle<()> {
        let chain = Arc::clone(self);
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let wait = if failures == 0 {
                    chain.sync_interval
                } else {
                    Duration::from_secs(2u64.saturating_pow(failures.min(6))).min(chain.sync_interval)
                };
                tokio::select! {
                    _ = shutdown.wait() => break,
                    _ = tokio::time::sleep(wait) => {}
                    _ = chain.wake.notified() => {
                        tokio::select! {
                            _ = shutdown.wait() => break,
                            _ = tokio::time::sleep(MIN_REFRESH_GAP) => {}
                        }
                    }
                }
                match chain.tick().await {
                    Ok(()) => failures = 0,
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %e, failures, "subtensor: sync failed; the last metagraph is still served");
                    }
                }
            }
        })
    }

    async fn tick(&self) -> Result<(), SubtensorError> {
        self.sync().await?;
        self.reveal_due().await.map(|_| ())
    }

    /// Sends every journaled reveal whose window is open; drops the ones the
    /// chain no longer holds. Returns what was revealed.
    pub async fn reveal_due(&self) -> Result<Vec<weights::PendingReveal>, SubtensorError> {
        let (Some(journal), Some(key)) = (&self.journal, &self.signer) else {
            return Ok(Vec::new());
        };
        let _one = self.submitting.lock().await;
        let pending = journal.load()?;
        let me = key.hotkey().to_string();
        if !pending.iter().any(|p| p.hotkey == me && p.netuid == self.netuid) {
            return Ok(Vec::new());
        }
        let at = self.node.at_best().await?;
        let rules = weights::rules(&at, self.netuid).await?;
        let next_block = at.block_number() + 1;
        // One read of WeightCommits per mechanism, however many reveals wait.
        let mut stored: std::collections::BTreeMap<u16, Vec<weights::StoredCommit>> = Default::default();
        let mut revealed = Vec::new();
        let mut keep = Vec::new();
        let mut queue = pending.into_iter();
        while let Some(p) = queue.next() {
            if p.hotkey != me || p.netuid != self.netuid {
                keep.push(p);
                continue;
            }
            let target = match Target::in_runtime(at.metadata_ref(), p.netuid, p.mechanism) {
                Ok(target) => target,
                Err(e) => {
                    tracing::warn!(epoch = %p.epoch_id, error = %e, "subtensor: reveal kept for a runtime that can take it");
                    keep.push(p);
                    continue;
                }
            };
            let index = target.storage_index();
            if let std::collections::btree_map::Entry::Vacant(slot) = stored.entry(index) {
                match weights::stored_commits(&at, index, &key.public_key()).await {
                    Ok(commits) => {
                        slot.insert(commits);
                    }
                    Err(e) => {
                        keep.push(p);
                        keep.extend(queue);
                        journal.save(&keep)?;
                        return Err(e);
                    }
                }
            }
            let commit = stored
                .get(&index)
                .and_then(|commits| commits.iter().find(|c| Some(c.hash) == p.hash_bytes()));
            let Some(commit) = commit else {
                if p.commit_block.is_some() {
                    tracing::warn!(epoch = %p.epoch_id, hash = %p.hash, "subtensor: commit no longer on chain (revealed or expired); dropped");
                } else {
                    // Never included: the commit failed before the journal learnt its block.
                    tracing::warn!(epoch = %p.epoch_id, hash = %p.hash, "subtensor: commit never reached the chain; dropped");
                }
                continue;
            };
            match commit.due(next_block, rules.schedule.as_ref(), rules.reveal_period_epochs) {
                Due::NotYet => {
                    keep.push(p);
                    continue;
                }
                Due::Passed => {
                    tracing::error!(epoch = %p.epoch_id, hash = %p.hash, window = ?commit.window, "subtensor: reveal window passed; weights lost");
                    continue;
                }
                Due::Now => {}
            }
            let reveal = target.reveal_weights(&p.uids, &p.values, &p.salt, p.version_key);
            match self.node.submit(key, &reveal).await {
                Ok(included) => {
                    tracing::info!(epoch = %p.epoch_id, block = included.block, events = ?included.events, "subtensor: weights revealed");
                    revealed.push(p);
                }
                Err(SubtensorError::NotYet(why)) => {
                    tracing::info!(epoch = %p.epoch_id, %why, "subtensor: reveal not yet");
                    keep.push(p);
                }
                Err(e) => {
                    // This reveal and every one not yet looked at stay journaled.
                    keep.push(p);
                    keep.extend(queue);
                    journal.save(&keep)?;
                    return Err(e);
                }
            }
        }
        journal.save(&keep)?;
        Ok(revealed)
    }

    async fn weights(
        &self,
        validator: &Hotkey,
        epoch: &EpochId,
        weights: &WeightVector,
        now_unix: i64,
    ) -> Result<WeightRecord, SubtensorError> {
        let key = self
            .signer
            .as_ref()
            .ok_or_else(|| SubtensorError::Refused("this chain connection has no signing key".into()))?;
        if &key.hotkey() != validator {
            return Err(SubtensorError::Refused(format!(
                "weights for {validator} cannot be signed with {}",
                key.hotkey()
            )));
        }
        let _one = self.submitting.lock().await;
        let at = self.node.at_best().await?;
        let fresh = metagraph::read(&at, self.netuid).await?;
        let uid = fresh
            .metagraph
            .by_hotkey(validator)
            .ok_or_else(|| SubtensorError::Refused(format!("{validator} is not registered on subnet {}", self.netuid)))?
            .uid;
        let rules = weights::rules(&at, self.netuid).await?;
        let target = Target::in_runtime(at.metadata_ref(), self.netuid, self.mechanism)?;
        let wait = weights::rate_limited_for(&at, &target, uid, &rules).await?;
        if wait > 0 {
            return Err(SubtensorError::NotYet(format!(
                "weights were set less than WeightsSetRateLimit ({}) blocks ago; {wait} blocks to go",
                rules.rate_limit
            )));
        }
        let included = match weights::route(at.metadata_ref(), &target, &rules, self.commit_reveal)? {
            Route::Set => {
                let call = target.set_weights(&weights.uids, &weights.weights, rules.version_key);
                self.node.submit(key, &call).await?
            }
            Route::HashCommit => {
                let journal = self.journal.as_ref().ok_or_else(|| {
                    SubtensorError::Refused("commit-reveal is on but no reveal journal was configured".into())
                })?;
                let salt = weights::new_salt();
                let hash = weights::commit_hash(
                    &key.public_key(),
                    target.storage_index(),
                    &weights.uids,
                    &weights.weights,
                    &salt,
                    rules.version_key,
                );
                let mut pending = journal.load()?;
                pending.push(PendingReveal {
                    netuid: self.netuid,
                    mechanism: self.mechanism,
                    hotkey: validator.to_string(),
                    epoch_id: epoch.to_string(),
                    uids: weights.uids.clone(),
                    values: weights.weights.clone(),
                    salt,
                    version_key: rules.version_key,
                    hash: format!("0x{}", hex::encode(hash)),
                    commit_block: None,
                });
                // Journaled before the commit: a crash after it still reveals.
                journal.save(&pending)?;
                let included = self.node.submit(key, &target.commit_weights(&hash)).await?;
                if let Some(p) = pending.iter_mut().rev().find(|p| p.hash_bytes() == Some(hash)) {
                    p.commit_block = Some(included.block);
                }
                journal.save(&pending)?;
                included
            }
            Route::Timelocked(call) => {
                let payload = weights::timelock_payload(
                    call,
                    &key.public_key(),
                    &weights.uids,
                    &weights.weights,
                    rules.version_key,
                );
                let round = match self.timelock_round {
                    Some(round) => round,
                    None => crate::timelock::reveal_round(
                        now_unix as f64,
                        at.block_number(),
                        rules.first_reveal_block(self.netuid, at.block_number())?,
                        rules.block_secs(),
                    ),
                };
                let sealed =
                    crate::timelock::encrypt(&payload, round).map_err(|e| SubtensorError::Refused(e.to_string()))?;
                let commit = target.timelocked(call, &sealed, round, rules.commit_reveal_version);
                tracing::info!(
                    netuid = self.netuid,
                    round,
                    bytes = sealed.len(),
                    "subtensor: timelocked commit"
                );
                self.node.submit(key, &commit).await?
            }
        };
        tracing::info!(
            netuid = self.netuid,
            block = included.block,
            extrinsic = %included.extrinsic_hash,
            events = ?included.events,
            "subtensor: weights extrinsic included"
        );
        Ok(WeightRecord::new(
            validator,
            uid,
            epoch,
            weights,
            included.block,
            now_unix,
        ))
    }
}

impl MetagraphSource for SubtensorChain {
    fn metagraph(&self) -> Result<Arc<Metagraph>, ChainError> {
        Ok(Arc::clone(&self.snapshot().metagraph))
    }

    fn request_refresh(&self) {
        self.wake.notify_one();
    }

    fn synced(&self) -> Option<std::time::Instant> {
        Some(*self.synced.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Chain for SubtensorChain {
    fn set_weights<'a>(
        &'a self,
        validator: &'a Hotkey,
        epoch: &'a EpochId,
        weights: &'a WeightVector,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<WeightRecord, ChainError>> {
        Box::pin(async move {
            self.weights(validator, epoch, weights, now_unix)
                .await
                .map_err(ChainError::from)
        })
    }
}
