//! Agenda items in PostgreSQL: the item row, its filter index rows (countries, participants,
//! contexts, country pairs) and its tsvector row, always written in one transaction.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::documents;
use crate::domain::values::format_date;
use crate::domain::{AgendaItem, ResourceId, pairs};
use crate::store::sql::{Row, SELECT_COLUMNS, page_limit};
use crate::store::{
    AgendaFilter, ImportOutcome, Page, PageRequest, StoreError, StoreResult, Stored,
};

crate::store::sql::agenda!();

pub(super) async fn create(
    pool: &PgPool,
    id: ResourceId,
    item: AgendaItem,
) -> StoreResult<Stored<AgendaItem>> {
    let now = crate::store::sql::now();
    let mut transaction = pool.begin().await?;
    References::default().check(&mut transaction, &item).await?;
    let Some(seq) = documents::insert(&mut transaction, &id, &item, now).await? else {
        return Err(StoreError::AlreadyExists {
            resource: <AgendaItem as crate::domain::Resource>::resource_name(&id),
        });
    };
    write_index(&mut transaction, seq, &item).await?;
    transaction.commit().await?;
    Ok(crate::store::sql::created(id, item, now))
}

/// The trip, leg and participants the item names must exist; they stay share-locked.
async fn check_item(connection: &mut PgConnection, item: &AgendaItem) -> StoreResult<()> {
    References::default().check(connection, item).await
}

/// Writes an updated item's index rows again.
async fn reindex(
    connection: &mut PgConnection,
    old: &Row<AgendaItem>,
    new: &Stored<AgendaItem>,
) -> StoreResult<()> {
    clear_index(connection, old.seq).await?;
    write_index(connection, old.seq, &new.value).await
}

/// Deletes a deleted item's index rows.
async fn unindex(connection: &mut PgConnection, old: &Row<AgendaItem>) -> StoreResult<()> {
    clear_index(connection, old.seq).await
}

pub(super) async fn import(
    pool: &PgPool,
    items: Vec<(ResourceId, AgendaItem)>,
) -> StoreResult<Vec<ImportOutcome>> {
    let now = crate::store::sql::now();
    let mut transaction = pool.begin().await?;
    let mut references = References::default();
    let mut outcomes = Vec::with_capacity(items.len());
    for (id, item) in items {
        match references.check(&mut transaction, &item).await {
            Ok(()) => {}
            Err(error @ StoreError::BadReference { .. }) => {
                outcomes.push(Err(error));
                continue;
            }
            Err(other) => return Err(other),
        }
        match documents::insert(&mut transaction, &id, &item, now).await? {
            Some(seq) => {
                write_index(&mut transaction, seq, &item).await?;
                outcomes.push(Ok(id));
            }
            None => outcomes.push(Err(StoreError::AlreadyExists {
                resource: <AgendaItem as crate::domain::Resource>::resource_name(&id),
            })),
        }
    }
    transaction.commit().await?;
    Ok(outcomes)
}

/// Like [`import`], all or nothing: the first refused item rolls the whole batch back.
pub(super) async fn import_batch(
    pool: &PgPool,
    items: Vec<(ResourceId, AgendaItem)>,
) -> StoreResult<crate::store::BatchOutcome> {
    let now = crate::store::sql::now();
    let count = items.len();
    let mut transaction = pool.begin().await?;
    let mut references = References::default();
    for (position, (id, item)) in items.into_iter().enumerate() {
        match references.check(&mut transaction, &item).await {
            Ok(()) => {}
            Err(error @ StoreError::BadReference { .. }) => {
                transaction.rollback().await?;
                return Ok(Err((position, error)));
            }
            Err(other) => return Err(other),
        }
        match documents::insert(&mut transaction, &id, &item, now).await? {
            Some(seq) => write_index(&mut transaction, seq, &item).await?,
            None => {
                transaction.rollback().await?;
                let resource = <AgendaItem as crate::domain::Resource>::resource_name(&id);
                return Ok(Err((position, StoreError::AlreadyExists { resource })));
            }
        }
    }
    transaction.commit().await?;
    Ok(Ok(count))
}

