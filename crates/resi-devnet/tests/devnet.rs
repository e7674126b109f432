//! End to end: one small devnet (real S3, market, coordinator, miners and
//! validators in this process) runs one short epoch; then each scenario
//! below uses that same running network: the verdict, a validator restarted
//! at every journaled step, a miner killed mid-epoch, a miner whose scrapes
//! fail, a miner stopped gracefully. The scenarios run in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use resi_api::CoordinatorClient;
use resi_core::consensus::ConsensusStatus;
use resi_core::manifest::ScraperInfo;
use resi_core::{AssignedZipcode, Hotkey, Listing};
use resi_devnet::{Devnet, DevnetOptions, DevnetOutcome};
use resi_miner::{Deadline, MinerSettings, MinerState, ScrapeError, ZipcodeScraper, ZipcodeState};
use resi_runtime::{Clock, Context, SharedClock, Shutdown, SystemClock};
use resi_sim::Profile;
use resi_validator::journal::EpochJournal;
use resi_validator::ValidatorConfig;

/// The honest-slow miner starts uploading at 60 % of the epoch and then
/// scrapes its zipcodes one after another (about half a second each in a
/// debug build): with 15 s epochs its last upload came 1.1 s before the
/// deadline, a margin a busy CI machine can eat; with 20 s, 3.5 s.
const EPOCH_SECONDS: u64 = 20;

/// The network every scenario shares, on a runtime that outlives each test.
struct Network {
    runtime: tokio::runtime::Runtime,
    devnet: Devnet,
    outcome: DevnetOutcome,
}

fn network() -> &'static Network {
    static NETWORK: OnceLock<Network> = OnceLock::new();
    NETWORK.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        // Statics are never dropped: the data lives under the target dir, one per process.
        let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("devnet-scenarios");
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join(std::process::id().to_string());
        let options = DevnetOptions {
            epochs: 1,
            epoch_seconds: EPOCH_SECONDS,
            validators: 2,
            miners: vec![
                Profile::HonestFast,
                Profile::HonestSlow,
                Profile::Fabricator,
                Profile::Copier,
            ],
            market_zipcodes: 40,
            // Market zipcodes hold at most 900 listings: 3,000 ± 15 % is at least three zipcodes.
            target_listings: 3_000,
            seed: 11,
            data_dir: Some(dir),
            market: resi_devnet::MarketKind::Synthetic,
            chain: None,
            keep_daemons: false,
            upgrade: None,
        };
        let (devnet, outcome) = runtime
            .block_on(resi_devnet::run(options, |_| {}))
            .expect("devnet runs");
        println!("{}", outcome.verdict());
        Network {
            runtime,
            devnet,
            outcome,
        }
    })
}

fn clock() -> SharedClock {
    SystemClock::shared()
}

fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// Registers a new miner hotkey (one writer of the metagraph file at a time).
fn register_miner(devnet: &Devnet) -> (Arc<resi_auth::Keypair>, Hotkey) {
    static METAGRAPH: Mutex<()> = Mutex::new(());
    let _one = METAGRAPH.lock().unwrap_or_else(|p| p.into_inner());
    let key = Arc::new(resi_auth::Keypair::generate().unwrap());
    let cold = resi_auth::Keypair::generate().unwrap().hotkey();
    resi_chain::local::register(&devnet.metagraph, key.hotkey(), cold.clone(), 0, false).unwrap();
    (key, cold)
}

fn client(devnet: &Devnet, key: &Arc<resi_auth::Keypair>) -> CoordinatorClient {
    CoordinatorClient::new(devnet.coordinator_url(), Arc::clone(key), clock()).unwrap()
}

/// Sleeps until just after the next epoch boundary, so a whole epoch is ahead.
async fn next_epoch() {
    let length = EPOCH_SECONDS as i64 * 1000;
    let next = (now_ms() / length + 1) * length;
    tokio::time::sleep(Duration::from_millis((next - now_ms() + 50) as u64)).await;
}

#[test]
fn the_devnet_pays_the_honest_and_nobody_else() {
    check_outcome(&network().outcome);
}

