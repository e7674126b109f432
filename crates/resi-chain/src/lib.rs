//! resi-chain: what resi needs from the chain, behind one small interface.
//!
//! The subnet's metagraph (registered neurons with uid, hotkey, coldkey,
//! stake and validator permit) and setting weights. Backends: `local` (this
//! crate: a JSON file of neurons and an append-only weight ledger, for
//! development and tests) and `subtensor` (a real node: the crate
//! `resi-subtensor`, which implements these traits).
//!
//! Architecture invariant: callers see only [`Chain`] and [`Metagraph`]; no
//! other crate reads the metagraph or ledger files or talks to a node.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod ledger;
pub mod local;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::{
    refuse_moved_validator_min_stake, tokens_to_units, ChainBackend, ChainConfig, ChainConfigError, CommitRevealMode,
    Network, DEFAULT_VALIDATOR_MIN_STAKE, UNITS_PER_TOKEN,
};

pub use ledger::{LedgerError, WeightRecord};
pub use local::{LocalMetagraph, MetagraphError};
use resi_core::weights::WeightVector;
pub use resi_core::Neuron;
use resi_core::{EpochId, Hotkey};

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("metagraph: {0}")]
    Metagraph(MetagraphError),
    #[error("weight ledger: {0}")]
    Ledger(LedgerError),
    #[error("{0} is not registered on the subnet")]
    NotRegistered(Hotkey),
    /// The node could not be reached or did not answer in time: retry later.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// The chain will accept this later (rate limit, reveal window): retry later.
    #[error("not yet: {0}")]
    NotYet(String),
    /// The chain refused the call; the same call will be refused again.
    #[error("refused by the chain: {0}")]
    Refused(String),
}

impl ChainError {
    /// Whether trying again later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChainError::Unavailable(_) | ChainError::NotYet(_))
    }
}

/// A boxed future, so that [`Chain`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The chain's read side: what the coordinator and miners need.
pub trait MetagraphSource: Send + Sync {
    /// The current metagraph, shared: reading it copies nothing.
    fn metagraph(&self) -> Result<Arc<Metagraph>, ChainError>;

    /// Asks for a fresh metagraph soon (a hotkey was not found, say). Backends
    /// that read a node rate-limit this; the local backend rereads its file
    /// anyway.
    fn request_refresh(&self) {}

    /// When the metagraph served now was read from the chain (or its file),
    /// if the backend knows: operators watch its age.
    fn synced(&self) -> Option<Instant> {
        None
    }

    /// The last `limit` weight settings, oldest first, when the backend
    /// keeps them at hand (the local ledger); `None` when it does not (a
    /// node: look at the chain's explorer).
    fn recent_weights(&self, limit: usize) -> Result<Option<Vec<WeightRecord>>, ChainError> {
        let _ = limit;
        Ok(None)
    }
}

/// What validators need from the chain: the metagraph and setting weights.
pub trait Chain: MetagraphSource {
    /// Sets `validator`'s weights (already converted to u16) for `epoch`; on
    /// a subnet with commit-reveal, commits them (the backend reveals them
    /// when the chain allows). The record's `block` is the including block.
    fn set_weights<'a>(
        &'a self,
        validator: &'a Hotkey,
        epoch: &'a EpochId,
        weights: &'a WeightVector,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<WeightRecord, ChainError>>;
}

/// The `local` backend: a metagraph file and a weight ledger beside it.
pub struct LocalChain {
    metagraph: Mutex<Watched>,
    /// Set by [`MetagraphSource::request_refresh`]: look at the file on the next read.
    refresh: AtomicBool,
    recheck: Duration,
    ledger: PathBuf,
    // Serializes appends from validators in one process.
    append: Mutex<()>,
}

/// The metagraph file and when it was last looked at.
struct Watched {
    file: LocalMetagraph,
    checked: Option<Instant>,
}

/// How often the file is looked at (one `stat`) when nobody asks for a
/// refresh: reads between two checks share one snapshot, so a busy
/// coordinator does not touch the file system per request.
pub const LOCAL_RECHECK: Duration = Duration::from_secs(1);

impl LocalChain {
    pub fn open(metagraph: &Path) -> Result<Self, ChainError> {
        Ok(Self {
            metagraph: Mutex::new(Watched {
                file: LocalMetagraph::open(metagraph)?,
                checked: Some(Instant::now()),
            }),
            refresh: AtomicBool::new(false),
            recheck: LOCAL_RECHECK,
            ledger: ledger::beside(metagraph),
            append: Mutex::new(()),
        })
    }

    /// Looks at the file at most once per `interval` unless asked to
    /// refresh ([`LOCAL_RECHECK`] by default).
    pub fn with_recheck(mut self, interval: Duration) -> Self {
        self.recheck = interval;
        self
    }

    pub fn ledger_path(&self) -> &Path {
        &self.ledger
    }
}

