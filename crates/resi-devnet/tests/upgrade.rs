//! A rules upgrade crossing an epoch (PROTOCOL.md §7a): the coordinator
//! announces results version 7 from the second epoch; one validator has
//! upgraded early, the other plays the previous release. Both validate the
//! first epoch by version 6 and agree; from the second on the upgraded one
//! validates by version 7 alone, and the old one publishes no results, only
//! its signed refusal: no two hashes disagree at any time.

use resi_core::consensus::ConsensusStatus;
use resi_core::results::Status;
use resi_devnet::{DevnetOptions, UpgradeRehearsal};
use resi_sim::Profile;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rules_upgrade_crosses_an_epoch_without_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let options = DevnetOptions {
        epochs: 2,
        epoch_seconds: 16,
        validators: 2,
        // Two fast honest miners hold the same listings: the second is
        // `ignored` by version 6 and `same-listings` by version 7.
        miners: vec![Profile::HonestFast, Profile::HonestFast, Profile::Fabricator],
        market_zipcodes: 40,
        target_listings: 3_000,
        seed: 5,
        data_dir: Some(dir.path().to_owned()),
        upgrade: Some(UpgradeRehearsal {
            from_epoch: 2,
            old_validators: 1,
        }),
        ..DevnetOptions::default()
    };
    let (devnet, outcome) = resi_devnet::run(options, |_| {}).await.expect("devnet runs");
    let upgrade = outcome.upgrade_verdict().unwrap_or_default();
    println!("{upgrade}\n{}", outcome.verdict());
    let (upgraded, old) = (&outcome.validators[0], &outcome.validators[1]);
    assert_eq!(outcome.epochs.len(), 2, "{upgrade}");

    let before = &outcome.epochs[0];
    assert_eq!(
        before.reports.len(),
        2,
        "both validators validate the epoch before the upgrade"
    );
    for r in &before.reports {
        assert_eq!(r.results.version, 6);
        assert_eq!(r.results.totals.same_listings, None);
        assert_eq!(r.consensus.status, ConsensusStatus::PerfectConsensus);
    }
    assert_eq!(
        before.reports[0].results.consensus_hash,
        before.reports[1].results.consensus_hash
    );
    let statuses = |e: &resi_devnet::EpochOutcome| -> Vec<Status> {
        e.reports[0]
            .results
            .zipcodes
            .iter()
            .flat_map(|z| z.submissions.iter().map(|s| s.status))
            .collect()
    };
    assert!(!statuses(before).contains(&Status::SameListings));

    let after = &outcome.epochs[1];
    assert_eq!(after.reports.len(), 1, "only the upgraded validator publishes");
    let report = &after.reports[0];
    assert_eq!(report.validator, upgraded.2);
    assert_eq!(report.results.version, 7);
    assert!(report.results.totals.same_listings.is_some_and(|n| n > 0));
    assert!(statuses(after).contains(&Status::SameListings));
    assert_eq!(report.consensus.status, ConsensusStatus::PerfectConsensus);

    let announced = outcome.upgrade.as_ref().expect("a rehearsal");
    assert_eq!((announced.version, announced.from_epoch), (7, after.epoch));
    assert_eq!(announced.refusals.len(), 1, "{upgrade}");
    let refusal = &announced.refusals[0];
    assert_eq!(
        (refusal.epoch, refusal.validator.as_str()),
        (after.epoch, old.0.as_str())
    );
    let reason = refusal.reason.as_ref().expect("a signed refusal in the bucket");
    assert!(
        reason.contains("results version 7 is not one this release validates by (it knows 6 to 6): upgrade resi"),
        "{reason}"
    );
    assert!(outcome.passed(), "{upgrade}\n{}", outcome.verdict());
    devnet.shutdown().await;
}
