//! resi-bench: timing the validator's pipeline on synthetic epochs.
//!
//! `resi bench validate` builds a deterministic epoch with `resi-sim` (honest
//! miners and a share of every cheating kind), encodes it to Parquet in
//! memory, then times a decode-only pass and the real pipeline: decode and
//! tiers 0–2 per submission (streamed: only a summary of each survives), then
//! the copy check, tier 3 against the in-memory market, ranking, scores and the
//! consensus hash. Peak RSS is the process's high-water mark.

// Nothing from outside the process may panic it: errors are returned.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod coordinator;
pub mod files;
pub mod gauntlet;

use std::time::{Duration, Instant};

use rayon::prelude::*;
use resi_core::results::Status;
use resi_core::schema::{decode_listings, decode_raw};
use resi_core::verify::{Lookup, PropertySource, SourceVerifier};
use resi_core::{
    examine, EpochValidation, Examined, ManifestEntry, SubmissionInput, ValidationConfig, ValidationResults,
};
use resi_sim::{build_epoch, EpochSpec, MarketSource, SyntheticEpoch};
use resi_sources::CachedSource;
use sha2::Digest;

/// Parameters of `resi bench validate`.
#[derive(Clone, Debug)]
pub struct ValidateBench {
    pub miners: usize,
    pub zipcodes: usize,
    pub listings: u64,
    pub cheater_percent: usize,
    pub seed: u64,
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Decompression bombs added to the epoch (validated like any submission;
    /// the decode-only floor skips them, since it has no limits).
    pub bombs: usize,
    /// When set, the tier-3 stage runs a second time against a property
    /// source that answers each lookup after this long (behind the
    /// validator's per-epoch cache, as in production), to time tier 3's
    /// round trips.
    pub source_latency: Option<Duration>,
    /// Validate the epoch's Parquet files from this directory, each read
    /// from disk inside the timed stages (written there first if the
    /// directory holds no epoch; see [`files`]).
    pub input: Option<std::path::PathBuf>,
}

/// The tier-3 stage against a slow property source.
#[derive(Clone, Debug)]
pub struct Tier3Latency {
    pub latency: Duration,
    /// Copy check, tier 3, ranking, scores and hash with that source.
    pub finish: Duration,
    /// Lookups the source answered.
    pub lookups: u64,
    /// The most lookups one zipcode's walk made: a walk asks one after
    /// another (results version 6, to stop as soon as a check is decided),
    /// zipcodes at the same time.
    pub most_in_a_zipcode: u64,
}

impl Tier3Latency {
    /// The bound: one source latency per lookup of the zipcode that made
    /// the most, plus the stage's CPU time (the same stage with an instant
    /// source, measured in the same run).
    pub fn bound(&self, cpu: Duration) -> Duration {
        self.latency * self.most_in_a_zipcode.max(1) as u32 + cpu
    }
}

/// The simulated market as the finish stage's property source, answering
/// each lookup after `latency` (none: at once), counting lookups and the
/// time the market took to compute its answers. A real property source is
/// a remote service, whose answers cost the validator a wait and not this
/// CPU, so the report shows the finish stage with and without it.
struct BenchSource<'m> {
    inner: MarketSource<'m>,
    latency: Duration,
    lookups: std::sync::atomic::AtomicU64,
    computing_ns: std::sync::atomic::AtomicU64,
}

impl<'m> BenchSource<'m> {
    fn new(epoch: &'m SyntheticEpoch, latency: Duration) -> Self {
        Self {
            inner: MarketSource::new(&epoch.market, epoch.ctx.deadline_ms + 600_000),
            latency,
            lookups: Default::default(),
            computing_ns: Default::default(),
        }
    }

    fn lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn computing(&self) -> Duration {
        Duration::from_nanos(self.computing_ns.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl PropertySource for BenchSource<'_> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        self.lookups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !self.latency.is_zero() {
            futures_timer::Delay::new(self.latency).await;
        }
        let started = Instant::now();
        let answer = self.inner.lookup(zpid).await;
        let ns = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        self.computing_ns.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        answer
    }
}

