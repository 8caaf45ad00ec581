//! The embedded default backend: one SQLite file in WAL mode, FTS5 for full-text search.
//!
//! Writes go through a pool of one connection (SQLite has one writer anyway, and this keeps
//! writers from failing with SQLITE_BUSY); reads use their own pool and never wait for it.
//! The hottest reads run on the calling thread (`fast`) and keep what they decoded (`cache`):
//! a trip by id, and the records of list pages, checked row by row against their revision.

mod agenda;
pub mod backup;
mod cache;
mod dialect;
mod digests;
mod documents;
mod fast;
mod feeds;
mod lock;
mod officials;
mod search_upkeep;
mod subscriptions;
mod tokens;
mod trips;

pub use lock::{LockError, ServingLock, lock_for_serving};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{
    AgendaFilter, ImportOutcome, OfficialFilter, Page, PageRequest, PairNet, Precondition,
    StoreError, StoreResult, Stored, TripFilter,
};
use crate::digest::{Compiled, DigestName};
use crate::domain::subscription::{Delivery, DeliveryState, Subscription};
use crate::domain::{
    AgendaItem, AgendaItemRecord, DailyActivity, Official, ResourceId, Trip, TripRecord,
};
use crate::store::digests::{
    AttemptOutcome, ClaimOutcome, DigestFilter, DigestRun, DueDelivery, DyadOrder, DyadPage,
    PublishedDigest, RunClaim, RunFilter,
};
use chrono::{DateTime, NaiveDate, Utc};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/sqlite/migrations");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The hot reads, on the calling thread; absent for an in-memory database.
    fast: Option<Arc<fast::Readers>>,
    /// Merges the full-text index's segments while writes pause (`search_upkeep`).
    search_upkeep: Option<tokio::task::JoinHandle<()>>,
    /// Records read lately (`cache`); absent for an in-memory database, or when the file's
    /// changes cannot be watched.
    caches: Option<Arc<Caches>>,
    /// Clears `caches` when another process writes to the file; lives as long as the store.
    _watch: Option<notify::RecommendedWatcher>,
    /// Seals webhook signing secrets at rest.
    secrets: super::secrets::SecretSealer,
    /// Why writes are refused, when the file was read-only as the store opened it: SQLite
    /// then opened it read-only, and a restart is needed once it is writable again.
    read_only: Option<String>,
}

/// The record caches of a store.
struct Caches {
    trips: cache::RecordCache<String, Stored<TripRecord>>,
    /// Checked row by row against the page's revisions, so never stale (`agenda::list_records`).
    items: agenda::ItemCache,
}

/// Trips kept decoded: a desk's trips in any year are a few thousand.
const CACHED_TRIPS: usize = 8_192;
/// Agenda records kept decoded: the first pages of the lists people and dashboards read
/// (a country's, a pair's, a search's), about 1.5 kB each.
const CACHED_ITEMS: usize = 16_384;

impl Caches {
    /// The caches of the file at `database`, and the watch that clears them when another
    /// process writes to it; none if the file's changes cannot be watched.
    fn open(database: &std::path::Path) -> Option<(Arc<Self>, notify::RecommendedWatcher)> {
        let caches = Arc::new(Self {
            trips: cache::RecordCache::new(CACHED_TRIPS),
            items: cache::RecordCache::new(CACHED_ITEMS),
        });
        let watched = caches.clone();
        match cache::watch_changes(database, move || watched.clear()) {
            Ok(watch) => Some((caches, watch)),
            Err(error) => {
                tracing::warn!(
                    database = %database.display(),
                    %error,
                    "cannot watch the database for changes by other processes; reads are not cached"
                );
                None
            }
        }
    }

    /// What may have changed is forgotten. The agenda records are not: each is checked
    /// against its row's revision whenever it is read.
    fn clear(&self) {
        self.trips.clear();
    }
}

/// A write through the one writer connection. Dropped when the write's statement is done,
/// after its commit, it clears the record caches, so whoever wrote reads what they wrote.
struct Writing<'a> {
    pool: &'a SqlitePool,
    caches: Option<&'a Caches>,
}

