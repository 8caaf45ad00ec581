//! What the store keeps for digests: the run ledger, published digests, subscriptions and
//! the delivery outbox.

use chrono::{DateTime, NaiveDate, Utc};

use crate::digest::{Digest, Dyad};
use crate::domain::Stored;
use crate::domain::subscription::{Delivery, Subscription};
use crate::store::Page;

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

/// How a digest's per-pair table is ordered (ListDigestDyads); ties go by pair, alphabetically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DyadOrder {
    /// By absolute net, largest first.
    #[default]
    Net,
    /// By conflict, largest first.
    Conflict,
    /// By absolute z-score, largest first; pairs without one last.
    Z,
}

impl DyadOrder {
    pub const ALL: [Self; 3] = [Self::Net, Self::Conflict, Self::Z];

    pub fn code(self) -> &'static str {
        match self {
            Self::Net => "net",
            Self::Conflict => "conflict",
            Self::Z => "z",
        }
    }

    /// `net`, `conflict` or `z`; empty means `net`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "" => Ok(Self::Net),
            _ => Self::ALL
                .into_iter()
                .find(|order| order.code() == raw)
                .ok_or_else(|| format!("{raw:?} is not an order: use net, conflict or z")),
        }
    }
}

/// A pair as the per-pair table stores it: `AAA-BBB`, the codes in alphabetical order.
pub fn pair_key(dyad: &Dyad) -> String {
    format!("{}-{}", dyad.countries[0], dyad.countries[1])
}

/// Each dyad's position (from 1) in each [`DyadOrder`], in the order of [`DyadOrder::ALL`].
/// The table stores them beside the values they follow from, so that both backends page the
/// same order with a plain integer position, whatever their float and NULL orderings.
pub fn dyad_ranks(dyads: &[Dyad]) -> Vec<[i64; 3]> {
    let keys: Vec<String> = dyads.iter().map(pair_key).collect();
    let mut ranks = vec![[0_i64; 3]; dyads.len()];
    for (slot, order) in DyadOrder::ALL.into_iter().enumerate() {
        let mut positions: Vec<usize> = (0..dyads.len()).collect();
        positions.sort_by(|&a, &b| {
            let (first, second) = (&dyads[a], &dyads[b]);
            let by_value = match order {
                DyadOrder::Net => second.net.abs().total_cmp(&first.net.abs()),
                DyadOrder::Conflict => second.conflict.total_cmp(&first.conflict),
                DyadOrder::Z => match (first.z_score, second.z_score) {
                    (Some(x), Some(y)) => y.abs().total_cmp(&x.abs()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            };
            by_value.then_with(|| keys[a].cmp(&keys[b]))
        });
        for (rank, position) in positions.into_iter().enumerate() {
            ranks[position][slot] = i64::try_from(rank).unwrap_or(i64::MAX - 1) + 1;
        }
    }
    ranks
}

/// One page of a digest's per-pair table.
#[derive(Debug, Clone)]
pub struct DyadPage {
    pub page: Page<Dyad>,
    /// Pairs in the whole table.
    pub total_size: u64,
}
