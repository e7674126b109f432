//! The miner's loop: follow the current assignment, scrape every zipcode
//! (bounded concurrency), self-check, store, upload each zipcode as soon as
//! it is ready, keep the signed manifest current, report status, prune.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use resi_api::{
    ClientError, CompletedZipcode, CoordinatorClient, MiningStatus, NotUploaded, ScraperName, StatusReport,
    UploadAccessResponse as UploadAccess,
};
use resi_auth::Keypair;
use resi_core::examine::Precheck;
use resi_core::manifest::{Manifest, ManifestFile};
use resi_core::schema::encode_listings;
use resi_core::{
    examine, AssignedZipcode, Assignment, EpochContext, EpochId, EpochWindow, Hotkey, ManifestEntry, SubmissionInput,
    ValidationConfig, Zipcode,
};
use resi_runtime::{Context, SharedClock, Shutdown};
use resi_storage::{ObjectKey, S3Client, StorageError};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::config::SelfCheck;
use crate::scraper::{Deadline, ScrapeError, ZipcodeScraper};
use crate::state::{MinerState, StateError, StoredScrape, ZipcodeRow, ZipcodeState};

#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("coordinator: {0}")]
    Coordinator(ClientError),
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("assignment: {0}")]
    Assignment(String),
    #[error("configuration: {0}")]
    Config(crate::config::ConfigError),
    #[error("manifest: {0}")]
    Manifest(serde_json::Error),
    #[error("stopping: the rest of the epoch resumes from the state database")]
    Stopped,
    #[error("{0}")]
    Other(String),
}

/// How long a stop waits for the zipcodes in hand (scrape stored, upload
/// recorded) before dropping them; the state database resumes them.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How the daemon behaves, besides its scraper.
#[derive(Clone, Debug)]
pub struct MinerSettings {
    pub max_concurrent_scrapes: usize,
    pub retention_epochs: u32,
    pub self_check: SelfCheck,
    pub retry: Duration,
    /// The rules the self-check applies (the validators' defaults).
    pub validation: ValidationConfig,
}

impl Default for MinerSettings {
    fn default() -> Self {
        Self {
            max_concurrent_scrapes: 4,
            retention_epochs: 6,
            self_check: SelfCheck::Enforce,
            retry: Duration::from_secs(15),
            validation: ValidationConfig::default(),
        }
    }
}

/// What one epoch came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochSummary {
    pub epoch_id: Option<EpochId>,
    pub assigned: usize,
    pub uploaded: usize,
    pub listings_uploaded: u64,
    /// Zipcode → why it was not uploaded.
    pub not_uploaded: BTreeMap<Zipcode, String>,
    /// Zipcodes not uploaded for a reason that may pass (scrape or upload
    /// failures), as opposed to self-check rejections.
    pub retryable: usize,
}

/// A miner: one hotkey, one scraper, one state database.
pub struct Miner<S> {
    key: Arc<Keypair>,
    coldkey: Hotkey,
    client: CoordinatorClient,
    s3: S3Client,
    state: MinerState,
    scraper: Arc<S>,
    settings: MinerSettings,
    clock: SharedClock,
    shutdown: Shutdown,
}

/// The epoch's upload policy, fetched on first need and shared by the tasks.
struct Access<'a> {
    client: &'a CoordinatorClient,
    coldkey: &'a Hotkey,
    epoch: EpochId,
    cached: Mutex<Option<UploadAccess>>,
}

impl Access<'_> {
    async fn get(&self) -> Result<UploadAccess, MinerError> {
        let mut slot = self.cached.lock().await;
        if let Some(a) = slot.as_ref() {
            return Ok(a.clone());
        }
        let access = self.client.upload_access(self.coldkey).await?;
        if access.epoch_id != self.epoch {
            return Err(MinerError::Other(format!(
                "epoch {} is over: the coordinator now hands out access for {}",
                self.epoch, access.epoch_id
            )));
        }
        *slot = Some(access.clone());
        Ok(access)
    }

    /// Drops the cached policy: after a failed upload the next one asks the
    /// coordinator again (its storage may have moved, or the policy be stale).
    async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}

