//! Property lookups by zpid over HTTP, with retries.

use std::time::Duration;

use resi_core::verify::{Lookup, PropertyRecord, PropertySource};

use crate::budget::{retry_after, Budget};

/// A source that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("property source URL {0} cannot take a path")]
    BadBase(url::Url),
    #[error("HTTP client: {0}")]
    Client(reqwest::Error),
}

/// Looks properties up at a market (or any service with the same
/// `GET {base}/api/v1/properties/{zpid}` contract): 200 is found, 404 not
/// found; anything else is retried, then reported as unavailable (which
/// validators never count against a miner).
#[derive(Clone, Debug)]
pub struct HttpPropertySource {
    base: url::Url,
    http: reqwest::Client,
    attempts: u32,
    backoff: Duration,
    budget: Budget,
}

impl HttpPropertySource {
    pub fn new(base: url::Url, attempts: u32, backoff: Duration) -> Result<Self, SourceError> {
        if base.cannot_be_a_base() {
            return Err(SourceError::BadBase(base));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(SourceError::Client)?;
        Ok(Self {
            base,
            http,
            attempts: attempts.max(1),
            backoff,
            budget: Budget::new(50.0, 16),
        })
    }

    /// This source with another request budget (rate and requests in flight).
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
}

impl PropertySource for HttpPropertySource {
    async fn lookup(&self, zpid: &str) -> Lookup {
        let mut url = self.base.clone();
        match url.path_segments_mut() {
            Ok(mut segments) => {
                segments.pop_if_empty().extend(["api", "v1", "properties", zpid]);
            }
            Err(()) => return Lookup::Unavailable(format!("base URL {} cannot take a path", self.base)),
        }
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let mut wait = self.backoff * 2u32.saturating_pow(attempt - 1);
            let sent = {
                let _slot = self.budget.admit().await;
                self.http.get(url.clone()).send().await
            };
            match sent {
                Ok(r) if r.status() == reqwest::StatusCode::OK => match r.json::<PropertyRecord>().await {
                    Ok(record) => return Lookup::Found(record),
                    Err(e) => last = format!("attempt {attempt}: bad body: {e}"),
                },
                // Not found only when the source says so for this zpid; any
                // other 404 (a wrong base URL, a proxy's page) is the
                // source's failure, never evidence against a miner.
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    let body: serde_json::Value = r.json().await.unwrap_or_default();
                    if body["notFound"] == serde_json::Value::Bool(true) && body["zpid"].as_str() == Some(zpid) {
                        return Lookup::NotFound;
                    }
                    last = format!("attempt {attempt}: HTTP 404 that is not a not-found answer for zpid {zpid} (wrong property_source URL?)");
                }
                Ok(r) => {
                    if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                        // Honoured up to a minute; longer is the source's outage.
                        wait = wait.max(retry_after(&r).unwrap_or_default().min(Duration::from_secs(60)));
                    }
                    last = format!("attempt {attempt}: HTTP {}", r.status());
                }
                Err(e) => last = format!("attempt {attempt}: {e}"),
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
            }
        }
        Lookup::Unavailable(format!("property {zpid}: {last}"))
    }
}
