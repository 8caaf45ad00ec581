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
    /// Print a day's digest without a server (nothing is stored or delivered).
    Digest(DigestArgs),
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
    /// Digest schedule of the daily kind: 6 cron fields, seconds first [default: "0 0 6 * * *"].
    #[arg(long, env = "BRIEFING_DIGEST_CRON")]
    pub digest_cron: Option<String>,
    /// IANA time zone the digest days are reckoned in [default: UTC].
    #[arg(long, env = "BRIEFING_DIGEST_TIME_ZONE")]
    pub digest_time_zone: Option<String>,
    /// The country whose side the digests take, ISO 3166-1 alpha-3 [default: USA].
    #[arg(long, env = "BRIEFING_PERSPECTIVE")]
    pub perspective: Option<String>,
    /// The rivals: their cooperation with others is an alignment to watch; comma-separated
    /// alpha-3 codes [default: PRK,RUS,CHN].
    #[arg(long, env = "BRIEFING_RIVALS", value_delimiter = ',')]
    pub rivals: Option<Vec<String>>,
    /// Run the digest schedule and catch-up [default: true].
    #[arg(long, env = "BRIEFING_SCHEDULE", num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub schedule: Option<bool>,
    /// Days missed during downtime that are compiled on start [default: 7].
    #[arg(long, env = "BRIEFING_CATCH_UP_DAYS")]
    pub catch_up_days: Option<u32>,
    /// Seconds a compiler holds a day before another may take it over [default: 60].
    #[arg(long, env = "BRIEFING_DIGEST_LEASE_SECONDS")]
    pub digest_lease_seconds: Option<u64>,
    /// Attempts per delivery before dead letter [default: 8].
    #[arg(long, env = "BRIEFING_DELIVERY_MAX_ATTEMPTS")]
    pub delivery_max_attempts: Option<u32>,
    /// Delay before the first retry of a delivery, in milliseconds; doubles each time [default: 5000].
    #[arg(long, env = "BRIEFING_DELIVERY_FIRST_RETRY_MS")]
    pub delivery_first_retry_ms: Option<u64>,
    /// Longest delay between delivery retries, in seconds [default: 3600].
    #[arg(long, env = "BRIEFING_DELIVERY_MAX_RETRY_SECONDS")]
    pub delivery_max_retry_seconds: Option<u64>,
    /// Seconds a webhook has to answer [default: 10].
    #[arg(long, env = "BRIEFING_DELIVERY_TIMEOUT_SECONDS")]
    pub delivery_timeout_seconds: Option<u64>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DigestFormat {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// The local day, YYYY-MM-DD.
    #[arg(long)]
    pub date: String,
    /// Compile from the demo data set (the seed article) instead of a database.
    #[arg(long)]
    pub demo: bool,
    /// The digest kind.
    #[arg(long, default_value = crate::digest::DEFAULT_KIND)]
    pub kind: String,
    /// IANA time zone the day is reckoned in.
    #[arg(long, env = "BRIEFING_DIGEST_TIME_ZONE", default_value = crate::config::DEFAULT_DIGEST_TIME_ZONE)]
    pub time_zone: String,
    /// The country whose side the digest takes, ISO 3166-1 alpha-3 (the seed's alliances apply).
    #[arg(long, env = "BRIEFING_PERSPECTIVE", default_value = crate::config::DEFAULT_PERSPECTIVE)]
    pub perspective: String,
    /// The rivals, comma-separated alpha-3 codes.
    #[arg(
        long,
        env = "BRIEFING_RIVALS",
        value_delimiter = ',',
        default_value = "PRK,RUS,CHN"
    )]
    pub rivals: Vec<String>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DigestFormat,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