/// One timed stage.
#[derive(Clone, Debug)]
pub struct Stage {
    pub name: &'static str,
    pub listings: u64,
    pub elapsed: Duration,
}

impl Stage {
    pub fn rate(&self) -> f64 {
        self.listings as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What the benchmark measured.
#[derive(Clone, Debug)]
pub struct ValidateReport {
    pub files: usize,
    pub parquet_bytes: u64,
    pub listings: u64,
    pub generate: Duration,
    pub decode_only: Stage,
    pub decode_checked: Stage,
    pub examine: Stage,
    pub finish: Stage,
    /// Of the finish stage, the time the simulated market took to compute
    /// its answers (see [`BenchSource`]).
    pub simulated_source: Duration,
    /// Paid lookups of the epoch: distinct zpids the property source was
    /// asked for (behind the validators' per-epoch cache).
    pub lookups_per_epoch: u64,
    pub end_to_end: Duration,
    pub peak_rss_mib: Option<f64>,
    pub threads: usize,
    /// Bombs in the epoch and how many were refused as unreadable at tier 0.
    pub bombs: (usize, usize),
    pub results: ValidationResults,
    pub tier3_latency: Option<Tier3Latency>,
    /// The directory the files were read from (None: memory).
    pub input: Option<std::path::PathBuf>,
    /// Publishing the epoch's dataset (resi-dataset) from the results: the
    /// winners' files decoded again, rows chosen, Parquet written to a
    /// temporary folder, a zipcode at a time; `listings` is the rows written.
    pub dataset_publish: Stage,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("building the synthetic epoch: {0}")]
    Build(String),
    #[error("starting the thread pool: {0}")]
    Pool(String),
    #[error("validation engine: {0}")]
    Engine(String),
    #[error("epoch files: {0}")]
    Files(String),
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs the whole validation pipeline over an epoch; the engine part of the benchmark,
/// also used by the determinism tests.
pub fn validate_epoch(epoch: &SyntheticEpoch) -> Result<(Vec<Examined>, ValidationResults), BenchError> {
    let examined: Vec<Examined> = epoch
        .submissions
        .par_iter()
        .map(|s| examine(&epoch.ctx, s.clone()))
        .collect();
    let (results, _, _) = finish(epoch, examined.clone())?;
    Ok((examined, results))
}

/// The finish stage against the simulated market, and the time the market
/// itself took to answer.
/// The finish stage with the market behind the validators' per-epoch cache:
/// the results, the market's computing time and its lookups (one per
/// distinct zpid: what a validator pays the property source for).
fn finish(epoch: &SyntheticEpoch, examined: Vec<Examined>) -> Result<(ValidationResults, Duration, u64), BenchError> {
    let market = BenchSource::new(epoch, Duration::ZERO);
    let results = finish_with(epoch, examined, CachedSource::new(&market))?;
    Ok((results, market.computing(), market.lookups()))
}

fn finish_with<S: PropertySource>(
    epoch: &SyntheticEpoch,
    examined: Vec<Examined>,
    source: S,
) -> Result<ValidationResults, BenchError> {
    let mut engine = EpochValidation::new(&epoch.ctx);
    for e in examined {
        engine.insert(e).map_err(|e| BenchError::Engine(e.to_string()))?;
    }
    let verifier = SourceVerifier::new(source, &epoch.ctx.config);
    Ok(futures_executor::block_on(engine.finish(&verifier)))
}

/// `params.bombs` GZIP bombs (each about 130 MB decoded) for the epoch's
/// first zipcode under hotkeys of their own, listed in their manifests so
/// they reach the decoder.
fn bomb_submissions(epoch: &SyntheticEpoch, params: &ValidateBench) -> Result<Vec<SubmissionInput>, BenchError> {
    if params.bombs == 0 {
        return Ok(Vec::new());
    }
    let bytes =
        bytes::Bytes::from(resi_sim::hostile::gzip_bomb(70_000, 2_000).map_err(|e| BenchError::Build(e.to_string()))?);
    let sha: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let zipcode = *epoch
        .ctx
        .zipcodes
        .keys()
        .next()
        .ok_or_else(|| BenchError::Build("no zipcode".into()))?;
    Ok((0..params.bombs)
        .map(|i| SubmissionInput {
            hotkey: resi_sim::epoch::synthetic_hotkey(params.seed ^ 0xb0b, params.miners + i),
            zipcode,
            submitted_at_ms: epoch.ctx.start_ms + 1_000,
            bytes: bytes.clone(),
            manifest: ManifestEntry::Sha256(sha),
        })
        .collect())
}

/// `resi bench validate`.
pub fn run_validate(params: ValidateBench) -> Result<ValidateReport, BenchError> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(t) = params.threads {
        pool = pool.num_threads(t);
    }
    let pool = pool.build().map_err(|e| BenchError::Pool(e.to_string()))?;
    pool.install(|| run_validate_in_pool(&params))
}

/// Where the timed stages take each submission from.
enum Submissions<'e> {
    Memory(&'e [SubmissionInput]),
    Disk(Vec<files::OnDisk>),
}

impl Submissions<'_> {
    fn len(&self) -> usize {
        match self {
            Submissions::Memory(s) => s.len(),
            Submissions::Disk(f) => f.len(),
        }
    }