/// Each daemon's saved TOML names, read as `resi miner --config` /
/// `resi validator --config` read it (relative to its own folder), the very
/// files that daemon used.
#[test]
fn saved_configs_run_as_saved() {
    let n = network();
    let same = |a: &std::path::Path, b: std::path::PathBuf| {
        let (a, b) = (std::fs::canonicalize(a), std::fs::canonicalize(&b));
        assert!(a.is_ok() && a.as_ref().ok() == b.as_ref().ok(), "{a:?} vs {b:?}");
    };
    let dir = &n.devnet.dir;
    for m in &n.outcome.miners {
        let folder = dir.join("miners").join(&m.name);
        let saved = resi_miner::MinerConfig::from_file(&folder.join("miner.toml")).unwrap();
        same(
            &saved.hotkey_file,
            dir.join("wallets").join(&m.name).join("hotkeys/default"),
        );
        same(&saved.data_dir, folder.join("data"));
    }
    for (name, _, _) in &n.outcome.validators {
        let folder = dir.join("validators").join(name);
        let saved = ValidatorConfig::from_file(&folder.join("validator.toml")).unwrap();
        same(
            &saved.hotkey_file,
            dir.join("wallets").join(name).join("hotkeys/default"),
        );
        same(&saved.data_dir, folder.join("data"));
        same(&saved.chain.metagraph, n.devnet.metagraph.clone());
    }
}

#[test]
fn a_restarted_validator_finishes_the_epoch_once() {
    let n = network();
    n.runtime
        .block_on(validator_restart_finishes_the_epoch_once(&n.devnet, &n.outcome));
}

#[test]
fn a_miner_killed_mid_epoch_resumes_without_reuploading() {
    let n = network();
    n.runtime
        .block_on(miner_killed_mid_epoch_resumes_without_reuploading(&n.devnet));
}

#[test]
fn a_miner_retries_zipcodes_whose_scrape_failed() {
    let n = network();
    n.runtime
        .block_on(miner_retries_zipcodes_whose_scrape_failed(&n.devnet));
}

#[test]
fn a_stopped_miner_finishes_the_zipcode_in_hand_and_exits() {
    let n = network();
    n.runtime.block_on(miner_stops_gracefully(&n.devnet));
}

fn check_outcome(outcome: &DevnetOutcome) {
    // On failure, the leaderboard says which miner earned what, and why not.
    let tables: String = outcome
        .epochs
        .iter()
        .map(|e| resi_devnet::report::epoch_table(e.epoch, &e.reports, &outcome.miners, &outcome.validators))
        .collect();
    assert_eq!(outcome.missing_epochs, 0, "every validator finished the epoch{tables}");
    assert_eq!(outcome.consensus, ConsensusStatus::PerfectConsensus, "{tables}");
    assert!(outcome.hashes_agree, "{tables}");
    // One scrape, one reward: the slow honest miner holds the same listings
    // as the fast one and is paid through it; neither is ever failed.
    assert_eq!(
        (outcome.honest_rewarded, outcome.honest_failed, outcome.honest_total),
        (1, 0, 2),
        "{tables}"
    );
    assert_eq!((outcome.cheaters_rewarded, outcome.cheaters_total), (0, 2), "{tables}");
    assert!(outcome.passed());
    assert!(outcome.verdict().starts_with(
        "devnet: 1 epochs, consensus PERFECT_CONSENSUS, honest rewarded 1/2 (0 failed), cheaters rewarded 0/2"
    ));

    // Both validators set the same weights, once each, and only honest uids
    // carry weight: the fast one's (the slow one was beaten to the same listings).
    let epoch = outcome.epochs[0].epoch;
    let set: Vec<_> = outcome.ledger.iter().filter(|r| r.epoch_id == epoch).collect();
    assert_eq!(set.len(), 2, "one ledger line per validator");
    assert_ne!(set[0].validator, set[1].validator);
    assert_eq!((&set[0].uids, &set[0].weights), (&set[1].uids, &set[1].weights));
    assert_ne!(set[0].block, set[1].block, "blocks are distinct");
    for m in &outcome.miners {
        let weight = set[0]
            .uids
            .iter()
            .zip(&set[0].weights)
            .find(|(u, _)| **u == m.uid)
            .map_or(0, |(_, w)| *w);
        assert_eq!(
            weight > 0,
            m.profile == Profile::HonestFast,
            "{} ({}) weight {weight}",
            m.name,
            m.profile
        );
    }

    // The two validators decided everything identically, not just the hash.
    let strip = |r: &resi_validator::EpochReport| {
        let mut results = r.results.clone();
        results.validator = None;
        results
    };
    let reports = &outcome.epochs[0].reports;
    assert_eq!(strip(&reports[0]), strip(&reports[1]));
    assert_eq!(strip(&reports[0]).to_json(), strip(&reports[1]).to_json());

    // The cheaters failed for the right reason.
    let results = &outcome.epochs[0].reports[0].results;
    let reason_of = |profile: Profile| -> Vec<String> {
        let hotkey = &outcome.miners.iter().find(|m| m.profile == profile).unwrap().hotkey;
        results
            .zipcodes
            .iter()
            .flat_map(|z| z.submissions.iter())
            .filter(|s| &s.hotkey == hotkey)
            .map(|s| s.reason.clone())
            .collect()
    };
    let fabricated = reason_of(Profile::Fabricator);
    assert!(!fabricated.is_empty());
    assert!(fabricated.iter().all(|r| r.starts_with("tier 3")), "{fabricated:?}");
    let copied = reason_of(Profile::Copier);
    assert!(!copied.is_empty());
    assert!(copied.iter().all(|r| r.starts_with("tier 0: copy")), "{copied:?}");
}

