//! The cast of a devnet: keys and wallets for the owner, validators and
//! miners, their registrations (on the local metagraph, or on a local
//! subtensor chain), and each daemon's TOML configuration written into its
//! folder.

use std::path::{Path, PathBuf};

use resi_auth::wallet::{write_keypair, write_public};
use resi_auth::Keypair;
use resi_core::rules::ResultsVersion;
use resi_core::Hotkey;
use resi_miner::{MinerConfig, ScraperConfig, SelfCheck};
use resi_sim::Profile;
use resi_validator::ValidatorConfig;

use crate::outcome::MinerInfo;
use crate::DevnetError;

/// What to run.
#[derive(Clone, Debug)]
pub struct DevnetOptions {
    /// Epochs to run and judge.
    pub epochs: u32,
    pub epoch_seconds: u64,
    pub validators: usize,
    /// One miner per entry. A `copier` copies the first `honest-fast` miner.
    pub miners: Vec<Profile>,
    /// Zipcodes in the simulated market.
    pub market_zipcodes: usize,
    /// Expected listings per epoch (the coordinator's selection target).
    pub target_listings: u64,
    pub seed: u64,
    /// Keep everything here (otherwise a temporary directory, removed at the end).
    pub data_dir: Option<PathBuf>,
    /// Where listings come from.
    pub market: MarketKind,
    /// A local development chain (`ws://…`, //Alice sudo) to register
    /// everyone on and set weights on, instead of the metagraph file.
    pub chain: Option<String>,
    /// Leave the miners and validators running after the verdict (with
    /// `--keep-running`: the dashboard keeps showing live epochs); they
    /// stop at [`crate::Devnet::shutdown`].
    pub keep_daemons: bool,
    /// Rehearse a rules upgrade (PROTOCOL.md §7a) instead of running the
    /// newest results version throughout.
    pub upgrade: Option<UpgradeRehearsal>,
}

/// A rules upgrade on the devnet: epochs before `from_epoch` are validated
/// by the previous results version, the rest by the newest, announced by
/// the coordinator from the start; the last `old_validators` validators
/// play the previous release (they know only the previous version), the
/// others have upgraded early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpgradeRehearsal {
    /// The judged epoch (1 = the first) from which the newest version applies.
    pub from_epoch: u32,
    pub old_validators: usize,
}

impl UpgradeRehearsal {
    /// The version before the upgrade and the version it upgrades to.
    pub fn versions() -> (ResultsVersion, ResultsVersion) {
        (ResultsVersion::OLDEST, ResultsVersion::LATEST)
    }
}

/// Where the cast registers.
pub enum Registry<'a> {
    /// The local metagraph file.
    Local(&'a Path),
    /// A subnet on a local subtensor chain; coldkeys are funded by //Alice.
    Chain {
        dev: &'a resi_subtensor::dev::DevChain<'a>,
        netuid: u16,
        url: String,
    },
}

impl Registry<'_> {
    async fn register(&self, hot: &Keypair, cold: &Keypair, stake: u64, permit: bool) -> Result<u16, DevnetError> {
        match self {
            Registry::Local(metagraph) => {
                resi_chain::local::register(metagraph, hot.hotkey(), cold.hotkey(), stake, permit)
                    .map(|n| n.uid)
                    .map_err(|e| DevnetError(format!("metagraph: {e}")))
            }
            Registry::Chain { dev, netuid, .. } => {
                let on_chain =
                    |e: resi_subtensor::SubtensorError| DevnetError(format!("registering {}: {e}", hot.hotkey()));
                let tao = resi_subtensor::dev::TAO;
                dev.fund(cold, 100 * tao + u128::from(stake)).await.map_err(on_chain)?;
                let uid = dev.register(*netuid, cold, hot).await.map_err(on_chain)?;
                if stake > 0 {
                    dev.stake(*netuid, cold, hot, stake).await.map_err(on_chain)?;
                }
                if permit {
                    // Validators sign weight extrinsics: their hotkeys pay fees.
                    dev.fund(hot, 10 * tao).await.map_err(on_chain)?;
                }
                Ok(uid)
            }
        }
    }

    /// The `[chain]` section for the daemons' configurations.
    fn chain_config(&self) -> resi_chain::ChainConfig {
        match self {
            Registry::Local(metagraph) => resi_chain::ChainConfig {
                backend: "local".into(),
                metagraph: metagraph.to_path_buf(),
                validator_min_stake: crate::DEVNET_VALIDATOR_MIN_STAKE,
                ..resi_chain::ChainConfig::default()
            },
            Registry::Chain { netuid, url, .. } => resi_chain::ChainConfig {
                backend: "subtensor".into(),
                network: url.clone(),
                netuid: Some(*netuid),
                sync_seconds: 5,
                validator_min_stake: crate::DEVNET_VALIDATOR_MIN_STAKE,
                ..resi_chain::ChainConfig::default()
            },
        }
    }
}

