//! Signed-request checks (PROTOCOL.md §1), in the order that gives each failure
//! its status: 400 malformed, 401 stale timestamp or bad signature, 403 not
//! registered or not a validator.

pub use resi_api::{Caller, SignedFields};
use std::collections::HashMap;
use std::sync::RwLock;

use resi_auth::{Signature, VerifyingKey};
use resi_chain::Metagraph;
use resi_core::{Hotkey, Neuron};

/// How far a request's timestamp may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;

/// A refused request: the HTTP status and a message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct AuthError {
    pub status: u16,
    /// Why, in one word for metrics: `malformed`, `stale_timestamp`,
    /// `bad_signature`, `not_registered` or `not_validator`.
    pub reason: &'static str,
    pub message: String,
}

fn refuse(status: u16, reason: &'static str, message: impl Into<String>) -> AuthError {
    AuthError {
        status,
        reason,
        message: message.into(),
    }
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub hotkey: Hotkey,
    pub timestamp: i64,
    pub neuron: Neuron,
    /// The signature in one spelling (lowercase hex), for replay records.
    pub signature: String,
    /// True when the caller signed the original API's commitment rather
    /// than resi's (see `resi_api::Endpoint::commitment_templates`).
    pub legacy_commitment: bool,
}

/// Registered hotkeys' public keys, decoded once. Only hotkeys in the
/// metagraph are kept, and the cache starts over when it outgrows twice
/// the metagraph (deregistrations), so strangers cannot grow it.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<[u8; 32], VerifyingKey>>,
}

impl KeyCache {
    fn key(&self, hotkey: &Hotkey, metagraph: &Metagraph) -> Result<VerifyingKey, resi_auth::VerifyError> {
        let public = *hotkey.public_key();
        // A poisoned lock only means a panic elsewhere; the map is still whole.
        if let Some(key) = self.keys.read().unwrap_or_else(|e| e.into_inner()).get(&public) {
            return Ok(*key);
        }
        let key = VerifyingKey::decode(hotkey)?;
        if metagraph.by_hotkey(hotkey).is_some() {
            let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
            if keys.len() >= 2 * metagraph.neurons().len().max(1) {
                keys.clear();
            }
            keys.insert(public, key);
        }
        Ok(key)
    }
}

#[cfg(test)]
impl KeyCache {
    fn len(&self) -> usize {
        self.keys.read().map(|k| k.len()).unwrap_or(0)
    }
}

/// Parses the hotkey and timestamp (400 when malformed).
pub fn parse_fields(fields: &SignedFields) -> Result<(Hotkey, i64, &str), AuthError> {
    let hotkey = fields
        .hotkey
        .as_deref()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| refuse(400, "malformed", "hotkey is required"))?;
    let hotkey = Hotkey::parse(hotkey)
        .map_err(|e| refuse(400, "malformed", format!("hotkey is not a valid SS58 address: {e}")))?;
    let timestamp = match &fields.timestamp {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| refuse(400, "malformed", "timestamp is required, in Unix seconds"))?;
    let signature = fields
        .signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refuse(400, "malformed", "signature is required"))?;
    Ok((hotkey, timestamp, signature))
}

