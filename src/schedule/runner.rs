//! Compiles one (kind, day) exactly once: claim it in the run ledger, read the inputs,
//! compile, and commit the digest, the ledger row and the deliveries together.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use tokio::sync::{Notify, broadcast};

use crate::digest::{
    self, Compiled, HEADLINE_DAYS, Inputs, Side, TRAILING_DAYS, TrailingNets, UPCOMING_DAYS,
    UPCOMING_READ_LIMIT,
};
use crate::ops::Metrics;
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
    #[error("{kind:?} is not a configured digest kind")]
    UnknownKind { kind: String },
    /// The digest compiler panicked: a bug in the compiler, not a storage failure.
    #[error("digest compiler stopped: {0}")]
    CompilerStopped(#[source] tokio::task::JoinError),
}

/// What a configured digest kind compiles with besides the items.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSettings {
    /// The zone its days are reckoned in.
    pub time_zone: Tz,
    /// The desk it is written for.
    pub side: Side,
}

/// The settings a compilation needs besides the items.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Every configured kind (`daily` among them); only these compile.
    pub kinds: Vec<(String, KindSettings)>,
    /// How long a claim holds a day before another compiler may take it over.
    pub lease: Duration,
    /// How long a caller waits for a day another compiler holds.
    pub wait: Duration,
}

impl RunnerSettings {
    /// The settings of `kind`, if it is configured.
    pub fn kind(&self, kind: &str) -> Option<&KindSettings> {
        self.kinds
            .iter()
            .find(|(configured, _)| configured == kind)
            .map(|(_, settings)| settings)
    }

    pub fn is_configured(&self, kind: &str) -> bool {
        self.kind(kind).is_some()
    }
}

/// Shared by the schedule and the API, so both go through the same ledger.
pub struct Runner {
    store: Arc<dyn Store>,
    settings: RunnerSettings,
    /// Unique per process; each claim adds its own suffix, and only its holder may finish it.
    owner: String,
    published: broadcast::Sender<i64>,
    deliveries_queued: Arc<Notify>,
    /// Counts each compilation by kind and outcome, and times it.
    metrics: Arc<Metrics>,
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
            metrics: Arc::default(),
        }
    }

    /// Counts runs into `metrics` (the server's) rather than into a set of its own.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Publication positions as they are committed, by this process or (where the store
    /// forwards them) by other replicas.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.published.subscribe()
    }

    /// The settings of `kind`, if it is configured: only configured kinds compile.
    pub fn kind(&self, kind: &str) -> Option<&KindSettings> {
        self.settings.kind(kind)
    }

    /// Compiles the day unless it is done (and not `force`d). When another compiler holds the
    /// day, waits for it and returns its digest. A kind that is not configured is refused
    /// before anything is claimed or stored.
    pub async fn compile_day(
        &self,
        kind: &str,
        day: NaiveDate,
        force: bool,
        deliver: bool,
        trigger: Trigger,
    ) -> Result<PublishedDigest, RunError> {
        let Some(settings) = self.settings.kind(kind).cloned() else {
            return Err(RunError::UnknownKind {
                kind: kind.to_owned(),
            });
        };
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
        let started = std::time::Instant::now();
        let outcome = self
            .compile_claimed(kind, day, &owner, &settings, deliver)
            .await;
        self.metrics
            .record_run(kind, outcome.is_ok(), started.elapsed().as_secs_f64());
        outcome
    }

    /// Compiles and stores a day this call has claimed, or records why it failed.
    async fn compile_claimed(
        &self,
        kind: &str,
        day: NaiveDate,
        owner: &str,
        settings: &KindSettings,
        deliver: bool,
    ) -> Result<PublishedDigest, RunError> {
        match compile_from_store(
            self.store.as_ref(),
            kind,
            day,
            settings.time_zone,
            &settings.side,
        )
        .await
        {
            Ok(compiled) => {
                let published = self
                    .store
                    .finish_run(kind, day, owner, &compiled, deliver)
                    .await?;
                tracing::info!(
                    digest = %compiled.digest.name(),
                    revision = published.revision,
                    items = compiled.digest.headline.item_count,
                    pairs = compiled.dyads.len(),
                    "digest compiled"
                );
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
                    .fail_run(kind, day, owner, &error.to_string(), None)
                    .await
                {
                    tracing::error!(error = %record, "cannot record the failed run");
                }
                Err(error)
            }
        }
    }
}

/// Reads what a day needs from the store and compiles it off the async threads. Writes nothing.
/// Fails with [`RunError::Store`] when a read fails, [`RunError::CompilerStopped`] when the
/// compiler panics.
pub async fn compile_from_store(
    store: &dyn Store,
    kind: &str,
    day: NaiveDate,
    time_zone: Tz,
    side: &Side,
) -> Result<Compiled, RunError> {
    let trailing_start = day - chrono::Duration::days(TRAILING_DAYS);
    let horizon = day + chrono::Duration::days(UPCOMING_DAYS);
    // The trailing window comes as daily pair nets, not as items: its cost follows the
    // days' activity, not the size of the store (see `Store::daily_pair_nets`).
    let yesterday = day - chrono::Duration::days(1);
    let (items, planned, trailing_nets, activity, officials, trips) = tokio::try_join!(
        store.digest_items(day),
        store.planned_items_between(
            day + chrono::Duration::days(1),
            horizon,
            UPCOMING_READ_LIMIT
        ),
        store.daily_pair_nets(trailing_start, yesterday),
        store.daily_activity(day - chrono::Duration::days(HEADLINE_DAYS), yesterday),
        store.all_officials(),
        store.trips_between(day, horizon),
    )?;
    let side = side.clone();
    let kind = kind.to_owned();
    let mut compiled = tokio::task::spawn_blocking(move || {
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
            planned: &planned,
            trailing: &trailing,
            activity: &activity,
            officials: &officials,
            trips: &trips,
        })
    })
    .await
    .map_err(RunError::CompilerStopped)?;
    // The day was read lean (no titles or sources); the few items the digest cites are read
    // again in full. One deleted meanwhile stays cited by its lean reading.
    let names = digest::needing_full_items(&compiled);
    if !names.is_empty() {
        let mut full = Vec::with_capacity(names.len());
        for name in &names {
            let Ok(id) =
                crate::domain::ResourceId::parse(name.strip_prefix("agendaItems/").unwrap_or(name))
            else {
                continue;
            };
            match store.get_agenda_item(&id).await {
                Ok(item) => full.push(item),
                Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        digest::cite_in_full(&mut compiled, &full);
    }
    Ok(compiled)
}
