//! Coordinator persistence and epochs, against SQLite and PostgreSQL.
//!
//! PostgreSQL: `RESI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each run creates and drops its
//! own database. If the server is unreachable the PostgreSQL half is skipped
//! with a message, unless `RESI_REQUIRE_POSTGRES=1` (set by `.ci/run`).

mod common;

use std::collections::BTreeMap;

use resi_coordinator::epochs::{assignment, current, existing, EpochPolicy};
use resi_coordinator::selection::SelectionParams;
use resi_coordinator::store::{ReplayRecord, RequestCount, Store};
use resi_coordinator::universe::UniverseZipcode;
use resi_core::{EpochLength, MarketTier, Zipcode};

const T0: i64 = 1_759_334_400; // 2025-10-01T16-00-00

fn universe() -> BTreeMap<Zipcode, UniverseZipcode> {
    Zipcode::all()
        .step_by(53)
        .take(300)
        .enumerate()
        .map(|(i, z)| {
            let info = z.info();
            let u = UniverseZipcode {
                zipcode: z,
                state: info.state.to_owned(),
                city: info.city.to_owned(),
                county: info.county.to_owned(),
                expected_listings: 150 + (i as u64 * 7_919) % 800,
                market_tier: [MarketTier::Premium, MarketTier::Standard, MarketTier::Emerging][i % 3],
                geographic_region: "test".into(),
            };
            (z, u)
        })
        .collect()
}

fn policy() -> EpochPolicy {
    EpochPolicy {
        length: EpochLength::PRODUCTION,
        secret: b"test secret".to_vec(),
        selection: SelectionParams {
            target_listings: 4_000,
            ..Default::default()
        },
        rules: Default::default(),
    }
}

async fn scenario(url: &str) {
    let store = Store::connect(url).await.unwrap();
    assert!(store.ping().await);
    let p = policy();
    assert!(current(&store, &p, T0 + 10).await.is_err(), "no universe yet");
    assert_eq!(store.import_universe(&universe(), T0).await.unwrap(), 300);
    // Re-importing updates in place.
    assert_eq!(store.import_universe(&universe(), T0 + 1).await.unwrap(), 300);
    assert_eq!(store.universe().await.unwrap().len(), 300);
    // Replacing with a part retires the rest; replacing back brings them back.
    let part: std::collections::BTreeMap<_, _> = universe().into_iter().take(120).collect();
    assert_eq!(store.replace_universe(&part, T0 + 2).await.unwrap(), (120, 180));
    assert_eq!(store.universe().await.unwrap().len(), 120);
    assert_eq!(store.replace_universe(&universe(), T0 + 3).await.unwrap(), (300, 0));
    assert_eq!(store.universe().await.unwrap().len(), 300);

    let first = current(&store, &p, T0 + 10).await.unwrap();
    assert_eq!(first.epoch_id.to_string(), "2025-10-01T16-00-00");
    let total: u64 = first.zipcodes.iter().map(|(z, _)| z.expected_listings).sum();
    assert!((3_600..=4_400).contains(&total), "{total}");
    // The same epoch later in its window, and after a restart, is the same epoch.
    assert_eq!(current(&store, &p, T0 + 3_000).await.unwrap(), first);
    drop(store);
    let store = Store::connect(url).await.unwrap();
    assert_eq!(existing(&store, &first.epoch_id).await.unwrap().as_ref(), Some(&first));
    // Even with another secret: an epoch never changes once created.
    let other = EpochPolicy {
        secret: b"rotated".to_vec(),
        ..policy()
    };
    assert_eq!(current(&store, &other, T0 + 20).await.unwrap(), first);

    // The seed is revealed only at the deadline, and matches its commitment.
    let before = assignment(&first, first.end_unix - 1);
    assert!(before.validation_seed.is_none());
    let after = assignment(&first, first.end_unix);
    let seed = after.validation_seed.unwrap();
    assert!(after.validation_seed_commitment.is_commitment_to(&seed));
    assert_eq!(after.metadata.zipcode_count as usize, first.zipcodes.len());

    // The next epoch cools down the previous zipcodes.
    let second = current(&store, &p, T0 + 14_400).await.unwrap();
    for (z, _) in &second.zipcodes {
        assert!(
            !first.zipcodes.iter().any(|(f, _)| f.zipcode == z.zipcode),
            "{} reassigned within the cooldown",
            z.zipcode
        );
    }
    assert_eq!(
        store.recent_epoch_ids(10).await.unwrap(),
        vec![second.epoch_id, first.epoch_id]
    );

    // Miner status, last write wins.
    store
        .put_miner_status(&first.epoch_id, "5Hp5", "{\"a\":1}", T0)
        .await
        .unwrap();
    store
        .put_miner_status(&first.epoch_id, "5Hp5", "{\"a\":2}", T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        store.miner_statuses(&first.epoch_id).await.unwrap()["5Hp5"],
        "{\"a\":2}"
    );
    // Rate-limit windows shared through the database: counted per (route,
    // caller), started over in a new window, old windows forgotten.
    let w = T0 - T0 % 60;
    for n in 1..=3 {
        assert_eq!(store.count_request("current", "abc", w).await.unwrap(), n);
    }
    assert_eq!(store.count_request("current", "other", w).await.unwrap(), 1);
    assert_eq!(store.count_request("status", "abc", w).await.unwrap(), 1);
    assert_eq!(
        store.count_request("current", "abc", w + 60).await.unwrap(),
        1,
        "a new window"
    );
    assert_eq!(store.count_request("current", "abc", w + 60).await.unwrap(), 2);
    // The route's rows of the ended window are gone (`other` called only
    // then); another route's window is its own.
    assert_eq!(
        window_rows(url).await,
        vec![("current".into(), "abc".into()), ("status".into(), "abc".into())],
        "rows of ended windows are deleted when the next window starts"
    );

    replay_records(&store, url).await;
    admissions(&store).await;
}

