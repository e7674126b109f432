//! `resi devnet`: the whole network in one process (see `resi-devnet`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use resi_devnet::{DevnetEvent, DevnetOptions};
use resi_sim::Profile;

#[derive(Args)]
pub struct DevnetArgs {
    /// Epochs to run and judge.
    #[arg(long, default_value_t = 3)]
    epochs: u32,
    /// Length of an epoch in seconds.
    #[arg(long, default_value_t = 30)]
    epoch_seconds: u64,
    /// Number of validators.
    #[arg(long, default_value_t = 2)]
    validators: usize,
    /// Miner profiles, comma-separated (default: one of each profile plus
    /// three more honest miners). A copier copies the first honest-fast miner.
    #[arg(long, value_delimiter = ',')]
    miners: Option<Vec<Profile>>,
    /// Expected listings per epoch.
    #[arg(long, default_value_t = 3_000)]
    target_listings: u64,
    /// Seed of the simulated market.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Keep every file (wallets, configs, databases, S3 objects, results,
    /// metagraph and weight ledger) in this directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `synthetic` (the simulated market) or `replay` (the real-data corpus in --data).
    #[arg(long, default_value = "synthetic", value_parser = ["synthetic", "replay"])]
    market: String,
    /// The real-data corpus for `--market replay`.
    #[arg(long, env = "RESI_REAL_DATA", default_value = "../shared/real-data")]
    data: PathBuf,
    /// A local development chain (`ws://127.0.0.1:9944`, //Alice sudo, e.g.
    /// `../shared/chain/local-chain.sh`): create a subnet there, register
    /// everyone on it and set weights on it instead of the metagraph file.
    #[arg(long)]
    chain: Option<String>,
    /// After the verdict, keep the whole network (coordinator and its
    /// dashboard, miners, validators, S3, the market) running until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
    /// Rehearse a rules upgrade: the coordinator announces the newest
    /// results version from this epoch (1 = the first run), the epochs
    /// before it run the previous version; --old-validators validators play
    /// the previous release and must refuse the new version, the others
    /// have upgraded early and must agree on every epoch.
    #[arg(long, value_name = "EPOCH")]
    upgrade_at_epoch: Option<u32>,
    /// With --upgrade-at-epoch: how many validators (the last ones) play
    /// the previous release.
    #[arg(long, default_value_t = 1, requires = "upgrade_at_epoch")]
    old_validators: usize,
}

pub fn run(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    let defaults = DevnetOptions::default();
    let default_cast = args.miners.is_none();
    let options = DevnetOptions {
        epochs: args.epochs,
        epoch_seconds: args.epoch_seconds,
        validators: args.validators,
        miners: args.miners.unwrap_or(defaults.miners),
        target_listings: args.target_listings,
        seed: args.seed,
        data_dir: args.data_dir,
        market: if args.market == "replay" {
            resi_devnet::MarketKind::Replay(args.data)
        } else {
            resi_devnet::MarketKind::Synthetic
        },
        chain: args.chain,
        keep_daemons: args.keep_running,
        upgrade: args.upgrade_at_epoch.map(|from_epoch| resi_devnet::UpgradeRehearsal {
            from_epoch,
            old_validators: args.old_validators,
        }),
        ..defaults
    };
    if options.market != resi_devnet::MarketKind::Synthetic && default_cast {
        // The default cast's copier and pre-scraper read the synthetic
        // market; on real data they are left out (named ones are refused).
        let mut options = options;
        options
            .miners
            .retain(|p| !resi_devnet::cast::needs_synthetic_market(*p));
        return run_options(options, args.keep_running);
    }
    run_options(options, args.keep_running)
}

fn run_options(options: DevnetOptions, keep_running: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut stop = Box::pin(crate::s3::shutdown_signal());
        let (devnet, outcome) = tokio::select! {
            run = resi_devnet::run(options, print_event) => run?,
            _ = &mut stop => {
                eprintln!("devnet: interrupted; stopping");
                return Ok(ExitCode::from(130));
            }
        };
        println!();
        if !outcome.hashes_agree {
            println!("devnet: validators published different consensus hashes");
        }
        if outcome.missing_epochs > 0 {
            println!("devnet: {} epoch(s) did not finish in time", outcome.missing_epochs);
        }
        if let Some((url, netuid)) = &outcome.on_chain {
            for r in &outcome.ledger {
                let pairs: Vec<String> = r.uids.iter().zip(&r.weights).map(|(u, w)| format!("{u}={w}")).collect();
                println!(
                    "chain {url} netuid {netuid} at block {}: Weights({netuid}, {}) = {}",
                    r.block,
                    r.validator_uid,
                    pairs.join(" ")
                );
            }
        }
        match &outcome.dataset {
            Some(Ok(dataset)) => {
                println!(
                    "dataset: {}, on disk at {} (resi dataset stats --dir {})",
                    dataset.location,
                    dataset.local_root.join("dataset").display(),
                    dataset.local_root.display()
                );
                if let Some(last) = dataset.stats.last() {
                    println!("dataset: {last}");
                }
            }
            Some(Err(why)) => println!("dataset: not published: {why}"),
            None => {}
        }
        if let Some(upgrade) = outcome.upgrade_verdict() {
            println!("{upgrade}");
        }
        println!("{}", outcome.verdict());
        if keep_running {
            println!("dashboard:   {}", devnet.coordinator_url());
            println!("coordinator: {}", devnet.coordinator_url());
            println!("market:      {}", devnet.market_url());
            if let (Some(endpoint), Some((access, secret))) = (devnet.s3_endpoint(), devnet.s3_credentials()) {
                println!("S3:          {endpoint} (bucket resi, access key {access}, secret key {secret})");
            }
            println!("metagraph:   {}", devnet.metagraph.display());
            println!("data:        {}", devnet.dir.display());
            println!("running until Ctrl-C");
            stop.await;
        }
        devnet.shutdown().await;
        Ok(if outcome.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// What the devnet reports, for people.
fn print_event(event: DevnetEvent) {
    match event {
        DevnetEvent::Ready(ready) => {
            let resi_devnet::Ready {
                miners,
                validators,
                epochs,
                epoch_seconds,
                dir,
                coordinator,
                market,
                s3,
                first,
                starts_in_secs,
            } = *ready;
            println!(
                "devnet: {miners} miners, {validators} validators, {epochs} epochs of {epoch_seconds} s; data in {}",
                dir.display()
            );
            println!("devnet: coordinator {coordinator} · market {market} · S3 {s3}");
            println!("devnet: dashboard {coordinator} (open it in a browser)");
            println!("devnet: waiting {starts_in_secs} s for epoch {first} to start");
        }
        DevnetEvent::EpochFinished {
            outcome,
            miners,
            validators,
        } => print!(
            "{}",
            resi_devnet::report::epoch_table(outcome.epoch, &outcome.reports, &miners, &validators)
        ),
    }
}
