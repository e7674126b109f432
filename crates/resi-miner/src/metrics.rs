//! The miner's Prometheus metrics, recorded through the `metrics` facade
//! (nothing is kept unless the binary installed a recorder).

pub const ZIPCODES: &str = "resi_miner_zipcodes_total";
pub const SCRAPE_SECONDS: &str = "resi_miner_scrape_duration_seconds";
pub const UPLOAD_SECONDS: &str = "resi_miner_upload_duration_seconds";
pub const SELF_CHECK_FAILURES: &str = "resi_miner_self_check_failures_total";
pub const ZIPCODE_LISTINGS: &str = "resi_miner_zipcode_listings";
pub const EPOCH_START: &str = "resi_miner_epoch_start_timestamp_seconds";
pub const EPOCH_ZIPCODES: &str = "resi_miner_epoch_zipcodes";

/// Names and help texts (once per process); every counter starts at zero
/// so a scrape shows it before the first epoch. Called inside the miner's
/// span, so the zeroed series carry its labels.
pub fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(
            ZIPCODES,
            "Zipcodes by outcome: scraped, uploaded, failed (may be retried), rejected (self-check or source)."
        );
        metrics::describe_histogram!(SCRAPE_SECONDS, metrics::Unit::Seconds, "Time to scrape one zipcode.");
        metrics::describe_histogram!(
            UPLOAD_SECONDS,
            metrics::Unit::Seconds,
            "Time to upload one zipcode's file to S3."
        );
        metrics::describe_counter!(
            SELF_CHECK_FAILURES,
            "Scrapes the self-check refused, by the tier that failed."
        );
        metrics::describe_histogram!(ZIPCODE_LISTINGS, "Listings in one scraped zipcode.");
        metrics::describe_gauge!(EPOCH_START, "Start of the epoch being mined, Unix seconds.");
        metrics::describe_gauge!(
            EPOCH_ZIPCODES,
            "The mined epoch's zipcodes, by state (assigned, uploaded, not_uploaded)."
        );
    });
    for outcome in ["scraped", "uploaded", "failed", "rejected"] {
        metrics::counter!(ZIPCODES, "outcome" => outcome).absolute(0);
    }
}

pub(crate) fn zipcode(outcome: &'static str) {
    metrics::counter!(ZIPCODES, "outcome" => outcome).increment(1);
}

pub(crate) fn self_check_failed(tier: String) {
    metrics::counter!(SELF_CHECK_FAILURES, "tier" => tier).increment(1);
}

pub(crate) fn epoch(start_unix: i64, assigned: usize, uploaded: usize) {
    metrics::gauge!(EPOCH_START).set(start_unix as f64);
    metrics::gauge!(EPOCH_ZIPCODES, "state" => "assigned").set(assigned as f64);
    metrics::gauge!(EPOCH_ZIPCODES, "state" => "uploaded").set(uploaded as f64);
    metrics::gauge!(EPOCH_ZIPCODES, "state" => "not_uploaded").set(assigned.saturating_sub(uploaded) as f64);
}
