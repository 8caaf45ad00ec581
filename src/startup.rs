//! Builds the application from configuration, and runs each subcommand. `main` stays small.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::cli::Command;
use crate::config::{Config, check_database_url};
use crate::import;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// A server with its store open and its port bound, ready to run. Tests bind port 0 and ask
/// [`Application::port`] which one they got.
pub struct Application {
    config: Config,
    store: Arc<dyn Store>,
    listener: TcpListener,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config.database).await?;
        if config.demo {
            let report = import::load_demo_if_empty(store.as_ref()).await?;
            tracing::info!(loaded = report.stored, "demo data set");
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self {
            config,
            store,
            listener,
        })
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
        tracing::info!(%address, database = %self.config.database, "serving");
        crate::api::server::serve(&self.config, self.store, self.listener, shutdown).await
    }
}

/// Opens the store a database URL names, applying migrations.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    check_database_url(url)?;
    let store = SqliteStore::open(url).await?;
    Ok(Arc::new(store))
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = Config::load(&args)?;
            let application = Application::build(config).await?;
            application.run_until(shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            open_store(&args.database).await?;
            println!("schema of {} is up to date", args.database);
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let records = import::parse_file(&text)
                .with_context(|| format!("cannot parse {}", args.file.display()))?;
            let store = open_store(&args.database.database).await?;
            let report = import::load(store.as_ref(), records).await?;
            for problem in &report.problems {
                eprintln!("{problem}");
            }
            println!(
                "stored {} records, rejected {}",
                report.stored,
                report.problems.len()
            );
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing calls in flight");
}

/// Logs to stderr; `BRIEFING_LOG` (or `RUST_LOG`) sets the filter, `info` by default.
pub fn init_tracing() {
    let filter = std::env::var("BRIEFING_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
