//! What the store keeps for digests: the run ledger, published digests, subscriptions and
//! the delivery outbox.

use chrono::{DateTime, NaiveDate, Utc};

use crate::digest::Digest;
use crate::domain::subscription::{Delivery, Subscription};
use crate::store::Stored;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    Pending,
    Running,
    Done,
    Failed,
}

impl RunState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "pending" => Some(Self::Pending),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The ledger entry of one kind and day.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestRun {
    pub kind: String,
    pub date: NaiveDate,
    pub state: RunState,
    pub attempts: i32,
    pub start_time: Option<DateTime<Utc>>,
    pub finish_time: Option<DateTime<Utc>>,
    pub error: String,
    pub trigger: String,
    pub lease_until: Option<DateTime<Utc>>,
    pub next_attempt_time: Option<DateTime<Utc>>,
}

/// A request to compile a day: who asks, for how long it may hold the day.
#[derive(Debug, Clone)]
pub struct RunClaim {
    /// Unique per process; only the holder may finish the run.
    pub owner: String,
    pub lease: chrono::Duration,
    /// Compile again even if the day is done.
    pub force: bool,
    /// `schedule`, `catch-up` or `api`.
    pub trigger: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller holds the day until its lease runs out.
    Claimed { attempt: i32 },
    /// The day is compiled and `force` was not asked.
    AlreadyDone,
    /// Another compiler holds an unexpired lease.
    Busy,
}

/// A digest as committed: the compiled content and its revision.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedDigest {
    pub digest: Digest,
    pub revision: i64,
    pub compile_time: DateTime<Utc>,
    /// Position in the publication log; WatchDigests cursors point here.
    pub publication: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DigestFilter {
    pub kind: Option<String>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RunFilter {
    pub kind: Option<String>,
    pub state: Option<RunState>,
}

/// A delivery handed to a worker, with everything needed to attempt it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub subscription: Stored<Subscription>,
    /// The digest revision exactly as published.
    pub digest: PublishedDigest,
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Succeeded {
        result: String,
    },
    /// Try again at `at` (backoff, or the receiver's Retry-After).
    Retry {
        result: String,
        at: DateTime<Utc>,
    },
    /// No more tries: dead letter.
    Dead {
        result: String,
    },
    /// The receiver is gone for good (410): dead letter, and the subscription is disabled.
    Gone {
        result: String,
    },
}
