//! DigestService, and the one place where digests and runs cross into proto.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use prost::Message as _;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Semaphore, watch};
use tonic::{Request, Response, Status};

use super::agenda::{event_type_to_proto, status_to_proto};
use super::convert::timestamp;
use super::error::{ApiError, Resume, unknown_kind};
use super::paging::{self, Pager};
use super::pb::{self, digest_service_server::DigestService};
use super::rate_limit::{Client, CostlyCall, CostlyCalls};
use crate::digest::model::{CitedSource, parse_kind};
use crate::digest::{CitedItem, DEFAULT_KIND, DigestName, Dyad, Evidence, Headline, Line};
use crate::domain::values::{format_date, parse_date, parse_instant};
use crate::domain::{EventType, Violations};
use crate::schedule::{Runner, Trigger};
use crate::store::Store;
use crate::store::digests::{
    DigestFilter, DigestRun, DyadOrder, PublishedDigest, RunFilter, RunState, pair_key,
};

/// Publications read per round trip while replaying a WatchDigests cursor: one, as each is a
/// whole digest (up to [`LARGEST_DIGEST_BYTES`]), so that a replay from cursor "0" holds one
/// digest at a time rather than every one it has yet to send.
const REPLAY_BATCH: usize = 1;
/// Messages a WatchDigests stream holds between its reader and the connection: one, for the
/// same reason.
const WATCH_BUFFER: usize = 1;
/// The most a `Digest` message takes in FULL view (DESIGN.md: under 1 MiB whatever the day's
/// volume; `digest::cite` keeps it so).
const LARGEST_DIGEST_BYTES: usize = 1024 * 1024;
/// How often the notifier looks for digests committed by other processes, in case their
/// notice was missed (PostgreSQL's LISTEN connection down, a lagging broadcast).
const WATCH_POLL: Duration = Duration::from_secs(2);

pub struct DigestApi {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    /// Turns true when the server begins to shut down; open watches end then.
    stopping: watch::Receiver<bool>,
    /// Limits forced and delivering compilations per caller.
    costly_calls: Arc<CostlyCalls>,
    /// The newest publication position, kept by the one notifier; every watcher waits on it.
    latest: Arc<watch::Sender<i64>>,
    /// One permit per open WatchDigests stream.
    watchers: Arc<Semaphore>,
    /// The store as watchers reach it: every read counted.
    watch_reads: WatchReads,
    max_watchers: usize,
}

impl DigestApi {
    pub fn new(
        store: Arc<dyn Store>,
        runner: Arc<Runner>,
        stopping: watch::Receiver<bool>,
        costly_calls: Arc<CostlyCalls>,
        notifier: &PublicationNotifier,
        max_watchers: usize,
        watcher_reads: prometheus::IntCounter,
    ) -> Self {
        Self {
            watch_reads: WatchReads {
                store: store.clone(),
                counted: watcher_reads,
            },
            store,
            runner,
            stopping,
            costly_calls,
            latest: notifier.latest.clone(),
            watchers: Arc::new(Semaphore::new(max_watchers)),
            max_watchers,
        }
    }
}

/// The one task per process that learns of new publications, so that open WatchDigests
/// streams cost nothing while nothing is published: it hears the runner's broadcast (this
/// process's commits, and other replicas' where the store forwards them) and, while anyone
/// watches, asks the store for the newest position every [`WATCH_POLL`]. Watchers wait on the
/// position it keeps and read the store only when it moves.
pub struct PublicationNotifier {
    latest: Arc<watch::Sender<i64>>,
    task: tokio::task::JoinHandle<()>,
}

/// The two store reads WatchDigests makes, each counted (`briefing_watch_store_reads_total`):
/// watchers and the notifier reach the store only through this, so `/metrics` shows that an
/// idle watcher reads nothing and the notifier's poll is one read per [`WATCH_POLL`].
#[derive(Clone)]
struct WatchReads {
    store: Arc<dyn Store>,
    counted: prometheus::IntCounter,
}

impl WatchReads {
    async fn latest_publication(&self) -> crate::store::StoreResult<i64> {
        self.counted.inc();
        self.store.latest_publication().await
    }

