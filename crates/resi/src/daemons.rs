//! `resi miner` and `resi validator`: the two daemons, from a TOML file with
//! `RESI_*` variables and flags on top.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct MinerArgs {
    /// The miner's TOML file (see examples/miner.toml).
    #[arg(long, env = "RESI_CONFIG")]
    config: PathBuf,
    /// Overrides `coordinator`.
    #[arg(long, env = "RESI_COORDINATOR")]
    coordinator: Option<url::Url>,
    /// Overrides `data_dir`.
    #[arg(long, env = "RESI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Overrides `max_concurrent_scrapes`.
    #[arg(long, env = "RESI_MAX_CONCURRENT_SCRAPES")]
    max_concurrent_scrapes: Option<usize>,
}

#[derive(Args)]
pub struct ValidatorArgs {
    /// The validator's TOML file (see examples/validator.toml).
    #[arg(long, env = "RESI_CONFIG")]
    config: PathBuf,
    /// Overrides `coordinator`.
    #[arg(long, env = "RESI_COORDINATOR")]
    coordinator: Option<url::Url>,
    /// Overrides `data_dir`.
    #[arg(long, env = "RESI_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Overrides `property_source`.
    #[arg(long, env = "RESI_PROPERTY_SOURCE")]
    property_source: Option<url::Url>,
    /// Validate this one epoch now (after its deadline), then exit.
    #[arg(long)]
    once: Option<String>,
}

pub fn miner(args: MinerArgs) -> anyhow::Result<ExitCode> {
    let mut config = resi_miner::MinerConfig::from_file(&args.config)?;
    if let Some(v) = args.coordinator {
        config.coordinator = v;
    }
    if let Some(v) = args.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = args.max_concurrent_scrapes {
        config.max_concurrent_scrapes = v;
    }
    config.check()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let stop = crate::s3::shutdown_signal();
        let miner = resi_miner::build(&config).await?;
        println!("miner {} following {}", miner.hotkey(), config.coordinator);
        tokio::select! {
            _ = miner.run() => {}
            _ = stop => tracing::info!("miner stopping; the state database keeps the epoch"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn validator(args: ValidatorArgs) -> anyhow::Result<ExitCode> {
    let mut config = resi_validator::ValidatorConfig::from_file(&args.config)?;
    if let Some(v) = args.coordinator {
        config.coordinator = v;
    }
    if let Some(v) = args.data_dir {
        config.data_dir = v;
    }
    if let Some(v) = args.property_source {
        config.property_source = v;
    }
    config.check()?;
    let once = args
        .once
        .as_deref()
        .map(resi_core::EpochId::parse)
        .transpose()
        .context("--once needs an epoch id like 2026-11-25T04-00-00")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let stop = crate::s3::shutdown_signal();
        let validator = resi_validator::build(&config, config.settings(), None)?;
        if let Some(epoch) = once {
            // SIGTERM ends a one-off validation too; the journal keeps what was done.
            let report = tokio::select! {
                report = validator.validate_epoch(epoch) => report?,
                _ = stop => {
                    eprintln!("validator stopped before epoch {epoch} was finished; run again to finish it");
                    return Ok(ExitCode::from(130));
                }
            };
            println!(
                "epoch {epoch}: hash {} consensus {:?}; results in {}",
                report.results.consensus_hash,
                report.consensus.status,
                config.data_dir.join("epochs").join(epoch.to_string()).display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!("validator {} following {}", validator.hotkey(), config.coordinator);
        tokio::select! {
            _ = validator.run() => {}
            _ = stop => tracing::info!("validator stopping; the journal keeps its progress"),
        }
        Ok(ExitCode::SUCCESS)
    })
}
