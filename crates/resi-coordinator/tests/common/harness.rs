//! The coordinator on port 0 with the embedded S3 server and a local
//! metagraph (a miner, its coldkey, a validator, and a stranger who is not
//! registered), for the API tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use resi_auth::Keypair;
use resi_chain::local::register;
use resi_chain::LocalChain;
use resi_coordinator::config::CoordinatorConfig;
use resi_coordinator::selection::SelectionParams;
use resi_coordinator::store::Store;
use resi_coordinator::universe::UniverseZipcode;
use resi_coordinator::{App, Deps};
use resi_core::{MarketTier, Zipcode};
use resi_runtime::{Shutdown, SystemClock};
use resi_s3_server::{EmbeddedS3, EmbeddedS3Options};
use resi_storage::{RetryPolicy, S3Client};
use serde_json::{json, Value};

pub const T0: i64 = 1_759_334_400;
/// Short epochs on the real clock: presigned URLs and policies are checked by
/// the S3 server against real time, so the coordinator's clock must be real too.
pub const EPOCH_SECS: u64 = 6;

pub fn wall() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Sleeps until `unix` plus a margin.
pub async fn sleep_until(unix: i64) {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let wait = (unix * 1000 + 300 - now_ms).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

pub struct Harness {
    pub base: String,
    pub miner: Keypair,
    pub miner_cold: Keypair,
    pub validator: Keypair,
    pub stranger: Keypair,
    pub http: reqwest::Client,
    pub s3: S3Client,
    /// What it was started with, for a second replica on the same database.
    pub config: CoordinatorConfig,
    pub metagraph: std::path::PathBuf,
    pub _s3_server: EmbeddedS3,
    pub _dir: tempfile::TempDir,
}

pub async fn start(db_url: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let s3_server = EmbeddedS3::start(EmbeddedS3Options::local(dir.path().join("s3"), "resi"))
        .await
        .unwrap();
    let store = Store::connect(db_url).await.unwrap();
    let universe = Zipcode::all()
        .step_by(97)
        .take(200)
        .enumerate()
        .map(|(i, z)| {
            let info = z.info();
            (
                z,
                UniverseZipcode {
                    zipcode: z,
                    state: info.state.to_owned(),
                    city: info.city.to_owned(),
                    county: info.county.to_owned(),
                    expected_listings: 150 + (i as u64 * 7_919) % 500,
                    market_tier: MarketTier::Standard,
                    geographic_region: "test".into(),
                },
            )
        })
        .collect();
    store.import_universe(&universe, T0).await.unwrap();
    let metagraph_path = dir.path().join("metagraph.json");
    let (miner, miner_cold, validator, stranger) = (
        Keypair::generate().unwrap(),
        Keypair::generate().unwrap(),
        Keypair::generate().unwrap(),
        Keypair::generate().unwrap(),
    );
    register(&metagraph_path, miner.hotkey(), miner_cold.hotkey(), 0, false).unwrap();
    register(
        &metagraph_path,
        validator.hotkey(),
        miner_cold.hotkey(),
        resi_chain::tokens_to_units(resi_chain::DEFAULT_VALIDATOR_MIN_STAKE),
        true,
    )
    .unwrap();
    let config = CoordinatorConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_owned(),
        epoch_seconds: EPOCH_SECS,
        secret: Some("api test secret, long enough".into()),
        max_upload_bytes: 10_000,
        read_url_ttl_secs: 600,
        selection: SelectionParams {
            target_listings: 2_000,
            ..Default::default()
        },
        s3: Some(s3_server.s3_config()),
        ..CoordinatorConfig::default()
    };
    let deps = Deps {
        clock: SystemClock::shared(),
        chain: Arc::new(LocalChain::open(&metagraph_path).unwrap()),
    };
    let app = App::build_with_store(&config, deps, store).await.unwrap();
    let addr = app.addr();
    tokio::spawn(app.run(Shutdown::new()));
    Harness {
        base: format!("http://{addr}"),
        miner,
        miner_cold,
        validator,
        stranger,
        http: reqwest::Client::new(),
        s3: S3Client::new(RetryPolicy::default()).unwrap(),
        config,
        metagraph: metagraph_path,
        _s3_server: s3_server,
        _dir: dir,
    }
}

impl Harness {
    /// Another coordinator on the same database, metagraph and bucket (a
    /// replica behind a load balancer); returns its base URL.
    pub async fn replica(&self) -> String {
        let deps = Deps {
            clock: SystemClock::shared(),
            chain: Arc::new(LocalChain::open(&self.metagraph).unwrap()),
        };
        let app = App::build(&self.config, deps).await.unwrap();
        let addr = app.addr();
        tokio::spawn(app.run(Shutdown::new()));
        format!("http://{addr}")
    }

    pub fn now(&self) -> i64 {
        wall()
    }
    pub fn signed(&self, key: &Keypair, message: &str, ts: i64) -> Vec<(&'static str, String)> {
        vec![
            ("hotkey", key.hotkey().to_string()),
            ("timestamp", ts.to_string()),
            ("signature", key.sign(message.as_bytes()).to_hex()),
        ]
    }
    pub async fn get(&self, path: &str, query: &[(&'static str, String)]) -> (u16, reqwest::header::HeaderMap, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    pub fn body(&self, key: &Keypair, message: &str, ts: i64, extra: Value) -> Value {
        let mut body = json!({"hotkey": key.hotkey().to_string(), "timestamp": ts, "signature": key.sign(message.as_bytes()).to_hex()});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    }
}

pub fn error_shape(body: &Value, status: u16) {
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["message"].as_array().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"].is_string(), "{body}");
}
