//! briefing: diplomatic trips, officials and agenda items over gRPC, and a daily
//! alliance-and-tension digest compiled from them.

pub mod api;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod digest;
pub mod domain;
pub mod feed;
pub mod import;
pub mod ops;
pub mod schedule;
pub mod startup;
pub mod store;
