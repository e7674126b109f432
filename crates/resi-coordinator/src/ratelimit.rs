//! Fixed-window rate limits per (route, caller), with the `X-RateLimit-*`
//! values. Hand-written because the key (a verified hotkey) is known only
//! inside the handler, after the signature check, which request-level
//! limiter layers cannot see; and a bad signature must not spend the real
//! owner's quota.
//!
//! Windows are counted in memory (one coordinator) or in the database, so
//! that coordinators sharing one PostgreSQL behind a load balancer limit a
//! caller as one ([`RateLimiter::shared`]).
//!
//! What a request costs does not grow with the callers: the in-memory
//! windows expire from per-length queues in time order (amortized O(1) a
//! request) and are capped at [`MAX_TRACKED_WINDOWS`], the oldest evicted
//! first. A request over its limit writes nothing: in memory its slot is
//! taken before its replay record is written and given back if it was a
//! replay; with shared windows, a window this coordinator saw full refuses
//! from memory until it ends.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::store::{ReplayRecord, RequestCount, Store, StoreError};

/// Windows remembered in memory at most (about 100 bytes each): past this
/// the window closest to its end is forgotten first, which can only give
/// its caller a fresh window early.
pub const MAX_TRACKED_WINDOWS: usize = 200_000;

/// A route's limit: `limit` requests per `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub window_secs: i64,
}

impl Limit {
    fn window_start(&self, now_unix: i64) -> i64 {
        let len = self.window_secs.max(1);
        now_unix.div_euclid(len) * len
    }
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
/// routes, the peer (an IPv4 address, an IPv6 /64). Fixed-size, so checking
/// a request allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKey {
    Hotkey([u8; 32]),
    Peer(resi_net::PeerKey),
}

impl From<&resi_core::Hotkey> for CallerKey {
    fn from(hotkey: &resi_core::Hotkey) -> Self {
        CallerKey::Hotkey(*hotkey.public_key())
    }
}

impl CallerKey {
    /// The caller of an unsigned request from `ip`.
    pub fn peer(ip: std::net::IpAddr) -> Self {
        CallerKey::Peer(resi_net::PeerKey::of(ip))
    }

    /// The caller as stored in the database's windows.
    fn as_text(&self) -> String {
        match self {
            CallerKey::Hotkey(key) => hex::encode(key),
            CallerKey::Peer(peer) => peer.to_string(),
        }
    }
}

type WindowKey = (&'static str, CallerKey);

/// One (route, caller)'s current window: its start and the requests counted.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: i64,
    len: i64,
    counted: u32,
}

/// The windows in memory, with their expiry queues: one per window length,
/// each in the order its windows end.
#[derive(Default)]
struct Windows {
    current: HashMap<WindowKey, Window>,
    ends: HashMap<i64, VecDeque<(i64, WindowKey)>>,
    queued: usize,
}

impl Windows {
    /// Forgets windows ended by `now_unix`, then the earliest-ending ones
    /// while more than `cap` are queued.
    fn expire(&mut self, now_unix: i64, cap: usize) {
        for queue in self.ends.values_mut() {
            while let Some(&(end, key)) = queue.front() {
                if end > now_unix {
                    break;
                }
                queue.pop_front();
                self.queued -= 1;
                if self.current.get(&key).is_some_and(|w| w.start + w.len == end) {
                    self.current.remove(&key);
                }
            }
        }
        while self.queued > cap {
            let Some(queue) = self
                .ends
                .values_mut()
                .filter(|q| !q.is_empty())
                .min_by_key(|q| q.front().map_or(i64::MAX, |f| f.0))
            else {
                break;
            };
            if let Some((end, key)) = queue.pop_front() {
                self.queued -= 1;
                if self.current.get(&key).is_some_and(|w| w.start + w.len == end) {
                    self.current.remove(&key);
                }
            }
        }
    }

    /// The window of `key` containing `now_unix`, started if absent.
    fn window(&mut self, key: WindowKey, limit: Limit, now_unix: i64) -> &mut Window {
        self.expire(now_unix, MAX_TRACKED_WINDOWS);
        let start = limit.window_start(now_unix);
        let len = limit.window_secs.max(1);
        let window = self.current.entry(key).or_insert(Window {
            start: i64::MIN,
            len,
            counted: 0,
        });
        if window.start != start || window.len != len {
            *window = Window { start, len, counted: 0 };
            self.ends.entry(len).or_default().push_back((start + len, key));
            self.queued += 1;
        }
        window
    }

    /// The window of `key` containing `now_unix`, if one is remembered.
    fn get(&self, key: WindowKey, limit: Limit, now_unix: i64) -> Option<Window> {
        let start = limit.window_start(now_unix);
        self.current.get(&key).copied().filter(|w| w.start == start)
    }
}

fn decision(counted: u32, allowed: bool, limit: Limit, now_unix: i64) -> Decision {
    Decision {
        allowed,
        limit: limit.limit,
        remaining: limit.limit - counted.min(limit.limit),
        reset_unix: limit.window_start(now_unix) + limit.window_secs.max(1),
    }
}

#[derive(Default)]
pub struct RateLimiter {
    /// In memory: every window. Shared: the windows seen full.
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

    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        match self.windows.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Shared windows: the refusal of a window this coordinator saw full.
    fn known_full(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64) -> Option<Decision> {
        let window = self.windows().get((route, caller), limit, now_unix)?;
        (window.counted >= limit.limit).then(|| decision(window.counted, false, limit, now_unix))
    }

