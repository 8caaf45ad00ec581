//! Agenda items in SQLite: the item row, its filter index rows and its FTS5 row, always
//! written in one transaction so a search never sees an item half stored.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::documents::{self, Document, SELECT_COLUMNS};
use super::officials::page_limit;
use crate::domain::{AgendaItem, ResourceId, values::format_date};
use crate::store::{
    AgendaFilter, ImportOutcome, Page, PageRequest, Precondition, StoreError, StoreResult, Stored,
};

pub(super) async fn create(
    pool: &SqlitePool,
    id: ResourceId,
    item: AgendaItem,
) -> StoreResult<Stored<AgendaItem>> {
    let now = documents::now();
    let mut transaction = pool.begin().await?;
    References::default().check(&mut transaction, &item).await?;
    let Some(seq) = documents::insert(&mut transaction, &id, &item, now).await? else {
        return Err(StoreError::AlreadyExists {
            resource: AgendaItem::resource_name(&id),
        });
    };
    write_index(&mut transaction, seq, &item).await?;
    transaction.commit().await?;
    Ok(Stored {
        id,
        value: item,
        create_time: now,
        update_time: now,
        revision: 1,
    })
}

pub(super) async fn update(
    pool: &SqlitePool,
    id: &ResourceId,
    precondition: Precondition,
    item: AgendaItem,
) -> StoreResult<Stored<AgendaItem>> {
    let mut transaction = pool.begin().await?;
    References::default().check(&mut transaction, &item).await?;
    let (old, stored) =
        documents::replace(&mut transaction, id, precondition, item, documents::now()).await?;
    clear_index(&mut transaction, old.seq, &old.stored.value).await?;
    write_index(&mut transaction, old.seq, &stored.value).await?;
    transaction.commit().await?;
    Ok(stored)
}

pub(super) async fn delete(
    pool: &SqlitePool,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    remove(&mut transaction, id, precondition).await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes an item and its index rows inside the caller's transaction.
pub(super) async fn remove(
    connection: &mut SqliteConnection,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<()> {
    let old = documents::remove::<AgendaItem>(connection, id, precondition).await?;
    clear_index(connection, old.seq, &old.stored.value).await
}

pub(super) async fn import(
    pool: &SqlitePool,
    items: Vec<(ResourceId, AgendaItem)>,
) -> StoreResult<Vec<ImportOutcome>> {
    let now = documents::now();
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
                resource: AgendaItem::resource_name(&id),
            })),
        }
    }
    transaction.commit().await?;
    Ok(outcomes)
}

