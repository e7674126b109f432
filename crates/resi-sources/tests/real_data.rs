//! resi on real listings: the corpus of recorded Zillow API responses
//! (`../shared/real-data`, or `RESI_REAL_DATA`), served by the replay server,
//! scraped with the `zillow-api` mapping, validated by the real engine with
//! the `zillow-api` property source. Honest submissions pass every tier;
//! tampered ones fail at their tier.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use resi_core::config::ValidationConfig;
use resi_core::results::Status;
use resi_core::schema::encode_listings;
use resi_core::verify::{compare, SourceVerifier};
use resi_core::{
    examine, EpochContext, EpochLength, EpochValidation, Hotkey, Listing, ManifestEntry, SubmissionInput, Verdict,
    Zipcode,
};
use resi_sim::replay::{Corpus, Replay, ReplayOptions};
use resi_sources::zillow::{listing_from_hit, record_from_property};
use resi_sources::{ZillowApi, ZillowSettings};

/// 2025-11-24T16:00:00Z, a production epoch start.
const START_UNIX: i64 = 1_764_000_000;

#[test]
#[ignore = "needs the real-data corpus (../shared/real-data or RESI_REAL_DATA); .ci/run runs it"]
fn every_search_hit_matches_its_own_property_record() {
    let dir = resi_sim::replay::require_corpus();
    let corpus = Corpus::load(&dir).unwrap();
    let tolerance = ValidationConfig::default().spot_check_tolerance_bps;
    let mut checked = 0;
    for zipcode in corpus.searches.keys() {
        for hit in corpus.hits(zipcode) {
            let listing = listing_from_hit(hit, zipcode, START_UNIX * 1000).unwrap();
            let record = record_from_property(&corpus.properties[&listing.zpid]).unwrap();
            let verdict = compare(&listing, &record, tolerance);
            assert_eq!(
                verdict,
                Verdict::Verified,
                "zpid {}: {listing:?} vs {record:?}",
                listing.zpid
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 164);
}

/// Freshness on real data: each search hit, claimed as read at the
/// recording (the recorder's `collected_at` day, noon UTC) or any later
/// instant, holds by its record's history: no honest row is contradicted.
#[test]
#[ignore = "needs the real-data corpus (../shared/real-data or RESI_REAL_DATA); .ci/run runs it"]
fn every_search_hit_holds_by_its_records_history() {
    let dir = resi_sim::replay::require_corpus();
    let corpus = Corpus::load(&dir).unwrap();
    let tolerance = ValidationConfig::default().spot_check_tolerance_bps;
    // 2025-09-12T12:00:00Z, the recording day; and the replay's "now" in a test.
    let instants = [1_757_678_400_000i64, START_UNIX * 1000];
    let mut checked = 0;
    let mut with_history = 0;
    for zipcode in corpus.searches.keys() {
        for hit in corpus.hits(zipcode) {
            let listing = listing_from_hit(hit, zipcode, 0).unwrap();
            let record = record_from_property(&corpus.properties[&listing.zpid]).unwrap();
            with_history += usize::from(!record.history.is_empty());
            for at in instants {
                let claim = resi_core::verify::Claim {
                    zpid: listing.zpid.clone(),
                    zipcode: zipcode.to_string(),
                    price: listing.price.unwrap_or(0),
                    scraped_ms: at,
                };
                let verdict = resi_core::verify::compare_claim(&claim, &record, tolerance);
                assert_eq!(
                    verdict,
                    Verdict::Verified,
                    "zpid {} at {at}: {:?}",
                    listing.zpid,
                    record.history
                );
                checked += 1;
            }
        }
    }
    assert_eq!((checked, with_history), (328, 164));
}

async fn replay(corpus: Corpus, options: ReplayOptions) -> url::Url {
    let state = Arc::new(Replay::new(corpus, options));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, resi_sim::replay::router(state)).await.unwrap() });
    format!("http://{addr}/").parse().unwrap()
}

fn api(base: &url::Url, key: &str) -> ZillowApi {
    let settings = ZillowSettings {
        requests_per_second: 500.0,
        backoff: Duration::from_millis(5),
        ..ZillowSettings::default()
    };
    ZillowApi::new(base.clone(), key, settings).unwrap()
}

/// Every page of a zipcode's search, as the `zillow-api` scraper reads it.
async fn scrape(api: &ZillowApi, zipcode: &str, scraped_ms: i64) -> Vec<Listing> {
    let first = api.search_page(zipcode, 1).await.unwrap();
    let mut hits = first.hits;
    for page in 2..=first.total_pages {
        hits.extend(api.search_page(zipcode, page).await.unwrap().hits);
    }
    hits.iter()
        .filter_map(|h| listing_from_hit(h, zipcode, scraped_ms))
        .collect()
}

fn hotkey(i: u8) -> Hotkey {
    Hotkey::from_public_key([i; 32])
}

