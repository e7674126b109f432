//! resi-devnet: the whole network on one machine, in one process.
//!
//! Creates keys for a subnet owner, miners and validators, a local metagraph,
//! an embedded S3 server, the simulated market and the coordinator; runs the
//! miners (each with a behaviour profile) and the validators as tasks for a
//! number of epochs; reports each finished epoch as an event (the binary
//! prints the leaderboard, the consensus and the weights); and ends with a
//! verdict on the incentive: every honest miner paid, every cheater at zero,
//! validators in agreement.
//!
//! Every part is the real one (HTTP, SigV4, SQLite, Parquet, the validation
//! engine); the chain is the local file-backed backend, or with
//! [`DevnetOptions::chain`] a real subtensor runtime on a local development
//! chain: a subnet is created, everyone registered on it, validators set
//! weights there and the verdict reads them back from chain storage.
//!
//! Modules: [`cast`] (keys, registrations, configurations), [`start`]
//! (servers and daemons), [`collect`] (reports into outcomes and events),
//! [`outcome`] (the verdict, pure), [`report`] (text for people, from
//! outcome types only).

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod cast;
pub mod collect;
pub mod outcome;
pub mod report;
pub mod start;
mod upgrade;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cast::{DevnetOptions, MarketKind, UpgradeRehearsal};
pub use outcome::{DevnetOutcome, EpochOutcome, MinerInfo, Refused, UpgradeOutcome};
use resi_core::{EpochId, Hotkey};
use resi_runtime::{SharedClock, Shutdown, SystemClock};
use resi_validator::{DatasetStore, ValidatorConfig};
pub use start::Devnet;
use tokio::sync::mpsc;

/// The devnet's `[chain] validator_min_stake`, in whole tokens: its
/// validators stake 1,000 TAO, its miners nothing (on a chain, only what
/// emissions paid them), and on a small subnet every neuron holds a permit.
pub const DEVNET_VALIDATOR_MIN_STAKE: u64 = 100;

#[derive(Debug, thiserror::Error)]
#[error("devnet: {0}")]
pub struct DevnetError(pub String);

/// The network is up.
#[derive(Clone, Debug)]
pub struct Ready {
    pub miners: usize,
    pub validators: usize,
    pub epochs: u32,
    pub epoch_seconds: u64,
    pub dir: PathBuf,
    pub coordinator: url::Url,
    pub market: url::Url,
    pub s3: url::Url,
    pub first: EpochId,
    pub starts_in_secs: i64,
}

/// What a running devnet tells its caller, in order.
#[derive(Clone, Debug)]
pub enum DevnetEvent {
    /// Everything is up; the daemons start when `first` begins.
    Ready(Box<Ready>),
    /// Every validator finished this epoch.
    EpochFinished {
        outcome: EpochOutcome,
        miners: Vec<MinerInfo>,
        validators: Vec<(String, u16, Hotkey)>,
    },
}

