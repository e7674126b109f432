//! Coordinator state in SQL: SQLite by default, PostgreSQL in production,
//! through one `sqlx` Any pool and one set of portable migrations.
//!
//! Placeholders are `$1, $2, …`, each used once and in ascending order, which
//! both SQLite and PostgreSQL bind positionally.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use resi_core::{EpochId, MarketTier, SeedCommitment, ValidationSeed, Zipcode};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::universe::UniverseZipcode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database holds a value resi cannot read: {0}")]
    Corrupt(String),
}

/// One epoch as persisted: created on first use, never changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEpoch {
    pub epoch_id: EpochId,
    pub start_unix: i64,
    pub end_unix: i64,
    pub nonce: String,
    pub validation_seed: ValidationSeed,
    pub seed_commitment: SeedCommitment,
    pub selection_seed: String,
    pub target_listings: u64,
    pub tolerance_percent: u64,
    pub algorithm_version: String,
    /// Sorted by zipcode; `true` marks the honeypot.
    pub zipcodes: Vec<(UniverseZipcode, bool)>,
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: &'static str,
    last_prune: Arc<AtomicI64>,
    last_window_prune: Arc<AtomicI64>,
}

fn tier_text(t: MarketTier) -> &'static str {
    match t {
        MarketTier::Premium => "premium",
        MarketTier::Standard => "standard",
        MarketTier::Emerging => "emerging",
    }
}

