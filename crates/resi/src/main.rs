//! The `resi` binary: parses the command line and wires the crates together.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod bench;
mod chain;
mod coordinator;
mod daemons;
mod dataset;
mod devnet;
mod files;
mod keys;
mod listings;
mod s3;
mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "resi",
    version = VERSION,
    about = "Coordinator, miner and validator of the resi zipcode-mining subnet"
)]
struct Cli {
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object
    /// per line, with the daemon's hotkey and epoch as fields).
    #[arg(long, global = true, env = "RESI_LOG_FORMAT", default_value = "text", value_parser = parse_log_format)]
    log_format: resi_telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// `resi --version`: the crate version and the git revision it was built from.
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("RESI_GIT_REVISION"), ")");

fn parse_log_format(s: &str) -> Result<resi_telemetry::LogFormat, String> {
    s.parse()
        .map_err(|e: resi_telemetry::logs::UnknownLogFormat| e.to_string())
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
    /// The validated listings as a Parquet dataset: publish an epoch, show coverage.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
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
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The devnet prints its own report; its daemons' logs would drown it.
    resi_telemetry::logs::init(
        cli.log_format,
        if matches!(cli.command, Command::Devnet(_)) {
            "error"
        } else {
            "info"
        },
    );
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
        Command::Dataset(cmd) => dataset::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", resi_runtime::error_report(err.as_ref()));
            ExitCode::from(2)
        }
    }
}
