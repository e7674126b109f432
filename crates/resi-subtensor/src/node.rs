//! One connection to a subtensor node: storage, runtime API calls and signed
//! extrinsics, reconnecting with backoff when the connection drops.

use std::sync::Arc;
use std::time::Duration;

use resi_auth::Keypair;
use subxt::backend::LegacyBackend;
use subxt::client::OnlineClientAtBlock;
use subxt::dynamic::Value;
use subxt::ext::scale_decode::DecodeAsType;
use subxt::tx::{Payload, TransactionStatus};
use subxt::utils::{AccountId32, MultiSignature};
use subxt::{OnlineClient, SubstrateConfig};
use tokio::sync::Mutex;

use crate::error::SubtensorError;

pub type Client = OnlineClient<SubstrateConfig>;
pub type AtBlock = OnlineClientAtBlock<SubstrateConfig>;

/// A resi key as an extrinsic signer (sr25519, `MultiSignature::Sr25519`).
pub struct KeySigner<'a>(pub &'a Keypair);

impl subxt::tx::Signer<SubstrateConfig> for KeySigner<'_> {
    fn account_id(&self) -> AccountId32 {
        AccountId32(self.0.public_key())
    }

    fn sign(&self, signer_payload: &[u8]) -> MultiSignature {
        MultiSignature::Sr25519(self.0.sign(signer_payload).0)
    }
}

/// An extrinsic in a block, with its events as `Pallet.Event {fields}`.
#[derive(Clone, Debug)]
pub struct Included {
    pub block: u64,
    pub block_hash: String,
    pub extrinsic_hash: String,
    pub events: Vec<String>,
}

/// A node connection that reconnects on demand.
pub struct Node {
    url: String,
    client: Mutex<Option<(Client, subxt::rpcs::RpcClient)>>,
    inclusion_timeout: Duration,
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

impl Node {
    pub fn new(url: impl Into<String>, inclusion_timeout: Duration) -> Self {
        Self {
            url: url.into(),
            client: Mutex::new(None),
            inclusion_timeout,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The live client, connecting (with backoff, a few tries) if there is none.
    pub async fn client(&self) -> Result<(Client, subxt::rpcs::RpcClient), SubtensorError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        use backon::Retryable;
        let connect = || async {
            let rpc = tokio::time::timeout(CONNECT_TIMEOUT, subxt::rpcs::RpcClient::from_insecure_url(&self.url))
                .await
                .map_err(|_| {
                    SubtensorError::Unavailable(format!("{}: no connection in {CONNECT_TIMEOUT:?}", self.url))
                })?
                .map_err(|e| SubtensorError::Unavailable(format!("{}: {e}", self.url)))?;
            // The legacy RPC methods: every node and chopsticks serve them
            // (the chainHead_v1 family is not everywhere yet).
            let backend = LegacyBackend::<SubstrateConfig>::builder().build(rpc.clone());
            let client = Client::from_backend_with_config(SubstrateConfig::new(), Arc::new(backend))
                .await
                .map_err(|e| SubtensorError::Unavailable(format!("{}: {e}", self.url)))?;
            Ok::<_, SubtensorError>((client, rpc))
        };
        let connected = connect
            .retry(
                backon::ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(500))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(4),
            )
            .notify(|e, wait| tracing::warn!(url = %self.url, error = %e, ?wait, "subtensor: connecting again"))
            .await?;
        tracing::info!(url = %self.url, "subtensor: connected");
        *slot = Some(connected.clone());
        Ok(connected)
    }

    /// Drops the connection after an error, so the next call reconnects.
    pub async fn forget(&self) {
        *self.client.lock().await = None;
    }

    /// The chain at its best block.
    pub async fn at_best(&self) -> Result<AtBlock, SubtensorError> {
        let (client, _) = self.client().await?;
        match tokio::time::timeout(CALL_TIMEOUT, client.at_current_block()).await {
            Ok(Ok(at)) => Ok(at),
            Ok(Err(e)) => {
                self.forget().await;
                Err(SubtensorError::Unavailable(format!("{}: {e}", self.url)))
            }
            Err(_) => {
                self.forget().await;
                Err(SubtensorError::Unavailable(format!(
                    "{}: no answer in {CALL_TIMEOUT:?}",
                    self.url
                )))
            }
        }
    }

