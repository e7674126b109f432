//! The miner's local state: one SQLite file with, per epoch and zipcode, the
//! scraped listings (as the Parquet bytes to upload), their count, when they
//! were scraped, and the upload state with S3 key and ETag. It is what makes a
//! killed miner resume without scraping or uploading anything twice.

use std::path::Path;
use std::str::FromStr;

use resi_core::{Assignment, EpochId, EpochWindow, Zipcode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("miner database: {0}")]
    Database(sqlx::Error),
    #[error("miner database migration: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("miner database holds a bad value: {0}")]
    Corrupt(String),
}

/// Where a zipcode of an epoch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipcodeState {
    /// Not scraped yet (or a scrape failed and may be retried).
    Pending,
    /// Scraped and self-checked; the Parquet is stored, not yet uploaded.
    Scraped,
    /// Uploaded: S3 key and ETag recorded.
    Uploaded,
    /// The self-check found it would fail validation; not uploaded.
    Rejected,
    /// The scrape failed; retried while the epoch is open.
    Failed,
}

impl ZipcodeState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scraped => "scraped",
            Self::Uploaded => "uploaded",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StateError> {
        Ok(match s {
            "pending" => Self::Pending,
            "scraped" => Self::Scraped,
            "uploaded" => Self::Uploaded,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            other => return Err(StateError::Corrupt(format!("zipcode state {other:?}"))),
        })
    }

    /// Whether nothing more is to be done for the zipcode this epoch.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Uploaded | Self::Rejected)
    }
}

/// One (epoch, zipcode) row.
#[derive(Clone, Debug)]
pub struct ZipcodeRow {
    pub zipcode: Zipcode,
    pub expected_listings: u64,
    pub state: ZipcodeState,
    pub listing_count: Option<u64>,
    pub scraped_at_ms: Option<i64>,
    pub sha256: Option<String>,
    pub s3_key: Option<String>,
    pub etag: Option<String>,
    pub uploaded_at_ms: Option<i64>,
    pub reason: Option<String>,
}

/// A scrape ready to upload, as stored.
#[derive(Clone, Copy, Debug)]
pub struct StoredScrape<'a> {
    pub parquet: &'a [u8],
    /// Lowercase hex SHA-256 of `parquet`.
    pub sha256: &'a str,
    pub listing_count: u64,
    pub scraped_at_ms: i64,
    /// What the self-check said, when it is uploaded despite failing (`self_check = "warn"`).
    pub warning: Option<&'a str>,
}

/// The miner's database.
#[derive(Clone)]
pub struct MinerState {
    pool: SqlitePool,
}

