//! Setting up a subnet on a local development chain (chopsticks or a
//! `--dev` node): `//Alice` is sudo and rich. The same calls btcli makes
//! (`../shared/chain/probe_steps.py`): fund hotkeys, create the subnet, lift
//! its rate limits, start emissions, register neurons by burn, stake, and
//! advance blocks. Never used against finney or the test network.

use resi_auth::Keypair;
use resi_core::Hotkey;
use subxt::dynamic::Value;
use subxt::utils::AccountId32;

use crate::error::SubtensorError;
use crate::node::{self, Included, Node};
use crate::weights::call;

const MODULE: &str = "SubtensorModule";
/// One TAO in rao.
pub const TAO: u128 = 1_000_000_000;

/// A local chain's sudo account and the node.
pub struct DevChain<'a> {
    pub node: &'a Node,
    pub sudo: Keypair,
}

fn account(key: &Keypair) -> Value {
    Value::from_bytes(key.public_key())
}

fn address(key: &[u8; 32]) -> Value {
    Value::unnamed_variant("Id", [Value::from_bytes(key)])
}

impl<'a> DevChain<'a> {
    pub fn new(node: &'a Node) -> Result<Self, SubtensorError> {
        let sudo = Keypair::from_uri("//Alice").map_err(|e| SubtensorError::Refused(e.to_string()))?;
        Ok(Self { node, sudo })
    }

    /// Builds `count` empty blocks (chopsticks' `dev_newBlock`), in batches.
    pub async fn new_blocks(&self, count: u64) -> Result<u64, SubtensorError> {
        let mut left = count;
        while left > 0 {
            let batch = left.min(20);
            let _: serde_json::Value = self
                .node
                .rpc("dev_newBlock", serde_json::json!([{ "count": batch }]))
                .await?;
            left -= batch;
        }
        self.block().await
    }

    pub async fn block(&self) -> Result<u64, SubtensorError> {
        Ok(self.node.at_best().await?.block_number())
    }

    /// Runs `inner` (a `Value` of the runtime's `RuntimeCall`) as sudo; an
    /// `Err` inside `Sudo.Sudid` is an error too.
    pub async fn sudo(&self, pallet: &str, name: &str, fields: Vec<(&str, Value)>) -> Result<Included, SubtensorError> {
        let inner = Value::unnamed_variant(pallet, [Value::named_variant(name, fields)]);
        let included = self.node.submit(&self.sudo, &call("Sudo", "sudo", vec![inner])).await?;
        if let Some(failed) = included
            .events
            .iter()
            .find(|e| e.starts_with("Sudo.Sudid") && e.contains("Err"))
        {
            return Err(SubtensorError::Dispatch {
                error: format!("sudo {pallet}.{name}: {failed}"),
                events: included.events.clone(),
            });
        }
        Ok(included)
    }

    pub async fn fund(&self, to: &Keypair, rao: u128) -> Result<Included, SubtensorError> {
        let transfer = call(
            "Balances",
            "transfer_keep_alive",
            vec![address(&to.public_key()), Value::u128(rao)],
        );
        self.node.submit(&self.sudo, &transfer).await
    }

    /// Creates a subnet owned by `owner_cold` with `owner_hot`, makes it
    /// quick to use (no network or weights rate limit, commit-reveal off,
    /// a 10-block tempo), starts it, and returns its netuid.
    pub async fn create_subnet(&self, owner_cold: &Keypair, owner_hot: &Keypair) -> Result<u16, SubtensorError> {
        self.sudo(
            "AdminUtils",
            "sudo_set_network_rate_limit",
            vec![("rate_limit", Value::u128(0))],
        )
        .await?;
        let at = self.node.at_best().await?;
        // The lock cost grows with every subnet registered: fund the owner
        // with what it is now (//Alice pays her own).
        if owner_cold.public_key() != self.sudo.public_key() {
            let cost_call = subxt::dynamic::runtime_api_call::<_, Value>(
                "SubnetRegistrationRuntimeApi",
                "get_network_registration_cost",
                (),
            );
            let cost = at
                .runtime_apis()
                .call(cost_call)
                .await
                .ok()
                .and_then(|v| crate::metagraph::number(&v))
                .unwrap_or(10_000 * TAO);
            self.fund(owner_cold, cost + 100 * TAO).await?;
        }
        let at = self.node.at_best().await?;
        let netuid: u16 = node::storage(&at, MODULE, "TotalNetworks", ()).await?;
        let mut fields = vec![account(owner_hot)];
        if node::call_fields(&at, MODULE, "register_network").is_some_and(|f| f.iter().any(|n| n == "mechid")) {
            fields.push(Value::u128(1));
        }
        self.node
            .submit(owner_cold, &call(MODULE, "register_network", fields))
            .await?;
        self.sudo(
            "AdminUtils",
            "sudo_set_weights_set_rate_limit",
            vec![
                ("netuid", Value::u128(netuid.into())),
                ("weights_set_rate_limit", Value::u128(0)),
            ],
        )
        .await?;
        // Commit-reveal is on by default on newer runtimes (off at spec 293):
        // a devnet offline cannot reveal weights timelocked to a drand round,
        // so its subnet starts with weights set in the plain; a test that
        // wants commit-reveal turns it on (`set_commit_reveal`).
        self.set_commit_reveal(netuid, false).await?;
        // A devnet registers a dozen neurons at once: lift the per-block and
        // per-interval registration limits (3 × target per interval).
        for (name, field) in [
            (
                "sudo_set_target_registrations_per_interval",
                "target_registrations_per_interval",
            ),
            ("sudo_set_max_registrations_per_block", "max_registrations_per_block"),
        ] {
            self.sudo(
                "AdminUtils",
                name,
                vec![("netuid", Value::u128(netuid.into())), (field, Value::u128(1_000))],
            )
            .await?;
        }
        let at = self.node.at_best().await?;
        let tempo: u16 = node::storage(&at, MODULE, "Tempo", (netuid,)).await?;
        if tempo > 20 {
            self.sudo(
                "AdminUtils",
                "sudo_set_tempo",
                vec![("netuid", Value::u128(netuid.into())), ("tempo", Value::u128(10))],
            )
            .await?;
        }
        if node::has_call(&at, MODULE, "start_call") {
            let wait = at
                .constants()
                .entry(subxt::dynamic::constant::<u64>(MODULE, "DurationOfStartCall"))
                .map_err(|e| SubtensorError::Decode(format!("DurationOfStartCall: {e}")))?;
            self.new_blocks(wait + 1).await?;
            self.node
                .submit(
                    owner_cold,
                    &call(MODULE, "start_call", vec![Value::u128(netuid.into())]),
                )
                .await?;
        }
        Ok(netuid)
    }

