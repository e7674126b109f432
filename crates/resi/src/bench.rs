//! `resi bench …`: the benchmarks of the real code paths, each printing a
//! table for people or one JSON line (`--json`) for scripts.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Validate(args) => bench_validate(args),
        BenchCommand::Gauntlet(args) => bench_gauntlet(args),
        BenchCommand::Coordinator(args) => bench_coordinator(args),
    }
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Time the validator's pipeline on a synthetic epoch: decode, tiers 0-3, ranking, scores, hash.
    Validate(ValidateArgs),
    /// Attacker strategies against honest miners of equal speed, through the
    /// real engine, over many seeds: detection, earnings vs honest, honest
    /// false positives.
    Gauntlet(GauntletArgs),
    /// The coordinator's signed assignment endpoint under load: the real
    /// server on loopback, pre-signed requests from many registered
    /// hotkeys, keep-alive connections; req/s, p50/p99 latency, and the two
    /// ceilings measured in the same run: raw sr25519 verifications/s and
    /// the HTTP floor (unsigned requests to an unrouted path).
    Coordinator(CoordinatorArgs),
}

#[derive(Args)]
pub struct CoordinatorArgs {
    /// Database: `sqlite://FILE?mode=rwc` (a file that does not exist yet)
    /// or `postgres://user@host/db`, a server on which the run creates a
    /// database of its own and drops it, never writing to `db` (the role
    /// needs CREATEDB). Default: a fresh SQLite file in a temporary directory.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Registered hotkeys the requests come from.
    #[arg(long, default_value_t = 2_000)]
    hotkeys: usize,
    /// Keep-alive connections, one request in flight on each.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Signed requests measured.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Threads of the load generator, which runs on its own runtime beside the server's.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// One JSON line: backend, signedRps, rawVerifyPerSec, p50Ms, p99Ms, connections, httpFloorRps.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct GauntletArgs {
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
    /// Stamp every scraped row apart (default: every 40-row page at once,
    /// as real scrapers stamp them).
    #[arg(long)]
    per_row_stamps: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
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
    /// Time tier 3 a second time against a property source that answers
    /// each lookup after this many ms (behind the validator's cache).
    #[arg(long, value_name = "MS")]
    source_latency_ms: Option<u64>,
    /// Validate Parquet files on disk, as a validator does after its
    /// downloads: DIR/epoch.json and the files it lists, each read inside
    /// the timed stages. An empty DIR gets this epoch's files first.
    #[arg(long, value_name = "DIR")]
    input: Option<std::path::PathBuf>,
    /// One JSON line: listings, threads, decodeOnlySec, endToEndSec,
    /// floorRatio, peakRssMib, simulatedSourceSec, lookupsPerEpoch (and
    /// tier3LatencyMs, tier3Sec, tier3BoundSec, tier3Lookups with
    /// --source-latency-ms).
    #[arg(long)]
    json: bool,
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
        per_row_stamps: args.per_row_stamps,
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
        source_latency: args.source_latency_ms.map(std::time::Duration::from_millis),
        input: args.input,
    })?;
    if args.json {
        println!("{}", report.json());
    } else {
        println!("{}", report.render());
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_coordinator(args: CoordinatorArgs) -> anyhow::Result<ExitCode> {
    use resi_bench::coordinator::{self as loadtest, LoadOptions};
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(loadtest::run(&LoadOptions {
        database_url: args.database,
        hotkeys: args.hotkeys,
        connections: args.connections,
        requests: args.requests,
        client_threads: args.client_threads,
    }))?;
    if args.json {
        println!("{}", report.json());
    } else {
        println!(
            "coordinator ({}): {} signed requests from {} hotkeys over {} connections\n\
             signed requests/s      {:>10.0}\n\
             latency p50 / p99 / max {:>8.2} / {:.2} / {:.2} ms\n\
             raw sr25519 verify/s   {:>10.0} on {} threads ({:.0} on one)\n\
             signed / raw verify    {:>10.1} %\n\
             HTTP floor requests/s  {:>10.0} (unsigned, unrouted: 404)\n\
             signed / HTTP floor    {:>10.1} %",
            report.backend,
            report.requests,
            report.hotkeys,
            report.connections,
            report.signed_rps,
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            report.raw_verify_per_sec,
            report.threads,
            report.raw_verify_per_sec_one_thread,
            report.verify_share() * 100.0,
            report.http_floor_rps,
            report.http_share() * 100.0,
        );
    }
    Ok(ExitCode::SUCCESS)
}