/// Runs the devnet on the system clock: sets it up, waits for the next
/// epoch boundary, runs `options.epochs` epochs, calls `on_event` as things
/// happen, and returns the outcome with the network still up (call
/// [`Devnet::shutdown`], or keep it running).
pub async fn run(
    options: DevnetOptions,
    mut on_event: impl FnMut(DevnetEvent),
) -> Result<(Devnet, DevnetOutcome), DevnetError> {
    if options.epochs == 0 || options.validators == 0 || options.miners.is_empty() {
        return Err(DevnetError(
            "needs at least one epoch, one validator and one miner".into(),
        ));
    }
    if options.epoch_seconds < 6 {
        return Err(DevnetError("epochs must be at least 6 seconds".into()));
    }
    if let Some(r) = options.upgrade {
        if r.from_epoch == 0 || r.from_epoch > options.epochs {
            return Err(DevnetError(format!(
                "the upgrade epoch must be one of the {} epochs run (1 to {})",
                options.epochs, options.epochs
            )));
        }
        if r.old_validators >= options.validators {
            return Err(DevnetError(
                "at least one validator must have upgraded: fewer old validators than validators".into(),
            ));
        }
    }
    let clock: SharedClock = SystemClock::shared();
    let (temp, dir) = match &options.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| DevnetError(format!("{}: {e}", d.display())))?;
            (None, d.clone())
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("resi-devnet-")
                .tempdir()
                .map_err(|e| DevnetError(format!("temporary directory: {e}")))?;
            let p = t.path().to_owned();
            (Some(t), p)
        }
    };
    let metagraph = dir.join("chain").join("metagraph.json");
    let owner = cast::Owner::generate()?;
    let chain_stop = Shutdown::new();
    let on_chain = match &options.chain {
        Some(url) => Some(OnChain::create(url, &owner, chain_stop.clone()).await?),
        None => None,
    };
    let (source, chain_config): (Arc<dyn resi_chain::MetagraphSource>, _) = match &on_chain {
        Some(c) => (c.coordinator.clone(), c.config()),
        None => {
            // A fresh metagraph file before the coordinator opens it; the cast fills it.
            if let Some(parent) = metagraph.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DevnetError(format!("{}: {e}", parent.display())))?;
            }
            let _ = std::fs::remove_file(&metagraph);
            let _ = std::fs::remove_file(resi_chain::ledger::beside(&metagraph));
            let local = resi_chain::LocalChain::open(&metagraph).map_err(|e| DevnetError(e.to_string()))?;
            let config = resi_chain::ChainConfig {
                metagraph: metagraph.clone(),
                validator_min_stake: DEVNET_VALIDATOR_MIN_STAKE,
                ..resi_chain::ChainConfig::default()
            };
            (Arc::new(local), config)
        }
    };
    let (servers, length) = start::servers(&options, &dir, source, chain_config, &clock).await?;
    let coordinator_url = servers.coordinator.url();
    let market_url = servers.market.url();
    let dev = match &on_chain {
        Some(c) => Some(resi_subtensor::dev::DevChain::new(c.coordinator.node()).map_err(on_chain_error)?),
        None => None,
    };
    let registry = match (&on_chain, &dev) {
        (Some(c), Some(dev)) => cast::Registry::Chain {
            dev,
            netuid: c.netuid,
            url: c.url.clone(),
        },
        _ => cast::Registry::Local(&metagraph),
    };
    let cast = cast::cast(&options, &dir, &registry, &owner, &coordinator_url, &market_url).await?;
    if let (Some(c), Some(dev)) = (&on_chain, &dev) {
        // Permits are computed at the subnet's epoch; then the coordinator
        // sees everyone.
        dev.next_epoch(c.netuid).await.map_err(on_chain_error)?;
        c.coordinator.sync().await.map_err(on_chain_error)?;
    }
    // Start at the next epoch boundary, so every epoch judged is whole.
    let now = clock.now_unix();
    let current = length.epoch_containing(now).map_err(|e| DevnetError(e.to_string()))?;
    let first_start = current.start_unix() + options.epoch_seconds as i64;
    let first = EpochId::from_start_unix(first_start).map_err(|e| DevnetError(e.to_string()))?;
    let epochs: Vec<EpochId> = (0..options.epochs)
        .filter_map(|k| EpochId::from_start_unix(first_start + k as i64 * options.epoch_seconds as i64).ok())
        .collect();
    // The rules each epoch is validated by, announced before anyone asks.
    let rules = upgrade::rules(options.upgrade, &epochs)?;
    let mut coordinator = servers.coordinator;
    coordinator
        .announce_rules(rules.clone())
        .map_err(|e| DevnetError(format!("coordinator: {e}")))?;
    let old = upgrade::old_validators(options.upgrade, &cast.validators);
    let refusing = upgrade::refusing(&rules, &old, &epochs);
    let coordinator_stop = Shutdown::new();
    let coordinator_task = tokio::spawn(coordinator.run(coordinator_stop.clone()));
    on_event(DevnetEvent::Ready(Box::new(Ready {
        miners: cast.miners.len(),
        validators: options.validators,
        epochs: options.epochs,
        epoch_seconds: options.epoch_seconds,
        dir: dir.clone(),
        coordinator: coordinator_url.clone(),
        market: market_url,
        s3: servers.s3.endpoint(),
        first,
        starts_in_secs: first_start - now,
    })));
    let wait_ms = first_start * 1000 - clock.now_ms() + 100;
    if wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    }

    let daemons_stop = Shutdown::new();
    let mut daemons = Vec::new();
    for config in &cast.miner_configs {
        let miner = resi_miner::build(config, Arc::clone(&clock), daemons_stop.clone())
            .await
            .map_err(|e| DevnetError(format!("miner {}: {e}", config.hotkey_file.display())))?;
        daemons.push(tokio::spawn(async move { miner.run().await }));
    }
    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    for (config, (_, _, hotkey)) in cast.validator_configs.iter().zip(&cast.validators) {
        let mut settings = config.settings();
        settings.first_epoch = Some(first);
        settings.consensus_poll = Duration::from_secs(1);
        if old.contains(hotkey) {
            let (previous, _) = UpgradeRehearsal::versions();
            settings.newest_results_version = previous;
            settings.release = format!("{} playing the previous release", settings.release);
        }
        let validator = open_validator(config, settings, Some(reports_tx.clone()), &clock, &daemons_stop).await?;
        daemons.push(tokio::spawn(async move { validator.run().await }));
    }
    drop(reports_tx);

    let mut devnet = Devnet {
        dir,
        _temp: temp,
        s3: Some(servers.s3),
        market: servers.market,
        coordinator_url,
        coordinator_stop,
        coordinator_task,
        daemons,
        daemons_stop,
        metagraph: metagraph.clone(),
        clock: Arc::clone(&clock),
    };
    let give_up_ms = (first_start + (options.epochs as i64 + 2) * options.epoch_seconds as i64 + 60) * 1000;
    let outcomes = collect::reports(
        reports_rx,
        &epochs,
        &refusing,
        &cast.miners,
        &cast.validators,
        &clock,
        give_up_ms,
        &mut on_event,
    )
    .await;
    if !options.keep_daemons {
        devnet.stop_daemons().await;
    }
    let mut ledger = match &on_chain {
        // What the chain holds, not what the validators say they sent.
        Some(c) => c.stored_weights(&cast.validators, epochs.last()).await?,
        None => {
            resi_chain::ledger::read(&resi_chain::ledger::beside(&metagraph)).map_err(|e| DevnetError(e.to_string()))?
        }
    };
    // Validators left running may already have set weights for later epochs.
    ledger.retain(|r| epochs.contains(&r.epoch_id));
    chain_stop.trigger();
    let refusals = match (&rules.upgrade, &devnet.s3) {
        (Some(_), Some(s3)) => upgrade::published_refusals(s3.s3_config(), &refusing, &cast.validators, &clock).await?,
        _ => Vec::new(),
    };
    // The dataset goes to the bucket; `s3s-fs` keeps each object as a file
    // at its key, so the bucket's folder is the same dataset on disk.
    let (store, local_root) = match &devnet.s3 {
        Some(s3) => (
            {
                let clock = Arc::clone(&clock);
                resi_storage::Bucket::new(
                    s3.s3_config(),
                    resi_storage::RetryPolicy::default(),
                    Arc::new(move || clock.now_unix()),
                )
                .map(|b| DatasetStore::Bucket(Box::new(b)))
                .map_err(|e| DevnetError(e.to_string()))?
            },
            s3.bucket_dir(),
        ),
        None => (DatasetStore::Folder(devnet.dir.clone()), devnet.dir.clone()),
    };
    let dataset = publish_dataset(&cast.validator_configs, &outcomes, &store, local_root, &clock).await;
    let mut outcome = outcome::judge(outcomes, epochs.len(), cast.miners, cast.validators, ledger);
    outcome.dataset = Some(dataset);
    outcome.on_chain = on_chain.as_ref().map(|c| (c.url.clone(), c.netuid));
    outcome.upgrade = rules.upgrade.map(|u| UpgradeOutcome {
        version: u.version,
        from_epoch: u.from_epoch,
        refusals,
    });
    Ok((devnet, outcome))
}

