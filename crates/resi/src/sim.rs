//! `resi sim serve`: the simulated property market over HTTP.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_core::EpochLength;
use resi_sim::http::{router, SimState};
use resi_sim::Market;

#[derive(Subcommand)]
pub enum SimCommand {
    /// Serve a deterministic synthetic market: search by zipcode, look up by zpid, export the zipcodes as CSV.
    Serve(ServeArgs),
    /// Replay the real-data corpus (recorded Zillow API responses) as the API:
    /// `GET /propertyExtendedSearch?location=`, `GET /property?zpid=`, and the
    /// zipcodes as the coordinator's import CSV at `/zipcodes.csv`.
    Replay(ReplayArgs),
}

#[derive(Args)]
pub struct ReplayArgs {
    /// The corpus folder (with `search/` and `property/`).
    #[arg(long, env = "RESI_REAL_DATA", default_value = "../shared/real-data")]
    data: std::path::PathBuf,
    /// The key clients must send as `X-RapidAPI-Key`.
    #[arg(
        long,
        env = "RESI_REPLAY_API_KEY",
        default_value = "resi-replay",
        hide_env_values = true
    )]
    api_key: String,
    /// Added to every answer, milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of answers that are 429 with `Retry-After: 1`, percent.
    #[arg(long, default_value_t = 0.0)]
    rate_limited_percent: f64,
    /// Share of answers that are 503, percent.
    #[arg(long, default_value_t = 0.0)]
    server_error_percent: f64,
    /// Seed of the injected faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8091)]
    port: u16,
}

fn percent_bps(what: &str, percent: f64) -> anyhow::Result<u32> {
    anyhow::ensure!(
        (0.0..=100.0).contains(&percent),
        "--{what} must be between 0 and 100, not {percent}"
    );
    Ok((percent * 100.0).round() as u32)
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let options = resi_sim::replay::ReplayOptions {
        api_key: args.api_key,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rate_limited_bps: percent_bps("rate-limited-percent", args.rate_limited_percent)?,
        server_error_bps: percent_bps("server-error-percent", args.server_error_percent)?,
        seed: args.seed,
    };
    anyhow::ensure!(
        options.rate_limited_bps + options.server_error_bps <= 10_000,
        "the fault shares add up to more than 100 %"
    );
    let corpus = resi_sim::replay::Corpus::load(&args.data)
        .with_context(|| format!("reading the corpus in {}", args.data.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (zipcodes, records) = (corpus.searches.len(), corpus.properties.len());
        let state = Arc::new(resi_sim::replay::Replay::new(corpus, options));
        let addr = SocketAddr::new(args.address, args.port);
        let stop = crate::s3::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        println!("replay: http://{local}/ ({zipcodes} zipcodes, {records} property records)");
        println!("import: curl http://{local}/zipcodes.csv > zipcodes.csv");
        resi_net::serve(
            listener,
            resi_sim::replay::router(state),
            // A development market: its clients may all be on one address.
            resi_net::Limits::default().one_address(),
            stop,
        )
        .await;
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Args)]
pub struct ServeArgs {
    /// Seed of the market (same seed, same market).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many real zipcodes the market covers.
    #[arg(long, default_value_t = 100)]
    zipcodes: usize,
    /// Epoch length in seconds (search pages name the current epoch).
    #[arg(long, default_value_t = 14_400)]
    epoch_seconds: u64,
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
}

pub fn run(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    let args = match cmd {
        SimCommand::Serve(args) => args,
        SimCommand::Replay(args) => return replay(args),
    };
    anyhow::ensure!(args.zipcodes > 0, "--zipcodes must be positive");
    let length = EpochLength::from_secs(args.epoch_seconds)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let market = Market::sample(args.seed, args.zipcodes);
        let count = market.zipcodes().len();
        let state = Arc::new(SimState {
            market,
            length,
            clock: resi_runtime::SystemClock::shared(),
        });
        let addr = SocketAddr::new(args.address, args.port);
        let stop = crate::s3::shutdown_signal();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        println!("market: http://{local} ({count} zipcodes, seed {})", args.seed);
        println!("import: curl http://{local}/api/v1/zipcodes.csv > zipcodes.csv");
        resi_net::serve(listener, router(state), resi_net::Limits::default().one_address(), stop).await;
        Ok(ExitCode::SUCCESS)
    })
}
