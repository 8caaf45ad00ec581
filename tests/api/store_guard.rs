//! The store guards itself (issue 12): a second server on one SQLite file refuses to start,
//! and a store that refuses writes says so on health (NOT_SERVING) and to each write
//! (UNAVAILABLE), never INTERNAL. On PostgreSQL several servers on one database are replicas,
//! and a database that refuses writes is reported at start-up.

use std::path::{Path, PathBuf};

use briefing::api::pb;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{
    Backend, assert_status, eventually, fresh_database, official, spawn_app_with,
};

fn serve_config(url: &str) -> briefing::config::Config {
    use clap::Parser as _;
    let cli = briefing::cli::Cli::try_parse_from([
        "briefing",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        url,
    ])
    .expect("command line parses");
    let briefing::cli::Command::Serve(args) = cli.command else {
        unreachable!("the command line is `serve`")
    };
    briefing::config::Config::load(&args).expect("configuration loads")
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, false).await;
    let second = briefing::startup::Application::build(serve_config(&url)).await;
    match crate::BACKEND {
        Backend::Sqlite => {
            let error = format!("{:#}", second.err().expect("the second server is refused"));
            assert!(
                error.contains("another briefing server is already serving")
                    && error.contains("briefing.db.lock"),
                "the refusal says why: {error}"
            );
            // The first one serves on, and once it has stopped the file is free again.
            first
                .create_official("antony-blinken", official("Antony Blinken", "USA"))
                .await;
            first.stop().await;
            let next = spawn_app_with(&url, false).await;
            next.get_official("officials/antony-blinken")
                .await
                .expect("the next server reads what the first wrote");
        }
        // Replicas share one PostgreSQL database.
        Backend::Postgres => {
            second.expect("a second replica starts");
        }
    }
    drop(database);
}

/// Makes a file read-only for this process, whoever runs it (root ignores permission bits, so
/// the file is made immutable too), and writable again when dropped.
struct ReadOnlyFile {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnlyFile {
    fn new(path: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444))
            .expect("make the database file read-only");
        // Permission bits do not stop root (or CAP_DAC_OVERRIDE): then writing still opens.
        let root = std::fs::OpenOptions::new().write(true).open(path).is_ok();
        let immutable = root
            && std::process::Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status()
                .expect("run chattr (e2fsprogs) to make the file immutable for root")
                .success();
        assert!(
            !root || immutable,
            "with permission bits ignored, the file must be made immutable (chattr +i) to be read-only"
        );
        Self {
            path: path.to_owned(),
            immutable,
        }
    }
}

impl Drop for ReadOnlyFile {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644));
    }
}

#[tokio::test]
async fn a_read_only_store_is_not_serving_and_refuses_writes_with_unavailable() {
    let (database, url) = fresh_database().await;
    let writable = spawn_app_with(&url, false).await;
    writable
        .create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    writable.stop().await;
    match crate::BACKEND {
        Backend::Sqlite => {
            let file = database.directory().join("briefing.db");
            let _read_only = ReadOnlyFile::new(&file);
            let app = spawn_app_with(&url, false).await;
            let mut health = HealthClient::new(app.channel.clone());
            let status = eventually("health says NOT_SERVING", || {
                let mut health = health.clone();
                async move {
                    let status = health
                        .check(HealthCheckRequest::default())
                        .await
                        .ok()?
                        .into_inner()
                        .status();
                    (status == ServingStatus::NotServing).then_some(status)
                }
            })
            .await;
            assert_eq!(status, ServingStatus::NotServing);
            // Reads are still served.
            app.get_official("officials/antony-blinken")
                .await
                .expect("a read-only store still answers reads");
            let refused = app
                .officials
                .clone()
                .create_official(pb::CreateOfficialRequest {
                    official: Some(official("Cho Tae-yul", "KOR")),
                    official_id: "cho-tae-yul".into(),
                })
                .await
                .expect_err("a write to a read-only store is refused");
            assert_status(&refused, Code::Unavailable, "STORAGE_READ_ONLY");
            assert!(
                refused.message().contains("read-only"),
                "the message says why: {}",
                refused.message()
            );
            let _ = health.check(HealthCheckRequest::default()).await;
            app.stop().await;
        }
        Backend::Postgres => {
            // A database whose transactions are read-only by default, as a standby's are.
            let name = url.rsplit('/').next().expect("a database name").to_owned();
            let mut admin = sqlx::postgres::PgConnection::connect(&url)
                .await
                .expect("connect to the test database");
            sqlx::query(&format!(
                "ALTER DATABASE {name} SET default_transaction_read_only = on"
            ))
            .execute(&mut admin)
            .await
            .expect("make the database read-only");
            let refused = briefing::startup::Application::build(serve_config(&url)).await;
            let error = format!(
                "{:#}",
                refused.err().expect("a read-only database is refused")
            );
            assert!(error.contains("read-only"), "the refusal says why: {error}");
            sqlx::query(&format!(
                "ALTER DATABASE {name} SET default_transaction_read_only = off"
            ))
            .execute(&mut admin)
            .await
            .expect("make the database writable again");
        }
    }
    drop(database);
}

use sqlx::Connection as _;
