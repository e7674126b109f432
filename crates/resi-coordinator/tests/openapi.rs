//! The OpenAPI document the coordinator serves is the one checked in at
//! `docs/openapi.json`. After changing a wire type, regenerate it with
//! `RESI_BLESS=1 cargo test -p resi-coordinator --test openapi`.

mod common;

use common::harness::*;

#[tokio::test]
async fn served_document_is_the_checked_in_one() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(&format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display())).await;
    let response = h.http.get(format!("{}/openapi.json", h.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"].to_str().unwrap(), "application/json");
    let served = response.text().await.unwrap();
    let document: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    assert_eq!(served, resi_api::openapi::document_json(), "served = generated");

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var("RESI_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == served,
        "docs/openapi.json is stale: run RESI_BLESS=1 cargo test -p resi-coordinator --test openapi"
    );
}
