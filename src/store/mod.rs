//! Storage: one trait, [`Store`], that every backend implements. Knows no transport.
//!
//! ## One store over two databases
//!
//! The statements are written once, in [`sql`]: each family (documents, officials, trips,
//! agenda, digests, subscriptions, tokens, and the [`Store`] impl that forwards to them) is a
//! `macro_rules!` that `sqlite` and `postgres` each stamp out in a module of their own, as
//! vaultwarden's `db_run!` does. Inside, the names `Db`, `Pool`, `Connection` and `DbRow` and
//! the few things that truly differ come from the backend's `dialect` module: row locks
//! (`FOR UPDATE`, `FOR SHARE`: nothing on SQLite, whose one writer excludes every other), the
//! clock leases are judged by (the database's on PostgreSQL, bound from the process on
//! SQLite), `SKIP LOCKED` claims of due deliveries, the run claim, the ordering and NOTIFY of
//! publications, and a handful of SQL fragments. Placeholders need no seam: sqlx binds `$1`,
//! `$2`, … on SQLite too, and `QueryBuilder::push_bind` writes each database's own. What
//! stays in one backend only is what only it has: SQLite's FTS5 upkeep, its pair and day
//! tables and its fast readers; PostgreSQL's tsvector index rows and LISTEN.
//!
//! Why not one generic `impl<DB: sqlx::Database>`: every function would carry
//! higher-ranked bounds for each type it binds or reads (`for<'q> T: Encode<'q, DB> +
//! Type<DB>`, `for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>`), which Rust does
//! not imply from a trait, so they would be restated at every call; and each backend's
//! statements would still differ in the places listed above. Why not a query builder crate
//! (sea-query): the statements are plain SQL that both databases already speak, and a builder
//! would put an allocation-heavy layer on the hot reads. The macros expand to the same
//! concrete sqlx calls each backend made before, so nothing on a hot path changes.

pub mod digests;
pub(crate) mod document;
pub mod error;
pub mod feeds;
pub mod postgres;
pub mod secrets;
pub mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::digest::{Compiled, DigestName};
/// Re-exported for the backends, which name it with the rest of the store's types; other
/// layers take it from [`crate::domain`].
pub use crate::domain::Stored;
use crate::domain::subscription::{Delivery, DeliveryState, Subscription};
use crate::domain::token::{ApiToken, TokenDigest, TokenName};
use crate::domain::{
    AgendaItem, AgendaItemRecord, CountryCode, CountryPair, DailyActivity, EventType, ItemStatus,
    Official, OfficialName, ResourceId, SearchQuery, Trip, TripName, TripRecord,
};
use digests::{
    AttemptOutcome, ClaimOutcome, DigestFilter, DigestRun, DueDelivery, DyadOrder, DyadPage,
    PublishedDigest, RunClaim, RunFilter,
};
pub use error::StoreError;

pub type StoreResult<T> = Result<T, StoreError>;

/// Which page of a list to read: items strictly after `after` (a store position), at most `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub after: Option<i64>,
}

