//! resi-subtensor: the `subtensor` chain backend.
//!
//! Implements resi-chain's [`Chain`] on a real Bittensor node over its
//! JSON-RPC WebSocket (subxt, dynamic API: the calls are chosen from the
//! connected runtime's metadata, nothing is generated at build time): the
//! metagraph from `SubnetInfoRuntimeApi.get_metagraph`, synced on an interval
//! and served from memory; weights with `set_weights`, or committed and later
//! revealed when the subnet has commit-reveal on; pallet errors named.
//! [`open`] builds either backend from a `[chain]` section, so the roles'
//! crates never see this one: the binary wires it in.
//!
//! Architecture invariant: the only crate that talks to a node; it does not
//! know the roles.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod chain;
pub mod dev;
pub mod error;
pub mod extensions;
pub mod metagraph;
pub mod node;
pub mod schedule;
pub mod timelock;
pub mod weights;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use chain::{SubtensorChain, SubtensorOptions};
pub use error::SubtensorError;
use resi_auth::Keypair;
use resi_chain::{Chain, ChainBackend, ChainConfig, ChainError, LocalChain};
use resi_runtime::Shutdown;

/// A chain as a role needs it.
pub struct OpenedChain {
    pub chain: Arc<dyn Chain>,
    /// The subtensor backend's sync task (none for `local`).
    pub task: Option<tokio::task::JoinHandle<()>>,
}

/// Opens the `[chain]` section's backend. `signer` is the validator's
/// hotkey (weights); `data_dir` keeps the reveal journal.
pub async fn open(
    config: &ChainConfig,
    signer: Option<Arc<Keypair>>,
    data_dir: Option<PathBuf>,
    shutdown: Shutdown,
) -> Result<OpenedChain, ChainError> {
    match config.backend().map_err(|e| ChainError::Refused(e.to_string()))? {
        ChainBackend::Local { metagraph } => Ok(OpenedChain {
            chain: Arc::new(LocalChain::open(&metagraph)?),
            task: None,
        }),
        ChainBackend::Subtensor {
            network,
            netuid,
            sync_seconds,
            inclusion_timeout_seconds,
            commit_reveal,
            mechanism,
        } => {
            let chain = SubtensorChain::connect(SubtensorOptions {
                url: network.url().to_owned(),
                netuid,
                mechanism,
                sync_interval: Duration::from_secs(sync_seconds),
                inclusion_timeout: Duration::from_secs(inclusion_timeout_seconds),
                reveal_journal: data_dir.map(|d| d.join(format!("weight-reveals-{netuid}.json"))),
                signer,
                commit_reveal,
                timelock_round: None,
            })
            .await?;
            let task = chain.spawn(shutdown);
            Ok(OpenedChain {
                chain,
                task: Some(task),
            })
        }
    }
}