    /// A raw JSON-RPC call (`dev_newBlock`, `system_accountNextIndex`, …).
    pub async fn rpc<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<R, SubtensorError> {
        let (_, rpc) = self.client().await?;
        let params = match params {
            serde_json::Value::Array(items) => {
                let mut p = subxt::rpcs::client::RpcParams::new();
                for item in items {
                    p.push(item)
                        .map_err(|e| SubtensorError::Decode(format!("{method} params: {e}")))?;
                }
                p
            }
            other => {
                let mut p = subxt::rpcs::client::RpcParams::new();
                p.push(other)
                    .map_err(|e| SubtensorError::Decode(format!("{method} params: {e}")))?;
                p
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, rpc.request::<R>(method, params)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(SubtensorError::Unavailable(format!("{method}: {e}"))),
            Err(_) => Err(SubtensorError::Unavailable(format!(
                "{method}: no answer in {CALL_TIMEOUT:?}"
            ))),
        }
    }

    /// Signs `call` with `key`, submits it and waits (at most the inclusion
    /// timeout) until it is in a block; a failed dispatch is an error naming
    /// the pallet error (`SubtensorModule::CommitRevealEnabled`, …).
    pub async fn submit<C: Payload>(&self, key: &Keypair, call: &C) -> Result<Included, SubtensorError> {
        let at = self.at_best().await?;
        let signer = KeySigner(key);
        let params = crate::extensions::params(at.metadata_ref(), Some(64), None, 0)?;
        let mut txs = at.transactions();
        let progress = txs.sign_and_submit_then_watch(call, &signer, params).await;
        let mut progress = match progress {
            Ok(p) => p,
            Err(e) => return Err(crate::error::refusal(&e.to_string())),
        };
        let deadline = tokio::time::Instant::now() + self.inclusion_timeout;
        let in_block = loop {
            let next = match tokio::time::timeout_at(deadline, progress.next()).await {
                Ok(Some(next)) => next,
                Ok(None) => {
                    return Err(SubtensorError::Unavailable(
                        "the node closed the extrinsic's status stream".into(),
                    ))
                }
                Err(_) => {
                    return Err(SubtensorError::Unavailable(format!(
                        "not included within {:?}",
                        self.inclusion_timeout
                    )))
                }
            };
            match next.map_err(|e| SubtensorError::Unavailable(e.to_string()))? {
                TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b) => break b,
                TransactionStatus::Invalid { message } => return Err(crate::error::refusal(&message)),
                TransactionStatus::Dropped { message } | TransactionStatus::Error { message } => {
                    return Err(SubtensorError::Unavailable(message))
                }
                _ => continue,
            }
        };
        let block_hash = in_block.block_hash();
        let extrinsic_hash = format!("{:?}", in_block.extrinsic_hash());
        let events = in_block
            .fetch_events()
            .await
            .map_err(|e| SubtensorError::Unavailable(format!("events of {extrinsic_hash}: {e}")))?;
        let lines = describe(events.iter(), &extrinsic_hash)?;
        if let Err(e) = in_block.wait_for_success().await {
            return Err(crate::error::dispatch_failure(&e.to_string(), lines));
        }
        let block = self.block_number_of(&format!("{block_hash:?}")).await?;
        Ok(Included {
            block,
            block_hash: format!("{block_hash:?}"),
            extrinsic_hash,
            events: lines,
        })
    }

    /// Every event of block `number`, as `Pallet.Event {fields}`.
    pub async fn events_at(&self, number: u64) -> Result<Vec<String>, SubtensorError> {
        let (client, _) = self.client().await?;
        let at = client
            .at_block(number)
            .await
            .map_err(|e| SubtensorError::Unavailable(format!("block {number}: {e}")))?;
        let events = at
            .events()
            .fetch()
            .await
            .map_err(|e| SubtensorError::Unavailable(format!("events of block {number}: {e}")))?;
        describe(events.iter(), &format!("block {number}"))
    }

    async fn block_number_of(&self, hash: &str) -> Result<u64, SubtensorError> {
        #[derive(serde::Deserialize)]
        struct Header {
            number: String,
        }
        let header: Header = self.rpc("chain_getHeader", serde_json::json!([hash])).await?;
        u64::from_str_radix(header.number.trim_start_matches("0x"), 16)
            .map_err(|e| SubtensorError::Decode(format!("block number {:?}: {e}", header.number)))
    }
}

/// Events as `Pallet.Event {fields}` (fields in hex when they do not decode).
fn describe<'e>(
    events: impl Iterator<Item = Result<subxt::events::Event<'e, SubstrateConfig>, subxt::error::EventsError>>,
    of: &str,
) -> Result<Vec<String>, SubtensorError> {
    events
        .map(|event| {
            let event = event.map_err(|e| SubtensorError::Decode(format!("an event of {of}: {e}")))?;
            let fields = event
                .decode_as::<Value>()
                .map(|v| v.to_string())
                .unwrap_or_else(|_| hex::encode(event.field_bytes()));
            Ok(format!("{}.{} {fields}", event.pallet_name(), event.event_name()))
        })
        .collect()
}

/// Reads one storage value (its default when unset), decoded as `V`.
pub async fn storage<K, V>(at: &AtBlock, pallet: &str, entry: &str, keys: K) -> Result<V, SubtensorError>
where
    K: subxt::ext::frame_decode::storage::IntoEncodableValues + subxt::ext::frame_decode::storage::IntoDecodableValues,
    V: DecodeAsType,
{
    let address = subxt::dynamic::storage::<K, V>(pallet, entry);
    let value = at
        .storage()
        .fetch(address, keys)
        .await
        .map_err(|e| SubtensorError::Unavailable(format!("{pallet}.{entry}: {e}")))?;
    value
        .decode()
        .map_err(|e| SubtensorError::Decode(format!("{pallet}.{entry}: {e}")))
}

/// Whether the connected runtime has `pallet.call`.
pub fn has_call(at: &AtBlock, pallet: &str, call: &str) -> bool {
    at.metadata_ref()
        .pallet_by_name(pallet)
        .and_then(|p| p.call_variant_by_name(call))
        .is_some()
}

/// The argument names of `pallet.call` in the connected runtime.
pub fn call_fields(at: &AtBlock, pallet: &str, call: &str) -> Option<Vec<String>> {
    let metadata = at.metadata_ref();
    let variant = metadata.pallet_by_name(pallet)?.call_variant_by_name(call)?;
    Some(variant.fields.iter().filter_map(|f| f.name.clone()).collect())
}

/// Whether the connected runtime has the storage item `pallet.entry`.
pub fn has_storage(at: &AtBlock, pallet: &str, entry: &str) -> bool {
    at.metadata_ref()
        .pallet_by_name(pallet)
        .and_then(|p| p.storage())
        .and_then(|s| s.entry_by_name(entry))
        .is_some()
}
