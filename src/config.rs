//! The settings of `briefing serve`, declared once, and the [`Config`] they resolve to.
//!
//! Each setting comes from, in order of precedence: a command-line flag, a `BRIEFING_<NAME>`
//! environment variable, the TOML file given by `--config` (keys named like the variables
//! without the prefix, lowercase), then its default. `config/briefing.example.toml` shows them
//! all.
//!
//! **How.** [`settings!`] declares each setting in one line: its name, type, variable,
//! default and help. From that one line come a field of [`Settings`] (an `Option`, filled by
//! clap from the flag or the variable, and by serde from the file), the merge of two layers
//! (`flags_and_environment.or(file)`), the default (written once, as the text a person would
//! type, parsed like a flag), and the `[default: …]` in `--help` (clap adds `[env: …]`). Clap's
//! own `default_value` is not used for these settings: clap would fill the default in before
//! the file is read, and a file could then never override it. A macro over one struct rather
//! than a configuration crate (figment, config-rs): the precedence is four lines of code, and
//! clap keeps the variable of each flag next to it in `--help`.
//!
//! The file also holds what has no flag: `alliances`, the `[kinds.NAME]` tables and the
//! `[feeds.gdelt]` table.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::delivery::address::AllowList;
use crate::delivery::{DeliveryConfig, RetrySchedule};
use crate::digest::{Alliance, DEFAULT_KIND, Side, default_alliances};
use crate::domain::CountryCode;
use crate::domain::values::parse_time_zone;
use crate::feed::GdeltFeedConfig;
use crate::schedule::Plan;

/// Declares the layered settings: `name: Type = "default", "BRIEFING_NAME", "help"`, and
/// optionally further clap arguments in brackets.
macro_rules! settings {
    (
        $(
            $name:ident: $type:ty = $default:literal, $env:literal, $help:literal
            $(, [$($arg:tt)*])?;
        )*
    ) => {
        /// The settings of `briefing serve`, each unset (`None`) unless this layer sets it:
        /// flags and environment variables (clap) or the configuration file (serde).
        #[derive(Debug, Clone, Default, clap::Args, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $(
                #[arg(
                    long,
                    env = $env,
                    help = concat!($help, " [default: ", $default, "]")
                    $(, $($arg)*)?
                )]
                pub $name: Option<$type>,
            )*
            /// Alliances the digest reports first; the seed article's by default (file only).
            #[arg(skip)]
            pub alliances: Option<Vec<FileAlliance>>,
            /// Further digest kinds besides `daily`, each with its own schedule (file only).
            #[arg(skip)]
            #[serde(default)]
            pub kinds: BTreeMap<String, FileKind>,
            /// The feeds that bring real data in: `[feeds.gdelt]` (file only).
            #[arg(skip)]
            #[serde(default)]
            pub feeds: FileFeeds,
        }

        /// Every setting, resolved: the first layer that sets it, else its default.
        #[derive(Debug, Clone)]
        struct Resolved {
            $($name: $type,)*
        }

        /// The default of each setting, as text (what `--help` shows).
        #[derive(Debug, Clone, Copy)]
        pub struct Defaults {
            $(pub $name: &'static str,)*
        }

        /// The defaults of [`Settings`], written nowhere else.
        pub const DEFAULTS: Defaults = Defaults {
            $($name: $default,)*
        };

        impl Settings {
            /// Each setting from `self` where it is set, else from `lower`; what only the
            /// file holds comes from `lower`.
            pub fn or(self, lower: Self) -> Self {
                Self {
                    $($name: self.$name.or(lower.$name),)*
                    alliances: lower.alliances,
                    kinds: lower.kinds,
                    feeds: lower.feeds,
                }
            }

            fn resolve(&self) -> anyhow::Result<Resolved> {
                Ok(Resolved {
                    $(
                        $name: match &self.$name {
                            Some(value) => value.clone(),
                            None => DefaultValue::parse_default($default).map_err(|problem| {
                                anyhow::anyhow!(
                                    "the default {}: {problem}",
                                    stringify!($name)
                                )
                            })?,
                        },
                    )*
                })
            }
        }
    };
}