    /// The i-th submission; from disk, read now (an unreadable file is an error).
    fn get(&self, i: usize) -> Result<SubmissionInput, BenchError> {
        match self {
            Submissions::Memory(s) => Ok(s[i].clone()),
            Submissions::Disk(f) => f[i].read(),
        }
    }
}

/// The dataset publish of a validated epoch, as a validator runs it
/// (`Validator::publish_dataset`) but with the files at hand: per zipcode,
/// the winners' files decoded, the rows chosen and written, the zipcode's
/// history folded and written.
fn publish_dataset(
    epoch: &SyntheticEpoch,
    submissions: &Submissions<'_>,
    results: &ValidationResults,
) -> Result<Stage, BenchError> {
    let folder = tempfile::tempdir().map_err(|e| BenchError::Files(e.to_string()))?;
    let write = |key: &str, bytes: &[u8]| {
        let path = folder.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap_or(folder.path()))
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| BenchError::Files(format!("{}: {e}", path.display())))
    };
    let by_owner: std::collections::BTreeMap<(resi_core::Zipcode, resi_core::Hotkey), usize> = (0..submissions.len())
        .map(|i| submissions.get(i).map(|s| ((s.zipcode, s.hotkey), i)))
        .collect::<Result<_, BenchError>>()?;
    let limits = epoch.ctx.config.decode_limits();
    let t = Instant::now();
    let mut rows = 0u64;
    for outcome in &results.zipcodes {
        let mut files = std::collections::BTreeMap::new();
        for winner in resi_dataset::winners(outcome) {
            let Some(&i) = by_owner.get(&(outcome.zipcode, winner.hotkey.clone())) else {
                continue;
            };
            let columns =
                decode_listings(submissions.get(i)?.bytes, &limits).map_err(|e| BenchError::Engine(e.to_string()))?;
            files.insert(winner.hotkey.clone(), columns.to_listings());
        }
        let chosen = resi_dataset::zipcode_rows(outcome, &files);
        let bytes = resi_dataset::encode::encode_rows(&chosen).map_err(|e| BenchError::Engine(e.to_string()))?;
        write(
            &resi_dataset::partition_key(&epoch.ctx.epoch_id, &outcome.zipcode),
            &bytes,
        )?;
        let sightings: Vec<resi_dataset::Sighting> = chosen
            .iter()
            .map(|r| resi_dataset::Sighting::from(&r.listing))
            .collect();
        let mut history = resi_dataset::History::default();
        history
            .fold(epoch.ctx.epoch_id, &sightings)
            .map_err(|e| BenchError::Engine(e.to_string()))?;
        let history = history.encode().map_err(|e| BenchError::Engine(e.to_string()))?;
        write(&resi_dataset::history::history_key(&outcome.zipcode), &history)?;
        rows += chosen.len() as u64;
    }
    Ok(Stage {
        name: "dataset publish (winners' rows to Parquet)",
        listings: rows,
        elapsed: t.elapsed(),
    })
}