pub(super) async fn list(
    pool: &PgPool,
    filter: &AgendaFilter,
    page: PageRequest,
) -> StoreResult<Page<Stored<AgendaItem>>> {
    let columns = SELECT_COLUMNS
        .split(", ")
        .map(|column| format!("a.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut query = QueryBuilder::<Postgres>::new(format!(
        "SELECT {columns} FROM agenda_items a WHERE a.seq > "
    ));
    query.push_bind(page.after.unwrap_or(0));
    if let Some(country) = &filter.country {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_countries d WHERE d.item_seq = a.seq AND d.country = ")
            .push_bind(country.as_str())
            .push(")");
    }
    if let Some(official) = &filter.official {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_participants p WHERE p.item_seq = a.seq AND p.official = ")
            .push_bind(official.to_string())
            .push(")");
    }
    if let Some(context) = &filter.context {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_contexts x WHERE x.item_seq = a.seq AND x.context = ")
            .push_bind(context.clone())
            .push(")");
    }
    if let Some(search) = &filter.query {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_search s WHERE s.item_seq = a.seq AND s.search @@ to_tsquery('briefing_search', ")
            .push_bind(search.to_tsquery())
            .push("))");
    }
    if !filter.pairs.is_empty() {
        let names: Vec<String> = filter.pairs.iter().map(ToString::to_string).collect();
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_item_pairs r WHERE r.item_seq = a.seq AND r.pair = ANY(")
            .push_bind(names)
            .push("))");
    }
    if let Some(status) = filter.status {
        query.push(" AND a.status = ").push_bind(status.code());
    }
    if let Some(trip) = &filter.trip {
        query.push(" AND a.trip = ").push_bind(trip.to_string());
    }
    if let Some(event_type) = filter.event_type {
        query
            .push(" AND a.event_type = ")
            .push_bind(event_type.code());
    }
    if let Some(from) = filter.from_date {
        query.push(" AND a.date >= ").push_bind(format_date(from));
    }
    if let Some(to) = filter.to_date {
        query.push(" AND a.date <= ").push_bind(format_date(to));
    }
    query
        .push(" ORDER BY a.seq LIMIT ")
        .push_bind(page_limit(page));
    let rows = query.build().fetch_all(pool).await?;
    documents::paginate(rows, page.size)
}

/// Checks that an item's trip, leg and participants exist, and share-locks them so they cannot
/// be deleted before the item commits. Keyed by id: a trip's legs (`None`: no such trip), and
/// whether an official exists.
#[derive(Default)]
struct References {
    trips: HashMap<String, Option<i64>>,
    officials: HashMap<String, bool>,
}

impl References {
    /// Reads (and share-locks) what the item names that earlier items of the batch did not.
    async fn check(&mut self, connection: &mut PgConnection, item: &AgendaItem) -> StoreResult<()> {
        if let Some(trip) = &item.trip
            && !self.trips.contains_key(trip.id().as_str())
        {
            let legs: Option<i64> = sqlx::query_scalar(
                "SELECT json_array_length(body::json -> 'legs')::BIGINT FROM trips WHERE id = $1 FOR SHARE",
            )
            .bind(trip.id().as_str())
            .fetch_optional(&mut *connection)
            .await?;
            self.trips.insert(trip.id().as_str().to_owned(), legs);
        }
        for participant in &item.participants {
            if !self.officials.contains_key(participant.id().as_str()) {
                let exists =
                    sqlx::query_scalar::<_, i32>("SELECT 1 FROM officials WHERE id = $1 FOR SHARE")
                        .bind(participant.id().as_str())
                        .fetch_optional(&mut *connection)
                        .await?
                        .is_some();
                self.officials
                    .insert(participant.id().as_str().to_owned(), exists);
            }
        }
        crate::store::sql::check_references(
            item,
            |trip| self.trips.get(trip).copied().flatten(),
            |official| self.officials.get(official).copied().unwrap_or(false),
        )
    }
}

async fn write_index(
    connection: &mut PgConnection,
    seq: i64,
    item: &AgendaItem,
) -> StoreResult<()> {
    let countries: Vec<String> = item.countries().iter().map(ToString::to_string).collect();
    let participants: Vec<String> = item.participants.iter().map(ToString::to_string).collect();
    sqlx::query("INSERT INTO agenda_countries (country, item_seq) SELECT unnest($1::TEXT[]), $2")
        .bind(&countries)
        .bind(seq)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "INSERT INTO agenda_participants (official, item_seq) SELECT unnest($1::TEXT[]), $2",
    )
    .bind(&participants)
    .bind(seq)
    .execute(&mut *connection)
    .await?;
    sqlx::query("INSERT INTO agenda_contexts (context, item_seq) SELECT unnest($1::TEXT[]), $2")
        .bind(&item.contexts)
        .bind(seq)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "INSERT INTO agenda_search (item_seq, search) VALUES ($1, to_tsvector('briefing_search', $2))",
    )
    .bind(seq)
    .bind(format!("{} {}", item.title, item.summary))
    .execute(&mut *connection)
    .await?;
    let pair_names: Vec<String> = pairs(item).iter().map(ToString::to_string).collect();
    sqlx::query("INSERT INTO agenda_item_pairs (pair, item_seq) SELECT unnest($1::TEXT[]), $2")
        .bind(&pair_names)
        .bind(seq)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn clear_index(connection: &mut PgConnection, seq: i64) -> StoreResult<()> {
    for table in [
        "agenda_countries",
        "agenda_participants",
        "agenda_contexts",
        "agenda_search",
        "agenda_item_pairs",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE item_seq = $1"))
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
