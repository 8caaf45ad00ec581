//! The command line: `briefing serve | import | migrate`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "briefing",
    version,
    about = "Diplomatic trips, officials and agenda items over gRPC"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Load officials, trips and agenda items from a JSON or NDJSON file.
    Import(ImportArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "BRIEFING_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Database URL [default: sqlite://briefing.db].
    #[arg(long, env = "BRIEFING_DATABASE")]
    pub database: Option<String>,
    /// Load the demo data set (the seed article) when the store is empty.
    #[arg(long, env = "BRIEFING_DEMO", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: Option<bool>,
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "BRIEFING_CONFIG")]
    pub config: Option<PathBuf>,
    /// Cancel calls that run longer than this many seconds [default: 30].
    #[arg(long, env = "BRIEFING_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    /// Calls served at once per connection [default: 1024].
    #[arg(long, env = "BRIEFING_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL [default: sqlite://briefing.db].
    #[arg(long, env = "BRIEFING_DATABASE", default_value = crate::config::DEFAULT_DATABASE)]
    pub database: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSON array of records, or NDJSON with one record per line.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
