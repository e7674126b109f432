//! `resi bench coordinator` drives the real server and refuses options it cannot run.

#[path = "../../resi-coordinator/tests/common/postgres.rs"]
mod postgres;

use resi_bench::coordinator::{run, LoadError, LoadOptions};
use sqlx::Row;

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
        (report.backend.as_str(), report.requests, report.connections),
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

/// Pointed at a database in use, the benchmark writes nothing there: on a
/// PostgreSQL server it runs in a database of its own and drops it; an
/// existing SQLite file is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_named_is_never_written() {
    let small = |database_url: String| LoadOptions {
        database_url: Some(database_url),
        hotkeys: 10,
        connections: 2,
        requests: 20,
        client_threads: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let in_use = dir.path().join("coordinator.db");
    std::fs::write(&in_use, b"").unwrap();
    match run(&small(format!("sqlite://{}?mode=rwc", in_use.display()))).await {
        Err(LoadError::Options(why)) => assert!(why.contains("exists"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(std::fs::metadata(&in_use).unwrap().len(), 0);

    postgres::with_postgres("loadtest", |url| async move {
        let report = run(&small(url.clone())).await.expect("the run on PostgreSQL");
        assert_eq!(report.backend.as_str(), "postgres");
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .try_get::<i64, _>(0)
                    .unwrap()
            }
        };
        let tables = count("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").await;
        assert_eq!(tables, 0, "nothing was created in the database named");
        let left = count("SELECT count(*) FROM pg_database WHERE strpos(datname, 'resi_bench_') = 1").await;
        assert_eq!(left, 0, "the benchmark's own database was dropped");
        pool.close().await;
    })
    .await;
}