fn on_chain_error(e: resi_subtensor::SubtensorError) -> DevnetError {
    DevnetError(format!("chain: {e}"))
}

/// The devnet's subnet on a local subtensor chain.
struct OnChain {
    url: String,
    netuid: u16,
    /// The coordinator's read-only view (synced every few seconds).
    coordinator: Arc<resi_subtensor::SubtensorChain>,
}

impl OnChain {
    /// Creates a subnet owned by `owner` (//Alice funds its coldkey).
    async fn create(url: &str, owner: &cast::Owner, stop: Shutdown) -> Result<Self, DevnetError> {
        let node = resi_subtensor::node::Node::new(url, Duration::from_secs(60));
        let dev = resi_subtensor::dev::DevChain::new(&node).map_err(on_chain_error)?;
        let netuid = dev
            .create_subnet(&owner.coldkey, &owner.hotkey)
            .await
            .map_err(on_chain_error)?;
        tracing::info!(url, netuid, "devnet: subnet created on the chain");
        let coordinator = resi_subtensor::SubtensorChain::connect(resi_subtensor::SubtensorOptions {
            url: url.to_owned(),
            netuid,
            mechanism: 0,
            sync_interval: Duration::from_secs(5),
            inclusion_timeout: Duration::from_secs(60),
            signer: None,
            reveal_journal: None,
            commit_reveal: resi_subtensor::weights::CommitRevealMode::Auto,
            timelock_round: None,
        })
        .await
        .map_err(on_chain_error)?;
        coordinator.spawn(stop);
        Ok(Self {
            url: url.to_owned(),
            netuid,
            coordinator,
        })
    }

