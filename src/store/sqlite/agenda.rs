//! Agenda items in SQLite: the item row, its filter index rows, its FTS5 row, its country-pair
//! rows (with the daily pair nets they add up to) and its day's activity counters, always
//! written in one transaction so a search or a digest never sees an item half stored.
//!
//! Writes are batched: everything that needs no database (JSON bodies, index rows) is computed
//! before the transaction starts, references are checked with one query per kind, and rows go
//! in as multi-row INSERTs, so a bulk import costs a few statements per few hundred items.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike as _, NaiveDate};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};

use super::cache::RecordCache;
use super::documents;
use super::fast::{self, Param, Readers, Sql};
use crate::domain::CountryPair as Pair;
use crate::domain::{
    AgendaItem, AgendaItemRecord, CountryCode, ItemStatus, ResourceId, pairs, values::format_date,
};
use crate::store::sql::page_limit;
use crate::store::sql::{Row, SELECT_COLUMNS};
use crate::store::{
    AgendaFilter, ImportOutcome, Page, PageRequest, PairNet, StoreError, StoreResult, Stored,
};

crate::store::sql::agenda!();

/// Rows per multi-row statement: well under SQLite's limit of 32,766 bound parameters.
const ROWS_PER_STATEMENT: usize = 256;

pub(super) async fn create(
    pool: &SqlitePool,
    id: ResourceId,
    item: AgendaItem,
) -> StoreResult<Stored<AgendaItem>> {
    let now = crate::store::sql::now();
    let prepared = vec![Prepared::new(id, item)?];
    let mut transaction = pool.begin().await?;
    let mut outcomes = store_batch(&mut transaction, &prepared, now.timestamp_micros()).await?;
    let (Some(outcome), Some(entry)) = (outcomes.pop(), prepared.into_iter().next()) else {
        return Err(StoreError::Internal(
            "a batch of one agenda item gave no outcome".into(),
        ));
    };
    let id = outcome?;
    transaction.commit().await?;
    Ok(crate::store::sql::created(id, entry.item, now))
}

/// The trip, leg and participants the item names must exist.
async fn check_item(connection: &mut SqliteConnection, item: &AgendaItem) -> StoreResult<()> {
    References::load(connection, &[item]).await?.check(item)
}

/// Writes an updated item's index rows again; it keeps its place in `seq` order, so its
/// pairs' daily nets are summed again.
async fn reindex(
    connection: &mut SqliteConnection,
    old: &Row<AgendaItem>,
    new: &Stored<AgendaItem>,
) -> StoreResult<()> {
    let mut cells = clear_index(connection, old.seq, &old.stored.value).await?;
    insert_index_rows(connection, &[(old.seq, &new.value)]).await?;
    cells.extend(pair_cells(&new.value));
    recompute_pair_days(connection, &cells).await?;
    let mut days = DayCounts::default();
    days.add(&old.stored.value, -1);
    days.add(&new.value, 1);
    days.apply(connection).await
}

/// Deletes a deleted item's index rows and takes it out of its pairs' and day's sums.
async fn unindex(connection: &mut SqliteConnection, old: &Row<AgendaItem>) -> StoreResult<()> {
    let cells = clear_index(connection, old.seq, &old.stored.value).await?;
    recompute_pair_days(connection, &cells).await?;
    let mut days = DayCounts::default();
    days.add(&old.stored.value, -1);
    days.apply(connection).await
}

pub(super) async fn import(
    pool: &SqlitePool,
    items: Vec<(ResourceId, AgendaItem)>,
) -> StoreResult<Vec<ImportOutcome>> {
    let now = crate::store::sql::now();
    // Bodies and index rows are computed before the writer is taken.
    let prepared = items
        .into_iter()
        .map(|(id, item)| Prepared::new(id, item))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut transaction = pool.begin().await?;
    let outcomes = store_batch(&mut transaction, &prepared, now.timestamp_micros()).await?;
    transaction.commit().await?;
    Ok(outcomes)
}

/// Like [`import`], all or nothing: a refused item rolls the whole batch back.
pub(super) async fn import_batch(
    pool: &SqlitePool,
    items: Vec<(ResourceId, AgendaItem)>,
) -> StoreResult<crate::store::BatchOutcome> {
    let now = crate::store::sql::now();
    let prepared = items
        .into_iter()
        .map(|(id, item)| Prepared::new(id, item))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut transaction = pool.begin().await?;
    let outcomes = store_batch(&mut transaction, &prepared, now.timestamp_micros()).await?;
    if let Some((position, refused)) = outcomes
        .into_iter()
        .enumerate()
        .find_map(|(position, outcome)| outcome.err().map(|error| (position, error)))
    {
        transaction.rollback().await?;
        return Ok(Err((position, refused)));
    }
    transaction.commit().await?;
    Ok(Ok(prepared.len()))
}

/// An item ready to store, its JSON body encoded.
struct Prepared {
    id: ResourceId,
    item: AgendaItem,
    body: String,
    date: String,
    trip: Option<String>,
}

impl Prepared {
    fn new(id: ResourceId, item: AgendaItem) -> StoreResult<Self> {
        Ok(Self {
            body: crate::store::sql::encode_body(&item)?,
            date: format_date(item.date),
            trip: item.trip.as_ref().map(ToString::to_string),
            id,
            item,
        })
    }
}

