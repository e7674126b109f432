//! `resi miner` and `resi validator`: the two daemons, from a TOML file with
//! `RESI_*` variables and flags on top (merged by each daemon's config module).

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use resi_runtime::config::MetricsListen;
use resi_runtime::{Shutdown, SystemClock};

#[derive(Args)]
pub struct MinerArgs {
    /// Overrides `metrics_listen` (and RESI_METRICS_LISTEN): HOST:PORT or `off`.
    #[arg(long)]
    metrics_listen: Option<resi_runtime::config::MetricsListen>,
    /// The miner's TOML file (see examples/miner.toml).
    #[arg(long, env = "RESI_CONFIG")]
    config: PathBuf,
    /// Overrides `coordinator` (and RESI_COORDINATOR).
    #[arg(long)]
    coordinator: Option<url::Url>,
    /// Overrides `data_dir` (and RESI_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Overrides `max_concurrent_scrapes` (and RESI_MAX_CONCURRENT_SCRAPES).
    #[arg(long)]
    max_concurrent_scrapes: Option<usize>,
}

#[derive(Args)]
pub struct ValidatorArgs {
    /// Overrides `metrics_listen` (and RESI_METRICS_LISTEN): HOST:PORT or `off`.
    #[arg(long)]
    metrics_listen: Option<resi_runtime::config::MetricsListen>,
    /// The validator's TOML file (see examples/validator.toml).
    #[arg(long, env = "RESI_CONFIG")]
    config: PathBuf,
    /// Overrides `coordinator` (and RESI_COORDINATOR).
    #[arg(long)]
    coordinator: Option<url::Url>,
    /// Overrides `data_dir` (and RESI_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Overrides `property_source` (and RESI_PROPERTY_SOURCE).
    #[arg(long)]
    property_source: Option<url::Url>,
    /// Validate this one epoch now (after its deadline), then exit.
    #[arg(long)]
    once: Option<String>,
    /// Say whether this release validates the results version the
    /// coordinator runs and the upgrade it announced, then exit: 0 when it
    /// does, 1 when resi must be upgraded first.
    #[arg(long, conflicts_with = "once")]
    check_upgrade: bool,
}

/// A shutdown handle triggered by Ctrl-C or SIGTERM.
fn signal_shutdown() -> Shutdown {
    let shutdown = Shutdown::new();
    shutdown.trigger_on(crate::s3::shutdown_signal());
    shutdown
}

/// Starts `GET /metrics` where the configuration says (installing the
/// recorder), runs `describe` (names and zeroed series need the recorder),
/// then says where: a scrape after that line sees every series.
async fn serve_metrics(
    listen: MetricsListen,
    shutdown: &Shutdown,
    daemon: tracing::Span,
    describe: fn(),
) -> anyhow::Result<()> {
    let MetricsListen::At(addr) = listen else {
        return Ok(());
    };
    let stop = shutdown.clone();
    let bound = resi_telemetry::metrics::serve(addr, async move { stop.wait().await })
        .await
        .context("serving metrics (set metrics_listen to another address, or off)")?;
    // Inside the daemon's span: the zeroed series carry its labels.
    daemon.in_scope(describe);
    println!("metrics: http://{bound}{}", resi_telemetry::metrics::PATH);
    Ok(())
}

pub fn miner(args: MinerArgs) -> anyhow::Result<ExitCode> {
    let flags = resi_miner::MinerFlags {
        metrics_listen: args.metrics_listen,
        coordinator: args.coordinator,
        data_dir: args.data_dir,
        max_concurrent_scrapes: args.max_concurrent_scrapes,
    };
    let config = resi_miner::MinerConfig::load(&args.config, flags)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = signal_shutdown();
        let miner = resi_miner::build(&config, SystemClock::shared(), shutdown.clone()).await?;
        // The recorder first: what is described before it is lost.
        let span = resi_runtime::daemon_span("miner", miner.hotkey().as_str());
        serve_metrics(config.metrics_listen, &shutdown, span, resi_miner::metrics::describe).await?;
        println!("miner {} following {}", miner.hotkey(), config.coordinator);
        miner.run().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn validator(args: ValidatorArgs) -> anyhow::Result<ExitCode> {
    let flags = resi_validator::ValidatorFlags {
        metrics_listen: args.metrics_listen,
        coordinator: args.coordinator,
        data_dir: args.data_dir,
        property_source: args.property_source,
    };
    let config = resi_validator::ValidatorConfig::load(&args.config, flags)?;
    let once = args
        .once
        .as_deref()
        .map(resi_core::EpochId::parse)
        .transpose()
        .context("--once needs an epoch id like 2026-11-25T04-00-00")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = signal_shutdown();
        let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
            .with_context(|| format!("reading the hotkey {}", config.hotkey_file.display()))?;
        if args.check_upgrade {
            return check_upgrade(&config.coordinator, key).await;
        }
        let settings = resi_validator::ValidatorSettings {
            release: crate::VERSION.to_owned(),
            ..config.settings()
        };
        let validator = open_validator(&config, key, settings, &shutdown).await?;
        let span = resi_runtime::daemon_span("validator", validator.hotkey().as_str());
        serve_metrics(
            config.metrics_listen,
            &shutdown,
            span,
            resi_validator::metrics::describe,
        )
        .await?;
        if let Some(epoch) = once {
            // SIGTERM ends a one-off validation too, at a journaled step; the
            // journal keeps what was done.
            let work = validator.validate_epoch(epoch);
            let report = match shutdown.finish_within(resi_validator::pipeline::STOP_GRACE, work).await {
                Some(Ok(report)) => report,
                None | Some(Err(resi_validator::ValidatorError::Stopped)) => {
                    eprintln!("validator stopped before epoch {epoch} was finished; run again to finish it");
                    return Ok(ExitCode::from(130));
                }
                Some(Err(e)) => return Err(e.into()),
            };
            println!(
                "epoch {epoch}: hash {} consensus {}; results in {}",
                report.results.consensus_hash,
                report.consensus.status,
                config.data_dir.join("epochs").join(epoch.to_string()).display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!("validator {} following {}", validator.hotkey(), config.coordinator);
        validator.run().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A validator on its configured chain (opened with its hotkey), for the
/// daemon and for `resi dataset publish`.
pub(crate) async fn open_validator(
    config: &resi_validator::ValidatorConfig,
    key: resi_auth::Keypair,
    settings: resi_validator::ValidatorSettings,
    shutdown: &Shutdown,
) -> anyhow::Result<resi_validator::Validator<resi_validator::AnySource>> {
    let opened = resi_subtensor::open(
        &config.chain,
        Some(Arc::new(key)),
        Some(config.data_dir.clone()),
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("opening the chain ({})", config.chain.describe()))?;
    Ok(resi_validator::build(
        config,
        settings,
        None,
        opened.chain,
        SystemClock::shared(),
        shutdown.clone(),
    )?)
}

/// `resi validator --check-upgrade`: what the coordinator announces against
/// what this release validates by; exit 1 when resi must be upgraded first.
async fn check_upgrade(coordinator: &url::Url, key: resi_auth::Keypair) -> anyhow::Result<ExitCode> {
    let check = resi_validator::upgrade::check_upgrade(
        coordinator.clone(),
        Arc::new(key),
        SystemClock::shared(),
        resi_core::rules::ResultsVersion::LATEST,
        crate::VERSION,
    )
    .await
    .with_context(|| format!("asking the coordinator at {coordinator}"))?;
    for line in &check.lines {
        println!("{line}");
    }
    Ok(if check.ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
