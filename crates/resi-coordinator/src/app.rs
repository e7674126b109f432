//! One way to build and run the coordinator (zero2prod's
//! `Application::build`): the binary, the devnet and the tests all call
//! [`App::build`] and [`App::run`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use resi_chain::MetagraphSource;
use resi_core::EpochLength;
use resi_runtime::{SharedClock, Shutdown};
use resi_storage::{Presigner, RetryPolicy, S3Client};
use tracing::Instrument;

use crate::config::{ConfigError, CoordinatorConfig};
use crate::epochs::EpochPolicy;
use crate::handlers::router;
use crate::ratelimit::RateLimiter;
use crate::state::AppState;
use crate::store::{Backend, Store, StoreError};

/// What the coordinator takes from outside: time and the chain's read side.
#[derive(Clone)]
pub struct Deps {
    pub clock: SharedClock,
    pub chain: Arc<dyn MetagraphSource>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("storage: {0}")]
    Storage(Box<dyn std::error::Error + Send + Sync>),
    #[error("metrics: {0}")]
    Metrics(Box<dyn std::error::Error + Send + Sync>),
    #[error("listening on {addr}: {cause}")]
    Listen { addr: SocketAddr, cause: std::io::Error },
}

/// A coordinator bound to its address, not yet serving.
pub struct App {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    state: Arc<AppState>,
    limits: resi_net::Limits,
}

impl App {
    /// Checks the configuration, connects the database (running its
    /// migrations), prepares presigning for the bucket and binds
    /// `config.listen` (port 0 picks a free one).
    pub async fn build(config: &CoordinatorConfig, deps: Deps) -> Result<App, AppError> {
        config.check()?;
        let store = Store::connect(&config.database_url).await?;
        Self::build_with_store(config, deps, store).await
    }

    /// As [`App::build`], on a database already connected.
    pub async fn build_with_store(config: &CoordinatorConfig, deps: Deps, store: Store) -> Result<App, AppError> {
        config.check()?;
        let secret = config.secret_bytes()?;
        let length = EpochLength::from_secs(config.epoch_seconds)
            .map_err(|e| ConfigError::Invalid(format!("epoch_seconds: {e}")))?;
        let s3 = config
            .s3
            .clone()
            .ok_or_else(|| ConfigError::Invalid("no [s3] section: the coordinator brokers a bucket".into()))?;
        let presigner = Presigner::new(s3).map_err(|e| AppError::Storage(Box::new(e)))?;
        let s3_client = S3Client::new(RetryPolicy::default()).map_err(|e| AppError::Storage(Box::new(e)))?;
        let shared_limits = config
            .shared_rate_limits
            .unwrap_or(store.backend() == Backend::Postgres);
        let limiter = if shared_limits {
            RateLimiter::shared(store.clone())
        } else {
            RateLimiter::local()
        };
        let metrics = resi_telemetry::metrics::install().map_err(|e| AppError::Metrics(Box::new(e)))?;
        resi_runtime::daemon_span("coordinator", "").in_scope(crate::metrics::describe);
        let state = Arc::new(AppState {
            store,
            policy: EpochPolicy {
                length,
                secret,
                selection: config.selection.clone(),
                rules: config.rules.clone(),
            },
            epochs: Default::default(),
            chain: deps.chain,
            presigner,
            s3: s3_client,
            limiter,
            started: Instant::now(),
            clock: deps.clock,
            max_upload_bytes: config.max_upload_bytes,
            validator_min_stake: config.chain.validator_min_stake_units(),
            read_url_ttl: Duration::from_secs(config.read_url_ttl_secs),
            rate_limit_multiplier: config.rate_limit_multiplier,
            metrics,
            published: Default::default(),
            keys: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| AppError::Listen {
                addr: config.listen,
                cause: source,
            })?;
        let addr = listener.local_addr().map_err(|source| AppError::Listen {
            addr: config.listen,
            cause: source,
        })?;
        Ok(App {
            listener,
            addr,
            state,
            limits: config.server.net(),
        })
    }

    /// Announces `rules` instead of the configured ones. Only before it
    /// serves: the devnet learns its upgrade epoch once everyone is registered.
    pub fn announce_rules(&mut self, rules: crate::rules::RulesConfig) -> Result<(), AppError> {
        rules.check().map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let state = Arc::get_mut(&mut self.state)
            .ok_or_else(|| ConfigError::Invalid("the rules cannot change once the coordinator serves".into()))?;
        state.policy.rules = rules;
        Ok(())
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}/`.
    pub fn url(&self) -> url::Url {
        // A socket address always makes a valid URL.
        url::Url::parse(&format!("http://{}/", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Serves until `shutdown` is triggered, then drains open requests.
    pub async fn run(self, shutdown: Shutdown) {
        let span = resi_runtime::daemon_span("coordinator", "");
        resi_net::serve(self.listener, router(self.state), self.limits, async move {
            shutdown.wait().await
        })
        .instrument(span)
        .await;
    }
}
