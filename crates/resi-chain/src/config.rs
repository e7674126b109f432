//! The `[chain]` section every role shares: which backend, and where.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[chain]` of the coordinator's, miner's and validator's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// `local` (a metagraph JSON file and a weight ledger) or `subtensor`.
    pub backend: String,
    /// `local`: the metagraph file.
    pub metagraph: PathBuf,
    /// `subtensor`: `finney`, `test`, `local` or a `ws://` / `wss://` URL.
    pub network: String,
    /// `subtensor`: the subnet (46 on finney, 428 on the test network).
    pub netuid: Option<u16>,
    /// `subtensor`: seconds between metagraph syncs (served from memory between).
    pub sync_seconds: u64,
    /// `subtensor`: seconds to wait for an extrinsic to be included.
    pub inclusion_timeout_seconds: u64,
    /// `subtensor`, subnets with commit-reveal on: `auto` (the timelocked
    /// commit when the runtime offers it, as the Python SDK does) or `hash`
    /// (commit a hash, reveal later).
    pub commit_reveal: String,
    /// `subtensor`: the subnet mechanism whose weights this validator sets
    /// (0, the subnet's first, unless the subnet runs several).
    pub mechanism_id: u8,
    /// A neuron counts as a validator when it holds a validator permit
    /// **and** at least this much stake, in whole tokens as the Python SDK
    /// shows `metagraph.S` (total stake: alpha plus TAO × `TaoWeight`). The
    /// original subnet's rule was permit and 10,000. 0: the permit alone.
    /// Where a subnet has fewer neurons than permits, every miner holds a
    /// permit too: the stake is what tells them apart.
    pub validator_min_stake: u64,
}

/// One whole token in the chain's units (rao, and 10⁻⁹ alpha).
pub const UNITS_PER_TOKEN: u64 = 1_000_000_000;

/// No subnet holds more stake than TAO's whole supply (21 million); a
/// larger `validator_min_stake` is a value still written in rao.
const MAX_STAKE_TOKENS: u64 = 21_000_000;

/// `tokens` whole tokens in the chain's units (what `Neuron::stake` holds).
pub fn tokens_to_units(tokens: u64) -> u64 {
    tokens.saturating_mul(UNITS_PER_TOKEN)
}

/// A role's own `validator_min_stake` (rao, "permit or stake") from before
/// it moved to `[chain]`: refused with where it went, never reinterpreted.
pub fn refuse_moved_validator_min_stake(old: Option<u64>) -> Result<(), ChainConfigError> {
    match old {
        None => Ok(()),
        Some(old) => Err(ChainConfigError(format!(
            "validator_min_stake = {old} outside [chain] is no longer read: it moved to [chain] and is in \
             whole tokens now (a validator needs a permit and that stake); remove it here and set [chain] \
             validator_min_stake"
        ))),
    }
}

/// Which commit-reveal scheme to use when the subnet has it on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommitRevealMode {
    /// The timelocked commit when the runtime offers it, else the hash commit.
    #[default]
    Auto,
    /// Always the hash commit and a later reveal.
    Hash,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            metagraph: PathBuf::from("metagraph.json"),
            network: "finney".into(),
            netuid: None,
            sync_seconds: 120,
            inclusion_timeout_seconds: 60,
            commit_reveal: "auto".into(),
            mechanism_id: 0,
            validator_min_stake: DEFAULT_VALIDATOR_MIN_STAKE,
        }
    }
}

/// The original subnet's `is_validator`: permit and 10,000 tokens of stake.
pub const DEFAULT_VALIDATOR_MIN_STAKE: u64 = 10_000;

/// A Bittensor network, by name or URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    Finney,
    Test,
    Local,
    Url(String),
}

impl Network {
    pub fn parse(text: &str) -> Result<Self, ChainConfigError> {
        match text.trim() {
            "finney" => Ok(Network::Finney),
            "test" => Ok(Network::Test),
            "local" => Ok(Network::Local),
            url if url.starts_with("ws://") || url.starts_with("wss://") => Ok(Network::Url(url.to_owned())),
            other => Err(ChainConfigError(format!(
                "chain network {other:?}: expected finney, test, local or a ws:// or wss:// URL"
            ))),
        }
    }

    /// The node's WebSocket endpoint (the same ones btcli uses).
    pub fn url(&self) -> &str {
        match self {
            Network::Finney => "wss://entrypoint-finney.opentensor.ai:443",
            Network::Test => "wss://test.finney.opentensor.ai:443",
            Network::Local => "ws://127.0.0.1:9944",
            Network::Url(url) => url,
        }
    }
}

/// Why a `[chain]` section is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[chain]: {0}")]
pub struct ChainConfigError(pub String);

/// A checked `[chain]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainBackend {
    Local {
        metagraph: PathBuf,
    },
    Subtensor {
        network: Network,
        netuid: u16,
        sync_seconds: u64,
        inclusion_timeout_seconds: u64,
        commit_reveal: CommitRevealMode,
        mechanism: u8,
    },
}