impl MetagraphSource for LocalChain {
    fn metagraph(&self) -> Result<Arc<Metagraph>, ChainError> {
        let mut watched = self.metagraph.lock().unwrap_or_else(|p| p.into_inner());
        let due = watched.checked.is_none_or(|at| at.elapsed() >= self.recheck);
        if !(due || self.refresh.swap(false, Ordering::Relaxed)) {
            return Ok(watched.file.cached());
        }
        // An unreadable file is looked at again on the next read.
        watched.checked = None;
        let current = watched.file.current()?;
        watched.checked = Some(Instant::now());
        Ok(current)
    }

    fn request_refresh(&self) {
        self.refresh.store(true, Ordering::Relaxed);
    }

    fn synced(&self) -> Option<Instant> {
        self.metagraph.lock().unwrap_or_else(|p| p.into_inner()).checked
    }

    fn recent_weights(&self, limit: usize) -> Result<Option<Vec<WeightRecord>>, ChainError> {
        let mut all = ledger::read(&self.ledger)?;
        let skip = all.len().saturating_sub(limit);
        Ok(Some(all.split_off(skip)))
    }
}

impl Chain for LocalChain {
    fn set_weights<'a>(
        &'a self,
        validator: &'a Hotkey,
        epoch: &'a EpochId,
        weights: &'a WeightVector,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<WeightRecord, ChainError>> {
        Box::pin(std::future::ready(
            self.append_weights(validator, epoch, weights, now_unix),
        ))
    }
}

impl LocalChain {
    fn append_weights(
        &self,
        validator: &Hotkey,
        epoch: &EpochId,
        weights: &WeightVector,
        now_unix: i64,
    ) -> Result<WeightRecord, ChainError> {
        let metagraph = self.metagraph()?;
        let uid = metagraph
            .by_hotkey(validator)
            .ok_or_else(|| ChainError::NotRegistered(validator.clone()))?
            .uid;
        let _guard = self.append.lock().unwrap_or_else(|p| p.into_inner());
        let record = WeightRecord::new(validator, uid, epoch, weights, 0, now_unix);
        Ok(ledger::append(&self.ledger, record)?)
    }
}

/// The registered neurons of the subnet, by uid, with an index by hotkey:
/// the coordinator looks a caller up on every signed request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metagraph {
    neurons: Vec<Neuron>,
    /// Public key → position in `neurons` (the first, should a hotkey appear twice).
    by_key: HashMap<[u8; 32], usize>,
}

impl Metagraph {
    pub fn new(mut neurons: Vec<Neuron>) -> Self {
        neurons.sort_by_key(|n| n.uid);
        let mut by_key = HashMap::with_capacity(neurons.len());
        for (i, n) in neurons.iter().enumerate() {
            by_key.entry(*n.hotkey.public_key()).or_insert(i);
        }
        Self { neurons, by_key }
    }

    pub fn neurons(&self) -> &[Neuron] {
        &self.neurons
    }

    pub fn by_hotkey(&self, hotkey: &resi_core::Hotkey) -> Option<&Neuron> {
        self.by_key.get(hotkey.public_key()).map(|&i| &self.neurons[i])
    }

    /// The next uid not taken.
    pub fn next_uid(&self) -> Option<u16> {
        (0..=u16::MAX).find(|uid| !self.neurons.iter().any(|n| n.uid == *uid))
    }

    /// A fixed-width table for people.
    pub fn table(&self, validator_min_stake: u64) -> String {
        let mut out = format!(
            "{:>5}  {:<48}  {:<48}  {:>20}  {}\n",
            "uid", "hotkey", "coldkey", "stake (rao)", "validator"
        );
        for n in &self.neurons {
            out.push_str(&format!(
                "{:>5}  {:<48}  {:<48}  {:>20}  {}\n",
                n.uid,
                n.hotkey,
                n.coldkey,
                n.stake,
                if n.is_validator(validator_min_stake) {
                    "yes"
                } else {
                    "no"
                }
            ));
        }
        out
    }
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<MetagraphError> for ChainError {
    fn from(e: MetagraphError) -> Self {
        ChainError::Metagraph(e)
    }
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<LedgerError> for ChainError {
    fn from(e: LedgerError) -> Self {
        ChainError::Ledger(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> Hotkey {
        Hotkey::from_public_key([i; 32])
    }

    #[test]
    fn the_local_file_is_looked_at_when_due_or_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metagraph.json");
        local::register(&path, key(1), key(9), 0, false).unwrap();
        let chain = LocalChain::open(&path)
            .unwrap()
            .with_recheck(Duration::from_secs(3_600));
        let first = chain.metagraph().unwrap();
        assert!(first.by_hotkey(&key(1)).is_some());
        assert!(first.by_hotkey(&key(2)).is_none());

        // Registered since: reads before the next check share the snapshot…
        local::register(&path, key(2), key(9), 0, false).unwrap();
        assert!(Arc::ptr_eq(&chain.metagraph().unwrap(), &first));
        // …until someone asks for a refresh.
        chain.request_refresh();
        let fresh = chain.metagraph().unwrap();
        assert_eq!(fresh.by_hotkey(&key(2)).map(|n| n.uid), Some(1));
        assert_eq!(fresh.by_hotkey(&key(1)).map(|n| n.uid), Some(0));
    }
}