impl MinerState {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StateError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // The database holds the miner's unpublished work: owner-only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self { pool })
    }

    /// Opens someone else's database read-only (the `copier` profile reads
    /// the miner it copies).
    pub async fn open_read_only(path: &Path) -> Result<Self, StateError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// Records an epoch and its zipcodes (as pending) unless already known.
    pub async fn begin_epoch(
        &self,
        assignment: &Assignment,
        window: &EpochWindow,
        now_unix: i64,
    ) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        let json = serde_json::to_string(assignment).map_err(|e| StateError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO epochs (epoch_id, nonce, start_unix, deadline_unix, assignment, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (epoch_id) DO NOTHING",
        )
        .bind(assignment.epoch_id.to_string())
        .bind(&assignment.nonce)
        .bind(window.start_unix)
        .bind(window.end_unix)
        .bind(json)
        .bind(now_unix)
        .execute(&mut *tx)
        .await?;
        for z in &assignment.zipcodes {
            sqlx::query(
                "INSERT INTO zipcodes (epoch_id, zipcode, expected_listings, state) VALUES (?, ?, ?, 'pending') \
                 ON CONFLICT (epoch_id, zipcode) DO NOTHING",
            )
            .bind(assignment.epoch_id.to_string())
            .bind(z.zipcode.as_str())
            .bind(z.expected_listings as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every zipcode row of an epoch, by zipcode.
    pub async fn zipcodes(&self, epoch: &EpochId) -> Result<Vec<ZipcodeRow>, StateError> {
        let rows = sqlx::query(
            "SELECT zipcode, expected_listings, state, listing_count, scraped_at_ms, sha256, s3_key, etag, \
             uploaded_at_ms, reason FROM zipcodes WHERE epoch_id = ? ORDER BY zipcode",
        )
        .bind(epoch.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let zipcode: String = r.try_get("zipcode")?;
                let state: String = r.try_get("state")?;
                Ok(ZipcodeRow {
                    zipcode: Zipcode::parse(&zipcode).map_err(|e| StateError::Corrupt(e.to_string()))?,
                    expected_listings: r.try_get::<i64, _>("expected_listings")? as u64,
                    state: ZipcodeState::parse(&state)?,
                    listing_count: r.try_get::<Option<i64>, _>("listing_count")?.map(|n| n as u64),
                    scraped_at_ms: r.try_get("scraped_at_ms")?,
                    sha256: r.try_get("sha256")?,
                    s3_key: r.try_get("s3_key")?,
                    etag: r.try_get("etag")?,
                    uploaded_at_ms: r.try_get("uploaded_at_ms")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// The stored Parquet of a scraped or uploaded zipcode.
    pub async fn parquet(&self, epoch: &EpochId, zipcode: Zipcode) -> Result<Option<Vec<u8>>, StateError> {
        self.parquet_where(epoch, zipcode, "").await
    }

    /// The Parquet of a zipcode once it is uploaded (what a copier waits for).
    pub async fn uploaded_parquet(&self, epoch: &EpochId, zipcode: Zipcode) -> Result<Option<Vec<u8>>, StateError> {
        self.parquet_where(epoch, zipcode, " AND state = 'uploaded'").await
    }

    async fn parquet_where(
        &self,
        epoch: &EpochId,
        zipcode: Zipcode,
        extra: &str,
    ) -> Result<Option<Vec<u8>>, StateError> {
        let sql = format!("SELECT parquet FROM zipcodes WHERE epoch_id = ? AND zipcode = ?{extra}");
        let row = sqlx::query(&sql)
            .bind(epoch.to_string())
            .bind(zipcode.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("parquet")?,
            None => None,
        })
    }

    /// Stores a scrape that passed the self-check (or is uploaded despite it).
    pub async fn mark_scraped(
        &self,
        epoch: &EpochId,
        zipcode: Zipcode,
        scrape: &StoredScrape<'_>,
    ) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE zipcodes SET state = 'scraped', parquet = ?, sha256 = ?, listing_count = ?, scraped_at_ms = ?, \
             reason = ? WHERE epoch_id = ? AND zipcode = ?",
        )
        .bind(scrape.parquet)
        .bind(scrape.sha256)
        .bind(scrape.listing_count as i64)
        .bind(scrape.scraped_at_ms)
        .bind(scrape.warning)
        .bind(epoch.to_string())
        .bind(zipcode.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn mark_uploaded(
        &self,
        epoch: &EpochId,
        zipcode: Zipcode,
        key: &str,
        etag: &str,
        uploaded_at_ms: i64,
    ) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE zipcodes SET state = 'uploaded', s3_key = ?, etag = ?, uploaded_at_ms = ? \
             WHERE epoch_id = ? AND zipcode = ?",
        )
        .bind(key)
        .bind(etag)
        .bind(uploaded_at_ms)
        .bind(epoch.to_string())
        .bind(zipcode.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records why a zipcode was not uploaded: `Rejected` (self-check) or `Failed` (scrape).
    pub async fn mark_not_uploaded(
        &self,
        epoch: &EpochId,
        zipcode: Zipcode,
        state: ZipcodeState,
        reason: &str,
        listing_count: Option<u64>,
    ) -> Result<(), StateError> {
        sqlx::query("UPDATE zipcodes SET state = ?, reason = ?, listing_count = ? WHERE epoch_id = ? AND zipcode = ?")
            .bind(state.as_str())
            .bind(reason)
            .bind(listing_count.map(|n| n as i64))
            .bind(epoch.to_string())
            .bind(zipcode.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_status_reported(&self, epoch: &EpochId) -> Result<(), StateError> {
        sqlx::query("UPDATE epochs SET status_reported = 1 WHERE epoch_id = ?")
            .bind(epoch.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn status_reported(&self, epoch: &EpochId) -> Result<bool, StateError> {
        let row = sqlx::query("SELECT status_reported FROM epochs WHERE epoch_id = ?")
            .bind(epoch.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("status_reported")? != 0,
            None => false,
        })
    }

    /// Every epoch known, oldest first.
    pub async fn epochs(&self) -> Result<Vec<EpochId>, StateError> {
        let rows = sqlx::query("SELECT epoch_id FROM epochs ORDER BY start_unix")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("epoch_id")?;
                EpochId::from_str(&id).map_err(|e| StateError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Deletes epochs that started before `before_unix`; returns how many.
    pub async fn prune_before(&self, before_unix: i64) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM zipcodes WHERE epoch_id IN (SELECT epoch_id FROM epochs WHERE start_unix < ?)")
            .bind(before_unix)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM epochs WHERE start_unix < ?")
            .bind(before_unix)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

resi_runtime::from_cause!(StateError {
    sqlx::Error => Database,
    sqlx::migrate::MigrateError => Migrate,
});

#[cfg(test)]
mod tests {
    use super::*;
    use resi_core::assignment::AssignmentMetadata;
    use resi_core::EpochLength;

    fn assignment(start_unix: i64, zipcodes: &[&str]) -> (Assignment, EpochWindow) {
        let length = EpochLength::from_secs(60).unwrap();
        let id = EpochId::from_start_unix(start_unix).unwrap();
        let window = length.window(id).unwrap();
        let a = Assignment {
            epoch_id: id,
            epoch_start: String::new(),
            epoch_end: String::new(),
            submission_deadline: String::new(),
            nonce: "00112233aabbccdd".into(),
            target_listings: 100,
            tolerance_percent: 10,
            validation_seed_commitment: resi_core::ValidationSeed::from_bytes([0; 32]).commitment(),
            zipcodes: zipcodes
                .iter()
                .map(|z| resi_core::AssignedZipcode {
                    zipcode: Zipcode::parse(z).unwrap(),
                    expected_listings: 50,
                    state: "TX".into(),
                    city: "Cypress".into(),
                    county: "Harris County".into(),
                    market_tier: resi_core::MarketTier::Standard,
                    geographic_region: "south".into(),
                })
                .collect(),
            metadata: AssignmentMetadata {
                total_expected_listings: 100,
                zipcode_count: zipcodes.len() as u64,
                algorithm_version: "test".into(),
                selection_seed: String::new(),
            },
            validation_seed: None,
            results_version: resi_core::ResultsVersion::LATEST.number(),
        };
        (a, window)
    }

    #[tokio::test]
    async fn keeps_state_across_reopen_and_prunes_old_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("miner.db");
        let (old, old_window) = assignment(1_800_000_000, &["77429", "10001"]);
        let (new, new_window) = assignment(1_800_000_060, &["77429"]);
        {
            let state = MinerState::open(&path).await.unwrap();
            state.begin_epoch(&old, &old_window, 0).await.unwrap();
            state.begin_epoch(&new, &new_window, 0).await.unwrap();
            let z = Zipcode::parse("77429").unwrap();
            let scrape = StoredScrape {
                parquet: b"PAR1",
                sha256: "ab",
                listing_count: 3,
                scraped_at_ms: 5,
                warning: None,
            };
            state.mark_scraped(&new.epoch_id, z, &scrape).await.unwrap();
            state
                .mark_uploaded(&new.epoch_id, z, "data/k", "etag", 7)
                .await
                .unwrap();
            // Beginning the same epoch again changes nothing.
            state.begin_epoch(&new, &new_window, 0).await.unwrap();
        }
        let state = MinerState::open(&path).await.unwrap();
        let rows = state.zipcodes(&new.epoch_id).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, ZipcodeState::Uploaded);
        assert_eq!(
            (rows[0].etag.as_deref(), rows[0].uploaded_at_ms),
            (Some("etag"), Some(7))
        );
        assert_eq!(
            state.uploaded_parquet(&new.epoch_id, rows[0].zipcode).await.unwrap(),
            Some(b"PAR1".to_vec())
        );
        assert_eq!(state.zipcodes(&old.epoch_id).await.unwrap().len(), 2);
        assert_eq!(state.prune_before(new_window.start_unix).await.unwrap(), 1);
        assert_eq!(state.epochs().await.unwrap(), vec![new.epoch_id]);
        assert!(state.zipcodes(&old.epoch_id).await.unwrap().is_empty());
    }
}
