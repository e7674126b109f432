//! The whole network on real listings: the replay of the real-data corpus
//! (`../shared/real-data`, or `RESI_REAL_DATA`), honest miners with the
//! `zillow-api` scraper and one with the example Python scraper through the
//! `command` plug-in, cheaters made of real listings, validators with the
//! `zillow-api` property source. One short epoch.

use resi_core::consensus::ConsensusStatus;
use resi_devnet::{DevnetEvent, DevnetOptions, MarketKind};
use resi_sim::Profile;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the real-data corpus (../shared/real-data or RESI_REAL_DATA); .ci/run runs it"]
async fn the_network_on_real_listings_pays_the_honest_and_nobody_else() {
    let data = resi_sim::replay::require_corpus();
    let dir = tempfile::tempdir().unwrap();
    let options = DevnetOptions {
        epochs: 2,
        epoch_seconds: 15,
        validators: 2,
        miners: vec![
            Profile::HonestFast,
            Profile::HonestSlow,
            Profile::Fabricator,
            Profile::Stale,
            Profile::WrongZipcode,
            Profile::Lazy,
        ],
        data_dir: Some(dir.path().to_owned()),
        market: MarketKind::Replay(data.clone()),
        ..DevnetOptions::default()
    };
    let mut tables = Vec::new();
    let (devnet, outcome) = resi_devnet::run(options, |event| {
        if let DevnetEvent::EpochFinished {
            outcome,
            miners,
            validators,
        } = event
        {
            tables.push(resi_devnet::report::epoch_table(
                outcome.epoch,
                &outcome.reports,
                &miners,
                &validators,
            ));
        }
    })
    .await
    .expect("devnet runs");
    for table in &tables {
        println!("{table}");
    }
    println!("{}", outcome.verdict());
    assert_eq!(outcome.missing_epochs, 0);
    assert_eq!(outcome.consensus, ConsensusStatus::PerfectConsensus);
    // One scrape, one reward: the slow honest miner holds the same listings
    // as the fast one and is paid through it; neither is ever failed.
    assert_eq!(
        (outcome.honest_rewarded, outcome.honest_failed, outcome.honest_total),
        (1, 0, 2),
        "{tables:?}"
    );
    // Every cheater fails everywhere, except that the fabricator (four in five
    // rows invented) can draw a tier-3 sample of real rows only: with 41 rows
    // the sample is 4 and must be all verified, which happens with odds
    // C(9,4)/C(41,4) = 0.12 % per zipcode (seen once in CI). Small samples are
    // issue 13's business; here two such draws in one epoch (odds 1e-5) or any
    // other cheater paid is a failure.
    let results = &outcome.epochs[0].reports[0].results;
    for cheater in outcome.miners.iter().filter(|m| !m.profile.is_honest()) {
        let passed = results
            .zipcodes
            .iter()
            .filter(|z| z.winners.contains(&cheater.hotkey) || z.participants.contains(&cheater.hotkey))
            .count();
        let allowed = usize::from(cheater.profile == Profile::Fabricator);
        assert!(
            passed <= allowed,
            "{} passed {passed} zipcodes: {tables:?}",
            cheater.name
        );
    }
    // The honest miners were checked against the real source: every zipcode's
    // winner has determined spot checks.
    assert_eq!(results.zipcodes.len(), 4, "all four real zipcodes assigned");
    for zipcode in &results.zipcodes {
        let winner = zipcode
            .submissions
            .iter()
            .find(|s| s.rank == Some(1))
            .expect("a winner");
        assert!(
            winner.spot_check.as_ref().is_some_and(|s| s.determined >= 3),
            "{}",
            winner.reason
        );
    }
    // The miner behind the Python plug-in submitted every zipcode.
    let python = outcome
        .miners
        .iter()
        .find(|m| m.profile == Profile::HonestSlow)
        .unwrap();
    assert!(
        results
            .zipcodes
            .iter()
            .flat_map(|z| z.submissions.iter())
            .filter(|s| s.hotkey == python.hotkey)
            .count()
            == 4
    );
    // The dataset is the corpus: per zipcode and epoch, every listing of the
    // recorded search, at its recorded price, once. The corpus does not
    // change: the second epoch counts no change against the first, and the
    // history holds each listing once, seen twice.
    let dataset = match &outcome.dataset {
        Some(Ok(d)) => d,
        other => panic!("no dataset: {other:?}"),
    };
    let corpus = resi_sim::replay::Corpus::load(&data).unwrap();
    assert_eq!(dataset.manifests.len(), 2);
    for (i, manifest) in dataset.manifests.iter().enumerate() {
        assert_eq!(manifest.partitions.len(), 4);
        for partition in &manifest.partitions {
            let bytes = std::fs::read(dataset.local_root.join(&partition.key)).unwrap();
            let got: std::collections::BTreeMap<String, Option<i64>> =
                resi_dataset::read::partition_sightings(bytes::Bytes::from(bytes))
                    .unwrap()
                    .into_iter()
                    .map(|s| (s.zpid, s.price))
                    .collect();
            let recorded: std::collections::BTreeMap<String, Option<i64>> = corpus
                .hits(&partition.zipcode.to_string())
                .iter()
                .map(|hit| {
                    let zpid = match &hit["zpid"] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (zpid, hit["price"].as_i64())
                })
                .collect();
            assert_eq!(got, recorded, "zipcode {}", partition.zipcode);
            assert_eq!(partition.rows as usize, recorded.len());
            let unchanged = (i == 1).then(resi_dataset::Changes::default);
            assert_eq!(partition.changes, unchanged, "zipcode {}", partition.zipcode);
        }
    }
    for partition in &dataset.manifests[1].partitions {
        let history = resi_dataset::History::decode(bytes::Bytes::from(
            std::fs::read(
                dataset
                    .local_root
                    .join(resi_dataset::history::history_key(&partition.zipcode)),
            )
            .unwrap(),
        ))
        .unwrap();
        assert_eq!(history.epochs().len(), 2);
        assert_eq!(history.rows().len() as u64, partition.rows);
        assert!(
            history.rows().iter().all(|r| r.epochs_seen == 2),
            "{}",
            partition.zipcode
        );
    }
    devnet.shutdown().await;
}
