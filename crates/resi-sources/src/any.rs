//! The property sources a validator can be configured with, and the
//! per-epoch lookup cache in front of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
/// so a later sample asks again.
#[derive(Clone)]
pub struct CachedSource<S> {
    inner: S,
    answers: Arc<Mutex<HashMap<String, Lookup>>>,
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
        if let Some(known) = self.answers.lock().ok().and_then(|a| a.get(zpid).cloned()) {
            return known;
        }
        let answer = self.inner.lookup(zpid).await;
        if !matches!(answer, Lookup::Unavailable(_)) {
            if let Ok(mut answers) = self.answers.lock() {
                answers.insert(zpid.to_owned(), answer.clone());
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

    fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(f)
    }
}
