//! One validator: for each finished epoch, the whole pipeline of PROTOCOL.md §4–§8.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use resi_api::{ClientError, CoordinatorClient, ReadObject};
use resi_auth::Keypair;
use resi_chain::{Chain, ChainError, WeightRecord};
use resi_core::consensus::{evaluate, ConsensusReport, ConsensusStatus, PublishedHash};
use resi_core::examine::{examine_oversized, examine_unreadable};
use resi_core::manifest::{Manifest, SignedManifest};
use resi_core::results::{SignedResults, Status};
use resi_core::rules::ResultsVersion;
use resi_core::verify::{PropertySource, SourceVerifier};
use resi_core::weights::{scores_to_weights, BurnPolicy, WeightError};
use resi_core::{
    examine, Assignment, EpochContext, EpochId, EpochValidation, Examined, Hotkey, ManifestEntry, SubmissionInput,
    ValidationConfig, ValidationResults, Zipcode,
};
use resi_runtime::{Context, SharedClock, Shutdown};
use resi_storage::{ObjectKey, S3Client, StorageError};
use tokio::sync::mpsc::UnboundedSender;

use crate::journal::{EpochJournal, JournalError};

/// How long a stop waits for the journaled step in hand before dropping it.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// Largest results file of another validator read.
const MAX_RESULTS_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    #[error("coordinator: {0}")]
    Coordinator(ClientError),
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("chain: {0}")]
    Chain(ChainError),
    #[error("journal: {0}")]
    Journal(JournalError),
    #[error("weights: {0}")]
    Weights(WeightError),
    #[error("epoch {0}: the validation seed is not revealed yet")]
    SeedNotRevealed(EpochId),
    #[error(
        "epoch {epoch}: the revealed validation seed does not match its commitment {commitment}; refusing to validate"
    )]
    SeedMismatch { epoch: EpochId, commitment: String },
    #[error("epoch {0}: {1}")]
    Assignment(EpochId, String),
    #[error("property source: {0}")]
    Source(resi_sources::SourceError),
    #[error("configuration: {0}")]
    Config(crate::config::ConfigError),
    #[error("epoch {epoch} is announced for results version {}: {cause}; nothing is published for it", cause.version)]
    UnknownResultsVersion {
        epoch: EpochId,
        cause: resi_core::rules::UnknownResultsVersion,
    },
    #[error("epoch {epoch}: validation rules: {cause}")]
    Rules {
        epoch: EpochId,
        cause: resi_core::config::ConfigError,
    },
    #[error(transparent)]
    Duplicate(#[from] resi_core::engine::DuplicateSubmission),
    #[error("stopping: the journal resumes this epoch at its next step")]
    Stopped,
    #[error("{0}")]
    Other(String),
}

/// How the validator behaves.
#[derive(Clone, Debug)]
pub struct ValidatorSettings {
    pub grace: Duration,
    pub max_concurrent_downloads: usize,
    pub consensus_wait: Duration,
    /// Pause between looks for the other validators' results.
    pub consensus_poll: Duration,
    pub retry: Duration,
    pub validator_min_stake: u64,
    pub burn: BurnPolicy,
    pub validation: ValidationConfig,
    /// Epochs before this one are never validated (a devnet's first epoch).
    pub first_epoch: Option<EpochId>,
    /// How many finished epochs back a (re)started validator validates: 1 =
    /// only the last one.
    pub backfill_epochs: u32,
    /// The newest results version this validator validates by: this
    /// release's. Lower only to play an older release (the devnet's
    /// upgrade rehearsal and tests).
    pub newest_results_version: ResultsVersion,
    /// `resi --version`, named in a published refusal.
    pub release: String,
    /// Publish each validated epoch's dataset there (`[dataset]`).
    pub dataset: Option<crate::dataset::store::DatasetStore>,
}