async fn validator_restart_finishes_the_epoch_once(devnet: &Devnet, outcome: &DevnetOutcome) {
    let epoch = outcome.epochs[0].epoch;
    let config = ValidatorConfig::from_file(&devnet.dir.join("validators/validator-1/validator.toml")).unwrap();
    let journal = EpochJournal::new(&config.data_dir, &epoch);
    let results_before = std::fs::read(journal.results_path()).unwrap();
    let ledger_path = resi_chain::ledger::beside(&devnet.metagraph);
    let lines = || resi_chain::ledger::read(&ledger_path).unwrap().len();
    let before = lines();

    // Finished already: a restarted validator does nothing again.
    let chain = Arc::new(resi_chain::LocalChain::open(&config.chain.metagraph).unwrap());
    let validator = resi_validator::build(&config, config.settings(), None, chain, clock(), Shutdown::new()).unwrap();
    let report = validator.validate_epoch(epoch).await.unwrap();
    assert_eq!(lines(), before);
    assert_eq!(
        report.results.consensus_hash,
        outcome.epochs[0].reports[0].results.consensus_hash
    );

    // Killed between setting weights and journaling it: the chain keeps one
    // record per (validator, epoch), so nothing is set twice.
    let mut entry = journal.entry().unwrap();
    let recorded = entry.weights.take().unwrap();
    entry.done = false;
    journal.save(&entry).unwrap();
    let report = validator.validate_epoch(epoch).await.unwrap();
    assert_eq!(lines(), before);
    assert_eq!(report.weights.as_ref(), Some(&recorded));

    // Killed after publishing but before setting weights (the ledger has no
    // line of this validator for the epoch yet): it sets them once, reusing its results.
    let kept: Vec<String> = resi_chain::ledger::read(&ledger_path)
        .unwrap()
        .into_iter()
        .filter(|r| !(r.validator == recorded.validator && r.epoch_id == epoch))
        .map(|r| serde_json::to_string(&r).unwrap() + "\n")
        .collect();
    std::fs::write(&ledger_path, kept.concat()).unwrap();
    let mut entry = journal.entry().unwrap();
    entry.weights = None;
    entry.done = false;
    journal.save(&entry).unwrap();
    validator.validate_epoch(epoch).await.unwrap();
    assert_eq!(lines(), before);
    validator.validate_epoch(epoch).await.unwrap();
    assert_eq!(lines(), before);
    let again = resi_chain::ledger::read(&ledger_path).unwrap();
    let mine: Vec<_> = again
        .iter()
        .filter(|r| r.validator == recorded.validator && r.epoch_id == epoch)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!((&mine[0].uids, &mine[0].weights), (&recorded.uids, &recorded.weights));
    assert_eq!(
        std::fs::read(journal.results_path()).unwrap(),
        results_before,
        "results not recomputed"
    );
}

/// The sim scraper, counting calls; the first `fail_first` calls fail as if
/// the source were down.
struct Counting {
    inner: resi_miner::sim::SimScraper,
    calls: Arc<AtomicUsize>,
    fail_first: usize,
}

