//! A client for the coordinator's API, signing every request with a hotkey:
//! what miners and validators use.

use std::sync::Arc;

use resi_auth::{commitment, Keypair};
use resi_core::{Assignment, EpochId, Hotkey};
use resi_storage::PostForm;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

/// A refused or failed call: which endpoint, the HTTP status if any, and the server's message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
pub struct ClientError {
    pub endpoint: &'static str,
    pub status: Option<u16>,
    pub message: String,
}

/// Upload access (a POST policy) for a folder.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadAccess {
    pub epoch_id: EpochId,
    pub folder: String,
    pub upload: PostForm,
    /// A presigned ListObjectsV2 URL for `folder` (one page of up to 1,000
    /// keys), valid until the epoch's deadline: what a miner reads after a
    /// restart to find uploads it made but did not record.
    #[serde(default)]
    pub list_url: Option<Url>,
}

/// One object a validator may read.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadObject {
    pub key: String,
    pub url: Url,
    pub size: u64,
    pub etag: String,
    /// Unix milliseconds: the submission time.
    pub last_modified: i64,
}

/// One page of validator read access.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadPage {
    pub epoch_id: EpochId,
    pub objects: Vec<ReadObject>,
    pub next_continuation_token: Option<String>,
}

/// Signs and sends requests as one hotkey.
#[derive(Clone)]
pub struct CoordinatorClient {
    base: Url,
    http: reqwest::Client,
    key: Arc<Keypair>,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl CoordinatorClient {
    pub fn new(base: Url, key: Arc<Keypair>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError {
                endpoint: "client",
                status: None,
                message: e.to_string(),
            })?;
        Ok(Self { base, http, key })
    }

    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    fn url(&self, endpoint: &'static str, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError {
            endpoint,
            status: None,
            message: e.to_string(),
        })
    }

    fn signed(&self, message: &str, ts: i64) -> Value {
        json!({"hotkey": self.key.hotkey().to_string(), "timestamp": ts, "signature": self.key.sign(message.as_bytes()).to_hex()})
    }

    async fn read<T: DeserializeOwned>(
        endpoint: &'static str,
        r: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let r = r.map_err(|e| ClientError {
            endpoint,
            status: None,
            message: e.to_string(),
        })?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| ClientError {
            endpoint,
            status: Some(status.as_u16()),
            message: e.to_string(),
        })?;
        if !status.is_success() {
            let message = body["message"]
                .as_array()
                .and_then(|m| m.first())
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_owned();
            return Err(ClientError {
                endpoint,
                status: Some(status.as_u16()),
                message,
            });
        }
        serde_json::from_value(body).map_err(|e| ClientError {
            endpoint,
            status: Some(status.as_u16()),
            message: format!("unexpected answer: {e}"),
        })
    }

    async fn get_signed<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        message: &str,
        ts: i64,
    ) -> Result<T, ClientError> {
        let url = self.url(endpoint, path)?;
        let signed = self.signed(message, ts);
        let query = [
            ("hotkey", signed["hotkey"].as_str().unwrap_or_default().to_owned()),
            ("timestamp", ts.to_string()),
            ("signature", signed["signature"].as_str().unwrap_or_default().to_owned()),
        ];
        Self::read(endpoint, self.http.get(url).query(&query).send().await).await
    }

    async fn post_signed<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        message: &str,
        ts: i64,
        extra: Value,
    ) -> Result<T, ClientError> {
        let url = self.url(endpoint, path)?;
        let mut body = self.signed(message, ts);
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        Self::read(endpoint, self.http.post(url).json(&body).send().await).await
    }

    /// The current epoch's assignment.
    pub async fn current_assignment(&self) -> Result<Assignment, ClientError> {
        let ts = now();
        self.get_signed(
            "current assignment",
            "api/v1/zipcode-assignments/current",
            &commitment::current_assignment(ts),
            ts,
        )
        .await
    }

    /// An epoch's assignment (validators); has the validation seed after the deadline.
    pub async fn epoch(&self, epoch: &EpochId) -> Result<Assignment, ClientError> {
        let ts = now();
        let path = format!("api/v1/zipcode-assignments/epoch/{epoch}");
        self.get_signed("epoch assignment", &path, &commitment::epoch_assignment(epoch, ts), ts)
            .await
    }

    /// Reports a miner's progress for an epoch.
    pub async fn report_status(&self, epoch: &EpochId, report: Value) -> Result<(), ClientError> {
        let ts = now();
        let mut extra = match report {
            Value::Object(map) => map,
            other => {
                return Err(ClientError {
                    endpoint: "status",
                    status: None,
                    message: format!("a status report is a JSON object, not {other}"),
                })
            }
        };
        let body_hash = commitment::status_body_sha256(&extra);
        extra.insert("epochId".into(), json!(epoch));
        let extra = Value::Object(extra);
        let message = commitment::miner_status(&self.key.hotkey(), epoch, ts, &body_hash);
        let _: Value = self
            .post_signed("status", "api/v1/zipcode-assignments/status", &message, ts, extra)
            .await?;
        Ok(())
    }

    /// A miner's upload policy for the current epoch.
    pub async fn upload_access(&self, coldkey: &Hotkey) -> Result<UploadAccess, ClientError> {
        let ts = now();
        let message = commitment::miner_upload_access(coldkey, &self.key.hotkey(), ts);
        self.post_signed(
            "folder access",
            "get-folder-access",
            &message,
            ts,
            json!({"coldkey": coldkey}),
        )
        .await
    }

    /// One page of an epoch's objects (`kind`: `data` or `validators`).
    pub async fn validator_read(
        &self,
        epoch: &EpochId,
        kind: &str,
        token: Option<&str>,
    ) -> Result<ReadPage, ClientError> {
        let ts = now();
        let extra = json!({"epochId": epoch, "kind": kind, "continuationToken": token});
        self.post_signed(
            "validator read",
            "api/v1/s3-access/validator-read",
            &commitment::validator_read_access(epoch, ts),
            ts,
            extra,
        )
        .await
    }

    /// A validator's upload policy for its results of `epoch`.
    pub async fn validator_upload(&self, epoch: &EpochId) -> Result<UploadAccess, ClientError> {
        let ts = now();
        let extra = json!({"epochId": epoch});
        self.post_signed(
            "validator upload",
            "api/v1/s3-access/validator-upload",
            &commitment::validator_upload_access(epoch, ts),
            ts,
            extra,
        )
        .await
    }
}