/// A signed request's admission: its replay record written and, if new,
/// counted in its shared window (one statement on PostgreSQL). A replay
/// is refused and counts nowhere; each request of a window sees its own count.
async fn admissions(store: &Store) {
    let w = T0 - T0 % 60;
    let admit = |hotkey: String, signature: String, caller: String, window_start: i64| {
        let store = store.clone();
        async move {
            let record = ReplayRecord {
                hotkey,
                signature,
                expires_at: T0 + 600,
                now_unix: T0,
            };
            let count = RequestCount {
                route: "admit".into(),
                caller,
                window_start,
                limit: u32::MAX,
            };
            store.admit(record, count).await.unwrap()
        }
    };
    let one = |h: &str, s: &str, c: &str| admit(h.into(), s.into(), c.into(), w);
    assert_eq!(one("hk-1", "adm-1", "c-1").await, Some(1));
    assert_eq!(one("hk-1", "adm-1", "c-1").await, None, "a replay");
    assert_eq!(one("hk-1", "adm-2", "c-1").await, Some(2), "the replay was not counted");
    assert_eq!(
        store.count_request("admit", "c-1", w).await.unwrap(),
        3,
        "admissions count in the same windows as counted requests"
    );
    // A request whose window is already full writes nothing: refused
    // (counted past the limit), and its record is still new afterwards.
    let limited = |signature: &str, limit: u32| {
        let store = store.clone();
        let record = ReplayRecord {
            hotkey: "hk-9".into(),
            signature: signature.into(),
            expires_at: T0 + 600,
            now_unix: T0,
        };
        let count = RequestCount {
            route: "limited".into(),
            caller: "c-9".into(),
            window_start: w,
            limit,
        };
        async move { store.admit(record, count).await.unwrap() }
    };
    assert_eq!(limited("lim-1", 2).await, Some(1));
    assert_eq!(limited("lim-2", 2).await, Some(2));
    assert_eq!(limited("lim-3", 2).await, Some(3), "refused: the window was full");
    assert_eq!(
        limited("lim-3", 10).await,
        Some(3),
        "the refused request's record was not written"
    );
    // 300 at once: 100 distinct records of 4 callers, each asked 3 times.
    let asks: Vec<_> = (0..300)
        .map(|i| {
            let (record, caller) = (i % 100, format!("c-{}", i % 100 % 4));
            let admitted = admit("hk-2".into(), format!("adm-x-{record}"), caller.clone(), w);
            tokio::spawn(async move { (caller, admitted.await) })
        })
        .collect();
    let mut counts = BTreeMap::<String, Vec<u64>>::new();
    let mut refused = 0;
    for ask in asks {
        match ask.await.unwrap() {
            (caller, Some(n)) => counts.entry(caller).or_default().push(n),
            (_, None) => refused += 1,
        }
    }
    assert_eq!(refused, 200, "each record is admitted once");
    for (caller, mut seen) in counts {
        seen.sort_unstable();
        let before = if caller == "c-1" { 3 } else { 0 };
        let expected: Vec<u64> = (before + 1..=before + 25).collect();
        assert_eq!(seen, expected, "{caller}: every request sees its own count");
    }
    // A new window starts over.
    assert_eq!(
        admit("hk-1".into(), "adm-3".into(), "c-1".into(), w + 60).await,
        Some(1)
    );
    // One caller in two windows at once (a window's edge): one statement
    // may change the caller's row once, so the group is written in rounds.
    let edge: Vec<_> = (0..40)
        .map(|i| {
            tokio::spawn(admit(
                "hk-3".into(),
                format!("edge-{i}"),
                "c-edge".into(),
                w + 120 + 60 * (i % 2),
            ))
        })
        .collect();
    for ask in edge {
        assert!(ask.await.unwrap().is_some(), "every new record is admitted");
    }
}