fn run_validate_in_pool(params: &ValidateBench) -> Result<ValidateReport, BenchError> {
    let t0 = Instant::now();
    let mut spec = EpochSpec {
        miners: params.miners,
        zipcodes: params.zipcodes,
        listings: params.listings,
        cheater_percent: params.cheater_percent,
        seed: params.seed,
    };
    let mut on_disk = None;
    if let Some(dir) = &params.input {
        if files::exists(dir) {
            let (written, found) = files::read(dir)?;
            spec = written;
            on_disk = Some(found);
        }
    }
    let epoch = build_epoch(spec, ValidationConfig::default()).map_err(|e| BenchError::Build(e.to_string()))?;
    if let (Some(dir), None) = (&params.input, &on_disk) {
        files::write(dir, &spec, &epoch)?;
        on_disk = Some(files::read(dir)?.1);
    }
    let submissions = match on_disk {
        Some(found) => Submissions::Disk(found),
        None => Submissions::Memory(&epoch.submissions),
    };
    let listings: u64 = submissions.len() as u64 * epoch.ctx.zipcodes.values().next().copied().unwrap_or(0);
    let bombs = bomb_submissions(&epoch, params)?;
    let generate = t0.elapsed();

    // Decode only: Parquet → Arrow, nothing else. The floor.
    let t = Instant::now();
    let decoded_rows: u64 = (0..submissions.len())
        .into_par_iter()
        .map(|i| {
            let rows = submissions.get(i)?;
            Ok(decode_raw(rows.bytes)
                .map(|b| b.iter().map(|b| b.num_rows() as u64).sum::<u64>())
                .unwrap_or(0))
        })
        .sum::<Result<u64, BenchError>>()?;
    let decode_only = Stage {
        name: "decode only (Parquet -> Arrow)",
        listings: decoded_rows,
        elapsed: t.elapsed(),
    };

    // Decode with the schema-v1 checks, no validation rules.
    let t = Instant::now();
    let limits = epoch.ctx.config.decode_limits();
    let checked_rows: u64 = (0..submissions.len())
        .into_par_iter()
        .map(|i| {
            let s = submissions.get(i)?;
            Ok(decode_listings(s.bytes, &limits).map(|c| c.len() as u64).unwrap_or(0))
        })
        .sum::<Result<u64, BenchError>>()?;
    let decode_checked = Stage {
        name: "decode + schema v1 checks",
        listings: checked_rows,
        elapsed: t.elapsed(),
    };

    // The pipeline: each submission is decoded, checked and reduced to a
    // summary on a worker; the decoded rows never outlive that call.
    let examine_all = || -> Result<Vec<Examined>, BenchError> {
        let mut examined: Vec<Examined> = (0..submissions.len())
            .into_par_iter()
            .map(|i| Ok(examine(&epoch.ctx, submissions.get(i)?)))
            .collect::<Result<_, BenchError>>()?;
        examined.extend(
            bombs
                .par_iter()
                .map(|s| examine(&epoch.ctx, s.clone()))
                .collect::<Vec<_>>(),
        );
        Ok(examined)
    };
    let t = Instant::now();
    let examined = examine_all()?;
    let examine_elapsed = t.elapsed();
    let refused_bombs = examined
        .iter()
        .filter(|e| bombs.iter().any(|b| b.hotkey == e.hotkey))
        .filter(|e| matches!(&e.precheck, resi_core::examine::Precheck::Failed { tier: 0, reason } if reason.starts_with("unreadable")))
        .count();
    let t = Instant::now();
    let (results, simulated_source, lookups_per_epoch) = finish(&epoch, examined)?;
    let finish_elapsed = t.elapsed();
    // The slow run examines the epoch again, untimed, once the first run's
    // summaries are freed: a copy kept for it would add its size to the
    // peak RSS, which is the pipeline's.
    let tier3_latency = match params.source_latency {
        Some(latency) => {
            let examined = examine_all()?;
            let slow = BenchSource::new(&epoch, latency);
            let source = CachedSource::new(&slow);
            let t = Instant::now();
            let slow_results = finish_with(&epoch, examined, source)?;
            let finish = t.elapsed();
            if slow_results.to_json() != results.to_json() {
                return Err(BenchError::Engine("a slow property source changed the results".into()));
            }
            Some(Tier3Latency {
                latency,
                finish,
                lookups: slow.lookups(),
                most_in_a_zipcode: results.zipcodes.iter().map(|z| z.lookups).max().unwrap_or(0),
            })
        }
        None => None,
    };

    let dataset_publish = publish_dataset(&epoch, &submissions, &results)?;

    Ok(ValidateReport {
        dataset_publish,
        files: epoch.submissions.len(),
        parquet_bytes: epoch.total_bytes(),
        listings,
        generate,
        decode_only,
        decode_checked,
        examine: Stage {
            name: "decode + schema + tiers 0-2",
            listings,
            elapsed: examine_elapsed,
        },
        finish: Stage {
            name: "copy check + tier 3 + ranking + scores + hash",
            listings,
            elapsed: finish_elapsed,
        },
        simulated_source,
        lookups_per_epoch,
        end_to_end: examine_elapsed + finish_elapsed,
        peak_rss_mib: peak_rss_mib(),
        threads: rayon::current_num_threads(),
        bombs: (bombs.len(), refused_bombs),
        results,
        tier3_latency,
        input: params.input.clone(),
    })
}

