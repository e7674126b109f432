//! The market over HTTP, and tier 3 against it.

use std::sync::Arc;
use std::time::Duration;

use resi_core::verify::{Lookup, PropertySource, SourceVerifier};
use resi_core::{EpochLength, ListingVerifier, ValidationConfig, Verdict};
use resi_sim::http::{router, SimState};
use resi_sim::Market;
use resi_sources::HttpPropertySource;
use serde_json::Value;

const NOW: i64 = 1_759_334_400 + 100;

async fn serve(market: Market) -> url::Url {
    let state = Arc::new(SimState {
        market,
        length: EpochLength::PRODUCTION,
        clock: resi_runtime::ManualClock::at_unix(NOW),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    format!("http://{addr}/").parse().unwrap()
}

#[tokio::test]
async fn search_lookup_and_export() {
    let market = Market::sample(7, 5);
    let (zipcode, info) = market.zipcodes().iter().next().map(|(z, m)| (*z, *m)).unwrap();
    let base = serve(market.clone()).await;
    let http = reqwest::Client::new();

    let page: Value = http
        .get(
            base.join(&format!("api/v1/zipcodes/{zipcode}/listings?page=1&pageSize=50"))
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], info.listings);
    assert_eq!(page["listings"].as_array().unwrap().len(), 50);
    let first = &page["listings"][0];
    assert_eq!(first["zpid"], market.property(zipcode, 50, NOW * 1000).unwrap().zpid);
    let bad = http
        .get(base.join("api/v1/zipcodes/00000/listings").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let too_big = http
        .get(
            base.join(&format!("api/v1/zipcodes/{zipcode}/listings?pageSize=501"))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 400);

    // The CSV export is what the coordinator imports.
    let csv = http
        .get(base.join("api/v1/zipcodes.csv").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = resi_coordinator::universe::parse_csv(&csv);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.zipcodes.len(), 5);
    assert_eq!(parsed.zipcodes[&zipcode].expected_listings, info.listings);

    // Tier 3 over HTTP: a real listing verifies, an invented one is not found.
    let source = HttpPropertySource::new(base.clone(), 3, Duration::from_millis(5)).unwrap();
    let property = market.property(zipcode, 3, NOW * 1000).unwrap();
    let verifier = SourceVerifier::new(source.clone(), &ValidationConfig::default());
    assert_eq!(verifier.verify(&property.listing(NOW * 1000)).await, Verdict::Verified);
    // The record carries the listing's history: its claim holds as of its scrape.
    let claim = resi_core::verify::Claim {
        zpid: property.zpid.clone(),
        zipcode: zipcode.to_string(),
        price: property.price,
        scraped_ms: NOW * 1000,
    };
    assert_eq!(verifier.verify_claim(&claim).await, Verdict::Verified);
    let mut fake = property.listing(NOW * 1000);
    fake.zpid = Market::zpid(zipcode, 99_999);
    assert_eq!(verifier.verify(&fake).await, Verdict::NotFound);
    let mut inflated = property.listing(NOW * 1000);
    inflated.price = inflated.price.map(|p| p * 2);
    assert!(matches!(verifier.verify(&inflated).await, Verdict::Mismatch(m) if m.contains("price")));
}

#[tokio::test]
async fn an_unreachable_source_is_unavailable_not_a_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let source =
        HttpPropertySource::new(format!("http://{addr}/").parse().unwrap(), 2, Duration::from_millis(5)).unwrap();
    match source.lookup("123").await {
        Lookup::Unavailable(why) => assert!(why.contains("attempt 2"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// A typo in the property source's URL makes every lookup a 404 from the
/// server's fallback: that is the source failing, not every listing missing.
#[tokio::test]
async fn a_wrong_url_is_unavailable_and_only_a_real_not_found_is_not_found() {
    let base = serve(Market::sample(7, 5)).await;
    let right = HttpPropertySource::new(base.clone(), 1, Duration::from_millis(5)).unwrap();
    assert_eq!(right.lookup("999999999").await, Lookup::NotFound);
    let wrong = HttpPropertySource::new(base.join("typo/").unwrap(), 2, Duration::from_millis(5)).unwrap();
    match wrong.lookup("999999999").await {
        Lookup::Unavailable(why) => assert!(why.contains("not a not-found answer"), "{why}"),
        other => panic!("a wrong URL must not say not-found: {other:?}"),
    }
}
