//! `resi bench coordinator`: the real coordinator on loopback under signed
//! load, driven from outside the server's library as any client would.
//!
//! Many registered hotkeys, every request signed beforehand (a signature is
//! accepted once, so each request carries its own), a fixed number of
//! requests spread over `connections` keep-alive HTTP/1.1 connections, each
//! sending its next request when the last one is answered (a closed loop, as
//! wrk does). Every check of the real path runs: timestamp window, sr25519
//! verification, metagraph lookup, replay record in the database, rate limit
//! (lifted to its ceiling so 2,000 hotkeys are not refused), epoch lookup.
//!
//! In the same run it measures two ceilings: how many sr25519 verifications
//! per second the machine does on all its cores with nothing else to do,
//! which a signed endpoint cannot pass; and how many unsigned requests per
//! second the same server, client and connections carry to a path no route
//! serves (404 through every layer, no handler): the HTTP floor, which a
//! signed endpoint cannot pass either, since the client shares the cores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use resi_api::endpoint::Signing;
use resi_api::routes;
use resi_auth::Keypair;
use resi_chain::{LocalChain, Metagraph};
use resi_core::Neuron;
use resi_runtime::{Shutdown, SystemClock};
use resi_storage::S3Config;

use resi_coordinator::config::{CoordinatorConfig, ServerLimits};
use resi_coordinator::selection::SelectionParams;
use resi_coordinator::store::{Backend, Store};
use resi_coordinator::universe::sample_universe;
use resi_coordinator::{App, Deps};

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `sqlite://…` (a file that does not exist yet) or `postgres://…` (a
    /// server, where the run makes a database of its own and drops it);
    /// `None`: a fresh SQLite file in a temporary directory.
    pub database_url: Option<String>,
    /// Registered hotkeys the requests come from, round robin.
    pub hotkeys: usize,
    /// Keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Signed requests in the measured run (after one unmeasured request per connection).
    pub requests: usize,
    /// Threads of the load generator's own runtime.
    pub client_threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            database_url: None,
            hotkeys: 2_000,
            connections: 32,
            requests: 20_000,
            client_threads: 1,
        }
    }
}

