//! Typed configuration, loaded in one place. Each setting comes from, in order of precedence:
//! a command-line flag, a `BRIEFING_<NAME>` environment variable (declared with the flag in
//! [`crate::cli`]), the TOML file given by `--config` (keys named like the variables without
//! the prefix, lowercase), then the default here. `config/briefing.example.toml` shows them all.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::ServeArgs;
use crate::delivery::{DeliveryConfig, RetrySchedule};
use crate::digest::{Alliance, DEFAULT_KIND, Side, default_alliances};
use crate::domain::CountryCode;
use crate::domain::values::parse_time_zone;
use crate::schedule::Plan;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATABASE: &str = "sqlite://briefing.db";
pub const DEFAULT_DIGEST_CRON: &str = "0 0 6 * * *";
pub const DEFAULT_DIGEST_TIME_ZONE: &str = "UTC";
pub const DEFAULT_PERSPECTIVE: &str = "USA";
pub const DEFAULT_RIVALS: &[&str] = &["PRK", "RUS", "CHN"];

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
    /// One plan per digest kind; `daily` first.
    pub plans: Vec<Plan>,
    /// Run the schedule (and catch-up); off, digests are only compiled on request.
    pub schedule: bool,
    pub catch_up_days: u32,
    /// How long a compiler holds a day before another may take it over.
    pub digest_lease: Duration,
    /// The side each kind takes, in the order of `plans`: `daily` takes the top-level
    /// `perspective`, `rivals` and `alliances`, other kinds their own or those.
    pub sides: Vec<(String, Side)>,
    pub delivery: DeliveryConfig,
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    demo: Option<bool>,
    request_timeout_seconds: Option<u64>,
    max_concurrent_requests: Option<usize>,
    digest_cron: Option<String>,
    digest_time_zone: Option<String>,
    schedule: Option<bool>,
    catch_up_days: Option<u32>,
    digest_lease_seconds: Option<u64>,
    delivery_max_attempts: Option<u32>,
    delivery_first_retry_ms: Option<u64>,
    delivery_max_retry_seconds: Option<u64>,
    delivery_timeout_seconds: Option<u64>,
    /// The country whose side the digests take.
    perspective: Option<String>,
    /// Countries whose cooperation with others is an alignment to watch.
    rivals: Option<Vec<String>>,
    /// Alliances the digest reports first; the seed article's by default.
    alliances: Option<Vec<FileAlliance>>,
    /// Further digest kinds besides `daily`, each with its own schedule.
    #[serde(default)]
    kinds: BTreeMap<String, FileKind>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAlliance {
    name: String,
    members: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKind {
    cron: String,
    time_zone: Option<String>,
    perspective: Option<String>,
    rivals: Option<Vec<String>>,
    alliances: Option<Vec<FileAlliance>>,
}

impl Config {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let time_zone_name = args
            .digest_time_zone
            .clone()
            .or(file.digest_time_zone)
            .unwrap_or_else(|| DEFAULT_DIGEST_TIME_ZONE.into());
        let time_zone = parse_time_zone(&time_zone_name)
            .map_err(|problem| anyhow::anyhow!("digest_time_zone: {problem}"))?;
        let cron = args
            .digest_cron
            .clone()
            .or(file.digest_cron)
            .unwrap_or_else(|| DEFAULT_DIGEST_CRON.into());
        let mut plans = vec![
            Plan::parse(DEFAULT_KIND, &cron, time_zone)
                .map_err(|problem| anyhow::anyhow!("digest_cron: {problem}"))?,
        ];
        let perspective = args
            .perspective
            .clone()
            .or(file.perspective)
            .unwrap_or_else(|| DEFAULT_PERSPECTIVE.into());
        let rivals = args.rivals.clone().or(file.rivals).unwrap_or_else(|| {
            DEFAULT_RIVALS
                .iter()
                .map(|code| (*code).to_owned())
                .collect()
        });
        let alliances = match file.alliances {
            None => default_alliances(),
            Some(alliances) => parse_alliances("alliances", alliances)?,
        };
        let mut sides = vec![(
            DEFAULT_KIND.to_owned(),
            parse_side("", &perspective, &rivals, alliances.clone())?,
        )];
        for (kind, settings) in file.kinds {
            crate::digest::model::parse_kind(&kind)
                .map_err(|problem| anyhow::anyhow!("kinds: {problem}"))?;
            anyhow::ensure!(
                kind != DEFAULT_KIND,
                "kinds.{kind}: the daily kind is set with digest_cron and digest_time_zone"
            );
            let zone = match &settings.time_zone {
                Some(name) => parse_time_zone(name)
                    .map_err(|problem| anyhow::anyhow!("kinds.{kind}.time_zone: {problem}"))?,
                None => time_zone,
            };
            plans.push(
                Plan::parse(&kind, &settings.cron, zone)
                    .map_err(|problem| anyhow::anyhow!("kinds.{kind}.cron: {problem}"))?,
            );
            let kind_alliances = match settings.alliances {
                None => alliances.clone(),
                Some(own) => parse_alliances(&format!("kinds.{kind}.alliances"), own)?,
            };
            let side = parse_side(
                &format!("kinds.{kind}."),
                settings.perspective.as_deref().unwrap_or(&perspective),
                settings.rivals.as_deref().unwrap_or(&rivals),
                kind_alliances,
            )?;
            sides.push((kind, side));
        }
        let defaults = DeliveryConfig::default();
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
            plans,
            schedule: args.schedule.or(file.schedule).unwrap_or(true),
            catch_up_days: args.catch_up_days.or(file.catch_up_days).unwrap_or(7),
            digest_lease: Duration::from_secs(
                args.digest_lease_seconds
                    .or(file.digest_lease_seconds)
                    .unwrap_or(60),
            ),
            sides,
            delivery: DeliveryConfig {
                retry: RetrySchedule {
                    max_attempts: args
                        .delivery_max_attempts
                        .or(file.delivery_max_attempts)
                        .unwrap_or(defaults.retry.max_attempts),
                    first_delay: args
                        .delivery_first_retry_ms
                        .or(file.delivery_first_retry_ms)
                        .map_or(defaults.retry.first_delay, Duration::from_millis),
                    max_delay: args
                        .delivery_max_retry_seconds
                        .or(file.delivery_max_retry_seconds)
                        .map_or(defaults.retry.max_delay, Duration::from_secs),
                },
                request_timeout: args
                    .delivery_timeout_seconds
                    .or(file.delivery_timeout_seconds)
                    .map_or(defaults.request_timeout, Duration::from_secs),
                concurrency: defaults.concurrency,
            },
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
        anyhow::ensure!(
            self.catch_up_days <= 366,
            "catch_up_days must be at most 366"
        );
        anyhow::ensure!(
            !self.digest_lease.is_zero(),
            "digest_lease_seconds must be at least 1"
        );
        anyhow::ensure!(
            self.delivery.retry.max_attempts >= 1,
            "delivery_max_attempts must be at least 1"
        );
        anyhow::ensure!(
            !self.delivery.request_timeout.is_zero(),
            "delivery_timeout_seconds must be at least 1"
        );
        Ok(())
    }
}

