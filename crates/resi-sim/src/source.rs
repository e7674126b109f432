//! The market as a tier-3 property source, in memory.

use resi_core::verify::{Lookup, PropertySource};
use resi_core::EpochId;

use crate::market::Market;

/// Answers zpid lookups from a [`Market`] as it was during one epoch.
pub struct MarketSource<'m> {
    market: &'m Market,
    epoch: EpochId,
}

impl<'m> MarketSource<'m> {
    pub fn new(market: &'m Market, epoch: EpochId) -> Self {
        Self { market, epoch }
    }
}

impl PropertySource for MarketSource<'_> {
    async fn lookup(&self, zpid: &str) -> Lookup {
        match self.market.lookup(zpid, self.epoch) {
            Some(p) => Lookup::Found(p.record()),
            None => Lookup::NotFound,
        }
    }
}
