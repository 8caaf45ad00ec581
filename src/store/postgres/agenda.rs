//! Agenda items in PostgreSQL: the item row, its filter index rows (countries, participants,
//! contexts, country pairs) and its tsvector row, always written in one transaction.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row as _};

use super::documents;
use crate::domain::values::{format_date, parse_date};
use crate::domain::{AgendaItem, DailyActivity, ResourceId, pairs};
use crate::store::document::Document;
use crate::store::sql::{SELECT_COLUMNS, page_limit};
use crate::store::{
    AgendaFilter, ImportOutcome, Page, PageRequest, Precondition, StoreError, StoreResult, Stored,
};

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
    pool: &PgPool,
    id: &ResourceId,
    precondition: Precondition,
    item: AgendaItem,
) -> StoreResult<Stored<AgendaItem>> {
    let mut transaction = pool.begin().await?;
    References::default().check(&mut transaction, &item).await?;
    let (old, stored) = documents::replace(
        &mut transaction,
        id,
        precondition,
        item,
        crate::store::sql::now(),
    )
    .await?;
    clear_index(&mut transaction, old.seq).await?;
    write_index(&mut transaction, old.seq, &stored.value).await?;
    transaction.commit().await?;
    Ok(stored)
}

pub(super) async fn delete(
    pool: &PgPool,
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
    connection: &mut PgConnection,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<()> {
    let old = documents::remove::<AgendaItem>(connection, id, precondition).await?;
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
                resource: AgendaItem::resource_name(&id),
            })),
        }
    }
    transaction.commit().await?;
    Ok(outcomes)
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
/// be deleted before the item commits.
#[derive(Default)]
struct References {
    trips: HashMap<String, Option<i64>>,
    officials: HashMap<String, bool>,
}

impl References {
    async fn check(&mut self, connection: &mut PgConnection, item: &AgendaItem) -> StoreResult<()> {
        if let Some(trip) = &item.trip {
            let name = trip.to_string();
            let legs = match self.trips.get(&name) {
                Some(known) => *known,
                None => {
                    let legs: Option<i64> =
                        sqlx::query_scalar("SELECT json_array_length(body::json -> 'legs')::BIGINT FROM trips WHERE id = $1 FOR SHARE")
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
                    let exists = sqlx::query_scalar::<_, i32>(
                        "SELECT 1 FROM officials WHERE id = $1 FOR SHARE",
                    )
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

/// The PLANNED items dated `from..=to`, by date and position.
pub(super) async fn planned_items_between(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
) -> StoreResult<Vec<Stored<AgendaItem>>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM agenda_items \
         WHERE status = 'PLANNED' AND date >= $1 AND date <= $2 ORDER BY date, seq LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(format_date(from))
        .bind(format_date(to))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| documents::decode::<AgendaItem>(row).map(|decoded| decoded.stored))
        .collect()
}

/// Each day's reported items and sources in `from..=to`, counted from the items (the sources
/// from their bodies: replicas share no counters that would need locking on every write).
pub(super) async fn daily_activity(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<DailyActivity>> {
    let rows = sqlx::query(
        "SELECT date, COUNT(*)::BIGINT, \
                COALESCE(SUM(json_array_length(COALESCE(body::json -> 'sources', '[]'::json))), 0)::BIGINT \
         FROM agenda_items WHERE status = 'REPORTED' AND date >= $1 AND date <= $2 \
         GROUP BY date ORDER BY date",
    )
    .bind(format_date(from))
    .bind(format_date(to))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let date: String = row.try_get(0)?;
            let count = |column: usize| -> StoreResult<u64> {
                let value: i64 = row.try_get(column)?;
                u64::try_from(value).map_err(|_| {
                    StoreError::Internal(format!("activity of {date} counted negative"))
                })
            };
            Ok(DailyActivity {
                date: parse_date(&date).map_err(|problem| {
                    StoreError::Internal(format!("stored agenda item date: {problem}"))
                })?,
                items: count(1)?,
                sources: count(2)?,
            })
        })
        .collect()
}