settings! {
    listen: String = "127.0.0.1:50051", "BRIEFING_LISTEN",
        "Address to listen on, HOST:PORT: an IP address or a name resolved at start-up (localhost:50051); port 0 picks a free port (the log says which)";
    database: String = "sqlite://briefing.db", "BRIEFING_DATABASE",
        "Database URL: sqlite://PATH, or postgres://USER@HOST:PORT/DATABASE for replicas";
    demo: bool = "false", "BRIEFING_DEMO",
        "Load the demo data set (the seed article) when the store is empty",
        [num_args = 0..=1, default_missing_value = "true",
         value_parser = clap::builder::BoolishValueParser::new()];
    request_timeout_seconds: u64 = "30", "BRIEFING_REQUEST_TIMEOUT_SECONDS",
        "Cancel calls that run longer than this many seconds";
    max_concurrent_requests: usize = "1024", "BRIEFING_MAX_CONCURRENT_REQUESTS",
        "Calls served at once per connection";
    digest_cron: String = "0 0 6 * * *", "BRIEFING_DIGEST_CRON",
        "Digest schedule of the daily kind: 6 cron fields, seconds first";
    digest_time_zone: String = "UTC", "BRIEFING_DIGEST_TIME_ZONE",
        "IANA time zone the digest days are reckoned in";
    perspective: String = "USA", "BRIEFING_PERSPECTIVE",
        "The country whose side the digests take, ISO 3166-1 alpha-3";
    rivals: Vec<String> = "PRK,RUS,CHN", "BRIEFING_RIVALS",
        "The rivals: their cooperation with others is an alignment to watch; comma-separated alpha-3 codes",
        [value_delimiter = ','];
    schedule: bool = "true", "BRIEFING_SCHEDULE",
        "Run the digest schedule and catch-up",
        [num_args = 0..=1, default_missing_value = "true",
         value_parser = clap::builder::BoolishValueParser::new()];
    catch_up_days: u32 = "7", "BRIEFING_CATCH_UP_DAYS",
        "Days missed during downtime that are compiled on start";
    digest_lease_seconds: u64 = "60", "BRIEFING_DIGEST_LEASE_SECONDS",
        "Seconds a compiler holds a day before another may take it over";
    delivery_max_attempts: u32 = "8", "BRIEFING_DELIVERY_MAX_ATTEMPTS",
        "Attempts per delivery before dead letter";
    delivery_first_retry_ms: u64 = "5000", "BRIEFING_DELIVERY_FIRST_RETRY_MS",
        "Delay before the first retry of a delivery, in milliseconds; doubles each time";
    delivery_max_retry_seconds: u64 = "3600", "BRIEFING_DELIVERY_MAX_RETRY_SECONDS",
        "Longest delay between delivery retries, in seconds";
    delivery_timeout_seconds: u64 = "10", "BRIEFING_DELIVERY_TIMEOUT_SECONDS",
        "Seconds a webhook has to answer";
    // Outgoing requests and secrets (the SSRF guard, file targets, secrets at rest).
    webhook_allow_cidrs: Vec<String> = "", "BRIEFING_WEBHOOK_ALLOW_CIDRS",
        "Address ranges webhooks may reach although they are loopback, private or reserved; comma-separated CIDRs, e.g. 127.0.0.0/8,::1/128",
        [value_delimiter = ','];
    dns_server: String = "", "BRIEFING_DNS_SERVER",
        "Address and port of the DNS server (e.g. 10.0.0.53:53) webhook names are resolved with, instead of the system's resolver";
    delivery_dir: String = "", "BRIEFING_DELIVERY_DIR",
        "Directory file subscriptions write under (each names a directory inside it); empty: file subscriptions are refused";
    secret_key_file: String = "", "BRIEFING_SECRET_KEY_FILE",
        "File holding the key (32 bytes, base64) that encrypts webhook signing secrets at rest; empty: stored in plain text";
    auth: String = "", "BRIEFING_AUTH",
        "token (calls need a bearer token) or none; unset: none when listening on a loopback address, token otherwise";
    tls_cert: String = "", "BRIEFING_TLS_CERT",
        "PEM certificate chain: with tls_key, the server speaks TLS only; a changed file is picked up without a restart";
    tls_key: String = "", "BRIEFING_TLS_KEY",
        "PEM private key of tls_cert";
    tls_client_ca: String = "", "BRIEFING_TLS_CLIENT_CA",
        "PEM CA certificates: with TLS on, clients must present a certificate this CA signed (mTLS)";
    costly_calls_per_minute: u32 = "12", "BRIEFING_COSTLY_CALLS_PER_MINUTE",
        "CompileDigest with force or deliver, and RedeliverDelivery: calls per minute each token (each client address without auth) may make of each";
    costly_calls_burst: u32 = "5", "BRIEFING_COSTLY_CALLS_BURST",
        "Costly calls a token may make at once before the per-minute rate applies";
    // Message size and validation (issue 12): what one call may carry.
    max_message_bytes: usize = "4194304", "BRIEFING_MAX_MESSAGE_BYTES",
        "Largest request or response message of any method, in bytes; a larger request gets RESOURCE_EXHAUSTED, and list pages stop short of it";
    // Connections and streams (issue 12): what one client, or many, may hold open.
    max_connections: usize = "4096", "BRIEFING_MAX_CONNECTIONS",
        "Connections open at once; kept below the file-descriptor limit, which start-up raises to its hard limit";
    handshake_timeout_seconds: u64 = "10", "BRIEFING_HANDSHAKE_TIMEOUT_SECONDS",
        "Seconds a new connection has to finish TLS and send HTTP/2's preface and SETTINGS before it is closed";
    max_concurrent_streams: u32 = "100", "BRIEFING_MAX_CONCURRENT_STREAMS",
        "HTTP/2 streams (calls) one connection may have open at once, advertised in SETTINGS";
    keepalive_interval_seconds: u64 = "30", "BRIEFING_KEEPALIVE_INTERVAL_SECONDS",
        "Seconds between HTTP/2 pings on an idle connection";
    keepalive_timeout_seconds: u64 = "20", "BRIEFING_KEEPALIVE_TIMEOUT_SECONDS",
        "Seconds a ping may go unanswered before the connection is closed";
    max_requests_in_flight: usize = "2048", "BRIEFING_MAX_REQUESTS_IN_FLIGHT",
        "Calls served at once across all connections; past it new calls get RESOURCE_EXHAUSTED (health checks are exempt)";
    max_watchers: usize = "1000", "BRIEFING_MAX_WATCHERS",
        "WatchDigests streams open at once; past it new ones get RESOURCE_EXHAUSTED";
    delivery_endpoint_concurrency: usize = "2", "BRIEFING_DELIVERY_ENDPOINT_CONCURRENCY",
        "Delivery attempts in flight at once to one webhook host (or one delivery directory)";
    // Operations (issue 13): the operators' HTTP listener, logs and shutdown.
    http_listen: String = "127.0.0.1:9464", "BRIEFING_HTTP_LISTEN",
        "Address of the operators' HTTP listener (/metrics, /livez, /readyz); port 0 picks a free port (the log says which); empty: off";
    log_format: String = "text", "BRIEFING_LOG_FORMAT",
        "text (for people) or json (one JSON object a line, for log collectors)";
    shutdown_drain_seconds: u64 = "5", "BRIEFING_SHUTDOWN_DRAIN_SECONDS",
        "Seconds the server keeps serving after SIGTERM while it reports not ready, so load balancers move away first";
    shutdown_grace_seconds: u64 = "30", "BRIEFING_SHUTDOWN_GRACE_SECONDS",
        "Seconds calls in flight have to finish once the server stops taking calls; a second SIGTERM or Ctrl-C exits at once";
}

