//! Black-box tests of the briefing gRPC API: each starts the real server on `127.0.0.1:0` with
//! a fresh database and does what a client does. One file per feature.
//!
//! This binary runs them on SQLite; `tests/postgres.rs` runs the same files on PostgreSQL.

/// The backend every test of this binary runs on (see `helpers::fresh_database`).
const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

mod agenda;
mod caches;
mod cli;
mod concurrency;
mod config;
mod deliveries;
mod demo;
mod digest_helpers;
mod digests;
mod durability;
mod egress;
mod errors;
mod feed;
mod gdelt;
mod gdelt_files;
mod helpers;
mod import;
mod limits;
mod officials;
mod operations;
mod page_bytes;
mod pagination;
mod receiver;
mod schedule;
mod secrets;
mod security;
mod server;
mod statuses_and_pairs;
mod store_guard;
mod transport;
mod trips;
mod unicode;
mod watch;
mod webhooks;
