//! Saying what a daemon waits for: a dependency that is down (a database, a
//! chain node, the coordinator) must not look like a hung process.

use std::future::Future;
use std::time::Duration;

/// How long a wait stays silent: long enough that a healthy dependency
/// never logs, short enough that an operator is told before wondering.
pub const FIRST_WORD: Duration = Duration::from_millis(1_500);

/// Runs `work`; if it has not finished after [`FIRST_WORD`], logs
/// "waiting for {what}" at warn, and again every `every` with the time
/// waited so far, until it finishes. Returns what `work` returns.
pub async fn announced<F: Future>(what: &str, every: Duration, work: F) -> F::Output {
    let mut work = std::pin::pin!(work);
    let started = tokio::time::Instant::now();
    let mut next = FIRST_WORD;
    loop {
        match tokio::time::timeout_at(started + next, &mut work).await {
            Ok(out) => {
                if next > FIRST_WORD {
                    tracing::info!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "stopped waiting for {what}"
                    );
                }
                return out;
            }
            Err(_) => {
                tracing::warn!(waited_ms = started.elapsed().as_millis() as u64, "waiting for {what}");
                next += every;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_slow_wait_is_announced_and_a_quick_one_is_not() {
        let quick = announced("the database", Duration::from_secs(5), async { 1 }).await;
        assert_eq!(quick, 1);
        // Paused time: the sleep below advances the clock, not the test.
        let started = tokio::time::Instant::now();
        let slow = announced("the database", Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_secs(12)).await;
            2
        })
        .await;
        assert_eq!(slow, 2);
        assert_eq!(started.elapsed(), Duration::from_secs(12));
    }
}
