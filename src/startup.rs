//! Builds the application from configuration, and runs each subcommand. `main` stays small.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use tokio::sync::{Notify, watch};

use crate::cli::{
    Command, DigestArgs, DigestFormat, ImportArgs, ImportFormat, RotateSecretKeyArgs, TokenArgs,
    TokenCommand,
};
use crate::config::{AuthMode, Config, LogFormat, ServeArgs, Settings, check_database_url};
use crate::delivery::guard::EgressGuard;
use crate::delivery::{DeliveryDir, Egress, Worker};
use crate::domain::token::{AccessRole, ApiToken, TokenName, TokenSecret};
use crate::domain::values::{parse_date, parse_time_zone, redacted_setting};
use crate::import;
use crate::ops::http::Operations;
use crate::ops::{Metrics, Readiness, metrics};
use crate::schedule::{
    Clock, KindSettings, RetryPolicy, Runner, RunnerSettings, Scheduler, SystemClock,
};
use crate::store::Store;
use crate::store::postgres::PostgresStore;
use crate::store::secrets::SecretSealer;
use crate::store::sqlite::{ServingLock, SqliteStore, lock_for_serving};

/// A server with its store open and its port bound, ready to run. Tests bind port 0 and ask
/// [`Application::port`] which one they got.
pub struct Application {
    config: Config,
    store: Arc<dyn Store>,
    runner: Arc<Runner>,
    /// Wakes the delivery worker when deliveries are queued.
    deliveries_queued: Arc<Notify>,
    /// The SSRF guard and the delivery directory, for the API and the worker.
    egress: Egress,
    listener: TcpListener,
    /// The operators' listener (`http_listen`), unless it is off.
    http_listener: Option<TcpListener>,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    /// Keeps a second server off the same SQLite file while this one runs.
    serving_lock: Option<ServingLock>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (secrets, delivery_dir) = open_files(&config)?;
        let egress = Egress {
            guard: Arc::new(EgressGuard::new(
                config.webhook_allow_cidrs.clone(),
                config.dns_server,
            )),
            delivery_dir,
        };
        // Before the store opens: a second server must not touch the file at all.
        let serving_lock = if config.database.starts_with("sqlite:") {
            lock_for_serving(&config.database)?
        } else {
            None
        };
        let store = open_store_with_secrets(&config.database, secrets).await?;
        if config.demo {
            let report = import::load_demo_if_empty(store.as_ref()).await?;
            tracing::info!(loaded = report.stored, "demo data set");
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let http_listener = match config.http_listen {
            Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
                format!("cannot listen on {address} (http_listen; empty turns it off)")
            })?),
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        let deliveries_queued = Arc::new(Notify::new());
        let settings = RunnerSettings {
            kinds: config
                .plans
                .iter()
                .zip(&config.sides)
                .map(|(plan, (_, side))| {
                    let settings = KindSettings {
                        time_zone: plan.time_zone,
                        side: side.clone(),
                    };
                    (plan.kind.clone(), settings)
                })
                .collect(),
            lease: config.digest_lease,
            wait: config.digest_lease + std::time::Duration::from_secs(5),
        };
        let runner = Arc::new(
            Runner::new(store.clone(), settings, deliveries_queued.clone())
                .with_metrics(metrics.clone()),
        );
        Ok(Self {
            config,
            store,
            runner,
            deliveries_queued,
            egress,
            listener,
            http_listener,
            metrics,
            readiness: Readiness::new(),
            serving_lock,
        })
    }

    /// The port of the operators' listener, if it is on.
    pub fn http_port(&self) -> Option<u16> {
        let listener = self.http_listener.as_ref()?;
        listener.local_addr().ok().map(|address| address.port())
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0)
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        let tls = match &self.config.tls {
            None => "off",
            Some(files) if files.client_ca.is_some() => "mtls",
            Some(_) => "on",
        };
        let auth = self.config.auth.as_str();
        if self.config.auth == AuthMode::None && !address.ip().is_loopback() {
            // Only written on purpose (unset, a network address means token): say what it means.
            tracing::warn!(
                %address,
                database = %redacted_setting(&self.config.database),
                auth,
                tls,
                version = metrics::VERSION,
                commit = metrics::COMMIT,
                "serving with auth = none on a network address: anyone who can reach it may read, change and delete everything"
            );
        } else {
            tracing::info!(
                %address,
                database = %redacted_setting(&self.config.database),
                auth,
                tls,
                version = metrics::VERSION,
                commit = metrics::COMMIT,
                "serving"
            );
        }
        if self.config.auth == AuthMode::Token && self.store.list_tokens().await?.is_empty() {
            tracing::warn!(
                "auth = token and no token exists yet: every call but health and reflection is refused until one is made with `briefing token create`"
            );
        }
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = Worker::new(
            self.store.clone(),
            self.config.delivery,
            self.egress.clone(),
            self.deliveries_queued.clone(),
        )?
        .with_metrics(self.metrics.clone());
        let worker = tokio::spawn(worker.run(worker_stopped));
        // The feed goes through the webhooks' SSRF guard (its configured hosts excepted).
        let (stop_feed, feed_stopped) = watch::channel(false);
        let feed = if self.config.gdelt_feed.enabled {
            let feed = crate::feed::GdeltFeed::new(
                self.config.gdelt_feed.clone(),
                self.store.clone(),
                self.egress.guard.clone(),
                self.metrics.clone(),
            )?;
            Some(tokio::spawn(feed.run(feed_stopped)))
        } else {
            None
        };
        let (stop_operations, operations_stopped) = tokio::sync::oneshot::channel::<()>();
        let operations = self.http_listener.map(|listener| {
            if let Ok(address) = listener.local_addr() {
                tracing::info!(%address, "operators' http listener: /metrics, /livez, /readyz");
            }
            let operations = Operations {
                store: self.store.clone(),
                metrics: self.metrics.clone(),
                readiness: self.readiness.clone(),
            };
            tokio::spawn(crate::ops::http::serve(listener, operations, async {
                let _ = operations_stopped.await;
            }))
        });
        // The schedule starts beside the server: catch-up may take a while and must not delay serving.
        let schedule = self.config.schedule.then(|| {
            let scheduler = Arc::new(Scheduler::new(
                self.store.clone(),
                self.runner.clone(),
                self.config.plans.clone(),
                self.config.catch_up_days,
                RetryPolicy::default(),
                Arc::new(SystemClock) as Arc<dyn Clock>,
            ));
            tokio::spawn(scheduler.start())
        });
        let store = self.store.clone();
        let services = crate::api::server::Services {
            store: self.store,
            runner: self.runner,
            deliveries_queued: self.deliveries_queued,
            egress: self.egress,
            metrics: self.metrics,
            readiness: self.readiness.clone(),
        };
        // The first signal makes the server not ready; it goes on serving through the drain
        // window, so load balancers that poll readiness move their clients away first.
        let readiness = self.readiness;
        let drain = self.config.shutdown_drain;
        let grace = self.config.shutdown_grace;
        let shutdown = async move {
            shutdown.await;
            readiness.start_draining();
            tracing::info!(
                drain_seconds = drain.as_secs(),
                "draining: reporting not ready, still serving"
            );
            tokio::time::sleep(drain).await;
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "no longer taking calls: finishing calls in flight"
            );
        };
        let served =
            crate::api::server::serve(&self.config, services, self.listener, shutdown).await;
        let _ = stop_worker.send(true);
        let _ = stop_feed.send(true);
        if let Some(mut feed) = feed {
            // The feed gives back a file it holds; one that cannot within a second is left
            // to its lease, and imported again later.
            if tokio::time::timeout(std::time::Duration::from_secs(1), &mut feed)
                .await
                .is_err()
            {
                feed.abort();
            }
        }
        if let Some(schedule) = schedule {
            schedule.abort();
            // Aborting is a no-op once start() is done; then its job scheduler is shut down.
            if let Ok(Ok(Ok(mut jobs))) =
                tokio::time::timeout(std::time::Duration::from_secs(1), schedule).await
            {
                let _ = jobs.shutdown().await;
            }
        }
        let _ = worker.await;
        let _ = stop_operations.send(());
        if let Some(operations) = operations {
            match operations.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "the operators' http listener failed"),
                Err(error) => tracing::error!(%error, "the operators' http listener stopped"),
            }
        }
        store.close().await;
        // Only once the store is closed may another server take the file.
        drop(self.serving_lock);
        served
    }
}