    fn config(&self) -> resi_chain::ChainConfig {
        resi_chain::ChainConfig {
            backend: "subtensor".into(),
            network: self.url.clone(),
            netuid: Some(self.netuid),
            sync_seconds: 5,
            validator_min_stake: DEVNET_VALIDATOR_MIN_STAKE,
            ..resi_chain::ChainConfig::default()
        }
    }

    /// Each validator's `Weights(netuid, uid)` from chain storage, as records.
    async fn stored_weights(
        &self,
        validators: &[(String, u16, Hotkey)],
        epoch: Option<&EpochId>,
    ) -> Result<Vec<resi_chain::WeightRecord>, DevnetError> {
        let at = self.coordinator.node().at_best().await.map_err(on_chain_error)?;
        let mut records = Vec::new();
        for (_, uid, hotkey) in validators {
            let stored = resi_subtensor::weights::stored_weights(&at, self.netuid, *uid)
                .await
                .map_err(on_chain_error)?;
            let Some(epoch) = epoch else { continue };
            records.push(resi_chain::WeightRecord {
                block: at.block_number(),
                at: 0,
                validator: hotkey.clone(),
                validator_uid: *uid,
                epoch_id: *epoch,
                uids: stored.iter().map(|(u, _)| *u).collect(),
                weights: stored.iter().map(|(_, w)| *w).collect(),
            });
        }
        Ok(records)
    }
}

/// The judged epochs' dataset, published by the first validator (the
/// subnet owner's, holding the bucket's keys) into `store`, announced beside
/// its results for the dashboard, and its stats.
pub async fn publish_dataset(
    configs: &[ValidatorConfig],
    outcomes: &[EpochOutcome],
    store: &DatasetStore,
    local_root: PathBuf,
    clock: &SharedClock,
) -> Result<outcome::DatasetOutcome, String> {
    let config = configs.first().ok_or("no validator")?;
    let stop = Shutdown::new();
    let validator = open_validator(config, config.settings(), None, clock, &stop)
        .await
        .map_err(|e| e.to_string())?;
    let mut manifests = Vec::new();
    for outcome in outcomes {
        let manifest = validator
            .publish_dataset(outcome.epoch, store)
            .await
            .map_err(|e| e.to_string())?;
        validator.announce_dataset(&manifest).await.map_err(|e| e.to_string())?;
        manifests.push(manifest);
    }
    stop.trigger();
    let stats = store
        .manifests()
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(resi_dataset::stats::EpochStats::of)
        .collect();
    Ok(outcome::DatasetOutcome {
        location: store.describe(),
        local_root,
        manifests,
        stats,
    })
}

/// A validator of the cast on its chain (the metagraph file or the local
/// subtensor), as the daemons and the dataset publish run it.
async fn open_validator(
    config: &ValidatorConfig,
    settings: resi_validator::ValidatorSettings,
    reports: Option<mpsc::UnboundedSender<resi_validator::EpochReport>>,
    clock: &SharedClock,
    stop: &Shutdown,
) -> Result<resi_validator::Validator<resi_validator::AnySource>, DevnetError> {
    let who = config.hotkey_file.display();
    let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
        .map_err(|e| DevnetError(format!("validator {who}: {e}")))?;
    let opened = resi_subtensor::open(
        &config.chain,
        Some(Arc::new(key)),
        Some(config.data_dir.clone()),
        stop.clone(),
    )
    .await
    .map_err(|e| DevnetError(format!("validator {who}: chain: {e}")))?;
    resi_validator::build(config, settings, reports, opened.chain, Arc::clone(clock), stop.clone())
        .map_err(|e| DevnetError(format!("validator {who}: {e}")))
}
