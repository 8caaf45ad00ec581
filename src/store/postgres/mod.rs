//! The PostgreSQL backend, for several replicas serving one data set: the same trait and the
//! same behaviour as SQLite; full-text search through tsvector and a GIN index; leases and
//! due times judged by the database's clock; LISTEN/NOTIFY to tell every replica of a digest.

mod agenda;
mod digests;
mod documents;
mod officials;
mod subscriptions;
mod trips;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use super::digests::{
    AttemptOutcome, ClaimOutcome, DigestFilter, DigestRun, DueDelivery, DyadOrder, DyadPage,
    PublishedDigest, RunClaim, RunFilter,
};
use super::{
    AgendaFilter, ImportOutcome, OfficialFilter, Page, PageRequest, Precondition, Store,
    StoreError, StoreResult, Stored, TripFilter,
};
use crate::digest::{Compiled, DigestName};
use crate::domain::subscription::{Delivery, DeliveryState, Subscription};
use crate::domain::{AgendaItem, DailyActivity, Official, ResourceId, Trip};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/postgres/migrations");

pub struct PostgresStore {
    pool: PgPool,
    /// The task forwarding publication NOTIFYs, stopped with the store.
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) and applies pending migrations
    /// (sqlx serializes migrating replicas with an advisory lock).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Unavailable(format!("bad postgres url: {error}")))?
            .application_name("briefing");
        // One plain connection first: its error says why (refused, unknown database, auth),
        // where the pool would only say it timed out.
        let probe = <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        sqlx::Connection::close(probe).await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A call fails with UNAVAILABLE soon after the database goes away, rather than hang.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        MIGRATOR.run(&pool).await.map_err(|error| {
            StoreError::Internal(format!("cannot migrate the PostgreSQL schema: {error}"))
        })?;
        Ok(Self {
            pool,
            listener: std::sync::Mutex::new(None),
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_official(
        &self,
        id: ResourceId,
        official: Official,
    ) -> StoreResult<Stored<Official>> {
        officials::create(&self.pool, id, official).await
    }
    async fn get_official(&self, id: &ResourceId) -> StoreResult<Stored<Official>> {
        documents::get(&self.pool, id).await
    }
    async fn list_officials(
        &self,
        filter: &OfficialFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Official>>> {
        officials::list(&self.pool, filter, page).await
    }
    async fn update_official(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        official: Official,
    ) -> StoreResult<Stored<Official>> {
        officials::update(&self.pool, id, precondition, official).await
    }
    async fn delete_official(
        &self,
        id: &ResourceId,
        precondition: Precondition,
    ) -> StoreResult<()> {
        officials::delete(&self.pool, id, precondition).await
    }

    async fn create_trip(&self, id: ResourceId, trip: Trip) -> StoreResult<Stored<Trip>> {
        trips::create(&self.pool, id, trip).await
    }
    async fn get_trip(&self, id: &ResourceId) -> StoreResult<Stored<Trip>> {
        documents::get(&self.pool, id).await
    }
    async fn list_trips(
        &self,
        filter: &TripFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Trip>>> {
        trips::list(&self.pool, filter, page).await
    }
    async fn update_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        trip: Trip,
    ) -> StoreResult<Stored<Trip>> {
        trips::update(&self.pool, id, precondition, trip).await
    }
    async fn delete_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        force: bool,
    ) -> StoreResult<()> {
        trips::delete(&self.pool, id, precondition, force).await
    }

    async fn create_agenda_item(
        &self,
        id: ResourceId,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>> {
        agenda::create(&self.pool, id, item).await
    }
    async fn get_agenda_item(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItem>> {
        documents::get(&self.pool, id).await
    }
    async fn list_agenda_items(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItem>>> {
        agenda::list(&self.pool, filter, page).await
    }
    async fn update_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>> {
        agenda::update(&self.pool, id, precondition, item).await
    }
    async fn delete_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
    ) -> StoreResult<()> {
        agenda::delete(&self.pool, id, precondition).await
    }
    async fn import_agenda_items(
        &self,
        items: Vec<(ResourceId, AgendaItem)>,
    ) -> StoreResult<Vec<ImportOutcome>> {
        agenda::import(&self.pool, items).await
    }

    async fn agenda_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Stored<AgendaItem>>> {
        digests::agenda_items_between(&self.pool, from, to).await
    }
    async fn all_officials(&self) -> StoreResult<Vec<Stored<Official>>> {
        digests::all_officials(&self.pool).await
    }
    async fn planned_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> StoreResult<Vec<Stored<AgendaItem>>> {
        agenda::planned_items_between(&self.pool, from, to, limit).await
    }
    async fn daily_activity(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyActivity>> {
        agenda::daily_activity(&self.pool, from, to).await
    }
    async fn trips_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Stored<Trip>>> {
        digests::trips_between(&self.pool, from, to).await
    }

    async fn claim_run(
        &self,
        kind: &str,
        date: NaiveDate,
        claim: &RunClaim,
    ) -> StoreResult<ClaimOutcome> {
        digests::claim_run(&self.pool, kind, date, claim).await
    }
    async fn finish_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        compiled: &Compiled,
        deliver: bool,
    ) -> StoreResult<PublishedDigest> {
        digests::finish_run(&self.pool, kind, date, owner, compiled, deliver).await
    }
    async fn fail_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        digests::fail_run(&self.pool, kind, date, owner, error, retry_at).await
    }
    async fn get_run(&self, kind: &str, date: NaiveDate) -> StoreResult<Option<DigestRun>> {
        digests::get_run(&self.pool, kind, date).await
    }
    async fn list_runs(
        &self,
        filter: &RunFilter,
        page: PageRequest,
    ) -> StoreResult<Page<DigestRun>> {
        digests::list_runs(&self.pool, filter, page).await
    }
    async fn last_done_day(&self, kind: &str) -> StoreResult<Option<NaiveDate>> {
        digests::last_done_day(&self.pool, kind).await
    }

    async fn get_digest(&self, name: &DigestName) -> StoreResult<PublishedDigest> {
        digests::get_digest(&self.pool, name).await
    }
    async fn list_digest_dyads(
        &self,
        name: &DigestName,
        order: DyadOrder,
        page: PageRequest,
    ) -> StoreResult<DyadPage> {
        digests::list_digest_dyads(&self.pool, name, order, page).await
    }
    async fn list_digests(
        &self,
        filter: &DigestFilter,
        page: PageRequest,
    ) -> StoreResult<Page<PublishedDigest>> {
        digests::list_digests(&self.pool, filter, page).await
    }
    async fn publications_after(
        &self,
        cursor: i64,
        kind: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<PublishedDigest>> {
        digests::publications_after(&self.pool, cursor, kind, limit).await
    }
    async fn latest_publication(&self) -> StoreResult<i64> {
        digests::latest_publication(&self.pool).await
    }

    async fn create_subscription(
        &self,
        id: ResourceId,
        subscription: Subscription,
    ) -> StoreResult<Stored<Subscription>> {
        subscriptions::create(&self.pool, id, subscription).await
    }
    async fn get_subscription(&self, id: &ResourceId) -> StoreResult<Stored<Subscription>> {
        subscriptions::get(&self.pool, id).await
    }
    async fn list_subscriptions(
        &self,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Subscription>>> {
        subscriptions::list(&self.pool, kind, page).await
    }
    async fn delete_subscription(&self, id: &ResourceId) -> StoreResult<()> {
        subscriptions::delete(&self.pool, id).await
    }

    async fn list_deliveries(
        &self,
        subscription: &ResourceId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        subscriptions::list_deliveries(&self.pool, subscription, state, page).await
    }
    async fn claim_due_deliveries(
        &self,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        subscriptions::claim_due(&self.pool, lease, limit).await
    }
    async fn record_attempt(
        &self,
        delivery_id: &str,
        outcome: &AttemptOutcome,
    ) -> StoreResult<Delivery> {
        subscriptions::record_attempt(&self.pool, delivery_id, outcome).await
    }
    async fn redeliver(
        &self,
        subscription: &ResourceId,
        delivery_id: &str,
    ) -> StoreResult<Delivery> {
        subscriptions::redeliver(&self.pool, subscription, delivery_id).await
    }
    async fn next_delivery_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        subscriptions::next_due(&self.pool).await
    }

    /// Forwards NOTIFYs of publications committed by any replica; reconnects after a lost
    /// connection (WatchDigests also polls, so nothing is lost while it is down).
    fn forward_publications(&self, sender: broadcast::Sender<i64>) {
        let pool = self.pool.clone();
        let task = tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(error) = listener.listen(digests::PUBLICATIONS_CHANNEL).await {
                            tracing::warn!(%error, "cannot listen for publications");
                        } else {
                            loop {
                                match listener.recv().await {
                                    Ok(notification) => {
                                        if let Ok(position) = notification.payload().parse::<i64>()
                                        {
                                            let _ = sender.send(position);
                                        }
                                    }
                                    Err(error) => {
                                        tracing::warn!(%error, "publication listener lost its connection");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(error) => {
                        tracing::debug!(%error, "cannot connect the publication listener")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        if let Ok(mut listener) = self.listener.lock()
            && let Some(previous) = listener.replace(task)
        {
            previous.abort();
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock()
            && let Some(task) = listener.take()
        {
            task.abort();
        }
    }
}
