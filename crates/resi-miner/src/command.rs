//! The `command` scraper: any program, in any language, scrapes a zipcode.
//!
//! Protocol (README "Scraper plug-ins"): resi starts the program once per
//! zipcode in its own process group, writes one JSON object to its stdin
//! (`zipcode`, `target`, `deadlineMs`, `epochId`, `expectedListings`,
//! `state`, `city`, `county`, `marketTier`, `geographicRegion`) and closes
//! it; the program prints one listing per line on stdout as JSON with the
//! original Python interface's field names; stderr is logged. Exit 0 is
//! success, [`EXIT_TEMPORARY`] (75, `EX_TEMPFAIL`) means "temporary, try
//! again later", anything else is a failure. At the deadline the whole
//! process group is killed.

use std::process::Stdio;
use std::time::Duration;

use resi_core::manifest::ScraperInfo;
use resi_core::{AssignedZipcode, Listing, ListingStatus, PropertyType};
use resi_runtime::SharedClock;
use resi_sources::zillow::{int, text};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::scraper::{Deadline, ScrapeError, ZipcodeScraper};

/// The exit code that asks for a retry (sysexits' `EX_TEMPFAIL`).
pub const EXIT_TEMPORARY: i32 = 75;
/// Longest stdout line read; a longer one is malformed.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// More malformed lines than this share of all lines fails the zipcode.
const MAX_MALFORMED_PERCENT: usize = 10;

pub struct CommandScraper {
    program: String,
    args: Vec<String>,
    env: std::collections::BTreeMap<String, String>,
    name: String,
    clock: SharedClock,
}

impl CommandScraper {
    pub fn new(
        program: String,
        args: Vec<String>,
        env: std::collections::BTreeMap<String, String>,
        name: Option<String>,
        clock: SharedClock,
    ) -> Self {
        let name = name.unwrap_or_else(|| {
            std::path::Path::new(args.first().unwrap_or(&program))
                .file_name()
                .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned())
        });
        Self {
            program,
            args,
            env,
            name,
            clock,
        }
    }
}

fn enum_word(v: &Value) -> Option<String> {
    v.as_str()
        .map(|s| s.trim().to_ascii_uppercase().replace(['-', ' '], "_"))
}

/// `scraped_timestamp`: ISO-8601 (RFC 3339) or Unix milliseconds.
fn timestamp_ms(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(_) => int(v)
            .map(Some)
            .ok_or_else(|| "scraped_timestamp is not a number of ms".into()),
        Value::String(s) => time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
            .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
            .map_err(|e| format!("scraped_timestamp {s:?} is not ISO-8601: {e}")),
        _ => Err("scraped_timestamp is neither a string nor a number".into()),
    }
}

/// Why a scraper's stdout line is not a listing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

/// One stdout line as a listing (the original interface's field names).
pub fn parse_line(line: &str) -> Result<Listing, LineError> {
    listing_from_line(line).map_err(LineError)
}

fn listing_from_line(line: &str) -> Result<Listing, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let zpid = text(&v["zpid"]).ok_or("no zpid")?;
    let listing_date = text(&v["listing_date"]).map(|d| d.chars().take(10).collect());
    let property_type = enum_word(&v["property_type"]).map(|w| PropertyType::parse(&w).unwrap_or(PropertyType::Other));
    let listing_status =
        enum_word(&v["listing_status"]).map(|w| ListingStatus::parse(&w).unwrap_or(ListingStatus::Other));
    let to_i32 = |k: &str| int(&v[k]).and_then(|i| i32::try_from(i).ok());
    Ok(Listing {
        zpid,
        mls_id: text(&v["mls_id"]),
        address: text(&v["address"]),
        zipcode: text(&v["zipcode"]),
        price: int(&v["price"]),
        bedrooms: to_i32("bedrooms"),
        bathrooms: match &v["bathrooms"] {
            Value::String(s) => s.trim().parse().ok(),
            other => other.as_f64(),
        },
        sqft: to_i32("sqft"),
        listing_date,
        property_type,
        listing_status,
        days_on_market: to_i32("days_on_market"),
        source_url: text(&v["source_url"]),
        scraped_timestamp_ms: timestamp_ms(&v["scraped_timestamp"])?,
    })
}

/// Kills the program's whole process group (it may have started children).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg only sends a signal; the group is the child's own
        // (it was started with process_group(0)), never ours.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

impl ZipcodeScraper for CommandScraper {
    fn info(&self) -> ScraperInfo {
        ScraperInfo {
            name: self.name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            source: format!("command: {} {}", self.program, self.args.join(" ")),
        }
    }

