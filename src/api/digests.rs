//! DigestService, and the one place where digests and runs cross into proto.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::error::ApiError;
use super::paging;
use super::pb::{self, digest_service_server::DigestService};
use crate::digest::{DEFAULT_KIND, DigestName, model::parse_kind};
use crate::domain::Violations;
use crate::domain::values::{format_date, parse_date};
use crate::schedule::{RunError, Runner, Trigger};
use crate::store::Store;
use crate::store::digests::{DigestFilter, DigestRun, PublishedDigest, RunFilter, RunState};

/// Publications read per round trip while replaying a WatchDigests cursor.
const REPLAY_BATCH: usize = 100;
/// How often a watcher looks for digests committed by other processes.
const WATCH_POLL: Duration = Duration::from_secs(2);

pub struct DigestApi {
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    /// Turns true when the server begins to shut down; open watches end then.
    stopping: watch::Receiver<bool>,
}

impl DigestApi {
    pub fn new(
        store: Arc<dyn Store>,
        runner: Arc<Runner>,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            runner,
            stopping,
        }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchDigestsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl DigestService for DigestApi {
    async fn get_digest(
        &self,
        request: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let name = DigestName::parse(&request.into_inner().name)
            .map_err(|problem| ApiError::invalid("name", problem))?;
        let published = self.store.get_digest(&name).await.map_err(ApiError::from)?;
        Ok(Response::new(to_proto(&published)))
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
        violations
            .finish(|| ())
            .map_err(ApiError::InvalidArgument)?;
        let page = paging::page_request(request.page_size, &request.page_token, &filter)?;
        let found = self
            .store
            .list_digests(&filter, page)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListDigestsResponse {
            digests: found.items.iter().map(to_proto).collect(),
            next_page_token: paging::next_page_token(found.next_after, &filter),
        }))
    }

    async fn compile_digest(
        &self,
        request: Request<pb::CompileDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::new();
        let kind = if request.kind.is_empty() {
            Some(DEFAULT_KIND.to_owned())
        } else {
            violations.check("kind", parse_kind(&request.kind))
        };
        let date = violations.check("date", parse_date(&request.date));
        let (Some(kind), Some(date)) = (kind, date) else {
            return Err(ApiError::InvalidArgument(violations).into());
        };
        let published = self
            .runner
            .compile_day(&kind, date, request.force, request.deliver, Trigger::Api)
            .await
            .map_err(|error| match error {
                RunError::Store(store) => ApiError::from(store),
                busy @ RunError::Busy { .. } => ApiError::Unavailable(busy.to_string()),
            })?;
        Ok(Response::new(to_proto(&published)))
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
        // Subscribe before reading the cursor so nothing committed in between is missed.
        let mut published = self.runner.subscribe();
        let mut cursor = if request.cursor.is_empty() {
            self.store
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
        let store = self.store.clone();
        let mut stopping = self.stopping.clone();
        let stream = async_stream(move |sender| async move {
            loop {
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
                        digest: Some(to_proto(&item)),
                        cursor: item.publication.to_string(),
                    };
                    if sender.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                tokio::select! {
                    received = published.recv() => {
                        if matches!(received, Err(RecvError::Closed)) {
                            return;
                        }
                    }
                    () = tokio::time::sleep(WATCH_POLL) => {}
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
        _request: Request<pb::ListDigestDyadsRequest>,
    ) -> Result<Response<pb::ListDigestDyadsResponse>, Status> {
        Err(Status::unimplemented(
            "interim: the digest plumbing branch brings it",
        ))
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
        let page = paging::page_request(request.page_size, &request.page_token, &filter)?;
        let found = self
            .store
            .list_runs(&filter, page)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListDigestRunsResponse {
            digest_runs: found.items.iter().map(run_to_proto).collect(),
            next_page_token: paging::next_page_token(found.next_after, &filter),
        }))
    }
}

/// A stream fed by a task; the task stops when the client goes away.
fn async_stream<F, Fut>(producer: F) -> WatchStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<pb::WatchDigestsResponse, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
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

pub fn to_proto(published: &PublishedDigest) -> pb::Digest {
    let digest = &published.digest;
    pb::Digest {
        name: digest.name().to_string(),
        kind: digest.kind.clone(),
        date: format_date(digest.date),
        time_zone: digest.time_zone.clone(),
        markdown: digest.markdown.clone(),
        compile_time: Some(timestamp(published.compile_time)),
        revision: published.revision,
        ..Default::default()
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
