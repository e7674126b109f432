//! The `resi` binary: parses the command line and wires the crates together.

mod bench;
mod chain;
mod coordinator;
mod daemons;
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
    Bench(bench::BenchCommand),
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
        Command::Bench(cmd) => bench::run(cmd),
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