/// A default, parsed from its text as the flag's value would be.
trait DefaultValue: Sized {
    fn parse_default(text: &str) -> Result<Self, String>;
}

macro_rules! default_from_str {
    ($($type:ty),*) => {
        $(impl DefaultValue for $type {
            fn parse_default(text: &str) -> Result<Self, String> {
                text.parse().map_err(|error| format!("{text:?}: {error}"))
            }
        })*
    };
}

default_from_str!(String, bool, u32, u64, usize);

/// Comma-separated, as `value_delimiter = ','` reads a flag.
impl DefaultValue for Vec<String> {
    fn parse_default(text: &str) -> Result<Self, String> {
        Ok(text.split(',').map(str::to_owned).collect())
    }
}

/// `briefing serve`: the configuration file and the settings given as flags or variables.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "BRIEFING_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

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
    /// Ranges webhooks may reach despite the SSRF guard.
    pub webhook_allow_cidrs: AllowList,
    /// Resolve webhook names with this DNS server instead of the system's resolver.
    pub dns_server: Option<SocketAddr>,
    /// File subscriptions write under this directory; None: they are refused.
    pub delivery_dir: Option<PathBuf>,
    /// The key that encrypts webhook signing secrets at rest; None: stored in plain text.
    pub secret_key_file: Option<PathBuf>,
    /// Whether calls need a token.
    pub auth: AuthMode,
    /// TLS (and mTLS) when set.
    pub tls: Option<TlsFiles>,
    /// The rate of each costly call per token (or client address).
    pub costly_calls: CostlyCallQuota,
    /// Connections, streams, keepalive and load shedding.
    pub transport: TransportLimits,
    /// WatchDigests streams open at once.
    pub max_watchers: usize,
    /// The operators' HTTP listener; None: off.
    pub http_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// How long the server keeps serving, not ready, after the first signal.
    pub shutdown_drain: Duration,
    /// How long calls in flight may take to finish once the server stops taking calls.
    pub shutdown_grace: Duration,
    /// The largest message a call may send or receive, on every service.
    pub max_message_bytes: usize,
    /// `[feeds.gdelt]`: GDELT's 15-minute event exports, followed when enabled.
    pub gdelt_feed: GdeltFeedConfig,
}

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For people: one line of text per event.
    #[default]
    Text,
    /// For log collectors: one JSON object per line.
    Json,
}

