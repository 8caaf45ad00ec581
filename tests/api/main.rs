//! Black-box tests of the briefing gRPC API: each starts the real server on `127.0.0.1:0` with
//! a fresh database and does what a client does. One file per feature.

mod agenda;
mod cli;
mod concurrency;
mod demo;
mod durability;
mod errors;
mod helpers;
mod import;
mod officials;
mod pagination;
mod server;
mod trips;
mod unicode;
