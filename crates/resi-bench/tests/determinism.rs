//! Validators must agree byte for byte: the results cannot depend on the order
//! submissions arrive in, on the number of threads, or on hash-map order. And
//! the incentive must hold: honest miners are paid, every cheating kind is not.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use resi_core::results::Status;
use resi_core::verify::SourceVerifier;
use resi_core::{examine, EpochValidation, Hotkey, ValidationConfig};
use resi_sim::{build_epoch, EpochSpec, MarketSource, MinerKind, SyntheticEpoch};
use sha2::Digest;

fn epoch() -> &'static SyntheticEpoch {
    static EPOCH: OnceLock<SyntheticEpoch> = OnceLock::new();
    EPOCH.get_or_init(|| {
        let spec = EpochSpec {
            miners: 32,
            zipcodes: 3,
            listings: 60,
            cheater_percent: 45,
            seed: 42,
        };
        build_epoch(spec, ValidationConfig::default()).expect("synthetic epoch")
    })
}

fn results_json(order: &[usize], threads: usize) -> String {
    let epoch = epoch();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let examined: Vec<_> = pool.install(|| {
        use rayon::prelude::*;
        order
            .par_iter()
            .map(|&i| examine(&epoch.ctx, epoch.submissions[i].clone()))
            .collect()
    });
    let mut engine = EpochValidation::new(&epoch.ctx);
    for e in examined {
        engine.insert(e).unwrap();
    }
    let verifier = SourceVerifier::new(
        MarketSource::new(&epoch.market, epoch.ctx.deadline_ms + 600_000),
        &epoch.ctx.config,
    );
    futures_executor::block_on(engine.finish(&verifier)).to_json()
}

fn baseline() -> &'static String {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| results_json(&(0..epoch().submissions.len()).collect::<Vec<_>>(), 1))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn identical_under_any_order_and_thread_count(
        order in Just((0..epoch().submissions.len()).collect::<Vec<_>>()).prop_shuffle(),
        threads in 1usize..=4,
    ) {
        prop_assert_eq!(&results_json(&order, threads), baseline());
    }
}

#[test]
fn the_whole_pipeline_is_reproducible() {
    let (_, a) = resi_bench::validate_epoch(epoch()).unwrap();
    let (_, b) = resi_bench::validate_epoch(epoch()).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(&a.to_json(), baseline());
}

#[test]
fn honest_miners_are_paid_and_every_cheat_is_not() {
    let results: resi_core::ValidationResults = serde_json::from_str(baseline()).unwrap();
    let scores: BTreeMap<&Hotkey, u64> = results.miner_scores.iter().map(|m| (&m.hotkey, m.score_ppb)).collect();
    assert_eq!(scores.values().sum::<u64>(), 1_000_000_000);
    let expected_tier = |kind: MinerKind| -> Option<u8> {
        use resi_sim::Profile::*;
        match kind {
            MinerKind::Behaves(Lazy) | MinerKind::Behaves(ShortChanger) => Some(1),
            MinerKind::Behaves(Fabricator) | MinerKind::Behaves(PreScrape) | MinerKind::Behaves(LightFabricator) => {
                Some(3)
            }
            MinerKind::Behaves(Duplicator)
            | MinerKind::Behaves(Copier)
            | MinerKind::Behaves(AliasPadding)
            | MinerKind::Behaves(Unverifiable) => Some(0),
            MinerKind::Behaves(Stale) | MinerKind::Behaves(WrongZipcode) | MinerKind::Behaves(Unreasonable) => Some(2),
            MinerKind::Corrupt | MinerKind::ManifestMismatch => Some(0),
            MinerKind::Behaves(HonestFast) | MinerKind::Behaves(HonestSlow) => None,
        }
    };
    let mut seen_kinds = std::collections::BTreeSet::new();
    for (hotkey, kind) in &epoch().miners {
        let score = scores.get(hotkey).copied().unwrap_or(0);
        seen_kinds.insert(kind.label());
        let records: Vec<_> = results
            .zipcodes
            .iter()
            .flat_map(|z| z.submissions.iter())
            .filter(|s| &s.hotkey == hotkey)
            .collect();
        assert_eq!(records.len(), 3);
        match expected_tier(*kind) {
            None => {
                // One scrape, one reward: an honest miner beaten to the same
                // listings is paid nothing for them, and never failed.
                for r in &records {
                    let paid = matches!(r.status, Status::Winner | Status::Participant);
                    let beaten = r.status == Status::SameListings;
                    assert!(paid || beaten, "honest {}: {}", kind.label(), r.reason);
                }
                if records.iter().any(|r| r.status == Status::Winner) {
                    assert!(score > 0, "honest {} won unpaid", kind.label());
                }
            }
            Some(tier) => {
                assert_eq!(score, 0, "{} was paid", kind.label());
                for r in records {
                    assert_eq!(
                        (r.status, r.failed_tier),
                        (Status::Failed, Some(tier)),
                        "{}: {}",
                        kind.label(),
                        r.reason
                    );
                }
            }
        }
    }
    assert_eq!(seen_kinds.len(), 16, "every kind present: {seen_kinds:?}");
    // Every zipcode is won, first by an honest miner.
    let honest: std::collections::BTreeSet<&Hotkey> = epoch()
        .miners
        .iter()
        .filter(|(_, k)| expected_tier(*k).is_none())
        .map(|(h, _)| h)
        .collect();
    for z in &results.zipcodes {
        assert!(z.winners.first().is_some_and(|w| honest.contains(w)), "{}", z.zipcode);
    }
}

