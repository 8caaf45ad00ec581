//! Load shedding: at most `max_requests_in_flight` calls are served at once across all
//! connections; a call past that is refused at once with RESOURCE_EXHAUSTED (reason
//! `SERVER_OVERLOADED`, with a RetryInfo) rather than queued behind the others, so a flood
//! neither grows memory nor turns every caller's answer late. Health checks are exempt: a
//! busy server is still alive, and its probes must say so.
//!
//! tower's `GlobalConcurrencyLimit` (one semaphore for every connection) under its `LoadShed`;
//! tonic would turn the shed call into "Too many active requests for the connection", which
//! names the wrong limit, so the refusal is written here.
//! A stream holds its place until its response starts: a WatchDigests stream is counted by
//! `max_watchers` instead, an import until its answer.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::ServiceExt as _;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShed;
use tower::load_shed::error::Overloaded;

use super::error::ApiError;

/// Calls to this service are never shed.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

#[derive(Clone, Debug)]
pub struct OverloadLayer {
    limit: usize,
    concurrency: GlobalConcurrencyLimitLayer,
}

impl OverloadLayer {
    pub fn new(max_requests_in_flight: usize) -> Self {
        Self {
            limit: max_requests_in_flight,
            concurrency: GlobalConcurrencyLimitLayer::new(max_requests_in_flight),
        }
    }
}

impl<S: Clone> tower::Layer<S> for OverloadLayer {
    type Service = Overload<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Overload {
            limited: LoadShed::new(self.concurrency.layer(inner.clone())),
            exempt: inner,
            limit: self.limit,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Overload<S> {
    limited: LoadShed<tower::limit::ConcurrencyLimit<S>>,
    exempt: S,
    limit: usize,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Overload<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError>,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = tower::BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The limit is looked at when the call comes, in `call`: health must not wait on it.
        self.exempt.poll_ready(context).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if request.uri().path().starts_with(HEALTH_PREFIX) {
            let call = self.exempt.call(request);
            return Box::pin(async move { call.await.map_err(Into::into) });
        }
        let limited = self.limited.clone();
        let limit = self.limit;
        Box::pin(async move {
            match limited.oneshot(request).await {
                Err(error) if error.is::<Overloaded>() => {
                    Ok(tonic::Status::from(ApiError::Overloaded { limit }).into_http())
                }
                outcome => outcome,
            }
        })
    }
}