impl LogFormat {
    fn parse(written: &str) -> anyhow::Result<Self> {
        match written.trim() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => anyhow::bail!("log_format: {other:?} is not a format: use text or json"),
        }
    }
}

/// What clients may hold of the server: connections, streams and calls in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportLimits {
    pub max_connections: usize,
    /// A connection that has not finished TLS and sent its HTTP/2 preface and SETTINGS by then
    /// is closed.
    pub handshake_timeout: Duration,
    pub max_concurrent_streams: u32,
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// Calls served at once across all connections; more are refused.
    pub max_requests_in_flight: usize,
}

/// Whether calls must carry a token (`auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every call but health and reflection needs `authorization: Bearer TOKEN` with a role
    /// that allows it.
    Token,
    /// Anyone who reaches the port may do anything.
    None,
}

impl AuthMode {
    /// `auth` as written; unset, `none` only on a loopback address (what only this machine
    /// can reach), as Redis' protected mode does.
    fn resolve(written: &str, listen: SocketAddr) -> anyhow::Result<Self> {
        match written.trim() {
            "" if listen.ip().is_loopback() => Ok(Self::None),
            "" | "token" => Ok(Self::Token),
            "none" => Ok(Self::None),
            other => anyhow::bail!("auth: {other:?} is not a mode: use token or none"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::None => "none",
        }
    }
}

/// The PEM files of the server's TLS: its certificate chain and key, and the CA its clients'
/// certificates must chain to when mTLS is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn resolve(cert: &str, key: &str, client_ca: &str) -> anyhow::Result<Option<Self>> {
        let path = |text: &str| (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
        match (path(cert), path(key), path(client_ca)) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), client_ca) => Ok(Some(Self {
                cert,
                key,
                client_ca,
            })),
            (None, None, Some(_)) => {
                anyhow::bail!("tls_client_ca needs TLS: set tls_cert and tls_key too")
            }
            (Some(_), None, _) => anyhow::bail!("tls_cert needs tls_key, the certificate's key"),
            (None, Some(_), _) => anyhow::bail!("tls_key needs tls_cert, the key's certificate"),
        }
    }
}

/// How often each token may make each costly call: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostlyCallQuota {
    pub per_minute: std::num::NonZeroU32,
    pub burst: std::num::NonZeroU32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlliance {
    name: String,
    members: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKind {
    cron: String,
    time_zone: Option<String>,
    perspective: Option<String>,
    rivals: Option<Vec<String>>,
    alliances: Option<Vec<FileAlliance>>,
}

/// `[feeds.*]`: the feeds the server follows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFeeds {
    gdelt: Option<FileGdeltFeed>,
}

