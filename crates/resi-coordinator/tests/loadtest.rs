//! `resi bench coordinator` drives the real server and refuses options it cannot run.

use resi_coordinator::loadtest::{run, LoadError, LoadOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_benchmark_answers_every_signed_request() {
    let report = run(&LoadOptions {
        database_url: None,
        hotkeys: 20,
        connections: 4,
        requests: 120,
        client_threads: 2,
    })
    .await
    .expect("every signed request answered 200");
    assert_eq!(
        (report.backend, report.requests, report.connections),
        ("sqlite", 120, 4)
    );
    assert!(report.signed_rps > 0.0 && report.raw_verify_per_sec > 0.0 && report.http_floor_rps > 0.0);
    assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms);
    let line: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    for key in [
        "backend",
        "signedRps",
        "rawVerifyPerSec",
        "p50Ms",
        "p99Ms",
        "connections",
        "httpFloorRps",
    ] {
        assert!(!line[key].is_null(), "{key} missing: {line}");
    }
}

#[tokio::test]
async fn options_it_cannot_run_are_refused_in_words() {
    for options in [
        LoadOptions {
            hotkeys: 0,
            ..LoadOptions::default()
        },
        LoadOptions {
            connections: 8,
            requests: 4,
            ..LoadOptions::default()
        },
        LoadOptions {
            client_threads: 0,
            ..LoadOptions::default()
        },
    ] {
        match run(&options).await {
            Err(LoadError::Options(why)) => assert!(why.contains("--requests"), "{why}"),
            other => panic!("expected an options error, got {other:?}"),
        }
    }
}
