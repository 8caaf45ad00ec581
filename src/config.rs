//! Typed configuration, loaded in one place. Each setting comes from, in order of precedence:
//! a command-line flag, a `BRIEFING_<NAME>` environment variable (declared with the flag in
//! [`crate::cli`]), the TOML file given by `--config`, then the default here.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::ServeArgs;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATABASE: &str = "sqlite://briefing.db";

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: String,
    /// Load the seed article's data set when the store is empty.
    pub demo: bool,
    /// A call still running after this is cancelled with DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// Calls served at once on one connection; more wait.
    pub max_concurrent_requests: usize,
}

/// The TOML file: every key optional, named like the environment variable without its prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    demo: Option<bool>,
    request_timeout_seconds: Option<u64>,
    max_concurrent_requests: Option<usize>,
}

impl Config {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let config = Self {
            listen: args.listen.or(file.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .expect("default listen address parses")
            }),
            database: args
                .database
                .clone()
                .or(file.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.into()),
            demo: args.demo.or(file.demo).unwrap_or(false),
            request_timeout: Duration::from_secs(
                args.request_timeout_seconds
                    .or(file.request_timeout_seconds)
                    .unwrap_or(30),
            ),
            max_concurrent_requests: args
                .max_concurrent_requests
                .or(file.max_concurrent_requests)
                .unwrap_or(1024),
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        check_database_url(&self.database)?;
        anyhow::ensure!(
            !self.request_timeout.is_zero(),
            "request_timeout_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.max_concurrent_requests > 0,
            "max_concurrent_requests must be at least 1"
        );
        Ok(())
    }
}

/// Only SQLite is built in so far; say so instead of failing later with a driver error.
pub fn check_database_url(url: &str) -> anyhow::Result<()> {
    if url.starts_with("sqlite:") {
        Ok(())
    } else {
        anyhow::bail!(
            "unsupported database url {url:?}: use sqlite://PATH (e.g. {DEFAULT_DATABASE})"
        )
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
}
