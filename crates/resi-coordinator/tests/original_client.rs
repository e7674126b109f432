//! Every endpoint driven the way the original SN46 Python client drives
//! the API: plain HTTP and JSON, the original commitment strings, and
//! `response['field']` access on what comes back (a missing field is a
//! `KeyError` there, a failed assertion here). On SQLite and PostgreSQL.

mod common;

use common::harness::*;
use resi_auth::Keypair;
use serde_json::{json, Value};

/// `response['a']['b']…`: the field must exist (not null), as Python's dict access requires.
fn field<'a>(body: &'a Value, path: &[&str]) -> &'a Value {
    let mut at = body;
    for key in path {
        at = at
            .get(key)
            .unwrap_or_else(|| panic!("KeyError: {key:?} (path {path:?}) in {body}"));
    }
    at
}

fn signed_body(key: &Keypair, message: &str, ts: i64, extra: Value) -> Value {
    let mut body = json!({
        "hotkey": key.hotkey().to_string(),
        "timestamp": ts,
        "signature": key.sign(message.as_bytes()).to_hex(),
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

async fn original_client(db_url: &str) {
    let h = start(db_url).await;
    sleep_until((wall() / EPOCH_SECS as i64 + 1) * EPOCH_SECS as i64).await;

    // health = requests.get(f"{API}/healthcheck").json(); health['status'] == 'ok'
    let (s, _, health) = h.get("/healthcheck", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(field(&health, &["status"]), "ok");
    assert!(field(&health, &["version"]).is_string());

    // get_current_zipcodes(): signed query, then the original's fields.
    let now = h.now();
    let query = h.signed(&h.miner, &format!("zipcode:assignment:current:{now}"), now);
    let (s, _, a) = h.get("/api/v1/zipcode-assignments/current", &query).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(field(&a, &["success"]), true);
    for key in [
        "epochId",
        "epochStart",
        "epochEnd",
        "nonce",
        "targetListings",
        "tolerancePercent",
        "submissionDeadline",
        "zipcodes",
    ] {
        field(&a, &[key]);
    }
    let epoch_id = field(&a, &["epochId"]).as_str().unwrap().to_owned();
    let nonce = field(&a, &["nonce"]).as_str().unwrap().to_owned();
    let zipcode = &field(&a, &["zipcodes"])[0];
    for key in [
        "zipcode",
        "expectedListings",
        "state",
        "city",
        "county",
        "marketTier",
        "geographicRegion",
    ] {
        field(zipcode, &[key]);
    }
    let first_zipcode = field(zipcode, &["zipcode"]).as_str().unwrap().to_owned();
    field(&a, &["metadata", "totalExpectedListings"]);
    field(&a, &["metadata", "zipcodeCount"]);

    // get_s3_credentials(): POST /get-folder-access, then s3_creds['uploadUrl'] and ['fields'].
    let now = h.now();
    let cold = h.miner_cold.hotkey();
    let hot = h.miner.hotkey();
    let creds_body = signed_body(
        &h.miner,
        &format!("s3:data:access:{cold}:{hot}:{now}"),
        now,
        json!({"coldkey": cold.to_string(), "expiry": now + 86_400}),
    );
    let (s, creds) = h.post("/get-folder-access", creds_body).await;
    assert_eq!(s, 200, "{creds}");
    assert_eq!(field(&creds, &["success"]), true);
    let upload_url = field(&creds, &["uploadUrl"]).as_str().unwrap().to_owned();
    assert_eq!(field(&creds, &["url"]), &json!(upload_url));
    let fields = field(&creds, &["fields"]).as_object().unwrap().clone();
    let folder = field(&creds, &["folder"]).as_str().unwrap().to_owned();
    assert_eq!(field(&creds, &["metadata", "folderPath"]), &json!(folder));
    assert!(field(&creds, &["metadata", "expiresAt"]).is_string());
    assert!(field(&creds, &["metadata", "maxFileSize"]).as_u64().unwrap() > 0);

    // upload_file_to_s3(data, s3_creds['uploadUrl'], s3_creds['fields'], path):
    // requests.post(url, data={**fields, 'key': folder + path}, files={'file': data})
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &fields {
        form = form.text(name.clone(), value.as_str().unwrap().to_owned());
    }
    let key = format!("{folder}zipcode={first_zipcode}/listings.parquet");
    form = form
        .text("key", key.clone())
        .part("file", reqwest::multipart::Part::bytes(b"PAR1 not really".to_vec()));
    let uploaded = h.http.post(&upload_url).multipart(form).send().await.unwrap();
    assert!(uploaded.status().is_success(), "upload: {}", uploaded.status());

    // update_miner_status(...): the original commitment (no body hash) and fields.
    let now = h.now();
    let status_body = |status: &str, nonce: &str, ts: i64| {
        signed_body(
            &h.miner,
            &format!("miner:status:{hot}:{epoch_id}:{ts}"),
            ts,
            json!({
                "epochId": epoch_id,
                "nonce": nonce,
                "status": status,
                "listingsScraped": 245,
                "zipcodesCompleted": [
                    {"zipcode": first_zipcode, "listingsScraped": 245, "completedAt": "2025-10-01T17:30:00.000Z"}
                ],
                "s3UploadComplete": true,
                "s3UploadTimestamp": "2025-10-01T17:45:00.000Z",
            }),
        )
    };
    let (s, r) = h
        .post(
            "/api/v1/zipcode-assignments/status",
            status_body("COMPLETED", &nonce, now),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(field(&r, &["success"]), true);
    assert!(field(&r, &["message"]).is_string());
    assert_eq!(field(&r, &["epochId"]), &json!(epoch_id));
    assert_eq!(field(&r, &["status"]), "COMPLETED");
    assert!(field(&r, &["timestamp"]).is_string());
    // The fields are checked: an unknown status or another epoch's nonce is a 400 with a reason.
    let (s, r) = h
        .post(
            "/api/v1/zipcode-assignments/status",
            status_body("DONE", &nonce, now + 1),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    error_shape(&r, 400);
    let (s, r) = h
        .post(
            "/api/v1/zipcode-assignments/status",
            status_body("IN_PROGRESS", "0000000000000000", now + 2),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    assert!(r["message"][0].as_str().unwrap().contains("nonce"), "{r}");

    // get_system_statistics(): stats['epochStatus']['currentEpoch'] and friends.
    let (s, _, stats) = h.get("/api/v1/zipcode-assignments/stats", &[]).await;
    assert_eq!(s, 200, "{stats}");
    assert_eq!(field(&stats, &["success"]), true);
    field(&stats, &["currentTime"]);
    field(&stats, &["systemStatus"]);
    let current = field(&stats, &["epochStatus", "currentEpoch"]);
    for key in [
        "id",
        "status",
        "startTime",
        "endTime",
        "nonce",
        "zipcodeCount",
        "targetListings",
        "actualExpected",
    ] {
        field(current, &[key]);
    }
    assert_eq!(field(current, &["id"]), &json!(epoch_id));
    for key in ["timeUntilEpochEnd", "timeUntilNextEpoch", "epochDurationHours"] {
        field(&stats, &["epochStatus", "timing", key]);
    }
    field(&stats, &["epochStatus", "nextEpoch", "startTime"]);

    // After the deadline: the validator's calls.
    sleep_until(epoch_end(&a)).await;
    let now = h.now();
    let query = h.signed(&h.validator, &format!("zipcode:assignment:epoch:{epoch_id}:{now}"), now);
    let (s, _, e) = h
        .get(&format!("/api/v1/zipcode-assignments/epoch/{epoch_id}"), &query)
        .await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(field(&e, &["success"]), true);
    assert!(field(&e, &["validationSeed"]).is_string());

    let now = h.now();
    let read = signed_body(
        &h.validator,
        &format!("s3:validator:read:{epoch_id}:{now}"),
        now,
        json!({"epochId": epoch_id}),
    );
    let (s, page) = h.post("/api/v1/s3-access/validator-read", read).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(field(&page, &["success"]), true);
    assert_eq!(field(&page, &["objects"])[0]["key"], json!(key));

    // get_validator_s3_credentials(epoch_id): the original commitment (no epoch in it).
    let now = h.now();
    let upload = signed_body(
        &h.validator,
        &format!("s3:validator:upload:{now}"),
        now,
        json!({
            "epochId": epoch_id,
            "purpose": "epoch_validation_results",
            "estimatedDataSizeMb": 25,
            "retentionDays": 90,
        }),
    );
    let (s, v) = h.post("/api/v1/s3-access/validator-upload", upload).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(field(&v, &["success"]), true);
    assert!(field(&v, &["uploadUrl"]).is_string());
    assert!(field(&v, &["fields"]).is_object());
    assert!(field(&v, &["folder"]).as_str().unwrap().starts_with("validators/"));
    field(&v, &["metadata", "maxFileSize"]);
}

fn epoch_end(assignment: &Value) -> i64 {
    let text = assignment["epochEnd"].as_str().unwrap();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

#[tokio::test]
async fn the_original_client_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    original_client(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await;
}

#[tokio::test]
async fn the_original_client_works_on_postgres() {
    common::with_postgres("original", |url| async move { original_client(&url).await }).await;
}