impl<S: ZipcodeScraper> Miner<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: Arc<Keypair>,
        coldkey: Hotkey,
        client: CoordinatorClient,
        s3: S3Client,
        state: MinerState,
        scraper: Arc<S>,
        settings: MinerSettings,
        context: Context,
    ) -> Self {
        Self {
            key,
            coldkey,
            client,
            s3,
            state,
            scraper,
            settings,
            clock: context.clock,
            shutdown: context.shutdown,
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn hotkey(&self) -> Hotkey {
        self.key.hotkey()
    }

    /// Runs until its shutdown handle is triggered: each epoch once, then
    /// sleeps until the next. A stop lets the zipcodes in hand finish their
    /// step (scrape stored, upload recorded) and starts no new ones.
    pub async fn run(&self) {
        let span = resi_runtime::daemon_span("miner", self.hotkey().as_str());
        span.in_scope(crate::metrics::describe);
        let work = tracing::Instrument::instrument(self.follow(), span);
        if self.shutdown.finish_within(STOP_GRACE, work).await.is_none() {
            tracing::warn!("the zipcodes in hand did not finish within {STOP_GRACE:?} of the stop; the state database resumes them");
        }
    }

    async fn follow(&self) {
        let mut done: Option<EpochId> = None;
        while !self.shutdown.is_triggered() {
            let assignment = match self.client.current_assignment().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("no assignment: {e}; retrying in {:?}", self.settings.retry);
                    self.shutdown.sleep(self.settings.retry).await;
                    continue;
                }
            };
            let window = match assignment.window() {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!("unusable assignment: {e}");
                    self.shutdown.sleep(self.settings.retry).await;
                    continue;
                }
            };
            if done != Some(window.id) {
                let span = resi_runtime::epoch_span(&window.id);
                match tracing::Instrument::instrument(self.run_epoch(&assignment, &window), span).await {
                    Ok(s)
                        if s.retryable > 0
                            && self.now_ms() + (self.settings.retry.as_millis() as i64) < window.deadline_ms() =>
                    {
                        tracing::warn!(
                            epoch = %window.id, left = s.retryable,
                            "some zipcodes failed; trying them again in {:?}", self.settings.retry
                        );
                        self.shutdown.sleep(self.settings.retry).await;
                        continue;
                    }
                    Ok(s) => {
                        tracing::info!(
                            epoch = %window.id, uploaded = s.uploaded, assigned = s.assigned,
                            listings = s.listings_uploaded, "epoch done"
                        );
                        done = Some(window.id);
                    }
                    Err(MinerError::Stopped) => break,
                    Err(e) => {
                        tracing::error!(epoch = %window.id, "epoch interrupted, resuming in {:?}: {e}", self.settings.retry);
                        self.shutdown.sleep(self.settings.retry).await;
                        continue;
                    }
                }
            }
            let next_ms = window.deadline_ms() + 250;
            let wait = (next_ms - self.now_ms()).max(250) as u64;
            self.shutdown.sleep(Duration::from_millis(wait)).await;
        }
        tracing::info!("miner stopped; the state database keeps the epoch");
    }

    /// Works one epoch to the end (or to its deadline). Safe to call again
    /// after a crash: finished zipcodes are skipped, scraped ones uploaded
    /// from the database.
    pub async fn run_epoch(&self, assignment: &Assignment, window: &EpochWindow) -> Result<EpochSummary, MinerError> {
        let epoch = window.id;
        self.state.begin_epoch(assignment, window, self.now_ms() / 1000).await?;
        self.prune(window).await;
        let deadline = Deadline { epoch: *window };
        let access = Access {
            client: &self.client,
            coldkey: &self.coldkey,
            epoch,
            cached: Mutex::new(None),
        };
        let manifest_lock = Mutex::new(());
        let mut rows = self.state.zipcodes(&epoch).await?;
        if self.now_ms() < deadline.at_ms() && self.reconcile(&epoch, &rows, &access).await? {
            rows = self.state.zipcodes(&epoch).await?;
        }
        if rows.iter().any(|r| r.state == ZipcodeState::Uploaded) && self.now_ms() < deadline.at_ms() {
            // A restart: the last manifest upload may not have happened.
            if let Err(e) = self.publish_manifest(assignment, &access, &manifest_lock).await {
                tracing::warn!(%epoch, "manifest: {e}");
            }
        }
        let by_zipcode: BTreeMap<Zipcode, &AssignedZipcode> =
            assignment.zipcodes.iter().map(|z| (z.zipcode, z)).collect();
        let todo: Vec<(ZipcodeRow, &AssignedZipcode)> = rows
            .into_iter()
            .filter(|r| !r.state.is_final())
            .filter_map(|r| by_zipcode.get(&r.zipcode).map(|z| (r, *z)))
            .collect();
        stream::iter(todo)
            .for_each_concurrent(self.settings.max_concurrent_scrapes, |(row, assigned)| {
                let (access, lock) = (&access, &manifest_lock);
                async move {
                    // A stop starts no new zipcode; the ones in hand finish their step.
                    if self.shutdown.is_triggered() {
                        return;
                    }
                    if let Err(e) = self
                        .zipcode(assignment, window, assigned, row.state, access, lock)
                        .await
                    {
                        tracing::warn!(%epoch, zipcode = %assigned.zipcode, "not uploaded: {e}");
                        crate::metrics::zipcode("failed");
                        let _ = self
                            .state
                            .mark_not_uploaded(&epoch, assigned.zipcode, ZipcodeState::Failed, &e.to_string(), None)
                            .await;
                    }
                }
            })
            .await;
        if self.shutdown.is_triggered() {
            return Err(MinerError::Stopped);
        }
        let summary = self.summary(&epoch, assignment.zipcodes.len()).await?;
        crate::metrics::epoch(window.start_unix, summary.assigned, summary.uploaded);
        // One report per epoch, once nothing is left to retry (or the deadline is near).
        let final_round =
            summary.retryable == 0 || self.now_ms() + self.settings.retry.as_millis() as i64 >= deadline.at_ms();
        if final_round && !self.state.status_reported(&epoch).await? {
            match self.report(assignment, &summary).await {
                Ok(()) => self.state.mark_status_reported(&epoch).await?,
                Err(e) => tracing::warn!(%epoch, "status report: {e}"),
            }
        }
        Ok(summary)
    }

    async fn zipcode(
        &self,
        assignment: &Assignment,
        window: &EpochWindow,
        assigned: &AssignedZipcode,
        state: ZipcodeState,
        access: &Access<'_>,
        manifest_lock: &Mutex<()>,
    ) -> Result<(), MinerError> {
        let epoch = window.id;
        let zipcode = assigned.zipcode;
        let deadline = Deadline { epoch: *window };
        let stored = match state {
            ZipcodeState::Scraped => self.state.parquet(&epoch, zipcode).await?,
            _ => None,
        };
        let bytes = match stored {
            Some(b) => b,
            None => match self.scrape_and_check(assignment, window, assigned).await? {
                Some(b) => b,
                None => return Ok(()),
            },
        };
        if self.now_ms() >= deadline.at_ms() {
            return Err(MinerError::Other("the deadline passed before the upload".into()));
        }
        let form = access.get().await?;
        let key = ObjectKey::listings(self.hotkey(), epoch, zipcode).as_key();
        let started = std::time::Instant::now();
        let etag = match self.s3.post_form(&form.upload, &key, Bytes::from(bytes)).await {
            Ok(etag) => {
                metrics::histogram!(crate::metrics::UPLOAD_SECONDS).record(started.elapsed().as_secs_f64());
                crate::metrics::zipcode("uploaded");
                etag
            }
            Err(e) => {
                access.forget().await;
                return Err(e.into());
            }
        };
        self.state
            .mark_uploaded(&epoch, zipcode, &key, &etag, self.now_ms())
            .await?;
        tracing::info!(%epoch, %zipcode, %key, %etag, "uploaded");
        self.publish_manifest(assignment, access, manifest_lock).await
    }

    /// Finds uploads that reached the bucket but not the database (a kill
    /// between the two, or an answer lost in transport): a stored scrape whose
    /// bytes are already at its key (same MD5 ETag) is recorded as uploaded at
    /// the object's `LastModified` instead of being uploaded again, which would
    /// only move it later in the ranking. True when a row changed.
    async fn reconcile(&self, epoch: &EpochId, rows: &[ZipcodeRow], access: &Access<'_>) -> Result<bool, MinerError> {
        let pending: Vec<&ZipcodeRow> = rows
            .iter()
            .filter(|r| matches!(r.state, ZipcodeState::Scraped | ZipcodeState::Failed))
            .collect();
        if pending.is_empty() {
            return Ok(false);
        }
        let form = access.get().await?;
        let Some(list_url) = &form.list_url else {
            return Ok(false);
        };
        let listed = match self.s3.list_page(list_url, &form.folder).await {
            Ok(page) => page.objects,
            Err(e) => {
                tracing::warn!(%epoch, "cannot list our own folder to find unrecorded uploads: {e}");
                return Ok(false);
            }
        };
        let mut changed = false;
        for row in pending {
            let key = ObjectKey::listings(self.hotkey(), *epoch, row.zipcode).as_key();
            let Some(object) = listed.iter().find(|o| o.key == key) else {
                continue;
            };
            let Some(bytes) = self.state.parquet(epoch, row.zipcode).await? else {
                continue;
            };
            let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&bytes));
            if object.etag.trim_matches('"') != md5 {
                continue;
            }
            self.state
                .mark_uploaded(epoch, row.zipcode, &key, &object.etag, object.last_modified_ms)
                .await?;
            tracing::info!(%epoch, zipcode = %row.zipcode, %key, "found an upload that was not recorded; not uploading it again");
            changed = true;
        }
        Ok(changed)
    }

    /// Scrapes, self-checks and stores one zipcode; `None` when it must not be uploaded.
    async fn scrape_and_check(
        &self,
        assignment: &Assignment,
        window: &EpochWindow,
        assigned: &AssignedZipcode,
    ) -> Result<Option<Vec<u8>>, MinerError> {
        let (epoch, zipcode) = (window.id, assigned.zipcode);
        let deadline = Deadline { epoch: *window };
        let mut attempt = 0u32;
        let listings = loop {
            attempt += 1;
            let left = deadline.remaining_ms(self.now_ms());
            if left == 0 {
                return Err(MinerError::Other(
                    "the deadline passed before the scrape finished".into(),
                ));
            }
            let scrape = self.scraper.scrape(assigned, assigned.expected_listings, deadline);
            let started = std::time::Instant::now();
            match tokio::time::timeout(Duration::from_millis(left), scrape).await {
                Ok(Ok(listings)) => {
                    metrics::histogram!(crate::metrics::SCRAPE_SECONDS).record(started.elapsed().as_secs_f64());
                    metrics::histogram!(crate::metrics::ZIPCODE_LISTINGS).record(listings.len() as f64);
                    crate::metrics::zipcode("scraped");
                    break listings;
                }
                // Asking again will not make the source know the zipcode.
                Ok(Err(ScrapeError::UnknownZipcode(why))) => {
                    let reason = format!("the scraper's source does not have it: {why}");
                    tracing::warn!(%epoch, %zipcode, "not uploading: {reason}");
                    crate::metrics::zipcode("rejected");
                    self.state
                        .mark_not_uploaded(&epoch, zipcode, ZipcodeState::Rejected, &reason, None)
                        .await?;
                    return Ok(None);
                }
                Ok(Err(e)) if attempt < 3 => {
                    tracing::warn!(%epoch, %zipcode, attempt, "scrape failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                Ok(Err(e)) => return Err(MinerError::Other(format!("scrape failed {attempt} times: {e}"))),
                Err(_) => return Err(MinerError::Other("the deadline passed while scraping".into())),
            }
        };
        let scraped_at = self.now_ms();
        let bytes = encode_listings(&listings).map_err(|e| MinerError::Other(format!("writing Parquet: {e}")))?;
        let count = listings.len() as u64;
        let verdict = self_check(
            assignment,
            window,
            zipcode,
            &self.hotkey(),
            &bytes,
            &self.settings.validation,
            scraped_at,
        );
        if let Some(reason) = &verdict {
            match self.settings.self_check {
                SelfCheck::Enforce => {
                    tracing::warn!(%epoch, %zipcode, "self-check: not uploading: {reason}");
                    crate::metrics::zipcode("rejected");
                    self.state
                        .mark_not_uploaded(&epoch, zipcode, ZipcodeState::Rejected, reason, Some(count))
                        .await?;
                    return Ok(None);
                }
                SelfCheck::Warn => {
                    tracing::warn!(%epoch, %zipcode, "self-check would fail ({reason}); uploading anyway")
                }
            }
        }
        let sha = hex::encode(Sha256::digest(&bytes));
        let scrape = StoredScrape {
            parquet: &bytes,
            sha256: &sha,
            listing_count: count,
            scraped_at_ms: scraped_at,
            warning: verdict.as_deref(),
        };
        self.state.mark_scraped(&epoch, zipcode, &scrape).await?;
        Ok(Some(bytes))
    }

    /// Signs and uploads a manifest of every zipcode uploaded so far.
    async fn publish_manifest(
        &self,
        assignment: &Assignment,
        access: &Access<'_>,
        lock: &Mutex<()>,
    ) -> Result<(), MinerError> {
        let _one_at_a_time = lock.lock().await;
        let epoch = assignment.epoch_id;
        let files: Vec<ManifestFile> = self
            .state
            .zipcodes(&epoch)
            .await?
            .into_iter()
            .filter(|r| r.state == ZipcodeState::Uploaded)
            .filter_map(|r| {
                Some(ManifestFile {
                    zipcode: r.zipcode,
                    key: r.s3_key?,
                    sha256: r.sha256?,
                    listing_count: r.listing_count?,
                })
            })
            .collect();
        let manifest = Manifest {
            epoch_id: epoch,
            nonce: assignment.nonce.clone(),
            hotkey: self.hotkey(),
            scraper: self.scraper.info(),
            files,
        };
        let signed = resi_auth::manifest::sign(&self.key, manifest);
        let body = serde_json::to_vec_pretty(&signed).map_err(MinerError::Manifest)?;
        let form = access.get().await?;
        let key = ObjectKey::Manifest {
            hotkey: self.hotkey(),
            epoch,
        }
        .as_key();
        self.s3.post_form(&form.upload, &key, Bytes::from(body)).await?;
        Ok(())
    }

    async fn summary(&self, epoch: &EpochId, assigned: usize) -> Result<EpochSummary, MinerError> {
        let rows = self.state.zipcodes(epoch).await?;
        let mut s = EpochSummary {
            epoch_id: Some(*epoch),
            assigned,
            ..EpochSummary::default()
        };
        for r in rows {
            if r.state == ZipcodeState::Uploaded {
                s.uploaded += 1;
                s.listings_uploaded += r.listing_count.unwrap_or(0);
            } else {
                if r.state != ZipcodeState::Rejected {
                    s.retryable += 1;
                }
                let why = r
                    .reason
                    .unwrap_or_else(|| format!("{} when the epoch ended", r.state.as_str()));
                s.not_uploaded.insert(r.zipcode, why);
            }
        }
        Ok(s)
    }

    async fn report(&self, assignment: &Assignment, s: &EpochSummary) -> Result<(), MinerError> {
        let info = self.scraper.info();
        let rows = self.state.zipcodes(&assignment.epoch_id).await?;
        let completed: Vec<CompletedZipcode> = rows
            .iter()
            .filter(|r| r.state == ZipcodeState::Uploaded)
            .map(|r| CompletedZipcode {
                zipcode: r.zipcode,
                listings_scraped: r.listing_count,
                completed_at: r.uploaded_at_ms.and_then(rfc3339_ms),
            })
            .collect();
        let report = StatusReport {
            nonce: Some(assignment.nonce.clone()),
            status: Some(if s.uploaded == s.assigned {
                MiningStatus::Completed
            } else if s.uploaded > 0 {
                MiningStatus::InProgress
            } else {
                MiningStatus::Failed
            }),
            listings_scraped: Some(s.listings_uploaded),
            zipcodes_completed: Some(completed),
            s3_upload_complete: Some(s.uploaded > 0),
            s3_upload_timestamp: (s.uploaded > 0).then(|| rfc3339_ms(self.now_ms())).flatten(),
            zipcodes_assigned: Some(s.assigned as u64),
            zipcodes_uploaded: Some(s.uploaded as u64),
            listings_uploaded: Some(s.listings_uploaded),
            not_uploaded: Some(
                s.not_uploaded
                    .iter()
                    .map(|(z, why)| NotUploaded {
                        zipcode: *z,
                        reason: why.clone(),
                    })
                    .collect(),
            ),
            scraper: Some(ScraperName {
                name: info.name,
                version: info.version,
            }),
        };
        self.client.report_status(&assignment.epoch_id, report).await?;
        Ok(())
    }

    async fn prune(&self, window: &EpochWindow) {
        let length = window.end_unix - window.start_unix;
        let keep_from = window.start_unix - length * i64::from(self.settings.retention_epochs.saturating_sub(1));
        match self.state.prune_before(keep_from).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(epochs = n, "pruned old epochs"),
            Err(e) => tracing::warn!("pruning: {e}"),
        }
    }
}