/// What one run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// `sqlite` or `postgres`.
    pub backend: Backend,
    pub requests: usize,
    pub connections: usize,
    pub hotkeys: usize,
    /// Answered signed requests per second (all 200).
    pub signed_rps: f64,
    /// sr25519 verifications per second on every core, nothing else running.
    pub raw_verify_per_sec: f64,
    /// The same on one thread.
    pub raw_verify_per_sec_one_thread: f64,
    /// Unsigned requests per second to an unrouted path (404), same server,
    /// client and connections: the cost of HTTP alone on this machine.
    pub http_floor_rps: f64,
    pub threads: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LoadReport {
    /// Signed requests per second over raw verifications per second.
    pub fn verify_share(&self) -> f64 {
        self.signed_rps / self.raw_verify_per_sec.max(f64::MIN_POSITIVE)
    }

    /// Signed requests per second over the HTTP floor's requests per second.
    pub fn http_share(&self) -> f64 {
        self.signed_rps / self.http_floor_rps.max(f64::MIN_POSITIVE)
    }

    /// One JSON line, the keys the issue tracker and scripts read.
    pub fn json(&self) -> String {
        format!(
            "{{\"backend\":\"{}\",\"signedRps\":{:.1},\"rawVerifyPerSec\":{:.1},\"p50Ms\":{:.3},\"p99Ms\":{:.3},\"connections\":{},\"httpFloorRps\":{:.1}}}",
            self.backend,
            self.signed_rps,
            self.raw_verify_per_sec,
            self.p50_ms,
            self.p99_ms,
            self.connections,
            self.http_floor_rps
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("options: {0}")]
    Options(String),
    #[error("setting up: {0}")]
    Setup(String),
    #[error("request {index}: {message}")]
    Request { index: usize, message: String },
}

fn setup<E: std::fmt::Display>(e: E) -> LoadError {
    LoadError::Setup(e.to_string())
}

/// Runs the benchmark: starts the server, loads it, stops it.
pub async fn run(options: &LoadOptions) -> Result<LoadReport, LoadError> {
    if options.hotkeys == 0
        || options.connections == 0
        || options.client_threads == 0
        || options.requests < options.connections
    {
        return Err(LoadError::Options(
            "--hotkeys, --connections and --client-threads must be positive and --requests at least --connections"
                .into(),
        ));
    }
    let scratch = tempfile::Builder::new()
        .prefix("resi-bench-coordinator-")
        .tempdir()
        .map_err(setup)?;
    let (database_url, server_scratch) = scratch_database(options.database_url.as_deref(), scratch.path()).await?;
    let measured = measure(options, &database_url, scratch.path()).await;
    if let Some(database) = server_scratch {
        database.drop_it().await?;
    }
    measured
}

/// A database the benchmark made on a PostgreSQL server, dropped after the run.
struct ServerScratch {
    admin: sqlx::AnyPool,
    name: String,
}

impl ServerScratch {
    async fn drop_it(self) -> Result<(), LoadError> {
        use sqlx::Executor;
        // FORCE: the server's pool may still hold connections.
        self.admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .map_err(|e| LoadError::Setup(format!("dropping the benchmark's database {}: {e}", self.name)))?;
        self.admin.close().await;
        Ok(())
    }
}

/// Where the run keeps its state: never a database in use. The benchmark
/// migrates its database and writes its own epochs (with its own secret),
/// replay records and rate-limit windows, which in a coordinator's database
/// would be served to miners. So on a PostgreSQL server it creates a
/// database of its own (the role needs CREATEDB) and drops it afterwards;
/// a SQLite file must not exist yet; none given, a file in `dir`.
async fn scratch_database(
    given: Option<&str>,
    dir: &std::path::Path,
) -> Result<(String, Option<ServerScratch>), LoadError> {
    let Some(given) = given else {
        return Ok((
            format!("sqlite://{}?mode=rwc", dir.join("coordinator.db").display()),
            None,
        ));
    };
    if let Some(rest) = given.strip_prefix("sqlite:") {
        let file = rest.trim_start_matches("//");
        let file = file.split('?').next().unwrap_or(file);
        if file.contains(":memory:") || !std::path::Path::new(file).exists() {
            return Ok((given.to_owned(), None));
        }
        return Err(LoadError::Options(format!(
            "{file} exists: the benchmark writes its own epochs, replay records and rate-limit windows; \
             name a new file, or no --database for a temporary one"
        )));
    }
    if !given.starts_with("postgres") {
        return Err(LoadError::Options(format!(
            "--database must be sqlite://FILE or postgres://…, not {given}"
        )));
    }
    let mut url = url::Url::parse(given).map_err(|e| LoadError::Options(format!("--database: {e}")))?;
    sqlx::any::install_default_drivers();
    let admin = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(given)
        .await
        .map_err(|e| LoadError::Setup(format!("connecting to the PostgreSQL server of --database: {e}")))?;
    let name = format!("resi_bench_{}_{}", std::process::id(), SystemClock::shared().now_ms());
    {
        use sqlx::Executor;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| {
                LoadError::Setup(format!(
                    "creating a database of the benchmark's own on that server (the role needs CREATEDB; \
                     the benchmark never writes to the database named): {e}"
                ))
            })?;
    }
    url.set_path(&format!("/{name}"));
    Ok((url.to_string(), Some(ServerScratch { admin, name })))
}