/// Verifies a request: `commitments(hotkey, timestamp)` builds the exact
/// strings the caller may have signed, resi's own first.
pub fn check(
    fields: &SignedFields,
    commitments: impl FnOnce(&Hotkey, i64) -> Vec<String>,
    now_unix: i64,
    metagraph: &Metagraph,
    keys: &KeyCache,
    caller: Caller,
    validator_min_stake: u64,
) -> Result<Verified, AuthError> {
    let (hotkey, timestamp, signature) = parse_fields(fields)?;
    // abs_diff cannot overflow, whatever timestamp a caller sends.
    if now_unix.abs_diff(timestamp) > TIMESTAMP_WINDOW_SECS as u64 {
        return Err(refuse(
            401,
            "stale_timestamp",
            format!(
                "timestamp {timestamp} is more than {TIMESTAMP_WINDOW_SECS} s from the server's clock ({now_unix})"
            ),
        ));
    }
    let signature =
        Signature::parse_hex(signature).map_err(|e| refuse(401, "bad_signature", format!("invalid signature: {e}")))?;
    let messages = commitments(&hotkey, timestamp);
    let key = keys.key(&hotkey, metagraph).ok();
    let Some(matched) = key.and_then(|key| {
        messages
            .iter()
            .position(|m| key.verify(m.as_bytes(), &signature).is_ok())
    }) else {
        let expected = messages.first().map(String::as_str).unwrap_or_default();
        return Err(refuse(
            401,
            "bad_signature",
            format!("invalid signature: expected {hotkey}'s signature of {expected:?}"),
        ));
    };
    let neuron = metagraph.by_hotkey(&hotkey).cloned().ok_or_else(|| {
        refuse(
            403,
            "not_registered",
            format!("hotkey {hotkey} is not registered on the subnet"),
        )
    })?;
    if caller == Caller::Validator && !neuron.is_validator(validator_min_stake) {
        return Err(refuse(
            403,
            "not_validator",
            format!("hotkey {hotkey} is not a validator"),
        ));
    }
    Ok(Verified {
        hotkey,
        timestamp,
        neuron,
        signature: signature.to_hex(),
        legacy_commitment: matched > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use resi_auth::commitment::current_assignment;
    use resi_auth::Keypair;

    fn setup() -> (Keypair, Keypair, Metagraph) {
        let miner = Keypair::generate().unwrap();
        let validator = Keypair::generate().unwrap();
        let cold = Hotkey::from_public_key([9; 32]);
        let neuron = |uid, k: &Keypair, permit| Neuron {
            uid,
            hotkey: k.hotkey(),
            coldkey: cold.clone(),
            stake: 0,
            alpha_stake: 0,
            tao_stake: 0,
            validator_permit: permit,
            registered_block: 0,
        };
        let metagraph = Metagraph::new(vec![neuron(0, &miner, false), neuron(1, &validator, true)]);
        (miner, validator, metagraph)
    }

    fn fields(k: &Keypair, ts: i64, message: &str) -> SignedFields {
        SignedFields {
            hotkey: Some(k.hotkey().to_string()),
            timestamp: Some(serde_json::json!(ts)),
            signature: Some(k.sign(message.as_bytes()).to_hex()),
        }
    }

    #[test]
    fn each_failure_has_its_status() {
        let (miner, validator, m) = setup();
        let now = 1_700_000_000;
        let commit = |_: &Hotkey, ts: i64| vec![current_assignment(ts)];
        let ok = check(
            &fields(&miner, now, &current_assignment(now)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Registered,
            0,
        )
        .unwrap();
        assert_eq!(ok.neuron.uid, 0);
        // Exactly 300 s away is accepted, 301 is not.
        assert!(check(
            &fields(&miner, now - 300, &current_assignment(now - 300)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Registered,
            0
        )
        .is_ok());
        let stale = check(
            &fields(&miner, now - 301, &current_assignment(now - 301)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Registered,
            0,
        );
        assert_eq!(stale.unwrap_err().status, 401);
        let wrong = check(
            &fields(&miner, now, "something else"),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Registered,
            0,
        );
        assert_eq!(wrong.unwrap_err().status, 401);
        let stranger = Keypair::generate().unwrap();
        let unregistered = check(
            &fields(&stranger, now, &current_assignment(now)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Registered,
            0,
        );
        assert_eq!(unregistered.unwrap_err().status, 403);
        let not_validator = check(
            &fields(&miner, now, &current_assignment(now)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Validator,
            0,
        );
        assert_eq!(not_validator.unwrap_err().status, 403);
        assert!(check(
            &fields(&validator, now, &current_assignment(now)),
            commit,
            now,
            &m,
            &KeyCache::default(),
            Caller::Validator,
            0
        )
        .is_ok());
        let mut missing = fields(&miner, now, &current_assignment(now));
        missing.signature = None;
        assert_eq!(
            check(&missing, commit, now, &m, &KeyCache::default(), Caller::Registered, 0)
                .unwrap_err()
                .status,
            400
        );
        let mut bad_key = fields(&miner, now, &current_assignment(now));
        bad_key.hotkey = Some("nope".into());
        assert_eq!(
            check(&bad_key, commit, now, &m, &KeyCache::default(), Caller::Registered, 0)
                .unwrap_err()
                .status,
            400
        );
        // Timestamps that overflow a naive `now - ts` are refused, not wrapped.
        for extreme in [i64::MIN, i64::MIN + 1, now - (1 << 62) - (1 << 62), i64::MAX] {
            let far = fields(&miner, extreme, &current_assignment(extreme));
            assert_eq!(
                check(&far, commit, now, &m, &KeyCache::default(), Caller::Registered, 0)
                    .unwrap_err()
                    .status,
                401,
                "{extreme}"
            );
        }
        // Only registered hotkeys' keys are kept, so strangers cannot grow the cache.
        let keys = KeyCache::default();
        let stranger_fields = fields(&stranger, now, &current_assignment(now));
        assert_eq!(
            check(&stranger_fields, commit, now, &m, &keys, Caller::Registered, 0)
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(keys.len(), 0);
        for _ in 0..2 {
            let ok = fields(&miner, now, &current_assignment(now));
            assert!(check(&ok, commit, now, &m, &keys, Caller::Registered, 0).is_ok());
        }
        assert_eq!(keys.len(), 1, "decoded once, then reused");
        // A wrong signature from a cached key is still refused.
        let forged = fields(&miner, now, "something else");
        assert_eq!(
            check(&forged, commit, now, &m, &keys, Caller::Registered, 0)
                .unwrap_err()
                .status,
            401
        );
        let mut text_ts = fields(&miner, now, &current_assignment(now));
        text_ts.timestamp = Some(serde_json::json!(now.to_string()));
        assert!(check(&text_ts, commit, now, &m, &KeyCache::default(), Caller::Registered, 0).is_ok());
    }
}
