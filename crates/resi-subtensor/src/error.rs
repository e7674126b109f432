//! What went wrong talking to the chain, in words an operator can act on.

use resi_chain::ChainError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SubtensorError {
    /// No connection, no answer, not included in time: retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The chain answered something this build cannot read.
    #[error("unreadable answer: {0}")]
    Decode(String),
    /// The transaction pool refused the extrinsic before it ran.
    #[error("refused before execution: {0}")]
    Invalid(String),
    /// The extrinsic ran and failed; `error` names the pallet error.
    #[error("{error}")]
    Dispatch { error: String, events: Vec<String> },
    /// The chain will accept this later (rate limit, reveal window).
    #[error("{0}")]
    NotYet(String),
    /// This key or subnet cannot do what was asked.
    #[error("{0}")]
    Refused(String),
    /// A local file (the reveal journal) could not be read or written.
    #[error("{0}")]
    Journal(String),
}

impl From<SubtensorError> for ChainError {
    fn from(e: SubtensorError) -> Self {
        match e {
            SubtensorError::Unavailable(why) | SubtensorError::Journal(why) => ChainError::Unavailable(why),
            SubtensorError::NotYet(why) => ChainError::NotYet(why),
            other => ChainError::Refused(other.to_string()),
        }
    }
}

/// Subtensor's custom transaction-validity codes (`CustomTransactionError`
/// in pallets/subtensor), which a pool refusal reports as a bare number.
fn custom_validity(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "ColdkeyInSwapSchedule: the coldkey is scheduled for a swap",
        1 => "StakeAmountTooLow",
        2 => "BalanceTooLow: the signing account cannot pay the fee",
        3 => "SubnetDoesntExist",
        4 => "HotkeyAccountDoesntExist",
        5 => "NotEnoughStakeToWithdraw",
        6 => "RateLimitExceeded: weights were set too recently (WeightsSetRateLimit)",
        7 => "InsufficientLiquidity",
        8 => "SlippageTooHigh",
        9 => "TransferDisallowed",
        10 => "HotKeyNotRegisteredInNetwork: the hotkey is not registered on this subnet",
        11 => "InvalidIpAddress",
        12 => "ServingRateLimitExceeded",
        13 => "InvalidPort",
        14 => "ZeroMaxAmount",
        255 => "BadRequest",
        _ => return None,
    })
}

/// A pool refusal, with subtensor's custom codes named.
pub(crate) fn refusal(message: &str) -> SubtensorError {
    let named = message
        .rfind("Custom(")
        .and_then(|at| {
            let rest = &message[at + 7..];
            rest.split(')').next()?.trim().parse::<u8>().ok()
        })
        .or_else(|| {
            let lower = message.to_ascii_lowercase();
            let at = lower.find("custom error: ")?;
            lower[at + 14..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u8>()
                .ok()
        })
        .and_then(custom_validity);
    let text = match named {
        Some(name) => format!("{message} ({name})"),
        None => message.to_owned(),
    };
    let lower = message.to_ascii_lowercase();
    if lower.contains("connection") || lower.contains("restart") || lower.contains("timeout") {
        SubtensorError::Unavailable(text)
    } else if named.is_some_and(|n| n.starts_with("RateLimitExceeded")) {
        SubtensorError::NotYet(text)
    } else {
        SubtensorError::Invalid(text)
    }
}

/// A failed dispatch: the pallet error by name, with a hint for the ones a
/// validator meets.
pub(crate) fn dispatch_failure(message: &str, events: Vec<String>) -> SubtensorError {
    let hint = HINTS
        .iter()
        .find(|(name, _)| message.contains(name))
        .map(|(_, hint)| *hint);
    let error = match hint {
        Some(hint) => format!("{message}: {hint}"),
        None => message.to_owned(),
    };
    if message.contains("SettingWeightsTooFast") || message.contains("RevealTooEarly") {
        return SubtensorError::NotYet(error);
    }
    SubtensorError::Dispatch { error, events }
}

const HINTS: &[(&str, &str)] = &[
    (
        "CommitRevealEnabled",
        "the subnet has commit-reveal on; weights must be committed, not set",
    ),
    (
        "CommitRevealDisabled",
        "the subnet has commit-reveal off; weights must be set directly",
    ),
    (
        "SettingWeightsTooFast",
        "weights were set less than WeightsSetRateLimit blocks ago",
    ),
    (
        "NotEnoughStakeToSetWeights",
        "the hotkey's stake is below the chain's StakeThreshold",
    ),
    (
        "IncorrectWeightVersionKey",
        "the subnet's WeightsVersionKey changed; weights carry the old one",
    ),
    (
        "HotKeyNotRegisteredInSubNet",
        "the hotkey is not registered on this subnet",
    ),
    (
        "NeuronNoValidatorPermit",
        "the hotkey has no validator permit on this subnet",
    ),
    ("RevealTooEarly", "the reveal window has not opened yet"),
    ("ExpiredWeightCommit", "the commit's reveal window has passed"),
    (
        "InvalidRevealCommitHashNotMatch",
        "the revealed weights or salt differ from the commit",
    ),
    ("NoWeightsCommitFound", "there is no commit to reveal"),
    ("TooManyUnrevealedCommits", "too many commits wait for their reveal"),
    (
        "WeightVecLengthIsLow",
        "fewer weights than the subnet's MinAllowedWeights",
    ),
    ("MaxWeightExceeded", "a weight exceeds the subnet's MaxWeightsLimit"),
    ("UidsLengthExceedUidsInSubNet", "more uids than the subnet has"),
    ("UidVecContainInvalidOne", "a uid is not registered on the subnet"),
    ("DuplicateUids", "a uid appears twice"),
    ("SubNetworkDoesNotExist", "no such subnet"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_validity_codes_are_named() {
        let e = refusal("Invalid Transaction: Custom error: 6");
        assert!(
            matches!(e, SubtensorError::NotYet(ref m) if m.contains("RateLimitExceeded")),
            "{e:?}"
        );
        let e = refusal("Transaction is invalid: Invalid(Custom(10))");
        assert!(e.to_string().contains("HotKeyNotRegisteredInNetwork"), "{e}");
        let e = refusal("Transaction has a bad signature");
        assert!(matches!(e, SubtensorError::Invalid(_)));
    }

    #[test]
    fn pallet_errors_get_a_hint_and_a_kind() {
        let e = dispatch_failure("Pallet error: SubtensorModule::CommitRevealEnabled", vec![]);
        assert!(e.to_string().contains("must be committed"), "{e}");
        assert!(matches!(ChainError::from(e), ChainError::Refused(_)));
        let e = dispatch_failure("Pallet error: SubtensorModule::SettingWeightsTooFast", vec![]);
        assert!(ChainError::from(e).is_transient());
    }
}
