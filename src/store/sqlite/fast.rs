//! The hot reads (a resource by id, a page of agenda items, a day's items for the digest),
//! run through rusqlite on the calling thread, over the same SQLite (`libsqlite3-sys`) that
//! sqlx links.
//!
//! sqlx gives every SQLite connection a thread of its own and hands each statement and each
//! row across threads; for a lookup that SQLite answers from its page cache in microseconds,
//! those hand-offs (futex wake-ups, context switches) cost several times the lookup. These
//! connections are read-only, each behind a mutex that is held only while one statement runs
//! (never across an `.await`), with their prepared statements cached.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, ToSql};

use crate::store::{StoreError, StoreResult};

/// A value bound to a `?` of a statement.
#[derive(Debug, Clone)]
pub(super) enum Param {
    Int(i64),
    Text(String),
}

/// A statement's text and its parameters, built together.
#[derive(Debug, Default)]
pub(super) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub(super) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            params: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `?` bound to `param`.
    pub(super) fn bind(&mut self, param: Param) -> &mut Self {
        self.text.push('?');
        self.params.push(param);
        self
    }
}

/// Runs a query selecting [`SELECT_COLUMNS`](crate::store::sql::SELECT_COLUMNS) and decodes the
/// first `keep` rows with `decode` (given the six columns in order); returns them and whether
/// more rows followed. On the calling thread when `fast` readers exist, else through sqlx.
pub(super) async fn rows<T>(
    pool: &sqlx::SqlitePool,
    fast: Option<&Readers>,
    sql: &Sql,
    keep: usize,
    decode: impl Fn(i64, &str, i64, i64, i64, &str) -> StoreResult<crate::store::sql::Row<T>>,
) -> StoreResult<(Vec<crate::store::sql::Row<T>>, bool)> {
    if let Some(readers) = fast {
        let mut rows = Vec::with_capacity(keep.min(512));
        let mut more = false;
        readers.with(|connection| {
            connection.query(&sql.text, &sql.params, |row| {
                if rows.len() == keep {
                    more = true;
                    return Ok(false);
                }
                rows.push(decode(
                    row.int(0),
                    row.text(1)?,
                    row.int(2),
                    row.int(3),
                    row.int(4),
                    row.text(5)?,
                )?);
                Ok(true)
            })
        })?;
        return Ok((rows, more));
    }
    use sqlx::Row as _;
    let mut query = sqlx::query(&sql.text);
    for param in &sql.params {
        query = match param {
            Param::Int(value) => query.bind(*value),
            Param::Text(text) => query.bind(text.as_str()),
        };
    }
    let found = query.fetch_all(pool).await?;
    let rows = found
        .iter()
        .take(keep)
        .map(|row| {
            decode(
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
                row.try_get(5)?,
            )
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((rows, found.len() > keep))
}

/// Read-only connections to one database file.
pub(super) struct Readers {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    /// `count` connections to `path`; `pragmas` run on each (e.g. `PRAGMA cache_size = -8192`).
    pub(super) fn open(path: &Path, count: usize, pragmas: &[String]) -> StoreResult<Self> {
        let connections = (0..count.max(1))
            .map(|_| Connection::open(path, pragmas).map(Mutex::new))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `work` on a free connection (or waits for one when all are busy).
    pub(super) fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let count = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for offset in 0..count {
            if let Ok(mut connection) = self.connections[(start + offset) % count].try_lock() {
                return work(&mut connection);
            }
        }
        let mut connection = self.connections[start % count]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        work(&mut connection)
    }
}

/// Distinct statements a connection keeps prepared (list queries differ by their filters).
const CACHED_STATEMENTS: usize = 128;

pub(super) struct Connection {
    connection: rusqlite::Connection,
}

impl Connection {
    fn open(path: &Path, pragmas: &[String]) -> StoreResult<Self> {
        let connection = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| {
            StoreError::Unavailable(format!(
                "cannot open {}: {}",
                path.display(),
                message(&error)
            ))
        })?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(to_store)?;
        connection.set_prepared_statement_cache_capacity(CACHED_STATEMENTS);
        let connection = Self { connection };
        for pragma in pragmas {
            connection
                .connection
                .execute_batch(pragma)
                .map_err(to_store)?;
        }
        Ok(connection)
    }

    #[cfg(test)]
    fn execute(&mut self, sql: &str) -> StoreResult<()> {
        self.query(sql, &[], |_| Ok(true))
    }

    /// Runs `sql` with `params`, handing each row to `row` until it returns `false`. The
    /// statement is reset afterwards whatever happens, which ends its read transaction.
    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[Param],
        mut row: impl FnMut(&Row<'_>) -> StoreResult<bool>,
    ) -> StoreResult<()> {
        let mut statement = self.connection.prepare_cached(sql).map_err(to_store)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(to_store)?;
        while let Some(current) = rows.next().map_err(to_store)? {
            if !row(&Row(current))? {
                break;
            }
        }
        Ok(())
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(value) => ToSqlOutput::Borrowed(ValueRef::Integer(*value)),
            Param::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        })
    }
}

