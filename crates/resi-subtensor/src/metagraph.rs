//! The subnet's metagraph from `SubnetInfoRuntimeApi.get_metagraph(netuid)`:
//! one runtime call for every neuron, read from the dynamic value so that
//! renamed wrapper types (`AlphaCurrency`, `NetUid`) across runtimes do not
//! matter.

use std::sync::Arc;

use resi_chain::Metagraph;
use resi_core::{Hotkey, Neuron};
use subxt::dynamic::Value;
use subxt::ext::scale_value::{Composite, Primitive, ValueDef};

use crate::error::SubtensorError;
use crate::node::AtBlock;

/// The metagraph as of `block`.
#[derive(Clone, Debug)]
pub struct ChainMetagraph {
    pub block: u64,
    pub metagraph: Arc<Metagraph>,
}

pub async fn read(at: &AtBlock, netuid: u16) -> Result<ChainMetagraph, SubtensorError> {
    let call = subxt::dynamic::runtime_api_call::<_, Value>("SubnetInfoRuntimeApi", "get_metagraph", (netuid,));
    let value = at
        .runtime_apis()
        .call(call)
        .await
        .map_err(|e| SubtensorError::Unavailable(format!("SubnetInfoRuntimeApi.get_metagraph({netuid}): {e}")))?;
    from_value(&value, netuid, at.block_number())
}

/// The neurons out of `get_metagraph`'s `Option<Metagraph>`.
pub fn from_value(value: &Value, netuid: u16, block: u64) -> Result<ChainMetagraph, SubtensorError> {
    let bad = |what: &str| SubtensorError::Decode(format!("get_metagraph({netuid}): {what}"));
    let inner = match &value.value {
        ValueDef::Variant(v) if v.name == "None" => {
            return Err(SubtensorError::Refused(format!("subnet {netuid} does not exist")))
        }
        ValueDef::Variant(v) if v.name == "Some" => v.values.values().next().ok_or_else(|| bad("empty Some"))?,
        _ => value,
    };
    let field = |name: &str| named(inner, name).ok_or_else(|| bad(&format!("no field {name}")));
    let hotkeys = list(field("hotkeys")?).ok_or_else(|| bad("hotkeys is not a list"))?;
    let coldkeys = list(field("coldkeys")?).ok_or_else(|| bad("coldkeys is not a list"))?;
    let permits = list(field("validator_permit")?).ok_or_else(|| bad("validator_permit is not a list"))?;
    let stakes = named(inner, "total_stake")
        .or_else(|| named(inner, "alpha_stake"))
        .and_then(list)
        .ok_or_else(|| bad("no total_stake list"))?;
    let registered = named(inner, "block_at_registration").and_then(list);
    // Kept apart too, where the runtime has them (the SDK shows both).
    let alpha = named(inner, "alpha_stake").and_then(list);
    let tao = named(inner, "tao_stake").and_then(list);
    let nth = |l: Option<&[Value]>, uid: u16| {
        l.and_then(|l| l.get(uid as usize))
            .and_then(number)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    };
    let chain_block = named(inner, "block").and_then(number).unwrap_or(block as u128) as u64;
    if coldkeys.len() != hotkeys.len() || permits.len() != hotkeys.len() || stakes.len() != hotkeys.len() {
        return Err(bad("per-uid lists of different lengths"));
    }
    let mut neurons = Vec::with_capacity(hotkeys.len());
    for (uid, hotkey) in hotkeys.iter().enumerate() {
        let uid = u16::try_from(uid).map_err(|_| bad("more than 65,536 uids"))?;
        let key = |v: &Value| {
            account(v)
                .map(Hotkey::from_public_key)
                .ok_or_else(|| bad("an account is not 32 bytes"))
        };
        neurons.push(Neuron {
            uid,
            hotkey: key(hotkey)?,
            coldkey: key(&coldkeys[uid as usize])?,
            stake: number(&stakes[uid as usize])
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| bad("a stake is not a u64"))?,
            alpha_stake: nth(alpha, uid),
            tao_stake: nth(tao, uid),
            validator_permit: boolean(&permits[uid as usize]).ok_or_else(|| bad("a permit is not a bool"))?,
            registered_block: registered
                .and_then(|r| r.get(uid as usize))
                .and_then(number)
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
        });
    }
    Ok(ChainMetagraph {
        block: chain_block,
        metagraph: Arc::new(Metagraph::new(neurons)),
    })
}

fn named<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    match &value.value {
        ValueDef::Composite(Composite::Named(fields)) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        _ => None,
    }
}

fn list(value: &Value) -> Option<&[Value]> {
    match &value.value {
        ValueDef::Composite(Composite::Unnamed(items)) => Some(items),
        ValueDef::Composite(Composite::Named(fields)) if fields.is_empty() => Some(&[]),
        _ => None,
    }
}

/// A number, through any single-field wrappers (`Compact<AlphaCurrency>`).
pub(crate) fn number(value: &Value) -> Option<u128> {
    match &value.value {
        ValueDef::Primitive(Primitive::U128(n)) => Some(*n),
        ValueDef::Composite(c) if c.len() == 1 => number(c.values().next()?),
        _ => None,
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match &value.value {
        ValueDef::Primitive(Primitive::Bool(b)) => Some(*b),
        ValueDef::Composite(c) if c.len() == 1 => boolean(c.values().next()?),
        _ => None,
    }
}

/// A 32-byte account id, through wrappers (`AccountId32([u8; 32])`).
fn account(value: &Value) -> Option<[u8; 32]> {
    match &value.value {
        ValueDef::Composite(c) if c.len() == 1 => account(c.values().next()?),
        ValueDef::Composite(c) if c.len() == 32 => {
            let mut out = [0u8; 32];
            for (slot, v) in out.iter_mut().zip(c.values()) {
                *slot = u8::try_from(number(v)?).ok()?;
            }
            Some(out)
        }
        _ => None,
    }
}
