//! The whole network on a real subtensor runtime: runs when
//! `RESI_SUBTENSOR_URL` names a local development chain (//Alice sudo), e.g.
//! one started with `../shared/chain/local-chain.sh`; otherwise it says so in
//! one line and passes. A new subnet per run, so it can run again.

use resi_core::consensus::ConsensusStatus;
use resi_devnet::{DevnetOptions, MarketKind};
use resi_sim::Profile;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a local subtensor chain: set RESI_SUBTENSOR_URL (../shared/chain)"]
async fn the_network_on_a_real_chain_pays_the_honest_and_nobody_else() {
    let Ok(url) = std::env::var("RESI_SUBTENSOR_URL") else {
        panic!("this test needs a local subtensor chain: set RESI_SUBTENSOR_URL (see ../shared/chain/README.md)");
    };
    let options = DevnetOptions {
        epochs: 1,
        epoch_seconds: 20,
        validators: 2,
        miners: vec![
            Profile::HonestFast,
            Profile::HonestSlow,
            Profile::Fabricator,
            Profile::Lazy,
        ],
        market_zipcodes: 40,
        target_listings: 2_000,
        seed: 5,
        data_dir: None,
        market: MarketKind::Synthetic,
        chain: Some(url),
        keep_daemons: false,
        upgrade: None,
    };
    let (devnet, outcome) = resi_devnet::run(options, |_| {})
        .await
        .expect("devnet runs on the chain");
    println!("{}", outcome.verdict());
    assert_eq!(outcome.consensus, ConsensusStatus::PerfectConsensus);
    // The judged epoch's dataset, published by a validator on the chain backend.
    match &outcome.dataset {
        Some(Ok(d)) => {
            assert_eq!(d.manifests.len(), 1);
            assert!(d.manifests[0].rows > 0 && d.manifests[0].verify());
            println!("dataset: {}", d.stats[0]);
        }
        other => panic!("no dataset: {other:?}"),
    }
    // One scrape, one reward: the slow honest miner is beaten to the same listings.
    assert_eq!(
        (
            outcome.honest_rewarded,
            outcome.honest_failed,
            outcome.cheaters_rewarded
        ),
        (1, 0, 0)
    );
    let (_, netuid) = outcome.on_chain.clone().expect("on a chain");
    // The weights judged are the chain's: one Weights row per validator, the
    // same as each validator's report says it set, paying the honest only.
    assert_eq!(outcome.ledger.len(), 2);
    let reported = outcome.epochs[0]
        .reports
        .iter()
        .map(|r| r.weights.clone().expect("weights set"));
    for (stored, reported) in outcome.ledger.iter().zip(reported) {
        println!(
            "netuid {netuid}: Weights({netuid}, {}) = {:?}",
            stored.validator_uid,
            stored.uids.iter().zip(&stored.weights).collect::<Vec<_>>()
        );
        assert_eq!((&stored.uids, &stored.weights), (&reported.uids, &reported.weights));
        assert!(reported.block > 0, "the including block");
        let honest: Vec<u16> = outcome
            .miners
            .iter()
            .filter(|m| m.profile.is_honest())
            .map(|m| m.uid)
            .collect();
        assert!(
            stored.uids.iter().all(|u| honest.contains(u)),
            "only honest miners weighted"
        );
    }
    devnet.shutdown().await;
}
