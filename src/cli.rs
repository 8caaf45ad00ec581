//! The command line: `briefing serve | import | migrate | digest | rotate-secret-key`. The settings of `serve`
//! are declared with the configuration they resolve to, in [`crate::config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{DEFAULTS, ServeArgs};

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
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up: the size of `serve`'s settings costs nothing"
)]
pub enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Load officials, trips and agenda items from a JSON or NDJSON file.
    Import(ImportArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Print a day's digest without a server (nothing is stored or delivered).
    Digest(DigestArgs),
    /// Re-encrypt every webhook signing secret with a new key, in one transaction; then give
    /// the servers the new key as secret_key_file.
    RotateSecretKey(RotateSecretKeyArgs),
}

#[derive(Debug, Args)]
pub struct RotateSecretKeyArgs {
    /// The key the secrets are sealed with now; unset when they are stored in plain text.
    #[arg(long, env = "BRIEFING_SECRET_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The key to seal them with from now on (32 bytes, base64: `openssl rand -base64 32`).
    #[arg(long)]
    pub new_key_file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL.
    #[arg(long, env = "BRIEFING_DATABASE", default_value = DEFAULTS.database)]
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
    #[arg(long, env = "BRIEFING_DIGEST_TIME_ZONE", default_value = DEFAULTS.digest_time_zone)]
    pub time_zone: String,
    /// The country whose side the digest takes, ISO 3166-1 alpha-3 (the seed's alliances apply).
    #[arg(long, env = "BRIEFING_PERSPECTIVE", default_value = DEFAULTS.perspective)]
    pub perspective: String,
    /// The rivals, comma-separated alpha-3 codes.
    #[arg(
        long,
        env = "BRIEFING_RIVALS",
        value_delimiter = ',',
        default_value = DEFAULTS.rivals
    )]
    pub rivals: Vec<String>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DigestFormat,
    #[command(flatten)]
    pub database: DatabaseArgs,
}
