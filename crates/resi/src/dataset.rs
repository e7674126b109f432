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
    /// A root folder to publish into instead of the file's `[dataset]`
    /// place: files go to OUT/dataset/listings/…
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct StatsArgs {
    /// The dataset's root folder (the one holding `dataset/`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// A validator's TOML file: the dataset its `[dataset]` section names
    /// (a folder or `[dataset.s3]`).
    #[arg(long, env = "RESI_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DatasetCommand::Publish(args) => publish(args),
        DatasetCommand::Stats(args) => stats(args),
    }
}

fn stats(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let store = match (args.dir, args.config) {
        (Some(dir), _) => resi_validator::DatasetStore::Folder(dir),
        (None, Some(file)) => resi_validator::ValidatorConfig::from_file(&file)
            .with_context(|| format!("reading {}", file.display()))?
            .dataset_store()?,
        (None, None) => anyhow::bail!("name the dataset: --dir or --config"),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let manifests = runtime.block_on(store.manifests())?;
    if manifests.is_empty() {
        println!("no complete epoch in {}", store.describe());
    }
    for manifest in &manifests {
        println!("{}", resi_dataset::stats::EpochStats::of(manifest));
    }
    Ok(ExitCode::SUCCESS)
}

fn publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    let config = resi_validator::ValidatorConfig::load(&args.config, resi_validator::ValidatorFlags::default())?;
    let epoch = resi_core::EpochId::parse(&args.epoch).context("--epoch needs an epoch id like 2026-11-25T04-00-00")?;
    let store = match args.out {
        Some(out) => resi_validator::DatasetStore::Folder(out),
        None => config.dataset_store()?,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        shutdown.trigger_on(crate::s3::shutdown_signal());
        let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
            .with_context(|| format!("reading the hotkey {}", config.hotkey_file.display()))?;
        let validator = crate::daemons::open_validator(&config, key, config.settings(), &shutdown).await?;
        let manifest = validator.publish_dataset(epoch, &store).await?;
        validator
            .announce_dataset(&manifest)
            .await
            .context("publishing the manifest beside the results")?;
        println!(
            "dataset: epoch {epoch}, {} zipcodes, {} listings, in {}",
            manifest.partitions.len(),
            manifest.rows,
            store.describe()
        );
        Ok(ExitCode::SUCCESS)
    })
}
