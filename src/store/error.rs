//! The storage layer's errors. It names what went wrong; the api layer alone picks gRPC codes.

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
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("storage failure: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(error.to_string())
            }
            sqlx::Error::Database(database) if is_busy(database.code().as_deref()) => {
                Self::Unavailable(error.to_string())
            }
            _ => Self::Internal(error.to_string()),
        }
    }
}

/// SQLite's BUSY/LOCKED and PostgreSQL's connection-class codes: worth a retry, not a bug.
fn is_busy(code: Option<&str>) -> bool {
    matches!(code, Some("5" | "6" | "517" | "262"))
        || code.is_some_and(|code| code.starts_with("08") || code == "57P01")
}