/// `[feeds.gdelt]`, each key optional (its default in `crate::feed::defaults`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileGdeltFeed {
    enabled: Option<bool>,
    url: Option<String>,
    master_url: Option<String>,
    interval_seconds: Option<u64>,
    catch_up_hours: Option<u32>,
    countries: Option<Vec<String>>,
    min_sources: Option<u32>,
    root_events_only: Option<bool>,
    retry_base_ms: Option<u64>,
    lease_seconds: Option<u64>,
    max_file_bytes: Option<u64>,
    download_timeout_seconds: Option<u64>,
}

/// `[feeds.gdelt]` checked, every key that is left out at its default; errors name the key.
fn parse_gdelt_feed(file: FileGdeltFeed) -> anyhow::Result<GdeltFeedConfig> {
    use crate::feed::defaults;
    let key = |name: &str| format!("feeds.gdelt.{name}");
    let url = |name: &str, written: Option<String>, default: &str| {
        let text = written.unwrap_or_else(|| default.to_owned());
        crate::feed::parse_feed_url(&text)
            .map_err(|problem| anyhow::anyhow!("{}: {problem}", key(name)))
    };
    let mut countries = Vec::new();
    for code in file.countries.unwrap_or_default() {
        countries.push(
            CountryCode::parse(code.trim())
                .map_err(|problem| anyhow::anyhow!("{}: {problem}", key("countries")))?,
        );
    }
    let interval_seconds = file.interval_seconds.unwrap_or(defaults::INTERVAL_SECONDS);
    anyhow::ensure!(
        (1..=86_400).contains(&interval_seconds),
        "{}: must be from 1 to 86400 seconds, got {interval_seconds}",
        key("interval_seconds")
    );
    let catch_up_hours = file.catch_up_hours.unwrap_or(defaults::CATCH_UP_HOURS);
    anyhow::ensure!(
        catch_up_hours <= defaults::MAX_CATCH_UP_HOURS,
        "{}: must be at most {} (31 days), got {catch_up_hours}",
        key("catch_up_hours"),
        defaults::MAX_CATCH_UP_HOURS
    );
    let retry_base_ms = file.retry_base_ms.unwrap_or(defaults::RETRY_BASE_MS);
    anyhow::ensure!(
        retry_base_ms >= 1,
        "{}: must be at least 1",
        key("retry_base_ms")
    );
    let lease_seconds = file.lease_seconds.unwrap_or(defaults::LEASE_SECONDS);
    anyhow::ensure!(
        lease_seconds >= 1,
        "{}: must be at least 1",
        key("lease_seconds")
    );
    let max_file_bytes = file.max_file_bytes.unwrap_or(defaults::MAX_FILE_BYTES);
    anyhow::ensure!(
        (1..=defaults::MAX_FILE_BYTES_LIMIT).contains(&max_file_bytes),
        "{}: must be from 1 to {} bytes, got {max_file_bytes}",
        key("max_file_bytes"),
        defaults::MAX_FILE_BYTES_LIMIT
    );
    let download_timeout_seconds = file
        .download_timeout_seconds
        .unwrap_or(defaults::DOWNLOAD_TIMEOUT_SECONDS);
    anyhow::ensure!(
        download_timeout_seconds >= 1,
        "{}: must be at least 1",
        key("download_timeout_seconds")
    );
    Ok(GdeltFeedConfig {
        enabled: file.enabled.unwrap_or(false),
        url: url("url", file.url, defaults::URL)?,
        master_url: url("master_url", file.master_url, defaults::MASTER_URL)?,
        interval: Duration::from_secs(interval_seconds),
        catch_up: Duration::from_secs(u64::from(catch_up_hours) * 3600),
        filter: crate::import::gdelt::Filter {
            countries,
            min_sources: file.min_sources.unwrap_or(0),
            root_events_only: file.root_events_only.unwrap_or(false),
        },
        retry_base: Duration::from_millis(retry_base_ms),
        lease: Duration::from_secs(lease_seconds),
        max_file_bytes,
        download_timeout: Duration::from_secs(download_timeout_seconds),
    })
}

/// Deliveries attempted at once (not a setting): each waits on its receiver, not on the
/// machine, so many receivers that hang hold few resources, and a healthy one still finds a
/// place.
const DELIVERY_CONCURRENCY: usize = 128;

