//! Black-box tests of the briefing gRPC API: each starts the real server on `127.0.0.1:0` with
//! a fresh database and does what a client does. One file per feature.

mod agenda;
mod cli;
mod concurrency;
mod config;
mod deliveries;
mod demo;
mod digest_helpers;
mod digests;
mod durability;
mod errors;
mod helpers;
mod import;
mod officials;
mod pagination;
mod receiver;
mod schedule;
mod server;
mod trips;
mod unicode;
mod watch;
mod webhooks;
