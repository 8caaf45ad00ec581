//! The gRPC edge: tonic services that parse requests into domain types, call the store and
//! map every error in one place ([`error`]).

pub mod access_log;
pub mod agenda;
pub mod auth;
pub mod codec_errors;
pub mod connections;
pub mod convert;
pub mod deadline;
pub mod digests;
pub mod error;
pub mod feeds;
pub mod mask;
pub mod officials;
pub mod overload;
pub mod paging;
pub mod rate_limit;
pub mod requests;
pub mod resource;
pub mod server;
pub mod subscriptions;
pub mod tls;
pub mod trips;

/// Code generated from `proto/briefing/v1` by build.rs; never edited by hand.
pub mod pb {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("briefing.v1");
}

/// Descriptors of `briefing.v1` and the well-known types it uses, for reflection.
pub const BRIEFING_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("briefing_descriptor");
/// Descriptors of `google.rpc` error details, so reflection clients can decode them.
pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("error_details_descriptor");
