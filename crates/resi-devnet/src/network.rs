//! Starting the network, running it for K epochs, and judging the outcome.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resi_auth::wallet::{write_keypair, write_public};
use resi_auth::Keypair;
use resi_chain::WeightRecord;
use resi_coordinator::epochs::EpochPolicy;
use resi_coordinator::ratelimit::RateLimiter;
use resi_coordinator::selection::SelectionParams;
use resi_coordinator::service::{router, AppState};
use resi_coordinator::store::Store;
use resi_coordinator::universe::parse_csv;
use resi_core::consensus::ConsensusStatus;
use resi_core::{EpochId, EpochLength, Hotkey};
use resi_miner::{MinerConfig, ScraperConfig, SelfCheck};
use resi_sim::http::SimState;
use resi_sim::{Market, Profile};
use resi_storage::{EmbeddedS3, EmbeddedS3Options, Presigner, RetryPolicy, S3Client};
use resi_validator::{EpochReport, ValidatorConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::report;

#[derive(Debug, thiserror::Error)]
#[error("devnet: {0}")]
pub struct DevnetError(pub String);

fn err(what: &str) -> impl FnOnce(String) -> DevnetError + '_ {
    move |e| DevnetError(format!("{what}: {e}"))
}

/// What to run.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// Epochs to run and judge.
    pub epochs: u32,
    pub epoch_seconds: u64,
    pub validators: usize,
    /// One miner per entry. A `copier` copies the first `honest-fast` miner.
    pub miners: Vec<Profile>,
    /// Zipcodes in the simulated market.
    pub market_zipcodes: usize,
    /// Expected listings per epoch (the coordinator's selection target).
    pub target_listings: u64,
    pub seed: u64,
    /// Keep everything here (otherwise a temporary directory, removed at the end).
    pub data_dir: Option<PathBuf>,
}

impl Default for DevnetOptions {
    fn default() -> Self {
        // One of every profile, then more honest miners.
        let mut miners = Profile::ALL.to_vec();
        miners.extend([Profile::HonestFast, Profile::HonestFast, Profile::HonestSlow]);
        Self {
            epochs: 3,
            epoch_seconds: 30,
            validators: 2,
            miners,
            market_zipcodes: 80,
            target_listings: 3_000,
            seed: 7,
            data_dir: None,
        }
    }
}

/// One miner of the devnet.
#[derive(Clone, Debug)]
pub struct MinerInfo {
    pub name: String,
    pub uid: u16,
    pub hotkey: Hotkey,
    pub profile: Profile,
}

/// One epoch as the validators saw it.
#[derive(Clone, Debug)]
pub struct EpochOutcome {
    pub epoch: EpochId,
    /// One report per validator, in validator order.
    pub reports: Vec<EpochReport>,
}

/// How the run went.
#[derive(Clone, Debug)]
pub struct DevnetOutcome {
    pub epochs: Vec<EpochOutcome>,
    pub miners: Vec<MinerInfo>,
    pub validators: Vec<(String, u16, Hotkey)>,
    /// Worst consensus status any validator reported in any epoch.
    pub consensus: ConsensusStatus,
    /// Every validator of every epoch published the same consensus hash.
    pub hashes_agree: bool,
    pub honest_rewarded: usize,
    pub honest_total: usize,
    pub cheaters_rewarded: usize,
    pub cheaters_total: usize,
    pub ledger: Vec<WeightRecord>,
    /// Epochs that did not finish in time (no report from some validator).
    pub missing_epochs: usize,
}

impl DevnetOutcome {
    /// Validators agreed, no cheater was paid, every epoch finished.
    pub fn passed(&self) -> bool {
        self.consensus == ConsensusStatus::PerfectConsensus
            && self.hashes_agree
            && self.cheaters_rewarded == 0
            && self.missing_epochs == 0
    }

    /// `devnet: <K> epochs, consensus <STATUS>, honest rewarded a/b, cheaters rewarded c/d`.
    pub fn verdict(&self) -> String {
        format!(
            "devnet: {} epochs, consensus {}, honest rewarded {}/{}, cheaters rewarded {}/{}",
            self.epochs.len() + self.missing_epochs,
            report::status_text(self.consensus),
            self.honest_rewarded,
            self.honest_total,
            self.cheaters_rewarded,
            self.cheaters_total
        )
    }
}