    /// Shared windows: remembers a window the database counted full.
    fn remember(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64, d: Decision) {
        if !d.allowed {
            self.windows().window((route, caller), limit, now_unix).counted = limit.limit;
        }
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
        if let Some(refused) = self.known_full(route, caller, limit, now_unix) {
            return Ok(refused);
        }
        let window_start = limit.window_start(now_unix);
        let counted = store.count_request(route, &caller.as_text(), window_start).await?;
        let d = shared_decision(counted, limit, window_start);
        self.remember(route, caller, limit, now_unix, d);
        Ok(d)
    }

    /// Admits a verified signed request: decides it against its limit and,
    /// if it is allowed, writes its replay record to `store`. `None` for a
    /// replay, which counts nowhere, so a captured request cannot spend its
    /// owner's quota; a request over its limit writes nothing. With shared
    /// windows the record and the count are one statement ([`Store::admit`]).
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
            let d = self.check_local(route, caller, limit, now_unix);
            if !d.allowed {
                return Ok(Some(d));
            }
            if store.record(record).await? {
                return Ok(Some(d));
            }
            self.give_back(route, caller, limit, now_unix);
            return Ok(None);
        };
        if let Some(refused) = self.known_full(route, caller, limit, now_unix) {
            return Ok(Some(refused));
        }
        let window_start = limit.window_start(now_unix);
        let count = RequestCount {
            route: route.to_owned(),
            caller: caller.as_text(),
            window_start,
            limit: limit.limit,
        };
        let counted = shared.admit(record, count).await?;
        Ok(counted.map(|counted| {
            let d = shared_decision(counted, limit, window_start);
            self.remember(route, caller, limit, now_unix, d);
            d
        }))
    }

    /// The in-memory count (a request refused does not count).
    pub fn check_local(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64) -> Decision {
        let mut windows = self.windows();
        let window = windows.window((route, caller), limit, now_unix);
        let allowed = window.counted < limit.limit;
        if allowed {
            window.counted += 1;
        }
        decision(window.counted, allowed, limit, now_unix)
    }

    /// Gives back the slot a replay took in its window.
    fn give_back(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64) {
        let start = limit.window_start(now_unix);
        if let Some(w) = self.windows().current.get_mut(&(route, caller)) {
            if w.start == start {
                w.counted = w.counted.saturating_sub(1);
            }
        }
    }

    /// Windows remembered in memory now.
    pub fn tracked_windows(&self) -> usize {
        self.windows().current.len()
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

    const MINUTE: Limit = Limit {
        limit: 2,
        window_secs: 60,
    };

    fn peer(n: u32) -> CallerKey {
        CallerKey::peer(std::net::IpAddr::from(n.to_be_bytes()))
    }

    #[test]
    fn counts_per_caller_and_window() {
        let r = RateLimiter::default();
        let k = CallerKey::Hotkey([1; 32]);
        let other = peer(0x7f00_0001);
        let l = MINUTE;
        assert_eq!(r.check_local("a", k, l, 120).remaining, 1);
        assert_eq!(r.check_local("a", k, l, 130).remaining, 0);
        let third = r.check_local("a", k, l, 179);
        assert!(!third.allowed);
        assert_eq!(third.reset_unix, 180);
        assert!(r.check_local("a", other, l, 130).allowed);
        assert!(r.check_local("b", k, l, 130).allowed);
        assert!(r.check_local("a", k, l, 180).allowed, "a new window");
    }

    /// Ended windows are forgotten as time passes, whatever their length,
    /// and never more than the cap are kept.
    #[test]
    fn windows_expire_in_order_and_stay_under_the_cap() {
        let r = RateLimiter::default();
        let hour = Limit {
            limit: 5,
            window_secs: 3_600,
        };
        r.check_local("hourly", peer(1), hour, 0);
        for n in 0..1_000 {
            r.check_local("a", peer(n), MINUTE, 10);
        }
        assert_eq!(r.tracked_windows(), 1_001);
        // A minute later the minute windows are gone, the hour's is not.
        r.check_local("a", peer(5_000), MINUTE, 70);
        assert_eq!(r.tracked_windows(), 2);
        assert_eq!(
            r.check_local("hourly", peer(1), hour, 71).remaining,
            3,
            "the hour still counts"
        );
        // The cap holds, evicting the earliest-ending windows.
        let mut windows = r.windows();
        for n in 0..50 {
            windows.window(("b", peer(10_000 + n)), MINUTE, 80).counted = 1;
        }
        windows.expire(80, 10);
        assert!(windows.queued <= 10 && windows.current.len() <= 10);
        assert!(windows.current.contains_key(&("b", peer(10_049))), "the latest stay");
    }

    /// A request's cost does not grow with the callers: forgetting ended
    /// windows is a walk over the ended ones only (counted here as queue
    /// pops), never over every caller.
    #[test]
    fn forgetting_walks_only_ended_windows() {
        let r = RateLimiter::default();
        for n in 0..100_000 {
            r.check_local("a", peer(n), MINUTE, 0);
        }
        let mut windows = r.windows();
        let before = windows.queued;
        windows.expire(30, MAX_TRACKED_WINDOWS);
        assert_eq!(windows.queued, before, "nothing ended, nothing walked");
        windows.expire(60, MAX_TRACKED_WINDOWS);
        assert_eq!((windows.queued, windows.current.len()), (0, 0));
    }
}
