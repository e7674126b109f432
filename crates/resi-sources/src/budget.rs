//! A request budget shared by a source's tasks: at most `max_concurrent`
//! requests in flight and at most `requests_per_second` started, plus the
//! `Retry-After` of a `429`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};

#[derive(Clone, Debug)]
pub struct Budget {
    slots: Arc<Semaphore>,
    gap: Duration,
    next_start: Arc<Mutex<tokio::time::Instant>>,
}

impl Budget {
    pub fn new(requests_per_second: f64, max_concurrent: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            gap: Duration::from_secs_f64(1.0 / requests_per_second.clamp(0.01, 100_000.0)),
            next_start: Arc::new(Mutex::new(tokio::time::Instant::now())),
        }
    }

    /// Waits for a slot and this request's turn; the slot is held until the permit drops.
    pub async fn admit(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.slots.acquire().await.ok()?;
        let start = {
            let mut next = self.next_start.lock().await;
            let now = tokio::time::Instant::now();
            let start = (*next).max(now);
            *next = start + self.gap;
            start
        };
        tokio::time::sleep_until(start).await;
        Some(permit)
    }
}

/// The `Retry-After` of a response, in seconds, if it has one.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_start_no_faster_than_the_rate() {
        let budget = Budget::new(10.0, 4);
        let t0 = tokio::time::Instant::now();
        for _ in 0..5 {
            drop(budget.admit().await);
        }
        // Five starts at 10/s: the fifth 400 ms after the first.
        assert!(t0.elapsed() >= Duration::from_millis(400), "{:?}", t0.elapsed());
        assert!(t0.elapsed() < Duration::from_millis(500), "{:?}", t0.elapsed());
    }
}