#[test]
fn the_validate_benchmark_prints_one_json_line() {
    let report = resi_bench::run_validate(resi_bench::ValidateBench {
        miners: 4,
        zipcodes: 2,
        listings: 50,
        cheater_percent: 25,
        seed: 1,
        threads: Some(1),
        bombs: 0,
        // The slow run must give the same results (the benchmark checks).
        source_latency: Some(std::time::Duration::from_millis(5)),
        input: None,
    })
    .unwrap();
    let line = report.json();
    assert!(!line.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["listings"], report.listings);
    assert_eq!(v["threads"], 1);
    for key in [
        "decodeOnlySec",
        "endToEndSec",
        "floorRatio",
        "simulatedSourceSec",
        "lookupsPerEpoch",
    ] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {line}");
    }
    assert!(
        report.simulated_source < report.finish.elapsed,
        "the market's answers are part of the finish stage: {line}"
    );
    assert!(v["peakRssMib"].is_null() || v["peakRssMib"].as_f64().is_some());
    assert_eq!(v["tier3LatencyMs"], 5, "{line}");
    for key in ["tier3Sec", "tier3BoundSec"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {line}");
    }
    assert!(v["tier3Lookups"].as_u64().is_some_and(|n| n > 0), "{line}");
    // Paid lookups are distinct zpids: the slow run pays the same.
    assert_eq!(v["lookupsPerEpoch"], v["tier3Lookups"], "{line}");
    // Paid once per zpid, counted once per zipcode in the results.
    assert!(report.lookups_per_epoch <= report.results.totals.lookups, "{line}");
}

/// A future that is pending `n` times before it is ready (waking itself).
struct YieldTimes(u32);

impl std::future::Future for YieldTimes {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 == 0 {
            return std::task::Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// Answers as `inner` does, after a delay drawn from the zpid and a salt:
/// every salt interleaves the zipcodes' concurrent walks differently.
struct Delayed<V> {
    inner: V,
    salt: u64,
}

impl<V: resi_core::ListingVerifier> Delayed<V> {
    fn turns(&self, zpid: &str) -> u32 {
        let digest = sha2::Sha256::digest(format!("{}:{zpid}", self.salt).as_bytes());
        u32::from(digest[0] % 8)
    }
}

impl<V: resi_core::ListingVerifier> resi_core::ListingVerifier for Delayed<V> {
    async fn verify(&self, listing: &resi_core::Listing) -> resi_core::Verdict {
        YieldTimes(self.turns(&listing.zpid)).await;
        self.inner.verify(listing).await
    }
    async fn verify_claim(&self, claim: &resi_core::verify::Claim) -> resi_core::Verdict {
        YieldTimes(self.turns(&claim.zpid)).await;
        self.inner.verify_claim(claim).await
    }
}

/// Zipcodes are walked concurrently and share the remembered verdicts: the
/// order the source's answers arrive in changes nothing, byte for byte, on
/// many seeds (each a different market, cast of cheaters and times).
#[test]
fn the_order_lookups_are_answered_in_changes_nothing() {
    for seed in 1..=12u64 {
        let spec = EpochSpec {
            miners: 14,
            zipcodes: 3,
            listings: 40,
            cheater_percent: 50,
            seed,
        };
        let epoch = build_epoch(spec, ValidationConfig::default()).expect("synthetic epoch");
        let run = |salt: Option<u64>| {
            let mut engine = EpochValidation::new(&epoch.ctx);
            for s in &epoch.submissions {
                engine.insert(examine(&epoch.ctx, s.clone())).unwrap();
            }
            let verifier = SourceVerifier::new(
                MarketSource::new(&epoch.market, epoch.ctx.deadline_ms + 600_000),
                &epoch.ctx.config,
            );
            match salt {
                None => futures_executor::block_on(engine.finish(&verifier)).to_json(),
                Some(salt) => {
                    let delayed = Delayed { inner: verifier, salt };
                    futures_executor::block_on(engine.finish(&delayed)).to_json()
                }
            }
        };
        let direct = run(None);
        for salt in 1..=3 {
            assert!(
                run(Some(salt)) == direct,
                "seed {seed}, salt {salt}: the results differ"
            );
        }
    }
}

/// `--input DIR`: the files written to disk and read back give the results
/// of the epoch in memory, and a file replaced on disk is what is validated.
#[test]
fn the_validate_benchmark_reads_an_epoch_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let params = |input: Option<std::path::PathBuf>| resi_bench::ValidateBench {
        miners: 4,
        zipcodes: 2,
        listings: 50,
        cheater_percent: 0,
        seed: 3,
        threads: Some(1),
        bombs: 0,
        source_latency: None,
        input,
    };
    let memory = resi_bench::run_validate(params(None)).unwrap();
    let written = resi_bench::run_validate(params(Some(dir.path().to_owned()))).unwrap();
    let read = resi_bench::run_validate(params(Some(dir.path().to_owned()))).unwrap();
    assert_eq!(written.results.to_json(), memory.results.to_json());
    assert_eq!(read.results.to_json(), memory.results.to_json());
    assert!(read.render().contains("files read from"));

    // One file truncated on disk: its submission fails tier 0 (its
    // manifest hash no longer matches), nothing else changes.
    let victim = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    std::fs::write(&victim, b"not parquet").unwrap();
    let tampered = resi_bench::run_validate(params(Some(dir.path().to_owned()))).unwrap();
    let failed: Vec<_> = tampered
        .results
        .zipcodes
        .iter()
        .flat_map(|z| &z.submissions)
        .filter(|s| s.failed_tier == Some(0))
        .collect();
    assert_eq!(failed.len(), 1, "{}", tampered.results.to_json());
}
