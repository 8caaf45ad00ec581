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

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tracing::Instrument as _;

use super::auth::{Caller, required_role};
use crate::domain::token::AccessRole;

#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLogLayer;

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog { inner }
    }
}

#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
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

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // Cloning a Uri shares its bytes; the path is formatted only when a line is written.
        let uri = request.uri().clone();
        let started = Instant::now();
        // Logs written while the call runs carry its method when DEBUG is on for this module.
        let span = tracing::debug_span!("grpc", method = uri.path());
        let call = self.inner.call(request).instrument(span);
        Box::pin(async move {
            let outcome = call.await;
            // Until the response's headers: a unary call's whole answer, a stream's start.
            let micros = started.elapsed().as_micros();
            let method = uri.path();
            match &outcome {
                Ok(response) => {
                    let caller = response.extensions().get::<Caller>();
                    let token = caller.map(|caller| caller.token.as_str());
                    match failure(response.headers()) {
                        Some(status) => tracing::warn!(
                            method,
                            token,
                            code = ?status.code(),
                            grpc_message = status.message(),
                            micros,
                            "call failed"
                        ),
                        None if caller.is_some() && is_write(method) => {
                            tracing::info!(method, token, micros, "call answered")
                        }
                        None => tracing::debug!(method, token, micros, "call answered"),
                    }
                }
                Err(error) => tracing::warn!(method, %error, micros, "call failed"),
            }
            outcome
        })
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
