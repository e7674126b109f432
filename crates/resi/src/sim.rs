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
}

#[derive(Args)]
pub struct ServeArgs {
    /// Seed of the market (same seed, same market).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many real zipcodes the market covers.
    #[arg(long, default_value_t = 100)]
    zipcodes: usize,
    /// Epoch length in seconds (prices drift slightly from epoch to epoch).
    #[arg(long, default_value_t = 14_400)]
    epoch_seconds: u64,
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
}

pub fn run(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    let SimCommand::Serve(args) = cmd;
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
        resi_net::serve(listener, router(state), resi_net::Limits::default(), stop).await;
        Ok(ExitCode::SUCCESS)
    })
}