impl Config {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => Settings::default(),
        };
        let settings = args.settings.clone().or(file);
        let resolved = settings.resolve()?;
        let time_zone = parse_time_zone(&resolved.digest_time_zone)
            .map_err(|problem| anyhow::anyhow!("digest_time_zone: {problem}"))?;
        let mut plans = vec![
            Plan::parse(DEFAULT_KIND, &resolved.digest_cron, time_zone)
                .map_err(|problem| anyhow::anyhow!("digest_cron: {problem}"))?,
        ];
        let perspective = &resolved.perspective;
        let rivals = &resolved.rivals;
        let alliances = match settings.alliances {
            None => default_alliances(),
            Some(alliances) => parse_alliances("alliances", alliances)?,
        };
        let mut sides = vec![(
            DEFAULT_KIND.to_owned(),
            parse_side("", perspective, rivals, alliances.clone())?,
        )];
        for (kind, settings) in settings.kinds {
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
                settings.perspective.as_deref().unwrap_or(perspective),
                settings.rivals.as_deref().unwrap_or(rivals),
                kind_alliances,
            )?;
            sides.push((kind, side));
        }
        let listen = resolve_listen(&resolved.listen)?;
        let gdelt_feed = parse_gdelt_feed(settings.feeds.gdelt.unwrap_or_default())?;
        let config = Self {
            listen,
            database: resolved.database,
            demo: resolved.demo,
            request_timeout: Duration::from_secs(resolved.request_timeout_seconds),
            max_concurrent_requests: resolved.max_concurrent_requests,
            plans,
            schedule: resolved.schedule,
            catch_up_days: resolved.catch_up_days,
            digest_lease: Duration::from_secs(resolved.digest_lease_seconds),
            sides,
            delivery: DeliveryConfig {
                retry: RetrySchedule {
                    max_attempts: resolved.delivery_max_attempts,
                    first_delay: Duration::from_millis(resolved.delivery_first_retry_ms),
                    max_delay: Duration::from_secs(resolved.delivery_max_retry_seconds),
                },
                request_timeout: Duration::from_secs(resolved.delivery_timeout_seconds),
                concurrency: DELIVERY_CONCURRENCY,
                endpoint_concurrency: resolved.delivery_endpoint_concurrency,
            },
            webhook_allow_cidrs: AllowList::parse(&resolved.webhook_allow_cidrs)
                .map_err(|problem| anyhow::anyhow!("webhook_allow_cidrs: {problem}"))?,
            dns_server: match resolved.dns_server.trim() {
                "" => None,
                server => Some(server.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "dns_server: {server:?} is not an address and port such as 127.0.0.1:53"
                    )
                })?),
            },
            delivery_dir: optional_path(&resolved.delivery_dir),
            secret_key_file: optional_path(&resolved.secret_key_file),
            auth: AuthMode::resolve(&resolved.auth, listen)?,
            tls: TlsFiles::resolve(
                &resolved.tls_cert,
                &resolved.tls_key,
                &resolved.tls_client_ca,
            )?,
            costly_calls: CostlyCallQuota {
                per_minute: std::num::NonZeroU32::new(resolved.costly_calls_per_minute)
                    .context("costly_calls_per_minute must be at least 1")?,
                burst: std::num::NonZeroU32::new(resolved.costly_calls_burst)
                    .context("costly_calls_burst must be at least 1")?,
            },
            transport: TransportLimits {
                max_connections: resolved.max_connections,
                handshake_timeout: Duration::from_secs(resolved.handshake_timeout_seconds),
                max_concurrent_streams: resolved.max_concurrent_streams,
                keepalive_interval: Duration::from_secs(resolved.keepalive_interval_seconds),
                keepalive_timeout: Duration::from_secs(resolved.keepalive_timeout_seconds),
                max_requests_in_flight: resolved.max_requests_in_flight,
            },
            max_watchers: resolved.max_watchers,
            http_listen: match resolved.http_listen.trim() {
                "" => None,
                address => Some(address.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "http_listen: {address:?} is not an address and port such as 127.0.0.1:9464 (empty turns the listener off)"
                    )
                })?),
            },
            log_format: LogFormat::parse(&resolved.log_format)?,
            shutdown_drain: Duration::from_secs(resolved.shutdown_drain_seconds),
            shutdown_grace: Duration::from_secs(resolved.shutdown_grace_seconds),
            max_message_bytes: resolved.max_message_bytes,
            gdelt_feed,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        check_database_url(&self.database)?;
        anyhow::ensure!(
            self.max_message_bytes >= 64 * 1024,
            "max_message_bytes must be at least 65536: a digest or a page of one item needs that much"
        );
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
        anyhow::ensure!(
            self.delivery.endpoint_concurrency >= 1,
            "delivery_endpoint_concurrency must be at least 1"
        );
        let transport = &self.transport;
        anyhow::ensure!(
            transport.max_connections >= 1,
            "max_connections must be at least 1"
        );
        anyhow::ensure!(
            !transport.handshake_timeout.is_zero(),
            "handshake_timeout_seconds must be at least 1"
        );
        anyhow::ensure!(
            transport.max_concurrent_streams >= 1,
            "max_concurrent_streams must be at least 1"
        );
        anyhow::ensure!(
            !transport.keepalive_interval.is_zero() && !transport.keepalive_timeout.is_zero(),
            "keepalive_interval_seconds and keepalive_timeout_seconds must be at least 1"
        );
        anyhow::ensure!(
            transport.max_requests_in_flight >= 1,
            "max_requests_in_flight must be at least 1"
        );
        Ok(())
    }
}