impl ZipcodeScraper for Counting {
    fn info(&self) -> ScraperInfo {
        self.inner.info()
    }
    async fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        target: u64,
        deadline: Deadline,
    ) -> Result<Vec<Listing>, ScrapeError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.fail_first {
            return Err(ScrapeError::Unavailable("source down (test)".into()));
        }
        self.inner.scrape(zipcode, target, deadline).await
    }
}

async fn miner_killed_mid_epoch_resumes_without_reuploading(devnet: &Devnet) {
    let (key, cold) = register_miner(devnet);
    let db = devnet.dir.join("resume-miner.db");
    let calls = Arc::new(AtomicUsize::new(0));
    let make = |state: MinerState| {
        let scraper = Counting {
            inner: resi_miner::sim::SimScraper::new(devnet.market_url(), Profile::HonestFast, "resume", None, clock())
                .unwrap(),
            calls: Arc::clone(&calls),
            fail_first: 0,
        };
        let client = client(devnet, &key);
        let settings = MinerSettings {
            // One zipcode at a time, so the kill lands between two of them.
            max_concurrent_scrapes: 1,
            ..MinerSettings::default()
        };
        let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default()).unwrap();
        Arc::new(resi_miner::Miner::new(
            Arc::clone(&key),
            cold.clone(),
            client,
            s3,
            state,
            Arc::new(scraper),
            settings,
            Context::system(),
        ))
    };

    next_epoch().await;
    let state = MinerState::open(&db).await.unwrap();
    let miner = make(state.clone());
    let client = client(devnet, &key);
    let assignment = client.current_assignment().await.unwrap();
    let window = assignment.window().unwrap();
    let epoch = window.id;
    let zipcodes = assignment.zipcodes.len();
    assert!(zipcodes >= 3, "need several zipcodes to kill between them");

    let running = {
        let (miner, assignment) = (Arc::clone(&miner), assignment.clone());
        tokio::spawn(async move { miner.run_epoch(&assignment, &window).await })
    };
    // Kill it as soon as one zipcode is uploaded.
    let uploaded_before = loop {
        let rows = state.zipcodes(&epoch).await.unwrap();
        let done: Vec<_> = rows.into_iter().filter(|r| r.state == ZipcodeState::Uploaded).collect();
        if !done.is_empty() {
            running.abort();
            break done;
        }
        assert!(now_ms() < window.deadline_ms(), "nothing uploaded before the deadline");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let _ = running.await;
    let calls_before = calls.load(Ordering::SeqCst);
    assert!(uploaded_before.len() < zipcodes, "killed before uploading everything");

    // Restart: a new process would open the same database.
    drop(miner);
    let state = MinerState::open(&db).await.unwrap();
    let miner = make(state.clone());
    let summary = miner.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!(summary.uploaded, zipcodes, "{:?}", summary.not_uploaded);
    let rows = state.zipcodes(&epoch).await.unwrap();
    for before in &uploaded_before {
        let after = rows.iter().find(|r| r.zipcode == before.zipcode).unwrap();
        assert_eq!(
            after.uploaded_at_ms, before.uploaded_at_ms,
            "{} was uploaded again",
            before.zipcode
        );
        assert_eq!(after.etag, before.etag);
    }
    let scrapes = calls.load(Ordering::SeqCst);
    assert!(
        scrapes <= zipcodes + calls_before - uploaded_before.len(),
        "uploaded zipcodes were scraped again: {scrapes} scrapes for {zipcodes} zipcodes"
    );
    // A third run finds nothing to do.
    let again = miner.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!(again.uploaded, zipcodes);
    assert_eq!(calls.load(Ordering::SeqCst), scrapes);
}