#[tokio::test]
#[ignore = "needs the real-data corpus (../shared/real-data or RESI_REAL_DATA); .ci/run runs it"]
async fn honest_real_submissions_pass_and_tampered_ones_fail_at_their_tier() {
    let dir = resi_sim::replay::require_corpus();
    let corpus = Corpus::load(&dir).unwrap();
    let zipcodes: Vec<String> = corpus.searches.keys().cloned().collect();
    let base = replay(
        corpus.clone(),
        ReplayOptions {
            api_key: "test-key".into(),
            // A flaky API: the client's retries absorb it.
            rate_limited_bps: 500,
            server_error_bps: 500,
            ..ReplayOptions::default()
        },
    )
    .await;

    // The key is required, as on the commercial API.
    let keyless = reqwest::get(base.join("property?zpid=1").unwrap()).await.unwrap();
    assert_eq!(keyless.status(), 401);
    let wrong = api(&base, "wrong-key").search_page(&zipcodes[0], 1).await.unwrap_err();
    assert!(wrong.to_string().contains("403"), "{wrong}");

    let api = api(&base, "test-key");
    let length = EpochLength::PRODUCTION;
    let window = length.window(length.epoch_containing(START_UNIX).unwrap()).unwrap();
    let start_ms = window.start_ms();
    let expected: BTreeMap<Zipcode, u64> = zipcodes
        .iter()
        .map(|z| (Zipcode::parse(z).unwrap(), corpus.hits(z).len() as u64))
        .collect();
    let config = ValidationConfig {
        require_manifest: false,
        ..ValidationConfig::default()
    };
    let ctx = EpochContext::new(window, "0011223344556677", "ab".repeat(32), expected, config.clone()).unwrap();

    // Variants of the same real zipcode, each scraped at its own time.
    let variants: [(&str, u8, Option<u8>); 5] = [
        ("honest", 1, None),
        ("price-changed", 2, Some(3)),
        ("fabricated", 3, Some(3)),
        ("wrong-zipcode", 4, Some(2)),
        ("stale", 5, Some(2)),
    ];
    let mut engine = EpochValidation::new(&ctx);
    for zipcode in &zipcodes {
        let z = Zipcode::parse(zipcode).unwrap();
        for (name, key, _) in variants {
            let offset = i64::from(key) * 1_000;
            let scraped_ms = start_ms + 60_000 + offset;
            let mut rows = scrape(&api, zipcode, scraped_ms).await;
            assert_eq!(rows.len(), corpus.hits(zipcode).len(), "{zipcode}");
            match name {
                "price-changed" => rows.iter_mut().for_each(|r| r.price = r.price.map(|p| p + p / 5)),
                "fabricated" => rows.iter_mut().step_by(2).enumerate().for_each(|(i, r)| {
                    r.zpid = format!("{}", 9_000_000_000u64 + i as u64);
                    r.source_url = Some(format!("https://www.zillow.com/homedetails/{}_zpid/", r.zpid));
                }),
                "wrong-zipcode" => rows.iter_mut().for_each(|r| r.zipcode = Some("10001".into())),
                "stale" => rows
                    .iter_mut()
                    .for_each(|r| r.scraped_timestamp_ms = Some(start_ms - 3 * 86_400_000)),
                _ => {}
            }
            let input = SubmissionInput {
                hotkey: hotkey(key),
                zipcode: z,
                submitted_at_ms: start_ms + 120_000 + offset,
                bytes: Bytes::from(encode_listings(&rows).unwrap()),
                manifest: ManifestEntry::Missing,
            };
            engine.insert(examine(&ctx, input)).unwrap();
        }
    }
    let results = engine.finish(&SourceVerifier::new(api.clone(), &config)).await;
    for outcome in &results.zipcodes {
        for (name, key, failed_tier) in variants {
            let record = outcome.submissions.iter().find(|s| s.hotkey == hotkey(key)).unwrap();
            match failed_tier {
                None => assert!(
                    matches!(record.status, Status::Winner | Status::Participant),
                    "{} {name}: {:?} {}",
                    outcome.zipcode,
                    record.status,
                    record.reason
                ),
                Some(tier) => {
                    assert_eq!(
                        record.status,
                        Status::Failed,
                        "{} {name}: {}",
                        outcome.zipcode,
                        record.reason
                    );
                    assert_eq!(
                        record.failed_tier,
                        Some(tier),
                        "{} {name}: {}",
                        outcome.zipcode,
                        record.reason
                    );
                    // The reason names a listing.
                    assert!(record.reason.contains("zpid"), "{name}: {}", record.reason);
                }
            }
        }
    }
    // Every honest submission was checked against the source, not waved through.
    for outcome in &results.zipcodes {
        let honest = outcome.submissions.iter().find(|s| s.hotkey == hotkey(1)).unwrap();
        let spot = honest.spot_check.as_ref().expect("spot-checked");
        assert!(spot.determined >= config.spot_check_min_determined, "{}", honest.reason);
    }
}
