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

use crate::group::{GroupFailure, GroupQueue};
use crate::universe::UniverseZipcode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url}: {cause}")]
    Connect { url: String, cause: sqlx::Error },
    #[error("database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Sql(sqlx::Error),
    #[error("database holds a value resi cannot read: {0}")]
    Corrupt(String),
    #[error("recording the signed request: {0}")]
    ReplayRecord(GroupFailure),
    #[error("counting the request against its rate limit: {0}")]
    RateLimitCount(GroupFailure),
    #[error("admitting the signed request (replay record and rate-limit count): {0}")]
    Admission(GroupFailure),
}

impl StoreError {
    /// Whether the database could not be reached or is refusing work for
    /// now (connection lost or refused, pool exhausted, shutting down,
    /// locked): a request failing so may be tried again later (503), unlike
    /// a statement the database rejected.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Sql(e) => sql_unavailable(e),
            StoreError::ReplayRecord(f) | StoreError::RateLimitCount(f) | StoreError::Admission(f) => f.unavailable,
            StoreError::Migrate(_) | StoreError::Corrupt(_) => false,
        }
    }
}

fn sql_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08), insufficient resources
            // (53), operator intervention (57P01-57P05: shutdown, cannot
            // connect now). SQLite: BUSY, LOCKED, IOERR, CANTOPEN and their
            // extended codes.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 14))
        }
        _ => false,
    }
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
    /// The results version the epoch is validated by, as announced.
    pub results_version: u32,
    /// Sorted by zipcode; `true` marks the honeypot.
    pub zipcodes: Vec<(UniverseZipcode, bool)>,
}

/// Which database a store is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://` or `postgresql://`
    /// is PostgreSQL, anything else SQLite.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// `sqlite` or `postgres`, as the health check and metrics name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Where the group writers write: the pool itself on SQLite, two
    /// connections with `synchronous_commit = off` on PostgreSQL.
    group_writes: AnyPool,
    backend: Backend,
    last_prune: Arc<AtomicI64>,
    /// Per route, the window whose predecessors were last deleted.
    pruned_windows: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// Replay records and shared rate-limit counts, written in groups (see [`crate::group`]).
    replay: Arc<GroupQueue<ReplayRecord, bool>>,
    counts: Arc<GroupQueue<RequestCount, u64>>,
    /// Both at once, on PostgreSQL (see [`Store::admit`]).
    admissions: Arc<GroupQueue<(ReplayRecord, RequestCount), Option<u64>>>,
    /// Held by every clone: the SQLite checkpointer stops when the last one is dropped.
    _alive: Arc<()>,
}

/// Longest wait for a database connection before a request fails (503).
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Grant kinds: miners' data folders and validators' results folders.
pub const GRANT_DATA: &str = "data";
pub const GRANT_VALIDATORS: &str = "validators";

/// How often the SQLite log is checkpointed, and so synced: a power loss
/// loses at most about this much of the last commits.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Pages of log (4 KiB each) past which a commit checkpoints by itself: a
/// backstop for when background checkpoints stop.
const WAL_BACKSTOP_PAGES: u32 = 10_000;

/// Checkpoints the SQLite log on a connection of its own, once per
/// [`CHECKPOINT_EVERY`], until the store is dropped. A checkpoint syncs the
/// log and the database file; left to SQLite, it ran inside whichever commit
/// filled the log, on the store's one connection, and every request queued
/// behind those syncs (a fifth of the signed-request rate and most of its
/// p99 under load). A passive checkpoint blocks no writer.
async fn checkpoint_in_background(url: String, alive: std::sync::Weak<()>) {
    use sqlx::Connection;
    // The first tick a period from now: a store used for a moment (a
    // command, a test) opens no second connection.
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut connection: Option<sqlx::AnyConnection> = None;
    loop {
        every.tick().await;
        if alive.strong_count() == 0 {
            break;
        }
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => match sqlx::AnyConnection::connect(&url).await {
                Ok(conn) => connection.insert(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpointer: cannot connect; commits checkpoint by themselves meanwhile");
                    continue;
                }
            },
        };
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn).await {
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying on a new connection");
            connection = None;
        }
    }
    if let Some(conn) = connection {
        let _ = conn.close().await;
    }
}

