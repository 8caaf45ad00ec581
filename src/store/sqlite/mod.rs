//! The embedded default backend: one SQLite file in WAL mode, FTS5 for full-text search.
//!
//! Writes go through a pool of one connection (SQLite has one writer anyway, and this keeps
//! writers from failing with SQLITE_BUSY); reads use their own pool and never wait for it.

mod agenda;
mod digests;
mod documents;
mod officials;
mod subscriptions;
mod trips;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{
    AgendaFilter, ImportOutcome, OfficialFilter, Page, PageRequest, Precondition, Store,
    StoreError, StoreResult, Stored, TripFilter,
};
use crate::digest::{Digest, DigestName};
use crate::domain::subscription::{Delivery, DeliveryState, Subscription};
use crate::domain::{AgendaItem, Official, ResourceId, Trip};
use crate::store::digests::{
    AttemptOutcome, ClaimOutcome, DigestFilter, DigestRun, DueDelivery, PublishedDigest, RunClaim,
    RunFilter,
};
use chrono::{DateTime, NaiveDate, Utc};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/sqlite/migrations");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

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
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|error| StoreError::Unavailable(format!("cannot open {url}: {error}")))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|error| StoreError::Internal(format!("cannot migrate {url}: {error}")))?;
        let readers = std::thread::available_parallelism().map_or(4, |cores| cores.get() * 2);
        let reader = SqlitePoolOptions::new()
            .max_connections(u32::try_from(readers).unwrap_or(4))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .map_err(|error| StoreError::Unavailable(format!("cannot open {url}: {error}")))?;
        Ok(Self { writer, reader })
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn create_official(
        &self,
        id: ResourceId,
        official: Official,
    ) -> StoreResult<Stored<Official>> {
        officials::create(&self.writer, id, official).await
    }
    async fn get_official(&self, id: &ResourceId) -> StoreResult<Stored<Official>> {
        documents::get(&self.reader, id).await
    }
    async fn list_officials(
        &self,
        filter: &OfficialFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Official>>> {
        officials::list(&self.reader, filter, page).await
    }
    async fn update_official(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        official: Official,
    ) -> StoreResult<Stored<Official>> {
        officials::update(&self.writer, id, precondition, official).await
    }
    async fn delete_official(
        &self,
        id: &ResourceId,
        precondition: Precondition,
    ) -> StoreResult<()> {
        officials::delete(&self.writer, id, precondition).await
    }

    async fn create_trip(&self, id: ResourceId, trip: Trip) -> StoreResult<Stored<Trip>> {
        trips::create(&self.writer, id, trip).await
    }
    async fn get_trip(&self, id: &ResourceId) -> StoreResult<Stored<Trip>> {
        documents::get(&self.reader, id).await
    }
    async fn list_trips(
        &self,
        filter: &TripFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Trip>>> {
        trips::list(&self.reader, filter, page).await
    }
    async fn update_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        trip: Trip,
    ) -> StoreResult<Stored<Trip>> {
        trips::update(&self.writer, id, precondition, trip).await
    }
    async fn delete_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        force: bool,
    ) -> StoreResult<()> {
        trips::delete(&self.writer, id, precondition, force).await
    }

    async fn create_agenda_item(
        &self,
        id: ResourceId,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>> {
        agenda::create(&self.writer, id, item).await
    }
    async fn get_agenda_item(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItem>> {
        documents::get(&self.reader, id).await
    }
    async fn list_agenda_items(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItem>>> {
        agenda::list(&self.reader, filter, page).await
    }
    async fn update_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>> {
        agenda::update(&self.writer, id, precondition, item).await
    }
    async fn delete_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
    ) -> StoreResult<()> {
        agenda::delete(&self.writer, id, precondition).await
    }
    async fn import_agenda_items(
        &self,
        items: Vec<(ResourceId, AgendaItem)>,
    ) -> StoreResult<Vec<ImportOutcome>> {
        agenda::import(&self.writer, items).await
    }

    async fn agenda_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Stored<AgendaItem>>> {
        digests::agenda_items_between(&self.reader, from, to).await
    }
    async fn all_officials(&self) -> StoreResult<Vec<Stored<Official>>> {
        digests::all_officials(&self.reader).await
    }
    async fn trips_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Stored<Trip>>> {
        digests::trips_between(&self.reader, from, to).await
    }

    async fn claim_run(
        &self,
        kind: &str,
        date: NaiveDate,
        claim: &RunClaim,
    ) -> StoreResult<ClaimOutcome> {
        digests::claim_run(&self.writer, kind, date, claim).await
    }
    async fn finish_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        digest: &Digest,
        deliver: bool,
    ) -> StoreResult<PublishedDigest> {
        digests::finish_run(&self.writer, kind, date, owner, digest, deliver).await
    }
    async fn fail_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        digests::fail_run(&self.writer, kind, date, owner, error, retry_at).await
    }
    async fn get_run(&self, kind: &str, date: NaiveDate) -> StoreResult<Option<DigestRun>> {
        digests::get_run(&self.reader, kind, date).await
    }
    async fn list_runs(
        &self,
        filter: &RunFilter,
        page: PageRequest,
    ) -> StoreResult<Page<DigestRun>> {
        digests::list_runs(&self.reader, filter, page).await
    }
    async fn last_done_day(&self, kind: &str) -> StoreResult<Option<NaiveDate>> {
        digests::last_done_day(&self.reader, kind).await
    }

    async fn get_digest(&self, name: &DigestName) -> StoreResult<PublishedDigest> {
        digests::get_digest(&self.reader, name).await
    }
    async fn list_digests(
        &self,
        filter: &DigestFilter,
        page: PageRequest,
    ) -> StoreResult<Page<PublishedDigest>> {
        digests::list_digests(&self.reader, filter, page).await
    }
    async fn publications_after(
        &self,
        cursor: i64,
        kind: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<PublishedDigest>> {
        digests::publications_after(&self.reader, cursor, kind, limit).await
    }
    async fn latest_publication(&self) -> StoreResult<i64> {
        digests::latest_publication(&self.reader).await
    }

    async fn create_subscription(
        &self,
        id: ResourceId,
        subscription: Subscription,
    ) -> StoreResult<Stored<Subscription>> {
        subscriptions::create(&self.writer, id, subscription).await
    }
    async fn get_subscription(&self, id: &ResourceId) -> StoreResult<Stored<Subscription>> {
        subscriptions::get(&self.reader, id).await
    }
    async fn list_subscriptions(
        &self,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Subscription>>> {
        subscriptions::list(&self.reader, kind, page).await
    }
    async fn delete_subscription(&self, id: &ResourceId) -> StoreResult<()> {
        subscriptions::delete(&self.writer, id).await
    }

    async fn list_deliveries(
        &self,
        subscription: &ResourceId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        subscriptions::list_deliveries(&self.reader, subscription, state, page).await
    }
    async fn claim_due_deliveries(
        &self,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        subscriptions::claim_due(&self.writer, lease, limit).await
    }
    async fn record_attempt(
        &self,
        delivery_id: &str,
        outcome: &AttemptOutcome,
    ) -> StoreResult<Delivery> {
        subscriptions::record_attempt(&self.writer, delivery_id, outcome).await
    }
    async fn redeliver(
        &self,
        subscription: &ResourceId,
        delivery_id: &str,
    ) -> StoreResult<Delivery> {
        subscriptions::redeliver(&self.writer, subscription, delivery_id).await
    }
    async fn next_delivery_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        subscriptions::next_due(&self.reader).await
    }

    /// One process serves a SQLite file, and its runner already tells its own watchers.
    fn forward_publications(&self, _sender: tokio::sync::broadcast::Sender<i64>) {}
}
