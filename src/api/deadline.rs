//! Deadlines: a call ends with DEADLINE_EXCEEDED at the sooner of the client's `grpc-timeout`
//! and the server's `request_timeout_seconds`, and its work stops with it (its future is
//! dropped). tonic's own timeout answers CANCELLED "Timeout expired", which tells a client
//! nothing about why; this layer answers first.
//!
//! tonic still times the client's `grpc-timeout` outside every layer, so this deadline falls
//! [`AHEAD_OF_TONIC`] earlier: ours is always the one that fires. ImportAgendaItems is not cut
//! here: it reads the [`CallDeadline`] this layer leaves in the request's extensions and stops
//! itself, so it can say which records it kept (see `agenda.rs`).

use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::error::ApiError;

/// How much sooner than the client's own deadline ours falls.
const AHEAD_OF_TONIC: Duration = Duration::from_millis(5);
/// The method that keeps its own deadline.
const SELF_TIMED: &str = "/briefing.v1.AgendaService/ImportAgendaItems";

/// When a call must end, and who set that.
#[derive(Clone, Copy, Debug)]
pub struct CallDeadline {
    pub at: Instant,
    pub after: Duration,
    /// `grpc-timeout` (the client's) or `request_timeout_seconds` (the server's).
    pub setting: &'static str,
}

impl CallDeadline {
    pub fn exceeded(&self) -> ApiError {
        ApiError::DeadlineExceeded {
            after: self.after,
            setting: self.setting,
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeadlineLayer {
    request_timeout: Duration,
}

impl DeadlineLayer {
    pub fn new(request_timeout: Duration) -> Self {
        Self { request_timeout }
    }
}

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            request_timeout: self.request_timeout,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Deadline<S> {
    inner: S,
    request_timeout: Duration,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Deadline<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let deadline = deadline(request.headers().get("grpc-timeout"), self.request_timeout);
        request.extensions_mut().insert(deadline);
        if request.uri().path() == SELF_TIMED {
            return Box::pin(self.inner.call(request));
        }
        if deadline.at <= Instant::now() {
            // No time left at all (a `grpc-timeout` shorter than a round trip): no work starts.
            return Box::pin(std::future::ready(Ok(tonic::Status::from(
                deadline.exceeded(),
            )
            .into_http())));
        }
        let call = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline.at, call).await {
                Ok(answered) => answered,
                Err(_) => Ok(tonic::Status::from(deadline.exceeded()).into_http()),
            }
        })
    }
}

/// The sooner of the client's `grpc-timeout` (less [`AHEAD_OF_TONIC`]) and the server's limit.
fn deadline(header: Option<&http::HeaderValue>, request_timeout: Duration) -> CallDeadline {
    let now = Instant::now();
    match header
        .and_then(|value| value.to_str().ok())
        .and_then(parse_grpc_timeout)
    {
        Some(client) if client < request_timeout => CallDeadline {
            at: now + client.saturating_sub(AHEAD_OF_TONIC),
            after: client,
            setting: "grpc-timeout",
        },
        _ => CallDeadline {
            at: now + request_timeout,
            after: request_timeout,
            setting: "request_timeout_seconds",
        },
    }
}

/// `grpc-timeout` as the gRPC HTTP/2 protocol writes it: up to 8 digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`). Anything else is ignored, as tonic ignores it.
fn parse_grpc_timeout(raw: &str) -> Option<Duration> {
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_is_read_as_the_protocol_writes_it() {
        assert_eq!(parse_grpc_timeout("1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("1n"), Some(Duration::from_nanos(1)));
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("-1S"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }

    #[test]
    fn the_sooner_deadline_wins() {
        let server = Duration::from_secs(30);
        let client = http::HeaderValue::from_static("2S");
        let chosen = deadline(Some(&client), server);
        assert_eq!(chosen.setting, "grpc-timeout");
        assert_eq!(chosen.after, Duration::from_secs(2));
        let late = http::HeaderValue::from_static("60S");
        assert_eq!(
            deadline(Some(&late), server).setting,
            "request_timeout_seconds"
        );
        assert_eq!(deadline(None, server).after, server);
    }
}