impl ValidateReport {
    /// End to end over the decode-only floor (the target is at most 2).
    pub fn floor_ratio(&self) -> f64 {
        self.end_to_end.as_secs_f64() / self.decode_only.elapsed.as_secs_f64().max(1e-9)
    }

    /// [`Self::floor_ratio`] without the simulated market's own work: the
    /// validator's part of the end-to-end time.
    pub fn floor_ratio_without_source(&self) -> f64 {
        self.end_to_end.saturating_sub(self.simulated_source).as_secs_f64()
            / self.decode_only.elapsed.as_secs_f64().max(1e-9)
    }

    /// One JSON line: `{"listings", "threads", "decodeOnlySec", "endToEndSec", "floorRatio", "peakRssMib",
    /// "simulatedSourceSec", "lookupsPerEpoch", "datasetPublishSec", "datasetRows"}` (`peakRssMib`
    /// null where the platform does not tell).
    pub fn json(&self) -> String {
        let tier3 = self.tier3_latency.as_ref().map_or(String::new(), |t3| {
            format!(
                ",\"tier3LatencyMs\":{},\"tier3Sec\":{:.4},\"tier3BoundSec\":{:.4},\"tier3Lookups\":{}",
                t3.latency.as_millis(),
                t3.finish.as_secs_f64(),
                t3.bound(self.finish.elapsed).as_secs_f64(),
                t3.lookups
            )
        });
        format!(
            "{{\"listings\":{},\"threads\":{},\"decodeOnlySec\":{:.4},\"endToEndSec\":{:.4},\"floorRatio\":{:.3},\"peakRssMib\":{},\"simulatedSourceSec\":{:.4},\"lookupsPerEpoch\":{},\"datasetPublishSec\":{:.4},\"datasetRows\":{}{tier3}}}",
            self.listings,
            self.threads,
            self.decode_only.elapsed.as_secs_f64(),
            self.end_to_end.as_secs_f64(),
            self.floor_ratio(),
            self.peak_rss_mib.map_or("null".into(), |m| format!("{m:.1}")),
            self.simulated_source.as_secs_f64(),
            self.lookups_per_epoch,
            self.dataset_publish.elapsed.as_secs_f64(),
            self.dataset_publish.listings
        )
    }