async fn miner_retries_zipcodes_whose_scrape_failed(devnet: &Devnet) {
    let (key, cold) = register_miner(devnet);
    next_epoch().await;

    let calls = Arc::new(AtomicUsize::new(0));
    let scraper = Counting {
        inner: resi_miner::sim::SimScraper::new(devnet.market_url(), Profile::HonestFast, "flaky", None, clock())
            .unwrap(),
        calls: Arc::clone(&calls),
        // The first zipcode's three attempts all fail.
        fail_first: 3,
    };
    let client = client(devnet, &key);
    let state = MinerState::open(&devnet.dir.join("flaky-miner.db")).await.unwrap();
    let settings = MinerSettings {
        max_concurrent_scrapes: 1,
        ..MinerSettings::default()
    };
    let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default()).unwrap();
    let cold_key = cold.clone();
    let miner = resi_miner::Miner::new(
        key.clone(),
        cold,
        client.clone(),
        s3,
        state.clone(),
        Arc::new(scraper),
        settings,
        Context::system(),
    );
    let assignment = client.current_assignment().await.unwrap();
    let window = assignment.window().unwrap();
    let zipcodes = assignment.zipcodes.len();

    let first = miner.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!(
        (first.uploaded, first.retryable),
        (zipcodes - 1, 1),
        "{:?}",
        first.not_uploaded
    );
    let failed: Vec<_> = state
        .zipcodes(&window.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.state == ZipcodeState::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].reason.as_deref().unwrap_or("").contains("source down"),
        "{:?}",
        failed[0].reason
    );

    // What the daemon's loop does next: run the epoch again; only the failed zipcode is scraped.
    let before = calls.load(Ordering::SeqCst);
    let second = miner.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!((second.uploaded, second.retryable), (zipcodes, 0));
    assert_eq!(calls.load(Ordering::SeqCst), before + 1);

    // A miner killed between the S3 write and its database write: the row
    // still says "scraped". The restart finds the object in its own folder
    // (the presigned list URL) and records it instead of uploading again.
    let epoch = window.id;
    let rows = state.zipcodes(&epoch).await.unwrap();
    let victim = rows.iter().find(|r| r.state == ZipcodeState::Uploaded).unwrap().clone();
    let bytes = state.parquet(&epoch, victim.zipcode).await.unwrap().unwrap();
    state
        .mark_scraped(
            &epoch,
            victim.zipcode,
            &resi_miner::state::StoredScrape {
                parquet: &bytes,
                sha256: victim.sha256.as_deref().unwrap(),
                listing_count: victim.listing_count.unwrap(),
                scraped_at_ms: victim.scraped_at_ms.unwrap(),
                warning: None,
            },
        )
        .await
        .unwrap();
    let access = client.upload_access(&cold_key).await.unwrap();
    let list_url = access.list_url.expect("folder access carries a list URL");
    let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default()).unwrap();
    let key = victim.s3_key.clone().unwrap();
    let modified = |objects: Vec<resi_storage::client::ObjectInfo>| {
        objects
            .into_iter()
            .find(|o| o.key == key)
            .map(|o| (o.etag, o.last_modified_ms))
    };
    let before_restart = modified(s3.list_page(&list_url, &access.folder).await.unwrap().objects).unwrap();
    let scrapes = calls.load(Ordering::SeqCst);
    let third = miner.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!(third.uploaded, zipcodes);
    assert_eq!(calls.load(Ordering::SeqCst), scrapes, "nothing scraped again");
    let after_restart = modified(s3.list_page(&list_url, &access.folder).await.unwrap().objects).unwrap();
    assert_eq!(after_restart, before_restart, "the object was uploaded again");
    let row = state
        .zipcodes(&epoch)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.zipcode == victim.zipcode)
        .unwrap();
    assert_eq!(row.state, ZipcodeState::Uploaded);
    assert_eq!(row.etag.as_deref(), Some(before_restart.0.as_str()));
    assert_eq!(
        row.uploaded_at_ms,
        Some(before_restart.1),
        "recorded at the object's LastModified"
    );
}