    pub async fn set_commit_reveal(&self, netuid: u16, enabled: bool) -> Result<Included, SubtensorError> {
        self.sudo(
            "AdminUtils",
            "sudo_set_commit_reveal_weights_enabled",
            vec![
                ("netuid", Value::u128(netuid.into())),
                ("enabled", Value::bool(enabled)),
            ],
        )
        .await
    }

    /// Registers `hotkey` on `netuid`, paying the burn from `coldkey`; returns its uid.
    pub async fn register(&self, netuid: u16, coldkey: &Keypair, hotkey: &Keypair) -> Result<u16, SubtensorError> {
        self.node
            .submit(
                coldkey,
                &call(
                    MODULE,
                    "burned_register",
                    vec![Value::u128(netuid.into()), account(hotkey)],
                ),
            )
            .await?;
        self.uid(netuid, &hotkey.hotkey())
            .await?
            .ok_or_else(|| SubtensorError::Refused(format!("{} not registered after burned_register", hotkey.hotkey())))
    }

    pub async fn uid(&self, netuid: u16, hotkey: &Hotkey) -> Result<Option<u16>, SubtensorError> {
        let at = self.node.at_best().await?;
        let address = subxt::dynamic::storage::<(u16, AccountId32), u16>(MODULE, "Uids");
        let value = at
            .storage()
            .try_fetch(address, (netuid, AccountId32(*hotkey.public_key())))
            .await
            .map_err(|e| SubtensorError::Unavailable(format!("Uids: {e}")))?;
        value
            .map(|v| v.decode().map_err(|e| SubtensorError::Decode(format!("Uids: {e}"))))
            .transpose()
    }

    /// Stakes `rao` from `coldkey` to `hotkey` on `netuid`.
    pub async fn stake(
        &self,
        netuid: u16,
        coldkey: &Keypair,
        hotkey: &Keypair,
        rao: u64,
    ) -> Result<Included, SubtensorError> {
        self.node
            .submit(
                coldkey,
                &call(
                    MODULE,
                    "add_stake",
                    vec![account(hotkey), Value::u128(netuid.into()), Value::u128(rao.into())],
                ),
            )
            .await
    }

    /// Stores a drand pulse (round, randomness, signature; hex) the way the
    /// drand pallet would after fetching it: a local chain has no internet.
    pub async fn store_drand_pulse(&self, round: u64, randomness: &str, signature: &str) -> Result<(), SubtensorError> {
        let storage = serde_json::json!([{
            "Drand": { "Pulses": [[[round], {
                "round": round,
                "randomness": format!("0x{randomness}"),
                "signature": format!("0x{signature}"),
            }]]}
        }]);
        let _: serde_json::Value = self.node.rpc("dev_setStorage", storage).await?;
        Ok(())
    }

    /// Advances past the subnet's next epoch, where permits are computed.
    pub async fn next_epoch(&self, netuid: u16) -> Result<u64, SubtensorError> {
        let at = self.node.at_best().await?;
        let tempo: u16 = node::storage(&at, MODULE, "Tempo", (netuid,)).await?;
        self.new_blocks(u64::from(tempo) + 2).await
    }
}
