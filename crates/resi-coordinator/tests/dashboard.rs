//! The dashboard's page and data from a real coordinator on port 0.

mod common;

use resi_api::dashboard::DashboardResponse;
use resi_auth::commitment;

#[tokio::test]
async fn the_page_and_its_data_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let h = common::harness::start(&url).await;

    let page = h.http.get(format!("{}/", h.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"countdown\"") && html.contains("/api/v1/dashboard"));

    let r = h.http.get(format!("{}/api/v1/dashboard", h.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "60");
    let data: DashboardResponse = r.json().await.unwrap();
    assert!(data.epoch.start <= data.now && data.now < data.epoch.deadline);
    assert!(!data.epoch.zipcodes.is_empty());
    assert_eq!(
        data.epoch.expected_listings,
        data.epoch.zipcodes.iter().map(|z| z.expected_listings).sum::<u64>()
    );
    assert!(data.miners.is_empty() && data.recent.is_empty());
    assert_eq!(data.weights_source, "ledger");

    // A miner's report shows up in the current epoch's progress.
    let ts = h.now();
    let report = serde_json::json!({
        "zipcodesAssigned": 3, "zipcodesUploaded": 2, "listingsUploaded": 420, "status": "IN_PROGRESS",
    });
    let hash = commitment::status_body_sha256(report.as_object().unwrap());
    let mut body = report.clone();
    body["epochId"] = serde_json::json!(data.epoch.id);
    let signed_body = h.body(
        &h.miner,
        &commitment::miner_status(&h.miner.hotkey(), &data.epoch.id, ts, &hash),
        ts,
        body,
    );
    let (status, answer) = h.post("/api/v1/zipcode-assignments/status", signed_body).await;
    assert_eq!(status, 200, "{answer}");
    let data: DashboardResponse = h
        .http
        .get(format!("{}/api/v1/dashboard", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let miner = &data.miners[0];
    assert_eq!(miner.hotkey, h.miner.hotkey().to_string());
    assert_eq!(miner.status.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(
        (miner.zipcodes_uploaded, miner.zipcodes_assigned, miner.listings),
        (2, Some(3), Some(420))
    );
}
