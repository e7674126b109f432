//! The validator's Prometheus metrics, recorded through the `metrics`
//! facade (nothing is kept unless the binary installed a recorder).

use std::time::Instant;

use resi_core::consensus::{ConsensusReport, ConsensusStatus};
use resi_core::verify::{Lookup, PropertySource};
use resi_core::ValidationResults;

pub const LAST_EPOCH: &str = "resi_validator_last_epoch_validated_timestamp_seconds";
pub const EPOCHS: &str = "resi_validator_epochs_total";
pub const SUBMISSIONS: &str = "resi_validator_submissions_total";
pub const SOURCE_LOOKUPS: &str = "resi_validator_source_lookups_total";
pub const SOURCE_LOOKUP_SECONDS: &str = "resi_validator_source_lookup_duration_seconds";
pub const SAMPLE_VERDICTS: &str = "resi_validator_sample_verdicts_total";
pub const CONSENSUS: &str = "resi_validator_consensus_status";
pub const CONSENSUS_OUTLIERS: &str = "resi_validator_consensus_outliers";
pub const DEADLINE_TO_WEIGHTS: &str = "resi_validator_deadline_to_weights_seconds";
pub const LAST_WEIGHTS_BLOCK: &str = "resi_validator_last_weights_block";
pub const REFUSED_EPOCHS: &str = "resi_validator_refused_epochs_total";
pub const UNKNOWN_RESULTS_VERSION: &str = "resi_validator_unknown_results_version";

const STATUSES: [ConsensusStatus; 3] = [
    ConsensusStatus::PerfectConsensus,
    ConsensusStatus::MajorityConsensus,
    ConsensusStatus::ConsensusFailed,
];

/// Names and help texts (once per process); the epoch counters start at
/// zero so a scrape shows them before the first epoch is validated. Called
/// inside the validator's span, so the zeroed series carry its labels.
pub fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_gauge!(LAST_EPOCH, "Start of the last epoch validated to the end, Unix seconds.");
        metrics::describe_counter!(EPOCHS, "Epochs validated, by outcome (done, failed: retried later).");
        metrics::describe_counter!(
            SUBMISSIONS,
            "Submissions examined, by status (winner, participant, failed, undetermined, ignored) and the tier that failed (none when none did)."
        );
        metrics::describe_counter!(
            SOURCE_LOOKUPS,
            "Property-source lookups (after the per-epoch cache), by answer (found, not_found, unavailable)."
        );
        metrics::describe_histogram!(
            SOURCE_LOOKUP_SECONDS,
            metrics::Unit::Seconds,
            "Time for one property-source lookup."
        );
        metrics::describe_counter!(
            SAMPLE_VERDICTS,
            "Tier-3 samples by verdict (verified, mismatched, not_found, unavailable, incomparable)."
        );
        metrics::describe_gauge!(
            CONSENSUS,
            "1 for the last epoch's consensus status, 0 for the others."
        );
        metrics::describe_gauge!(CONSENSUS_OUTLIERS, "Validators outside the majority in the last epoch.");
        metrics::describe_gauge!(
            DEADLINE_TO_WEIGHTS,
            metrics::Unit::Seconds,
            "Seconds from the last epoch's deadline to its weights being set."
        );
        metrics::describe_gauge!(LAST_WEIGHTS_BLOCK, "Block of the last weights set.");
        metrics::describe_counter!(
            REFUSED_EPOCHS,
            "Epochs announced for a results version this release does not validate by: nothing published for them."
        );
        metrics::describe_gauge!(
            UNKNOWN_RESULTS_VERSION,
            "The newest results version announced that this release does not know (0: none): upgrade when it is not 0."
        );
    });
    for outcome in ["done", "failed"] {
        metrics::counter!(EPOCHS, "outcome" => outcome).absolute(0);
    }
    metrics::counter!(REFUSED_EPOCHS).absolute(0);
    metrics::gauge!(UNKNOWN_RESULTS_VERSION).set(0.0);
}

/// An upgrade announced to a results version this release does not know.
pub(crate) fn unknown_version_announced(version: u32) {
    metrics::gauge!(UNKNOWN_RESULTS_VERSION).set(f64::from(version));
}

/// An epoch refused for its results version.
pub(crate) fn epoch_refused(version: u32) {
    metrics::counter!(REFUSED_EPOCHS).increment(1);
    metrics::gauge!(UNKNOWN_RESULTS_VERSION).set(f64::from(version));
}

pub(crate) fn epoch_failed() {
    metrics::counter!(EPOCHS, "outcome" => "failed").increment(1);
}

pub(crate) fn epoch_done(start_unix: i64) {
    metrics::counter!(EPOCHS, "outcome" => "done").increment(1);
    metrics::gauge!(LAST_EPOCH).set(start_unix as f64);
}

/// What one epoch's results say (counted once, when they are computed).
pub(crate) fn results(results: &ValidationResults) {
    for zipcode in &results.zipcodes {
        for s in &zipcode.submissions {
            let status = match s.status {
                resi_core::results::Status::Winner => "winner",
                resi_core::results::Status::Participant => "participant",
                resi_core::results::Status::Failed => "failed",
                resi_core::results::Status::Undetermined => "undetermined",
                resi_core::results::Status::Ignored => "ignored",
                resi_core::results::Status::SameListings => "same-listings",
            };
            let tier = s.failed_tier.map_or_else(|| "none".to_owned(), |t| t.to_string());
            metrics::counter!(SUBMISSIONS, "status" => status, "tier" => tier).increment(1);
        }
    }
    let health = &results.property_source;
    for (verdict, n) in [
        ("verified", health.verified),
        ("mismatched", health.mismatched),
        ("not_found", health.not_found),
        ("unavailable", health.unavailable),
        ("incomparable", health.incomparable),
    ] {
        metrics::counter!(SAMPLE_VERDICTS, "verdict" => verdict).increment(n);
    }
}

pub(crate) fn consensus(report: &ConsensusReport) {
    for status in STATUSES {
        let value = if status == report.status { 1.0 } else { 0.0 };
        metrics::gauge!(CONSENSUS, "status" => status.to_string()).set(value);
    }
    metrics::gauge!(CONSENSUS_OUTLIERS).set(report.outliers.len() as f64);
}

pub(crate) fn weights_set(block: u64, seconds_after_deadline: f64) {
    metrics::gauge!(LAST_WEIGHTS_BLOCK).set(block as f64);
    metrics::gauge!(DEADLINE_TO_WEIGHTS).set(seconds_after_deadline);
}

/// A property source that counts and times every lookup it passes on.
#[derive(Clone)]
pub struct MeteredSource<S>(pub S);

impl<S: PropertySource> PropertySource for MeteredSource<S> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        let started = Instant::now();
        let answer = self.0.lookup(zpid).await;
        metrics::histogram!(SOURCE_LOOKUP_SECONDS).record(started.elapsed().as_secs_f64());
        let label = match &answer {
            Lookup::Found(_) => "found",
            Lookup::NotFound => "not_found",
            Lookup::Unavailable(_) => "unavailable",
        };
        metrics::counter!(SOURCE_LOOKUPS, "answer" => label).increment(1);
        answer
    }
}
