//! The clock daemons read, injected so that tests and the devnet control it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Wall-clock time in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;

    /// Whole Unix seconds (floor).
    fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// A clock shared by the parts of a daemon.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's clock: what production runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// A clock that only moves when told to: tests past a deadline without waiting for it.
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    pub fn at_unix(secs: i64) -> Arc<Self> {
        Arc::new(Self {
            ms: AtomicI64::new(secs.saturating_mul(1000)),
        })
    }

    pub fn set_unix(&self, secs: i64) {
        self.ms.store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(1_700_000_000);
        assert_eq!(clock.now_unix(), 1_700_000_000);
        clock.advance_ms(1_999);
        assert_eq!(clock.now_ms(), 1_700_000_001_999);
        assert_eq!(clock.now_unix(), 1_700_000_001);
        clock.set_unix(5);
        assert_eq!(clock.now_ms(), 5_000);
    }

    #[test]
    fn seconds_floor_before_1970_too() {
        struct Fixed(i64);
        impl Clock for Fixed {
            fn now_ms(&self) -> i64 {
                self.0
            }
        }
        assert_eq!(Fixed(-1).now_unix(), -1);
        assert!(SystemClock.now_unix() > 1_600_000_000);
    }
}
