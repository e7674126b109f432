//! `resi dataset …`: the validated listings as a Parquet dataset (see `resi-dataset`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_runtime::Shutdown;

#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Publish a validated epoch's winning listings (this validator's own
    /// results) as Hive-partitioned Parquet with a signed manifest.
    Publish(PublishArgs),
    /// Per epoch: zipcodes and listings covered, and listings new, removed
    /// and repriced since the zipcode's epoch before.
    Stats(StatsArgs),
}

#[derive(Args)]
pub struct PublishArgs {
    /// The validator's TOML file (its results, hotkey and coordinator access).
    #[arg(long, env = "RESI_CONFIG")]
    config: PathBuf,
    /// The epoch, e.g. 2026-11-25T04-00-00.
    #[arg(long)]
    epoch: String,
    /// The dataset's root folder: files go to OUT/dataset/listings/…
    /// (default: the validator's data_dir).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct StatsArgs {
    /// The dataset's root folder (the one holding `dataset/listings/`).
    #[arg(long)]
    dir: PathBuf,
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DatasetCommand::Publish(args) => publish(args),
        DatasetCommand::Stats(args) => {
            let all = resi_dataset::stats::stats(&args.dir)?;
            if all.is_empty() {
                println!("no complete epoch under {}", args.dir.display());
            }
            for epoch in all {
                println!("{epoch}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let config = resi_validator::ValidatorConfig::load(&args.config, resi_validator::ValidatorFlags::default())?;
    let epoch = resi_core::EpochId::parse(&args.epoch).context("--epoch needs an epoch id like 2026-11-25T04-00-00")?;
    let out = args.out.unwrap_or_else(|| config.data_dir.clone());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on(crate::s3::shutdown_signal());
        let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
            .with_context(|| format!("reading the hotkey {}", config.hotkey_file.display()))?;
        let validator = crate::daemons::open_validator(&config, key, config.settings(), &shutdown).await?;
        let sink = resi_dataset::sink::FolderSink::new(&out);
        let manifest = validator.publish_dataset(epoch, &sink).await?;
        println!(
            "dataset: epoch {epoch}, {} zipcodes, {} listings, in {}",
            manifest.partitions.len(),
            manifest.rows,
            out.join("dataset").display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