/// Stores the items that pass their reference checks and whose ids are free, in order, inside
/// the caller's transaction; one outcome per item, as storing them one by one would give.
async fn store_batch(
    connection: &mut SqliteConnection,
    prepared: &[Prepared],
    micros: i64,
) -> StoreResult<Vec<ImportOutcome>> {
    let items: Vec<&AgendaItem> = prepared.iter().map(|entry| &entry.item).collect();
    let references = References::load(connection, &items).await?;
    let mut outcomes: Vec<Option<ImportOutcome>> = Vec::with_capacity(prepared.len());
    let mut candidates = Vec::with_capacity(prepared.len());
    for entry in prepared {
        match references.check(&entry.item) {
            Ok(()) => {
                candidates.push(entry);
                outcomes.push(None);
            }
            Err(error) => outcomes.push(Some(Err(error))),
        }
    }
    let mut seqs = insert_items(connection, &candidates, micros).await?;
    // The first item with an id got it; a later one with the same id, or one whose id was
    // already stored, was skipped by ON CONFLICT.
    let mut stored: Vec<(i64, &AgendaItem)> = Vec::with_capacity(candidates.len());
    for (entry, outcome) in prepared.iter().zip(outcomes.iter_mut()) {
        if outcome.is_some() {
            continue;
        }
        *outcome = Some(match seqs.remove(entry.id.as_str()) {
            Some(seq) => {
                stored.push((seq, &entry.item));
                Ok(entry.id.clone())
            }
            None => Err(StoreError::AlreadyExists {
                resource: <AgendaItem as crate::domain::Resource>::resource_name(&entry.id),
            }),
        });
    }
    stored.sort_by_key(|(seq, _)| *seq);
    insert_index_rows(connection, &stored).await?;
    // New items come after every stored one in `seq` order: their nets add on at the end.
    append_pair_days(connection, &stored).await?;
    let mut days = DayCounts::default();
    for (_, item) in &stored {
        days.add(item, 1);
    }
    days.apply(connection).await?;
    // Every entry was given its outcome above.
    Ok(outcomes.into_iter().flatten().collect())
}

/// Inserts the item rows; returns the `seq` of each id that was inserted.
async fn insert_items(
    connection: &mut SqliteConnection,
    items: &[&Prepared],
    micros: i64,
) -> StoreResult<HashMap<String, i64>> {
    let mut seqs = HashMap::with_capacity(items.len());
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO agenda_items (id, revision, create_time, update_time, body, date, trip, leg, event_type, status) ",
        );
        query.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.id.as_str())
                .push_bind(1_i64)
                .push_bind(micros)
                .push_bind(micros)
                .push_bind(entry.body.as_str())
                .push_bind(entry.date.as_str())
                .push_bind(entry.trip.as_deref())
                .push_bind(entry.item.leg.map(i64::from))
                .push_bind(entry.item.event_type.code())
                .push_bind(entry.item.status.code());
        });
        query.push(" ON CONFLICT (id) DO NOTHING RETURNING id, seq");
        let rows = query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .fetch_all(&mut *connection)
            .await?;
        for row in rows {
            seqs.insert(row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
        }
    }
    Ok(seqs)
}

pub(super) async fn list(
    pool: &SqlitePool,
    fast: Option<&Readers>,
    filter: &AgendaFilter,
    page: PageRequest,
) -> StoreResult<Page<Stored<AgendaItem>>> {
    let query = list_query(filter, page);
    let (rows, more) = fast::rows(
        pool,
        fast,
        &query,
        page.size,
        crate::store::sql::decode_columns::<AgendaItem>,
    )
    .await?;
    Ok(crate::store::sql::page_of(rows, more))
}

/// The page [`list`] reads, as stored records.
///
/// With a cache of decoded records, the page's positions are read first with each row's
/// revision and update time; when every row's record is cached at that revision, the page
/// comes from the cache and no JSON is parsed. Otherwise the page is read whole, in one
/// statement (one snapshot), and its records kept for the next time.
pub(super) async fn list_records(
    pool: &SqlitePool,
    fast: Option<&Readers>,
    cache: Option<&ItemCache>,
    filter: &AgendaFilter,
    page: PageRequest,
) -> StoreResult<Page<Stored<AgendaItemRecord>>> {
    if let (Some(readers), Some(cache)) = (fast, cache)
        && let Some(cached) = cached_page(readers, cache, filter, page)?
    {
        return Ok(cached);
    }
    let generation = cache.map(RecordCache::generation);
    let query = list_query(filter, page);
    let (rows, more) = fast::rows(
        pool,
        fast,
        &query,
        page.size,
        crate::store::sql::decode_record_columns::<AgendaItem>,
    )
    .await?;
    if let (Some(cache), Some(generation)) = (cache, generation) {
        for row in &rows {
            cache.insert(generation, row.seq, Arc::new(row.stored.clone()));
        }
    }
    Ok(crate::store::sql::page_of(rows, more))
}

/// Decoded agenda records by `seq`, checked against each row's revision and update time.
pub(super) type ItemCache = RecordCache<i64, Stored<AgendaItemRecord>>;

