//! Compiles one (kind, day) exactly once: claim it in the run ledger, read the inputs,
//! compile, and commit the digest, the ledger row and the deliveries together.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use tokio::sync::{Notify, broadcast};

use crate::digest::{self, Alliance, Digest, Inputs, TRAILING_DAYS, TrailingNets};
use crate::store::digests::{ClaimOutcome, PublishedDigest, RunClaim};
use crate::store::{Store, StoreError};

/// How a compilation was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    CatchUp,
    Api,
}

impl Trigger {
    pub fn code(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::CatchUp => "catch-up",
            Self::Api => "api",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("digest {kind}-{date} is being compiled by another worker")]
    Busy { kind: String, date: NaiveDate },
}

/// The settings a compilation needs besides the items.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Zone of each configured kind; other kinds use `default_time_zone`.
    pub time_zones: Vec<(String, Tz)>,
    pub default_time_zone: Tz,
    pub alliances: Vec<Alliance>,
    /// How long a claim holds a day before another compiler may take it over.
    pub lease: Duration,
    /// How long a caller waits for a day another compiler holds.
    pub wait: Duration,
}

/// Shared by the schedule and the API, so both go through the same ledger.
pub struct Runner {
    store: Arc<dyn Store>,
    settings: RunnerSettings,
    /// Unique per process; each claim adds its own suffix, and only its holder may finish it.
    owner: String,
    published: broadcast::Sender<i64>,
    deliveries_queued: Arc<Notify>,
}

impl Runner {
    pub fn new(
        store: Arc<dyn Store>,
        settings: RunnerSettings,
        deliveries_queued: Arc<Notify>,
    ) -> Self {
        let (published, _) = broadcast::channel(64);
        store.forward_publications(published.clone());
        Self {
            store,
            settings,
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            published,
            deliveries_queued,
        }
    }

    /// Publication positions as they are committed, by this process or (where the store
    /// forwards them) by other replicas.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.published.subscribe()
    }

    pub fn time_zone(&self, kind: &str) -> Tz {
        self.settings
            .time_zones
            .iter()
            .find(|(configured, _)| configured == kind)
            .map_or(self.settings.default_time_zone, |(_, zone)| *zone)
    }

    /// Compiles the day unless it is done (and not `force`d). When another compiler holds the
    /// day, waits for it and returns its digest.
    pub async fn compile_day(
        &self,
        kind: &str,
        day: NaiveDate,
        force: bool,
        deliver: bool,
        trigger: Trigger,
    ) -> Result<PublishedDigest, RunError> {
        // Per call, not per process: two calls for one day in this process must exclude each
        // other as two replicas do.
        let owner = format!("{}-{}", self.owner, uuid::Uuid::now_v7().simple());
        let mut claim = RunClaim {
            owner: owner.clone(),
            lease: chrono::Duration::from_std(self.settings.lease)
                .unwrap_or(chrono::Duration::seconds(60)),
            force,
            trigger: trigger.code().to_owned(),
        };
        let deadline = tokio::time::Instant::now() + self.settings.wait;
        loop {
            match self.store.claim_run(kind, day, &claim).await? {
                ClaimOutcome::Claimed { attempt } => {
                    tracing::info!(kind, day = %day, attempt, trigger = trigger.code(), "compiling digest");
                    break;
                }
                ClaimOutcome::AlreadyDone => {
                    return Ok(self
                        .store
                        .get_digest(&digest::DigestName {
                            kind: kind.to_owned(),
                            date: day,
                        })
                        .await?);
                }
                ClaimOutcome::Busy => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(RunError::Busy {
                            kind: kind.to_owned(),
                            date: day,
                        });
                    }
                    // A forced compile that waited for another compiler is satisfied by its result.
                    claim.force = false;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        match self.compile(kind, day).await {
            Ok(digest) => {
                let published = self
                    .store
                    .finish_run(kind, day, &owner, &digest, deliver)
                    .await?;
                tracing::info!(digest = %digest.name(), revision = published.revision, items = digest.headline.item_count, "digest compiled");
                let _ = self.published.send(published.publication);
                if deliver {
                    self.deliveries_queued.notify_one();
                }
                Ok(published)
            }
            Err(error) => {
                tracing::warn!(kind, day = %day, %error, "digest compilation failed");
                if let Err(record) = self
                    .store
                    .fail_run(kind, day, &owner, &error.to_string(), None)
                    .await
                {
                    tracing::error!(error = %record, "cannot record the failed run");
                }
                Err(error.into())
            }
        }
    }

    async fn compile(&self, kind: &str, day: NaiveDate) -> Result<Digest, StoreError> {
        compile_from_store(
            self.store.as_ref(),
            kind,
            day,
            self.time_zone(kind),
            &self.settings.alliances,
        )
        .await
    }
}

/// Reads what a day needs from the store and compiles it off the async threads. Writes nothing.
pub async fn compile_from_store(
    store: &dyn Store,
    kind: &str,
    day: NaiveDate,
    time_zone: Tz,
    alliances: &[Alliance],
) -> Result<Digest, StoreError> {
    let trailing_start = day - chrono::Duration::days(TRAILING_DAYS);
    let horizon = day + chrono::Duration::days(7);
    // The trailing window comes as daily pair nets, not as items: its cost follows the
    // days' activity, not the size of the store (see `Store::daily_pair_nets`).
    let (items, trailing_nets, officials, trips) = tokio::try_join!(
        store.digest_items(day),
        store.daily_pair_nets(trailing_start, day - chrono::Duration::days(1)),
        store.all_officials(),
        store.trips_between(day, horizon),
    )?;
    let side = digest::Side {
        alliances: alliances.to_vec(),
        ..digest::Side::default()
    };
    let kind = kind.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut trailing = TrailingNets::new(TRAILING_DAYS);
        for net in trailing_nets {
            trailing.add(net.pair, net.date, net.net);
        }
        digest::compile(&Inputs {
            kind: &kind,
            day,
            time_zone,
            side: &side,
            items: &items,
            planned: &[],
            trailing: &trailing,
            activity: &[],
            officials: &officials,
            trips: &trips,
        })
        .digest
    })
    .await
    .map_err(|error| StoreError::Internal(format!("digest compiler stopped: {error}")))
}
