//! `resi s3 serve`: a development S3 server on this machine.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use resi_s3_server::{generate_credentials, EmbeddedS3, EmbeddedS3Options};

#[derive(Subcommand)]
pub enum S3Command {
    /// Serve an S3-compatible endpoint (SigV4, presigned URLs, POST policies) backed by a directory.
    Serve(ServeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Directory holding the buckets (created if missing).
    #[arg(long, env = "RESI_S3_DATA_DIR")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// Access key (generated when neither key is given).
    #[arg(long, env = "RESI_S3_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,
    /// Secret key.
    #[arg(long, env = "RESI_S3_SECRET_KEY", requires = "access_key", hide_env_values = true)]
    secret_key: Option<String>,
    /// Bucket to create.
    #[arg(long, default_value = "resi")]
    bucket: String,
    /// Region clients sign for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
}

pub fn run(cmd: S3Command) -> anyhow::Result<ExitCode> {
    match cmd {
        S3Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (access_key, secret_key, generated) = match (args.access_key, args.secret_key) {
            (Some(a), Some(s)) => (a, s, false),
            _ => {
                let (a, s) = generate_credentials();
                (a, s, true)
            }
        };
        let options = EmbeddedS3Options {
            data_dir: args.data_dir.clone(),
            listen: SocketAddr::new(args.address, args.port),
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            bucket: args.bucket.clone(),
            region: args.region.clone(),
        };
        let stop = shutdown_signal();
        let server = EmbeddedS3::start(options).await?;
        println!("S3 endpoint: {}", server.endpoint());
        println!("bucket:      {}", args.bucket);
        println!("region:      {}", args.region);
        println!("access key:  {access_key}");
        // A secret given on the command line or in the environment is the
        // operator's; only one made here is shown, once.
        if generated {
            println!("secret key:  {secret_key}");
        } else {
            println!("secret key:  (as given)");
        }
        println!("data dir:    {}", args.data_dir.display());
        println!("path-style addressing; stop with Ctrl-C");
        stop.await;
        tracing::info!("shutting down");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: call it before a server
/// announces itself, so that a signal sent right after the announcement stops
/// it gracefully instead of killing it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