impl Default for ValidatorSettings {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(60),
            max_concurrent_downloads: 8,
            consensus_wait: Duration::from_secs(600),
            consensus_poll: Duration::from_secs(15),
            retry: Duration::from_secs(30),
            validator_min_stake: 0,
            burn: BurnPolicy::default(),
            validation: ValidationConfig::default(),
            first_epoch: None,
            backfill_epochs: 3,
            newest_results_version: ResultsVersion::LATEST,
            release: env!("CARGO_PKG_VERSION").to_owned(),
            dataset: None,
        }
    }
}

/// What one epoch came to, for logs and the devnet's leaderboard.
#[derive(Clone, Debug)]
pub struct EpochReport {
    pub validator: Hotkey,
    pub results: ValidationResults,
    pub consensus: ConsensusReport,
    /// Other validators' results that were refused, with why.
    pub rejected_peers: Vec<(Hotkey, String)>,
    pub weights: Option<WeightRecord>,
    pub weights_skipped: Option<String>,
}

/// A validator: one hotkey, its chain, its property source and its data directory.
pub struct Validator<S> {
    key: Arc<Keypair>,
    client: CoordinatorClient,
    s3: S3Client,
    chain: Arc<dyn Chain>,
    source: S,
    settings: ValidatorSettings,
    data_dir: PathBuf,
    reports: Option<UnboundedSender<EpochReport>>,
    clock: SharedClock,
    shutdown: Shutdown,
}

/// The listings files and manifests of one epoch, by miner.
#[derive(Default)]
struct EpochObjects {
    listings: Vec<(Hotkey, Zipcode, ReadObject)>,
    manifests: BTreeMap<Hotkey, ReadObject>,
}