/// The run itself, on `database_url`, with its metagraph file in `dir`.
async fn measure(options: &LoadOptions, database_url: &str, dir: &std::path::Path) -> Result<LoadReport, LoadError> {
    let clock = SystemClock::shared();
    let database_url = database_url.to_owned();

    let keys: Arc<Vec<Keypair>> = Arc::new(
        (0..options.hotkeys)
            .map(|_| Keypair::generate().map_err(setup))
            .collect::<Result<_, _>>()?,
    );
    let owner = Keypair::generate().map_err(setup)?.hotkey();
    let neurons = keys
        .iter()
        .enumerate()
        .map(|(uid, key)| Neuron {
            uid: uid as u16,
            hotkey: key.hotkey(),
            coldkey: owner.clone(),
            stake: 0,
            alpha_stake: 0,
            tao_stake: 0,
            validator_permit: false,
            registered_block: 0,
        })
        .collect();
    let metagraph_path = dir.join("metagraph.json");
    resi_chain::local::write(&metagraph_path, &Metagraph::new(neurons)).map_err(setup)?;

    let store = Store::connect(&database_url).await.map_err(setup)?;
    store
        .import_universe(&sample_universe(200), clock.now_unix())
        .await
        .map_err(setup)?;
    let config = CoordinatorConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.clone(),
        secret: Some("resi bench coordinator: a secret for this run only".into()),
        // Lifted as far as configuration allows: this measures the path, not the limiter's refusals.
        rate_limit_multiplier: 1_000,
        // The load comes from one address.
        server: ServerLimits::one_address(),
        selection: SelectionParams {
            target_listings: 20_000,
            ..SelectionParams::default()
        },
        // Presigning needs a bucket's coordinates; this endpoint never contacts it.
        s3: Some(S3Config {
            endpoint: url::Url::parse("http://127.0.0.1:9/").map_err(setup)?,
            region: "us-east-1".into(),
            bucket: "resi-bench".into(),
            access_key: "bench".into(),
            secret_key: "bench-secret".into(),
            path_style: true,
            session_token: None,
        }),
        ..CoordinatorConfig::default()
    };
    let deps = Deps {
        clock: clock.clone(),
        chain: Arc::new(LocalChain::open(&metagraph_path).map_err(setup)?),
    };
    let app = App::build_with_store(&config, deps, store).await.map_err(setup)?;
    let backend = app.store().backend();
    let addr = app.addr();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(app.run(shutdown.clone()));

    let total = options.requests + options.connections;
    let targets = Arc::new(signed_targets(Arc::clone(&keys), clock.now_unix(), total).await?);
    let (connections, client_threads) = (options.connections, options.client_threads);
    let signed = tokio::task::spawn_blocking(move || drive(targets, addr, connections, client_threads, StatusCode::OK))
        .await
        .map_err(setup)?;
    let unrouted = Arc::new(vec![UNROUTED.to_owned(); total]);
    let floor =
        tokio::task::spawn_blocking(move || drive(unrouted, addr, connections, client_threads, StatusCode::NOT_FOUND))
            .await
            .map_err(setup)?;
    shutdown.trigger();
    let _ = server.await;
    let (latencies_us, elapsed) = signed?;
    let (_, floor_elapsed) = floor?;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (raw_all, raw_one) = tokio::task::spawn_blocking(move || {
        (
            raw_verify_per_sec(threads, Duration::from_secs(1)),
            raw_verify_per_sec(1, Duration::from_secs(1)),
        )
    })
    .await
    .map_err(setup)?;
    let mut sorted = latencies_us;
    sorted.sort_unstable();
    let pick = |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1] as f64 / 1_000.0;
    Ok(LoadReport {
        backend,
        requests: options.requests,
        connections: options.connections,
        hotkeys: options.hotkeys,
        signed_rps: options.requests as f64 / elapsed.as_secs_f64(),
        raw_verify_per_sec: raw_all,
        raw_verify_per_sec_one_thread: raw_one,
        http_floor_rps: options.requests as f64 / floor_elapsed.as_secs_f64(),
        threads,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
    })
}

/// A path no route serves: the router answers 404 through every layer.
const UNROUTED: &str = "/api/v1/resi-bench-unrouted";

/// `total` request targets for the current assignment, each with its own
/// signature, round robin over the hotkeys; signed on every core.
async fn signed_targets(keys: Arc<Vec<Keypair>>, timestamp: i64, total: usize) -> Result<Vec<String>, LoadError> {
    let message = Signing::CurrentAssignment.commitment(&keys[0].hotkey(), timestamp);
    let prefixes: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{}?hotkey={}&timestamp={timestamp}&signature=",
                routes::CURRENT_ASSIGNMENT,
                k.hotkey()
            )
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        (0..total)
            .into_par_iter()
            .map(|i| {
                let k = i % keys.len();
                format!("{}{}", prefixes[k], keys[k].sign(message.as_bytes()).to_hex())
            })
            .collect()
    })
    .await
    .map_err(setup)
}