/// SQLite's message, without rusqlite's wording around it.
fn message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(failure, Some(text)) => {
            format!("(code: {}) {text}", failure.extended_code)
        }
        other => other.to_string(),
    }
}

fn to_store(error: rusqlite::Error) -> StoreError {
    let text = format!("error returned from database: {}", message(&error));
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(text)
        }
        _ => StoreError::Internal(text),
    }
}

/// The current row of a running statement; its text is valid while the row is. Values are
/// converted as SQLite's `sqlite3_column_*` convert them (NULL reads as 0).
pub(super) struct Row<'a>(&'a rusqlite::Row<'a>);

impl Row<'_> {
    fn value(&self, column: usize) -> ValueRef<'_> {
        self.0.get_ref(column).unwrap_or(ValueRef::Null)
    }

    pub(super) fn int(&self, column: usize) -> i64 {
        match self.value(column) {
            ValueRef::Integer(value) => value,
            #[allow(clippy::cast_possible_truncation, reason = "as SQLite converts a REAL")]
            ValueRef::Real(value) => value as i64,
            ValueRef::Text(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(0),
            ValueRef::Null | ValueRef::Blob(_) => 0,
        }
    }

    pub(super) fn is_null(&self, column: usize) -> bool {
        matches!(self.value(column), ValueRef::Null)
    }

    pub(super) fn double(&self, column: usize) -> f64 {
        match self.value(column) {
            ValueRef::Real(value) => value,
            #[allow(clippy::cast_precision_loss, reason = "as SQLite converts an INTEGER")]
            ValueRef::Integer(value) => value as f64,
            ValueRef::Text(text) => std::str::from_utf8(text)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(0.0),
            ValueRef::Null | ValueRef::Blob(_) => 0.0,
        }
    }

    pub(super) fn text(&self, column: usize) -> StoreResult<&str> {
        let bytes = match self.value(column) {
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => bytes,
            ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => &[][..],
        };
        std::str::from_utf8(bytes)
            .map_err(|error| StoreError::Internal(format!("stored text is not UTF-8: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_and_reports_errors() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("fast.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE t (n INTEGER, s TEXT, r REAL); \
                 INSERT INTO t VALUES (1, 'one', 0.5), (2, 'två', -1.25);",
            )
            .unwrap();
        let readers = Readers::open(&path, 2, &["PRAGMA cache_size = -1024".into()]).unwrap();
        let mut seen = Vec::new();
        readers
            .with(|connection| {
                connection.query(
                    "SELECT n, s, r FROM t WHERE n >= ? AND s <> ? ORDER BY n",
                    &[Param::Int(1), Param::Text("zzz".into())],
                    |row| {
                        seen.push((row.int(0), row.text(1)?.to_owned(), row.double(2)));
                        Ok(true)
                    },
                )
            })
            .unwrap();
        assert_eq!(
            seen,
            vec![(1, "one".to_owned(), 0.5), (2, "två".to_owned(), -1.25)]
        );
        let error = readers
            .with(|connection| connection.query("SELECT nope FROM t", &[], |_| Ok(true)))
            .unwrap_err();
        assert!(error.to_string().contains("no such column"), "{error}");
        let written = readers.with(|connection| connection.execute("DELETE FROM t"));
        assert!(written.is_err(), "read-only");
    }
}