/// Reads the files the configuration names (TLS, the secret key, the delivery directory), so
/// a bad one stops start-up (and `check-config`) with its setting named.
fn open_files(config: &Config) -> anyhow::Result<(SecretSealer, Option<DeliveryDir>)> {
    if let Some(files) = &config.tls {
        crate::api::tls::check(files)?;
    }
    let secrets = match &config.secret_key_file {
        Some(path) => SecretSealer::from_key_file(path)
            .map_err(|problem| anyhow::anyhow!("secret_key_file: {problem}"))?,
        None => SecretSealer::default(),
    };
    let delivery_dir = match &config.delivery_dir {
        Some(path) => Some(DeliveryDir::open(path).with_context(|| {
            format!(
                "delivery_dir: {} must be an existing directory",
                path.display()
            )
        })?),
        None => None,
    };
    Ok((secrets, delivery_dir))
}

/// `briefing check-config`: the configuration resolved as `serve` resolves it, and its files
/// read; nothing is bound, opened or started.
fn check_config(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args)?;
    open_files(&config)?;
    let kinds: Vec<&str> = config.plans.iter().map(|plan| plan.kind.as_str()).collect();
    let feed = if config.gdelt_feed.enabled {
        format!(
            "gdelt feed from {}",
            crate::domain::values::redacted_url(&config.gdelt_feed.url)
        )
    } else {
        "gdelt feed off".to_owned()
    };
    println!(
        "configuration is valid: listen {}, database {}, auth {}, digest kinds {}, {feed}",
        config.listen,
        redacted_setting(&config.database),
        config.auth.as_str(),
        kinds.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens the store a database URL names, applying migrations; signing secrets in plain text.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_store_with_secrets(url, SecretSealer::default()).await
}

