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
//! engine); only the chain is the local file-backed backend.
//!
//! Modules: [`cast`] (keys, registrations, configurations), [`start`]
//! (servers and daemons), [`collect`] (reports into outcomes and events),
//! [`outcome`] (the verdict, pure), [`report`] (text for people, from
//! outcome types only).

pub mod cast;
pub mod collect;
pub mod outcome;
pub mod report;
pub mod start;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cast::{DevnetOptions, MarketKind};
pub use outcome::{DevnetOutcome, EpochOutcome, MinerInfo};
use resi_core::{EpochId, Hotkey};
use resi_runtime::{SharedClock, Shutdown, SystemClock};
pub use start::Devnet;
use tokio::sync::mpsc;

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
    let (servers, length) = start::servers(&options, &dir, &metagraph, &clock).await?;
    let coordinator_url = servers.coordinator.url();
    let market_url = servers.market.url();
    let cast = cast::cast(&options, &dir, &metagraph, &coordinator_url, &market_url)?;
    let coordinator_stop = Shutdown::new();
    let coordinator_task = tokio::spawn(servers.coordinator.run(coordinator_stop.clone()));

    // Start at the next epoch boundary, so every epoch judged is whole.
    let now = clock.now_unix();
    let current = length.epoch_containing(now).map_err(|e| DevnetError(e.to_string()))?;
    let first_start = current.start_unix() + options.epoch_seconds as i64;
    let first = EpochId::from_start_unix(first_start).map_err(|e| DevnetError(e.to_string()))?;
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
    for config in &cast.validator_configs {
        let mut settings = config.settings();
        settings.first_epoch = Some(first);
        settings.consensus_poll = Duration::from_secs(1);
        let validator = resi_validator::build(
            config,
            settings,
            Some(reports_tx.clone()),
            Arc::clone(&clock),
            daemons_stop.clone(),
        )
        .map_err(|e| DevnetError(format!("validator {}: {e}", config.hotkey_file.display())))?;
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
    let epochs: Vec<EpochId> = (0..options.epochs)
        .filter_map(|k| EpochId::from_start_unix(first_start + k as i64 * options.epoch_seconds as i64).ok())
        .collect();
    let give_up_ms = (first_start + (options.epochs as i64 + 2) * options.epoch_seconds as i64 + 60) * 1000;
    let outcomes = collect::reports(
        reports_rx,
        &epochs,
        &cast.miners,
        &cast.validators,
        &clock,
        give_up_ms,
        &mut on_event,
    )
    .await;
    devnet.stop_daemons().await;
    let ledger =
        resi_chain::ledger::read(&resi_chain::ledger::beside(&metagraph)).map_err(|e| DevnetError(e.to_string()))?;
    let outcome = outcome::judge(outcomes, epochs.len(), cast.miners, cast.validators, ledger);
    Ok((devnet, outcome))
}
