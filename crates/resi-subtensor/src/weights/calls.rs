//! The weight calls, named as the connected runtime names them: the
//! mechanism calls (`set_mechanism_weights(netuid, mecid, …)`, spec ≥ ~320,
//! what the Python SDK sends) where the runtime has them, the plain calls
//! (`set_weights(netuid, …)`) where it does not.

use subxt::dynamic::Value;
use subxt::ext::codec::Encode;
use subxt::ext::scale_value::Composite;
use subxt::Metadata;

use crate::error::SubtensorError;

pub(crate) const MODULE: &str = "SubtensorModule";

/// A call built from dynamic values, encoded against the runtime's metadata.
pub type Call = subxt::tx::DynamicPayload<Composite<()>>;

pub fn call(pallet: &str, name: &str, fields: Vec<Value>) -> Call {
    subxt::dynamic::tx(pallet, name, Composite::unnamed(fields))
}

/// The runtime's `GLOBAL_MAX_SUBNET_COUNT`: a mechanism's storage index is
/// `mechanism × 4096 + netuid`.
const SUBNETS_PER_MECHANISM: u16 = 4096;

/// Whose weights: a subnet's mechanism, and whether the runtime has the
/// mechanism calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub netuid: u16,
    pub mechanism: u8,
    pub mechanism_calls: bool,
}

impl Target {
    /// Mechanism `mechanism` of subnet `netuid` in this runtime: refused when
    /// the runtime has no mechanism calls and a mechanism other than 0 is
    /// asked for.
    pub fn in_runtime(metadata: &Metadata, netuid: u16, mechanism: u8) -> Result<Self, SubtensorError> {
        let mechanism_calls = has_call(metadata, MODULE, "set_mechanism_weights");
        if !mechanism_calls && mechanism != 0 {
            return Err(SubtensorError::Refused(format!(
                "mechanism {mechanism} was configured ([chain] mechanism_id) but this runtime has no mechanisms; \
                 set mechanism_id = 0"
            )));
        }
        Ok(Self {
            netuid,
            mechanism,
            mechanism_calls,
        })
    }

    /// The key of this mechanism's `Weights`, `LastUpdate` and
    /// `WeightCommits` (the netuid itself for mechanism 0), and the index
    /// the commit hash covers.
    pub fn storage_index(&self) -> u16 {
        u16::from(self.mechanism)
            .saturating_mul(SUBNETS_PER_MECHANISM)
            .saturating_add(self.netuid)
    }

    /// `set_weights` → `set_mechanism_weights`, … where the runtime has them.
    pub fn call_name(&self, plain: &str) -> String {
        if !self.mechanism_calls {
            return plain.to_owned();
        }
        match plain.strip_suffix("_weights") {
            Some(stem) => format!("{stem}_mechanism_weights"),
            None => plain.to_owned(),
        }
    }

    /// Whether the runtime has `plain` (under the name this target uses).
    pub fn has(&self, metadata: &Metadata, plain: &str) -> bool {
        has_call(metadata, MODULE, &self.call_name(plain))
    }

    fn call(&self, plain: &str, rest: Vec<Value>) -> Call {
        let mut fields = vec![Value::u128(self.netuid.into())];
        if self.mechanism_calls {
            fields.push(Value::u128(self.mechanism.into()));
        }
        fields.extend(rest);
        call(MODULE, &self.call_name(plain), fields)
    }

    pub fn set_weights(&self, uids: &[u16], values: &[u16], version_key: u64) -> Call {
        self.call(
            "set_weights",
            vec![u16_list(uids), u16_list(values), Value::u128(version_key.into())],
        )
    }

    pub fn commit_weights(&self, hash: &[u8; 32]) -> Call {
        self.call("commit_weights", vec![Value::from_bytes(hash)])
    }

    pub fn reveal_weights(&self, uids: &[u16], values: &[u16], salt: &[u16], version_key: u64) -> Call {
        self.call(
            "reveal_weights",
            vec![
                u16_list(uids),
                u16_list(values),
                u16_list(salt),
                Value::u128(version_key.into()),
            ],
        )
    }

    pub fn timelocked(&self, call: TimelockCall, commit: &[u8], reveal_round: u64, version: Option<u64>) -> Call {
        match call {
            TimelockCall::Crv3 => self.call(
                "commit_crv3_weights",
                vec![Value::from_bytes(commit), Value::u128(reveal_round.into())],
            ),
            TimelockCall::Timelocked => self.call(
                "commit_timelocked_weights",
                vec![
                    Value::from_bytes(commit),
                    Value::u128(reveal_round.into()),
                    Value::u128(version.unwrap_or(4).into()),
                ],
            ),
        }
    }
}

/// The connected runtime's timelocked commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelockCall {
    /// Spec ~230–300: `commit_crv3_weights(netuid, commit, reveal_round)`,
    /// payload (uids, values, version_key).
    Crv3,
    /// Today: `commit_timelocked_weights(netuid, commit, reveal_round,
    /// commit_reveal_version)`, payload (hotkey, uids, values, version_key).
    Timelocked,
}

/// The plaintext of a timelocked commit: SCALE of (hotkey bytes, for the
/// current call), uids, values, version_key.
pub fn timelock_payload(
    call: TimelockCall,
    hotkey: &[u8; 32],
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Vec<u8> {
    let (uids, values) = (uids.to_vec(), values.to_vec());
    match call {
        TimelockCall::Timelocked => (hotkey.to_vec(), uids, values, version_key).encode(),
        TimelockCall::Crv3 => (uids, values, version_key).encode(),
    }
}

/// The commit hash the chain recomputes at reveal:
/// BLAKE2b-256(hotkey ‖ SCALE(storage index: u16, uids: Vec<u16>,
/// values: Vec<u16>, salt: Vec<u16>, version_key: u64)); the storage index
/// is the netuid for mechanism 0.
pub fn commit_hash(
    hotkey: &[u8; 32],
    storage_index: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    use blake2::Digest;
    let mut payload = hotkey.to_vec();
    (storage_index, uids, values, salt, version_key).encode_to(&mut payload);
    blake2::Blake2b::<blake2::digest::consts::U32>::digest(&payload).into()
}

/// Whether the runtime has `pallet.call`.
pub fn has_call(metadata: &Metadata, pallet: &str, call: &str) -> bool {
    metadata
        .pallet_by_name(pallet)
        .and_then(|p| p.call_variant_by_name(call))
        .is_some()
}

fn u16_list(values: &[u16]) -> Value {
    Value::unnamed_composite(values.iter().map(|v| Value::u128((*v).into())))
}