/// Sends every target over `connections` connections, one request in flight
/// on each; the first request of each connection opens it and is not
/// measured. Returns each measured latency in µs and the measured wall time.
///
/// The client runs on its own runtime, on `client_threads` threads named
/// `resi-loadgen`, so a profile tells its CPU from the server's; it speaks
/// HTTP/1.1 through hyper's connection API (no pool, no redirects, no
/// URL parsing per request), which costs a fraction of a full client.
fn drive(
    targets: Arc<Vec<String>>,
    addr: SocketAddr,
    connections: usize,
    client_threads: usize,
    expected: StatusCode,
) -> Result<(Vec<u32>, Duration), LoadError> {
    let runtime = if client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(client_threads);
        builder
    }
    .enable_all()
    .thread_name("resi-loadgen")
    .build()
    .map_err(setup)?;
    let client = std::thread::Builder::new()
        .name("resi-loadgen".into())
        .spawn(move || runtime.block_on(drive_on(targets, addr, connections, expected)))
        .map_err(setup)?;
    client
        .join()
        .map_err(|_| LoadError::Setup("the load generator's thread panicked".into()))?
}

async fn drive_on(
    targets: Arc<Vec<String>>,
    addr: SocketAddr,
    connections: usize,
    expected: StatusCode,
) -> Result<(Vec<u32>, Duration), LoadError> {
    let next = Arc::new(AtomicUsize::new(connections));
    let start = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let host = hyper::header::HeaderValue::from_str(&addr.to_string()).map_err(setup)?;
    let mut workers = Vec::with_capacity(connections);
    for first in 0..connections {
        let (targets, next, start, host) = (
            Arc::clone(&targets),
            Arc::clone(&next),
            Arc::clone(&start),
            host.clone(),
        );
        workers.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.map_err(setup)?;
            stream.set_nodelay(true).map_err(setup)?;
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(setup)?;
            tokio::spawn(connection);
            send(&mut sender, &host, &targets, first, expected).await?;
            start.wait().await;
            let mut latencies = Vec::with_capacity(targets.len() / connections + 1);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= targets.len() {
                    return Ok::<_, LoadError>(latencies);
                }
                let sent = Instant::now();
                send(&mut sender, &host, &targets, index, expected).await?;
                latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
        }));
    }
    start.wait().await;
    let began = Instant::now();
    let mut all = Vec::with_capacity(targets.len());
    for worker in workers {
        all.extend(worker.await.map_err(setup)??);
    }
    Ok((all, began.elapsed()))
}

async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    host: &hyper::header::HeaderValue,
    targets: &[String],
    index: usize,
    expected: StatusCode,
) -> Result<(), LoadError> {
    let failed = |message: String| LoadError::Request { index, message };
    sender.ready().await.map_err(|e| failed(e.to_string()))?;
    let request = hyper::Request::get(targets[index].as_str())
        .header(hyper::header::HOST, host.clone())
        .body(Empty::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?
        .to_bytes();
    if status != expected {
        return Err(failed(format!("{status}: {}", String::from_utf8_lossy(&body))));
    }
    Ok(())
}

/// sr25519 verifications per second on `threads` threads for about `span`,
/// each with an already decoded public key.
pub fn raw_verify_per_sec(threads: usize, span: Duration) -> f64 {
    let Ok(key) = Keypair::generate() else {
        return 0.0;
    };
    let hotkey = key.hotkey();
    let message = Signing::CurrentAssignment.commitment(&hotkey, 1_759_334_400);
    let signature = key.sign(message.as_bytes());
    // With the key decoded once, as the server verifies registered hotkeys:
    // the ceiling is the verification itself.
    let Ok(verifying) = resi_auth::VerifyingKey::decode(&hotkey) else {
        return 0.0;
    };
    let began = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0u64;
                    while began.elapsed() < span {
                        for _ in 0..64 {
                            let ok = verifying.verify(message.as_bytes(), &signature).is_ok();
                            n += u64::from(ok);
                        }
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    counts.iter().sum::<u64>() as f64 / began.elapsed().as_secs_f64()
}