impl ChainConfig {
    pub fn backend(&self) -> Result<ChainBackend, ChainConfigError> {
        if self.validator_min_stake > MAX_STAKE_TOKENS {
            return Err(ChainConfigError(format!(
                "validator_min_stake = {} is in whole tokens and more than all TAO there is ({MAX_STAKE_TOKENS}); \
                 was it written in rao? {} rao is {} tokens",
                self.validator_min_stake,
                self.validator_min_stake,
                self.validator_min_stake / UNITS_PER_TOKEN
            )));
        }
        match self.backend.as_str() {
            "local" => Ok(ChainBackend::Local {
                metagraph: self.metagraph.clone(),
            }),
            "subtensor" => {
                let netuid = self.netuid.ok_or_else(|| {
                    ChainConfigError("backend \"subtensor\" needs `netuid` (46 on finney, 428 on test)".into())
                })?;
                if self.sync_seconds == 0 || self.inclusion_timeout_seconds == 0 {
                    return Err(ChainConfigError(
                        "sync_seconds and inclusion_timeout_seconds must be at least 1".into(),
                    ));
                }
                let commit_reveal = match self.commit_reveal.as_str() {
                    "auto" => CommitRevealMode::Auto,
                    "hash" => CommitRevealMode::Hash,
                    other => {
                        return Err(ChainConfigError(format!(
                            "commit_reveal {other:?}: expected \"auto\" or \"hash\""
                        )))
                    }
                };
                // The runtime's MAX_MECHANISM_COUNT_PER_SUBNET is 16.
                if self.mechanism_id >= 16 {
                    return Err(ChainConfigError(format!(
                        "mechanism_id {}: a subnet has at most 16 mechanisms (0–15)",
                        self.mechanism_id
                    )));
                }
                Ok(ChainBackend::Subtensor {
                    network: Network::parse(&self.network)?,
                    netuid,
                    sync_seconds: self.sync_seconds,
                    inclusion_timeout_seconds: self.inclusion_timeout_seconds,
                    commit_reveal,
                    mechanism: self.mechanism_id,
                })
            }
            other => Err(ChainConfigError(format!(
                "backend {other:?}: expected \"local\" or \"subtensor\""
            ))),
        }
    }

    /// [`Self::validator_min_stake`] in the chain's units (what
    /// `Neuron::stake` holds), for `Neuron::is_validator`.
    pub fn validator_min_stake_units(&self) -> u64 {
        tokens_to_units(self.validator_min_stake)
    }

    /// Checks without opening anything.
    pub fn check(&self) -> Result<(), ChainConfigError> {
        self.backend().map(|_| ())
    }

    /// A one-line description for startup logs.
    pub fn describe(&self) -> String {
        match self.backend() {
            Ok(ChainBackend::Local { metagraph }) => format!("local metagraph {}", metagraph.display()),
            Ok(ChainBackend::Subtensor { network, netuid, .. }) => {
                format!("subtensor {} netuid {netuid}", network.url())
            }
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtensor_needs_a_netuid_and_a_known_network() {
        let mut c = ChainConfig {
            backend: "subtensor".into(),
            ..ChainConfig::default()
        };
        assert!(c.check().unwrap_err().0.contains("netuid"));
        c.netuid = Some(46);
        assert_eq!(
            c.backend().unwrap(),
            ChainBackend::Subtensor {
                network: Network::Finney,
                netuid: 46,
                sync_seconds: 120,
                inclusion_timeout_seconds: 60,
                commit_reveal: CommitRevealMode::Auto,
                mechanism: 0,
            }
        );
        c.mechanism_id = 16;
        assert!(
            c.check().unwrap_err().0.contains("at most 16 mechanisms"),
            "{:?}",
            c.check()
        );
        c.mechanism_id = 15;
        assert!(c.check().is_ok());
        c.commit_reveal = "sometimes".into();
        assert!(c.check().unwrap_err().0.contains("sometimes"));
        c.commit_reveal = "hash".into();
        c.network = "mainnet".into();
        assert!(c.check().unwrap_err().0.contains("finney, test, local"));
        c.network = "ws://127.0.0.1:9944".into();
        assert!(c.check().is_ok());
        c.backend = "ethereum".into();
        assert!(c.check().unwrap_err().0.contains("ethereum"));
    }

    /// The minimum stake is whole tokens; a value only rao can be is refused
    /// with what it would be in tokens, and a key left in a role's section
    /// names where it moved.
    #[test]
    fn validator_min_stake_is_whole_tokens() {
        let mut c = ChainConfig::default();
        assert_eq!(c.validator_min_stake_units(), 10_000 * UNITS_PER_TOKEN);
        c.validator_min_stake = 21_000_000;
        assert!(c.check().is_ok());
        c.validator_min_stake = 21_000_001;
        assert!(
            c.check().unwrap_err().0.contains("more than all TAO"),
            "{:?}",
            c.check()
        );
        c.validator_min_stake = 10_000 * UNITS_PER_TOKEN;
        assert!(c.check().unwrap_err().0.contains("is 10000 tokens"), "{:?}", c.check());
        assert!(refuse_moved_validator_min_stake(None).is_ok());
        let e = refuse_moved_validator_min_stake(Some(0)).unwrap_err();
        assert!(e.0.contains("moved to [chain]"), "{e}");
    }

    #[test]
    fn networks_are_the_ones_btcli_uses() {
        assert_eq!(
            Network::parse("test").unwrap().url(),
            "wss://test.finney.opentensor.ai:443"
        );
        assert_eq!(Network::parse("local").unwrap().url(), "ws://127.0.0.1:9944");
    }
}
