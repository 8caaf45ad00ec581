//! What the three resource tables share: a JSON body, a revision, timestamps and the
//! insert, read, compare-and-swap and delete that work on them.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqliteConnection, SqlitePool};

use crate::domain::ResourceId;
use crate::store::{Precondition, StoreError, StoreResult, Stored};

pub(super) use crate::store::document::{Column, Document};

/// A stored document and its immutable list position.
pub(super) struct Row<D> {
    pub seq: i64,
    pub stored: Stored<D>,
}

pub(super) const SELECT_COLUMNS: &str = "seq, id, revision, create_time, update_time, body";

pub(super) fn decode<D: Document>(row: &SqliteRow) -> StoreResult<Row<D>> {
    decode_columns(
        row.try_get("seq")?,
        row.try_get("id")?,
        row.try_get("revision")?,
        row.try_get("create_time")?,
        row.try_get("update_time")?,
        row.try_get("body")?,
    )
}

/// A document from the columns of [`SELECT_COLUMNS`], in that order.
pub(super) fn decode_columns<D: Document>(
    seq: i64,
    id: &str,
    revision: i64,
    create_time: i64,
    update_time: i64,
    body: &str,
) -> StoreResult<Row<D>> {
    let row = decode_record_columns::<D>(seq, id, revision, create_time, update_time, body)?;
    Ok(Row {
        seq: row.seq,
        stored: parse_record(row.stored)?,
    })
}

/// The domain value of a stored record; a record that no longer parses is corrupt.
fn parse_record<D: Document>(stored: Stored<D::Record>) -> StoreResult<Stored<D>> {
    let value = D::from_record(&stored.value).map_err(|violations| {
        StoreError::Internal(format!(
            "stored {} is invalid: {violations}",
            D::resource_name(&stored.id)
        ))
    })?;
    Ok(Stored {
        id: stored.id,
        value,
        create_time: stored.create_time,
        update_time: stored.update_time,
        revision: stored.revision,
    })
}

/// A document's stored record from the columns of [`SELECT_COLUMNS`], not parsed into its
/// domain value (for responses: it was checked when it was written).
pub(super) fn decode_record_columns<D: Document>(
    seq: i64,
    id: &str,
    revision: i64,
    create_time: i64,
    update_time: i64,
    body: &str,
) -> StoreResult<Row<D::Record>> {
    let id = ResourceId::parse(id).map_err(|problem| {
        StoreError::Internal(format!("stored id {id:?} is corrupt: {problem}"))
    })?;
    let record: D::Record = serde_json::from_str(body).map_err(|error| {
        StoreError::Internal(format!(
            "stored {} is corrupt: {error}",
            D::resource_name(&id)
        ))
    })?;
    Ok(Row {
        seq,
        stored: Stored {
            id,
            value: record,
            create_time: from_micros(create_time),
            update_time: from_micros(update_time),
            revision,
        },
    })
}

pub(super) async fn get<D: Document>(
    pool: &SqlitePool,
    fast: Option<&super::fast::Readers>,
    id: &ResourceId,
) -> StoreResult<Stored<D>> {
    parse_record(get_record::<D>(pool, fast, id).await?)
}

/// The stored record of a document, not parsed into its domain value (for responses: it was
/// checked when it was written).
pub(super) async fn get_record<D: Document>(
    pool: &SqlitePool,
    fast: Option<&super::fast::Readers>,
    id: &ResourceId,
) -> StoreResult<Stored<D::Record>> {
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {} WHERE id = ?", D::TABLE);
    let found = if let Some(readers) = fast {
        let mut found = None;
        readers.with(|connection| {
            connection.query(
                &sql,
                &[super::fast::Param::Text(id.as_str().to_owned())],
                |row| {
                    found = Some(decode_record_columns::<D>(
                        row.int(0),
                        row.text(1)?,
                        row.int(2),
                        row.int(3),
                        row.int(4),
                        row.text(5)?,
                    )?);
                    Ok(false)
                },
            )
        })?;
        found
    } else {
        let mut connection = pool.acquire().await?;
        sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&mut *connection)
            .await?
            .map(|row| {
                decode_record_columns::<D>(
                    row.try_get("seq")?,
                    row.try_get("id")?,
                    row.try_get("revision")?,
                    row.try_get("create_time")?,
                    row.try_get("update_time")?,
                    row.try_get("body")?,
                )
            })
            .transpose()?
    };
    found
        .map(|row| row.stored)
        .ok_or_else(|| StoreError::NotFound {
            resource: D::resource_name(id),
        })
}