/// The devnet's source of listings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MarketKind {
    /// The deterministic synthetic market (`resi sim serve`).
    #[default]
    Synthetic,
    /// The real-data corpus in this folder, served by `resi sim replay`:
    /// miners use the `zillow-api` scraper (an `honest-slow` miner the
    /// example Python scraper through the `command` plug-in; cheaters a
    /// profile on top of real listings), validators the `zillow-api`
    /// property source.
    Replay(PathBuf),
}

/// The key the devnet's replay server wants.
pub const REPLAY_API_KEY: &str = "devnet-replay-key";

/// The example Python scraper, when this build can find it and python3 runs.
/// The example Python scraper (`examples/scrapers/zillow_api.py`), carried
/// in the binary so a devnet runs it from any folder.
const PYTHON_EXAMPLE: &str = include_str!("../../../examples/scrapers/zillow_api.py");

/// Writes the example Python scraper into the devnet's folder and returns
/// its absolute path (the `command` plug-in passes arguments as written),
/// or `None` without `python3`.
fn python_example(dir: &Path) -> Result<Option<PathBuf>, DevnetError> {
    let python = std::process::Command::new("python3").arg("--version").output();
    if !python.is_ok_and(|o| o.status.success()) {
        return Ok(None);
    }
    let script = dir.join("scrapers").join("zillow_api.py");
    let failed = |e: std::io::Error| DevnetError(format!("{}: {e}", script.display()));
    if let Some(folder) = script.parent() {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    std::fs::write(&script, PYTHON_EXAMPLE).map_err(failed)?;
    std::path::absolute(&script).map(Some).map_err(failed)
}

/// `path` as seen from `folder`: the saved configurations name their files
/// relative to their own folder (how `resi miner --config` reads them), so a
/// devnet's `--data-dir` runs as saved from anywhere, and moves as a whole.
fn relative_to(folder: &Path, path: &Path) -> PathBuf {
    let (Ok(folder), Ok(path)) = (std::path::absolute(folder), std::path::absolute(path)) else {
        return path.to_path_buf();
    };
    let (mut from, mut to) = (folder.components().peekable(), path.components().peekable());
    while let (Some(a), Some(b)) = (from.peek(), to.peek()) {
        if a != b {
            break;
        }
        from.next();
        to.next();
    }
    let mut out: PathBuf = from.map(|_| std::path::Component::ParentDir).collect();
    out.extend(to);
    out
}

/// The miner's configuration as saved in `folder`.
fn saved_miner(folder: &Path, config: &MinerConfig) -> MinerConfig {
    let mut saved = config.clone();
    saved.hotkey_file = relative_to(folder, &config.hotkey_file);
    saved.data_dir = relative_to(folder, &config.data_dir);
    if let ScraperConfig::Sim { copy_of: Some(p), .. } = &mut saved.scraper {
        *p = relative_to(folder, p);
    }
    saved
}

/// The validator's configuration as saved in `folder`.
fn saved_validator(folder: &Path, config: &ValidatorConfig) -> ValidatorConfig {
    let mut saved = config.clone();
    saved.hotkey_file = relative_to(folder, &config.hotkey_file);
    saved.data_dir = relative_to(folder, &config.data_dir);
    if config.chain.backend == "local" {
        saved.chain.metagraph = relative_to(folder, &config.chain.metagraph);
    }
    saved
}

impl Default for DevnetOptions {
    fn default() -> Self {
        // One of every profile, then more honest miners.
        let mut miners = Profile::ALL.to_vec();
        miners.extend([Profile::HonestFast, Profile::HonestFast, Profile::HonestSlow]);
        Self {
            epochs: 3,
            epoch_seconds: 30,
            validators: 2,
            miners,
            market_zipcodes: 80,
            target_listings: 3_000,
            seed: 7,
            data_dir: None,
            market: MarketKind::Synthetic,
            chain: None,
            keep_daemons: false,
            upgrade: None,
        }
    }
}

/// Writes a wallet hotkey file for `key` under `dir/wallets/{name}`; returns its path.
fn write_wallet(dir: &Path, name: &str, key: &Keypair, coldkey: &Hotkey) -> Result<PathBuf, DevnetError> {
    let wallet = dir.join("wallets").join(name);
    let hotkey_file = wallet.join("hotkeys").join("default");
    write_keypair(&hotkey_file, key, true).map_err(|e| DevnetError(format!("wallet {name}: {e}")))?;
    write_public(&wallet.join("coldkeypub.txt"), coldkey, true)
        .map_err(|e| DevnetError(format!("wallet {name}: {e}")))?;
    Ok(hotkey_file)
}

fn write_toml<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DevnetError> {
    let text = toml::to_string_pretty(value).map_err(|e| DevnetError(format!("{}: {e}", path.display())))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DevnetError(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| DevnetError(format!("{}: {e}", path.display())))
}

/// Everyone on the devnet, registered, with their configurations.
pub struct Cast {
    pub miners: Vec<MinerInfo>,
    pub miner_configs: Vec<MinerConfig>,
    pub validators: Vec<(String, u16, Hotkey)>,
    pub validator_configs: Vec<ValidatorConfig>,
}

/// The subnet owner's keys; on a chain the owner created the subnet (uid 0).
pub struct Owner {
    pub hotkey: Keypair,
    pub coldkey: Keypair,
}

impl Owner {
    pub fn generate() -> Result<Self, DevnetError> {
        Ok(Self {
            hotkey: new_key()?,
            coldkey: new_key()?,
        })
    }
}

fn new_key() -> Result<Keypair, DevnetError> {
    Keypair::generate().map_err(|e| DevnetError(format!("generating a key: {e}")))
}

/// Registers the validators and the miners after the owner (uid 0, already
/// registered on a chain: it created the subnet), and writes their wallets
/// and configurations under `dir`.
pub async fn cast(
    options: &DevnetOptions,
    dir: &Path,
    registry: &Registry<'_>,
    owner: &Owner,
    coordinator: &url::Url,
    market: &url::Url,
) -> Result<Cast, DevnetError> {
    let replay = matches!(options.market, MarketKind::Replay(_));
    if let Some(p) = options.miners.iter().find(|p| replay && needs_synthetic_market(**p)) {
        return Err(DevnetError(format!("the {p} profile needs the synthetic market")));
    }
    write_wallet(dir, "owner", &owner.hotkey, &owner.coldkey.hotkey())?;
    if let Registry::Local(_) = registry {
        registry.register(&owner.hotkey, &owner.coldkey, 0, false).await?;
    }

    let mut validators = Vec::new();
    let mut validator_configs = Vec::new();
    for i in 0..options.validators {
        let (key, cold) = (new_key()?, new_key()?);
        let name = format!("validator-{}", i + 1);
        let file = write_wallet(dir, &name, &key, &cold.hotkey())?;
        let uid = registry.register(&key, &cold, 1_000_000_000_000, true).await?;
        let folder = dir.join("validators").join(&name);
        let config = ValidatorConfig {
            // One process: the coordinator's /metrics shows every daemon's.
            metrics_listen: resi_runtime::config::MetricsListen::Off,
            coordinator: coordinator.clone(),
            hotkey_file: file,
            data_dir: folder.join("data"),
            property_source: if replay {
                resi_validator::PropertySourceConfig::Table(resi_validator::PropertySourceTable::ZillowApi {
                    url: market.clone(),
                    api_key: Some(REPLAY_API_KEY.into()),
                    api_key_env: "RESI_ZILLOW_API_KEY".into(),
                    requests_per_second: 200.0,
                    max_concurrent_requests: 8,
                })
            } else {
                resi_validator::PropertySourceConfig::Url(market.clone())
            },
            grace_seconds: 1,
            max_concurrent_downloads: 8,
            consensus_wait_seconds: (options.epoch_seconds / 2).max(5),
            backfill_epochs: 3,
            retry_seconds: 2,
            validator_min_stake: None,
            burn_bps: 0,
            burn_owner_uid: None,
            chain: registry.chain_config(),
            validation: resi_core::ValidationConfig::default(),
            // The first validator's daemon publishes each epoch into its
            // data folder after its weights, as `[dataset] publish = true`
            // does; the devnet publishes its judged epochs into the bucket
            // itself, after the verdict.
            dataset: resi_validator::config::DatasetSection {
                publish: i == 0,
                ..resi_validator::config::DatasetSection::default()
            },
        };
        write_toml(&folder.join("validator.toml"), &saved_validator(&folder, &config))?;
        validators.push((name, uid, key.hotkey()));
        validator_configs.push(config);
    }

    let mut miners = Vec::new();
    let mut keys = Vec::new();
    for (i, profile) in options.miners.iter().enumerate() {
        let (key, cold) = (new_key()?, new_key()?);
        let name = format!("miner-{:02}-{profile}", i + 1);
        let file = write_wallet(dir, &name, &key, &cold.hotkey())?;
        let uid = registry.register(&key, &cold, 0, false).await?;
        miners.push(MinerInfo {
            name,
            uid,
            hotkey: key.hotkey(),
            profile: *profile,
        });
        keys.push((file, cold.hotkey()));
    }
    let victim = miners
        .iter()
        .find(|m| m.profile == Profile::HonestFast)
        .map(|m| dir.join("miners").join(&m.name).join("data").join("miner.db"));
    let python_scraper = if replay { python_example(dir)? } else { None };
    let mut miner_configs = Vec::new();
    for (m, (file, cold)) in miners.iter().zip(keys) {
        let folder = dir.join("miners").join(&m.name);
        if m.profile == Profile::Copier && victim.is_none() {
            return Err(DevnetError("a copier needs an honest-fast miner to copy".into()));
        }
        let config = MinerConfig {
            metrics_listen: resi_runtime::config::MetricsListen::Off,
            coordinator: coordinator.clone(),
            hotkey_file: file,
            coldkey: Some(cold.to_string()),
            coldkeypub_file: None,
            data_dir: folder.join("data"),
            max_concurrent_scrapes: 4,
            retention_epochs: 6,
            // Cheaters upload what they have: that is what validators must catch.
            self_check: if m.profile.is_honest() {
                SelfCheck::Enforce
            } else {
                SelfCheck::Warn
            },
            retry_seconds: 2,
            scraper: if !replay {
                ScraperConfig::Sim {
                    url: market.clone(),
                    profile: m.profile.to_string(),
                    copy_of: if m.profile == Profile::Copier {
                        victim.clone()
                    } else {
                        None
                    },
                }
            } else if let (Profile::HonestSlow, Some(script)) = (m.profile, &python_scraper) {
                ScraperConfig::Command {
                    program: "python3".into(),
                    args: vec![script.display().to_string()],
                    env: std::collections::BTreeMap::from([
                        ("ZILLOW_API_URL".to_owned(), market.to_string()),
                        ("RESI_ZILLOW_API_KEY".to_owned(), REPLAY_API_KEY.to_owned()),
                    ]),
                    name: None,
                }
            } else {
                ScraperConfig::ZillowApi {
                    url: market.clone(),
                    api_key: Some(REPLAY_API_KEY.into()),
                    api_key_env: "RESI_ZILLOW_API_KEY".into(),
                    requests_per_second: 200.0,
                    max_concurrent_requests: 4,
                    profile: (!m.profile.is_honest()).then(|| m.profile.to_string()),
                }
            },
        };
        write_toml(&folder.join("miner.toml"), &saved_miner(&folder, &config))?;
        miner_configs.push(config);
    }
    Ok(Cast {
        miners,
        miner_configs,
        validators,
        validator_configs,
    })
}

/// Profiles that read the synthetic market directly (the copier copies a
/// miner of its own market; the pre-scraper reads it as of the day before),
/// so they cannot play on real listings.
pub fn needs_synthetic_market(profile: Profile) -> bool {
    matches!(profile, Profile::Copier | Profile::PreScrape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_saved_relative_to_the_config_folder() {
        let root = Path::new("/srv/devnet");
        let folder = root.join("miners/miner-02-honest-slow");
        assert_eq!(
            relative_to(&folder, &root.join("wallets/miner-02-honest-slow/hotkeys/default")),
            Path::new("../../wallets/miner-02-honest-slow/hotkeys/default")
        );
        assert_eq!(relative_to(&folder, &folder.join("data")), Path::new("data"));
        // `--data-dir ./data`: both sides taken from the current folder.
        assert_eq!(
            relative_to(
                Path::new("data/validators/validator-1"),
                Path::new("data/metagraph.json")
            ),
            Path::new("../../metagraph.json")
        );
    }
}