/// Opens the store a database URL names, applying migrations; signing secrets sealed with
/// `secrets`.
pub async fn open_store_with_secrets(
    url: &str,
    secrets: SecretSealer,
) -> anyhow::Result<Arc<dyn Store>> {
    check_database_url(url)?;
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::open(url).await?.with_secrets(secrets),
        ))
    } else {
        Ok(Arc::new(
            PostgresStore::open(url).await?.with_secrets(secrets),
        ))
    }
}

/// `briefing rotate-secret-key`: every signing secret opened with the current key (or read as
/// plain text) and sealed with the new one, in one transaction. Servers still running with
/// the old key fail their deliveries (and retry them) until they are restarted with the new.
async fn rotate_secret_key(args: RotateSecretKeyArgs) -> anyhow::Result<ExitCode> {
    let current = match &args.key_file {
        Some(path) => SecretSealer::from_key_file(path)
            .map_err(|problem| anyhow::anyhow!("--key-file: {problem}"))?,
        None => SecretSealer::default(),
    };
    let next = SecretSealer::from_key_file(&args.new_key_file)
        .map_err(|problem| anyhow::anyhow!("--new-key-file: {problem}"))?;
    let store = open_store_with_secrets(&args.database.database, current).await?;
    let count = store.reseal_secrets(&next).await?;
    println!(
        "sealed {count} webhook signing secrets with key {}; now set secret_key_file to {} and restart the servers",
        next.key_id().unwrap_or_default(),
        args.new_key_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets up logging (`serve` in its configured format, the other commands as text) and runs
/// `command`.
pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = Config::load(&args).inspect_err(|_| init_tracing(LogFormat::Text))?;
            init_tracing(config.log_format);
            let signals = ShutdownSignals::listen()?;
            let application = Application::build(config).await?;
            application.run_until(signals.first()).await?;
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        other => {
            init_tracing(LogFormat::Text);
            run_command(other).await
        }
    }
}