/// `listen`: an address and port, or a host name and port resolved now, once. A name takes
/// its first IPv4 address (`localhost` is then 127.0.0.1 whatever the order of /etc/hosts),
/// else its first.
fn resolve_listen(text: &str) -> anyhow::Result<SocketAddr> {
    use std::net::ToSocketAddrs as _;
    if let Ok(address) = text.trim().parse() {
        return Ok(address);
    }
    let malformed = || {
        anyhow::anyhow!(
            "listen (--listen, BRIEFING_LISTEN): {text:?} is not HOST:PORT, e.g. 127.0.0.1:50051 or localhost:50051"
        )
    };
    let (host, port) = text.trim().rsplit_once(':').ok_or_else(malformed)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(malformed());
    }
    let addresses: Vec<SocketAddr> = text
        .trim()
        .to_socket_addrs()
        .with_context(|| {
            format!("listen (--listen, BRIEFING_LISTEN): cannot resolve the host name {host:?}")
        })?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or_else(|| addresses.first())
        .copied()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "listen (--listen, BRIEFING_LISTEN): the host name {host:?} has no address"
            )
        })
}

/// An empty setting is an unset path.
fn optional_path(text: &str) -> Option<PathBuf> {
    (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()))
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
            "unsupported database url {:?}: use sqlite://PATH (e.g. {}) or postgres://USER@HOST:PORT/DATABASE",
            crate::domain::values::redacted_setting(url),
            DEFAULTS.database
        )
    }
}

/// The database a command other than `serve` works on (`briefing token`): `database` from
/// the flag or `BRIEFING_DATABASE`, else from the configuration file, else the default, as
/// `serve` resolves it, so both find the same store.
pub fn database_url(config: Option<&Path>, database: Option<String>) -> anyhow::Result<String> {
    let file = match config {
        Some(path) => read_file(path)?,
        None => Settings::default(),
    };
    let flags = Settings {
        database,
        ..Settings::default()
    };
    let url = flags.or(file).resolve()?.database;
    check_database_url(&url)?;
    Ok(url)
}

fn read_file(path: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{DEFAULTS, ServeArgs, Settings};

    #[derive(clap::Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    #[test]
    fn every_default_parses() {
        let resolved = Settings::default().resolve().expect("the defaults resolve");
        assert_eq!(resolved.listen, DEFAULTS.listen);
        assert_eq!(resolved.rivals, ["PRK", "RUS", "CHN"]);
        assert!(resolved.schedule);
    }

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        let flags = Serve::try_parse_from(["serve", "--catch-up-days", "2", "--demo"])
            .expect("flags parse")
            .args
            .settings;
        let file: Settings =
            toml::from_str("catch_up_days = 3\ndigest_lease_seconds = 9\n").expect("file parses");
        let resolved = flags.or(file).resolve().expect("resolves");
        assert_eq!(resolved.catch_up_days, 2);
        assert_eq!(resolved.digest_lease_seconds, 9);
        assert!(resolved.demo);
        assert_eq!(resolved.delivery_max_attempts, 8);
    }
}
