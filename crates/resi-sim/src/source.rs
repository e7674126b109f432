//! The market as a tier-3 property source, in memory.

use resi_core::verify::{Lookup, PropertySource};

use crate::market::Market;

/// Answers zpid lookups from a [`Market`] as it is at one instant (a
/// validator looks up after the epoch's deadline).
pub struct MarketSource<'m> {
    market: &'m Market,
    at_ms: i64,
}

impl<'m> MarketSource<'m> {
    pub fn new(market: &'m Market, at_ms: i64) -> Self {
        Self { market, at_ms }
    }
}

impl PropertySource for MarketSource<'_> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        match self.market.lookup(zpid, self.at_ms) {
            Some(p) => Lookup::Found(p.record(self.at_ms)),
            None => Lookup::NotFound,
        }
    }
}
