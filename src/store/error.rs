//! The storage layer's errors. It names what went wrong; the api layer alone picks gRPC codes.
//!
//! A failure of the database driver keeps the driver's error as its source, so a caller can
//! still look at it (`std::error::Error::source`, then downcast to `sqlx::Error`). Its text is
//! also in the message, as before: the run ledger records failures with `to_string()` and logs
//! print errors with `%`, so the message alone must say what happened.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{resource} does not exist")]
    NotFound { resource: String },
    #[error("{resource} already exists")]
    AlreadyExists { resource: String },
    /// The caller's revision or etag is not the stored one.
    #[error("{resource} was changed since it was read")]
    Stale { resource: String },
    /// Other resources still name this one.
    #[error("{resource} is still referred to by {count} {referrers}")]
    Referenced {
        resource: String,
        count: i64,
        referrers: &'static str,
    },
    /// A field names a resource that does not exist, or a leg the trip does not have.
    #[error("{field}: {description}")]
    BadReference { field: String, description: String },
    /// A worker is attempting it right now.
    #[error("{resource} is being attempted right now")]
    InFlight { resource: String },
    /// The database cannot be reached or is busy: worth a retry, not a bug.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// What the store found makes no sense (a corrupt row, a value it cannot encode).
    #[error("storage failure: {0}")]
    Internal(String),
    /// The driver could not reach the database, or the database was busy.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// The database refuses writes: the file (or its file system) is read-only.
    #[error("the database is read-only: {0}")]
    ReadOnly(String),
    /// The driver or the database refused a statement.
    #[error("storage failure: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database) = &error
            && is_read_only(database.code().as_deref())
        {
            return Self::ReadOnly(error.to_string());
        }
        let unavailable = match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(database) => is_busy(database.code().as_deref()),
            _ => false,
        };
        if unavailable {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Database(error)
        }
    }
}

/// SQLite's READONLY, whatever its extended code (8, 264, 520, …: the low byte is 8), and
/// PostgreSQL's `read_only_sql_transaction` (a hot standby, or `default_transaction_read_only`).
fn is_read_only(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        code == "25006" || code.parse::<i32>().is_ok_and(|number| number & 0xff == 8)
    })
}

/// SQLite's BUSY/LOCKED and PostgreSQL's connection-class codes: worth a retry, not a bug.
fn is_busy(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "517" | "262"))
        || code.is_some_and(|code| code.starts_with("08") || code == "57P01")
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::StoreError;

    #[test]
    fn a_driver_error_keeps_its_source_and_its_message() {
        let error = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(error, StoreError::Database(_)));
        let source = error.source().expect("the driver's error is the source");
        assert!(source.downcast_ref::<sqlx::Error>().is_some());
        assert_eq!(
            error.to_string(),
            format!("storage failure: {}", sqlx::Error::RowNotFound)
        );
        let unavailable = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(unavailable, StoreError::DatabaseUnavailable(_)));
        assert!(unavailable.source().is_some());
    }
}