    /// The human-readable report; the last line is the summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mib = self.parquet_bytes as f64 / (1024.0 * 1024.0);
        out.push_str(&format!(
            "epoch: {} files, {} listings, {:.1} MiB of Parquet, generated in {:.2} s, {} threads\n",
            self.files,
            self.listings,
            mib,
            self.generate.as_secs_f64(),
            self.threads
        ));
        if let Some(dir) = &self.input {
            out.push_str(&format!("  files read from {} in every stage\n", dir.display()));
        }
        for stage in [&self.decode_only, &self.decode_checked, &self.examine, &self.finish] {
            out.push_str(&format!(
                "  {:<48} {:>8.3} s  {:>12.0} listings/s\n",
                stage.name,
                stage.elapsed.as_secs_f64(),
                stage.rate()
            ));
        }
        out.push_str(&format!(
            "  {:<48} {:>8.3} s  (the simulated market computing its answers)\n",
            "  of which the property source",
            self.simulated_source.as_secs_f64()
        ));
        out.push_str(&format!(
            "  paid lookups this epoch: {} (distinct zpids asked of the property source)\n",
            self.lookups_per_epoch
        ));
        out.push_str(&format!(
            "  end to end over the decode-only floor: {:.2}x ({:.2}x without the simulated source's work)\n",
            self.floor_ratio(),
            self.floor_ratio_without_source()
        ));
        if let Some(t3) = &self.tier3_latency {
            let bound = t3.bound(self.finish.elapsed);
            out.push_str(&format!(
                "  tier 3 with a {} ms source: {:.3} s ({} lookups); bound (most lookups of a zipcode) x latency + CPU = {:.3} s: {}\n",
                t3.latency.as_millis(),
                t3.finish.as_secs_f64(),
                t3.lookups,
                bound.as_secs_f64(),
                if t3.finish <= bound { "within" } else { "OVER" }
            ));
        }
        let t = &self.results.totals;
        out.push_str(&format!(
            "outcome: {} submissions: {} winners, {} participants, {} failed, {} undetermined, {} ignored; {} miners scored\n",
            t.submissions, t.winners, t.participants, t.failed, t.undetermined, t.ignored, t.scored_miners
        ));
        let mut by_tier = [0u64; 4];
        for z in &self.results.zipcodes {
            for s in &z.submissions {
                if let (Status::Failed, Some(tier)) = (s.status, s.failed_tier) {
                    by_tier[(tier as usize).min(3)] += 1;
                }
            }
        }
        out.push_str(&format!(
            "failures by tier: 0: {}, 1: {}, 2: {}, 3: {}\nconsensus hash: {}\n",
            by_tier[0], by_tier[1], by_tier[2], by_tier[3], self.results.consensus_hash
        ));
        if self.bombs.0 > 0 {
            out.push_str(&format!(
                "decompression bombs: {} in the epoch, {} refused as unreadable at tier 0\n",
                self.bombs.0, self.bombs.1
            ));
        }
        out.push_str(&format!(
            "dataset publish: {} rows in {:.3} s ({:.2}× the validation's {:.3} s)\n",
            self.dataset_publish.listings,
            self.dataset_publish.elapsed.as_secs_f64(),
            self.dataset_publish.elapsed.as_secs_f64() / self.end_to_end.as_secs_f64().max(1e-9),
            self.end_to_end.as_secs_f64()
        ));
        let secs = self.end_to_end.as_secs_f64();
        out.push_str(&format!(
            "bench validate: {} listings in {:.3} s = {:.0} listings/s, peak RSS {}",
            self.listings,
            secs,
            self.listings as f64 / secs.max(1e-9),
            self.peak_rss_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB"))
        ));
        out
    }
}
