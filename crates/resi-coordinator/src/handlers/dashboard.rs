//! The live page at `/` and the data it polls at `/api/v1/dashboard`.
//!
//! The page is one static HTML file (no build step) that fetches the data
//! every few seconds and counts down locally between fetches, so it stays
//! right across epoch boundaries. The data is read from what the
//! coordinator already has: the current epoch, the miners' status reports,
//! the results files validators published to the bucket (fetched once per
//! validator and epoch, signature-checked, then kept in memory; one that
//! cannot be shown is asked for again at most every 30 s), the dataset
//! manifests they published beside them (the same way) and the chain's
//! weight records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use resi_api::dashboard::*;
use resi_api::StatusReport;
use resi_core::consensus::{evaluate, PublishedHash};
use resi_core::results::{SignedRefusal, SignedResults, Status};
use resi_core::{EpochId, Hotkey, ValidationResults};
use resi_storage::ObjectKey;

use super::reply::ok;
use crate::error::ApiError;
use crate::signed::{self, Counted};
use crate::state::{unix, AppState};
use crate::store::{StoredEpoch, GRANT_VALIDATORS};

/// Finished epochs shown.
const RECENT_EPOCHS: usize = 4;
/// Weight settings shown.
const RECENT_WEIGHTS: usize = 12;
/// Largest results file read (as the validators' own limit).
const MAX_RESULTS_BYTES: u64 = 64 * 1024 * 1024;

/// `GET /`: the page.
pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../dashboard.html"),
    )
        .into_response()
}

