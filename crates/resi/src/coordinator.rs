//! `resi coordinator …`: wires configuration, database, storage and chain
//! into the coordinator's HTTP service.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use resi_coordinator::config::{CoordinatorConfig, CoordinatorFlags};
use resi_coordinator::store::Store;
use resi_coordinator::universe::{parse_csv, sample_universe};
use resi_coordinator::{App, Deps};
use resi_runtime::{Clock, Shutdown, SystemClock};
use resi_s3_server::{EmbeddedS3, EmbeddedS3Options};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct CoordinatorArgs {
    #[command(subcommand)]
    command: Option<CoordinatorCommand>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum CoordinatorCommand {
    /// Import (insert or update) the zipcode universe from CSV:
    /// zipcode,state,city,county,expected_listings,market_tier,geographic_region.
    /// Any bad row is reported with its line number and nothing is imported.
    /// Zipcodes already there and not in the file stay, unless `--replace`.
    ImportZipcodes {
        /// The CSV file.
        file: PathBuf,
        /// Make the file the whole universe: zipcodes not in it are retired
        /// (never selected again; past epochs keep them).
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Args)]
struct Options {
    /// TOML configuration file.
    #[arg(long, env = "RESI_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Development mode: SQLite, an embedded S3 server and a local metagraph, all under --data-dir.
    #[arg(long, global = true)]
    dev: bool,
    /// Directory for --dev state.
    #[arg(long, env = "RESI_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Address to serve on (overrides the file).
    #[arg(long, env = "RESI_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    /// Database URL (overrides the file).
    #[arg(long, env = "RESI_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Epoch length in seconds (overrides the file; --dev defaults to 60).
    #[arg(long, env = "RESI_EPOCH_SECONDS", global = true)]
    epoch_seconds: Option<u64>,
    /// Selection secret (overrides the file).
    #[arg(long, env = "RESI_SECRET", global = true, hide_env_values = true)]
    secret: Option<String>,
    /// Local metagraph file (overrides the file).
    #[arg(long, env = "RESI_METAGRAPH", global = true)]
    metagraph: Option<PathBuf>,
    /// Chain backend: `local` or `subtensor` (overrides the file).
    #[arg(long, env = "RESI_CHAIN", global = true)]
    chain: Option<String>,
    /// Subtensor network: finney, test, local or a ws(s):// URL (overrides the file).
    #[arg(long, env = "RESI_NETWORK", global = true)]
    network: Option<String>,
    /// Subnet uid on the chain (overrides the file).
    #[arg(long, env = "RESI_NETUID", global = true)]
    netuid: Option<u16>,
    /// Largest object a miner may upload, bytes.
    #[arg(long, env = "RESI_MAX_UPLOAD_BYTES", global = true)]
    max_upload_bytes: Option<u64>,
    /// `[chain] validator_min_stake`: whole tokens of stake a validator
    /// needs besides its permit.
    #[arg(long, env = "RESI_VALIDATOR_MIN_STAKE", global = true)]
    validator_min_stake: Option<u64>,
    /// Selection: target expected listings per epoch.
    #[arg(long, env = "RESI_TARGET_LISTINGS", global = true)]
    target_listings: Option<u64>,
    /// Selection: tolerance around the target, percent.
    #[arg(long, env = "RESI_TOLERANCE_PERCENT", global = true)]
    tolerance_percent: Option<u64>,
    /// Selection: smallest expected listings of a drawn zipcode.
    #[arg(long, env = "RESI_MIN_EXPECTED", global = true)]
    min_expected: Option<u64>,
    /// Selection: largest expected listings of a drawn zipcode.
    #[arg(long, env = "RESI_MAX_EXPECTED", global = true)]
    max_expected: Option<u64>,
    /// Selection: seconds before a zipcode may be assigned again.
    #[arg(long, env = "RESI_COOLDOWN_SECS", global = true)]
    cooldown_secs: Option<i64>,
    /// Selection: add a low-volume honeypot zipcode.
    #[arg(long, env = "RESI_HONEYPOT", global = true)]
    honeypot: Option<bool>,
    /// S3 endpoint URL (overrides [s3]).
    #[arg(long, env = "RESI_S3_ENDPOINT", global = true)]
    s3_endpoint: Option<url::Url>,
    #[arg(long, env = "RESI_S3_REGION", global = true)]
    s3_region: Option<String>,
    #[arg(long, env = "RESI_S3_BUCKET", global = true)]
    s3_bucket: Option<String>,
    #[arg(long, env = "RESI_S3_ACCESS_KEY", global = true, hide_env_values = true)]
    s3_access_key: Option<String>,
    #[arg(long, env = "RESI_S3_SECRET_KEY", global = true, hide_env_values = true)]
    s3_secret_key: Option<String>,
    /// Path-style S3 URLs (MinIO, Garage, IP endpoints).
    #[arg(long, env = "RESI_S3_PATH_STYLE", global = true)]
    s3_path_style: Option<bool>,
}

impl Options {
    fn flags(&self) -> CoordinatorFlags {
        CoordinatorFlags {
            listen: self.listen,
            database_url: self.database_url.clone(),
            epoch_seconds: self.epoch_seconds,
            secret: self.secret.clone(),
            metagraph: self.metagraph.clone(),
            chain: self.chain.clone(),
            network: self.network.clone(),
            netuid: self.netuid,
            max_upload_bytes: self.max_upload_bytes,
            validator_min_stake: self.validator_min_stake,
            target_listings: self.target_listings,
            tolerance_percent: self.tolerance_percent,
            min_expected: self.min_expected,
            max_expected: self.max_expected,
            cooldown_secs: self.cooldown_secs,
            honeypot: self.honeypot,
            s3_endpoint: self.s3_endpoint.clone(),
            s3_region: self.s3_region.clone(),
            s3_bucket: self.s3_bucket.clone(),
            s3_access_key: self.s3_access_key.clone(),
            s3_secret_key: self.s3_secret_key.clone(),
            s3_path_style: self.s3_path_style,
            aws: None,
        }
    }
}

/// The file (or the defaults), then `--dev`'s settings, then the `RESI_*`
/// variables and flags (clap reads both; a flag wins).
fn layered_config(o: &Options) -> anyhow::Result<CoordinatorConfig> {
    let mut c = match &o.config {
        Some(path) => CoordinatorConfig::from_file(path)?,
        None => CoordinatorConfig::default(),
    };
    if o.dev {
        let dir = o.data_dir.as_deref().context("--dev needs --data-dir")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // The database holds unrevealed validation seeds; the secret makes them.
        crate::files::restrict(dir)?;
        c.database_url = format!("sqlite://{}?mode=rwc", dir.join("coordinator.db").display());
        c.chain.metagraph = dir.join("metagraph.json");
        c.epoch_seconds = 60;
        c.secret = Some(dev_secret(dir)?);
    }
    let mut flags = o.flags();
    if !o.dev {
        // Under every resi setting: AWS_* variables and ~/.aws profiles.
        flags.aws = Some(resi_storage::AwsSettings::from_process().context("reading the AWS settings")?);
    }
    c.apply(&flags)?;
    if o.dev && o.cooldown_secs.is_none() {
        // A day of cooldown would exhaust the sample universe with minute-long epochs.
        c.selection.cooldown_secs = (c.epoch_seconds as i64).saturating_mul(5);
    }
    c.check()?;
    Ok(c)
}

/// The dev secret, generated once and kept in the data dir.
fn dev_secret(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().to_owned());
    }
    let (_, secret) = resi_s3_server::generate_credentials();
    crate::files::write_private(&path, secret.as_bytes())?;
    Ok(secret)
}

