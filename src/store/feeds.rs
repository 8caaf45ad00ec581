//! What the store keeps for feeds: the file ledger, one row per file a feed listed, which
//! decides that each file is imported once, also across replicas sharing PostgreSQL (a claim
//! with a lease, judged by the database's clock, as the digest run ledger does).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedFileState {
    /// A poller holds the file until its lease runs out.
    Claimed,
    /// Downloaded, checked and imported.
    Imported,
    /// The latest attempt failed; due again at `next_attempt_time`.
    Failed,
}

impl FeedFileState {
    pub const ALL: [Self; 3] = [Self::Claimed, Self::Imported, Self::Failed];

    pub fn code(self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Imported => "imported",
            Self::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.code() == code)
    }
}

/// A file as a feed's list gives it: where it is, when it was published (the time in its
/// name), how large it is and its MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub url: String,
    /// The last segment of the URL, e.g. `20250106143000.export.CSV.zip`.
    pub file_name: String,
    pub file_time: DateTime<Utc>,
    pub size_bytes: u64,
    /// 32 lowercase hex digits.
    pub md5: String,
}

/// A request to import a file: who asks (unique per process) and for how long it may hold it.
#[derive(Debug, Clone)]
pub struct FeedFileClaim {
    pub feed: String,
    pub file: ListedFile,
    pub owner: String,
    pub lease: chrono::Duration,
}

/// What an import of a file read, stored and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedFileCounts {
    pub rows_read: u64,
    pub rows_imported: u64,
    pub rows_skipped: u64,
}

/// The ledger entry of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedFile {
    pub feed: String,
    pub file: ListedFile,
    pub state: FeedFileState,
    pub counts: FeedFileCounts,
    pub attempts: i32,
    /// Why the latest attempt failed; empty once imported.
    pub error: String,
    pub next_attempt_time: Option<DateTime<Utc>>,
    /// The process that holds (or last held) the file.
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub import_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FeedFileFilter {
    pub feed: String,
    pub state: Option<FeedFileState>,
}

/// The ledger as `/metrics` reports it: files by state, and the newest imported file's time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedStats {
    pub by_state: Vec<(String, i64)>,
    pub newest_imported: Option<DateTime<Utc>>,
}

/// A page position that sorts as the list does (newest file first): the file's time in
/// seconds, then its row.
pub fn file_position(file_time_seconds: i64, seq: i64) -> i64 {
    file_time_seconds
        .saturating_mul(POSITION_SPAN)
        .saturating_add(seq % POSITION_SPAN)
}

/// Rows per second of file time in a position: far more than the ledger will ever hold.
pub const POSITION_SPAN: i64 = 1_000_000_000;