/// Most items written by one statement (at most 6 placeholders each, well
/// under SQLite's 999 and PostgreSQL's 65,535; sqlx keeps 100 statements
/// prepared per connection, and each group size is one statement's shape).
const GROUP_MAX: usize = 64;

/// One signed request's replay record: (hotkey, signature, expiry) is
/// accepted once. Every commitment contains the timestamp, so a signature
/// binds its expiry.
#[derive(Debug)]
pub struct ReplayRecord {
    pub hotkey: String,
    pub signature: String,
    pub expires_at: i64,
    /// Records expired before this are pruned now and then.
    pub now_unix: i64,
}

/// What makes a replay record unique: (expiry, hotkey, signature), the
/// order of `seen_requests`' key.
type ReplayKey<'a> = (i64, &'a str, &'a str);

impl ReplayRecord {
    fn key(&self) -> ReplayKey<'_> {
        (self.expires_at, self.hotkey.as_str(), self.signature.as_str())
    }
}

/// A record's key as a statement returned it (`RETURNING expires_at, hotkey, signature`, first).
fn returned_replay_key(row: &AnyRow) -> Result<(i64, String, String), StoreError> {
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

/// One request to count in the shared rate-limit table.
#[derive(Debug)]
pub struct RequestCount {
    pub route: String,
    pub caller: String,
    /// Rows of this route in an earlier window are deleted once this one starts.
    pub window_start: i64,
    /// The route's limit: on PostgreSQL, a request whose window already
    /// holds this many writes nothing (see [`Store::admit`]).
    pub limit: u32,
}

/// Splits `items` into the ones a statement can count now and the rest:
/// one statement may change a (route, caller) row once, so the first
/// window each (route, caller) is seen in goes now and a later window
/// (a window's edge) waits for another statement.
fn one_window_per_caller<'a>(
    items: Vec<usize>,
    key: impl Fn(usize) -> (&'a str, &'a str, i64),
) -> (Vec<usize>, Vec<usize>) {
    let mut window_of = std::collections::HashMap::new();
    items.into_iter().partition(|&i| {
        let (route, caller, window_start) = key(i);
        *window_of.entry((route, caller)).or_insert(window_start) == window_start
    })
}

/// `(a, b, c), (d, e, f), …`: `rows` groups of `columns` numbered placeholders.
fn placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", row * columns + column + 1));
        }
        out.push(')');
    }
    out
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
/// `sqlite://coord.db` opens the file read-write and creates it when missing
/// (sqlx alone refuses a missing file: "unable to open database file"): a
/// SQLite URL without a `mode=` gets `mode=rwc`. An explicit mode, an
/// in-memory database and other databases are left as given.
pub fn sqlite_creates_its_file(url: &str) -> String {
    let is_sqlite = url.starts_with("sqlite:");
    let has_mode = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|p| p.starts_with("mode=")));
    if !is_sqlite || has_mode || url.contains(":memory:") {
        return url.to_owned();
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}mode=rwc")
}