    async fn publications_after(
        &self,
        cursor: i64,
        kind: Option<&str>,
        limit: usize,
    ) -> crate::store::StoreResult<Vec<PublishedDigest>> {
        self.counted.inc();
        self.store.publications_after(cursor, kind, limit).await
    }
}

impl PublicationNotifier {
    pub fn start(store: Arc<dyn Store>, runner: &Runner, reads: prometheus::IntCounter) -> Self {
        let store = WatchReads {
            store,
            counted: reads,
        };
        let latest = Arc::new(watch::Sender::new(0_i64));
        let mut published = runner.subscribe();
        let sender = latest.clone();
        let raise = move |position: i64| {
            sender.send_if_modified(|latest| {
                let newer = position > *latest;
                if newer {
                    *latest = position;
                }
                newer
            });
        };
        let watched = latest.clone();
        let task = tokio::spawn(async move {
            let mut poll = tokio::time::interval(WATCH_POLL);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    received = published.recv() => match received {
                        Ok(position) => raise(position),
                        Err(RecvError::Lagged(_)) => {
                            if let Ok(position) = store.latest_publication().await {
                                raise(position);
                            }
                        }
                        Err(RecvError::Closed) => return,
                    },
                    _ = poll.tick() => {
                        if watched.receiver_count() > 0
                            && let Ok(position) = store.latest_publication().await
                        {
                            raise(position);
                        }
                    }
                }
            }
        });
        Self { latest, task }
    }

    /// Stops the task (the server has stopped).
    pub fn stop(&self) {
        self.task.abort();
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchDigestsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DigestService for DigestApi {
    async fn get_digest(
        &self,
        request: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let name = violations.check("name", DigestName::parse(&request.name));
        let view = violations.check("view", View::parse(request.view, View::Full));
        let (Some(name), Some(view)) = (name, view) else {
            return Err(ApiError::InvalidArgument(violations).into());
        };
        let published = self.store.get_digest(&name).await.map_err(ApiError::from)?;
        Ok(Response::new(paging::sendable(
            "GetDigest",
            to_proto(&published, view),
        )?))
    }

    async fn list_digests(
        &self,
        request: Request<pb::ListDigestsRequest>,
    ) -> Result<Response<pb::ListDigestsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let filter = DigestFilter {
            kind: optional(&request.kind, "kind", parse_kind, &mut violations),
            from_date: optional(&request.from_date, "from_date", parse_date, &mut violations),
            to_date: optional(&request.to_date, "to_date", parse_date, &mut violations),
        };
        let view = violations.check("view", View::parse(request.view, View::Basic));
        let Some(view) = view else {
            return Err(ApiError::InvalidArgument(violations).into());
        };
        violations
            .finish(|| ())
            .map_err(ApiError::InvalidArgument)?;
        // The view changes what a page holds, not which digests: a token serves either view.
        let pager = Pager::new(
            "ListDigests",
            request.page_size,
            &request.page_token,
            &filter,
        )?;
        // Full digests are read a few at a time: a page of them would otherwise hold up to
        // the page size's worth of megabytes before it is cut to one response.
        let pager = match view {
            View::Full => pager.reading_at_most(paging::max_message_bytes() / LARGEST_DIGEST_BYTES),
            View::Basic => pager,
        };
        let page = pager
            .fill(
                |page| self.store.list_digests(&filter, page),
                |published| Ok(to_proto(&published, view)),
            )
            .await?;
        Ok(Response::new(pb::ListDigestsResponse {
            digests: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn compile_digest(
        &self,
        request: Request<pb::CompileDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let client = Client::of(&request);
        let request = request.into_inner();
        let mut violations = Violations::new();
        let kind = if request.kind.is_empty() {
            Some(DEFAULT_KIND.to_owned())
        } else {
            violations.check("kind", parse_kind(&request.kind))
        };
        let kind = kind.and_then(|kind| {
            if self.runner.kind(&kind).is_some() {
                Some(kind)
            } else {
                violations.add("kind", unknown_kind(&kind));
                None
            }
        });
        let date = violations.check("date", parse_date(&request.date));
        let (Some(kind), Some(date)) = (kind, date) else {
            return Err(ApiError::InvalidArgument(violations).into());
        };
        if request.force || request.deliver {
            self.costly_calls.check(CostlyCall::CompileDigest, client)?;
        }
        let published = self
            .runner
            .compile_day(&kind, date, request.force, request.deliver, Trigger::Api)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(paging::sendable(
            "CompileDigest",
            to_proto(&published, View::Full),
        )?))
    }

    type WatchDigestsStream = WatchStream;

    async fn watch_digests(
        &self,
        request: Request<pb::WatchDigestsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let request = request.into_inner();
        let kind = if request.kind.is_empty() {
            None
        } else {
            Some(parse_kind(&request.kind).map_err(|problem| ApiError::invalid("kind", problem))?)
        };
        let view = View::parse(request.view, View::Full)
            .map_err(|problem| ApiError::invalid("view", problem))?;
        // Held by the stream's task: the place is free again when the stream ends.
        let place =
            self.watchers
                .clone()
                .try_acquire_owned()
                .map_err(|_| ApiError::TooManyWatchers {
                    limit: self.max_watchers,
                })?;
        // Subscribe before reading the cursor so nothing committed in between is missed.
        let mut latest = self.latest.subscribe();
        let mut cursor = if request.cursor.is_empty() {
            self.watch_reads
                .latest_publication()
                .await
                .map_err(ApiError::from)?
        } else {
            request
                .cursor
                .parse::<i64>()
                .ok()
                .filter(|cursor| *cursor >= 0)
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this service issued"))?
        };
        let store = self.watch_reads.clone();
        let mut stopping = self.stopping.clone();
        let max_message_bytes = paging::max_message_bytes();
        let stream = async_stream(move |sender| async move {
            let _place = place;
            loop {
                // Whatever is published after this is news, even while the batch is read.
                latest.mark_unchanged();
                let batch = match store
                    .publications_after(cursor, kind.as_deref(), REPLAY_BATCH)
                    .await
                {
                    Ok(batch) => batch,
                    Err(error) => {
                        let _ = sender.send(Err(Status::from(ApiError::from(error)))).await;
                        return;
                    }
                };
                let full = batch.len() == REPLAY_BATCH;
                for item in batch {
                    cursor = item.publication;
                    let message = pb::WatchDigestsResponse {
                        digest: Some(to_proto(&item, view)),
                        cursor: item.publication.to_string(),
                    };
                    drop(item);
                    // A digest no message can carry ends the stream with an error that names
                    // it and gives the cursor that watches past it.
                    let size = message.encoded_len();
                    if let (true, Some(digest)) = (size > max_message_bytes, &message.digest) {
                        let error = paging::too_large(
                            "WatchDigests",
                            digest,
                            size,
                            max_message_bytes,
                            Resume::Cursor(message.cursor.clone()),
                        );
                        let _ = sender.send(Err(Status::from(error))).await;
                        return;
                    }
                    if sender.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    changed = latest.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    () = sender.closed() => return,
                    () = async { drop(stopping.wait_for(|stopped| *stopped).await) } => {
                        let going = Status::unavailable(
                            "the server is shutting down: watch again from the last cursor",
                        );
                        let _ = sender.send(Err(going)).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(stream))
    }

    async fn list_digest_dyads(
        &self,
        request: Request<pb::ListDigestDyadsRequest>,
    ) -> Result<Response<pb::ListDigestDyadsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let parent = violations.check("parent", DigestName::parse(&request.parent));
        let order = violations.check("order_by", DyadOrder::parse(request.order_by.trim()));
        let (Some(parent), Some(order)) = (parent, order) else {
            return Err(ApiError::InvalidArgument(violations).into());
        };
        // A page token is bound to the digest and the order.
        let query = (&parent, order);
        // The count of the first read: a page read in several rounds reports one.
        let total_size = std::sync::OnceLock::new();
        let (store, digest, total) = (&self.store, &parent, &total_size);
        let page = Pager::new(
            "ListDigestDyads",
            request.page_size,
            &request.page_token,
            &query,
        )?
        .fill(
            move |page| async move {
                let found = store.list_digest_dyads(digest, order, page).await?;
                let _ = total.set(found.total_size);
                Ok(found.page)
            },
            |dyad| Ok(dyad_to_proto(&dyad, &parent)),
        )
        .await?;
        Ok(Response::new(pb::ListDigestDyadsResponse {
            dyads: page.items,
            next_page_token: page.next_page_token,
            total_size: total_size
                .get()
                .map_or(0, |total| i64::try_from(*total).unwrap_or(i64::MAX)),
        }))
    }

    async fn list_digest_runs(
        &self,
        request: Request<pb::ListDigestRunsRequest>,
    ) -> Result<Response<pb::ListDigestRunsResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let state = match pb::DigestRunState::try_from(request.state) {
            Ok(pb::DigestRunState::Unspecified) => None,
            Ok(pb::DigestRunState::Pending) => Some(RunState::Pending),
            Ok(pb::DigestRunState::Running) => Some(RunState::Running),
            Ok(pb::DigestRunState::Done) => Some(RunState::Done),
            Ok(pb::DigestRunState::Failed) => Some(RunState::Failed),
            Err(_) => {
                violations.add("state", format!("{} is not a run state", request.state));
                None
            }
        };
        let filter = RunFilter {
            kind: optional(&request.kind, "kind", parse_kind, &mut violations),
            state,
        };
        violations
            .finish(|| ())
            .map_err(ApiError::InvalidArgument)?;
        let page = Pager::new(
            "ListDigestRuns",
            request.page_size,
            &request.page_token,
            &filter,
        )?
        .fill(
            |page| self.store.list_runs(&filter, page),
            |run| Ok(run_to_proto(&run)),
        )
        .await?;
        Ok(Response::new(pb::ListDigestRunsResponse {
            digest_runs: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}

/// A stream fed by a task; the task stops when the client goes away.
fn async_stream<F, Fut>(producer: F) -> WatchStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<pb::WatchDigestsResponse, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(WATCH_BUFFER);
    tokio::spawn(producer(sender));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

fn optional<T>(
    raw: &str,
    field: &str,
    parse: impl Fn(&str) -> Result<T, String>,
    violations: &mut Violations,
) -> Option<T> {
    if raw.is_empty() {
        None
    } else {
        violations.check(field, parse(raw))
    }
}

/// How much of a digest a response carries (AIP-157).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Name, kind, date, time zone, perspective, headline, compile time and revision.
    Basic,
    /// Also the sections, the cited items and the Markdown.
    Full,
}

impl View {
    /// The request's view; unset takes the method's `default`.
    fn parse(raw: i32, default: Self) -> Result<Self, String> {
        match pb::DigestView::try_from(raw) {
            Ok(pb::DigestView::Unspecified) => Ok(default),
            Ok(pb::DigestView::Basic) => Ok(Self::Basic),
            Ok(pb::DigestView::Full) => Ok(Self::Full),
            Err(_) => Err(format!("{raw} is not a digest view: use BASIC or FULL")),
        }
    }
}

pub fn to_proto(published: &PublishedDigest, view: View) -> pb::Digest {
    let digest = &published.digest;
    let basic = pb::Digest {
        name: digest.name().to_string(),
        kind: digest.kind.clone(),
        date: format_date(digest.date),
        time_zone: digest.time_zone.clone(),
        perspective: digest.perspective.clone(),
        headline: Some(headline_to_proto(&digest.headline)),
        compile_time: Some(timestamp(published.compile_time)),
        revision: published.revision,
        ..Default::default()
    };
    if view == View::Basic {
        return basic;
    }
    let lines = |lines: &[Line]| lines.iter().map(line_to_proto).collect();
    pb::Digest {
        key_developments: lines(&digest.key_developments),
        alliances: lines(&digest.alliances),
        tensions: lines(&digest.tensions),
        alignments: lines(&digest.alignments),
        leadership: lines(&digest.leadership),
        travel: lines(&digest.travel),
        upcoming: lines(&digest.upcoming),
        items: digest.items.iter().map(cited_item_to_proto).collect(),
        markdown: digest.markdown.clone(),
        ..basic
    }
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn headline_to_proto(headline: &Headline) -> pb::DigestHeadline {
    pb::DigestHeadline {
        text: headline.text.clone(),
        item_count: count(headline.item_count),
        source_count: count(headline.source_count),
        pair_count: count(headline.pair_count),
        item_mean_7d: headline.item_mean_7d,
        source_mean_7d: headline.source_mean_7d,
        pair_mean_7d: headline.pair_mean_7d,
        planned_count: count(headline.planned_count),
        background_count: count(headline.background_count),
    }
}

/// A row of the per-pair table, with the ListAgendaItems filter of its day's reported items.
fn dyad_to_proto(dyad: &Dyad, digest: &DigestName) -> pb::Dyad {
    let quad = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    pb::Dyad {
        countries: dyad.countries.to_vec(),
        cooperation: dyad.cooperation,
        conflict: dyad.conflict,
        net: dyad.net,
        verbal_cooperation_count: quad(dyad.counts.verbal_cooperation),
        material_cooperation_count: quad(dyad.counts.material_cooperation),
        verbal_conflict_count: quad(dyad.counts.verbal_conflict),
        material_conflict_count: quad(dyad.counts.material_conflict),
        trailing_mean: dyad.trailing_mean,
        trailing_stddev: dyad.trailing_stddev,
        z_score: dyad.z_score,
        contexts: dyad.contexts.clone(),
        top_items: dyad.top_items.clone(),
        active_days: i32::try_from(dyad.active_days).unwrap_or(i32::MAX),
        trend: dyad.trend.code().to_owned(),
        item_count: count(dyad.item_count),
        evidence: Some(pb::DigestEvidence {
            from_date: format_date(digest.date),
            to_date: format_date(digest.date),
            pairs: vec![pair_key(dyad)],
            context: String::new(),
            status: pb::ItemStatus::Reported.into(),
            item_count: count(dyad.item_count),
        }),
    }
}

fn evidence_to_proto(evidence: &Evidence) -> pb::DigestEvidence {
    pb::DigestEvidence {
        from_date: format_date(evidence.from_date),
        to_date: format_date(evidence.to_date),
        pairs: evidence.pairs.clone(),
        context: evidence.context.clone(),
        status: status_to_proto(&evidence.status).into(),
        item_count: count(evidence.item_count),
    }
}

fn line_to_proto(line: &Line) -> pb::DigestLine {
    pb::DigestLine {
        text: line.text.clone(),
        countries: line.countries.clone(),
        score: line.score,
        z_score: line.z_score,
        agenda_items: line.agenda_items.clone(),
        resources: line.resources.clone(),
        more_items: count(line.more_items),
        evidence: line.evidence.as_ref().map(evidence_to_proto),
    }
}

fn cited_item_to_proto(item: &CitedItem) -> pb::CitedItem {
    pb::CitedItem {
        name: item.name.clone(),
        title: item.title.clone(),
        date: format_date(item.date),
        status: status_to_proto(&item.status).into(),
        hedged: item.hedged,
        event_type: EventType::parse(&item.event_type)
            .map_or(pb::EventType::Unspecified, event_type_to_proto)
            .into(),
        intensity: item.intensity,
        actors: item.actors.clone(),
        recipients: item.recipients.clone(),
        sources: item.sources.iter().map(cited_source_to_proto).collect(),
        source_count: count(item.source_count),
    }
}

fn cited_source_to_proto(source: &CitedSource) -> pb::Source {
    pb::Source {
        url: source.url.clone(),
        publisher: source.publisher.clone(),
        published_time: parse_instant(&source.published_time).ok().map(timestamp),
        excerpt: String::new(),
    }
}

fn run_to_proto(run: &DigestRun) -> pb::DigestRun {
    let name = format!("{}-{}", run.kind, format_date(run.date));
    pb::DigestRun {
        name: format!("digestRuns/{name}"),
        kind: run.kind.clone(),
        date: format_date(run.date),
        state: match run.state {
            RunState::Pending => pb::DigestRunState::Pending,
            RunState::Running => pb::DigestRunState::Running,
            RunState::Done => pb::DigestRunState::Done,
            RunState::Failed => pb::DigestRunState::Failed,
        }
        .into(),
        attempts: run.attempts,
        start_time: run.start_time.map(timestamp),
        finish_time: run.finish_time.map(timestamp),
        error: run.error.clone(),
        digest: if run.state == RunState::Done {
            format!("digests/{name}")
        } else {
            String::new()
        },
        trigger: run.trigger.clone(),
    }
}
