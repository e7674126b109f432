//! The dashboard's page and data from a real coordinator on port 0.

mod common;

use resi_api::dashboard::DashboardResponse;
use resi_auth::commitment;

/// `GET /api/v1/dashboard`, parsed.
async fn dashboard(h: &common::harness::Harness) -> DashboardResponse {
    h.http
        .get(format!("{}/api/v1/dashboard", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

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
    // Before the deadline the assignment is for registered hotkeys only:
    // the public sees how many zipcodes, not which.
    assert!(data.epoch.zipcode_count > 0 && data.epoch.expected_listings > 0);
    assert!(
        data.epoch.zipcodes.is_empty(),
        "the current epoch's zipcodes are public before its deadline"
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
    let data = dashboard(&h).await;
    let miner = &data.miners[0];
    assert_eq!(miner.hotkey, h.miner.hotkey().to_string());
    assert_eq!(miner.status.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(
        (miner.zipcodes_uploaded, miner.zipcodes_assigned, miner.listings),
        (2, Some(3), Some(420))
    );
}

/// A coordinator on a fresh SQLite file, at the start of an epoch (a whole
/// epoch ahead, so uploads land before its deadline), with its validator's
/// signed client, the epoch and a results-upload grant for it.
async fn at_an_epoch_start() -> (
    common::harness::Harness,
    tempfile::TempDir,
    resi_api::CoordinatorClient,
    resi_core::EpochId,
    resi_api::UploadAccessResponse,
) {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
    let h = common::harness::start(&url).await;
    let epoch_secs = common::harness::EPOCH_SECS as i64;
    common::harness::sleep_until((common::harness::wall() / epoch_secs + 1) * epoch_secs).await;
    let validator = resi_api::CoordinatorClient::new(
        format!("{}/", h.base).parse().unwrap(),
        Arc::new(resi_auth::Keypair::from_seed(h.validator.seed().unwrap()).unwrap()),
        resi_runtime::SystemClock::shared(),
    )
    .unwrap();
    let epoch = validator.current_assignment().await.unwrap().epoch_id;
    let access = validator.validator_upload(&epoch).await.unwrap();
    (h, dir, validator, epoch, access)
}

/// A results file in the bucket that is not one (a broken or hostile
/// validator) is shown as missing with why; nothing else of the page breaks.
#[tokio::test]
async fn a_results_file_that_is_not_one_is_named_not_shown() {
    let (h, _dir, _validator, epoch, access) = at_an_epoch_start().await;
    let epoch_secs = common::harness::EPOCH_SECS as i64;
    let key = resi_storage::ObjectKey::Results {
        validator: h.validator.hotkey(),
        epoch,
    }
    .as_key();
    h.s3.post_form(&access.upload, &key, bytes::Bytes::from_static(b"{not json"))
        .await
        .unwrap();
    common::harness::sleep_until(epoch.start_unix() + epoch_secs).await;
    let data = dashboard(&h).await;
    let finished = data
        .recent
        .iter()
        .find(|e| e.epoch == epoch)
        .expect("the finished epoch");
    assert!(finished.published.is_empty() && finished.consensus.is_none() && finished.leaderboard.is_empty());
    assert_eq!(finished.missing.len(), 1);
    assert_eq!(finished.missing[0].validator, h.validator.hotkey().to_string());
    assert!(
        finished.missing[0].reason.starts_with("not a results file"),
        "{:?}",
        finished.missing
    );
}

/// A validator's dataset manifest is shown only when it is that validator's
/// own, signed: one signed by another key under its name is left out, and
/// its real one is shown with the figures of `resi dataset stats`.
#[tokio::test]
async fn a_dataset_manifest_is_shown_only_when_the_validator_signed_it() {
    let (h, _dir, validator, epoch, access) = at_an_epoch_start().await;
    let epoch_secs = common::harness::EPOCH_SECS as i64;
    let key = resi_auth::Keypair::from_seed(h.validator.seed().unwrap()).unwrap();
    let mut results = resi_core::ValidationResults {
        version: 6,
        epoch_id: epoch,
        nonce: String::new(),
        validation_seed: String::new(),
        validator: None,
        config: resi_core::ValidationConfig::default(),
        zipcodes: vec![],
        unassigned: vec![],
        miner_scores: vec![],
        zipcode_weights: vec![],
        totals: resi_core::results::Totals::default(),
        property_source: Default::default(),
        consensus_hash: String::new(),
    };
    results.consensus_hash = results.recompute_consensus_hash();
    let signed = resi_auth::results::sign(&key, results);
    let results_key = resi_storage::ObjectKey::Results {
        validator: h.validator.hotkey(),
        epoch,
    }
    .as_key();
    h.s3.post_form(&access.upload, &results_key, bytes::Bytes::from(signed.to_json()))
        .await
        .unwrap();
    let manifest = resi_dataset::DatasetManifest {
        epoch_id: epoch,
        results_version: 6,
        consensus_hash: signed.results.consensus_hash.clone(),
        partitions: vec![resi_dataset::Partition {
            zipcode: resi_core::Zipcode::parse("78704").unwrap(),
            key: resi_dataset::partition_key(&epoch, &resi_core::Zipcode::parse("78704").unwrap()),
            rows: 412,
            sha256: String::new(),
            changes: Some(resi_dataset::Changes {
                new: 12,
                removed: 9,
                price_changed: 4,
            }),
        }],
        rows: 412,
        publisher: h.validator.hotkey(),
        signature: String::new(),
    };
    let dataset_key = resi_storage::ObjectKey::Dataset {
        validator: h.validator.hotkey(),
        epoch,
    }
    .as_key();
    // Signed by the miner's key, naming the validator as its publisher.
    let mut forged = manifest.clone().sign(&h.miner);
    forged.publisher = h.validator.hotkey();
    h.s3.post_form(&access.upload, &dataset_key, bytes::Bytes::from(forged.to_json()))
        .await
        .unwrap();
    common::harness::sleep_until(epoch.start_unix() + epoch_secs).await;
    let data = dashboard(&h).await;
    let finished = data
        .recent
        .iter()
        .find(|e| e.epoch == epoch)
        .expect("the finished epoch");
    assert_eq!(finished.published.len(), 1, "{:?}", finished.missing);
    assert!(
        finished.datasets.is_empty(),
        "a forged manifest is not shown: {:?}",
        finished.datasets
    );

    // The real one, after the 30 s the coordinator waits before asking again.
    let access = validator.validator_upload(&epoch).await.unwrap();
    h.s3.post_form(
        &access.upload,
        &dataset_key,
        bytes::Bytes::from(manifest.sign(&key).to_json()),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(31)).await;
    let data = dashboard(&h).await;
    let finished = data
        .recent
        .iter()
        .find(|e| e.epoch == epoch)
        .expect("the finished epoch");
    assert_eq!(
        finished.datasets,
        vec![resi_api::dashboard::DatasetSummary {
            publisher: h.validator.hotkey().to_string(),
            consensus_hash: signed.results.consensus_hash.clone(),
            zipcodes: 1,
            listings: 412,
            new: 12,
            removed: 9,
            price_changed: 4,
        }]
    );
}