/// A background HTTP server and the way to stop it.
struct Background {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Background {
    async fn serve(router: axum::Router, what: &str) -> Result<Self, DevnetError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| DevnetError(format!("{what}: binding a port: {e}")))?;
        let addr = listener.local_addr().map_err(|e| DevnetError(format!("{what}: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            resi_net::serve(listener, router, resi_net::Limits::default(), stop).await;
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    fn url(&self) -> url::Url {
        // A socket address always makes a valid URL.
        url::Url::parse(&format!("http://{}/", self.addr)).unwrap_or_else(|_| unreachable!())
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// A running devnet: its servers, its directory, and the daemons' tasks.
pub struct Devnet {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    s3: Option<EmbeddedS3>,
    market: Background,
    coordinator: Background,
    daemons: Vec<JoinHandle<()>>,
    pub metagraph: PathBuf,
}

impl Devnet {
    pub fn coordinator_url(&self) -> url::Url {
        self.coordinator.url()
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

    /// Stops the miners and validators (the servers stay up).
    pub fn stop_daemons(&mut self) {
        for task in self.daemons.drain(..) {
            task.abort();
        }
    }

    /// Stops everything.
    pub async fn shutdown(mut self) {
        self.stop_daemons();
        self.coordinator.stop().await;
        self.market.stop().await;
        if let Some(s3) = self.s3.take() {
            s3.shutdown().await;
        }
    }
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Writes a wallet hotkey file for `key` under `dir/wallets/{name}`; returns its path.
fn write_wallet(dir: &Path, name: &str, key: &Keypair, coldkey: &Hotkey) -> Result<PathBuf, DevnetError> {
    let wallet = dir.join("wallets").join(name);
    let hotkey_file = wallet.join("hotkeys").join("default");
    write_keypair(&hotkey_file, key, true).map_err(|e| DevnetError(format!("wallet {name}: {e}")))?;
    write_public(&wallet.join("coldkeypub.txt"), coldkey, true)
        .map_err(|e| DevnetError(format!("wallet {name}: {e}")))?;
    Ok(hotkey_file)
}

fn write_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DevnetError> {
    let text = toml::to_string_pretty(value).map_err(|e| DevnetError(format!("{}: {e}", path.display())))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DevnetError(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| DevnetError(format!("{}: {e}", path.display())))
}

/// Runs the devnet: sets it up, waits for the next epoch boundary, runs
/// `options.epochs` epochs, prints each epoch's leaderboard as soon as every
/// validator has finished it, and returns the outcome with the network still
/// up (call [`Devnet::shutdown`], or keep it running).
pub async fn run(options: DevnetOptions) -> Result<(Devnet, DevnetOutcome), DevnetError> {
    if options.epochs == 0 || options.validators == 0 || options.miners.is_empty() {
        return Err(DevnetError(
            "needs at least one epoch, one validator and one miner".into(),
        ));
    }
    if options.epoch_seconds < 6 {
        return Err(DevnetError("epochs must be at least 6 seconds".into()));
    }
    let (temp, dir) = match &options.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| DevnetError(format!("{}: {e}", d.display())))?;
            (None, d.clone())
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("resi-devnet-")
                .tempdir()
                .map_err(|e| DevnetError(format!("temporary directory: {e}")))?;
            let p = t.path().to_owned();
            (Some(t), p)
        }
    };
    let length = EpochLength::from_secs(options.epoch_seconds).map_err(|e| DevnetError(e.to_string()))?;

    // Storage and market.
    let s3 = EmbeddedS3::start(EmbeddedS3Options::local(dir.join("s3"), "resi"))
        .await
        .map_err(|e| DevnetError(format!("embedded S3: {e}")))?;
    let market = Market::sample(options.seed, options.market_zipcodes);
    let universe = parse_csv(&market.universe_csv());
    if !universe.errors.is_empty() {
        return Err(DevnetError(format!("market universe: {:?}", universe.errors)));
    }
    let sim = Arc::new(SimState {
        market,
        length,
        clock: Arc::new(now_unix),
    });
    let market_server = Background::serve(resi_sim::http::router(sim), "market").await?;

    // Keys and the metagraph: the owner (uid 0), validators, miners.
    let metagraph = dir.join("chain").join("metagraph.json");
    let _ = std::fs::remove_file(&metagraph);
    let _ = std::fs::remove_file(resi_chain::ledger::beside(&metagraph));
    let register = |hotkey: Hotkey, coldkey: Hotkey, stake: u64, permit: bool| {
        resi_chain::local::register(&metagraph, hotkey, coldkey, stake, permit)
            .map(|n| n.uid)
            .map_err(|e| DevnetError(format!("metagraph: {e}")))
    };
    let new_key = || Keypair::generate().map_err(|e| DevnetError(format!("generating a key: {e}")));
    let owner = new_key()?;
    let owner_cold = new_key()?;
    write_wallet(&dir, "owner", &owner, &owner_cold.hotkey())?;
    register(owner.hotkey(), owner_cold.hotkey(), 0, false)?;
    let mut validator_keys = Vec::new();
    for i in 0..options.validators {
        let (key, cold) = (new_key()?, new_key()?);
        let name = format!("validator-{}", i + 1);
        let file = write_wallet(&dir, &name, &key, &cold.hotkey())?;
        let uid = register(key.hotkey(), cold.hotkey(), 1_000_000_000_000, true)?;
        validator_keys.push((name, uid, key.hotkey(), file));
    }
    let mut miners = Vec::new();
    let mut miner_files = Vec::new();
    for (i, profile) in options.miners.iter().enumerate() {
        let (key, cold) = (new_key()?, new_key()?);
        let name = format!("miner-{:02}-{profile}", i + 1);
        let file = write_wallet(&dir, &name, &key, &cold.hotkey())?;
        let uid = register(key.hotkey(), cold.hotkey(), 0, false)?;
        miners.push(MinerInfo {
            name: name.clone(),
            uid,
            hotkey: key.hotkey(),
            profile: *profile,
        });
        miner_files.push((file, cold.hotkey()));
    }

    // The coordinator.
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", dir.join("coordinator.db").display()))
        .await
        .map_err(|e| err("coordinator database")(e.to_string()))?;
    store
        .import_universe(&universe.zipcodes, now_unix())
        .await
        .map_err(|e| err("importing the universe")(e.to_string()))?;
    let secret: Vec<u8> = owner
        .seed()
        .map(|s| s.to_vec())
        .unwrap_or_else(|| owner.public_key().to_vec());
    let s3_config = s3.s3_config();
    let state = Arc::new(AppState {
        store,
        policy: EpochPolicy {
            length,
            secret,
            selection: SelectionParams {
                target_listings: options.target_listings,
                tolerance_percent: 15,
                min_expected: 100,
                max_expected: 2_000,
                cooldown_secs: (options.epoch_seconds as i64) * 2,
                ..SelectionParams::default()
            },
        },
        metagraph: Mutex::new(resi_chain::LocalMetagraph::open(&metagraph).map_err(|e| DevnetError(e.to_string()))?),
        presigner: Presigner::new(s3_config.clone()).map_err(|e| DevnetError(e.to_string()))?,
        s3: S3Client::new(RetryPolicy::default()).map_err(|e| DevnetError(e.to_string()))?,
        limiter: RateLimiter::default(),
        started: Instant::now(),
        clock: Arc::new(now_unix),
        max_upload_bytes: 64 * 1024 * 1024,
        validator_min_stake: 0,
        read_url_ttl: Duration::from_secs(3_600),
        // Epochs of seconds instead of hours: the per-minute limits scale up.
        rate_limit_multiplier: 20,
    });
    let coordinator = Background::serve(router(state), "coordinator").await?;

    // Configuration files, written out so a kept data dir shows how each daemon ran.
    let victim = miners
        .iter()
        .position(|m| m.profile == Profile::HonestFast)
        .map(|i| dir.join("miners").join(&miners[i].name).join("data").join("miner.db"));
    let mut miner_configs = Vec::new();
    for (m, (file, cold)) in miners.iter().zip(&miner_files) {
        let folder = dir.join("miners").join(&m.name);
        if m.profile == Profile::Copier && victim.is_none() {
            return Err(DevnetError("a copier needs an honest-fast miner to copy".into()));
        }
        let config = MinerConfig {
            coordinator: coordinator.url(),
            hotkey_file: file.clone(),
            coldkey: Some(cold.to_string()),
            coldkeypub_file: None,
            data_dir: folder.join("data"),
            max_concurrent_scrapes: 4,
            retention_epochs: 6,
            // Cheaters upload what they have: that is what validators must catch.
            self_check: if m.profile.is_honest() {
                SelfCheck::Enforce
            } else {
                SelfCheck::Warn
            },
            retry_seconds: 2,
            scraper: ScraperConfig::Sim {
                url: market_server.url(),
                profile: m.profile.to_string(),
                copy_of: if m.profile == Profile::Copier {
                    victim.clone()
                } else {
                    None
                },
            },
        };
        write_toml(&folder.join("miner.toml"), &config)?;
        miner_configs.push(config);
    }
    let mut validator_configs = Vec::new();
    for (name, _, _, file) in &validator_keys {
        let folder = dir.join("validators").join(name);
        let config = ValidatorConfig {
            coordinator: coordinator.url(),
            hotkey_file: file.clone(),
            data_dir: folder.join("data"),
            property_source: market_server.url(),
            grace_seconds: 1,
            max_concurrent_downloads: 8,
            consensus_wait_seconds: (options.epoch_seconds / 2).max(5),
            backfill_epochs: 3,
            retry_seconds: 2,
            validator_min_stake: 0,
            burn_bps: 0,
            burn_owner_uid: None,
            chain: resi_validator::config::ChainSection {
                backend: "local".into(),
                metagraph: metagraph.clone(),
            },
            validation: resi_core::ValidationConfig::default(),
        };
        write_toml(&folder.join("validator.toml"), &config)?;
        validator_configs.push(config);
    }

    // Start at the next epoch boundary, so every epoch judged is whole.
    let now = now_unix();
    let current = length.epoch_containing(now).map_err(|e| DevnetError(e.to_string()))?;
    let first_start = current.start_unix() + options.epoch_seconds as i64;
    let first = EpochId::from_start_unix(first_start).map_err(|e| DevnetError(e.to_string()))?;
    println!(
        "devnet: {} miners, {} validators, {} epochs of {} s; data in {}",
        miners.len(),
        options.validators,
        options.epochs,
        options.epoch_seconds,
        dir.display()
    );
    println!(
        "devnet: coordinator {} · market {} · S3 {}",
        coordinator.url(),
        market_server.url(),
        s3.endpoint()
    );
    println!("devnet: waiting {} s for epoch {first} to start", first_start - now);
    let wait_ms = first_start * 1000 - now_ms() + 100;
    if wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    }

    let mut daemons = Vec::new();
    for config in &miner_configs {
        let miner = resi_miner::build(config)
            .await
            .map_err(|e| DevnetError(format!("miner {}: {e}", config.hotkey_file.display())))?;
        daemons.push(tokio::spawn(async move { miner.run().await }));
    }
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel::<EpochReport>();
    for config in &validator_configs {
        let mut settings = config.settings();
        settings.first_epoch = Some(first);
        settings.consensus_poll = Duration::from_secs(1);
        let validator = resi_validator::build(config, settings, Some(reports_tx.clone()))
            .map_err(|e| DevnetError(format!("validator {}: {e}", config.hotkey_file.display())))?;
        daemons.push(tokio::spawn(async move { validator.run().await }));
    }
    drop(reports_tx);

    let mut devnet = Devnet {
        dir,
        _temp: temp,
        s3: Some(s3),
        market: market_server,
        coordinator,
        daemons,
        metagraph: metagraph.clone(),
    };

    // Collect every validator's report of every epoch, printing each epoch when complete.
    let validators: Vec<(String, u16, Hotkey)> = validator_keys
        .iter()
        .map(|(n, u, h, _)| (n.clone(), *u, h.clone()))
        .collect();
    let epochs: Vec<EpochId> = (0..options.epochs)
        .filter_map(|k| EpochId::from_start_unix(first_start + k as i64 * options.epoch_seconds as i64).ok())
        .collect();
    let give_up_ms = (first_start + (options.epochs as i64 + 2) * options.epoch_seconds as i64 + 60) * 1000;
    let mut collected: BTreeMap<EpochId, BTreeMap<Hotkey, EpochReport>> = BTreeMap::new();
    let mut printed = 0usize;
    while printed < epochs.len() {
        let left = give_up_ms - now_ms();
        if left <= 0 {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(left as u64), reports_rx.recv()).await {
            Ok(Some(r)) => {
                collected
                    .entry(r.results.epoch_id)
                    .or_default()
                    .insert(r.validator.clone(), r);
            }
            _ => break,
        }
        while printed < epochs.len()
            && collected
                .get(&epochs[printed])
                .is_some_and(|m| m.len() == validators.len())
        {
            let reports = ordered(&collected[&epochs[printed]], &validators);
            print!(
                "{}",
                report::epoch_table(epochs[printed], &reports, &miners, &validators)
            );
            printed += 1;
        }
    }
    devnet.stop_daemons();

    let outcomes: Vec<EpochOutcome> = epochs
        .iter()
        .filter_map(|e| {
            let reports = ordered(collected.get(e)?, &validators);
            (reports.len() == validators.len()).then_some(EpochOutcome { epoch: *e, reports })
        })
        .collect();
    let ledger =
        resi_chain::ledger::read(&resi_chain::ledger::beside(&metagraph)).map_err(|e| DevnetError(e.to_string()))?;
    let outcome = judge(outcomes, epochs.len(), miners, validators, ledger);
    Ok((devnet, outcome))
}

fn ordered(by_validator: &BTreeMap<Hotkey, EpochReport>, validators: &[(String, u16, Hotkey)]) -> Vec<EpochReport> {
    validators
        .iter()
        .filter_map(|(_, _, h)| by_validator.get(h).cloned())
        .collect()
}

fn rank(status: ConsensusStatus) -> u8 {
    match status {
        ConsensusStatus::PerfectConsensus => 0,
        ConsensusStatus::MajorityConsensus => 1,
        ConsensusStatus::ConsensusFailed => 2,
    }
}

fn judge(
    epochs: Vec<EpochOutcome>,
    wanted: usize,
    miners: Vec<MinerInfo>,
    validators: Vec<(String, u16, Hotkey)>,
    ledger: Vec<WeightRecord>,
) -> DevnetOutcome {
    let mut consensus = if epochs.is_empty() {
        ConsensusStatus::ConsensusFailed
    } else {
        ConsensusStatus::PerfectConsensus
    };
    let mut hashes_agree = true;
    for e in &epochs {
        for r in &e.reports {
            if rank(r.consensus.status) > rank(consensus) {
                consensus = r.consensus.status;
            }
        }
        let first = e.reports.first().map(|r| r.results.consensus_hash.clone());
        hashes_agree &= e
            .reports
            .iter()
            .all(|r| Some(&r.results.consensus_hash) == first.as_ref());
    }
    let score_in = |e: &EpochOutcome, h: &Hotkey| -> u64 {
        e.reports
            .first()
            .and_then(|r| r.results.miner_scores.iter().find(|s| &s.hotkey == h))
            .map_or(0, |s| s.score_ppb)
    };
    let weight_of = |uid: u16| -> bool {
        ledger
            .iter()
            .any(|r| r.uids.iter().zip(&r.weights).any(|(u, w)| *u == uid && *w > 0))
    };
    let (honest, cheaters): (Vec<&MinerInfo>, Vec<&MinerInfo>) = miners.iter().partition(|m| m.profile.is_honest());
    let honest_rewarded = honest
        .iter()
        .filter(|m| !epochs.is_empty() && epochs.iter().all(|e| score_in(e, &m.hotkey) > 0))
        .count();
    let cheaters_rewarded = cheaters
        .iter()
        .filter(|m| epochs.iter().any(|e| score_in(e, &m.hotkey) > 0) || weight_of(m.uid))
        .count();
    DevnetOutcome {
        missing_epochs: wanted - epochs.len(),
        honest_total: honest.len(),
        cheaters_total: cheaters.len(),
        epochs,
        consensus,
        hashes_agree,
        honest_rewarded,
        cheaters_rewarded,
        miners,
        validators,
        ledger,
    }
}