/// Every command but `serve`.
async fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(_) => unreachable!("run() serves"),
        Command::RotateSecretKey(args) => rotate_secret_key(args).await,
        Command::Migrate(args) => {
            open_store(&args.database).await?;
            println!(
                "schema of {} is up to date",
                redacted_setting(&args.database)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Digest(args) => print_digest(args).await,
        Command::CheckConfig(args) => check_config(&args),
        Command::Backup(args) => {
            let database = &args.database.database;
            let size = crate::store::sqlite::backup::backup(database, &args.to, args.force).await?;
            println!(
                "backed up {} to {} ({size} bytes)",
                redacted_setting(database),
                args.to.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore(args) => {
            let database = &args.database.database;
            crate::store::sqlite::backup::restore(database, &args.from).await?;
            println!(
                "restored {} from {}",
                redacted_setting(database),
                args.from.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(args) => manage_tokens(args).await,
        Command::Import(args) if args.format == ImportFormat::Gdelt => import_gdelt(args).await,
        Command::Import(args) => import_records(args).await,
    }
}

/// `briefing import FILE|-`: each bad record on stderr as `line N: field: problem`, then a
/// summary line on stdout; exit code 2 when a record was bad.
async fn import_records(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        ImportFormat::Json => import::source::InputFormat::Json,
        _ => import::source::InputFormat::Ndjson,
    };
    let options = import::stream::Options {
        format,
        batch_size: args.batch_size as usize,
        dry_run: args.dry_run,
    };
    let store = if args.dry_run {
        None
    } else {
        Some(open_store(&args.database.database).await?)
    };
    let shown = if args.file.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        args.file.display().to_string()
    };
    let summary = import::stream::import(&args.file, store.as_deref(), options, |line, problem| {
        eprintln!("line {line}: {problem}");
    })
    .await
    .with_context(|| format!("cannot read {shown}"))?;
    let seconds = summary.elapsed.as_secs_f64();
    let rate = import::stream::rate(summary.checked, summary.elapsed);
    if args.dry_run {
        println!(
            "checked {} records in {seconds:.1} s: {} bad; nothing written (dry run)",
            summary.checked, summary.bad
        );
    } else if let Some(stop) = summary.stopped {
        println!(
            "stopped at line {}: kept {} records, the batches before line {}; nothing from line {} on was written",
            stop.line, summary.stored, stop.batch_start, stop.batch_start
        );
    } else {
        println!(
            "imported {} records in {seconds:.1} s ({rate} records/s)",
            summary.stored
        );
    }
    Ok(if summary.bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// `briefing import --format gdelt`: maps and stores a GDELT export, then prints what it
/// read, stored and skipped. Exits 2 when a row was malformed.
async fn import_gdelt(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut countries = Vec::new();
    for code in &args.gdelt.countries {
        countries.push(
            crate::domain::CountryCode::parse(code.trim())
                .map_err(|problem| anyhow::anyhow!("--countries: {problem}"))?,
        );
    }
    let filter = import::gdelt::Filter {
        countries,
        min_sources: args.gdelt.min_sources,
        root_events_only: args.gdelt.root_events_only,
    };
    let input: Box<dyn std::io::Read + Send> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?,
        )
    };
    let store = if args.dry_run {
        None
    } else {
        Some(open_store(&args.database.database).await?)
    };
    let summary = import::gdelt::import(store.as_deref(), input, filter)
        .await
        .with_context(|| format!("cannot import {}", args.file.display()))?;
    let verb = if args.dry_run { "dry run: " } else { "" };
    println!("{verb}{summary}");
    Ok(if summary.skipped(import::gdelt::Skip::Malformed) == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// `briefing digest`: compiles a day from the database, or from the demo data set in a
/// temporary database, and prints it. Nothing is stored in the ledger or delivered.
async fn print_digest(args: DigestArgs) -> anyhow::Result<ExitCode> {
    let day = parse_date(&args.date).map_err(|problem| anyhow::anyhow!("--date: {problem}"))?;
    let kind = crate::digest::model::parse_kind(&args.kind)
        .map_err(|problem| anyhow::anyhow!("--kind: {problem}"))?;
    // The server's configuration, resolved as `serve` resolves it, with this command's flags
    // on top: the digest printed is the one the server would compile.
    let config = Config::load(&ServeArgs {
        config: args.config.clone(),
        settings: Settings {
            digest_time_zone: args.time_zone.clone(),
            perspective: args.perspective.clone(),
            rivals: args.rivals.clone(),
            database: args.database.clone(),
            ..Settings::default()
        },
    })?;
    let plan = config
        .plans
        .iter()
        .position(|plan| plan.kind == kind)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--kind: {kind} is not a configured kind: daily, or a [kinds.{kind}] table of the --config file"
            )
        })?;
    let time_zone = match &args.time_zone {
        Some(zone) => {
            parse_time_zone(zone).map_err(|problem| anyhow::anyhow!("--time-zone: {problem}"))?
        }
        None => config.plans[plan].time_zone,
    };
    let side = config.sides[plan].1.clone();
    let scratch = if args.demo {
        Some(std::env::temp_dir().join(format!("briefing-demo-{}", uuid::Uuid::now_v7().simple())))
    } else {
        None
    };
    let url = match &scratch {
        Some(directory) => {
            std::fs::create_dir_all(directory)?;
            format!("sqlite://{}", directory.join("demo.db").display())
        }
        None => config.database.clone(),
    };
    let compiled = async {
        let store = open_store(&url).await?;
        if args.demo {
            import::load_demo_if_empty(store.as_ref()).await?;
        }
        let digest = crate::schedule::runner::compile_from_store(
            store.as_ref(),
            &kind,
            day,
            time_zone,
            &side,
        )
        .await?;
        anyhow::Ok(digest.digest)
    }
    .await;
    if let Some(directory) = scratch {
        let _ = std::fs::remove_dir_all(directory);
    }
    let digest = compiled?;
    let text = match args.format {
        DigestFormat::Markdown => digest.markdown,
        DigestFormat::Json => serde_json::to_string_pretty(&digest)? + "\n",
    };
    print_to_stdout(&text)
}

/// Writes `text` to standard output. A reader that stops early (`| head -1`) closes the pipe:
/// that is the reader's choice, not a failure, so it ends the command quietly and successfully.
fn print_to_stdout(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(error).context("cannot write the digest to standard output"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `briefing token create | list | revoke`, on the store `serve` would open.
async fn manage_tokens(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let url = crate::config::database_url(args.config.as_deref(), args.database)?;
    let store = open_store(&url).await?;
    match args.command {
        TokenCommand::Create {
            name,
            role,
            expires_in,
        } => {
            let name =
                TokenName::parse(&name).map_err(|problem| anyhow::anyhow!("--name: {problem}"))?;
            let role =
                AccessRole::parse(&role).map_err(|problem| anyhow::anyhow!("--role: {problem}"))?;
            let now = chrono::Utc::now();
            let token = ApiToken {
                name,
                role,
                create_time: now,
                expire_time: expires_in.map(|days| now + chrono::Duration::days(i64::from(days))),
                revoke_time: None,
            };
            let secret = TokenSecret::generate();
            store
                .create_token(&token, secret.digest())
                .await
                .with_context(|| format!("cannot create token {}", token.name))?;
            // The token alone on stdout, so `$(briefing token create …)` captures it; what it
            // is goes to stderr.
            println!("{}", secret.expose());
            eprintln!(
                "token {} ({}{}) created: it is shown only now, keep it somewhere safe",
                token.name,
                token.role,
                token
                    .expire_time
                    .map(|time| format!(", expires {}", format_time(time)))
                    .unwrap_or_default()
            );
        }
        TokenCommand::List => {
            let tokens = store.list_tokens().await?;
            println!(
                "{:<24} {:<7} {:<20} {:<20} REVOKED",
                "NAME", "ROLE", "CREATED", "EXPIRES"
            );
            for token in tokens {
                println!(
                    "{:<24} {:<7} {:<20} {:<20} {}",
                    token.name.as_str(),
                    token.role.as_str(),
                    format_time(token.create_time),
                    token
                        .expire_time
                        .map_or_else(|| "never".into(), format_time),
                    token.revoke_time.map_or_else(|| "-".into(), format_time),
                );
            }
        }
        TokenCommand::Revoke { name } => {
            let name =
                TokenName::parse(&name).map_err(|problem| anyhow::anyhow!("NAME: {problem}"))?;
            let token = store.revoke_token(&name).await?;
            println!(
                "token {} revoked: every server refuses it within a second",
                token.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn format_time(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// SIGTERM and SIGINT (Ctrl-C), listened for from the moment this is made: made before the
/// server says it is serving, a signal sent as soon as it says so is never the default one
/// that kills the process on the spot.
pub struct ShutdownSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    pub fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {},
            _ = self.interrupt.recv() => {},
        }
    }

    /// Resolves on the first signal, and from then on exits the process at once on a second:
    /// an operator who asks twice does not wait for the drain and the grace period.
    pub async fn first(mut self) {
        self.next().await;
        tracing::info!("shutting down (a second SIGTERM or Ctrl-C exits at once)");
        tokio::spawn(async move {
            self.next().await;
            tracing::warn!("second signal: exiting at once, without finishing calls in flight");
            std::process::exit(EXIT_ON_SECOND_SIGNAL);
        });
    }
}

/// The exit status after a second signal: 128 + SIGTERM's number, as a shell reports a
/// process SIGTERM ended.
const EXIT_ON_SECOND_SIGNAL: i32 = 143;

/// Logs to stderr as text or JSON; `BRIEFING_LOG` (or `RUST_LOG`) sets the filter, `info`
/// by default.
pub fn init_tracing(format: LogFormat) {
    let filter = std::env::var("BRIEFING_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        // tokio-cron-scheduler reports each tick at INFO: noise to an operator.
        .unwrap_or_else(|_| "info,tokio_cron_scheduler=warn".into());
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _, filter::Targets};
    // sqlx's slow-acquire events are counted for /metrics whatever the log shows.
    let pool_waits = crate::ops::pool_waits::PoolWaitCounter.with_filter(
        Targets::new().with_target(crate::ops::pool_waits::TARGET, tracing::Level::TRACE),
    );
    let log = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let log = match format {
        LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_filter(EnvFilter::new(filter))
            .boxed(),
        // One object a line: the event's fields at the top level, and the fields of the spans
        // it happened in (the call's method and request_id) in `spans`.
        LogFormat::Json => log
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_filter(EnvFilter::new(filter))
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(log)
        .with(pool_waits)
        .try_init();
}