/// The (route, caller) rows of the rate-limit table, in order.
async fn window_rows(url: &str) -> Vec<(String, String)> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query("SELECT route, caller FROM rate_limit_windows ORDER BY route, caller")
        .fetch_all(&mut connection)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Replay records are written in groups; each (hotkey, signature) is
/// accepted exactly once however many ask together, in one group or across
/// groups, and after a restart.
async fn replay_records(store: &Store, url: &str) {
    let expires = T0 + 600;
    assert!(store.record_signature("hk-a", "sig-1", expires, T0).await.unwrap());
    assert!(!store.record_signature("hk-a", "sig-1", expires, T0).await.unwrap());
    assert!(
        store.record_signature("hk-b", "sig-1", expires, T0).await.unwrap(),
        "the same signature from another hotkey is another record"
    );
    // 300 requests at once: 100 distinct records, each asked 3 times.
    let asks: Vec<_> = (0..300)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let (hotkey, signature) = (format!("hk-{}", i % 100 % 7), format!("sig-x-{}", i % 100));
                let fresh = store.record_signature(&hotkey, &signature, expires, T0).await.unwrap();
                (hotkey, signature, fresh)
            })
        })
        .collect();
    let mut accepted = BTreeMap::<(String, String), u32>::new();
    for ask in asks {
        let (hotkey, signature, fresh) = ask.await.unwrap();
        *accepted.entry((hotkey, signature)).or_default() += u32::from(fresh);
    }
    assert_eq!(accepted.len(), 100);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    // Written, not only remembered: a new connection refuses them too.
    let reopened = Store::connect(url).await.unwrap();
    assert!(!reopened.record_signature("hk-3", "sig-x-3", expires, T0).await.unwrap());
    assert!(reopened.record_signature("hk-3", "sig-x-4", expires, T0).await.unwrap());
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("coordinator.db").display());
    scenario(&url).await;
}

#[tokio::test]
async fn postgres() {
    common::with_postgres("store", |url| async move { scenario(&url).await }).await;
}

/// The SQLite log is checkpointed in the background while the store is in
/// use: a copy of the main database file alone, without its log, soon
/// holds a replay record just written. (Left to SQLite, a commit
/// checkpoints only past the backstop of 10,000 log pages.)
#[tokio::test]
async fn the_sqlite_log_is_checkpointed_in_the_background() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("coordinator.db");
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    assert!(store.record_signature("hk-a", "sig-1", T0 + 300, T0).await.unwrap());
    let copy = dir.path().join("copy.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        for stale in ["copy.db-wal", "copy.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(stale));
        }
        std::fs::copy(&db, &copy).unwrap();
        let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rwc", copy.display()))
            .await
            .unwrap();
        // Before the first checkpoint the copy may lack the table itself.
        let held: i64 = sqlx::query_scalar("SELECT count(*) FROM seen_requests")
            .fetch_one(&mut conn)
            .await
            .unwrap_or(0);
        conn.close().await.unwrap();
        if held == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the record reached the database file within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    drop(store);
}
