//! The PostgreSQL backend, for several replicas serving one data set: the same trait and the
//! same behaviour as SQLite; full-text search through tsvector and a GIN index; leases and
//! due times judged by the database's clock; LISTEN/NOTIFY to tell every replica of a digest.

mod agenda;
mod dialect;
mod digests;
mod documents;
mod feeds;
mod officials;
mod subscriptions;
mod tokens;
mod trips;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use super::digests::{
    AttemptOutcome, ClaimOutcome, DigestFilter, DigestRun, DueDelivery, DyadOrder, DyadPage,
    PublishedDigest, RunClaim, RunFilter,
};
use super::{
    AgendaFilter, ImportOutcome, OfficialFilter, Page, PageRequest, Precondition, StoreError,
    StoreResult, Stored, TripFilter,
};
use crate::digest::{Compiled, DigestName};
use crate::domain::subscription::{Delivery, DeliveryState, Subscription};
use crate::domain::{AgendaItem, DailyActivity, Official, ResourceId, Trip};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/postgres/migrations");

pub struct PostgresStore {
    pool: PgPool,
    /// The task forwarding publication NOTIFYs, stopped with the store.
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Seals webhook signing secrets at rest.
    secrets: super::secrets::SecretSealer,
}

impl PostgresStore {
    /// Seals webhook signing secrets with `secrets` from now on (and opens them with it).
    pub fn with_secrets(mut self, secrets: super::secrets::SecretSealer) -> Self {
        self.secrets = secrets;
        self
    }

    fn secrets(&self) -> &super::secrets::SecretSealer {
        &self.secrets
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// One pool serves reads and writes: every replica reads what any has committed.
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// A hot standby, or a database set to `default_transaction_read_only`, answers reads but
    /// refuses every write.
    async fn check_writable(&self) -> StoreResult<()> {
        let read_only: String =
            sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                .fetch_one(self.writer())
                .await?;
        if read_only == "on" {
            return Err(StoreError::ReadOnly(
                "the PostgreSQL server accepts no writes (a standby, or transactions read-only by default)"
                    .into(),
            ));
        }
        Ok(())
    }

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
            .acquire_slow_threshold(crate::store::POOL_WAIT)
            .acquire_slow_level(tracing::log::LevelFilter::Debug)
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
            secrets: super::secrets::SecretSealer::default(),
        })
    }
}

crate::store::sql::store_impl!(PostgresStore, {
    async fn get_official(&self, id: &ResourceId) -> StoreResult<Stored<Official>> {
        documents::get(&self.pool, id).await
    }
    async fn get_trip(&self, id: &ResourceId) -> StoreResult<Stored<Trip>> {
        documents::get(&self.pool, id).await
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
    /// Forwards NOTIFYs of publications committed by any replica; reconnects after a lost
    /// connection (WatchDigests also polls, so nothing is lost while it is down).
    fn pool_stats(&self) -> Vec<crate::store::PoolStats> {
        vec![crate::store::PoolStats {
            pool: "main",
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }]
    }
    fn forward_publications(&self, sender: broadcast::Sender<i64>) {
        let pool = self.pool.clone();
        let task = tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(error) = listener.listen(dialect::PUBLICATIONS_CHANNEL).await {
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
});

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock()
            && let Some(task) = listener.take()
        {
            task.abort();
        }
    }
}
