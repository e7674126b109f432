//! Transaction extensions by name, from the connected runtime's metadata.
//!
//! subxt fills the extensions every Substrate chain has (nonce, mortality,
//! genesis, spec and transaction version, the fee, the metadata hash) and
//! skips the ones that encode to nothing (`CheckWeight`, subtensor's
//! `SubtensorTransactionExtension`, `DrandPriority`, …). Anything else the
//! runtime lists must be given a value by name or signing fails. Subtensor
//! replaced the fee extension `ChargeTransactionPayment` with
//! `ChargeTransactionPaymentWrapper` (about spec 302): the same tip, wrapped
//! (`{ inner: Compact<u128> }`). resi fills each extension it knows the
//! meaning of from the extension's metadata type, so a new wrapping layer
//! needs no code; an extension it cannot fill is refused by name, once,
//! instead of failing to sign on every retry.

use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt::dynamic::Value;
use subxt::{Metadata, SubstrateConfig};

use crate::error::SubtensorError;

pub type Params =
    <subxt::config::DefaultTransactionExtensions<SubstrateConfig> as subxt::config::TransactionExtensions<
        SubstrateConfig,
    >>::Params;

/// Extensions subxt fills itself (`KnownDefaultTransactionExtensions`).
const FILLED_BY_SUBXT: &[&str] = &[
    "VerifySignature",
    "CheckSpecVersion",
    "CheckTxVersion",
    "CheckNonce",
    "CheckGenesis",
    "CheckMortality",
    "ChargeAssetTxPayment",
    "ChargeTransactionPayment",
    "CheckMetadataHash",
];

/// Extensions resi fills by name: what their value means. Their metadata
/// type may wrap the value in any number of single-field structs.
const FILLED_BY_RESI: &[(&str, Fill)] = &[("ChargeTransactionPaymentWrapper", Fill::Tip)];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fill {
    /// The fee tip, in rao (`Compact<u128>` inside).
    Tip,
}

/// How one extension listed by the runtime gets its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Extension {
    /// subxt's own (nonce, mortality, the plain fee, …).
    Subxt(String),
    /// Encodes to nothing: nothing to give.
    Empty(String),
    /// Given by resi: the name and the value.
    Resi(String, Value),
}

/// What each extension the runtime lists gets, in the runtime's order; an
/// error names the first one resi cannot fill.
pub fn plan(metadata: &Metadata, tip: u128) -> Result<Vec<Extension>, SubtensorError> {
    let types = metadata.types();
    let extrinsic = metadata.extrinsic();
    let version = extrinsic.transaction_extension_version_to_use_for_encoding();
    let listed = extrinsic.transaction_extensions_by_version(version).ok_or_else(|| {
        SubtensorError::Decode(format!(
            "the runtime lists no transaction extensions of version {version}"
        ))
    })?;
    listed
        .map(|ext| {
            let name = ext.identifier().to_owned();
            if FILLED_BY_SUBXT.contains(&name.as_str()) {
                return Ok(Extension::Subxt(name));
            }
            let empty = is_empty(ext.extra_ty(), types) && is_empty(ext.additional_ty(), types);
            if empty {
                return Ok(Extension::Empty(name));
            }
            let fill = FILLED_BY_RESI
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, fill)| *fill);
            let value = match fill {
                Some(Fill::Tip) if is_empty(ext.additional_ty(), types) => integer_in(ext.extra_ty(), types, tip),
                _ => None,
            };
            value.map(|v| Extension::Resi(name.clone(), v)).ok_or_else(|| {
                SubtensorError::Refused(format!(
                    "the runtime's transaction extension `{name}` (type {}) is one resi cannot fill, \
                     so no extrinsic can be signed for this runtime; upgrade resi",
                    type_name(ext.extra_ty(), types)
                ))
            })
        })
        .collect()
}

/// Extrinsic parameters for this runtime: mortal for `mortal_blocks` (when
/// given), the tip, and every extension resi fills, by name.
pub fn params(
    metadata: &Metadata,
    mortal_blocks: Option<u64>,
    nonce: Option<u64>,
    tip: u128,
) -> Result<Params, SubtensorError> {
    let mut builder = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new().tip(tip);
    if let Some(blocks) = mortal_blocks {
        builder = builder.mortal(blocks);
    }
    if let Some(nonce) = nonce {
        builder = builder.nonce(nonce);
    }
    for ext in plan(metadata, tip)? {
        if let Extension::Resi(name, value) = ext {
            builder = builder.custom_extension(name, value);
        }
    }
    Ok(builder.build())
}

/// A value of `type_id` holding `n`, through any single-field wrappers
/// (`struct Wrapper { inner: ChargeTransactionPayment }`,
/// `struct ChargeTransactionPayment(#[codec(compact)] u128)`).
fn integer_in(type_id: u32, types: &scale_info::PortableRegistry, n: u128) -> Option<Value> {
    use scale_info::{TypeDef, TypeDefPrimitive};
    let ty = types.resolve(type_id)?;
    match &ty.type_def {
        TypeDef::Composite(c) if c.fields.len() == 1 => {
            let field = &c.fields[0];
            let inner = integer_in(field.ty.id, types, n)?;
            Some(match &field.name {
                Some(name) => Value::named_composite([(name.clone(), inner)]),
                None => Value::unnamed_composite([inner]),
            })
        }
        TypeDef::Compact(c) => integer_in(c.type_param.id, types, n),
        TypeDef::Primitive(
            TypeDefPrimitive::U8
            | TypeDefPrimitive::U16
            | TypeDefPrimitive::U32
            | TypeDefPrimitive::U64
            | TypeDefPrimitive::U128,
        ) => Some(Value::u128(n)),
        _ => None,
    }
}

/// Encodes to zero bytes (unit, empty structs and tuples, `PhantomData`).
fn is_empty(type_id: u32, types: &scale_info::PortableRegistry) -> bool {
    use scale_info::TypeDef;
    let Some(ty) = types.resolve(type_id) else {
        return false;
    };
    match &ty.type_def {
        TypeDef::Composite(c) => c.fields.iter().all(|f| is_empty(f.ty.id, types)),
        TypeDef::Tuple(t) => t.fields.iter().all(|f| is_empty(f.id, types)),
        TypeDef::Array(a) => a.len == 0 || is_empty(a.type_param.id, types),
        _ => false,
    }
}

fn type_name(type_id: u32, types: &scale_info::PortableRegistry) -> String {
    types
        .resolve(type_id)
        .map(|t| t.path.segments.join("::"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| format!("#{type_id}"))
}