/// `GET /api/v1/dashboard`.
pub(crate) async fn data(
    State(state): State<Arc<AppState>>,
    counted: Counted<signed::Dashboard>,
) -> Result<Response, ApiError> {
    let rate = counted.rate;
    let now = state.clock.now_unix();
    let current = &state.epochs.current(&state.store, &state.policy, now).await?.stored;
    let epoch = DashboardEpoch {
        id: current.epoch_id,
        start: current.start_unix,
        deadline: current.end_unix,
        target_listings: current.target_listings,
        expected_listings: current.zipcodes.iter().map(|(z, _)| z.expected_listings).sum(),
        zipcode_count: current.zipcodes.len() as u64,
        // As miners see them (the honeypot is not told apart), and only
        // after the deadline: the public must not learn an assignment
        // before the miners who scrape it.
        zipcodes: current
            .zipcodes
            .iter()
            .filter(|_| now >= current.end_unix)
            .map(|(z, _)| DashboardZipcode {
                zipcode: z.zipcode,
                city: z.city.clone(),
                state: z.state.clone(),
                expected_listings: z.expected_listings,
            })
            .collect(),
        rules: Some(resi_api::RulesAnnouncement {
            current_version: current.results_version,
            upgrade: state.policy.rules.announcement(&current.epoch_id).upgrade,
        }),
    };
    let miners = state
        .store
        .miner_statuses(&current.epoch_id)
        .await?
        .into_iter()
        .map(|(hotkey, text)| progress(hotkey, &text))
        .collect();
    let mut recent = Vec::new();
    for id in state.store.recent_epoch_ids(RECENT_EPOCHS as i64 + 2).await? {
        let Some(stored) = state.epochs.existing(&state.store, &id).await? else {
            continue;
        };
        if stored.stored.end_unix > now {
            continue;
        }
        recent.push(outcome(&state, &stored.stored, now).await?);
        if recent.len() == RECENT_EPOCHS {
            break;
        }
    }
    let (weights, weights_source) = match state.chain.recent_weights(RECENT_WEIGHTS) {
        Ok(Some(records)) => (
            records
                .into_iter()
                .rev()
                .map(|r| WeightsSet {
                    epoch: r.epoch_id,
                    validator: r.validator.to_string(),
                    block: r.block,
                    at: r.at,
                    weights: r.uids.into_iter().zip(r.weights).collect(),
                })
                .collect(),
            "ledger",
        ),
        Ok(None) => (Vec::new(), "none"),
        Err(e) => {
            tracing::warn!("dashboard: weight records unreadable: {e}");
            (Vec::new(), "unreadable")
        }
    };
    let neurons = state
        .chain
        .metagraph()
        .map(|m| {
            m.neurons()
                .iter()
                .map(|n| DashboardNeuron {
                    uid: n.uid,
                    hotkey: n.hotkey.to_string(),
                    validator: n.is_validator(state.validator_min_stake),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ok(
        DashboardResponse {
            now,
            epoch,
            miners,
            recent,
            weights,
            weights_source: weights_source.into(),
            neurons,
        },
        Some(rate),
    ))
}

/// A miner's stored status report, as the page shows it.
fn progress(hotkey: String, text: &str) -> MinerProgress {
    let report: Option<StatusReport> = serde_json::from_str(text).ok();
    let status = report
        .as_ref()
        .and_then(|r| r.status)
        .and_then(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)));
    MinerProgress {
        hotkey,
        status,
        zipcodes_assigned: report.as_ref().and_then(|r| r.zipcodes_assigned),
        zipcodes_uploaded: report.as_ref().map_or(0, |r| {
            r.zipcodes_uploaded
                .unwrap_or_else(|| r.zipcodes_completed.as_ref().map_or(0, |c| c.len() as u64))
        }),
        listings: report.and_then(|r| r.listings_uploaded.or(r.listings_scraped)),
    }
}

/// One finished epoch: who published what, the consensus, the majority's ranking.
async fn outcome(state: &AppState, stored: &StoredEpoch, now: i64) -> Result<EpochOutcome, ApiError> {
    let (epoch, deadline) = (stored.epoch_id, stored.end_unix);
    let granted = state.store.grants(&epoch, GRANT_VALIDATORS).await?;
    let metagraph = state.chain.metagraph().ok();
    let mut published = Vec::new();
    let mut missing = Vec::new();
    let mut by_hash: BTreeMap<String, Arc<ValidationResults>> = BTreeMap::new();
    let mut datasets = Vec::new();
    for text in granted {
        let Ok(validator) = Hotkey::parse(&text) else {
            continue;
        };
        match published_results(state, epoch, &validator, now).await {
            Ok(results) => {
                datasets.extend(published_dataset(state, epoch, &validator, now).await);
                let stake = metagraph
                    .as_ref()
                    .and_then(|m| m.by_hotkey(&validator).map(|n| n.stake))
                    .unwrap_or(0);
                published.push(PublishedResults {
                    validator: text,
                    consensus_hash: results.consensus_hash.clone(),
                    stake,
                });
                by_hash.entry(results.consensus_hash.clone()).or_insert(results);
            }
            Err(reason) => missing.push(MissingResults {
                validator: text,
                reason,
            }),
        }
    }
    let consensus = (!published.is_empty()).then(|| {
        let hashes: Vec<PublishedHash> = published
            .iter()
            .filter_map(|p| {
                Some(PublishedHash {
                    validator: Hotkey::parse(&p.validator).ok()?,
                    stake: p.stake,
                    consensus_hash: p.consensus_hash.clone(),
                })
            })
            .collect();
        evaluate(&hashes)
    });
    let majority = consensus
        .as_ref()
        .and_then(|c| c.majority_hash.as_ref())
        .and_then(|h| by_hash.get(h));
    let (leaderboard, zipcodes) = majority.map_or_else(Default::default, |r| ranking(r));
    Ok(EpochOutcome {
        epoch,
        deadline,
        results_version: stored.results_version,
        published,
        missing,
        consensus,
        leaderboard,
        zipcodes,
        datasets,
    })
}

/// A validator's dataset manifest of the epoch, verified as its own; none
/// when it published none (or one that does not verify).
async fn published_dataset(state: &AppState, epoch: EpochId, validator: &Hotkey, now: i64) -> Option<DatasetSummary> {
    /// A manifest is about 200 bytes a zipcode.
    const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
    if let Some(known) = state.published.dataset(epoch, validator, now) {
        return known;
    }
    let key = ObjectKey::Dataset {
        validator: validator.clone(),
        epoch,
    };
    let fetched = async {
        let bytes = small_object(state, &key, MAX_MANIFEST_BYTES, unix(now).ok()?).await?;
        let manifest: resi_dataset::DatasetManifest = serde_json::from_slice(&bytes).ok()?;
        (manifest.verify() && &manifest.publisher == validator && manifest.epoch_id == epoch).then(|| {
            let stats = resi_dataset::stats::EpochStats::of(&manifest);
            DatasetSummary {
                publisher: validator.to_string(),
                consensus_hash: manifest.consensus_hash,
                zipcodes: stats.zipcodes,
                listings: stats.listings,
                new: stats.changes.new,
                removed: stats.changes.removed,
                price_changed: stats.changes.price_changed,
            }
        })
    }
    .await;
    state
        .published
        .remember_dataset(epoch, validator.clone(), fetched.clone(), now);
    fetched
}

/// A validator's results for the epoch from the bucket, verified; the
/// reason otherwise.
async fn published_results(
    state: &AppState,
    epoch: EpochId,
    validator: &Hotkey,
    now: i64,
) -> Result<Arc<ValidationResults>, String> {
    if let Some(kept) = state.published.get(epoch, validator) {
        return Ok(kept);
    }
    if let Some(reason) = state.published.missing(epoch, validator, now) {
        return Err(reason);
    }
    let fetched = fetch_results(state, epoch, validator, now).await;
    fetched.inspect_err(|reason| {
        state
            .published
            .remember_missing(epoch, validator.clone(), reason.clone(), now);
    })
}

/// Fetches and verifies a validator's results file.
async fn fetch_results(
    state: &AppState,
    epoch: EpochId,
    validator: &Hotkey,
    now: i64,
) -> Result<Arc<ValidationResults>, String> {
    let key = ObjectKey::Results {
        validator: validator.clone(),
        epoch,
    }
    .as_key();
    let at = unix(now).map_err(|e| format!("{e:?}"))?;
    let url = state
        .presigner
        .get(&key, at, Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    let bytes = match state.s3.get(&url, &key, MAX_RESULTS_BYTES).await {
        Ok(b) => b,
        Err(e) if e.status() == Some(404) => {
            return Err(refusal(state, epoch, validator, at)
                .await
                .unwrap_or_else(|| "not published yet".into()))
        }
        Err(e) => return Err(format!("unreadable: {e}")),
    };
    let signed: SignedResults = serde_json::from_slice(&bytes).map_err(|e| format!("not a results file: {e}"))?;
    let results = resi_auth::results::verify(&signed, validator).map_err(|e| format!("refused: {e}"))?;
    Ok(state.published.keep(epoch, validator.clone(), results.clone()))
}

/// Why a validator published no results, in its own signed words
/// (`refusal.json`: a results version its release does not know).
async fn refusal(state: &AppState, epoch: EpochId, validator: &Hotkey, at: time::OffsetDateTime) -> Option<String> {
    /// A refusal is a few hundred bytes.
    const MAX_REFUSAL_BYTES: u64 = 64 * 1024;
    let key = ObjectKey::Refusal {
        validator: validator.clone(),
        epoch,
    };
    let bytes = small_object(state, &key, MAX_REFUSAL_BYTES, at).await?;
    let signed: SignedRefusal = serde_json::from_slice(&bytes).ok()?;
    let refusal = resi_auth::refusal::verify(&signed, validator).ok()?;
    Some(format!("refused by release {}: {}", refusal.release, refusal.reason))
}

/// A small object a validator may have published beside its results; none
/// when it is absent, too large or cannot be read (the page says nothing of it).
async fn small_object(
    state: &AppState,
    key: &ObjectKey,
    max_bytes: u64,
    at: time::OffsetDateTime,
) -> Option<bytes::Bytes> {
    let key = key.as_key();
    let url = state.presigner.get(&key, at, Duration::from_secs(60)).ok()?;
    state.s3.get(&url, &key, max_bytes).await.ok()
}

/// The leaderboard and per-zipcode winners of one results file.
fn ranking(results: &ValidationResults) -> (Vec<LeaderboardRow>, Vec<ZipcodeWinners>) {
    struct Tally {
        won: u64,
        submitted: u64,
        refusal: Option<String>,
    }
    let mut tallies: BTreeMap<&Hotkey, Tally> = BTreeMap::new();
    let mut zipcodes = Vec::with_capacity(results.zipcodes.len());
    for z in &results.zipcodes {
        for s in &z.submissions {
            let t = tallies.entry(&s.hotkey).or_insert(Tally {
                won: 0,
                submitted: 0,
                refusal: None,
            });
            t.submitted += 1;
            if z.winners.contains(&s.hotkey) {
                t.won += 1;
            }
            if matches!(
                s.status,
                Status::Failed | Status::Ignored | Status::SameListings | Status::Undetermined
            ) && t.refusal.is_none()
            {
                t.refusal = Some(format!("{}: {}", z.zipcode, s.reason));
            }
        }
        zipcodes.push(ZipcodeWinners {
            zipcode: z.zipcode,
            expected_listings: z.expected_listings,
            submissions: z.submissions.len() as u64,
            winners: z.winners.iter().map(ToString::to_string).collect(),
        });
    }
    let scores: HashMap<&Hotkey, u64> = results.miner_scores.iter().map(|m| (&m.hotkey, m.score_ppb)).collect();
    let mut rows: Vec<LeaderboardRow> = tallies
        .into_iter()
        .map(|(hotkey, t)| {
            let score_ppb = scores.get(hotkey).copied().unwrap_or(0);
            LeaderboardRow {
                rank: 0,
                miner: hotkey.to_string(),
                zipcodes_won: t.won,
                zipcodes_submitted: t.submitted,
                score_ppb,
                reason: (score_ppb == 0).then(|| t.refusal.unwrap_or_else(|| "won no zipcode".into())),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.score_ppb, b.zipcodes_won)
            .cmp(&(a.score_ppb, a.zipcodes_won))
            .then_with(|| a.miner.cmp(&b.miner))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i as u32 + 1;
    }
    (rows, zipcodes)
}
