//! The hot reads (a resource by id, a page of agenda items, a day's items for the digest),
//! run through the SQLite C API on the calling thread.
//!
//! sqlx gives every SQLite connection a thread of its own and hands each statement and each
//! row across threads; for a lookup that SQLite answers from its page cache in microseconds,
//! those hand-offs (futex wake-ups, context switches) cost several times the lookup. These
//! connections are read-only, each behind a mutex that is held only while one statement runs
//! (never across an `.await`), with their prepared statements kept.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_int};
use std::path::Path;
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use libsqlite3_sys as ffi;

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

/// Runs a query selecting [`SELECT_COLUMNS`](crate::store::sql::SELECT_COLUMNS) and decodes its
/// rows: on the calling thread when `fast` readers exist, else through the sqlx pool.
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

pub(super) struct Connection {
    db: *mut ffi::sqlite3,
    statements: HashMap<String, *mut ffi::sqlite3_stmt>,
}

// SAFETY: the connection is opened with SQLITE_OPEN_NOMUTEX (multi-thread mode): it may move
// between threads as long as one thread uses it at a time, which the Mutex in `Readers`
// ensures; its statements belong to it and move with it.
unsafe impl Send for Connection {}

impl Connection {
    fn open(path: &Path, pragmas: &[String]) -> StoreResult<Self> {
        let filename = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            StoreError::Unavailable(format!("bad database path {}", path.display()))
        })?;
        let mut db = ptr::null_mut();
        // SAFETY: a valid C string and out-pointer; on failure the handle is closed below.
        let code = unsafe {
            ffi::sqlite3_open_v2(
                filename.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READONLY | ffi::SQLITE_OPEN_NOMUTEX,
                ptr::null(),
            )
        };
        let mut connection = Self {
            db,
            statements: HashMap::new(),
        };
        if code != ffi::SQLITE_OK {
            let error = connection.error(code);
            return Err(StoreError::Unavailable(format!(
                "cannot open {}: {error}",
                path.display()
            )));
        }
        // SAFETY: an open handle.
        unsafe {
            ffi::sqlite3_busy_timeout(connection.db, 5_000);
        }
        for pragma in pragmas {
            connection.execute(pragma)?;
        }
        Ok(connection)
    }

    fn error(&self, code: c_int) -> StoreError {
        // SAFETY: errmsg is valid until the next call on this handle; copied at once.
        let message = unsafe {
            let text = ffi::sqlite3_errmsg(self.db);
            if text.is_null() {
                String::from("unknown error")
            } else {
                CStr::from_ptr(text).to_string_lossy().into_owned()
            }
        };
        let message = format!("error returned from database: (code: {code}) {message}");
        match code & 0xff {
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => StoreError::Unavailable(message),
            _ => StoreError::Internal(message),
        }
    }

    fn execute(&mut self, sql: &str) -> StoreResult<()> {
        self.query(sql, &[], |_| Ok(true))
    }

    fn statement(&mut self, sql: &str) -> StoreResult<*mut ffi::sqlite3_stmt> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(*statement);
        }
        let mut statement = ptr::null_mut();
        let length = c_int::try_from(sql.len())
            .map_err(|_| StoreError::Internal("statement too long".into()))?;
        // SAFETY: the SQL text is valid for `length` bytes; the out-pointer is valid.
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db,
                sql.as_ptr().cast(),
                length,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut statement,
                ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(self.error(code));
        }
        // Keep the statements of a bounded number of distinct queries (list queries differ by
        // their filters); beyond that, start over.
        if self.statements.len() >= 128 {
            for (_, old) in self.statements.drain() {
                // SAFETY: statements of this connection, not in use (the caller holds it).
                unsafe {
                    ffi::sqlite3_finalize(old);
                }
            }
        }
        self.statements.insert(sql.to_owned(), statement);
        Ok(statement)
    }

    /// Runs `sql` with `params`, handing each row to `row` until it returns `false`. The
    /// statement is reset afterwards whatever happens, which ends its read transaction.
    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[Param],
        mut row: impl FnMut(&Row<'_>) -> StoreResult<bool>,
    ) -> StoreResult<()> {
        let statement = self.statement(sql)?;
        let reset = Reset(statement);
        for (index, param) in params.iter().enumerate() {
            let position = c_int::try_from(index + 1)
                .map_err(|_| StoreError::Internal("too many parameters".into()))?;
            // SAFETY: the statement is live; text stays borrowed until `reset` runs (STATIC).
            let code = unsafe {
                match param {
                    Param::Int(value) => ffi::sqlite3_bind_int64(statement, position, *value),
                    Param::Text(text) => ffi::sqlite3_bind_text(
                        statement,
                        position,
                        text.as_ptr().cast(),
                        c_int::try_from(text.len())
                            .map_err(|_| StoreError::Internal("parameter too long".into()))?,
                        ffi::SQLITE_STATIC(),
                    ),
                }
            };
            if code != ffi::SQLITE_OK {
                return Err(self.error(code));
            }
        }
        loop {
            // SAFETY: a live, bound statement.
            match unsafe { ffi::sqlite3_step(statement) } {
                ffi::SQLITE_ROW => {
                    if !row(&Row {
                        statement,
                        _connection: std::marker::PhantomData,
                    })? {
                        break;
                    }
                }
                ffi::SQLITE_DONE => break,
                code => return Err(self.error(code)),
            }
        }
        drop(reset);
        Ok(())
    }
}