pub fn run(args: CoordinatorArgs) -> anyhow::Result<ExitCode> {
    let config = layered_config(&args.options)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let store = Store::connect(&config.database_url).await?;
        // A SQLite database file is created 0644 by default: it holds the
        // unrevealed validation seeds.
        if let Some(file) = config
            .database_url
            .strip_prefix("sqlite://")
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|f| !f.is_empty() && !f.starts_with(':'))
        {
            crate::files::restrict(Path::new(file))?;
        }
        match args.command {
            Some(CoordinatorCommand::ImportZipcodes { file, replace }) => import(&store, &file, replace).await,
            None => serve(config, store, &args.options).await,
        }
    })
}

fn now_unix() -> i64 {
    SystemClock.now_unix()
}

async fn import(store: &Store, file: &Path, replace: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed = parse_csv(&text);
    if !parsed.errors.is_empty() {
        for e in &parsed.errors {
            eprintln!("{}: {e}", file.display());
        }
        eprintln!(
            "error: {} bad row(s); nothing imported ({} good row(s) would have been)",
            parsed.errors.len(),
            parsed.zipcodes.len()
        );
        return Ok(ExitCode::from(1));
    }
    if replace {
        let (n, retired) = store.replace_universe(&parsed.zipcodes, now_unix()).await?;
        println!("imported {n} zipcodes; retired {retired} not in {}", file.display());
    } else {
        let n = store.import_universe(&parsed.zipcodes, now_unix()).await?;
        let total = store.universe().await?.len();
        if total > n {
            println!(
                "imported {n} zipcodes; {} others stay in the universe ({total} in all): --replace retires them",
                total - n
            );
        } else {
            println!("imported {n} zipcodes");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--dev` coordinator's S3 server keeps its port and keys across restarts
/// (miners and validators hold URLs and policies for it), saved 0600 beside
/// its objects. True when they were generated now.
async fn dev_s3(dir: &std::path::Path) -> anyhow::Result<(EmbeddedS3, bool)> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Saved {
        port: u16,
        access_key: String,
        secret_key: String,
    }
    let path = dir.join("dev-credentials.json");
    let mut options = EmbeddedS3Options::local(dir, "resi");
    let saved = match std::fs::read(&path) {
        Ok(bytes) => Some(
            serde_json::from_slice::<Saved>(&bytes)
                .with_context(|| format!("reading {} (delete it to start over)", path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let generated = saved.is_none();
    if let Some(saved) = saved {
        options.listen.set_port(saved.port);
        options.access_key = saved.access_key;
        options.secret_key = saved.secret_key;
    }
    let server = EmbeddedS3::start(options.clone())
        .await
        .with_context(|| format!("starting the development S3 server on {}", options.listen))?;
    if generated {
        let saved = Saved {
            port: server.addr().port(),
            access_key: options.access_key,
            secret_key: options.secret_key,
        };
        crate::files::write_private(&path, &serde_json::to_vec_pretty(&saved)?)?;
    }
    Ok((server, generated))
}

async fn serve(mut config: CoordinatorConfig, store: Store, options: &Options) -> anyhow::Result<ExitCode> {
    // --dev brings its own S3 server; otherwise the configured one.
    let mut embedded = None;
    if options.dev {
        let dir = options.data_dir.clone().context("--dev needs --data-dir")?;
        let (server, generated) = dev_s3(&dir.join("s3")).await?;
        config.s3 = Some(server.s3_config());
        embedded = Some((server, generated));
    } else if config.s3.is_none() {
        bail!("no [s3] section in the configuration (or use --dev)");
    }
    if options.dev && store.universe().await?.is_empty() {
        let n = store.import_universe(&sample_universe(300), now_unix()).await?;
        tracing::info!(zipcodes = n, "imported the built-in sample universe");
    }
    // Handlers first: whoever reads the lines below may signal at once.
    let shutdown = Shutdown::new();
    shutdown.trigger_on(crate::s3::shutdown_signal());
    let opened = resi_subtensor::open(&config.chain, None, None, shutdown.clone())
        .await
        .with_context(|| format!("opening the chain ({})", config.chain.describe()))?;
    let chain: Arc<dyn resi_chain::MetagraphSource> = opened.chain.clone();
    let deps = Deps {
        clock: SystemClock::shared(),
        chain,
    };
    let app = App::build_with_store(&config, deps, store).await?;
    let s3_config = config.s3.clone().context("no S3 configuration")?;
    println!("coordinator: http://{}", app.addr());
    println!("S3 endpoint: {} (bucket {})", s3_config.endpoint, s3_config.bucket);
    match &embedded {
        Some((_, true)) => {
            println!("S3 access key: {}", s3_config.access_key);
            println!("S3 secret key: {}", s3_config.secret_key);
        }
        Some((_, false)) => println!("S3 credentials: as before, in the data directory's s3/dev-credentials.json"),
        None => {}
    }
    println!("chain:       {}", config.chain.describe());
    println!("epochs:      {} s", config.epoch_seconds);
    app.run(shutdown).await;
    if let Some((server, _)) = embedded {
        server.shutdown().await;
    }
    tracing::info!("coordinator stopped");
    Ok(ExitCode::SUCCESS)
}
