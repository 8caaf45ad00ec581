//! The command line: `briefing serve | import | migrate | digest | backup | restore |
//! check-config | token | rotate-secret-key`. The settings of `serve`
//! are declared with the configuration they resolve to, in [`crate::config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{DEFAULTS, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "briefing",
    // The commit too (build.rs): which build runs is the first question of a bug report.
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BRIEFING_BUILD_COMMIT"), ")"),
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
    Serve(Box<ServeArgs>),
    /// Load officials, trips and agenda items from an NDJSON or JSON file, or standard input.
    Import(ImportArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Print a day's digest without a server (nothing is stored or delivered).
    Digest(DigestArgs),
    /// Write a consistent copy of a SQLite database, also while a server runs on it.
    Backup(BackupArgs),
    /// Replace a SQLite database with a backup; no server may be running on it.
    Restore(RestoreArgs),
    /// Check the configuration `serve` would run with (file, environment and flags) and its
    /// files (TLS, secret key, delivery directory), without starting anything.
    CheckConfig(Box<ServeArgs>),
    /// Re-encrypt every webhook signing secret with a new key, in one transaction; then give
    /// the servers the new key as secret_key_file.
    RotateSecretKey(RotateSecretKeyArgs),
    /// Create, list and revoke the API tokens calls carry (`authorization: Bearer TOKEN`).
    Token(TokenArgs),
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
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    /// TOML configuration file of `serve`: its `database` is used unless --database is given.
    #[arg(long, env = "BRIEFING_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL [default: the configuration file's, else sqlite://briefing.db]
    #[arg(long, env = "BRIEFING_DATABASE", global = true)]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once: the store keeps only its SHA-256.
    Create {
        /// What logs and `token list` call it: lowercase letters, digits and '-'.
        #[arg(long)]
        name: String,
        /// What it may do: reader (Get, List, Watch), writer (also Create, Update, Delete,
        /// Import, CompileDigest) or admin (also subscriptions and redelivery).
        #[arg(long, value_parser = ["reader", "writer", "admin"])]
        role: String,
        /// Days until it stops working; without it, it works until revoked.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
        expires_in: Option<u32>,
    },
    /// Every token: name, role, created, expires, revoked (never the token or its hash).
    List,
    /// Refuse a token from now on (on every replica within a second).
    Revoke {
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Database URL.
    #[arg(long, env = "BRIEFING_DATABASE", default_value = DEFAULTS.database)]
    pub database: String,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write the copy to.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (checked with PRAGMA integrity_check first).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read; `-` reads standard input. Plain or gzip, told by its content.
    pub file: PathBuf,
    /// What the file holds: `ndjson`, briefing's records one per line; `json`, a JSON array
    /// of them; `gdelt`, a GDELT 2.0 event export as GDELT publishes it (tab-separated; plain,
    /// .gz or .zip).
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: ImportFormat,
    /// Check every record (map every GDELT row) and report every bad one; write nothing (the
    /// database is not opened).
    #[arg(long)]
    pub dry_run: bool,
    /// Records written per batch, one transaction each: at a bad record the batches before
    /// its batch are kept.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,
    #[command(flatten)]
    pub gdelt: GdeltFilterArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// briefing's records, one JSON record per line; blank lines are skipped.
    Ndjson,
    /// briefing's records as one JSON array.
    Json,
    /// A GDELT 2.0 event export as GDELT publishes it: tab-separated, plain, .gz or .zip.
    Gdelt,
}

/// Which GDELT rows to keep (with `--format gdelt`), as the feed's filters do.
#[derive(Debug, Args)]
pub struct GdeltFilterArgs {
    /// Keep rows with at least one of these countries (ISO 3166-1 alpha-3, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub countries: Vec<String>,
    /// Keep rows that at least this many sources reported.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub min_sources: u32,
    /// Keep only the rows GDELT marks as the root event of their sentence.
    #[arg(long)]
    pub root_events_only: bool,
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
    /// The digest kind: daily, or one of the configuration file's `[kinds.NAME]`.
    #[arg(long, default_value = crate::digest::DEFAULT_KIND)]
    pub kind: String,
    /// TOML configuration file of `serve`: its database, time zone, perspective, rivals,
    /// alliances and kinds apply, so this digest is the one the server compiles.
    #[arg(long, env = "BRIEFING_CONFIG")]
    pub config: Option<PathBuf>,
    /// IANA time zone the day is reckoned in [default: the kind's in the configuration file,
    /// else UTC]
    #[arg(long, env = "BRIEFING_DIGEST_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// The country whose side the digest takes, ISO 3166-1 alpha-3 [default: the configuration
    /// file's, else USA]
    #[arg(long, env = "BRIEFING_PERSPECTIVE")]
    pub perspective: Option<String>,
    /// The rivals, comma-separated alpha-3 codes [default: the configuration file's, else
    /// PRK,RUS,CHN]
    #[arg(long, env = "BRIEFING_RIVALS", value_delimiter = ',')]
    pub rivals: Option<Vec<String>>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DigestFormat,
    /// Database URL [default: the configuration file's, else sqlite://briefing.db]
    #[arg(long, env = "BRIEFING_DATABASE")]
    pub database: Option<String>,
}