/// The validators' tiers 0–2 on our own file: `Some(reason)` if it would fail.
/// (The copy check and tier 3 need other miners' files and the validation
/// seed; they cannot be run here.)
pub fn self_check(
    assignment: &Assignment,
    window: &EpochWindow,
    zipcode: Zipcode,
    hotkey: &Hotkey,
    bytes: &[u8],
    config: &ValidationConfig,
    now_ms: i64,
) -> Option<String> {
    let config = ValidationConfig {
        require_manifest: false,
        ..config.clone()
    };
    let ctx = match EpochContext::new(
        *window,
        assignment.nonce.clone(),
        "self-check",
        assignment.expected_by_zipcode(),
        config,
    ) {
        Ok(c) => c,
        Err(e) => return Some(e.to_string()),
    };
    let input = SubmissionInput {
        hotkey: hotkey.clone(),
        zipcode,
        submitted_at_ms: now_ms.min(window.deadline_ms()),
        bytes: Bytes::copy_from_slice(bytes),
        manifest: ManifestEntry::Missing,
    };
    match examine(&ctx, input).precheck {
        Precheck::Passed => None,
        Precheck::Failed { tier, reason } => {
            crate::metrics::self_check_failed(tier.to_string());
            Some(format!("tier {tier}: {reason}"))
        }
        Precheck::Late(reason) => {
            crate::metrics::self_check_failed("late".into());
            Some(reason)
        }
    }
}

/// Unix milliseconds as RFC 3339 (UTC), for status reports.
fn rfc3339_ms(ms: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

resi_runtime::from_cause!(MinerError {
    StorageError => Storage,
    ClientError => Coordinator,
    crate::config::ConfigError => Config,
});
