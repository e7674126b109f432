//! resi-validator: the validator daemon.
//!
//! After each epoch's deadline (plus a grace period) a validator fetches the
//! epoch with its revealed validation seed and checks it against the
//! commitment, lists the epoch's objects through the coordinator, verifies
//! every miner's signed manifest, downloads and examines the submissions a
//! bounded number at a time (decoding on blocking threads, keeping only what
//! ranking needs), runs the engine of `resi-core` with tier 3 against a
//! property source, signs and publishes `validation_results.json`, collects
//! the other validators' results, evaluates the stake-weighted consensus and
//! sets weights through `resi-chain`. A journal per epoch makes every step
//! happen once, across restarts.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod catchup;
pub mod config;
pub mod dataset;
pub mod journal;
pub mod metrics;
pub mod pipeline;
pub mod upgrade;

pub use config::{PropertySourceConfig, PropertySourceTable, ValidatorConfig, ValidatorFlags};
pub use dataset::store::DatasetStore;
pub use pipeline::{EpochReport, Validator, ValidatorError, ValidatorSettings};
/// The property source a configured validator looks listings up in.
pub use resi_sources::AnySource;

use std::sync::Arc;
use std::time::Duration;

use config::ConfigError;
use resi_runtime::{Context, SharedClock, Shutdown};
use tokio::sync::mpsc::UnboundedSender;

impl ValidatorConfig {
    /// The daemon's settings from this file.
    pub fn settings(&self) -> ValidatorSettings {
        ValidatorSettings {
            grace: Duration::from_secs(self.grace_seconds),
            max_concurrent_downloads: self.max_concurrent_downloads,
            consensus_wait: Duration::from_secs(self.consensus_wait_seconds),
            consensus_poll: Duration::from_secs((self.consensus_wait_seconds / 20).clamp(1, 15)),
            retry: Duration::from_secs(self.retry_seconds.max(1)),
            validator_min_stake: self.chain.validator_min_stake_units(),
            burn: resi_core::weights::BurnPolicy {
                burn_bps: self.burn_bps,
                owner_uid: self.burn_owner_uid,
            },
            validation: self.validation.clone(),
            first_epoch: None,
            backfill_epochs: self.backfill_epochs,
            ..ValidatorSettings::default()
        }
    }

    /// Where this validator's dataset goes: `[dataset.s3]`, else
    /// `[dataset] dir`, else the data directory. A bucket's missing
    /// settings come from the standard AWS variables and files.
    pub fn dataset_store(&self) -> Result<DatasetStore, ConfigError> {
        match &self.dataset.s3 {
            Some(bucket) => {
                let aws = resi_storage::AwsSettings::from_process()
                    .map_err(|e| ConfigError::Invalid(format!("[dataset.s3]: {e}")))?;
                let clock = resi_runtime::SystemClock::shared();
                let bucket = resi_storage::Bucket::new(
                    bucket.s3_config(&aws)?,
                    resi_storage::RetryPolicy::default(),
                    Arc::new(move || clock.now_unix()),
                )
                .map_err(|e| ConfigError::Invalid(format!("[dataset.s3]: {e}")))?;
                Ok(DatasetStore::Bucket(Box::new(bucket)))
            }
            None => Ok(DatasetStore::Folder(
                self.dataset.dir.clone().unwrap_or_else(|| self.data_dir.clone()),
            )),
        }
    }
}

/// A validator built from its configuration (with `settings`, usually
/// [`ValidatorConfig::settings`]): reads the hotkey, opens the local chain,
/// connects the coordinator and the property source; with `[dataset]
/// publish`, opens the dataset's store. `chain` is the opened
/// `[chain]` backend (the binary opens it: this crate does not talk to nodes).
pub fn build(
    config: &ValidatorConfig,
    mut settings: ValidatorSettings,
    reports: Option<UnboundedSender<EpochReport>>,
    chain: Arc<dyn resi_chain::Chain>,
    clock: SharedClock,
    shutdown: Shutdown,
) -> Result<Validator<AnySource>, ValidatorError> {
    config.check()?;
    if config.dataset.publish && settings.dataset.is_none() {
        settings.dataset = Some(config.dataset_store()?);
    }
    let key = resi_auth::wallet::read_keypair(&config.hotkey_file)
        .map_err(|e| ValidatorError::Other(format!("hotkey {}: {e}", config.hotkey_file.display())))?;
    let key = Arc::new(key);
    let client = resi_api::CoordinatorClient::new(config.coordinator.clone(), Arc::clone(&key), Arc::clone(&clock))?;
    let s3 = resi_storage::S3Client::new(resi_storage::RetryPolicy::default())?;
    let source = config.property_source.build()?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ValidatorError::Other(format!("{}: {e}", config.data_dir.display())))?;
    Ok(Validator::new(
        key,
        client,
        s3,
        chain,
        source,
        settings,
        config.data_dir.clone(),
        reports,
        Context { clock, shutdown },
    ))
}