impl<S: PropertySource + Clone + Send + Sync + 'static> Validator<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: Arc<Keypair>,
        client: CoordinatorClient,
        s3: S3Client,
        chain: Arc<dyn Chain>,
        source: S,
        settings: ValidatorSettings,
        data_dir: PathBuf,
        reports: Option<UnboundedSender<EpochReport>>,
        context: Context,
    ) -> Self {
        Self {
            key,
            client,
            s3,
            chain,
            source,
            settings,
            data_dir,
            reports,
            clock: context.clock,
            shutdown: context.shutdown,
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Between journaled steps: a stop requested now ends the epoch here;
    /// the journal resumes it at the next step.
    pub(crate) fn step_boundary(&self) -> Result<(), ValidatorError> {
        if self.shutdown.is_triggered() {
            Err(ValidatorError::Stopped)
        } else {
            Ok(())
        }
    }

    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    pub(crate) fn key(&self) -> &Keypair {
        &self.key
    }

    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    pub(crate) fn settings(&self) -> &ValidatorSettings {
        &self.settings
    }

    pub(crate) fn client(&self) -> &CoordinatorClient {
        &self.client
    }

    pub(crate) fn storage(&self) -> &S3Client {
        &self.s3
    }

    /// Runs until its shutdown handle is triggered: after each epoch's
    /// deadline plus the grace period, validates it (once: the journal
    /// remembers). A stop finishes the journaled step in hand.
    pub async fn run(&self) {
        let span = resi_runtime::daemon_span("validator", self.hotkey().as_str());
        span.in_scope(crate::metrics::describe);
        let work = tracing::Instrument::instrument(self.follow(), span);
        if self.shutdown.finish_within(STOP_GRACE, work).await.is_none() {
            tracing::warn!(
                "the step in hand did not finish within {STOP_GRACE:?} of the stop; it is redone on restart"
            );
        }
        tracing::info!(validator = %self.hotkey(), "validator stopped; the journal keeps its place");
    }

    async fn follow(&self) {
        // Epochs refused for their results version, said once each.
        let mut refused = std::collections::BTreeSet::new();
        let mut rules_checked: Option<EpochId> = None;
        while !self.shutdown.is_triggered() {
            let window = match self.client.current_assignment().await.map(|a| a.window()) {
                Ok(Ok(w)) => w,
                Ok(Err(e)) => {
                    tracing::error!("unusable assignment: {e}");
                    self.shutdown.sleep(self.settings.retry).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(validator = %self.hotkey(), "no current epoch: {e}");
                    self.shutdown.sleep(self.settings.retry).await;
                    continue;
                }
            };
            if rules_checked != Some(window.id) {
                rules_checked = Some(window.id);
                self.check_announced_rules().await;
            }
            let length = window.end_unix - window.start_unix;
            // The finished epochs still worth validating, oldest first: after
            // downtime a validator catches up on what it missed.
            let recent: Vec<EpochId> = (1..=i64::from(self.settings.backfill_epochs.max(1)))
                .rev()
                .filter_map(|back| EpochId::from_start_unix(window.start_unix - back * length).ok())
                .filter(|e| self.settings.first_epoch.is_none_or(|first| *e >= first))
                .collect();
            // Older epochs whose weights did not land (a chain outage longer
            // than the window) are retried too, until a newer epoch is done.
            let plan = crate::catchup::plan(&recent, &crate::journal::journaled(&self.data_dir));
            for (epoch, newer) in &plan.give_up {
                let journal = EpochJournal::new(&self.data_dir, epoch);
                let why = format!("epoch {newer} was done first; weights set now would overwrite its weights");
                tracing::error!(validator = %self.hotkey(), %epoch, "weights of epoch {epoch} given up: {why}");
                crate::metrics::epoch_failed();
                let saved = journal.entry().and_then(|mut entry| {
                    entry.given_up = Some(why);
                    journal.save(&entry)
                });
                if let Err(e) = saved {
                    tracing::error!(%epoch, "the journal could not record it: {e}");
                }
            }
            let wanted = plan.work;
            let mut failed = false;
            for epoch in wanted {
                let ready_ms = (epoch.start_unix() + length) * 1000 + self.settings.grace.as_millis() as i64;
                let wait = ready_ms - self.now_ms();
                if wait > 0 && self.shutdown.sleep(Duration::from_millis(wait as u64)).await {
                    return;
                }
                let span = resi_runtime::epoch_span(&epoch);
                match tracing::Instrument::instrument(self.validate_epoch(epoch), span).await {
                    Ok(report) => {
                        crate::metrics::epoch_done(epoch.start_unix());
                        if let Some(record) = &report.weights {
                            let deadline = epoch.start_unix() + length;
                            crate::metrics::weights_set(record.block, (record.at - deadline) as f64);
                        }
                        if let Some(store) = &self.settings.dataset {
                            // The product, not the protocol: a failure is
                            // said and the epoch stays done (rerun with
                            // `resi dataset publish`).
                            match self.publish_dataset(epoch, store).await {
                                Ok(manifest) => {
                                    if let Err(e) = self.announce_dataset(&manifest).await {
                                        tracing::warn!(%epoch, "dataset published, but its manifest not beside the results (the dashboard will not show it): {e}; `resi dataset publish` does it again");
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(%epoch, "dataset not published: {e}; `resi dataset publish` finishes it");
                                }
                            }
                        }
                        if let Some(tx) = &self.reports {
                            let _ = tx.send(report);
                        }
                    }
                    Err(ValidatorError::Stopped) => return,
                    // Not a failure to retry: this release cannot validate
                    // the epoch at all. Said once per epoch, loudly; later
                    // epochs go on (an upgrade may be announced for them).
                    Err(ValidatorError::UnknownResultsVersion { epoch, cause }) => {
                        if refused.insert(epoch) {
                            crate::metrics::epoch_refused(cause.version);
                            if let Err(e) = self.publish_refusal(epoch, &cause).await {
                                tracing::warn!(%epoch, "the refusal could not be published: {e}");
                            }
                            let said = ValidatorError::UnknownResultsVersion { epoch, cause };
                            tracing::error!(validator = %self.hotkey(), %epoch, "{said}");
                        }
                    }
                    // An epoch from before the coordinator's time: nothing to validate.
                    Err(ValidatorError::Coordinator(e)) if e.status == Some(404) => {
                        tracing::debug!(%epoch, "not an epoch of this coordinator: {e}");
                    }
                    // Later epochs do not wait for one that keeps failing.
                    Err(e) => {
                        crate::metrics::epoch_failed();
                        tracing::error!(validator = %self.hotkey(), %epoch, "epoch not finished, retrying: {e}");
                        failed = true;
                    }
                }
            }
            if failed {
                self.shutdown.sleep(self.settings.retry).await;
                continue;
            }
            let next_ms = window.deadline_ms() + self.settings.grace.as_millis() as i64;
            let wait = (next_ms - self.now_ms()).max(100) as u64;
            self.shutdown.sleep(Duration::from_millis(wait)).await;
        }
    }

    /// Everything for one finished epoch; each step is journaled and skipped
    /// when already done, so calling it again after a crash finishes the epoch once.
    pub async fn validate_epoch(&self, epoch: EpochId) -> Result<EpochReport, ValidatorError> {
        let journal = EpochJournal::new(&self.data_dir, &epoch);
        let mut entry = journal.entry()?;
        let signed = match journal.results()? {
            Some(r) => r,
            None => {
                let results = self.compute(epoch).await?;
                let signed = resi_auth::results::sign(&self.key, results);
                journal.save_results(&signed)?;
                signed
            }
        };
        self.step_boundary()?;
        if !entry.uploaded {
            self.upload(epoch, &signed).await?;
            entry.uploaded = true;
            journal.save(&entry)?;
        }
        self.step_boundary()?;
        let mut rejected_peers = Vec::new();
        let consensus = match entry.consensus.clone() {
            Some(c) => c,
            None => {
                let (c, rejected) = self.consensus(epoch, &signed.results).await?;
                rejected_peers = rejected;
                journal.save_consensus(&c)?;
                entry.consensus = Some(c.clone());
                journal.save(&entry)?;
                c
            }
        };
        let me = self.hotkey();
        crate::metrics::consensus(&consensus);
        match consensus.status {
            ConsensusStatus::PerfectConsensus => {
                tracing::info!(validator = %me, %epoch, "consensus: PERFECT_CONSENSUS")
            }
            status => tracing::warn!(validator = %me, %epoch, ?status, outliers = ?consensus.outliers, "consensus"),
        }
        self.step_boundary()?;
        if entry.weights.is_none() && entry.weights_skipped.is_none() {
            let metagraph = self.chain.metagraph()?;
            let weights = scores_to_weights(
                &signed.results.miner_scores,
                metagraph.neurons(),
                &me,
                self.settings.validator_min_stake,
                self.settings.burn,
            )?;
            if !weights.unmapped.is_empty() {
                tracing::warn!(%epoch, unmapped = ?weights.unmapped, "scored hotkeys no longer registered: not paid");
            }
            if weights.uids.is_empty() {
                entry.weights_skipped = Some("nothing scored and no burn: no weights set".into());
            } else {
                let record = self
                    .chain
                    .set_weights(&me, &epoch, &weights, self.now_ms() / 1000)
                    .await?;
                tracing::info!(validator = %me, %epoch, block = record.block, uids = ?record.uids, weights = ?record.weights, "weights set");
                entry.weights = Some(record);
            }
            journal.save(&entry)?;
        }
        entry.done = true;
        journal.save(&entry)?;
        Ok(EpochReport {
            validator: me,
            results: signed.results,
            consensus,
            rejected_peers,
            weights: entry.weights,
            weights_skipped: entry.weights_skipped,
        })
    }

    /// The epoch's assignment with its seed, checked against the commitment.
    async fn revealed(&self, epoch: EpochId) -> Result<(Assignment, String), ValidatorError> {
        let assignment = self.client.epoch(&epoch).await?;
        let seed = assignment
            .validation_seed
            .ok_or(ValidatorError::SeedNotRevealed(epoch))?;
        if !assignment.validation_seed_commitment.is_commitment_to(&seed) {
            return Err(ValidatorError::SeedMismatch {
                epoch,
                commitment: assignment.validation_seed_commitment.to_hex(),
            });
        }
        Ok((assignment, seed.to_hex()))
    }

    /// Every object of `kind` for the epoch, following continuation tokens. A
    /// failed page is asked for again with the same token (a few times, with
    /// backoff), so an error does not restart the listing from page 1.
    pub(crate) async fn read_all(&self, epoch: EpochId, kind: &str) -> Result<Vec<ReadObject>, ValidatorError> {
        const ATTEMPTS: u32 = 4;
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut attempt = 1;
            let page = loop {
                match self.client.validator_read(&epoch, kind, token.as_deref()).await {
                    Ok(page) => break page,
                    // A refusal (4xx but 429) will not change by asking again.
                    Err(e) if e.status.is_some_and(|s| (400..500).contains(&s) && s != 429) => return Err(e.into()),
                    Err(e) if attempt < ATTEMPTS => {
                        tracing::warn!(%epoch, kind, attempt, "listing page failed, retrying the same page: {e}");
                        tokio::time::sleep(self.settings.retry.min(Duration::from_secs(2)) * 2u32.pow(attempt - 1))
                            .await;
                        attempt += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            objects.extend(page.objects);
            match page.next_continuation_token {
                Some(t) => token = Some(t),
                None => return Ok(objects),
            }
        }
    }

    async fn epoch_objects(&self, epoch: EpochId) -> Result<EpochObjects, ValidatorError> {
        let mut out = EpochObjects::default();
        for object in self.read_all(epoch, "data").await? {
            match ObjectKey::parse(&object.key) {
                Ok(ObjectKey::Listings {
                    hotkey,
                    epoch: e,
                    zipcode,
                }) if e == epoch => out.listings.push((hotkey, zipcode, object)),
                Ok(ObjectKey::Manifest { hotkey, epoch: e }) if e == epoch => {
                    out.manifests.insert(hotkey, object);
                }
                _ => tracing::debug!(key = %object.key, "skipping an object outside the epoch's layout"),
            }
        }
        Ok(out)
    }

    /// Downloads and checks one miner's manifest: `Err(reason)` when it is refused.
    async fn manifest(
        &self,
        hotkey: &Hotkey,
        object: &ReadObject,
        assignment: &Assignment,
        assigned: &BTreeMap<Zipcode, u64>,
        present: &BTreeSet<Zipcode>,
    ) -> Result<Result<Manifest, String>, ValidatorError> {
        let bytes = match self.get_capped(object, MAX_MANIFEST_BYTES).await? {
            Some(b) => b,
            None => return Ok(Err(format!("manifest is over {MAX_MANIFEST_BYTES} bytes"))),
        };
        let signed = match SignedManifest::parse(&bytes, MAX_MANIFEST_BYTES as usize) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let manifest = match resi_auth::manifest::verify(&signed) {
            Ok(m) => m.clone(),
            Err(e) => return Ok(Err(e.to_string())),
        };
        if &manifest.hotkey != hotkey {
            return Ok(Err(format!(
                "manifest is for hotkey {}, stored under {hotkey}",
                manifest.hotkey
            )));
        }
        if manifest.epoch_id != assignment.epoch_id || manifest.nonce != assignment.nonce {
            return Ok(Err(format!(
                "manifest is for epoch {} nonce {}, not epoch {} nonce {}",
                manifest.epoch_id, manifest.nonce, assignment.epoch_id, assignment.nonce
            )));
        }
        if let Err(reason) = manifest.check_files(
            |z| assigned.contains_key(&z),
            present,
            |z| ObjectKey::listings(hotkey.clone(), assignment.epoch_id, z).as_key(),
        ) {
            return Ok(Err(reason.to_string()));
        }
        Ok(Ok(manifest))
    }

    /// Downloads, examines, ranks and scores the epoch.
    async fn compute(&self, epoch: EpochId) -> Result<ValidationResults, ValidatorError> {
        let (assignment, seed) = self.revealed(epoch).await?;
        let version = ResultsVersion::known_up_to(assignment.results_version, self.settings.newest_results_version)
            .map_err(|cause| ValidatorError::UnknownResultsVersion { epoch, cause })?;
        let window = assignment
            .window()
            .map_err(|e| ValidatorError::Assignment(epoch, e.to_string()))?;
        let config = self.settings.validation.clone();
        let ctx = Arc::new(
            EpochContext::new(
                window,
                assignment.nonce.clone(),
                seed,
                assignment.expected_by_zipcode(),
                config.clone(),
            )
            .map_err(|source| ValidatorError::Rules { epoch, cause: source })?
            .with_results_version(version)
            .with_coldkeys(
                self.chain
                    .metagraph()?
                    .neurons()
                    .iter()
                    .map(|n| (n.hotkey.clone(), n.coldkey.clone()))
                    .collect(),
            ),
        );
        let objects = self.epoch_objects(epoch).await?;
        let assignment = &assignment;
        let mut uploaded: BTreeMap<Hotkey, BTreeSet<Zipcode>> = BTreeMap::new();
        for (hotkey, zipcode, _) in &objects.listings {
            uploaded.entry(hotkey.clone()).or_default().insert(*zipcode);
        }
        let (uploaded, assigned) = (&uploaded, &ctx.zipcodes);
        const NOTHING: &BTreeSet<Zipcode> = &BTreeSet::new();
        let manifests: BTreeMap<Hotkey, Result<Manifest, String>> = stream::iter(objects.manifests)
            .map(move |(hotkey, object)| async move {
                let present = uploaded.get(&hotkey).unwrap_or(NOTHING);
                let m = self.manifest(&hotkey, &object, assignment, assigned, present).await?;
                if let Err(reason) = &m {
                    tracing::info!(%epoch, miner = %hotkey, "manifest refused: {reason}");
                }
                Ok::<_, ValidatorError>((hotkey, m))
            })
            .buffer_unordered(self.settings.max_concurrent_downloads)
            .try_collect()
            .await?;
        let max_bytes = config.max_file_bytes;
        let examined: Vec<Examined> = stream::iter(objects.listings)
            .map(|(hotkey, zipcode, object)| {
                let ctx = Arc::clone(&ctx);
                let entry = match manifests.get(&hotkey) {
                    None => ManifestEntry::Missing,
                    Some(Ok(m)) => m.entry_for(zipcode),
                    Some(Err(reason)) => ManifestEntry::Invalid(reason.clone()),
                };
                async move {
                    if object.size > max_bytes {
                        return Ok(examine_oversized(
                            &ctx,
                            hotkey,
                            zipcode,
                            object.last_modified,
                            object.size,
                        ));
                    }
                    let Some(bytes) = self.get_capped(&object, max_bytes).await? else {
                        return Ok(examine_oversized(
                            &ctx,
                            hotkey,
                            zipcode,
                            object.last_modified,
                            object.size,
                        ));
                    };
                    let size = bytes.len() as u64;
                    let input = SubmissionInput {
                        hotkey: hotkey.clone(),
                        zipcode,
                        submitted_at_ms: object.last_modified,
                        bytes,
                        manifest: entry,
                    };
                    // Decoding and the tiers are CPU work: keep them off the I/O
                    // threads. The bytes are a miner's: whatever happens while
                    // examining them (a panic in a decoder included) is a verdict
                    // on that submission alone, never the validator's failure.
                    let task_ctx = Arc::clone(&ctx);
                    match tokio::task::spawn_blocking(move || examine(&task_ctx, input)).await {
                        Ok(examined) => Ok(examined),
                        Err(e) => {
                            let reason = if e.is_panic() {
                                "examining the file failed inside the decoder".to_owned()
                            } else {
                                format!("examining the file was cancelled: {e}")
                            };
                            tracing::warn!(%epoch, key = %object.key, "{reason}");
                            Ok::<_, ValidatorError>(examine_unreadable(
                                &ctx,
                                hotkey,
                                zipcode,
                                object.last_modified,
                                size,
                                reason,
                            ))
                        }
                    }
                }
            })
            .buffer_unordered(self.settings.max_concurrent_downloads)
            .try_collect()
            .await?;
        let mut engine = EpochValidation::new(&ctx);
        for e in examined {
            engine.insert(e)?;
        }
        // One cache per epoch: each zpid is asked once, whoever submitted it.
        let verifier = SourceVerifier::new(
            resi_sources::CachedSource::new(crate::metrics::MeteredSource(self.source.clone())),
            &config,
        );
        let results = engine.finish(&verifier).await;
        crate::metrics::results(&results);
        let health = &results.property_source;
        if health.broken {
            tracing::error!(
                %epoch,
                lookups = health.lookups,
                unavailable = health.unavailable,
                "THE PROPERTY SOURCE IS BROKEN: {} of {} tier-3 lookups got no answer; every sample of this epoch is undetermined and no miner is ranked. Check property_source in the configuration.",
                health.unavailable,
                health.lookups
            );
        }
        for z in &results.zipcodes {
            let count = |s: Status| z.submissions.iter().filter(|r| r.status == s).count();
            tracing::info!(
                %epoch,
                zipcode = %z.zipcode,
                expected = z.expected_listings,
                submissions = z.submissions.len(),
                winners = ?z.winners.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                participants = z.participants.len(),
                failed = count(Status::Failed),
                undetermined = count(Status::Undetermined),
                ignored = count(Status::Ignored),
                same_listings = count(Status::SameListings),
                weight_ppb = z.weight_ppb,
                "zipcode decided"
            );
        }
        tracing::info!(%epoch, hash = %results.consensus_hash, submissions = results.totals.submissions, "epoch validated");
        Ok(results)
    }

    /// Once an epoch: an announced upgrade this release cannot validate is
    /// said at error level ahead of time, while there is time to upgrade.
    async fn check_announced_rules(&self) {
        let Ok(health) = self.client.health().await else {
            return;
        };
        let Some(upgrade) = health.rules.and_then(|r| r.upgrade) else {
            return;
        };
        if let Err(cause) = ResultsVersion::known_up_to(upgrade.version, self.settings.newest_results_version) {
            tracing::error!(
                validator = %self.hotkey(),
                results_version = upgrade.version,
                from_epoch = %upgrade.from_epoch,
                "results version {} applies from epoch {}: {cause}; this validator will publish nothing from then on",
                upgrade.version,
                upgrade.from_epoch
            );
            crate::metrics::unknown_version_announced(upgrade.version);
        }
    }

    /// Publishes the signed word that this validator publishes no results
    /// for `epoch`, for the dashboard and the other operators.
    async fn publish_refusal(
        &self,
        epoch: EpochId,
        cause: &resi_core::rules::UnknownResultsVersion,
    ) -> Result<(), ValidatorError> {
        let refusal = resi_auth::refusal::sign(
            &self.key,
            resi_core::results::Refusal {
                epoch_id: epoch,
                validator: self.hotkey(),
                results_version: cause.version,
                known_versions: [cause.oldest, cause.newest],
                release: self.settings.release.clone(),
                reason: cause.to_string(),
            },
        );
        let access = self.client.validator_upload(&epoch).await?;
        let key = ObjectKey::Refusal {
            validator: self.hotkey(),
            epoch,
        }
        .as_key();
        let body = serde_json::to_vec_pretty(&refusal).map_err(|e| ValidatorError::Other(e.to_string()))?;
        self.s3
            .post_form(&access.upload, &key, bytes::Bytes::from(body))
            .await?;
        tracing::info!(%epoch, %key, "refusal published");
        Ok(())
    }

    async fn upload(&self, epoch: EpochId, signed: &SignedResults) -> Result<(), ValidatorError> {
        let access = self.client.validator_upload(&epoch).await?;
        let key = ObjectKey::Results {
            validator: self.hotkey(),
            epoch,
        }
        .as_key();
        self.s3
            .post_form(&access.upload, &key, bytes::Bytes::from(signed.to_json()))
            .await?;
        tracing::info!(%epoch, %key, "results published");
        Ok(())
    }

    /// Waits (up to `consensus_wait`) for the other validators' results, checks
    /// each, and evaluates the stake-weighted consensus.
    async fn consensus(
        &self,
        epoch: EpochId,
        own: &ValidationResults,
    ) -> Result<(ConsensusReport, Vec<(Hotkey, String)>), ValidatorError> {
        let me = self.hotkey();
        let give_up = tokio::time::Instant::now() + self.settings.consensus_wait;
        let mut published: BTreeMap<Hotkey, String> = BTreeMap::new();
        let mut rejected: BTreeMap<Hotkey, String> = BTreeMap::new();
        published.insert(me.clone(), own.consensus_hash.clone());
        loop {
            let metagraph = self.chain.metagraph()?;
            let validators: Vec<Hotkey> = metagraph
                .neurons()
                .iter()
                .filter(|n| n.is_validator(self.settings.validator_min_stake))
                .map(|n| n.hotkey.clone())
                .collect();
            for object in self.read_all(epoch, "validators").await? {
                let Ok(ObjectKey::Results { validator, epoch: e }) = ObjectKey::parse(&object.key) else {
                    continue;
                };
                if e != epoch || published.contains_key(&validator) || rejected.contains_key(&validator) {
                    continue;
                }
                if !validators.contains(&validator) {
                    rejected.insert(validator, "not a validator on the metagraph".into());
                    continue;
                }
                match self.peer_results(&object, &validator, own).await? {
                    Ok(hash) => {
                        published.insert(validator, hash);
                    }
                    Err(reason) => {
                        tracing::warn!(%epoch, peer = %validator, "results refused: {reason}");
                        rejected.insert(validator, reason);
                    }
                }
            }
            let waiting: Vec<&Hotkey> = validators
                .iter()
                .filter(|v| !published.contains_key(*v) && !rejected.contains_key(*v))
                .collect();
            if waiting.is_empty() || tokio::time::Instant::now() >= give_up {
                if !waiting.is_empty() {
                    tracing::warn!(%epoch, missing = ?waiting, "deciding consensus without every validator's results");
                }
                let stakes: BTreeMap<&Hotkey, u64> = metagraph.neurons().iter().map(|n| (&n.hotkey, n.stake)).collect();
                let hashes: Vec<PublishedHash> = published
                    .iter()
                    .map(|(v, h)| PublishedHash {
                        validator: v.clone(),
                        stake: stakes.get(v).copied().unwrap_or(0),
                        consensus_hash: h.clone(),
                    })
                    .collect();
                return Ok((evaluate(&hashes), rejected.into_iter().collect()));
            }
            if self.shutdown.sleep(self.settings.consensus_poll).await {
                return Err(ValidatorError::Stopped);
            }
        }
    }

    /// Downloads an object of at most `max_bytes`; `None` when it is larger
    /// (the caller's verdict), an error when storage fails (retried later).
    pub(crate) async fn get_capped(
        &self,
        object: &ReadObject,
        max_bytes: u64,
    ) -> Result<Option<bytes::Bytes>, ValidatorError> {
        match self.s3.get(&object.url, &object.key, max_bytes).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if matches!(e.kind, resi_storage::client::FailureKind::TooLarge { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// One peer's results: its consensus hash, or why it is refused.
    async fn peer_results(
        &self,
        object: &ReadObject,
        validator: &Hotkey,
        own: &ValidationResults,
    ) -> Result<Result<String, String>, ValidatorError> {
        let bytes = match self.get_capped(object, MAX_RESULTS_BYTES).await? {
            Some(b) => b,
            None => return Ok(Err(format!("results file over {MAX_RESULTS_BYTES} bytes"))),
        };
        let signed = match SignedResults::parse(&bytes, MAX_RESULTS_BYTES as usize) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let results = match resi_auth::results::verify(&signed, validator) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if results.epoch_id != own.epoch_id || results.nonce != own.nonce {
            return Ok(Err(format!(
                "results are for epoch {} nonce {}",
                results.epoch_id, results.nonce
            )));
        }
        Ok(Ok(results.consensus_hash.clone()))
    }
}

resi_runtime::from_cause!(ValidatorError {
    StorageError => Storage,
    JournalError => Journal,
    resi_sources::SourceError => Source,
    ClientError => Coordinator,
    ChainError => Chain,
    WeightError => Weights,
    crate::config::ConfigError => Config,
});