fn redact(url: &str) -> String {
    // postgres://user:password@host/db → postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// True for one caller at most once a minute of `now_unix` (per process):
/// when a table's expired rows are due for deletion.
fn once_a_minute(last: &AtomicI64, now_unix: i64) -> bool {
    let seen = last.load(Ordering::Relaxed);
    now_unix - seen >= 60
        && last
            .compare_exchange(seen, now_unix, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

impl Store {
    /// Connects (`sqlite://FILE?mode=rwc` or `postgres://…`) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        let max = if backend == "sqlite" { 1 } else { 8 };
        let sqlite = backend == "sqlite";
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // A write-ahead log with syncs at checkpoints: every
                        // signed request records its signature, and a full
                        // sync per request would be the coordinator's limit.
                        // A crash loses at most the last replay records; an
                        // epoch lost that way is recreated identically.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self {
            pool,
            backend,
            last_prune: Default::default(),
            last_window_prune: Default::default(),
        })
    }

    /// The pool's (open, idle) connections.
    pub fn pool_connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Records an accepted signed request; false when the same (hotkey,
    /// signature) was recorded before (a replay). Expired records are pruned
    /// now and then.
    pub async fn record_signature(
        &self,
        hotkey: &str,
        signature: &str,
        expires_at: i64,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO seen_signatures (hotkey, signature, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (hotkey, signature) DO NOTHING",
        )
        .bind(hotkey)
        .bind(signature)
        .bind(expires_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        // Prune at most once a minute per process: the table stays at about
        // one window of requests.
        if once_a_minute(&self.last_prune, now_unix) {
            sqlx::query("DELETE FROM seen_signatures WHERE expires_at < $1")
                .bind(now_unix)
                .execute(&self.pool)
                .await?;
        }
        Ok(inserted == 1)
    }

    /// Counts one request of `caller` on `route` in the window starting at
    /// `window_start` and returns the requests counted in it so far (this
    /// one included), in one statement: coordinators sharing the database
    /// count into the same row. A row from an earlier window starts over.
    /// Windows older than `forget_before` are deleted now and then.
    pub async fn count_request(
        &self,
        route: &str,
        caller: &str,
        window_start: i64,
        forget_before: i64,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO rate_limit_windows (route, caller, window_start, requests) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (route, caller) DO UPDATE SET \
               requests = CASE WHEN rate_limit_windows.window_start = excluded.window_start \
                               THEN rate_limit_windows.requests + 1 ELSE 1 END, \
               window_start = excluded.window_start \
             RETURNING requests",
        )
        .bind(route)
        .bind(caller)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        let requests: i64 = row.try_get(0)?;
        if once_a_minute(&self.last_window_prune, window_start) {
            sqlx::query("DELETE FROM rate_limit_windows WHERE window_start < $1")
                .bind(forget_before)
                .execute(&self.pool)
                .await?;
        }
        Ok(u64::try_from(requests).unwrap_or(0))
    }

    /// Records that `hotkey` may write `kind` (`data` or `validators`) objects for the epoch.
    pub async fn record_grant(
        &self,
        epoch: &EpochId,
        kind: &str,
        hotkey: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO upload_grants (epoch_id, kind, hotkey, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (epoch_id, kind, hotkey) DO NOTHING",
        )
        .bind(epoch.to_string())
        .bind(kind)
        .bind(hotkey)
        .bind(now_unix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The hotkeys given write access of `kind` for the epoch, sorted.
    pub async fn grants(&self, epoch: &EpochId, kind: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT hotkey FROM upload_grants WHERE epoch_id = $1 AND kind = $2 ORDER BY hotkey")
            .bind(epoch.to_string())
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
            .collect()
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Inserts or updates every zipcode in one transaction: all or nothing.
    pub async fn import_universe(
        &self,
        zipcodes: &BTreeMap<Zipcode, UniverseZipcode>,
        now_unix: i64,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        for z in zipcodes.values() {
            sqlx::query(
                "INSERT INTO zipcodes (zipcode, state, city, county, expected_listings, market_tier, geographic_region, active, imported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) \
                 ON CONFLICT (zipcode) DO UPDATE SET state = excluded.state, city = excluded.city, county = excluded.county, \
                 expected_listings = excluded.expected_listings, market_tier = excluded.market_tier, \
                 geographic_region = excluded.geographic_region, active = 1, imported_at = excluded.imported_at",
            )
            .bind(z.zipcode.as_str().to_owned())
            .bind(z.state.clone())
            .bind(z.city.clone())
            .bind(z.county.clone())
            .bind(z.expected_listings as i64)
            .bind(tier_text(z.market_tier))
            .bind(z.geographic_region.clone())
            .bind(now_unix)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(zipcodes.len())
    }

    /// The active zipcode universe.
    pub async fn universe(&self) -> Result<BTreeMap<Zipcode, UniverseZipcode>, StoreError> {
        let rows = sqlx::query(
            "SELECT zipcode, state, city, county, expected_listings, market_tier, geographic_region FROM zipcodes WHERE active = 1",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let z = universe_row(row, "zipcode")?;
                Ok((z.zipcode, z))
            })
            .collect()
    }

    /// Zipcodes assigned in epochs starting in `[from_unix, before_unix)`.
    pub async fn assigned_between(&self, from_unix: i64, before_unix: i64) -> Result<BTreeSet<Zipcode>, StoreError> {
        let rows = sqlx::query(
            "SELECT ez.zipcode FROM epoch_zipcodes ez JOIN epochs e ON e.epoch_id = ez.epoch_id \
             WHERE e.start_unix >= $1 AND e.start_unix < $2",
        )
        .bind(from_unix)
        .bind(before_unix)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("zipcode")?;
                Zipcode::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Persists an epoch unless one with its id exists; returns whichever is stored.
    pub async fn insert_epoch_if_absent(&self, epoch: &StoredEpoch, now_unix: i64) -> Result<StoredEpoch, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO epochs (epoch_id, start_unix, end_unix, nonce, validation_seed, seed_commitment, selection_seed, \
             target_listings, tolerance_percent, algorithm_version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (epoch_id) DO NOTHING",
        )
        .bind(epoch.epoch_id.to_string())
        .bind(epoch.start_unix)
        .bind(epoch.end_unix)
        .bind(epoch.nonce.clone())
        .bind(epoch.validation_seed.to_hex())
        .bind(epoch.seed_commitment.to_hex())
        .bind(epoch.selection_seed.clone())
        .bind(epoch.target_listings as i64)
        .bind(epoch.tolerance_percent as i64)
        .bind(epoch.algorithm_version.clone())
        .bind(now_unix)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            for (z, honeypot) in &epoch.zipcodes {
                sqlx::query(
                    "INSERT INTO epoch_zipcodes (epoch_id, zipcode, expected_listings, state, city, county, market_tier, geographic_region, honeypot) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(epoch.epoch_id.to_string())
                .bind(z.zipcode.as_str().to_owned())
                .bind(z.expected_listings as i64)
                .bind(z.state.clone())
                .bind(z.city.clone())
                .bind(z.county.clone())
                .bind(tier_text(z.market_tier))
                .bind(z.geographic_region.clone())
                .bind(i64::from(*honeypot))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.epoch(&epoch.epoch_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("epoch {} vanished after insert", epoch.epoch_id)))
    }

    /// Whether an epoch is persisted (one indexed row, no zipcodes loaded).
    pub async fn epoch_exists(&self, id: &EpochId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS one FROM epochs WHERE epoch_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// A persisted epoch.
    pub async fn epoch(&self, id: &EpochId) -> Result<Option<StoredEpoch>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT epoch_id, start_unix, end_unix, nonce, validation_seed, seed_commitment, selection_seed, target_listings, \
             tolerance_percent, algorithm_version FROM epochs WHERE epoch_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let zipcode_rows = sqlx::query(
            "SELECT zipcode, state, city, county, expected_listings, market_tier, geographic_region, honeypot \
             FROM epoch_zipcodes WHERE epoch_id = $1 ORDER BY zipcode",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        let zipcodes = zipcode_rows
            .iter()
            .map(|r| Ok((universe_row(r, "zipcode")?, r.try_get::<i64, _>("honeypot")? != 0)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
        let int = |name: &str| -> Result<i64, StoreError> { Ok(row.try_get::<i64, _>(name)?) };
        Ok(Some(StoredEpoch {
            epoch_id: EpochId::parse(&text("epoch_id")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            start_unix: int("start_unix")?,
            end_unix: int("end_unix")?,
            nonce: text("nonce")?,
            validation_seed: ValidationSeed::parse(&text("validation_seed")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            seed_commitment: SeedCommitment::parse(&text("seed_commitment")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            selection_seed: text("selection_seed")?,
            target_listings: int("target_listings")?.max(0) as u64,
            tolerance_percent: int("tolerance_percent")?.max(0) as u64,
            algorithm_version: text("algorithm_version")?,
            zipcodes,
        }))
    }

    /// The most recent epochs, newest first (ids only).
    pub async fn recent_epoch_ids(&self, limit: i64) -> Result<Vec<EpochId>, StoreError> {
        let rows = sqlx::query("SELECT epoch_id FROM epochs ORDER BY start_unix DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("epoch_id")?;
                EpochId::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Stores a miner's latest status report for an epoch.
    pub async fn put_miner_status(
        &self,
        epoch: &EpochId,
        hotkey: &str,
        status_json: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO miner_status (epoch_id, hotkey, status_json, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (epoch_id, hotkey) DO UPDATE SET status_json = excluded.status_json, updated_at = excluded.updated_at",
        )
        .bind(epoch.to_string())
        .bind(hotkey.to_owned())
        .bind(status_json.to_owned())
        .bind(now_unix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every miner status of an epoch, by hotkey.
    pub async fn miner_statuses(&self, epoch: &EpochId) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT hotkey, status_json FROM miner_status WHERE epoch_id = $1")
            .bind(epoch.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("hotkey")?,
                    r.try_get::<String, _>("status_json")?,
                ))
            })
            .collect()
    }
}

fn universe_row(row: &AnyRow, zipcode_column: &str) -> Result<UniverseZipcode, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
    let zipcode = Zipcode::parse(&text(zipcode_column)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let tier = text("market_tier")?;
    Ok(UniverseZipcode {
        zipcode,
        state: text("state")?,
        city: text("city")?,
        county: text("county")?,
        expected_listings: row.try_get::<i64, _>("expected_listings")?.max(0) as u64,
        market_tier: MarketTier::parse(&tier).ok_or_else(|| StoreError::Corrupt(format!("market tier {tier:?}")))?,
        geographic_region: text("geographic_region")?,
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
