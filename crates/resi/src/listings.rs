//! `resi listings …`: write and check listing files (schema v1) by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_core::assignment::MarketTier;
use resi_core::schema::{decode_listings, encode_listings};
use resi_core::{EpochId, EpochLength, ValidationConfig, Zipcode};
use resi_sim::{Market, ZipcodeMarket};

#[derive(Subcommand)]
pub enum ListingsCommand {
    /// Check a Parquet file against listing schema v1; prints a summary, exit 1 if it is unreadable.
    Check(CheckArgs),
    /// Write a sample listings file for a zipcode from the simulated market.
    Sample(SampleArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The Parquet file.
    file: PathBuf,
}

#[derive(Args)]
pub struct SampleArgs {
    /// The zipcode (5 digits, must exist).
    #[arg(long)]
    zipcode: String,
    /// Listings to write.
    #[arg(long, default_value_t = 100)]
    count: u64,
    /// Epoch the listings are scraped in (default: the epoch of 2025-10-01T16-00-00).
    #[arg(long, default_value = "2025-10-01T16-00-00")]
    epoch: String,
    /// Seed of the simulated market.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cmd: ListingsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ListingsCommand::Check(args) => check(args),
        ListingsCommand::Sample(args) => sample(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let limits = ValidationConfig::default().decode_limits();
    match decode_listings(bytes::Bytes::from(bytes), &limits) {
        Ok(columns) => {
            let mut zipcodes = BTreeMap::<String, u64>::new();
            for row in 0..columns.len() {
                *zipcodes
                    .entry(columns.zipcode.get(row).unwrap_or("(null)").to_owned())
                    .or_default() += 1;
            }
            println!("ok: {} listings, schema v1; zipcodes: {zipcodes:?}", columns.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("unreadable: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn sample(args: SampleArgs) -> anyhow::Result<ExitCode> {
    let zipcode = Zipcode::parse(&args.zipcode)?;
    let epoch = EpochId::parse(&args.epoch)?;
    let window = EpochLength::PRODUCTION.window(epoch)?;
    let market = Market::new(
        args.seed,
        BTreeMap::from([(
            zipcode,
            ZipcodeMarket {
                listings: args.count,
                tier: MarketTier::Standard,
            },
        )]),
    );
    let scraped = window.start_ms() + 600_000;
    let snapshot = market.properties(zipcode, scraped);
    let times = resi_sim::market::read_times(scraped, snapshot.len(), args.seed);
    let listings = market.read(zipcode, &snapshot, &times);
    let bytes = encode_listings(&listings)?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} listings ({} bytes) to {}",
        listings.len(),
        bytes.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
