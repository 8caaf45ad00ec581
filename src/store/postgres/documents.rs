//! The resource tables in PostgreSQL: insert, read, compare-and-swap and delete of a JSON body
//! with its revision, timestamps and filter columns. Rows a write depends on are locked
//! (`FOR UPDATE`), so concurrent replicas serialize on the resource, not on the database.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{PgConnection, PgPool, Row as _};

use crate::domain::ResourceId;
use crate::store::document::{Column, Document};
use crate::store::{Page, Precondition, StoreError, StoreResult, Stored};

/// A stored document and its immutable list position.
pub(super) struct Row<D> {
    pub seq: i64,
    pub stored: Stored<D>,
}

pub(super) const SELECT_COLUMNS: &str = "seq, id, revision, create_time, update_time, body";

pub(super) fn decode<D: Document>(row: &PgRow) -> StoreResult<Row<D>> {
    let id: String = row.try_get("id")?;
    let body: String = row.try_get("body")?;
    let id = ResourceId::parse(&id).map_err(|problem| {
        StoreError::Internal(format!("stored id {id:?} is corrupt: {problem}"))
    })?;
    let record: D::Record = serde_json::from_str(&body).map_err(|error| {
        StoreError::Internal(format!(
            "stored {} is corrupt: {error}",
            D::resource_name(&id)
        ))
    })?;
    let value = D::from_record(&record).map_err(|violations| {
        StoreError::Internal(format!(
            "stored {} is invalid: {violations}",
            D::resource_name(&id)
        ))
    })?;
    Ok(Row {
        seq: row.try_get("seq")?,
        stored: Stored {
            id,
            value,
            create_time: from_micros(row.try_get("create_time")?),
            update_time: from_micros(row.try_get("update_time")?),
            revision: row.try_get("revision")?,
        },
    })
}

pub(super) async fn get<D: Document>(pool: &PgPool, id: &ResourceId) -> StoreResult<Stored<D>> {
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {} WHERE id = $1", D::TABLE);
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            resource: D::resource_name(id),
        })?;
    decode(&row).map(|row| row.stored)
}

/// Reads a document and locks its row until the transaction ends.
pub(super) async fn fetch_for_update<D: Document>(
    connection: &mut PgConnection,
    id: &ResourceId,
) -> StoreResult<Row<D>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {} WHERE id = $1 FOR UPDATE",
        D::TABLE
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            resource: D::resource_name(id),
        })?;
    decode(&row)
}

fn bind_columns<'q>(
    mut query: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, PgArguments>,
    columns: Vec<(&'static str, Column)>,
) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, PgArguments> {
    for (_, column) in columns {
        query = match column {
            Column::Text(text) => query.bind(text),
            Column::MaybeText(text) => query.bind(text),
            Column::MaybeInt(number) => query.bind(number),
        };
    }
    query
}

/// Inserts a new document; `Ok(None)` when the id is taken.
pub(super) async fn insert<D: Document>(
    connection: &mut PgConnection,
    id: &ResourceId,
    value: &D,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let columns = value.columns();
    let names: String = columns
        .iter()
        .map(|(name, _)| format!(", {name}"))
        .collect();
    let marks: String = (0..columns.len())
        .map(|position| format!(", ${}", position + 5))
        .collect();
    let sql = format!(
        "INSERT INTO {} (id, revision, create_time, update_time, body{names}) VALUES ($1, 1, $2, $3, $4{marks}) \
         ON CONFLICT (id) DO NOTHING RETURNING seq",
        D::TABLE
    );
    let micros = now.timestamp_micros();
    let query = bind_columns(
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(id.as_str())
            .bind(micros)
            .bind(micros)
            .bind(encode_body(value)?),
        columns,
    );
    Ok(query.fetch_optional(&mut *connection).await?)
}

/// Replaces a document if `precondition` holds; returns the old row and the new document.
pub(super) async fn replace<D: Document>(
    connection: &mut PgConnection,
    id: &ResourceId,
    precondition: Precondition,
    value: D,
    now: DateTime<Utc>,
) -> StoreResult<(Row<D>, Stored<D>)> {
    let old = fetch_for_update::<D>(connection, id).await?;
    check(&old, precondition, id)?;
    let columns = value.columns();
    let assignments: String = columns
        .iter()
        .enumerate()
        .map(|(position, (name, _))| format!(", {name} = ${}", position + 3))
        .collect();
    let sql = format!(
        "UPDATE {} SET revision = revision + 1, update_time = $1, body = $2{assignments} WHERE seq = ${} RETURNING seq",
        D::TABLE,
        columns.len() + 3
    );
    let query = bind_columns(
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(now.timestamp_micros())
            .bind(encode_body(&value)?),
        columns,
    )
    .bind(old.seq);
    query.fetch_optional(&mut *connection).await?;
    let stored = Stored {
        id: id.clone(),
        value,
        create_time: old.stored.create_time,
        update_time: from_micros(now.timestamp_micros()),
        revision: old.stored.revision + 1,
    };
    Ok((old, stored))
}

/// Deletes a document if `precondition` holds; returns what was deleted.
pub(super) async fn remove<D: Document>(
    connection: &mut PgConnection,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<Row<D>> {
    let old = fetch_for_update::<D>(connection, id).await?;
    check(&old, precondition, id)?;
    let sql = format!("DELETE FROM {} WHERE seq = $1", D::TABLE);
    sqlx::query(&sql)
        .bind(old.seq)
        .execute(&mut *connection)
        .await?;
    Ok(old)
}

fn check<D: Document>(
    row: &Row<D>,
    precondition: Precondition,
    id: &ResourceId,
) -> StoreResult<()> {
    match precondition {
        Precondition::Revision(expected) if expected != row.stored.revision => {
            Err(StoreError::Stale {
                resource: D::resource_name(id),
            })
        }
        _ => Ok(()),
    }
}

fn encode_body<D: Document>(value: &D) -> StoreResult<String> {
    serde_json::to_string(&value.to_record())
        .map_err(|error| StoreError::Internal(format!("cannot encode {}: {error}", D::TABLE)))
}

pub(super) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub(super) fn now() -> DateTime<Utc> {
    from_micros(Utc::now().timestamp_micros())
}

/// Turns up to `size + 1` rows into a page and the position to continue from.
pub(super) fn paginate<D: Document>(rows: Vec<PgRow>, size: usize) -> StoreResult<Page<Stored<D>>> {
    let more = rows.len() > size;
    let mut items = Vec::with_capacity(size.min(rows.len()));
    let mut last_seq = None;
    for row in rows.iter().take(size) {
        let decoded = decode::<D>(row)?;
        last_seq = Some(decoded.seq);
        items.push(decoded.stored);
    }
    Ok(Page {
        items,
        next_after: if more { last_seq } else { None },
    })
}

pub(super) fn page_limit(page: crate::store::PageRequest) -> i64 {
    i64::try_from(page.size).unwrap_or(i64::MAX - 1) + 1
}
