//! The property sources a validator can be configured with, and the
//! per-epoch lookup cache in front of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use resi_core::verify::{Lookup, PropertySource};

use crate::lookup::HttpPropertySource;
use crate::zillow::ZillowApi;

/// One of the configured sources (`[property_source] kind = …`).
#[derive(Clone, Debug)]
pub enum AnySource {
    /// `resi-http`: `GET {base}/api/v1/properties/{zpid}` (the simulated market).
    ResiHttp(HttpPropertySource),
    /// `zillow-api`: `GET {base}/property?zpid=`.
    ZillowApi(ZillowApi),
}

impl PropertySource for AnySource {
    async fn lookup(&self, zpid: &str) -> Lookup {
        match self {
            AnySource::ResiHttp(s) => s.lookup(zpid).await,
            AnySource::ZillowApi(s) => s.lookup(zpid).await,
        }
    }
}

/// Asks the source once per zpid: found and not-found answers are kept for
/// the cache's life (one epoch's validation); an unavailable answer is not,
/// so a later sample asks again. Lookups of one zpid that arrive while it is
/// being asked wait for that answer instead of asking too (tier 3 asks for
/// a whole zipcode at once, and honest submissions share most zpids), so the
/// source's rate budget is spent once per zpid.
#[derive(Clone)]
pub struct CachedSource<S> {
    inner: S,
    answers: Arc<Mutex<HashMap<String, Arc<OnceCell<Lookup>>>>>,
}

impl<S> CachedSource<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            answers: Arc::default(),
        }
    }
}

impl<S: PropertySource + Sync> PropertySource for CachedSource<S> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        let cell = {
            let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(answers.entry(zpid.to_owned()).or_default())
        };
        let answer = cell.get_or_init(|| self.inner.lookup(zpid)).await.clone();
        if matches!(answer, Lookup::Unavailable(_)) {
            // Those who waited for this attempt share its outcome; a later
            // lookup asks again.
            let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
            if answers.get(zpid).is_some_and(|kept| Arc::ptr_eq(kept, &cell)) {
                answers.remove(zpid);
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Counting(AtomicUsize);

    impl PropertySource for Counting {
        async fn lookup(&self, zpid: &str) -> Lookup {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            // The first call for "flaky" is the second call overall.
            if zpid == "flaky" && n == 1 {
                Lookup::Unavailable("down".into())
            } else {
                Lookup::NotFound
            }
        }
    }

    #[test]
    fn answers_are_kept_but_outages_are_asked_again() {
        let cached = CachedSource::new(Counting(AtomicUsize::new(0)));
        futures_lite(async {
            assert_eq!(cached.lookup("1").await, Lookup::NotFound);
            assert_eq!(cached.lookup("1").await, Lookup::NotFound);
            assert!(matches!(cached.lookup("flaky").await, Lookup::Unavailable(_)));
            assert_eq!(cached.lookup("flaky").await, Lookup::NotFound);
        });
        assert_eq!(cached.inner.0.load(Ordering::SeqCst), 3);
    }

    /// A source that answers only once every caller has asked.
    struct Gate {
        asked: AtomicUsize,
        open: tokio::sync::Notify,
    }

    impl PropertySource for Gate {
        async fn lookup(&self, _zpid: &str) -> Lookup {
            self.asked.fetch_add(1, Ordering::SeqCst);
            tokio::time::timeout(std::time::Duration::from_millis(200), self.open.notified())
                .await
                .map_or(Lookup::Unavailable("timed out".into()), |()| Lookup::NotFound)
        }
    }

    #[test]
    fn lookups_in_flight_together_ask_once() {
        futures_lite(async {
            let cached = CachedSource::new(Gate {
                asked: AtomicUsize::new(0),
                open: tokio::sync::Notify::new(),
            });
            // Ten at once for one zpid: one question; all share the outage.
            let answers = futures_util::future::join_all((0..10).map(|_| cached.lookup("7"))).await;
            assert_eq!(cached.inner.asked.load(Ordering::SeqCst), 1);
            assert!(answers.iter().all(|a| matches!(a, Lookup::Unavailable(_))));
            // The outage is not kept: the next lookup asks again.
            let again = cached.lookup("7");
            let opener = async {
                tokio::task::yield_now().await;
                cached.inner.open.notify_one();
            };
            let (answer, ()) = tokio::join!(again, opener);
            assert_eq!(answer, Lookup::NotFound);
            assert_eq!(cached.inner.asked.load(Ordering::SeqCst), 2);
        });
    }

    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
            .block_on(f)
    }
}