/// A desk's side, checked: `prefix` is where its keys are (`""` or `"kinds.NAME."`), so an
/// error names the key, e.g. `kinds.seoul-desk.perspective: "XXX" is not …`.
pub fn parse_side(
    prefix: &str,
    perspective: &str,
    rivals: &[String],
    alliances: Vec<Alliance>,
) -> anyhow::Result<Side> {
    let perspective = CountryCode::parse(perspective)
        .map_err(|problem| anyhow::anyhow!("{prefix}perspective: {problem}"))?;
    let mut checked: Vec<CountryCode> = Vec::with_capacity(rivals.len());
    for rival in rivals {
        let rival = CountryCode::parse(rival.trim())
            .map_err(|problem| anyhow::anyhow!("{prefix}rivals: {problem}"))?;
        anyhow::ensure!(
            rival != perspective,
            "{prefix}rivals: {rival} is the perspective itself: a desk is not its own rival"
        );
        anyhow::ensure!(
            !checked.contains(&rival),
            "{prefix}rivals: {rival} is listed twice"
        );
        checked.push(rival);
    }
    Ok(Side {
        perspective,
        alliances,
        rivals: checked,
    })
}

fn parse_alliances(key: &str, alliances: Vec<FileAlliance>) -> anyhow::Result<Vec<Alliance>> {
    alliances
        .into_iter()
        .map(|alliance| parse_alliance(key, alliance))
        .collect()
}

fn parse_alliance(key: &str, alliance: FileAlliance) -> anyhow::Result<Alliance> {
    anyhow::ensure!(
        !alliance.name.trim().is_empty(),
        "{key}: every alliance needs a name"
    );
    let members = alliance
        .members
        .iter()
        .map(|code| {
            CountryCode::parse(code)
                .map_err(|problem| anyhow::anyhow!("{key}.{}: {problem}", alliance.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        members.len() >= 2,
        "{key}.{}: an alliance needs at least two members",
        alliance.name
    );
    Ok(Alliance {
        name: alliance.name,
        members,
    })
}

/// SQLite (embedded) or PostgreSQL (replicas); say so now rather than fail later with a
/// driver error.
pub fn check_database_url(url: &str) -> anyhow::Result<()> {
    if url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://")
    {
        Ok(())
    } else {
        anyhow::bail!(
            "unsupported database url {url:?}: use sqlite://PATH (e.g. {DEFAULT_DATABASE}) or postgres://USER@HOST:PORT/DATABASE"
        )
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
}
