//! Fixed-window rate limits per (route, caller), with the `X-RateLimit-*`
//! values. Hand-written because the key (a verified hotkey) is known only
//! inside the handler, after the signature check, which request-level
//! limiter layers cannot see; and a bad signature must not spend the real
//! owner's quota.

use std::collections::HashMap;
use std::sync::Mutex;

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

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<Windows>,
}

impl RateLimiter {
    pub fn check(&self, route: &'static str, caller: CallerKey, limit: Limit, now_unix: i64) -> Decision {
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
        assert_eq!(r.check("a", k, l, 120).remaining, 1);
        assert_eq!(r.check("a", k, l, 130).remaining, 0);
        let third = r.check("a", k, l, 179);
        assert!(!third.allowed);
        assert_eq!(third.reset_unix, 180);
        assert!(r.check("a", other, l, 130).allowed);
        assert!(r.check("b", k, l, 130).allowed);
        assert!(r.check("a", k, l, 180).allowed, "a new window");
    }
}