    async fn scrape(
        &self,
        zipcode: &AssignedZipcode,
        target: u64,
        deadline: Deadline,
    ) -> Result<Vec<Listing>, ScrapeError> {
        let zip = zipcode.zipcode.as_str().to_owned();
        let request = serde_json::json!({
            "zipcode": zip,
            "target": target,
            "deadlineMs": deadline.at_ms(),
            "epochId": deadline.epoch.id.to_string(),
            "expectedListings": zipcode.expected_listings,
            "state": zipcode.state,
            "city": zipcode.city,
            "county": zipcode.county,
            "marketTier": zipcode.market_tier,
            "geographicRegion": zipcode.geographic_region,
        });
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ScrapeError::Other(format!("starting {}: {e}", self.program)))?;
        let pid = child.id();
        if let Some(mut stdin) = child.stdin.take() {
            let mut line = request.to_string();
            line.push('\n');
            // A program that ignores its input may have closed stdin already.
            let _ = stdin.write_all(line.as_bytes()).await;
        }
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let name = self.name.clone();
        let log_zip = zip.clone();
        let stderr_task = tokio::spawn(async move {
            let mut last = Vec::new();
            if let Some(stderr) = stderr {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(scraper = %name, zipcode = %log_zip, "{line}");
                    last.push(line);
                    if last.len() > 5 {
                        last.remove(0);
                    }
                }
            }
            last
        });
        let read = async {
            let mut listings = Vec::new();
            let mut malformed = Vec::new();
            let mut total = 0usize;
            if let Some(stdout) = stdout {
                let mut lines = BufReader::new(stdout).lines();
                let mut number = 0usize;
                while let Some(line) = lines
                    .next_line()
                    .await
                    .map_err(|e| ScrapeError::Other(format!("reading the scraper's stdout: {e}")))?
                {
                    number += 1;
                    if line.trim().is_empty() {
                        continue;
                    }
                    total += 1;
                    let parsed = if line.len() > MAX_LINE_BYTES {
                        Err(format!("longer than {MAX_LINE_BYTES} bytes"))
                    } else {
                        parse_line(&line).map_err(|e| e.0)
                    };
                    match parsed {
                        Ok(mut listing) => {
                            // A listing without a scrape time was read now.
                            listing.scraped_timestamp_ms.get_or_insert_with(|| self.clock.now_ms());
                            listings.push(listing);
                        }
                        Err(why) => {
                            tracing::warn!(zipcode = %zip, "scraper output line {number} is malformed: {why}");
                            malformed.push(format!("line {number}: {why}"));
                        }
                    }
                }
            }
            let status = child
                .wait()
                .await
                .map_err(|e| ScrapeError::Other(format!("waiting for the scraper: {e}")))?;
            Ok::<_, ScrapeError>((listings, malformed, total, status))
        };
        let left = Duration::from_millis(deadline.remaining_ms(self.clock.now_ms()));
        let outcome = tokio::time::timeout(left, read).await;
        let (listings, malformed, total, status) = match outcome {
            Ok(done) => done?,
            Err(_) => {
                kill_group(pid);
                return Err(ScrapeError::Other(format!(
                    "{zip}: the scraper was still running at the deadline; its process group was killed"
                )));
            }
        };
        // Children it left behind do not outlive the zipcode.
        kill_group(pid);
        let last_stderr = stderr_task.await.unwrap_or_default().join(" | ");
        match status.code() {
            Some(0) => {}
            Some(EXIT_TEMPORARY) => {
                return Err(ScrapeError::Unavailable(format!(
                    "{zip}: the scraper asked to retry (exit {EXIT_TEMPORARY}): {last_stderr}"
                )))
            }
            code => {
                return Err(ScrapeError::Other(format!(
                    "{zip}: the scraper failed ({}): {last_stderr}",
                    code.map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}"))
                )))
            }
        }
        if malformed.len() * 100 > total * MAX_MALFORMED_PERCENT {
            return Err(ScrapeError::Other(format!(
                "{zip}: {} of {total} output lines are malformed, e.g. {}",
                malformed.len(),
                malformed.first().cloned().unwrap_or_default()
            )));
        }
        Ok(listings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_the_original_field_names() {
        let line = r#"{"zpid": 108760565, "address": "950 1st Ave N, Nashville, TN 37201", "zipcode": "37201",
            "price": 635000, "bedrooms": 2, "bathrooms": 2.0, "sqft": 996, "listing_date": "2025-09-12T00:00:00Z",
            "property_type": "condo", "listing_status": "FOR_SALE", "days_on_market": 0,
            "source_url": "https://www.zillow.com/homedetails/x/108760565_zpid/", "scraped_timestamp": "2025-09-12T15:42:15Z"}"#;
        let l = parse_line(&line.replace('\n', " ")).unwrap();
        assert_eq!(l.zpid, "108760565");
        assert_eq!(l.property_type, Some(PropertyType::Condo));
        assert_eq!(l.listing_date.as_deref(), Some("2025-09-12"));
        assert_eq!(l.scraped_timestamp_ms, Some(1_757_691_735_000));
        let ms = parse_line(r#"{"zpid": "1", "scraped_timestamp": 1757691735000}"#).unwrap();
        assert_eq!(ms.scraped_timestamp_ms, Some(1_757_691_735_000));
        assert!(parse_line("not json").unwrap_err().to_string().contains("not JSON"));
        assert!(parse_line(r#"{"address": "x"}"#)
            .unwrap_err()
            .to_string()
            .contains("zpid"));
        assert!(parse_line(r#"{"zpid": "1", "scraped_timestamp": "yesterday"}"#).is_err());
    }
}
