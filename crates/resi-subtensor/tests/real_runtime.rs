//! The subtensor backend against a real subtensor runtime, run by
//! `../shared/chain/local-chain.sh` under chopsticks. Runs when
//! `RESI_SUBTENSOR_SPEC` names a plain chain spec (e.g. opentensor/subtensor's
//! `aura-dev.json`, see that folder's README), or `RESI_SUBTENSOR_URL` a chain
//! already running; otherwise it says so in one line and passes.
//!
//! One test, in steps, because the steps share one chain and one subnet.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use resi_auth::Keypair;
use resi_chain::{Chain, ChainError, MetagraphSource};
use resi_core::weights::WeightVector;
use resi_core::EpochId;
use resi_subtensor::dev::{DevChain, TAO};
use resi_subtensor::node::{self, Node};
use resi_subtensor::weights::{self, CommitRevealMode, RevealJournal};
use resi_subtensor::{SubtensorChain, SubtensorError, SubtensorOptions};

struct LocalChain {
    url: String,
    child: Option<Child>,
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // local-chain.sh waits on chopsticks: end the whole group.
            let _ = Command::new("pkill").args(["-P", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn kit() -> PathBuf {
    std::env::var_os("RESI_CHAIN_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/chain"))
}

/// The chain to test against: the node at `RESI_SUBTENSOR_URL`, or one
/// started from the chain spec at `RESI_SUBTENSOR_SPEC`.
fn local_chain() -> LocalChain {
    if let Ok(url) = std::env::var("RESI_SUBTENSOR_URL") {
        return LocalChain { url, child: None };
    }
    let Ok(spec) = std::env::var("RESI_SUBTENSOR_SPEC") else {
        panic!("this test needs a subtensor runtime: set RESI_SUBTENSOR_SPEC to a chain spec or RESI_SUBTENSOR_URL to a node (see ../shared/chain/README.md)");
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // chopsticks is installed once per work dir: keep it between runs.
    let work = std::env::var_os("RESI_SUBTENSOR_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("resi-subtensor-chain"));
    let mut child = Command::new("bash")
        .arg(kit().join("local-chain.sh"))
        .arg(&spec)
        .arg(port.to_string())
        .arg(&work)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("local-chain.sh starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let ready = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("ready "));
    assert!(ready.is_some(), "local-chain.sh did not become ready");
    std::thread::spawn(move || for _ in lines {});
    LocalChain {
        url: format!("ws://127.0.0.1:{port}"),
        child: Some(child),
    }
}

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a subtensor runtime: set RESI_SUBTENSOR_SPEC or RESI_SUBTENSOR_URL (../shared/chain)"]
async fn the_backend_on_a_real_runtime() {
    let chain = local_chain();
    let node = Node::new(&chain.url, Duration::from_secs(180));
    // A fresh chopsticks compiles the runtime on its first block, which can
    // take minutes on a busy machine: build one before timing anything.
    let warm = DevChain::new(&node).unwrap();
    let mut warmed = Err(SubtensorError::Unavailable("not tried".into()));
    for _ in 0..5 {
        warmed = warm.new_blocks(1).await;
        if warmed.is_ok() {
            break;
        }
    }
    warmed.expect("the chain builds blocks");
    let at = node.at_best().await.expect("connects");
    println!(
        "connected to {} (spec {}), block {}",
        chain.url,
        at.spec_version(),
        at.block_number()
    );
    let dev = DevChain::new(&node).unwrap();

    // Subnet setup: //Alice is every neuron's coldkey; hotkeys are new per run
    // so the test can run again on the same chain.
    let alice = key("//Alice");
    let owner = Keypair::generate().unwrap();
    let validator = Arc::new(Keypair::generate().unwrap());
    let miners = [Keypair::generate().unwrap(), Keypair::generate().unwrap()];
    for k in [&owner, &validator, &miners[0], &miners[1]] {
        dev.fund(k, 10 * TAO).await.expect("funds a hotkey");
    }
    let netuid = dev.create_subnet(&alice, &owner).await.expect("creates a subnet");
    let validator_uid = dev
        .register(netuid, &alice, &validator)
        .await
        .expect("registers the validator");
    let mut miner_uids = Vec::new();
    for m in &miners {
        miner_uids.push(dev.register(netuid, &alice, m).await.expect("registers a miner"));
    }
    dev.stake(netuid, &alice, &validator, 100 * TAO as u64)
        .await
        .expect("stakes");
    let block = dev.next_epoch(netuid).await.unwrap();
    println!("subnet {netuid}: validator uid {validator_uid}, miners {miner_uids:?}, block {block}");

    // Metagraph, compared field by field with what was registered.
    let journal_dir = tempfile::tempdir().unwrap();
    let journal = journal_dir.path().join("reveals.json");
    let connect_with = |signer: Arc<Keypair>, commit_reveal: CommitRevealMode, timelock_round: Option<u64>| {
        SubtensorChain::connect(SubtensorOptions {
            url: chain.url.clone(),
            netuid,
            sync_interval: Duration::from_secs(3600),
            inclusion_timeout: Duration::from_secs(60),
            signer: Some(signer),
            reveal_journal: Some(journal.clone()),
            commit_reveal,
            timelock_round,
            mechanism: 0,
        })
    };
    let connect = |signer: Arc<Keypair>| connect_with(signer, CommitRevealMode::Hash, None);
    let backend = connect(Arc::clone(&validator)).await.expect("the backend connects");
    let metagraph = backend.metagraph().unwrap();
    println!("{}", metagraph.table(0));
    let by_uid = |uid: u16| metagraph.neurons().iter().find(|n| n.uid == uid).unwrap().clone();
    let v = by_uid(validator_uid);
    assert_eq!(v.hotkey, validator.hotkey());
    assert_eq!(v.coldkey, alice.hotkey());
    assert!(v.validator_permit, "the staked validator has a permit after an epoch");
    assert!(v.stake > 0);
    assert!(v.registered_block > 0);
    for (m, uid) in miners.iter().zip(&miner_uids) {
        let n = by_uid(*uid);
        assert_eq!(
            (n.hotkey.clone(), n.coldkey.clone(), n.stake),
            (m.hotkey(), alice.hotkey(), 0)
        );
        assert!(n.registered_block >= v.registered_block);
    }
    assert_eq!(
        metagraph.by_hotkey(&owner.hotkey()).map(|n| n.uid),
        Some(0),
        "the owner's hotkey holds uid 0"
    );

    // set_weights, read back from storage.
    let epoch = EpochId::parse("2026-11-25T00-00-00").unwrap();
    let weights = WeightVector {
        uids: miner_uids.clone(),
        weights: vec![65535, 21845],
        unmapped: vec![],
    };
    let record = backend
        .set_weights(&validator.hotkey(), &epoch, &weights, 0)
        .await
        .expect("weights set");
    let at = node.at_best().await.unwrap();
    let stored = weights::stored_weights(&at, netuid, validator_uid).await.unwrap();
    println!(
        "set_weights included in block {}; Weights({netuid}, {validator_uid}) = {stored:?}",
        record.block
    );
    assert_eq!(stored, vec![(miner_uids[0], 65535), (miner_uids[1], 21845)]);
    let events = node.events_at(record.block).await.unwrap();
    println!("events of block {}:\n  {}", record.block, events.join("\n  "));
    assert!(events.iter().any(|e| e.starts_with("SubtensorModule.WeightsSet")));
    assert!(events.iter().any(|e| e.starts_with("System.ExtrinsicSuccess")));

    // Commit-reveal on: a plain set_weights is rejected by the chain…
    dev.set_commit_reveal(netuid, true).await.expect("commit-reveal on");
    let at = node.at_best().await.unwrap();
    let rules = weights::rules(&at, netuid).await.unwrap();
    println!("weight rules with commit-reveal on: {rules:?}");
    assert!(rules.commit_reveal);
    let target = weights::Target::in_runtime(at.metadata_ref(), netuid, 0).unwrap();
    let plain = target.set_weights(&miner_uids, &[1, 65535], rules.version_key);
    let refused = node
        .submit(&validator, &plain)
        .await
        .expect_err("set_weights is refused");
    println!("plain set_weights with commit-reveal on: {refused}");
    assert!(refused.to_string().contains("CommitRevealEnabled"), "{refused}");
    assert!(matches!(ChainError::from(refused), ChainError::Refused(_)));

    // …and the backend commits instead, journals the salt, and a restarted
    // validator reveals in the reveal epoch.
    let committed = WeightVector {
        uids: miner_uids.clone(),
        weights: vec![12345, 65535],
        unmapped: vec![],
    };
    let record = backend
        .set_weights(&validator.hotkey(), &epoch, &committed, 0)
        .await
        .expect("weights committed");
    let pending = RevealJournal::new(&journal).load().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].commit_block, Some(record.block));
    let at = node.at_best().await.unwrap();
    let commits = weights::stored_commits(&at, netuid, &validator.public_key())
        .await
        .unwrap();
    println!("commit in block {}: WeightCommits = {commits:?}", record.block);
    assert_eq!(commits.len(), 1);
    assert_eq!(Some(commits[0].hash), pending[0].hash_bytes());
    assert!(
        backend.reveal_due().await.unwrap().is_empty(),
        "nothing to reveal before the window"
    );
    drop(backend); // the validator restarts between commit and reveal

    let restarted = connect(Arc::clone(&validator)).await.unwrap();
    let now = dev.block().await.unwrap();
    let weights::RevealWindow::Blocks { first, .. } = commits[0].window else {
        panic!("spec 293 stores reveal blocks: {:?}", commits[0])
    };
    if first > now {
        dev.new_blocks(first - now).await.unwrap();
    }
    let revealed = restarted.reveal_due().await.expect("reveals");
    assert_eq!(revealed.len(), 1, "the restarted validator revealed its commit");
    assert!(RevealJournal::new(&journal).load().unwrap().is_empty());
    let at = node.at_best().await.unwrap();
    let stored = weights::stored_weights(&at, netuid, validator_uid).await.unwrap();
    println!(
        "revealed at block {}: Weights({netuid}, {validator_uid}) = {stored:?}",
        at.block_number()
    );
    assert_eq!(stored, vec![(miner_uids[0], 12345), (miner_uids[1], 65535)]);

    // The timelocked commit (CRv3), as the Python SDK sends it when the
    // runtime offers it: encrypted to drand quicknet round 1000 (public, so
    // this works offline); the runtime reveals it by itself once that round's
    // pulse is in the drand pallet and the reveal epoch comes.
    let timelocked = connect_with(Arc::clone(&validator), CommitRevealMode::Auto, Some(1000))
        .await
        .unwrap();
    let sealed = WeightVector {
        uids: miner_uids.clone(),
        weights: vec![111, 65535],
        unmapped: vec![],
    };
    let record = timelocked
        .set_weights(&validator.hotkey(), &epoch, &sealed, 0)
        .await
        .expect("timelocked commit accepted");
    println!(
        "timelocked commit (commit_crv3_weights) included in block {}",
        record.block
    );
    dev.store_drand_pulse(1000, ROUND_1000_RANDOMNESS, ROUND_1000_SIGNATURE)
        .await
        .unwrap();
    let at = node.at_best().await.unwrap();
    let tempo = rules.tempo;
    let mut revealed_at = None;
    for _ in 0..3 * (tempo + 1) {
        dev.new_blocks(1).await.unwrap();
        let at = node.at_best().await.unwrap();
        let stored = weights::stored_weights(&at, netuid, validator_uid).await.unwrap();
        if stored == vec![(miner_uids[0], 111), (miner_uids[1], 65535)] {
            revealed_at = Some(at.block_number());
            break;
        }
    }
    let revealed_at = revealed_at.expect("the runtime revealed the timelocked commit within three epochs");
    println!(
        "the runtime decrypted and revealed it at block {revealed_at} (commit at {}, pulse stored at {}): Weights({netuid}, {validator_uid}) = [({}, 111), ({}, 65535)]",
        record.block,
        at.block_number(),
        miner_uids[0],
        miner_uids[1]
    );

    let reveal_events: Vec<String> = node
        .events_at(revealed_at)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.contains("Revealed") || e.contains("WeightsSet"))
        .collect();
    println!("events of block {revealed_at}:\n  {}", reveal_events.join("\n  "));
    assert!(
        reveal_events
            .iter()
            .any(|e| e.starts_with("SubtensorModule.CRV3WeightsRevealed")),
        "{reveal_events:?}"
    );

    // A hotkey that is not registered is refused in words.
    let stranger = Arc::new(Keypair::generate().unwrap());
    let foreign = connect(Arc::clone(&stranger)).await.unwrap();
    let e = foreign
        .set_weights(&stranger.hotkey(), &epoch, &weights, 0)
        .await
        .unwrap_err();
    println!("unregistered hotkey: {e}");
    assert!(e.to_string().contains("not registered"), "{e}");

    // Errors from the node are typed: an unknown subnet fails at connect.
    let missing = SubtensorChain::connect(SubtensorOptions {
        url: chain.url.clone(),
        netuid: 999,
        sync_interval: Duration::from_secs(60),
        inclusion_timeout: Duration::from_secs(10),
        signer: None,
        reveal_journal: None,
        commit_reveal: CommitRevealMode::Auto,
        timelock_round: None,
        mechanism: 0,
    })
    .await;
    let e = missing.err().expect("netuid 999 does not exist");
    println!("netuid 999: {e}");
    assert!(matches!(e, SubtensorError::Refused(_)), "{e:?}");
    let _ = node::has_call(&at, "SubtensorModule", "commit_crv3_weights");
}

/// Quicknet round 1000's pulse (public; pallet-drand's tests use it).
const ROUND_1000_SIGNATURE: &str =
    "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39";
const ROUND_1000_RANDOMNESS: &str = "fe290beca10872ef2fb164d2aa4442de4566183ec51c56ff3cd603d930e54fdd";