/// The page from the cache, if every record on it is there at the revision the page's rows
/// have now.
fn cached_page(
    readers: &Readers,
    cache: &ItemCache,
    filter: &AgendaFilter,
    page: PageRequest,
) -> StoreResult<Option<Page<Stored<AgendaItemRecord>>>> {
    let query = list_query_selecting(filter, page, "a.seq, a.revision, a.update_time");
    let mut rows = Vec::with_capacity(page.size.min(512));
    let mut more = false;
    let mut missed = false;
    readers.with(|connection| {
        connection.query(&query.text, &query.params, |row| {
            if rows.len() == page.size {
                more = true;
                return Ok(false);
            }
            let (seq, revision, update_time) = (row.int(0), row.int(1), row.int(2));
            match cache.get(&seq) {
                Some(stored)
                    if stored.revision == revision
                        && stored.update_time.timestamp_micros() == update_time =>
                {
                    rows.push(Row {
                        seq,
                        stored: Stored::clone(&stored),
                    });
                    Ok(true)
                }
                _ => {
                    missed = true;
                    Ok(false)
                }
            }
        })
    })?;
    Ok((!missed).then(|| crate::store::sql::page_of(rows, more)))
}

fn list_query(filter: &AgendaFilter, page: PageRequest) -> Sql {
    let columns = SELECT_COLUMNS
        .split(", ")
        .map(|column| format!("a.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    list_query_selecting(filter, page, &columns)
}

fn list_query_selecting(filter: &AgendaFilter, page: PageRequest, columns: &str) -> Sql {
    let mut query = Sql::new(format!("SELECT {columns} FROM "));
    // The most selective index that yields rows in `seq` order drives the scan: the position
    // and the order are stated on the driving index's own column, so SQLite seeks to the page
    // and stops after it instead of sorting every match. The other filters are checked per
    // row against their primary keys.
    let pair_keys: Vec<i64> = filter.pairs.iter().map(|pair| pair_key(*pair)).collect();
    let (driver, position) = if let [pair] = pair_keys.as_slice() {
        query
            .push("agenda_item_pairs d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.pair = ")
            .bind(Param::Int(*pair));
        (Driver::Pairs, "d.item_seq")
    } else if !pair_keys.is_empty() {
        // Several pairs: the items' positions come from the pair index, merged and in order.
        query
            .push("agenda_items a WHERE a.seq IN (SELECT item_seq FROM agenda_item_pairs WHERE pair IN (")
            .push(&numbers(&pair_keys))
            .push(") AND item_seq > ")
            .bind(Param::Int(page.after.unwrap_or(0)))
            .push(")");
        (Driver::Pairs, "a.seq")
    } else if let Some(country) = &filter.country {
        query
            .push("agenda_countries d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.country = ")
            .bind(Param::Text(country.as_str().to_owned()));
        (Driver::Country, "d.item_seq")
    } else if let Some(official) = &filter.official {
        query
            .push("agenda_participants d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.official = ")
            .bind(Param::Text(official.to_string()));
        (Driver::Official, "d.item_seq")
    } else if let Some(context) = &filter.context {
        query
            .push("agenda_contexts d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.context = ")
            .bind(Param::Text(context.clone()));
        (Driver::Context, "d.item_seq")
    } else if let Some(search) = &filter.query {
        query
            .push("agenda_search d CROSS JOIN agenda_items a ON a.seq = d.rowid WHERE agenda_search MATCH ")
            .bind(Param::Text(search.to_fts5()));
        (Driver::Search, "d.rowid")
    } else if let Some(status @ (ItemStatus::Planned | ItemStatus::Background)) = filter.status {
        // The few items that are not reported have an index of their own.
        query.push(&format!(
            "agenda_items a WHERE a.status <> 'REPORTED' AND a.status = '{}'",
            status.code()
        ));
        (Driver::Status, "a.seq")
    } else {
        query.push("agenda_items a WHERE 1 = 1");
        (Driver::Items, "a.seq")
    };
    query
        .push(&format!(" AND {position} > "))
        .bind(Param::Int(page.after.unwrap_or(0)));
    if !pair_keys.is_empty() && driver != Driver::Pairs {
        query.push(&format!(
            " AND EXISTS (SELECT 1 FROM agenda_item_pairs p WHERE p.pair IN ({}) AND p.item_seq = a.seq)",
            numbers(&pair_keys)
        ));
    }
    if let (Some(official), false) = (&filter.official, driver == Driver::Official) {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_participants p WHERE p.official = ")
            .bind(Param::Text(official.to_string()))
            .push(" AND p.item_seq = a.seq)");
    }
    if let (Some(context), false) = (&filter.context, driver == Driver::Context) {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_contexts x WHERE x.context = ")
            .bind(Param::Text(context.clone()))
            .push(" AND x.item_seq = a.seq)");
    }
    if let (Some(search), false) = (&filter.query, driver == Driver::Search) {
        query
            .push(" AND a.seq IN (SELECT rowid FROM agenda_search WHERE agenda_search MATCH ")
            .bind(Param::Text(search.to_fts5()))
            .push(")");
    }
    if let (Some(country), false) = (&filter.country, driver == Driver::Country) {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_countries c WHERE c.country = ")
            .bind(Param::Text(country.as_str().to_owned()))
            .push(" AND c.item_seq = a.seq)");
    }
    if let (Some(status), false) = (filter.status, driver == Driver::Status) {
        // A code from a closed set, written literally like the partial indexes' conditions.
        query.push(&format!(" AND a.status = '{}'", status.code()));
    }
    if let Some(trip) = &filter.trip {
        query
            .push(" AND a.trip = ")
            .bind(Param::Text(trip.to_string()));
    }
    if let Some(event_type) = filter.event_type {
        query
            .push(" AND a.event_type = ")
            .bind(Param::Text(event_type.code().to_owned()));
    }
    if let Some(from) = filter.from_date {
        query
            .push(" AND a.date >= ")
            .bind(Param::Text(format_date(from)));
    }
    if let Some(to) = filter.to_date {
        query
            .push(" AND a.date <= ")
            .bind(Param::Text(format_date(to)));
    }
    query
        .push(&format!(" ORDER BY {position} LIMIT "))
        .bind(Param::Int(page_limit(page)));
    query
}

/// Integers as a comma-separated SQL list (they are not user text, so not bound).
fn numbers(values: &[i64]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Pairs,
    Status,
    Country,
    Official,
    Context,
    Search,
    Items,
}

/// Whether the trips and officials a batch of items names exist: one query per kind.
struct References {
    /// Trip id → number of legs; trips that do not exist are absent.
    trips: HashMap<String, i64>,
    officials: HashSet<String>,
}

impl References {
    async fn load(connection: &mut SqliteConnection, items: &[&AgendaItem]) -> StoreResult<Self> {
        let trip_ids: BTreeSet<&str> = items
            .iter()
            .filter_map(|item| item.trip.as_ref().map(|trip| trip.id().as_str()))
            .collect();
        let official_ids: BTreeSet<&str> = items
            .iter()
            .flat_map(|item| item.participants.iter().map(|name| name.id().as_str()))
            .collect();
        let mut references = Self {
            trips: HashMap::new(),
            officials: HashSet::new(),
        };
        if !trip_ids.is_empty() {
            let rows = sqlx::query(
                "SELECT id, json_array_length(body, '$.legs') FROM trips \
                 WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(json_list(&trip_ids)?)
            .fetch_all(&mut *connection)
            .await?;
            for row in rows {
                references
                    .trips
                    .insert(row.try_get(0)?, row.try_get::<i64, _>(1)?);
            }
        }
        if !official_ids.is_empty() {
            let rows = sqlx::query(
                "SELECT id FROM officials WHERE id IN (SELECT value FROM json_each(?))",
            )
            .bind(json_list(&official_ids)?)
            .fetch_all(&mut *connection)
            .await?;
            for row in rows {
                references.officials.insert(row.try_get(0)?);
            }
        }
        Ok(references)
    }

    fn check(&self, item: &AgendaItem) -> StoreResult<()> {
        crate::store::sql::check_references(
            item,
            |trip| self.trips.get(trip).copied(),
            |official| self.officials.contains(official),
        )
    }
}

fn json_list(ids: &BTreeSet<&str>) -> StoreResult<String> {
    serde_json::to_string(ids)
        .map_err(|error| StoreError::Internal(format!("cannot encode ids: {error}")))
}

/// The day as days from the Common Era (0001-01-01 is 1): how `agenda_pairs` stores it.
pub(super) fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

fn date_of_day(day: i64) -> StoreResult<NaiveDate> {
    i32::try_from(day)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| StoreError::Internal(format!("stored day {day} is out of range")))
}

fn country_key(country: CountryCode) -> i64 {
    country
        .as_str()
        .bytes()
        .fold(0, |key, letter| key * 26 + i64::from(letter - b'A'))
}

/// Both codes of the pair, lower first, packed into one integer.
pub(super) fn pair_key(pair: Pair) -> i64 {
    country_key(pair.first()) * 17_576 + country_key(pair.second())
}

fn pair_of_key(key: i64) -> StoreResult<Pair> {
    let country = |code: i64| {
        let letters: String = [code / 676, code / 26 % 26, code % 26]
            .iter()
            .map(|letter| char::from(b'A' + u8::try_from(*letter).unwrap_or(0)))
            .collect();
        CountryCode::parse(&letters)
            .map_err(|problem| StoreError::Internal(format!("stored pair {key}: {problem}")))
    };
    Pair::new(country(key / 17_576)?, country(key % 17_576)?)
        .ok_or_else(|| StoreError::Internal(format!("stored pair {key} names one country twice")))
}

/// The (day, pair) cells an item contributes to.
fn pair_cells(item: &AgendaItem) -> Vec<(i64, i64)> {
    let day = day_number(item.date);
    item.scoring_pairs()
        .into_iter()
        .map(|pair| (day, pair_key(pair)))
        .collect()
}

/// Index, full-text and pair rows of stored items, in as few statements as the rows allow.
async fn insert_index_rows(
    connection: &mut SqliteConnection,
    items: &[(i64, &AgendaItem)],
) -> StoreResult<()> {
    let countries: Vec<(&str, i64)> = items
        .iter()
        .flat_map(|(seq, item)| {
            item.countries()
                .into_iter()
                .map(move |country| (country.as_str(), *seq))
        })
        .collect();
    insert_keyed(
        connection,
        "INSERT INTO agenda_countries (country, item_seq) ",
        &countries,
    )
    .await?;
    let participant_names: Vec<(String, i64)> = items
        .iter()
        .flat_map(|(seq, item)| {
            item.participants
                .iter()
                .map(move |participant| (participant.to_string(), *seq))
        })
        .collect();
    let participants: Vec<(&str, i64)> = participant_names
        .iter()
        .map(|(name, seq)| (name.as_str(), *seq))
        .collect();
    insert_keyed(
        connection,
        "INSERT INTO agenda_participants (official, item_seq) ",
        &participants,
    )
    .await?;
    let contexts: Vec<(&str, i64)> = items
        .iter()
        .flat_map(|(seq, item)| {
            item.contexts
                .iter()
                .map(move |context| (context.as_str(), *seq))
        })
        .collect();
    insert_keyed(
        connection,
        "INSERT INTO agenda_contexts (context, item_seq) ",
        &contexts,
    )
    .await?;
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_search (rowid, title, summary) ");
        query.push_values(chunk, |mut row, (seq, item)| {
            row.push_bind(*seq)
                .push_bind(item.title.as_str())
                .push_bind(item.summary.as_str());
        });
        query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut *connection)
            .await?;
    }
    insert_item_pairs(connection, items).await?;
    let pair_rows = pair_rows(items);
    for chunk in pair_rows.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_pairs (day, pair, item_seq, net) ");
        query.push_values(chunk, |mut row, (day, pair, seq, net)| {
            row.push_bind(*day)
                .push_bind(*pair)
                .push_bind(*seq)
                .push_bind(*net);
        });
        query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// The `agenda_item_pairs` rows of items of any status: what the `pairs` filter reads.
async fn insert_item_pairs(
    connection: &mut SqliteConnection,
    items: &[(i64, &AgendaItem)],
) -> StoreResult<()> {
    let rows: Vec<(i64, i64)> = items
        .iter()
        .flat_map(|(seq, item)| {
            pairs(item)
                .into_iter()
                .map(move |pair| (pair_key(pair), *seq))
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_item_pairs (pair, item_seq) ");
        query.push_values(chunk, |mut row, (pair, seq)| {
            row.push_bind(*pair).push_bind(*seq);
        });
        query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Changes to `agenda_item_days`: per date, reported items and their sources added (or, with
/// a negative sign, taken away), applied in one upsert per few hundred days.
#[derive(Default)]
struct DayCounts(BTreeMap<String, (i64, i64)>);

impl DayCounts {
    fn add(&mut self, item: &AgendaItem, sign: i64) {
        if item.status != ItemStatus::Reported {
            return;
        }
        let sources = i64::try_from(item.source_count()).unwrap_or(i64::MAX);
        let (items, sum) = self.0.entry(format_date(item.date)).or_default();
        *items += sign;
        *sum += sign * sources;
    }

    async fn apply(self, connection: &mut SqliteConnection) -> StoreResult<()> {
        let changes: Vec<(String, (i64, i64))> = self
            .0
            .into_iter()
            .filter(|(_, change)| *change != (0, 0))
            .collect();
        for chunk in changes.chunks(ROWS_PER_STATEMENT) {
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO agenda_item_days (date, items, sources) ");
            query.push_values(chunk, |mut row, (date, (items, sources))| {
                row.push_bind(date.as_str())
                    .push_bind(*items)
                    .push_bind(*sources);
            });
            query.push(
                " ON CONFLICT (date) DO UPDATE SET items = items + excluded.items, \
                 sources = sources + excluded.sources",
            );
            query
                .build()
                .persistent(chunk.len() == ROWS_PER_STATEMENT)
                .execute(&mut *connection)
                .await?;
        }
        // A day whose last reported item went is left out, as if it never had one.
        for (date, _) in changes.iter().filter(|(_, (items, _))| *items < 0) {
            sqlx::query("DELETE FROM agenda_item_days WHERE date = ? AND items <= 0")
                .bind(date)
                .execute(&mut *connection)
                .await?;
        }
        Ok(())
    }
}

/// (day, pair, item_seq, net) of each distinct pair of each item, in the items' order.
fn pair_rows(items: &[(i64, &AgendaItem)]) -> Vec<(i64, i64, i64, f64)> {
    items
        .iter()
        .flat_map(|(seq, item)| {
            let day = day_number(item.date);
            let net = item.intensity();
            item.scoring_pairs()
                .into_iter()
                .map(move |pair| (day, pair_key(pair), *seq, net))
        })
        .collect()
}

async fn insert_keyed(
    connection: &mut SqliteConnection,
    insert: &'static str,
    rows: &[(&str, i64)],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(insert);
        query.push_values(chunk, |mut row, (key, seq)| {
            row.push_bind(*key).push_bind(*seq);
        });
        query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Adds the nets of items newer than every stored one to their days' pair sums, one addition
/// per item in `seq` order (a multi-row upsert applies its rows in order).
async fn append_pair_days(
    connection: &mut SqliteConnection,
    items: &[(i64, &AgendaItem)],
) -> StoreResult<()> {
    let rows = pair_rows(items);
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Sqlite>::new("INSERT INTO agenda_pair_days (day, pair, net) ");
        query.push_values(chunk, |mut row, (day, pair, _, net)| {
            row.push_bind(*day).push_bind(*pair).push_bind(*net);
        });
        query.push(" ON CONFLICT (day, pair) DO UPDATE SET net = net + excluded.net");
        query
            .build()
            .persistent(chunk.len() == ROWS_PER_STATEMENT)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Sums the cells again from their item rows, in `seq` order, as the digest would.
async fn recompute_pair_days(
    connection: &mut SqliteConnection,
    cells: &[(i64, i64)],
) -> StoreResult<()> {
    let cells: BTreeSet<&(i64, i64)> = cells.iter().collect();
    for (day, pair) in cells {
        let nets: Vec<f64> = sqlx::query_scalar(
            "SELECT net FROM agenda_pairs WHERE day = ? AND pair = ? ORDER BY item_seq",
        )
        .bind(day)
        .bind(pair)
        .fetch_all(&mut *connection)
        .await?;
        if nets.is_empty() {
            sqlx::query("DELETE FROM agenda_pair_days WHERE day = ? AND pair = ?")
                .bind(day)
                .bind(pair)
                .execute(&mut *connection)
                .await?;
        } else {
            let net = nets.iter().fold(0.0, |sum, net| sum + net);
            sqlx::query(
                "INSERT INTO agenda_pair_days (day, pair, net) VALUES (?, ?, ?) \
                 ON CONFLICT (day, pair) DO UPDATE SET net = excluded.net",
            )
            .bind(day)
            .bind(pair)
            .bind(net)
            .execute(&mut *connection)
            .await?;
        }
    }
    Ok(())
}

/// Deletes an item's index rows; returns the pair cells whose sums must be recomputed.
async fn clear_index(
    connection: &mut SqliteConnection,
    seq: i64,
    item: &AgendaItem,
) -> StoreResult<Vec<(i64, i64)>> {
    for country in item.countries() {
        sqlx::query("DELETE FROM agenda_countries WHERE country = ? AND item_seq = ?")
            .bind(country.as_str())
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    for participant in &item.participants {
        sqlx::query("DELETE FROM agenda_participants WHERE official = ? AND item_seq = ?")
            .bind(participant.to_string())
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    for context in &item.contexts {
        sqlx::query("DELETE FROM agenda_contexts WHERE context = ? AND item_seq = ?")
            .bind(context)
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("DELETE FROM agenda_search WHERE rowid = ?")
        .bind(seq)
        .execute(&mut *connection)
        .await?;
    for pair in pairs(item) {
        sqlx::query("DELETE FROM agenda_item_pairs WHERE pair = ? AND item_seq = ?")
            .bind(pair_key(pair))
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    let cells = pair_cells(item);
    for (day, pair) in &cells {
        sqlx::query("DELETE FROM agenda_pairs WHERE day = ? AND pair = ? AND item_seq = ?")
            .bind(day)
            .bind(pair)
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    Ok(cells)
}

/// The daily pair nets of `from..=to`, one per (day, pair) with activity.
pub(super) async fn daily_pair_nets(
    pool: &SqlitePool,
    fast: Option<&Readers>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<PairNet>> {
    const SQL: &str = "SELECT day, pair, net FROM agenda_pair_days WHERE day >= ? AND day <= ?";
    let mut cells: Vec<(i64, i64, f64)> = Vec::new();
    if let Some(readers) = fast {
        readers.with(|connection| {
            connection.query(
                SQL,
                &[Param::Int(day_number(from)), Param::Int(day_number(to))],
                |row| {
                    cells.push((row.int(0), row.int(1), row.double(2)));
                    Ok(true)
                },
            )
        })?;
    } else {
        for row in sqlx::query(SQL)
            .bind(day_number(from))
            .bind(day_number(to))
            .fetch_all(pool)
            .await?
        {
            cells.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
        }
    }
    let mut decoded: HashMap<i64, Pair> = HashMap::new();
    let mut days: HashMap<i64, NaiveDate> = HashMap::new();
    let mut nets = Vec::with_capacity(cells.len());
    for (day, key, net) in cells {
        let pair = match decoded.get(&key) {
            Some(pair) => *pair,
            None => {
                let pair = pair_of_key(key)?;
                decoded.insert(key, pair);
                pair
            }
        };
        let date = match days.get(&day) {
            Some(date) => *date,
            None => {
                let date = date_of_day(day)?;
                days.insert(day, date);
                date
            }
        };
        nets.push(PairNet { date, pair, net });
    }
    Ok(nets)
}

/// Whether a migration left `name` in `store_tasks` for the store to finish in Rust.
async fn task_pending(connection: &mut SqliteConnection, name: &str) -> StoreResult<bool> {
    let pending: Option<String> = sqlx::query_scalar("SELECT name FROM store_tasks WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *connection)
        .await?;
    Ok(pending.is_some())
}

async fn task_done(connection: &mut SqliteConnection, name: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM store_tasks WHERE name = ?")
        .bind(name)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Fills `agenda_pairs` and `agenda_pair_days` from the stored items, once, for databases
/// with items from before those tables existed (the `store_tasks` row of migration 3).
pub(super) async fn fill_pair_tables(pool: &SqlitePool) -> StoreResult<()> {
    const TASK: &str = "fill agenda_pairs";
    let mut transaction = pool.begin().await?;
    if !task_pending(&mut transaction, TASK).await? {
        return Ok(());
    }
    sqlx::query("DELETE FROM agenda_pairs")
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM agenda_pair_days")
        .execute(&mut *transaction)
        .await?;
    let sql =
        format!("SELECT {SELECT_COLUMNS} FROM agenda_items WHERE seq > ? ORDER BY seq LIMIT 2000");
    let mut after = 0_i64;
    let mut filled = 0_usize;
    loop {
        let rows = sqlx::query(&sql)
            .bind(after)
            .fetch_all(&mut *transaction)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        let decoded = rows
            .iter()
            .map(documents::decode::<AgendaItem>)
            .collect::<StoreResult<Vec<_>>>()?;
        let items: Vec<(i64, &AgendaItem)> = decoded
            .iter()
            .map(|row| (row.seq, &row.stored.value))
            .collect();
        let pair_rows = pair_rows(&items);
        for chunk in pair_rows.chunks(ROWS_PER_STATEMENT) {
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO agenda_pairs (day, pair, item_seq, net) ");
            query.push_values(chunk, |mut row, (day, pair, seq, net)| {
                row.push_bind(*day)
                    .push_bind(*pair)
                    .push_bind(*seq)
                    .push_bind(*net);
            });
            query.build().execute(&mut *transaction).await?;
        }
        append_pair_days(&mut transaction, &items).await?;
        filled += items.len();
    }
    task_done(&mut transaction, TASK).await?;
    transaction.commit().await?;
    if filled > 0 {
        tracing::info!(items = filled, "daily country-pair nets filled in");
    }
    Ok(())
}

/// Fills `agenda_items.status`, `agenda_item_pairs` and `agenda_item_days` from the stored
/// items, once, for databases with items from before those existed (migration 5's
/// `store_tasks` row).
pub(super) async fn fill_status_and_pair_tables(pool: &SqlitePool) -> StoreResult<()> {
    const TASK: &str = "fill agenda statuses and pairs";
    let mut transaction = pool.begin().await?;
    if !task_pending(&mut transaction, TASK).await? {
        return Ok(());
    }
    sqlx::query("DELETE FROM agenda_item_pairs")
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM agenda_item_days")
        .execute(&mut *transaction)
        .await?;
    let sql =
        format!("SELECT {SELECT_COLUMNS} FROM agenda_items WHERE seq > ? ORDER BY seq LIMIT 2000");
    let mut after = 0_i64;
    let mut filled = 0_usize;
    let mut days = DayCounts::default();
    loop {
        let rows = sqlx::query(&sql)
            .bind(after)
            .fetch_all(&mut *transaction)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        let decoded = rows
            .iter()
            .map(documents::decode::<AgendaItem>)
            .collect::<StoreResult<Vec<_>>>()?;
        let items: Vec<(i64, &AgendaItem)> = decoded
            .iter()
            .map(|row| (row.seq, &row.stored.value))
            .collect();
        for (seq, item) in &items {
            days.add(item, 1);
            // The column's default is REPORTED.
            if item.status != ItemStatus::Reported {
                sqlx::query("UPDATE agenda_items SET status = ? WHERE seq = ?")
                    .bind(item.status.code())
                    .bind(seq)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        insert_item_pairs(&mut transaction, &items).await?;
        filled += items.len();
    }
    days.apply(&mut transaction).await?;
    task_done(&mut transaction, TASK).await?;
    transaction.commit().await?;
    if filled > 0 {
        tracing::info!(
            items = filled,
            "agenda statuses, pairs and daily activity filled in"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Precondition;

    #[test]
    fn pairs_and_days_pack_and_unpack() {
        let pair = Pair::parse("JPN-USA").unwrap();
        assert_eq!(pair_of_key(pair_key(pair)).unwrap(), pair);
        let low = Pair::parse("ABW-ZWE").unwrap();
        assert_eq!(pair_of_key(pair_key(low)).unwrap(), low);
        assert!(pair_key(pair) < pair_key(Pair::parse("KOR-USA").unwrap()));
        let date = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
        assert_eq!(date_of_day(day_number(date)).unwrap(), date);
    }

    use std::collections::BTreeMap;

    use crate::store::Store as _;
    use crate::store::sqlite::SqliteStore;

    fn item(
        date: &str,
        actors: &[&str],
        recipients: &[&str],
        intensity: Option<f64>,
    ) -> AgendaItem {
        AgendaItem::parse(&AgendaItemRecord {
            title: format!("{actors:?} and {recipients:?}"),
            date: date.into(),
            actors: actors.iter().map(|code| (*code).to_owned()).collect(),
            recipients: recipients.iter().map(|code| (*code).to_owned()).collect(),
            event_type: "ACCUSE".into(),
            intensity,
            ..Default::default()
        })
        .unwrap()
    }

    /// The nets as the digest computed them before the store kept them: every item's pairs
    /// added in the order the items come.
    async fn from_items(
        store: &SqliteStore,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BTreeMap<(NaiveDate, Pair), f64> {
        let mut nets = BTreeMap::new();
        for stored in store.agenda_items_between(from, to).await.unwrap() {
            for pair in stored.value.scoring_pairs() {
                *nets.entry((stored.value.date, pair)).or_insert(0.0) += stored.value.intensity();
            }
        }
        nets
    }

    async fn kept(
        store: &SqliteStore,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BTreeMap<(NaiveDate, Pair), f64> {
        let mut nets = BTreeMap::new();
        for net in store.daily_pair_nets(from, to).await.unwrap() {
            *nets.entry((net.date, net.pair)).or_insert(0.0) += net.net;
        }
        nets
    }

    fn same_bits(a: &BTreeMap<(NaiveDate, Pair), f64>, b: &BTreeMap<(NaiveDate, Pair), f64>) {
        assert_eq!(a.len(), b.len(), "{a:?} {b:?}");
        for ((key, x), (other, y)) in a.iter().zip(b) {
            assert_eq!(key, other);
            assert_eq!(x.to_bits(), y.to_bits(), "{key:?}: {x} and {y}");
        }
    }

    #[tokio::test]
    async fn kept_pair_nets_equal_the_sums_of_the_items_after_any_writes() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("nets.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let days = ["2025-01-05", "2025-01-06", "2025-01-07"];
        let countries = ["USA", "KORGOV", "JPN", "PRKMIL", "CHN", "RUS"];
        // One-decimal intensities, whose sums depend on the order they are added in.
        let mut batch = Vec::new();
        for index in 0..600_usize {
            let actor = countries[index % countries.len()];
            let recipient = countries[(index * 7 + 1) % countries.len()];
            let recipients: &[&str] = if index % 5 == 0 {
                &[recipient, "FRA"]
            } else {
                &[recipient]
            };
            let intensity = (index % 3 != 0).then(|| f64::from((index % 41) as u32) / 10.0 - 2.1);
            batch.push((
                ResourceId::parse(&format!("item-{index}")).unwrap(),
                item(days[index % days.len()], &[actor], recipients, intensity),
            ));
        }
        let outcomes = store.import_agenda_items(batch).await.unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
        store
            .create_agenda_item(
                ResourceId::parse("single").unwrap(),
                item("2025-01-06", &["USA"], &["KOR"], Some(0.7)),
            )
            .await
            .unwrap();
        // Updates that move an item to another day and other pairs, and deletes.
        for index in (0..600).step_by(37) {
            let id = ResourceId::parse(&format!("item-{index}")).unwrap();
            store
                .update_agenda_item(
                    &id,
                    Precondition::None,
                    item("2025-01-07", &["CHN"], &["USA", "JPN"], Some(-0.3)),
                )
                .await
                .unwrap();
        }
        for index in (5..600).step_by(23) {
            let id = ResourceId::parse(&format!("item-{index}")).unwrap();
            let _ = store.delete_agenda_item(&id, Precondition::None).await;
        }
        let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
        let expected = from_items(&store, from, to).await;
        assert!(expected.len() > 10, "{expected:?}");
        same_bits(&kept(&store, from, to).await, &expected);

        // A database from before the nets were kept gets them when it is opened.
        let writer = &store.writer;
        sqlx::query("DELETE FROM agenda_pairs")
            .execute(writer)
            .await
            .unwrap();
        sqlx::query("DELETE FROM agenda_pair_days")
            .execute(writer)
            .await
            .unwrap();
        sqlx::query("INSERT INTO store_tasks (name) VALUES ('fill agenda_pairs')")
            .execute(writer)
            .await
            .unwrap();
        store.close().await;
        let reopened = SqliteStore::open(&url).await.unwrap();
        same_bits(&kept(&reopened, from, to).await, &expected);
        reopened.close().await;
    }

    /// What the status and pairs filters and the day counters give, for comparing stores.
    async fn status_and_pair_view(
        store: &SqliteStore,
    ) -> (
        Vec<Vec<String>>,
        Vec<crate::domain::DailyActivity>,
        Vec<String>,
    ) {
        let mut lists = Vec::new();
        let filters = [
            AgendaFilter {
                status: Some(ItemStatus::Planned),
                ..Default::default()
            },
            AgendaFilter {
                status: Some(ItemStatus::Background),
                ..Default::default()
            },
            AgendaFilter {
                status: Some(ItemStatus::Reported),
                ..Default::default()
            },
            AgendaFilter {
                pairs: vec![Pair::parse("JPN-PRK").unwrap()],
                ..Default::default()
            },
            AgendaFilter {
                pairs: vec![
                    Pair::parse("CHN-USA").unwrap(),
                    Pair::parse("KOR-PRK").unwrap(),
                ],
                ..Default::default()
            },
        ];
        for filter in &filters {
            let page = store
                .list_agenda_items(
                    filter,
                    PageRequest {
                        size: 1_000,
                        after: None,
                    },
                )
                .await
                .unwrap();
            lists.push(page.items.iter().map(|item| item.id.to_string()).collect());
        }
        let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
        let activity = store.daily_activity(from, to).await.unwrap();
        let planned = store
            .planned_items_between(from, to, 1_000)
            .await
            .unwrap()
            .iter()
            .map(|item| item.id.to_string())
            .collect();
        (lists, activity, planned)
    }

    #[tokio::test]
    async fn statuses_pairs_and_days_are_filled_in_for_items_stored_before_them() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("fill.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let statuses = ["", "PLANNED", "BACKGROUND", "REPORTED"];
        let countries = ["USA", "KORGOV", "JPN", "PRKMIL", "CHN"];
        let mut batch = Vec::new();
        for index in 0..300_usize {
            let mut record = item(
                ["2025-01-05", "2025-01-06", "2025-01-07"][index % 3],
                &[countries[index % countries.len()]],
                &[
                    countries[(index * 3 + 1) % countries.len()],
                    countries[(index * 3 + 2) % countries.len()],
                ],
                None,
            )
            .to_record();
            record.status = statuses[index % statuses.len()].into();
            record.sources = (0..index % 4)
                .map(|source| crate::domain::source::SourceRecord {
                    publisher: format!("Outlet {source}"),
                    ..Default::default()
                })
                .collect();
            batch.push((
                ResourceId::parse(&format!("item-{index}")).unwrap(),
                AgendaItem::parse(&record).unwrap(),
            ));
        }
        assert!(
            store
                .import_agenda_items(batch)
                .await
                .unwrap()
                .iter()
                .all(Result::is_ok)
        );
        let expected = status_and_pair_view(&store).await;
        assert!(
            expected.0.iter().all(|list| !list.is_empty()),
            "{expected:?}"
        );
        assert!(!expected.1.is_empty() && !expected.2.is_empty());

        // As a database from before migration 5 has it once migrated: every item REPORTED,
        // no pair rows, no day counters, the task pending.
        let writer = &store.writer;
        for sql in [
            "UPDATE agenda_items SET status = 'REPORTED'",
            "DELETE FROM agenda_item_pairs",
            "DELETE FROM agenda_item_days",
            "INSERT INTO store_tasks (name) VALUES ('fill agenda statuses and pairs')",
        ] {
            sqlx::query(sql).execute(writer).await.unwrap();
        }
        store.close().await;
        let reopened = SqliteStore::open(&url).await.unwrap();
        assert_eq!(status_and_pair_view(&reopened).await, expected);
        reopened.close().await;
    }
}
