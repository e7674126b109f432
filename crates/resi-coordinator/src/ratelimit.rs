//! Fixed-window rate limits per (route, caller), with the `X-RateLimit-*`
//! values. Hand-written because the key (a verified hotkey) is known only
//! inside the handler, after the signature check, which request-level
//! limiter layers cannot see; and a bad signature must not spend the real
//! owner's quota.
//!
//! Windows are counted in memory (one coordinator) or in the database, so
//! that coordinators sharing one PostgreSQL behind a load balancer limit a
//! caller as one ([`RateLimiter::shared`]).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{ReplayRecord, RequestCount, Store, StoreError};

/// The longest window of any route; windows older than two of these are deleted.
const HOUR: i64 = 3_600;

/// A route's limit: `limit` requests per `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub window_secs: i64,
}

/// The outcome of one request against its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix second at which the window resets.
    pub reset_unix: i64,
}

/// Who a limit counts: a verified hotkey (its public key) or, on unsigned
/// routes, the peer's address. Fixed-size, so checking a request allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKey {
    Hotkey([u8; 32]),
    Peer(std::net::IpAddr),
}

impl From<&resi_core::Hotkey> for CallerKey {
    fn from(hotkey: &resi_core::Hotkey) -> Self {
        CallerKey::Hotkey(*hotkey.public_key())
    }
}

/// (route, caller) → (window start, requests counted in it).
type Windows = HashMap<(&'static str, CallerKey), (i64, u32)>;

impl CallerKey {
    /// The caller as stored in the database's windows.
    fn as_text(&self) -> String {
        match self {
            CallerKey::Hotkey(key) => hex::encode(key),
            CallerKey::Peer(ip) => ip.to_string(),
        }
    }
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<Windows>,
    shared: Option<Store>,
}

impl RateLimiter {
    /// Windows in this process's memory.
    pub fn local() -> Self {
        Self::default()
    }

    /// Windows in `store`'s database, shared by every coordinator on it.
    pub fn shared(store: Store) -> Self {
        Self {
            windows: Mutex::default(),
            shared: Some(store),
        }
    }

    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one request of `caller` on `route` and decides it.
    pub async fn check(
        &self,
        route: &'static str,
        caller: CallerKey,
        limit: Limit,
        now_unix: i64,
    ) -> Result<Decision, StoreError> {
        let Some(store) = &self.shared else {
            return Ok(self.check_local(route, caller, limit, now_unix));
        };
        let window_start = now_unix.div_euclid(limit.window_secs) * limit.window_secs;
        let counted = store
            .count_request(route, &caller.as_text(), window_start, window_start - 2 * HOUR)
            .await?;
        Ok(shared_decision(counted, limit, window_start))
    }

    /// Admits a verified signed request: writes its replay record to
    /// `store` and, if the record is new, counts the request and decides
    /// it. `None` for a replay, which counts nowhere, so a captured request
    /// cannot spend its owner's quota. With shared windows both writes are
    /// one statement ([`Store::admit`]).
    pub async fn admit(
        &self,
        store: &Store,
        record: ReplayRecord,
        route: &'static str,
        caller: CallerKey,
        limit: Limit,
        now_unix: i64,
    ) -> Result<Option<Decision>, StoreError> {
        let Some(shared) = &self.shared else {
            let fresh = store.record(record).await?;
            return Ok(fresh.then(|| self.check_local(route, caller, limit, now_unix)));
        };
        let window_start = now_unix.div_euclid(limit.window_secs) * limit.window_secs;
        let count = RequestCount {
            route: route.to_owned(),
            caller: caller.as_text(),
            window_start,
            forget_before: window_start - 2 * HOUR,
        };
        let counted = shared.admit(record, count).await?;
        Ok(counted.map(|counted| shared_decision(counted, limit, window_start)))
    }

    /// The in-memory count (a request refused does not count).
    pub fn check_local(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64) -> Decision {
        let window_start = now_unix.div_euclid(limit.window_secs) * limit.window_secs;
        let reset_unix = window_start + limit.window_secs;
        let mut windows = match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget finished windows now and then, so the map stays small.
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start >= window_start - 3_600);
        }
        let entry = windows.entry((route, caller)).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        let allowed = entry.1 < limit.limit;
        if allowed {
            entry.1 += 1;
        }
        Decision {
            allowed,
            limit: limit.limit,
            remaining: limit.limit - entry.1.min(limit.limit),
            reset_unix,
        }
    }
}

/// The decision for a request counted `counted`-th in its shared window
/// (a refused request counts too).
fn shared_decision(counted: u64, limit: Limit, window_start: i64) -> Decision {
    let used = u32::try_from(counted).unwrap_or(u32::MAX);
    Decision {
        allowed: used <= limit.limit,
        limit: limit.limit,
        remaining: limit.limit - used.min(limit.limit),
        reset_unix: window_start + limit.window_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_caller_and_window() {
        let r = RateLimiter::default();
        let k = CallerKey::Hotkey([1; 32]);
        let other = CallerKey::Peer(std::net::IpAddr::from([127, 0, 0, 1]));
        let l = Limit {
            limit: 2,
            window_secs: 60,
        };
        assert_eq!(r.check_local("a", k, l, 120).remaining, 1);
        assert_eq!(r.check_local("a", k, l, 130).remaining, 0);
        let third = r.check_local("a", k, l, 179);
        assert!(!third.allowed);
        assert_eq!(third.reset_unix, 180);
        assert!(r.check_local("a", other, l, 130).allowed);
        assert!(r.check_local("b", k, l, 130).allowed);
        assert!(r.check_local("a", k, l, 180).allowed, "a new window");
    }
}