/// A stop asked for mid-epoch: the zipcode in hand is uploaded and
/// recorded, no new one is started, `run` returns, and a restart finishes
/// the epoch without scraping an uploaded zipcode again.
async fn miner_stops_gracefully(devnet: &Devnet) {
    let (key, cold) = register_miner(devnet);
    let db = devnet.dir.join("graceful-miner.db");
    let calls = Arc::new(AtomicUsize::new(0));
    let make = |state: MinerState, shutdown: Shutdown| {
        let scraper = Counting {
            inner: resi_miner::sim::SimScraper::new(
                devnet.market_url(),
                Profile::HonestFast,
                "graceful",
                None,
                clock(),
            )
            .unwrap(),
            calls: Arc::clone(&calls),
            fail_first: 0,
        };
        let settings = MinerSettings {
            max_concurrent_scrapes: 1,
            ..MinerSettings::default()
        };
        let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default()).unwrap();
        Arc::new(resi_miner::Miner::new(
            Arc::clone(&key),
            cold.clone(),
            client(devnet, &key),
            s3,
            state,
            Arc::new(scraper),
            settings,
            Context {
                clock: clock(),
                shutdown,
            },
        ))
    };
    next_epoch().await;
    let state = MinerState::open(&db).await.unwrap();
    let shutdown = Shutdown::new();
    let miner = make(state.clone(), shutdown.clone());
    let assignment = client(devnet, &key).current_assignment().await.unwrap();
    let window = assignment.window().unwrap();
    let zipcodes = assignment.zipcodes.len();
    let running = {
        let miner = Arc::clone(&miner);
        tokio::spawn(async move { miner.run().await })
    };
    loop {
        let rows = state.zipcodes(&window.id).await.unwrap();
        if rows.iter().any(|r| r.state == ZipcodeState::Uploaded) {
            shutdown.trigger();
            break;
        }
        assert!(now_ms() < window.deadline_ms(), "nothing uploaded before the deadline");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("run returns after a stop")
        .unwrap();
    let rows = state.zipcodes(&window.id).await.unwrap();
    let uploaded = rows.iter().filter(|r| r.state == ZipcodeState::Uploaded).count();
    assert!(uploaded < zipcodes, "stopped before the end of the epoch");
    assert!(
        rows.iter()
            .all(|r| r.state == ZipcodeState::Uploaded || r.state == ZipcodeState::Pending),
        "every zipcode is either finished or untouched: {:?}",
        rows.iter().map(|r| r.state).collect::<Vec<_>>()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        uploaded,
        "no scrape was started after the stop"
    );

    let resumed = make(state.clone(), Shutdown::new());
    let summary = resumed.run_epoch(&assignment, &window).await.unwrap();
    assert_eq!(summary.uploaded, zipcodes, "{:?}", summary.not_uploaded);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        zipcodes,
        "uploaded zipcodes were not scraped again"
    );
}

