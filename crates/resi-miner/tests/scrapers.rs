//! The miner's scrapers against the replay of the real-data corpus: the
//! `zillow-api` scraper and the `command` plug-in running the example
//! Python scraper; and the plug-in protocol's failure modes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use resi_core::{AssignedZipcode, EpochLength, MarketTier, Zipcode};
use resi_miner::command::CommandScraper;
use resi_miner::zillow::ZillowScraper;
use resi_miner::{Deadline, ScrapeError, ZipcodeScraper};
use resi_runtime::{Clock, SystemClock};
use resi_sim::replay::{Corpus, Replay, ReplayOptions};

async fn replay(corpus: Corpus) -> url::Url {
    let options = ReplayOptions {
        api_key: "k".into(),
        rate_limited_bps: 1_000,
        ..ReplayOptions::default()
    };
    let state = Arc::new(Replay::new(corpus, options));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, resi_sim::replay::router(state)).await.unwrap() });
    format!("http://{addr}/").parse().unwrap()
}

fn assigned(zipcode: &str, expected: u64) -> AssignedZipcode {
    AssignedZipcode {
        zipcode: Zipcode::parse(zipcode).unwrap(),
        expected_listings: expected,
        state: "TN".into(),
        city: "Nashville".into(),
        county: "Davidson County".into(),
        market_tier: MarketTier::Standard,
        geographic_region: "south".into(),
    }
}

/// The epoch containing now, so the deadline is ahead.
fn deadline_in(ms: i64) -> Deadline {
    let now = SystemClock.now_ms();
    let length = EpochLength::from_secs(3_600).unwrap();
    let mut window = length.window(length.epoch_containing(now / 1000).unwrap()).unwrap();
    window.end_unix = (now + ms) / 1000 + 1;
    Deadline { epoch: window }
}

fn example_scraper() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/scrapers/zillow_api.py")
}

#[tokio::test]
#[ignore = "needs the real-data corpus (../shared/real-data or RESI_REAL_DATA); .ci/run runs it"]
async fn both_scrapers_read_every_real_listing_of_a_zipcode() {
    let dir = resi_sim::replay::require_corpus();
    let corpus = Corpus::load(&dir).unwrap();
    let zipcode = corpus.searches.keys().next().unwrap().clone();
    let want: Vec<String> = corpus
        .hits(&zipcode)
        .iter()
        .map(|h| h["zpid"].as_str().unwrap().to_owned())
        .collect();
    let base = replay(corpus).await;

    let settings = resi_sources::ZillowSettings {
        requests_per_second: 200.0,
        backoff: Duration::from_millis(5),
        ..Default::default()
    };
    let api = resi_sources::ZillowApi::new(base.clone(), "k", settings).unwrap();
    let native = ZillowScraper::new(api, base.clone(), SystemClock::shared());
    let listings = native
        .scrape(
            &assigned(&zipcode, want.len() as u64),
            want.len() as u64,
            deadline_in(60_000),
        )
        .await
        .unwrap();
    assert_eq!(listings.iter().map(|l| l.zpid.clone()).collect::<Vec<_>>(), want);

    if std::process::Command::new("python3").arg("--version").output().is_err() {
        println!("python3 not found: skipping the command plug-in half");
        return;
    }
    let env = BTreeMap::from([
        ("ZILLOW_API_URL".to_owned(), base.to_string()),
        ("RESI_ZILLOW_API_KEY".to_owned(), "k".to_owned()),
    ]);
    let plugin = CommandScraper::new(
        "python3".into(),
        vec![example_scraper().display().to_string()],
        env,
        None,
        SystemClock::shared(),
    );
    assert_eq!(plugin.info().name, "zillow_api.py");
    let from_python = plugin
        .scrape(
            &assigned(&zipcode, want.len() as u64),
            want.len() as u64,
            deadline_in(60_000),
        )
        .await
        .unwrap();
    // The same listings as the native scraper, field for field but the scrape time.
    assert_eq!(from_python.len(), listings.len());
    for (p, n) in from_python.iter().zip(&listings) {
        let mut p = p.clone();
        p.scraped_timestamp_ms = n.scraped_timestamp_ms;
        assert_eq!(&p, n);
    }
}

fn shell(script: &str) -> CommandScraper {
    CommandScraper::new(
        "sh".into(),
        vec!["-c".into(), script.into()],
        BTreeMap::new(),
        Some("sh".into()),
        SystemClock::shared(),
    )
}

#[tokio::test]
async fn the_plugin_protocol_reports_what_went_wrong() {
    let z = assigned("37201", 2);
    // Exit 75: temporary, retry later.
    let temporary = shell("echo 'source down' >&2; exit 75")
        .scrape(&z, 2, deadline_in(30_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&temporary, ScrapeError::Unavailable(m) if m.contains("source down")),
        "{temporary}"
    );
    // Any other failure names the exit code and the last stderr.
    let failed = shell("echo boom >&2; exit 3")
        .scrape(&z, 2, deadline_in(30_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&failed, ScrapeError::Other(m) if m.contains("exit 3") && m.contains("boom")),
        "{failed}"
    );
    // Malformed lines are reported with their line number.
    let malformed = shell(r#"echo '{"zpid": "1"}'; echo 'oops'; echo '{"zpid": "2"}'"#)
        .scrape(&z, 2, deadline_in(30_000))
        .await
        .unwrap_err();
    assert!(
        matches!(&malformed, ScrapeError::Other(m) if m.contains("line 2")),
        "{malformed}"
    );
    // The request arrives on stdin.
    let echoed =
        shell(r#"read req; z=$(echo "$req" | sed 's/.*"zipcode":"\([0-9]*\)".*/\1/'); echo "{\"zpid\": \"$z\"}""#)
            .scrape(&z, 2, deadline_in(30_000))
            .await
            .unwrap();
    assert_eq!(echoed[0].zpid, "37201");
    // At the deadline the whole process group goes, children included.
    let marker = std::env::temp_dir().join(format!("resi-plugin-child-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let started = std::time::Instant::now();
    let late = shell(&format!("(sleep 3; touch {}) & sleep 30", marker.display()))
        .scrape(&z, 2, deadline_in(1_000))
        .await
        .unwrap_err();
    assert!(late.to_string().contains("deadline"), "{late}");
    assert!(started.elapsed() < Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!marker.exists(), "a child of the scraper outlived the deadline");
}