pub(super) async fn fetch<D: Document>(
    connection: &mut SqliteConnection,
    id: &ResourceId,
) -> StoreResult<Row<D>> {
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {} WHERE id = ?", D::TABLE);
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            resource: D::resource_name(id),
        })?;
    decode(&row)
}

/// Inserts a new document; `Ok(None)` when the id is taken.
pub(super) async fn insert<D: Document>(
    connection: &mut SqliteConnection,
    id: &ResourceId,
    value: &D,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let columns = value.columns();
    let names: String = columns
        .iter()
        .map(|(name, _)| format!(", {name}"))
        .collect();
    let marks = ", ?".repeat(columns.len());
    let sql = format!(
        "INSERT INTO {} (id, revision, create_time, update_time, body{names}) VALUES (?, 1, ?, ?, ?{marks}) \
         ON CONFLICT (id) DO NOTHING RETURNING seq",
        D::TABLE
    );
    let body = encode_body(value)?;
    let micros = now.timestamp_micros();
    let query = bind_columns(
        sqlx::query_scalar::<_, i64>(&sql)
            .bind(id.as_str())
            .bind(micros)
            .bind(micros)
            .bind(body),
        columns,
    );
    Ok(query.fetch_optional(&mut *connection).await?)
}

/// Replaces a document if `precondition` holds; returns the old row and the new document.
pub(super) async fn replace<D: Document>(
    connection: &mut SqliteConnection,
    id: &ResourceId,
    precondition: Precondition,
    value: D,
    now: DateTime<Utc>,
) -> StoreResult<(Row<D>, Stored<D>)> {
    let old = fetch::<D>(connection, id).await?;
    check(&old, precondition, id)?;
    let columns = value.columns();
    let assignments: String = columns
        .iter()
        .map(|(name, _)| format!(", {name} = ?"))
        .collect();
    let sql = format!(
        "UPDATE {} SET revision = revision + 1, update_time = ?, body = ?{assignments} WHERE seq = ?",
        D::TABLE
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
    connection: &mut SqliteConnection,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<Row<D>> {
    let old = fetch::<D>(connection, id).await?;
    check(&old, precondition, id)?;
    let sql = format!("DELETE FROM {} WHERE seq = ?", D::TABLE);
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

fn bind_columns<'q, O>(
    mut query: sqlx::query::QueryScalar<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments<'q>>,
    columns: Vec<(&'static str, Column)>,
) -> sqlx::query::QueryScalar<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments<'q>> {
    for (_, column) in columns {
        query = match column {
            Column::Text(text) => query.bind(text),
            Column::MaybeText(text) => query.bind(text),
            Column::MaybeInt(number) => query.bind(number),
        };
    }
    query
}

pub(super) fn encode_body<D: Document>(value: &D) -> StoreResult<String> {
    serde_json::to_string(&value.to_record())
        .map_err(|error| StoreError::Internal(format!("cannot encode {}: {error}", D::TABLE)))
}

pub(super) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Store timestamps have microsecond precision; so does what we hand back.
pub(super) fn now() -> DateTime<Utc> {
    from_micros(Utc::now().timestamp_micros())
}

/// Reads up to `page.size + 1` rows of a list query to learn whether another page follows.
pub(super) fn paginate<D: Document>(
    rows: Vec<SqliteRow>,
    size: usize,
) -> StoreResult<crate::store::Page<Stored<D>>> {
    let decoded = rows
        .iter()
        .take(size)
        .map(decode::<D>)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page_of(decoded, rows.len() > size))
}

/// A page of decoded rows; `more` when a row beyond them was found.
pub(super) fn page_of<D>(rows: Vec<Row<D>>, more: bool) -> crate::store::Page<Stored<D>> {
    let last_seq = rows.last().map(|row| row.seq);
    crate::store::Page {
        items: rows.into_iter().map(|row| row.stored).collect(),
        next_after: if more { last_seq } else { None },
    }
}
