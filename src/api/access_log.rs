//! The per-call log: every call that ends in an error is logged at WARN with its method, gRPC
//! code and latency; answered calls only at DEBUG (`BRIEFING_LOG=info,briefing::api=debug`).
//!
//! Not tower-http's TraceLayer: its INFO span per call, with the method formatted into it, and
//! a line per answered call took a fifth to a quarter of a small read's throughput
//! (BENCHMARKS.md), and with the span at DEBUG its failure lines no longer name the method.
//! Handlers return errors as trailers-only responses, so the code is in the response headers;
//! an error a stream sends after its first message is logged by the handler that ends it.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tracing::Instrument as _;

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
            let micros = started.elapsed().as_micros();
            let method = uri.path();
            match &outcome {
                Ok(response) => match grpc_code(response.headers()) {
                    Some(code) if code != tonic::Code::Ok => {
                        let message = response
                            .headers()
                            .get("grpc-message")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or("");
                        tracing::warn!(method, code = ?code, message, micros, "call failed");
                    }
                    _ => tracing::debug!(method, micros, "call answered"),
                },
                Err(error) => tracing::warn!(method, %error, micros, "call failed"),
            }
            outcome
        })
    }
}

/// The code of a trailers-only response; `None` when the status comes in the trailers.
fn grpc_code(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let value = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some(tonic::Code::from_i32(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_comes_from_a_trailers_only_response() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_code(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(grpc_code(&headers), Some(tonic::Code::NotFound));
        headers.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(grpc_code(&headers), None);
    }
}
