//! The per-call log: every call that ends in an error is logged at WARN with its method, gRPC
//! code and latency; answered calls only at DEBUG (`BRIEFING_LOG=info,briefing::api=debug`),
//! except writes made with a token (any method that needs more than the reader role), which
//! are logged at INFO with the token's name: who changed what. The token itself never
//! reaches a log line; the auth layer (`auth.rs`) hands over only its name.
//!
//! Not tower-http's TraceLayer: its INFO span per call, with the method formatted into it, and
//! a line per answered call took 10–25% of a small read's throughput
//! (BENCHMARKS.md), and with the span at DEBUG its failure lines no longer name the method.
//! Handlers return errors as trailers-only responses, so the code is in the response headers.
//! An error a stream sends after its first message is not seen here; server errors are logged
//! where they are mapped to a status (`error.rs`) in any case.
//!
//! The same place counts each call and its latency for `/metrics` (`ops/metrics.rs`).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tracing::Instrument as _;

use super::auth::{Caller, METHOD_ROLES, required_role};
use crate::domain::token::AccessRole;
use crate::ops::Metrics;

/// The methods of health and reflection, which [`METHOD_ROLES`] leaves out (anyone may call
/// them).
const OPEN_METHODS: &[&str] = &[
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

#[derive(Clone)]
pub struct AccessLogLayer {
    metrics: Arc<Metrics>,
}

impl AccessLogLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for AccessLog<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // Cloning a Uri shares its bytes; the path is formatted only when a line is written.
        let uri = request.uri().clone();
        let started = Instant::now();
        let peer = peer_of(&request);
        let request_id = request_id_of(request.headers());
        // The services see the id the response will carry (a made one included).
        if let Ok(value) = http::HeaderValue::from_str(&request_id) {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        // Every line logged while the call runs carries its method and request id.
        let span = tracing::info_span!("grpc", method = uri.path(), request_id = %request_id);
        let call = self.inner.call(request).instrument(span);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let mut outcome = call.await;
            // Until the response's headers: a unary call's whole answer, a stream's start.
            let elapsed = started.elapsed();
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            let method = uri.path();
            let code = match &outcome {
                Ok(response) => {
                    failure(response.headers()).map_or(tonic::Code::Ok, |status| status.code())
                }
                // The transport's own failure: the client sees the call cut short.
                Err(_) => tonic::Code::Unavailable,
            };
            metrics.record_call(metric_path(method), code_name(code), elapsed.as_secs_f64());
            let peer = peer.as_ref().map(tracing::field::display);
            let request_id = request_id.as_str();
            match &mut outcome {
                Ok(response) => {
                    if let Ok(value) = http::HeaderValue::from_str(request_id) {
                        response.headers_mut().insert(REQUEST_ID, value);
                    }
                    let caller = response.extensions().get::<Caller>();
                    let token = caller.map(|caller| caller.token.as_str());
                    match failure(response.headers()) {
                        Some(status) => tracing::warn!(
                            method,
                            request_id,
                            peer,
                            token,
                            code = ?status.code(),
                            grpc_message = status.message(),
                            micros,
                            "call failed"
                        ),
                        None if caller.is_some() && is_write(method) => {
                            tracing::info!(method, request_id, peer, token, code = ?code, micros, "call answered")
                        }
                        None => {
                            tracing::debug!(method, request_id, peer, token, code = ?code, micros, "call answered")
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(method, request_id, peer, %error, micros, "call failed")
                }
            }
            outcome
        })
    }
}

/// The metadata key of the request id, in requests and responses.
const REQUEST_ID: &str = "x-request-id";
/// The longest request id taken from a client; a longer one is replaced by a made one.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The client's `x-request-id` when it is short and printable ASCII (it goes into log lines
/// as it is), else a new UUID v7 (time-ordered, so ids sort like the calls).
fn request_id_of(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The client's address, over plain TCP or TLS, as tonic leaves it on the request.
fn peer_of<B>(request: &http::Request<B>) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
}

/// `path` when the server serves it, else one `unknown` path: a client that calls made-up
/// methods must not add label values to `/metrics`.
fn metric_path(path: &str) -> &str {
    let served =
        METHOD_ROLES.iter().any(|(method, _)| *method == path) || OPEN_METHODS.contains(&path);
    if served { path } else { "/unknown/unknown" }
}

/// gRPC's name of `code`, as in its specification (`NOT_FOUND`).
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Whether a method changes something: it needs more than the reader role.
fn is_write(method: &str) -> bool {
    required_role(method).is_some_and(|role| role > AccessRole::Reader)
}

/// The status of a trailers-only response that is not OK (its message percent-decoded).
fn failure(headers: &http::HeaderMap) -> Option<tonic::Status> {
    tonic::Status::from_header_map(headers).filter(|status| status.code() != tonic::Code::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_comes_from_a_trailers_only_response() {
        let mut headers = http::HeaderMap::new();
        assert!(failure(&headers).is_none());
        headers.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert!(failure(&headers).is_none());
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static("trips/x%20does%20not%20exist"),
        );
        let status = failure(&headers).expect("a failure");
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "trips/x does not exist");
    }
}