impl std::ops::Deref for Writing<'_> {
    type Target = SqlitePool;
    fn deref(&self) -> &SqlitePool {
        self.pool
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if let Some(caches) = self.caches {
            caches.clear();
        }
    }
}

/// SQLite's page cache per connection, in KiB. The writer's is the largest (bulk imports
/// insert into several B-trees at once); the readers' stay small so the process's memory does
/// not grow with the store (the kernel's page cache holds the file in any case).
const WRITER_CACHE_KIB: u32 = 32 * 1024;
const READER_CACHE_KIB: u32 = 8 * 1024;
const FAST_READER_CACHE_KIB: u32 = 16 * 1024;
/// Pages the WAL may hold before the writer copies them into the database (SQLite's default
/// is 1,000). An import batch touches a few thousand pages, many of them the same index pages
/// as the batch before: checkpointing less often writes each of those once, not once a batch.
const WAL_CHECKPOINT_PAGES: u32 = 16 * 1024;

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://briefing.db`) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::Unavailable(format!("bad sqlite url {url:?}: {error}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the client hears of it.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(false)
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .acquire_slow_threshold(crate::store::POOL_WAIT)
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .pragma("wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string()),
            )
            .await
            .map_err(|error| StoreError::Unavailable(format!("cannot open {url}: {error}")))?;
        let filename = options.get_filename();
        let read_only = filename
            .is_file()
            .then(|| read_only_reason(filename))
            .flatten();
        if let Some(reason) = &read_only {
            tracing::warn!(
                database = %filename.display(),
                reason = %reason,
                "the database is read-only: reads are served, writes are refused with UNAVAILABLE and health says NOT_SERVING until it is writable and the server restarted"
            );
        }
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|error| StoreError::Internal(format!("cannot migrate {url}: {error}")))?;
        agenda::fill_pair_tables(&writer).await?;
        agenda::fill_status_and_pair_tables(&writer).await?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        // The pool serves the reads that are not on the fast path (lists of trips and
        // officials, the ledger, digests): a connection per core is plenty.
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(cores).unwrap_or(2))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .acquire_slow_threshold(crate::store::POOL_WAIT)
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
            .connect_with(
                options
                    .clone()
                    .read_only(true)
                    .pragma("cache_size", format!("-{READER_CACHE_KIB}")),
            )
            .await
            .map_err(|error| StoreError::Unavailable(format!("cannot open {url}: {error}")))?;
        // A statement holds a fast connection only while it runs on a runtime thread (one per
        // core), or on a blocking thread for a digest's day: a few more than the cores.
        let fast = if filename.is_file() {
            let pragmas = [
                format!("PRAGMA cache_size = -{FAST_READER_CACHE_KIB}"),
                "PRAGMA temp_store = memory".to_owned(),
            ];
            Some(Arc::new(fast::Readers::open(
                filename,
                cores + 2,
                &pragmas,
            )?))
        } else {
            None
        };
        let search_upkeep = fast
            .is_some()
            .then(|| tokio::spawn(search_upkeep::run(reader.clone(), writer.clone())));
        let (caches, watch) = match fast.is_some().then(|| Caches::open(filename)).flatten() {
            Some((caches, watch)) => (Some(caches), Some(watch)),
            None => (None, None),
        };
        Ok(Self {
            writer,
            reader,
            fast,
            search_upkeep,
            caches,
            _watch: watch,
            secrets: super::secrets::SecretSealer::default(),
            read_only,
        })
    }

    /// Health: the file was writable when the writer connection opened it.
    async fn check_writable(&self) -> StoreResult<()> {
        match &self.read_only {
            Some(reason) => Err(StoreError::ReadOnly(reason.clone())),
            None => Ok(()),
        }
    }

    /// Seals webhook signing secrets with `secrets` from now on (and opens them with it).
    pub fn with_secrets(mut self, secrets: super::secrets::SecretSealer) -> Self {
        self.secrets = secrets;
        self
    }

    fn secrets(&self) -> &super::secrets::SecretSealer {
        &self.secrets
    }

    fn fast(&self) -> Option<&fast::Readers> {
        self.fast.as_deref()
    }

    fn writer(&self) -> Writing<'_> {
        Writing {
            pool: &self.writer,
            caches: self.caches.as_deref(),
        }
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Stops the upkeep, copies the write-ahead log into the database file and empties it
    /// (so a copy of the file alone is a complete database), and closes the pools.
    pub async fn close(&self) {
        if let Some(task) = &self.search_upkeep {
            task.abort();
        }
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.writer)
            .await
        {
            // busy = 1: a reader held back part of the log; it stays for the next opening.
            Ok((0, _, _)) => tracing::debug!("write-ahead log copied into the database file"),
            Ok((_, log, copied)) => tracing::warn!(
                pages_in_log = log,
                pages_copied = copied,
                "the write-ahead log could not be copied whole into the database file on closing; \
                 keep the -wal file with the database"
            ),
            Err(error) => tracing::warn!(
                %error,
                "cannot copy the write-ahead log into the database file on closing; \
                 keep the -wal file with the database"
            ),
        }
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(task) = &self.search_upkeep {
            task.abort();
        }
    }
}