/// The judged epoch as a dataset: every row from a winner that passed every
/// tier, rank 1 whole, one row per zpid, sorted; the manifest signed and
/// true to the files; published again (also after a publish killed
/// midway), the same bytes.
#[test]
fn the_epoch_is_published_as_a_dataset() {
    use arrow_array::{Array, Int32Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let n = network();
    let dataset = match &n.outcome.dataset {
        Some(Ok(d)) => d,
        other => panic!("no dataset: {other:?}"),
    };
    let epoch = &n.outcome.epochs[0];
    let results = &epoch.reports[0].results;
    assert_eq!(dataset.manifests.len(), 1);
    let manifest = &dataset.manifests[0];
    assert!(manifest.verify(), "signed by its publisher");
    assert_eq!(manifest.consensus_hash, results.consensus_hash);
    assert_eq!(manifest.partitions.len(), results.zipcodes.len());
    let mut total = 0;
    for (partition, outcome) in manifest.partitions.iter().zip(&results.zipcodes) {
        assert_eq!(partition.zipcode, outcome.zipcode);
        let path = dataset.local_root.join(&partition.key);
        let bytes = std::fs::read(&path).unwrap();
        // Its history: one epoch in, one row per zpid.
        let history = resi_dataset::History::decode(bytes::Bytes::from(
            std::fs::read(
                dataset
                    .local_root
                    .join(resi_dataset::history::history_key(&partition.zipcode)),
            )
            .unwrap(),
        ))
        .unwrap();
        assert_eq!(history.epochs(), &[manifest.epoch_id]);
        assert_eq!(history.rows().len() as u64, partition.rows);
        assert_eq!(partition.changes, None, "the zipcode's first epoch: nothing to compare");
        assert_eq!(resi_dataset::manifest::sha256_hex(&bytes), partition.sha256);
        let batches: Vec<_> = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut zpids = Vec::new();
        let mut by_rank = std::collections::BTreeMap::<i32, u64>::new();
        for b in &batches {
            let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
            let zpid = col("zpid");
            let zpid = zpid.as_any().downcast_ref::<StringArray>().unwrap();
            let miner = col("miner_hotkey");
            let miner = miner.as_any().downcast_ref::<StringArray>().unwrap();
            let rank = col("rank");
            let rank = rank.as_any().downcast_ref::<Int32Array>().unwrap();
            for i in 0..b.num_rows() {
                zpids.push(zpid.value(i).to_owned());
                *by_rank.entry(rank.value(i)).or_default() += 1;
                // Traceable to a submission that passed every tier, at that rank.
                let from = outcome
                    .submissions
                    .iter()
                    .find(|s| s.hotkey.as_str() == miner.value(i))
                    .unwrap_or_else(|| panic!("row {i} of {} is from no submission", partition.key));
                assert_eq!(from.status, resi_core::results::Status::Winner);
                assert_eq!(from.rank.map(i32::from), Some(rank.value(i)));
                assert!(from.spot_check.is_some(), "tier 3 ran on it");
            }
        }
        let mut sorted = zpids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(zpids, sorted, "one row per zpid, sorted");
        assert_eq!(zpids.len() as u64, partition.rows);
        // Rank 1's file is there whole.
        let first = resi_dataset::winners(outcome)[0];
        assert_eq!(by_rank.get(&1).copied(), first.listing_count, "{}", partition.key);
        total += partition.rows;
    }
    assert_eq!(total, manifest.rows);
    assert!(total > 0);
    // The first validator's daemon (`[dataset] publish = true`) published the
    // epoch into its data folder after its weights: the same partitions and
    // histories as the devnet's publish into the bucket.
    let daemons = n.devnet.dir.join("validators/validator-1/data");
    let without_manifest = |root: &std::path::Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        walk(&root.join("dataset"))
            .into_iter()
            .filter(|p| !p.ends_with("_manifest.json"))
            .map(|p| (p.strip_prefix(root).unwrap().to_owned(), std::fs::read(&p).unwrap()))
            .collect()
    };
    assert!(
        without_manifest(&daemons) == without_manifest(&dataset.local_root),
        "the daemon's dataset is the devnet's"
    );

    // Again, into a copy from which a killed publish left the manifest and a
    // partition out: the same bytes, complete.
    let again = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        for entry in walk(from) {
            let target = to.join(entry.strip_prefix(from).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &target).unwrap();
        }
    };
    copy(&dataset.local_root.join("dataset"), &again.path().join("dataset"));
    std::fs::remove_file(again.path().join(resi_dataset::manifest_key(&manifest.epoch_id))).unwrap();
    std::fs::remove_file(again.path().join(&manifest.partitions[0].key)).unwrap();
    let store = resi_validator::DatasetStore::Folder(again.path().to_owned());
    assert!(
        n.runtime.block_on(store.manifests()).unwrap().is_empty(),
        "no manifest: not complete"
    );
    let outcomes = n.outcome.epochs.clone();
    let configs = validator_configs(&n.devnet);
    let publish = || {
        n.runtime
            .block_on(resi_devnet::publish_dataset(
                &configs,
                &outcomes,
                &store,
                again.path().to_owned(),
                &n.devnet.clock,
            ))
            .unwrap()
    };
    let republished = publish();
    assert_eq!(republished.local_root, again.path());
    // The partitions byte for byte; the manifest the same but for its
    // signature (sr25519 signs with a fresh nonce each time).
    let files = |root: &std::path::Path| -> Vec<(std::path::PathBuf, String)> {
        walk(&root.join("dataset"))
            .into_iter()
            .filter(|p| !p.ends_with("_manifest.json"))
            .map(|p| {
                let hash = resi_dataset::manifest::sha256_hex(&std::fs::read(&p).unwrap());
                (p.strip_prefix(root).unwrap().to_owned(), hash)
            })
            .collect()
    };
    assert_eq!(
        files(&dataset.local_root),
        files(&republished.local_root),
        "the same partitions, byte for byte"
    );
    assert!(republished.manifests[0].same_content(manifest) && republished.manifests[0].verify());
    // Published again over a complete epoch: nothing is rewritten, the
    // manifest included.
    let manifest_file = again.path().join(resi_dataset::manifest_key(&manifest.epoch_id));
    let before = std::fs::read(&manifest_file).unwrap();
    let once_more = publish();
    assert_eq!(std::fs::read(&manifest_file).unwrap(), before, "the manifest is kept");
    assert_eq!(files(&once_more.local_root), files(&dataset.local_root));
}

/// Every file under `root`, sorted.
fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The devnet's validators' configurations, as saved.
fn validator_configs(devnet: &Devnet) -> Vec<ValidatorConfig> {
    let mut names: Vec<_> = std::fs::read_dir(devnet.dir.join("validators"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|folder| ValidatorConfig::from_file(&folder.join("validator.toml")).unwrap())
        .collect()
}