pub(super) async fn list(
    pool: &SqlitePool,
    filter: &AgendaFilter,
    page: PageRequest,
) -> StoreResult<Page<Stored<AgendaItem>>> {
    let columns = SELECT_COLUMNS
        .split(", ")
        .map(|column| format!("a.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {columns} FROM "));
    // The most selective index that yields rows in `seq` order drives the scan; the other
    // filters are checked per row against their primary keys.
    let driver = if let Some(country) = &filter.country {
        query
            .push("agenda_countries d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.country = ")
            .push_bind(country.as_str());
        Driver::Country
    } else if let Some(official) = &filter.official {
        query
            .push("agenda_participants d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.official = ")
            .push_bind(official.to_string());
        Driver::Official
    } else if let Some(context) = &filter.context {
        query
            .push("agenda_contexts d CROSS JOIN agenda_items a ON a.seq = d.item_seq WHERE d.context = ")
            .push_bind(context.clone());
        Driver::Context
    } else if let Some(search) = &filter.query {
        query
            .push("agenda_search d CROSS JOIN agenda_items a ON a.seq = d.rowid WHERE agenda_search MATCH ")
            .push_bind(search.to_fts5());
        Driver::Search
    } else {
        query.push("agenda_items a WHERE 1 = 1");
        Driver::Items
    };
    query
        .push(" AND a.seq > ")
        .push_bind(page.after.unwrap_or(0));
    if let (Some(official), false) = (&filter.official, driver == Driver::Official) {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_participants p WHERE p.official = ")
            .push_bind(official.to_string())
            .push(" AND p.item_seq = a.seq)");
    }
    if let (Some(context), false) = (&filter.context, driver == Driver::Context) {
        query
            .push(" AND EXISTS (SELECT 1 FROM agenda_contexts x WHERE x.context = ")
            .push_bind(context.clone())
            .push(" AND x.item_seq = a.seq)");
    }
    if let (Some(search), false) = (&filter.query, driver == Driver::Search) {
        query
            .push(" AND a.seq IN (SELECT rowid FROM agenda_search WHERE agenda_search MATCH ")
            .push_bind(search.to_fts5())
            .push(")");
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Country,
    Official,
    Context,
    Search,
    Items,
}

/// Checks that an item's trip, leg and participants exist, remembering answers across a batch.
#[derive(Default)]
struct References {
    /// Trip name → number of legs, or None when the trip does not exist.
    trips: HashMap<String, Option<i64>>,
    officials: HashMap<String, bool>,
}

impl References {
    async fn check(
        &mut self,
        connection: &mut SqliteConnection,
        item: &AgendaItem,
    ) -> StoreResult<()> {
        if let Some(trip) = &item.trip {
            let name = trip.to_string();
            let legs = match self.trips.get(&name) {
                Some(known) => *known,
                None => {
                    let legs: Option<i64> = sqlx::query_scalar(
                        "SELECT json_array_length(body, '$.legs') FROM trips WHERE id = ?",
                    )
                    .bind(trip.id().as_str())
                    .fetch_optional(&mut *connection)
                    .await?;
                    self.trips.insert(name.clone(), legs);
                    legs
                }
            };
            let Some(legs) = legs else {
                return Err(StoreError::BadReference {
                    field: "trip".into(),
                    description: format!("{name} does not exist"),
                });
            };
            if let Some(leg) = item.leg
                && i64::from(leg) >= legs
            {
                return Err(StoreError::BadReference {
                    field: "leg".into(),
                    description: format!(
                        "{name} has {legs} legs, so leg {leg} does not exist (legs count from 0)"
                    ),
                });
            }
        }
        for (position, participant) in item.participants.iter().enumerate() {
            let name = participant.to_string();
            let exists = match self.officials.get(&name) {
                Some(known) => *known,
                None => {
                    let exists =
                        sqlx::query_scalar::<_, i64>("SELECT 1 FROM officials WHERE id = ?")
                            .bind(participant.id().as_str())
                            .fetch_optional(&mut *connection)
                            .await?
                            .is_some();
                    self.officials.insert(name.clone(), exists);
                    exists
                }
            };
            if !exists {
                return Err(StoreError::BadReference {
                    field: format!("participants[{position}]"),
                    description: format!("{name} does not exist"),
                });
            }
        }
        Ok(())
    }
}

async fn write_index(
    connection: &mut SqliteConnection,
    seq: i64,
    item: &AgendaItem,
) -> StoreResult<()> {
    for country in item.countries() {
        sqlx::query("INSERT INTO agenda_countries (country, item_seq) VALUES (?, ?)")
            .bind(country.as_str())
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    for participant in &item.participants {
        sqlx::query("INSERT INTO agenda_participants (official, item_seq) VALUES (?, ?)")
            .bind(participant.to_string())
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    for context in &item.contexts {
        sqlx::query("INSERT INTO agenda_contexts (context, item_seq) VALUES (?, ?)")
            .bind(context)
            .bind(seq)
            .execute(&mut *connection)
            .await?;
    }
    sqlx::query("INSERT INTO agenda_search (rowid, title, summary) VALUES (?, ?, ?)")
        .bind(seq)
        .bind(&item.title)
        .bind(&item.summary)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn clear_index(
    connection: &mut SqliteConnection,
    seq: i64,
    item: &AgendaItem,
) -> StoreResult<()> {
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
    Ok(())
}