async fn upsert_universe(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    zipcodes: &BTreeMap<Zipcode, UniverseZipcode>,
    now_unix: i64,
) -> Result<(), StoreError> {
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
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn once_a_minute(last: &AtomicI64, now_unix: i64) -> bool {
    let seen = last.load(Ordering::Relaxed);
    now_unix - seen >= 60
        && last
            .compare_exchange(seen, now_unix, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

impl Store {
    /// Connects (`sqlite://FILE` or `postgres://…`) and applies migrations.
    /// A SQLite file is created when missing (see [`sqlite_creates_its_file`]).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let url = &sqlite_creates_its_file(url);
        // A database that is down keeps this waiting up to the acquire
        // timeout per try: say so instead of looking hung.
        let what = format!("the database at {}", redact(url));
        resi_runtime::waiting::announced(&what, std::time::Duration::from_secs(5), Self::open(url)).await
    }

    async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url);
        let sqlite = backend == Backend::Sqlite;
        if !sqlite {
            // For a server that is down the pool says only "pool timed out";
            // one direct connection first names the cause (refused, a
            // password, an unknown database).
            let connect_error = |cause| StoreError::Connect {
                url: redact(url),
                cause,
            };
            match tokio::time::timeout(ACQUIRE_TIMEOUT, <sqlx::AnyConnection as sqlx::Connection>::connect(url)).await {
                Ok(Ok(probe)) => {
                    let _ = sqlx::Connection::close(probe).await;
                }
                Ok(Err(e)) => return Err(connect_error(e)),
                Err(_) => return Err(connect_error(sqlx::Error::PoolTimedOut)),
            }
        }
        let max = if sqlite { 1 } else { 8 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            // A request waits at most this long for a connection, then is
            // answered 503 (sqlx's default, 30 s, left clients hanging on a
            // database that was down).
            .acquire_timeout(ACQUIRE_TIMEOUT)
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
                        // Checkpoints run in the background (see
                        // `checkpoint_in_background`); a commit checkpoints
                        // only if they stop and the log grows past this.
                        sqlx::query(&format!("PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}"))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                cause: source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // The group writers' own connections on PostgreSQL, committing
        // without waiting for the WAL flush: replay records and rate-limit
        // counts are written for every signed request, and the flush wait
        // was most of their time. A PostgreSQL crash loses at most the last
        // ~0.6 s of them (3 × wal_writer_delay), the bound SQLite's
        // `synchronous = NORMAL` above already accepts; nothing is ever
        // half-written, and everything else still commits synchronously.
        let group_writes = if sqlite {
            pool.clone()
        } else {
            AnyPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::query("SET synchronous_commit = off").execute(&mut *conn).await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
                .map_err(|source| StoreError::Connect {
                    url: redact(url),
                    cause: source,
                })?
        };
        let alive = Arc::new(());
        if sqlite && !url.contains(":memory:") && !url.contains("mode=memory") {
            tokio::spawn(checkpoint_in_background(url.to_owned(), Arc::downgrade(&alive)));
        }
        Ok(Self {
            pool,
            group_writes,
            _alive: alive,
            backend,
            last_prune: Default::default(),
            pruned_windows: Default::default(),
            replay: Arc::new(GroupQueue::new(GROUP_MAX)),
            counts: Arc::new(GroupQueue::new(GROUP_MAX)),
            admissions: Arc::new(GroupQueue::new(GROUP_MAX)),
        })
    }

    /// The pool's (open, idle) connections.
    pub fn pool_connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Records an accepted signed request; false when the same (hotkey,
    /// signature, expiry) was recorded before (a replay: every commitment
    /// contains the timestamp, so a signature binds its expiry). Returns once the record is
    /// written, with the records of requests arriving meanwhile in the same
    /// statement. Expired records are pruned now and then.
    pub async fn record_signature(
        &self,
        hotkey: &str,
        signature: &str,
        expires_at: i64,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        self.record(ReplayRecord {
            hotkey: hotkey.to_owned(),
            signature: signature.to_owned(),
            expires_at,
            now_unix,
        })
        .await
    }

    /// [`Store::record_signature`], for a record already built.
    pub async fn record(&self, record: ReplayRecord) -> Result<bool, StoreError> {
        self.grouped(&self.replay, record, |store, group| async move {
            store.insert_replay_records(group).await
        })
        .await
        .map_err(StoreError::ReplayRecord)
    }

    /// Queues `item` on `queue`, whose groups `write` writes with this store.
    async fn grouped<T, R, W, Fut>(&self, queue: &Arc<GroupQueue<T, R>>, item: T, write: W) -> Result<R, GroupFailure>
    where
        T: Send + 'static,
        R: Send + 'static,
        W: Fn(Store, Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<R>, StoreError>> + Send,
    {
        let store = self.clone();
        queue
            .submit(item, move |group| {
                let written = write(store.clone(), group);
                async move {
                    written.await.map_err(|e| GroupFailure {
                        unavailable: e.is_unavailable(),
                        message: e.to_string(),
                    })
                }
            })
            .await
    }

    /// Inserts a group of replay records in one statement; for each, true
    /// when it was new. The second of two equal records in one group is a
    /// replay, as it would be one group later.
    async fn insert_replay_records(&self, group: Vec<ReplayRecord>) -> Result<Vec<bool>, StoreError> {
        let now_unix = group.iter().map(|r| r.now_unix).max().unwrap_or(0);
        // Each distinct record's first position in the group.
        let mut first: std::collections::HashMap<ReplayKey, usize> =
            std::collections::HashMap::with_capacity(group.len());
        let mut distinct: Vec<&ReplayRecord> = Vec::with_capacity(group.len());
        for (i, r) in group.iter().enumerate() {
            first.entry(r.key()).or_insert_with(|| {
                distinct.push(r);
                i
            });
        }
        let mut fresh = vec![false; group.len()];
        // One statement for the whole group: atomic on its own, and one
        // round trip to the database (SQLite's runs on a worker thread).
        // Groups are at most GROUP_MAX rows, so the connection keeps
        // at most that many statement shapes prepared.
        let sql = format!(
            "INSERT INTO seen_requests (hotkey, signature, expires_at) VALUES {} \
             ON CONFLICT (expires_at, hotkey, signature) DO NOTHING RETURNING expires_at, hotkey, signature",
            placeholders(distinct.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for r in &distinct {
            query = query
                .bind(r.hotkey.as_str())
                .bind(r.signature.as_str())
                .bind(r.expires_at);
        }
        for row in query.fetch_all(&self.group_writes).await? {
            let (expires_at, hotkey, signature) = returned_replay_key(&row)?;
            if let Some(&i) = first.get(&(expires_at, hotkey.as_str(), signature.as_str())) {
                fresh[i] = true;
            }
        }
        self.prune_replay_records(now_unix).await?;
        Ok(fresh)
    }

    /// Deletes expired replay records, at most once a minute per process:
    /// the table stays at about one window of requests.
    async fn prune_replay_records(&self, now_unix: i64) -> Result<(), StoreError> {
        if once_a_minute(&self.last_prune, now_unix) {
            sqlx::query("DELETE FROM seen_requests WHERE expires_at < $1")
                .bind(now_unix)
                .execute(&self.group_writes)
                .await?;
        }
        Ok(())
    }

    /// Deletes the rows of windows that have ended: for each route of
    /// `counted`, once per window, the rows of its earlier windows. A
    /// caller's row lives only while its window does, however many
    /// addresses call once.
    async fn prune_windows<'a>(&self, counted: impl Iterator<Item = &'a RequestCount>) -> Result<(), StoreError> {
        let mut due: Vec<(&str, i64)> = Vec::new();
        {
            let mut pruned = match self.pruned_windows.lock() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            for c in counted {
                // Looked up by reference: a route is new once per process.
                let last = match pruned.get_mut(c.route.as_str()) {
                    Some(last) => last,
                    None => pruned.entry(c.route.clone()).or_insert(i64::MIN),
                };
                if c.window_start > *last {
                    *last = c.window_start;
                    due.retain(|(route, _)| *route != c.route.as_str());
                    due.push((c.route.as_str(), c.window_start));
                }
            }
        }
        for (route, window_start) in due {
            sqlx::query("DELETE FROM rate_limit_windows WHERE route = $1 AND window_start < $2")
                .bind(route)
                .bind(window_start)
                .execute(&self.group_writes)
                .await?;
        }
        Ok(())
    }

    /// Counts one request of `caller` on `route` in the window starting at
    /// `window_start` and returns the requests counted in it so far (this
    /// one included): coordinators sharing the database count into the same
    /// row. A row from an earlier window starts over. Requests arriving
    /// together are counted by one statement. The route's rows of earlier
    /// windows are deleted when a window starts.
    pub async fn count_request(&self, route: &str, caller: &str, window_start: i64) -> Result<u64, StoreError> {
        let count = RequestCount {
            route: route.to_owned(),
            caller: caller.to_owned(),
            window_start,
            limit: u32::MAX,
        };
        self.grouped(&self.counts, count, |store, group| async move {
            store.count_requests(group).await
        })
        .await
        .map_err(StoreError::RateLimitCount)
    }

    /// Counts a group of requests: one upsert per (route, caller, window)
    /// adding how many of the group it has, whose result the group's
    /// requests share out in order (the last one sees the row's total).
    async fn count_requests(&self, group: Vec<RequestCount>) -> Result<Vec<u64>, StoreError> {
        // (route, caller, window) → (index in `keys`, requests in the group).
        let mut keys: Vec<(&str, &str, i64, i64)> = Vec::new();
        let mut index: std::collections::HashMap<(&str, &str, i64), usize> = Default::default();
        let mut ordinal = Vec::with_capacity(group.len());
        for c in &group {
            let at = *index
                .entry((c.route.as_str(), c.caller.as_str(), c.window_start))
                .or_insert_with(|| {
                    keys.push((c.route.as_str(), c.caller.as_str(), c.window_start, 0));
                    keys.len() - 1
                });
            keys[at].3 += 1;
            ordinal.push((at, keys[at].3));
        }
        // In rounds (`one_window_per_caller`).
        let mut totals = vec![0i64; keys.len()];
        let mut rest: Vec<usize> = (0..keys.len()).collect();
        while !rest.is_empty() {
            let now;
            (now, rest) = one_window_per_caller(rest, |k| (keys[k].0, keys[k].1, keys[k].2));
            let sql = format!(
                "INSERT INTO rate_limit_windows (route, caller, window_start, requests) VALUES {} \
                 ON CONFLICT (route, caller) DO UPDATE SET \
                   requests = CASE WHEN rate_limit_windows.window_start = excluded.window_start \
                                   THEN rate_limit_windows.requests + excluded.requests ELSE excluded.requests END, \
                   window_start = excluded.window_start \
                 RETURNING route, caller, requests",
                placeholders(now.len(), 4)
            );
            let mut query = sqlx::query(&sql);
            for &k in &now {
                let (route, caller, window_start, n) = keys[k];
                query = query.bind(route).bind(caller).bind(window_start).bind(n);
            }
            let returned = query.fetch_all(&self.group_writes).await?;
            for row in returned {
                let (route, caller, requests): (String, String, i64) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                if let Some(&k) = now.iter().find(|&&k| keys[k].0 == route && keys[k].1 == caller) {
                    totals[k] = requests;
                }
            }
        }
        self.prune_windows(group.iter()).await?;
        Ok(ordinal
            .into_iter()
            .map(|(k, nth)| u64::try_from(totals[k] - keys[k].3 + nth).unwrap_or(0))
            .collect())
    }

    /// Admits a verified signed request: writes its replay record and, if
    /// the record is new, counts the request in the shared rate-limit
    /// table. `None` when the record was written before (a replay, which
    /// counts nowhere), else the requests counted in the window so far
    /// (this one included). On PostgreSQL both writes are one statement per
    /// group of requests, so a request waits for one round trip, not two;
    /// SQLite has no data-modifying `WITH`, so there it is the two writes in turn.
    pub async fn admit(&self, record: ReplayRecord, count: RequestCount) -> Result<Option<u64>, StoreError> {
        if self.backend == Backend::Sqlite {
            let full = sqlx::query(
                "SELECT requests FROM rate_limit_windows \
                 WHERE route = $1 AND caller = $2 AND window_start = $3 AND requests >= $4",
            )
            .bind(count.route.as_str())
            .bind(count.caller.as_str())
            .bind(count.window_start)
            .bind(i64::from(count.limit))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = full {
                let requests: i64 = row.try_get(0)?;
                return Ok(Some(u64::try_from(requests).unwrap_or(0).saturating_add(1)));
            }
            let fresh = self.record(record).await?;
            if !fresh {
                return Ok(None);
            }
            let counted = self
                .count_request(&count.route, &count.caller, count.window_start)
                .await?;
            return Ok(Some(counted));
        }
        self.grouped(&self.admissions, (record, count), |store, group| async move {
            store.admit_group(group).await
        })
        .await
        .map_err(StoreError::Admission)
    }

    /// Admits a group: a record equal to an earlier one of the group is a
    /// replay, as it would be one group later; the rest go in rounds, each
    /// taking every (route, caller) in one window only (one statement may
    /// change a row once), almost always one round.
    async fn admit_group(&self, group: Vec<(ReplayRecord, RequestCount)>) -> Result<Vec<Option<u64>>, StoreError> {
        let mut answers = vec![None; group.len()];
        let mut seen = std::collections::HashSet::with_capacity(group.len());
        let mut rest: Vec<usize> = (0..group.len()).filter(|&i| seen.insert(group[i].0.key())).collect();
        while !rest.is_empty() {
            let round;
            (round, rest) = one_window_per_caller(rest, |i| {
                let c = &group[i].1;
                (c.route.as_str(), c.caller.as_str(), c.window_start)
            });
            self.admit_round(&group, &round, &mut answers).await?;
        }
        self.prune_replay_records(group.iter().map(|(r, _)| r.now_unix).max().unwrap_or(0))
            .await?;
        self.prune_windows(group.iter().map(|(_, c)| c)).await?;
        Ok(answers)
    }

    /// One statement: insert the round's replay records, count the new
    /// ones per (route, caller, window), and return each new record with
    /// its window's total; a request whose window was full before the
    /// statement writes nothing and comes back with that count plus one
    /// (refused). The requests of one window share the total out
    /// in group order (the last one sees it whole), as `count_requests` does.
    async fn admit_round(
        &self,
        group: &[(ReplayRecord, RequestCount)],
        round: &[usize],
        answers: &mut [Option<u64>],
    ) -> Result<(), StoreError> {
        let sql = format!(
            "WITH input (hotkey, signature, expires_at, route, caller, window_start, lim) AS (VALUES {}), \
             full_before AS ( \
               SELECT i.expires_at, i.hotkey, i.signature, w.requests FROM input i \
               JOIN rate_limit_windows w ON w.route = i.route AND w.caller = i.caller \
                 AND w.window_start = i.window_start AND w.requests >= i.lim), \
             fresh AS ( \
               INSERT INTO seen_requests (hotkey, signature, expires_at) \
               SELECT i.hotkey, i.signature, i.expires_at FROM input i \
               WHERE NOT EXISTS (SELECT 1 FROM full_before b WHERE b.expires_at = i.expires_at \
                 AND b.hotkey = i.hotkey AND b.signature = i.signature) \
               ON CONFLICT (expires_at, hotkey, signature) DO NOTHING \
               RETURNING expires_at, hotkey, signature), \
             counted AS ( \
               INSERT INTO rate_limit_windows (route, caller, window_start, requests) \
               SELECT i.route, i.caller, i.window_start, count(*) FROM input i \
               JOIN fresh f ON f.expires_at = i.expires_at AND f.hotkey = i.hotkey AND f.signature = i.signature \
               GROUP BY i.route, i.caller, i.window_start \
               ON CONFLICT (route, caller) DO UPDATE SET \
                 requests = CASE WHEN rate_limit_windows.window_start = excluded.window_start \
                                 THEN rate_limit_windows.requests + excluded.requests ELSE excluded.requests END, \
                 window_start = excluded.window_start \
               RETURNING route, caller, requests) \
             SELECT f.expires_at, f.hotkey, f.signature, c.requests, 0 AS refused FROM fresh f \
             JOIN input i ON f.expires_at = i.expires_at AND f.hotkey = i.hotkey AND f.signature = i.signature \
             JOIN counted c ON c.route = i.route AND c.caller = i.caller \
             UNION ALL \
             SELECT expires_at, hotkey, signature, requests + 1, 1 FROM full_before",
            placeholders(round.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for &i in round {
            let (r, c) = &group[i];
            query = query
                .bind(r.hotkey.as_str())
                .bind(r.signature.as_str())
                .bind(r.expires_at)
                .bind(c.route.as_str())
                .bind(c.caller.as_str())
                .bind(c.window_start)
                .bind(i64::from(c.limit));
        }
        let position: std::collections::HashMap<ReplayKey, usize> =
            round.iter().map(|&i| (group[i].0.key(), i)).collect();
        // Group positions of the round's new records, with their window's total.
        let mut fresh: Vec<(usize, i64)> = Vec::with_capacity(round.len());
        for row in query.fetch_all(&self.group_writes).await? {
            let (expires_at, hotkey, signature) = returned_replay_key(&row)?;
            let requests: i64 = row.try_get(3)?;
            let refused: i32 = row.try_get(4)?;
            if let Some(&i) = position.get(&(expires_at, hotkey.as_str(), signature.as_str())) {
                if refused == 1 {
                    // Its window was full before it came: refused, nothing written.
                    answers[i] = Some(u64::try_from(requests).unwrap_or(u64::MAX));
                } else {
                    fresh.push((i, requests));
                }
            }
        }
        fresh.sort_unstable();
        // Per (route, caller): (new requests of the round, those answered so far).
        let mut shares: std::collections::HashMap<(&str, &str), (i64, i64)> = Default::default();
        for &(i, _) in &fresh {
            let c = &group[i].1;
            shares.entry((c.route.as_str(), c.caller.as_str())).or_default().0 += 1;
        }
        for (i, total) in fresh {
            let c = &group[i].1;
            let share = shares.entry((c.route.as_str(), c.caller.as_str())).or_default();
            share.1 += 1;
            answers[i] = Some(u64::try_from(total - share.0 + share.1).unwrap_or(0));
        }
        Ok(())
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
        upsert_universe(&mut tx, zipcodes, now_unix).await?;
        tx.commit().await?;
        Ok(zipcodes.len())
    }

    /// Makes `zipcodes` the whole universe, in one transaction: those in it
    /// are inserted or updated, every other zipcode is retired (kept for
    /// the epochs that assigned it, never selected again). Returns (imported,
    /// retired).
    pub async fn replace_universe(
        &self,
        zipcodes: &BTreeMap<Zipcode, UniverseZipcode>,
        now_unix: i64,
    ) -> Result<(usize, usize), StoreError> {
        let mut tx = self.pool.begin().await?;
        let active: Vec<String> = sqlx::query_scalar("SELECT zipcode FROM zipcodes WHERE active = 1")
            .fetch_all(&mut *tx)
            .await?;
        let listed: BTreeSet<&str> = zipcodes.keys().map(Zipcode::as_str).collect();
        let retired = active.iter().filter(|z| !listed.contains(z.as_str())).count();
        sqlx::query("UPDATE zipcodes SET active = 0").execute(&mut *tx).await?;
        upsert_universe(&mut tx, zipcodes, now_unix).await?;
        tx.commit().await?;
        Ok((zipcodes.len(), retired))
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
             target_listings, tolerance_percent, algorithm_version, created_at, results_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (epoch_id) DO NOTHING",
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
        .bind(i64::from(epoch.results_version))
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
             tolerance_percent, algorithm_version, results_version FROM epochs WHERE epoch_id = $1",
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
            results_version: u32::try_from(int("results_version")?)
                .map_err(|_| StoreError::Corrupt(format!("epoch {id}: results version out of range")))?,
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

// The cause is in the message, so it is not also a `source`: printed once.
impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

// The cause is in the message, so it is not also a `source`: printed once.
impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Sql(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PostgreSQL that is down is named with its cause, not "pool timed out".
    #[tokio::test]
    async fn a_database_that_is_down_is_named_with_its_cause() {
        // Port 1 on loopback: nothing listens there.
        let err = match Store::connect("postgres://resi:secret@127.0.0.1:1/resi").await {
            Ok(_) => panic!("nothing listens on port 1"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("postgres://resi:***@127.0.0.1:1/resi"), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
        assert!(!err.contains("secret") && !err.contains("pool timed out"), "{err}");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn a_sqlite_url_creates_its_file_unless_told_otherwise() {
        assert_eq!(
            sqlite_creates_its_file("sqlite://coord.db"),
            "sqlite://coord.db?mode=rwc"
        );
        assert_eq!(
            sqlite_creates_its_file("sqlite://coord.db?cache=shared"),
            "sqlite://coord.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_creates_its_file("sqlite://coord.db?mode=ro"),
            "sqlite://coord.db?mode=ro"
        );
        assert_eq!(sqlite_creates_its_file("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(sqlite_creates_its_file("postgres://u@h/db"), "postgres://u@h/db");
    }
}
