//! The signing client miners and validators use: every request is signed
//! with the caller's hotkey over its endpoint's commitment string, built
//! from the same types the coordinator reads.

use std::sync::Arc;
use std::time::Duration;

use resi_auth::{commitment, Keypair};
use resi_core::{Assignment, EpochId, Hotkey};
use resi_runtime::SharedClock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::endpoint::{routes, Endpoint, Signing};
use crate::types::*;

/// A refused or failed call: which endpoint, the HTTP status if any, and
/// the server's message, or for a call that never got an answer the host
/// and the cause (never the signed URL).
#[derive(Debug, thiserror::Error)]
#[error("{endpoint}: {}{message}", status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
pub struct ClientError {
    pub endpoint: &'static str,
    pub status: Option<u16>,
    pub message: String,
    /// The transport failure the message describes (not a `source`: the
    /// message already says it, and reqwest's own text is the whole URL).
    pub transport: Option<reqwest::Error>,
}

impl ClientError {
    fn new(endpoint: Endpoint, status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.name(),
            status,
            message: message.into(),
            transport: None,
        }
    }

    fn http(endpoint: Endpoint, status: Option<u16>, source: reqwest::Error) -> Self {
        Self {
            endpoint: endpoint.name(),
            status,
            message: resi_storage::transport::describe(&source),
            transport: Some(source),
        }
    }
}

/// Signs and sends requests as one hotkey.
#[derive(Clone)]
pub struct CoordinatorClient {
    base: Url,
    http: reqwest::Client,
    key: Arc<Keypair>,
    clock: SharedClock,
    /// "the coordinator at HOST:PORT", for a request that takes long.
    waiting_for: String,
}

impl CoordinatorClient {
    pub fn new(base: Url, key: Arc<Keypair>, clock: SharedClock) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ClientError::http(Endpoint::Healthcheck, None, e))?;
        let host = base.host_str().unwrap_or("?");
        let waiting_for = match base.port_or_known_default() {
            Some(port) => format!("the coordinator at {host}:{port}"),
            None => format!("the coordinator at {host}"),
        };
        Ok(Self {
            base,
            http,
            key,
            clock,
            waiting_for,
        })
    }

    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    fn url(&self, endpoint: Endpoint, path: &str) -> Result<Url, ClientError> {
        // Routes are absolute; the base may carry a path prefix of its own.
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::new(endpoint, None, e.to_string()))
    }

    /// A request that takes long (the client's timeout is 30 s) is said to
    /// be waiting on the coordinator within two seconds, not silent.
    async fn announced<F: std::future::Future>(&self, sent: F) -> F::Output {
        resi_runtime::waiting::announced(&self.waiting_for, Duration::from_secs(10), sent).await
    }

    /// The signed fields for `signing`, timestamped now.
    fn sign(&self, signing: &Signing<'_>) -> SignedFields {
        let timestamp = self.clock.now_unix();
        let hotkey = self.key.hotkey();
        let message = signing.commitment(&hotkey, timestamp);
        SignedFields {
            hotkey: Some(hotkey.to_string()),
            timestamp: Some(timestamp.into()),
            signature: Some(self.key.sign(message.as_bytes()).to_hex()),
        }
    }

    async fn read<T: DeserializeOwned>(
        endpoint: Endpoint,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let response = sent.map_err(|e| ClientError::http(endpoint, None, e))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::http(endpoint, Some(status), e))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.first_message().to_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned());
            return Err(ClientError::new(endpoint, Some(status), message));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::new(endpoint, Some(status), format!("unexpected answer: {e}")))
    }

    async fn get_signed<T: DeserializeOwned>(&self, signing: Signing<'_>, path: &str) -> Result<T, ClientError> {
        let endpoint = signing.endpoint();
        let url = self.url(endpoint, path)?;
        let signed = self.sign(&signing);
        let sent = self.announced(self.http.get(url).query(&signed).send()).await;
        Self::read(endpoint, sent).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, endpoint: Endpoint, body: &B) -> Result<T, ClientError> {
        let url = self.url(endpoint, endpoint.path())?;
        let sent = self.announced(self.http.post(url).json(body).send()).await;
        Self::read(endpoint, sent).await
    }

    /// The coordinator's health (unsigned).
    pub async fn health(&self) -> Result<HealthResponse, ClientError> {
        let endpoint = Endpoint::Healthcheck;
        let url = self.url(endpoint, endpoint.path())?;
        let sent = self.announced(self.http.get(url).send()).await;
        Self::read(endpoint, sent).await
    }

    /// The current epoch's assignment.
    pub async fn current_assignment(&self) -> Result<Assignment, ClientError> {
        let response: AssignmentResponse = self
            .get_signed(Signing::CurrentAssignment, routes::CURRENT_ASSIGNMENT)
            .await?;
        Ok(response.assignment)
    }

    /// An epoch's assignment (validators); has the validation seed after the deadline.
    pub async fn epoch(&self, epoch: &EpochId) -> Result<Assignment, ClientError> {
        let path = routes::epoch_assignment(epoch);
        let response: AssignmentResponse = self.get_signed(Signing::EpochAssignment { epoch }, &path).await?;
        Ok(response.assignment)
    }

    /// Reports a miner's progress for an epoch; the signature covers the report.
    pub async fn report_status(
        &self,
        epoch: &EpochId,
        report: StatusReport,
    ) -> Result<MinerStatusResponse, ClientError> {
        let endpoint = Endpoint::MinerStatus;
        let value = serde_json::to_value(&report)
            .map_err(|e| ClientError::new(endpoint, None, format!("status report: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ClientError::new(endpoint, None, "a status report is a JSON object"));
        };
        let body_sha256 = commitment::status_body_sha256(&map);
        let signed = self.sign(&Signing::MinerStatus {
            epoch,
            body_sha256: &body_sha256,
        });
        let body = MinerStatusRequest {
            signed,
            epoch_id: Some(epoch.to_string()),
            report,
        };
        self.post(endpoint, &body).await
    }

    /// A miner's upload policy for the current epoch.
    pub async fn upload_access(&self, coldkey: &Hotkey) -> Result<UploadAccessResponse, ClientError> {
        let body = FolderAccessRequest {
            signed: self.sign(&Signing::FolderAccess { coldkey }),
            coldkey: Some(coldkey.to_string()),
            expiry: None,
        };
        self.post(Endpoint::FolderAccess, &body).await
    }

    /// One page of an epoch's objects (`kind`: `data` or `validators`).
    pub async fn validator_read(
        &self,
        epoch: &EpochId,
        kind: &str,
        token: Option<&str>,
    ) -> Result<ReadPage, ClientError> {
        let body = ValidatorReadRequest {
            signed: self.sign(&Signing::ValidatorRead { epoch }),
            epoch_id: Some(epoch.to_string()),
            continuation_token: token.map(str::to_owned),
            kind: Some(kind.to_owned()),
        };
        self.post(Endpoint::ValidatorRead, &body).await
    }

    /// A validator's upload policy for its results of `epoch`.
    pub async fn validator_upload(&self, epoch: &EpochId) -> Result<UploadAccessResponse, ClientError> {
        let body = ValidatorUploadRequest {
            signed: self.sign(&Signing::ValidatorUpload { epoch }),
            epoch_id: Some(epoch.to_string()),
            ..ValidatorUploadRequest::default()
        };
        self.post(Endpoint::ValidatorUpload, &body).await
    }
}
