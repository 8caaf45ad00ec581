//! The codes tonic gives to requests it cannot decode, made the ones the gRPC status guide
//! asks for: a message over `max_message_bytes` is RESOURCE_EXHAUSTED (tonic says
//! OUT_OF_RANGE), and bytes that are not the protobuf message the method takes are
//! INVALID_ARGUMENT (tonic says INTERNAL, which tells the client the fault is the server's).
//!
//! tonic answers both before any service code runs (or, for a client stream, hands them to
//! it, which returns them as they are), in a response that carries only headers: this layer
//! rewrites that response, and leaves every other one alone.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Code;

use super::error::ApiError;

/// How tonic words the two failures (tonic 0.14 `codec/decode.rs`, tonic-prost `codec.rs`).
const TOO_LARGE: &str = "Error, decoded message length too large";
const NOT_PROTOBUF: &str = "failed to decode Protobuf message";

/// The error tonic's `status` stands for when it is one of the two decoding failures, which
/// are the client's fault; `limit` is the server's `max_message_bytes`. A client-streaming
/// method (ImportAgendaItems) meets them in its stream and ends with this error, saying what
/// it kept.
pub fn client_fault(status: &tonic::Status, limit: usize) -> Option<ApiError> {
    match status.code() {
        Code::OutOfRange if status.message().starts_with(TOO_LARGE) => {
            Some(ApiError::MessageTooLarge { limit })
        }
        Code::Internal if status.message().starts_with(NOT_PROTOBUF) => {
            Some(ApiError::NotProtobuf {
                problem: status.message().to_owned(),
            })
        }
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct CodecErrorsLayer {
    max_message_bytes: usize,
}

impl CodecErrorsLayer {
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> tower::Layer<S> for CodecErrorsLayer {
    type Service = CodecErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CodecErrors {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

#[derive(Clone, Debug)]
pub struct CodecErrors<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for CodecErrors<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = self.inner.call(request);
        let limit = self.max_message_bytes;
        Box::pin(async move {
            let response = call.await?;
            let Some(status) = tonic::Status::from_header_map(response.headers()) else {
                return Ok(response);
            };
            let Some(rewritten) = client_fault(&status, limit) else {
                return Ok(response);
            };
            Ok(tonic::Status::from(rewritten).into_http())
        })
    }
}