/// One page and the position to continue from, if there is more.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Each item's position, in the order of `items`: a reader that keeps only the first few
    /// items (the API cuts pages by bytes) continues after the last position it kept.
    pub positions: Vec<i64>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// A page of items with their positions; `more` when an item beyond them was found.
    pub fn from_rows(rows: Vec<(i64, T)>, more: bool) -> Self {
        let next_after = if more {
            rows.last().map(|(position, _)| *position)
        } else {
            None
        };
        let (positions, items) = rows.into_iter().unzip();
        Self {
            items,
            positions,
            next_after,
        }
    }

    /// The same page with each item turned into another shape.
    pub fn map<U>(self, into: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(into).collect(),
            positions: self.positions,
            next_after: self.next_after,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TripFilter {
    pub traveler: Option<OfficialName>,
    pub country: Option<CountryCode>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OfficialFilter {
    pub country: Option<CountryCode>,
    /// Lowercased substring of names, aliases and role titles.
    pub query: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AgendaFilter {
    pub trip: Option<TripName>,
    pub country: Option<CountryCode>,
    pub official: Option<OfficialName>,
    pub event_type: Option<EventType>,
    pub context: Option<String>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    /// Full-text terms, already checked by [`SearchQuery::parse`]; [`search`] renders them
    /// for each backend.
    pub query: Option<SearchQuery>,
    pub status: Option<ItemStatus>,
    /// Items whose actors × recipients form at least one of these pairs (any status), as
    /// [`crate::domain::pairs`] gives them; sorted and without repeats, so that the same set
    /// of pairs is the same filter (page tokens are bound to it).
    pub pairs: Vec<CountryPair>,
}

/// What a write must find before it may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is stored.
    None,
    /// Write only if the stored revision is still this one.
    Revision(i64),
}

/// The outcome of one item of a bulk import.
/// An acquire that takes longer than this waited for a connection to come free (one that finds
/// an idle connection takes microseconds): every pool reports it to sqlx's tracing target
/// `sqlx::pool::acquire`, where `/metrics` counts it.
pub const POOL_WAIT: std::time::Duration = std::time::Duration::from_millis(1);

pub type ImportOutcome = Result<ResourceId, StoreError>;

/// The outcome of an all-or-nothing batch: how many items were stored, or the position in the
/// batch of the first refused and why (then none was stored).
pub type BatchOutcome = Result<usize, (usize, StoreError)>;

/// A country pair's net intensity on a day, or a part of it: see [`Store::daily_pair_nets`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairNet {
    pub date: NaiveDate,
    pub pair: CountryPair,
    pub net: f64,
}

/// The outbox as `/metrics` reports it: deliveries by state (dead ones are the dead letters),
/// and when the oldest pending one was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub by_state: Vec<(String, i64)>,
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// A connection pool's open connections, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// `reader` and `writer` on SQLite, `main` on PostgreSQL.
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the database, for health checks; [`StoreError::ReadOnly`] when the
    /// database answers but would refuse writes.
    async fn ping(&self) -> StoreResult<()>;
    /// Finishes with the database on a clean stop: on SQLite, everything in the write-ahead
    /// log is copied into the database file, so the file alone is the whole store.
    async fn close(&self) {}

    async fn create_official(
        &self,
        id: ResourceId,
        official: Official,
    ) -> StoreResult<Stored<Official>>;
    async fn get_official(&self, id: &ResourceId) -> StoreResult<Stored<Official>>;
    async fn list_officials(
        &self,
        filter: &OfficialFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Official>>>;
    async fn update_official(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        official: Official,
    ) -> StoreResult<Stored<Official>>;
    /// Fails with [`StoreError::Referenced`] while a trip or agenda item names the official.
    async fn delete_official(&self, id: &ResourceId, precondition: Precondition)
    -> StoreResult<()>;

    async fn create_trip(&self, id: ResourceId, trip: Trip) -> StoreResult<Stored<Trip>>;
    async fn get_trip(&self, id: &ResourceId) -> StoreResult<Stored<Trip>>;
    /// [`Store::get_trip`] as the record the store keeps, for responses: a backend may hand
    /// over what it stored without parsing it again (it was checked when it was written).
    async fn get_trip_record(&self, id: &ResourceId) -> StoreResult<Stored<TripRecord>> {
        Ok(self.get_trip(id).await?.map(|trip| trip.to_record()))
    }
    async fn list_trips(
        &self,
        filter: &TripFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Trip>>>;
    async fn update_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        trip: Trip,
    ) -> StoreResult<Stored<Trip>>;
    /// Without `force`, fails with [`StoreError::Referenced`] while agenda items refer to the trip;
    /// with it, deletes those items too (AIP-135).
    async fn delete_trip(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        force: bool,
    ) -> StoreResult<()>;

    async fn create_agenda_item(
        &self,
        id: ResourceId,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>>;
    async fn get_agenda_item(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItem>>;
    /// [`Store::get_agenda_item`] as the record the store keeps (see [`Store::get_trip_record`]).
    async fn get_agenda_record(&self, id: &ResourceId) -> StoreResult<Stored<AgendaItemRecord>> {
        Ok(self.get_agenda_item(id).await?.map(|item| item.to_record()))
    }
    async fn list_agenda_items(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItem>>>;
    /// The page [`Store::list_agenda_items`] gives, as records (the shape the store keeps),
    /// for responses: a backend may hand over what it stored without parsing it into domain
    /// values again, as it was checked when it was written.
    async fn list_agenda_records(
        &self,
        filter: &AgendaFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<AgendaItemRecord>>> {
        let found = self.list_agenda_items(filter, page).await?;
        Ok(found.map(|stored| stored.map(|item| item.to_record())))
    }
    async fn update_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
        item: AgendaItem,
    ) -> StoreResult<Stored<AgendaItem>>;
    async fn delete_agenda_item(
        &self,
        id: &ResourceId,
        precondition: Precondition,
    ) -> StoreResult<()>;
    /// Stores many items in one transaction; each succeeds or fails on its own.
    async fn import_agenda_items(
        &self,
        items: Vec<(ResourceId, AgendaItem)>,
    ) -> StoreResult<Vec<ImportOutcome>>;
    /// Stores a batch of items in one transaction, all of them or none: the first item the
    /// store refuses (its id taken, a reference to nothing) rolls the batch back and is
    /// returned with its position in the batch. `briefing import` writes its batches so.
    async fn import_agenda_batch(
        &self,
        items: Vec<(ResourceId, AgendaItem)>,
    ) -> StoreResult<BatchOutcome>;

    /// The agenda items dated `from..=to`, for compiling digests.
    async fn agenda_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<Stored<AgendaItem>>>;
    async fn all_officials(&self) -> StoreResult<Vec<Stored<Official>>>;
    /// Trips with a leg overlapping `from..=to`.
    async fn trips_between(&self, from: NaiveDate, to: NaiveDate)
    -> StoreResult<Vec<Stored<Trip>>>;

    /// The agenda items dated `day`, as the digest compiler reads them: a backend may leave
    /// out what the compiler reads only for the items it cites (title and summary empty,
    /// sources as `Source::counted_only` but for the first one's URL, which tells one
    /// story's rows apart, mode and notes empty); the compiler's caller reads
    /// those items again in full (`digest::cite_in_full`).
    async fn digest_items(&self, day: NaiveDate) -> StoreResult<Vec<Stored<AgendaItem>>> {
        self.agenda_items_between(day, day).await
    }

    /// The PLANNED items dated `from..=to`, by date and then store position, at most `limit`:
    /// the digest's Upcoming section.
    async fn planned_items_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> StoreResult<Vec<Stored<AgendaItem>>>;

    /// For each day of `from..=to` with REPORTED items, how many and the sum of their
    /// [`AgendaItem::source_count`], by date; days without are left out. The digest reads it
    /// for the week before each day it compiles, so a backend should not read item bodies.
    async fn daily_activity(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyActivity>>;

    /// The net intensity of each country pair on each day of `from..=to`, as contributions:
    /// adding them in the order given with [`crate::digest::TrailingNets::add`] gives each
    /// pair's daily net exactly as adding up the items would. By default one contribution per
    /// item and pair, from the items; a backend may keep the sums per day instead, so that
    /// the digest's trailing window costs what the days hold, not what the store holds.
    async fn daily_pair_nets(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<PairNet>> {
        let items = self.agenda_items_between(from, to).await?;
        Ok(items
            .iter()
            .flat_map(|stored| {
                let item = &stored.value;
                item.scoring_pairs().into_iter().map(|pair| PairNet {
                    date: item.date,
                    pair,
                    net: item.intensity(),
                })
            })
            .collect())
    }

    /// Takes the (kind, day) for compiling, unless it is done (and not forced) or leased by another.
    async fn claim_run(
        &self,
        kind: &str,
        date: NaiveDate,
        claim: &RunClaim,
    ) -> StoreResult<ClaimOutcome>;
    /// In one transaction: stores the digest as a new revision, replaces its per-pair table
    /// with `compiled.dyads`, marks the run done and, with `deliver`, queues one delivery per
    /// active subscription of the kind. Fails with [`StoreError::Stale`] when `owner` no
    /// longer holds the run's lease.
    async fn finish_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        compiled: &Compiled,
        deliver: bool,
    ) -> StoreResult<PublishedDigest>;
    /// Records a failed attempt; `retry_at` keeps the run due for another one.
    async fn fail_run(
        &self,
        kind: &str,
        date: NaiveDate,
        owner: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    async fn get_run(&self, kind: &str, date: NaiveDate) -> StoreResult<Option<DigestRun>>;
    /// Runs, newest day first.
    async fn list_runs(
        &self,
        filter: &RunFilter,
        page: PageRequest,
    ) -> StoreResult<Page<DigestRun>>;
    async fn last_done_day(&self, kind: &str) -> StoreResult<Option<NaiveDate>>;

    async fn get_digest(&self, name: &DigestName) -> StoreResult<PublishedDigest>;
    /// A page of the digest's per-pair table in `order`, and how many pairs it has in all;
    /// [`StoreError::NotFound`] when the digest does not exist. A digest stored before the
    /// table existed has none.
    async fn list_digest_dyads(
        &self,
        name: &DigestName,
        order: DyadOrder,
        page: PageRequest,
    ) -> StoreResult<DyadPage>;
    /// Digests, newest day first.
    async fn list_digests(
        &self,
        filter: &DigestFilter,
        page: PageRequest,
    ) -> StoreResult<Page<PublishedDigest>>;
    /// Publications after `cursor` in commit order, for WatchDigests.
    async fn publications_after(
        &self,
        cursor: i64,
        kind: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<PublishedDigest>>;
    /// The newest publication's position, 0 when there is none.
    async fn latest_publication(&self) -> StoreResult<i64>;

    async fn create_subscription(
        &self,
        id: ResourceId,
        subscription: Subscription,
    ) -> StoreResult<Stored<Subscription>>;
    async fn get_subscription(&self, id: &ResourceId) -> StoreResult<Stored<Subscription>>;
    async fn list_subscriptions(
        &self,
        kind: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Stored<Subscription>>>;
    /// Deletes a subscription and its deliveries.
    async fn delete_subscription(&self, id: &ResourceId) -> StoreResult<()>;

    /// A subscription's deliveries, newest first.
    async fn list_deliveries(
        &self,
        subscription: &ResourceId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>>;
    /// Leases up to `limit` due deliveries for `lease`, so no other worker attempts them meanwhile.
    async fn claim_due_deliveries(
        &self,
        lease: chrono::Duration,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Records an attempt and releases the lease.
    async fn record_attempt(
        &self,
        delivery_id: &str,
        outcome: &AttemptOutcome,
    ) -> StoreResult<Delivery>;
    /// Gives back a claimed delivery without attempting it (its endpoint is busy), due again at
    /// `at`; its attempts and idempotency key stay as they were.
    async fn defer_delivery(&self, delivery_id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Makes a delivery due now again, keeping its idempotency key.
    async fn redeliver(
        &self,
        subscription: &ResourceId,
        delivery_id: &str,
    ) -> StoreResult<Delivery>;
    /// When the next pending delivery falls due, if any.
    async fn next_delivery_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// Deliveries by state and the oldest pending one (the whole database's, every replica's).
    async fn outbox_stats(&self) -> StoreResult<OutboxStats>;
    /// The connection pools, as they are now.
    fn pool_stats(&self) -> Vec<PoolStats>;

    /// Re-encrypts every webhook signing secret with `next` (opened with this store's key, or
    /// read as plain text), in one transaction; returns how many there were.
    async fn reseal_secrets(&self, next: &secrets::SecretSealer) -> StoreResult<usize>;
    /// Stores a new token's name, role and times with the digest of its secret;
    /// [`StoreError::AlreadyExists`] when the name is taken (revoked tokens keep theirs).
    async fn create_token(&self, token: &ApiToken, digest: TokenDigest) -> StoreResult<()>;
    /// Every token, revoked and expired ones too, by name.
    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// The token whose secret has this digest, whatever its state.
    async fn find_token(&self, digest: TokenDigest) -> StoreResult<Option<ApiToken>>;
    /// Marks a token revoked (once: revoking again keeps the first time) and returns it.
    async fn revoke_token(&self, name: &TokenName) -> StoreResult<ApiToken>;
    /// The random key the servers sharing this store sign `purpose` with (page tokens),
    /// made and stored by the first server that asks.
    async fn server_key(&self, purpose: &str) -> StoreResult<Vec<u8>>;

    /// Takes a listed file for importing: the attempt this claim starts, or None when the
    /// file is imported already, held by another poller whose lease has not run out, or failed
    /// and not due again yet.
    async fn claim_feed_file(&self, claim: &feeds::FeedFileClaim) -> StoreResult<Option<i32>>;
    /// Marks a claimed file imported with its counts; [`StoreError::Stale`] when `owner` no
    /// longer holds it.
    async fn finish_feed_file(
        &self,
        url: &str,
        owner: &str,
        counts: feeds::FeedFileCounts,
    ) -> StoreResult<()>;
    /// Marks a claimed file failed, due again `retry_in` from now (never again with None);
    /// [`StoreError::Stale`] when `owner` no longer holds it.
    async fn fail_feed_file(
        &self,
        url: &str,
        owner: &str,
        error: &str,
        retry_in: Option<chrono::Duration>,
    ) -> StoreResult<()>;
    /// Files of `feed` due for another attempt (failed and due, or held past their lease),
    /// oldest first, at most `limit`.
    async fn due_feed_files(&self, feed: &str, limit: usize)
    -> StoreResult<Vec<feeds::ListedFile>>;
    /// The time of the newest file of `feed` in the ledger, whatever its state.
    async fn newest_feed_file(&self, feed: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// The ledger, newest file first.
    async fn list_feed_files(
        &self,
        filter: &feeds::FeedFileFilter,
        page: PageRequest,
    ) -> StoreResult<Page<feeds::FeedFile>>;
    /// Files by state and the newest imported one (every replica's), for `/metrics`.
    async fn feed_stats(&self) -> StoreResult<feeds::FeedStats>;

    /// Sends the position of every publication that other processes sharing the store commit,
    /// so WatchDigests on this process hears of them promptly.
    fn forward_publications(&self, sender: tokio::sync::broadcast::Sender<i64>);
}

pub mod search;
pub(crate) mod sql;
