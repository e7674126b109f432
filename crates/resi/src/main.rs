//! The `resi` binary: parses the command line and wires the crates together.

mod chain;
mod coordinator;
mod daemons;
mod devnet;
mod files;
mod keys;
mod listings;
mod s3;
mod sim;

use anyhow::Context;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "resi",
    version,
    about = "Coordinator, miner and validator of the resi zipcode-mining subnet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, show and use sr25519 keys in Bittensor wallet files.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Write and check listing Parquet files (schema v1).
    #[command(subcommand)]
    Listings(listings::ListingsCommand),
    /// Run the coordinator: epochs, zipcode assignments, signed API, S3 access brokering.
    Coordinator(Box<coordinator::CoordinatorArgs>),
    /// Run a miner: follow assignments, scrape, self-check, upload.
    Miner(daemons::MinerArgs),
    /// Run a validator: validate finished epochs, publish results, set weights.
    Validator(daemons::ValidatorArgs),
    /// Run the whole network locally for a few epochs and judge the incentive.
    Devnet(devnet::DevnetArgs),
    /// The chain's metagraph (local backend).
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// The simulated property market.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Object storage tools: a development S3 server.
    #[command(subcommand)]
    S3(s3::S3Command),
    /// Benchmarks of the real code paths on synthetic data.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time the validator's pipeline on a synthetic epoch: decode, tiers 0-3, ranking, scores, hash.
    Validate(ValidateArgs),
    /// Attacker strategies against honest miners of equal speed, through the
    /// real engine, over many seeds: detection, earnings vs honest, honest
    /// false positives.
    Gauntlet(GauntletArgs),
}

#[derive(Args)]
struct GauntletArgs {
    /// Trials (epochs) per strategy.
    #[arg(long, default_value_t = 150)]
    trials: usize,
    /// Seed of the first trial; the table is a function of it.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Honest miners of equal speed in every trial.
    #[arg(long, default_value_t = 5)]
    honest: usize,
    /// Zipcodes per trial.
    #[arg(long, default_value_t = 4)]
    zipcodes: usize,
    /// Listings per zipcode.
    #[arg(long, default_value_t = 120)]
    listings: u64,
    /// Strategies, comma-separated (default: all). `--strategies list` names them.
    #[arg(long, value_delimiter = ',')]
    strategies: Option<Vec<String>>,
    /// One JSON object per line per strategy.
    #[arg(long)]
    json: bool,
    /// The validation rules to try: validation-config JSON (camelCase, as
    /// in every results file), inline or `@FILE`; unnamed fields keep
    /// their defaults. E.g. `--rules '{"spotCheckContestedMax":0}'`.
    #[arg(long, value_name = "JSON")]
    rules: Option<String>,
}

#[derive(Args)]
struct ValidateArgs {
    /// Miners submitting in the epoch.
    #[arg(long, default_value_t = 100)]
    miners: usize,
    /// Zipcodes assigned in the epoch.
    #[arg(long, default_value_t = 25)]
    zipcodes: usize,
    /// Listings per zipcode (and per submission).
    #[arg(long, default_value_t = 400)]
    listings: u64,
    /// Share of miners that cheat, in percent (every cheating kind is present).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=100))]
    cheaters: u64,
    /// Seed of the synthetic market and miners.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Decompression bombs (about 130 MB decoded each) added to the epoch.
    #[arg(long, default_value_t = 0)]
    bombs: usize,
    /// One JSON line: listings, threads, decodeOnlySec, endToEndSec, floorRatio, peakRssMib.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The devnet prints its own report; its daemons' logs would drown it.
    init_tracing(if matches!(cli.command, Command::Devnet(_)) {
        "error"
    } else {
        "info"
    });
    let outcome = match cli.command {
        Command::Keys(cmd) => keys::run(cmd),
        Command::Listings(cmd) => listings::run(cmd),
        Command::S3(cmd) => s3::run(cmd),
        Command::Sim(cmd) => sim::run(cmd),
        Command::Chain(cmd) => chain::run(cmd),
        Command::Coordinator(args) => coordinator::run(*args),
        Command::Miner(args) => daemons::miner(args),
        Command::Validator(args) => daemons::validator(args),
        Command::Devnet(args) => devnet::run(args),
        Command::Bench(BenchCommand::Validate(args)) => bench_validate(args),
        Command::Bench(BenchCommand::Gauntlet(args)) => bench_gauntlet(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RESI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn bench_gauntlet(args: GauntletArgs) -> anyhow::Result<ExitCode> {
    use resi_bench::gauntlet::{self, Strategy};
    let all: Vec<String> = Strategy::all().iter().map(Strategy::name).collect();
    let strategies = match &args.strategies {
        Some(names) if names.iter().any(|n| n == "list") => {
            println!("{}", all.join("\n"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(names) => names
            .iter()
            .map(|n| {
                Strategy::parse(n).ok_or_else(|| anyhow::anyhow!("unknown strategy {n:?}; known: {}", all.join(", ")))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => Strategy::all(),
    };
    anyhow::ensure!(
        args.trials > 0 && args.honest > 0 && args.zipcodes > 0 && args.listings >= 10,
        "--trials, --honest and --zipcodes must be positive and --listings at least 10"
    );
    let rules = match args.rules.as_deref() {
        None => resi_core::ValidationConfig::default(),
        Some(text) => {
            let json = match text.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading --rules file {path}"))?,
                None => text.to_owned(),
            };
            let rules: resi_core::ValidationConfig =
                serde_json::from_str(&json).context("--rules is not a validation config (camelCase JSON)")?;
            rules.check()?;
            rules
        }
    };
    let reports = gauntlet::run(&gauntlet::GauntletParams {
        trials: args.trials,
        seed: args.seed,
        honest: args.honest,
        zipcodes: args.zipcodes,
        listings: args.listings,
        strategies,
        rules,
    })?;
    if args.json {
        for r in &reports {
            println!("{}", r.json());
        }
    } else {
        print!("{}", gauntlet::render(&reports));
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.miners > 0 && args.zipcodes > 0 && args.listings > 0,
        "--miners, --zipcodes and --listings must be positive"
    );
    let report = resi_bench::run_validate(resi_bench::ValidateBench {
        miners: args.miners,
        zipcodes: args.zipcodes,
        listings: args.listings,
        cheater_percent: args.cheaters as usize,
        seed: args.seed,
        threads: args.threads,
        bombs: args.bombs,
    })?;
    if args.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.render());
    }
    Ok(ExitCode::SUCCESS)
}