crate::store::sql::store_impl!(SqliteStore, {
    async fn get_official(&self, id: &ResourceId) -> StoreResult<Stored<Official>> {
        documents::lookup(&self.reader, self.fast(), id).await
    }
    async fn get_trip(&self, id: &ResourceId) -> StoreResult<Stored<Trip>> {
        documents::lookup(&self.reader, self.fast(), id).await
    }
    async fn get_trip_record(&self, id: &ResourceId) -> StoreResult<Stored<TripRecord>> {
        let Some(caches) = &self.caches else {
            return documents::lookup_record::<Trip>(&self.reader, self.fast(), id).await;
        };
        if let Some(trip) = caches.trips.get(id.as_str()) {
            return Ok(Stored::clone(&trip));
        }
        let generation = caches.trips.generation();
        let trip = documents::lookup_record::<Trip>(&self.reader, self.fast(), id).await?;
        caches
            .trips
            .insert(generation, id.as_str().to_owned(), Arc::new(trip.clone()));
        Ok(trip)
    }
    async fn get_agenda_item(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItem>> {
        documents::lookup(&self.reader, self.fast(), id).await
    }
    async fn get_agenda_record(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItemRecord>> {
        documents::lookup_record::<AgendaItem>(&self.reader, self.fast(), id).await
    }
    async fn list_agenda_items(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItem>>> {
        agenda::list(&self.reader, self.fast(), filter, page).await
    }
    async fn list_agenda_records(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItemRecord>>> {
        let cache = self.caches.as_deref().map(|caches| &caches.items);
        agenda::list_records(&self.reader, self.fast(), cache, filter, page).await
    }
    async fn digest_items(&self, day: NaiveDate) -> StoreResult<Vec<Stored<AgendaItem>>> {
        digests::digest_items(&self.reader, self.fast.clone(), day).await
    }
    async fn daily_pair_nets(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<PairNet>> {
        agenda::daily_pair_nets(&self.reader, self.fast(), from, to).await
    }
    async fn close(&self) {
        SqliteStore::close(self).await;
    }
    /// One process serves a SQLite file, and its runner already tells its own watchers.
    fn forward_publications(&self, _sender: tokio::sync::broadcast::Sender<i64>) {}
    fn pool_stats(&self) -> Vec<crate::store::PoolStats> {
        [("reader", &self.reader), ("writer", &self.writer)]
            .into_iter()
            .map(|(name, pool)| crate::store::PoolStats {
                pool: name,
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            })
            .collect()
    }
});

/// Why SQLite would open `path` read-only (the file's permissions, an immutable file, a
/// read-only file system), or None when it can write it. SQLite opens such a file without a
/// word and fails each write later; asked here, the server can say so at start-up.
fn read_only_reason(path: &std::path::Path) -> Option<String> {
    use rusqlite::{Connection, DatabaseName, OpenFlags};
    let opened = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    );
    match opened.and_then(|connection| connection.is_readonly(DatabaseName::Main)) {
        Ok(false) => None,
        Ok(true) => Some(format!(
            "{} cannot be written (its permissions, or a read-only file system)",
            path.display()
        )),
        Err(error) => Some(format!(
            "{} cannot be opened for writing: {error}",
            path.display()
        )),
    }
}