/// Resets and unbinds a statement when dropped.
struct Reset(*mut ffi::sqlite3_stmt);

impl Drop for Reset {
    fn drop(&mut self) {
        // SAFETY: a live statement of a connection the caller holds.
        unsafe {
            ffi::sqlite3_reset(self.0);
            ffi::sqlite3_clear_bindings(self.0);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: this connection's statements and handle, used by no one else now.
        unsafe {
            for (_, statement) in self.statements.drain() {
                ffi::sqlite3_finalize(statement);
            }
            ffi::sqlite3_close(self.db);
        }
    }
}

/// The current row of a running statement; its text is valid while the row is.
pub(super) struct Row<'a> {
    statement: *mut ffi::sqlite3_stmt,
    _connection: std::marker::PhantomData<&'a mut Connection>,
}

impl Row<'_> {
    pub(super) fn int(&self, column: c_int) -> i64 {
        // SAFETY: a row of a live statement.
        unsafe { ffi::sqlite3_column_int64(self.statement, column) }
    }

    pub(super) fn is_null(&self, column: c_int) -> bool {
        // SAFETY: a row of a live statement.
        unsafe { ffi::sqlite3_column_type(self.statement, column) == ffi::SQLITE_NULL }
    }

    pub(super) fn double(&self, column: c_int) -> f64 {
        // SAFETY: a row of a live statement.
        unsafe { ffi::sqlite3_column_double(self.statement, column) }
    }

    pub(super) fn text(&self, column: c_int) -> StoreResult<&str> {
        // SAFETY: text then bytes, as SQLite documents; the pointer is valid until the next
        // step or reset, which cannot happen while this row is borrowed.
        let bytes = unsafe {
            let text = ffi::sqlite3_column_text(self.statement, column);
            let length = ffi::sqlite3_column_bytes(self.statement, column);
            if text.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(text, usize::try_from(length).unwrap_or(0))
            }
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
        {
            let filename = CString::new(path.to_str().unwrap()).unwrap();
            let mut db = ptr::null_mut();
            // SAFETY: test setup through the C API.
            unsafe {
                assert_eq!(
                    ffi::sqlite3_open(filename.as_ptr(), &mut db),
                    ffi::SQLITE_OK
                );
                let sql = CString::new(
                    "CREATE TABLE t (n INTEGER, s TEXT, r REAL); \
                     INSERT INTO t VALUES (1, 'one', 0.5), (2, 'två', -1.25);",
                )
                .unwrap();
                assert_eq!(
                    ffi::sqlite3_exec(db, sql.as_ptr(), None, ptr::null_mut(), ptr::null_mut()),
                    ffi::SQLITE_OK
                );
                ffi::sqlite3_close(db);
            }
        }
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
