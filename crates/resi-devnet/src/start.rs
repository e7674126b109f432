//! Bringing the devnet's servers up (S3, market, coordinator) and its
//! daemons, and taking them down again gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use resi_coordinator::config::CoordinatorConfig;
use resi_coordinator::selection::SelectionParams;
use resi_coordinator::{App, Deps};
use resi_core::EpochLength;
use resi_runtime::{SharedClock, Shutdown};
use resi_s3_server::{EmbeddedS3, EmbeddedS3Options};
use resi_sim::http::SimState;
use resi_sim::replay::{Corpus, Replay, ReplayOptions};
use resi_sim::Market;
use tokio::task::JoinHandle;

use crate::cast::{DevnetOptions, MarketKind};
use crate::DevnetError;

/// A server task and the handle that stops it.
pub(crate) struct Background {
    addr: SocketAddr,
    stop: Shutdown,
    task: JoinHandle<()>,
}

impl Background {
    async fn serve(router: axum::Router, what: &str) -> Result<Self, DevnetError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| DevnetError(format!("{what}: binding a port: {e}")))?;
        let addr = listener.local_addr().map_err(|e| DevnetError(format!("{what}: {e}")))?;
        let stop = Shutdown::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            resi_net::serve(
                listener,
                router,
                resi_net::Limits::default().one_address(),
                async move { stopped.wait().await },
            )
            .await;
        });
        Ok(Self { addr, stop, task })
    }

    pub(crate) fn url(&self) -> url::Url {
        // A socket address always makes a valid URL.
        url::Url::parse(&format!("http://{}/", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    async fn stop(self) {
        self.stop.trigger();
        let _ = self.task.await;
    }
}

/// The servers of a devnet, before any daemon runs.
pub(crate) struct Servers {
    pub s3: EmbeddedS3,
    pub market: Background,
    /// Bound, not serving yet: its URL goes into the daemons' configurations first.
    pub coordinator: App,
}

/// Starts S3 and the market, and builds the coordinator on its own
/// SQLite database with the market's zipcodes as its universe.
pub(crate) async fn servers(
    options: &DevnetOptions,
    dir: &std::path::Path,
    chain: Arc<dyn resi_chain::MetagraphSource>,
    chain_config: resi_chain::ChainConfig,
    clock: &SharedClock,
) -> Result<(Servers, EpochLength), DevnetError> {
    let length = EpochLength::from_secs(options.epoch_seconds).map_err(|e| DevnetError(e.to_string()))?;
    let s3 = EmbeddedS3::start(EmbeddedS3Options::local(dir.join("s3"), "resi"))
        .await
        .map_err(|e| DevnetError(format!("embedded S3: {e}")))?;
    let (market, universe_csv, selection) = match &options.market {
        MarketKind::Synthetic => {
            let market = Market::sample(options.seed, options.market_zipcodes);
            let csv = market.universe_csv();
            let sim = Arc::new(SimState {
                market,
                length,
                clock: Arc::clone(clock),
            });
            let selection = SelectionParams {
                target_listings: options.target_listings,
                tolerance_percent: 15,
                min_expected: 100,
                max_expected: 2_000,
                cooldown_secs: (options.epoch_seconds as i64) * 2,
                ..SelectionParams::default()
            };
            (
                Background::serve(resi_sim::http::router(sim), "market").await?,
                csv,
                selection,
            )
        }
        MarketKind::Replay(data) => {
            let corpus = Corpus::load(data).map_err(|e| DevnetError(format!("real-data corpus: {e}")))?;
            let csv = corpus.universe_csv();
            let total: u64 = corpus.searches.keys().map(|z| corpus.hits(z).len() as u64).sum();
            let replay = Arc::new(Replay::new(
                corpus,
                ReplayOptions {
                    api_key: crate::cast::REPLAY_API_KEY.into(),
                    ..ReplayOptions::default()
                },
            ));
            // A handful of real zipcodes: every epoch assigns all of them.
            let selection = SelectionParams {
                target_listings: total,
                tolerance_percent: 15,
                min_expected: 1,
                max_expected: 100_000,
                cooldown_secs: 0,
                ..SelectionParams::default()
            };
            (
                Background::serve(resi_sim::replay::router(replay), "replay").await?,
                csv,
                selection,
            )
        }
    };
    let universe = resi_coordinator::universe::parse_csv(&universe_csv);
    if !universe.errors.is_empty() {
        return Err(DevnetError(format!("market universe: {:?}", universe.errors)));
    }

    let config = CoordinatorConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite://{}?mode=rwc", dir.join("coordinator.db").display()),
        epoch_seconds: options.epoch_seconds,
        secret: Some(fresh_secret()?),
        secret_file: None,
        max_upload_bytes: 64 * 1024 * 1024,
        validator_min_stake: None,
        // Epochs of seconds instead of hours: the per-minute limits scale up.
        rate_limit_multiplier: 20,
        shared_rate_limits: None,
        read_url_ttl_secs: 3_600,
        selection,
        // Announced once the devnet knows its epochs (`App::announce_rules`).
        rules: resi_coordinator::rules::RulesConfig::default(),
        // Every daemon connects from loopback: one address is every client.
        server: resi_coordinator::config::ServerLimits::one_address(),
        s3_section: None,
        s3: Some(s3.s3_config()),
        chain: chain_config,
    };
    let coordinator = App::build(
        &config,
        Deps {
            clock: Arc::clone(clock),
            chain,
        },
    )
    .await
    .map_err(|e| DevnetError(format!("coordinator: {e}")))?;
    coordinator
        .store()
        .import_universe(&universe.zipcodes, clock.now_unix())
        .await
        .map_err(|e| DevnetError(format!("importing the universe: {e}")))?;
    Ok((
        Servers {
            s3,
            market,
            coordinator,
        },
        length,
    ))
}

/// A fresh selection secret for this run (hex of 32 random bytes).
fn fresh_secret() -> Result<String, DevnetError> {
    let key = resi_auth::Keypair::generate().map_err(|e| DevnetError(format!("generating a secret: {e}")))?;
    let seed = key
        .seed()
        .ok_or_else(|| DevnetError("a generated key has no seed".into()))?;
    Ok(seed.iter().map(|b| format!("{b:02x}")).collect())
}

/// A running devnet: its servers, its directory, and the daemons' tasks.
pub struct Devnet {
    pub dir: PathBuf,
    pub(crate) _temp: Option<tempfile::TempDir>,
    pub(crate) s3: Option<EmbeddedS3>,
    pub(crate) market: Background,
    pub(crate) coordinator_url: url::Url,
    pub(crate) coordinator_stop: Shutdown,
    pub(crate) coordinator_task: JoinHandle<()>,
    pub(crate) daemons: Vec<JoinHandle<()>>,
    pub(crate) daemons_stop: Shutdown,
    pub metagraph: PathBuf,
    pub clock: SharedClock,
}

impl Devnet {
    pub fn coordinator_url(&self) -> url::Url {
        self.coordinator_url.clone()
    }
    pub fn market_url(&self) -> url::Url {
        self.market.url()
    }
    pub fn s3_endpoint(&self) -> Option<url::Url> {
        self.s3.as_ref().map(|s| s.endpoint())
    }
    pub fn s3_credentials(&self) -> Option<(String, String)> {
        self.s3.as_ref().map(|s| {
            let c = s.s3_config();
            (c.access_key, c.secret_key)
        })
    }

    /// Stops the miners and validators after the step each has in hand
    /// (the servers stay up); a daemon that does not stop within 10 s is aborted.
    pub async fn stop_daemons(&mut self) {
        self.daemons_stop.trigger();
        for task in self.daemons.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), task).await.is_err() {
                tracing::warn!("a daemon did not stop within 10 s; aborting it");
                abort.abort();
            }
        }
    }

    /// Stops everything.
    pub async fn shutdown(mut self) {
        self.stop_daemons().await;
        self.coordinator_stop.trigger();
        let _ = self.coordinator_task.await;
        self.market.stop().await;
        if let Some(s3) = self.s3.take() {
            s3.shutdown().await;
        }
    }
}
