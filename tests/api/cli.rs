//! The command line fails with one clear line for a bad flag, a port in use or a database it
//! cannot open, and never starts half a server.

use std::process::{Command, Output};

use crate::helpers::{Backend, fresh_database, postgres_server};

fn briefing(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("BRIEFING_LISTEN")
        .env_remove("BRIEFING_DATABASE")
        .env_remove("BRIEFING_CONFIG")
        .output()
        .expect("run briefing")
}

/// The process failed and its last stderr line says `expected`.
#[track_caller]
fn assert_fails_with(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail; stderr: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error") || line.starts_with("briefing:"))
        .collect();
    assert!(
        errors.iter().any(|line| line.contains(expected)),
        "no error line mentions {expected:?}; stderr:\n{stderr}"
    );
}

#[test]
fn a_malformed_listen_address_is_refused() {
    let output = briefing(&[
        "serve",
        "--listen",
        "nowhere",
        "--database",
        "sqlite://unused.db",
    ]);
    assert_fails_with(&output, "--listen");
}

#[test]
fn an_unknown_flag_is_refused() {
    let output = briefing(&["serve", "--colour", "blue"]);
    assert_fails_with(&output, "--colour");
}

#[tokio::test]
async fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let (database, url) = fresh_database().await;
    let output = briefing(&["serve", "--listen", &address, "--database", &url]);
    assert_fails_with(&output, &format!("cannot listen on {address}"));
    drop(database);
}

#[test]
fn a_database_that_cannot_be_opened_is_named() {
    let (unopenable, named) = match crate::BACKEND {
        Backend::Sqlite => (
            "sqlite:///no/such/directory/briefing.db".to_owned(),
            "/no/such/directory/briefing.db",
        ),
        Backend::Postgres => (
            format!(
                "{}/briefing_no_such_database",
                postgres_server().trim_end_matches('/')
            ),
            "briefing_no_such_database",
        ),
    };
    let output = briefing(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &unopenable,
    ]);
    assert_fails_with(&output, named);
    let output = briefing(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        "mysql://localhost/briefing",
    ]);
    assert_fails_with(&output, "unsupported database url");
}

#[tokio::test]
async fn migrate_creates_the_schema_and_says_so() {
    let (database, url) = fresh_database().await;
    let output = briefing(&["migrate", "--database", &url]);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    let again = briefing(&["migrate", "--database", &url]);
    assert!(again.status.success(), "migrating twice is harmless");
    drop(database);
}

/// `briefing digest … | head -1`: the reader closes the pipe after one line; the command ends
/// quietly (exit 0, or SIGPIPE as Unix tools do) instead of panicking on the broken pipe.
#[test]
fn a_digest_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["digest", "--date", "2025-01-06", "--demo"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run briefing digest");
    // The reader goes away before the digest is written (as `| true` does, or `head` once it
    // has its lines), so the write meets a closed pipe.
    drop(child.stdout.take().expect("stdout"));
    let output = child.wait_with_output().expect("briefing digest ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success()
            || std::os::unix::process::ExitStatusExt::signal(&output.status) == Some(13),
        "exit {:?}; stderr: {stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// `briefing token list | true`: every one-shot command whose reader goes away ends quietly
/// (exit 0, or 141 for SIGPIPE as Unix tools do), never with a panic.
#[tokio::test]
async fn a_token_list_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::Stdio;
    let (_database, url) = fresh_database().await;
    for name in ["desk1", "desk2", "desk3"] {
        let made = briefing(&[
            "token",
            "create",
            "--name",
            name,
            "--role",
            "reader",
            "--database",
            &url,
        ]);
        assert!(made.status.success(), "{made:?}");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["token", "list", "--database", &url])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run briefing token list");
    drop(child.stdout.take().expect("stdout"));
    let output = child.wait_with_output().expect("briefing token list ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || output.status.signal() == Some(13),
        "exit {:?}; stderr: {stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// The first stderr line of `child` that contains `text`, reading on until it comes.
fn wait_for_line(child: &mut std::process::Child, text: &str) -> String {
    use std::io::BufRead as _;
    let stderr = child.stderr.take().expect("piped stderr");
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
    {
        if line.contains(text) {
            return line;
        }
        seen.push(line);
    }
    panic!("no line with {text:?}; stderr:\n{}", seen.join("\n"))
}

/// `--listen localhost:0`: the name is resolved at start-up, to its IPv4 address.
#[tokio::test]
async fn a_host_name_in_listen_is_resolved_at_start_up() {
    let (database, url) = fresh_database().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["serve", "--listen", "localhost:0", "--database", &url])
        .env("NO_COLOR", "1")
        .env("BRIEFING_LOG", "info")
        .env_remove("BRIEFING_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start briefing serve");
    let line = wait_for_line(&mut child, "serving");
    child.kill().expect("stop the server");
    child.wait().expect("reap");
    let address = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let address: std::net::SocketAddr = address.parse().expect("an address");
    assert!(
        address.ip().is_loopback() && address.port() != 0,
        "{address}"
    );
    drop(database);

    let output = briefing(&["check-config", "--listen", "no-such-host.invalid:50051"]);
    assert_fails_with(
        &output,
        "cannot resolve the host name \"no-such-host.invalid\"",
    );
    let output = briefing(&["check-config", "--listen", "localhost"]);
    assert_fails_with(&output, "\"localhost\" is not HOST:PORT");
}

/// A database URL's password never reaches a log line or an error: `***` stands for it.
#[tokio::test]
async fn a_database_password_is_never_printed() {
    let unreachable = "postgres://briefing:hunter2-secret@127.0.0.1:1/briefing";
    let output = briefing(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        unreachable,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(!stderr.contains("hunter2"), "stderr: {stderr}");
    let output = briefing(&["check-config", "--database", unreachable]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout}");
    assert!(
        stdout.contains("briefing:***@127.0.0.1:1") && !stdout.contains("hunter2"),
        "stdout: {stdout}"
    );
    if crate::BACKEND == Backend::Postgres {
        // The test server trusts every connection, so a password is accepted and ignored:
        // the start-up line shows the URL the server runs on.
        let (database, url) = fresh_database().await;
        let with_password = url.replacen("://postgres@", "://postgres:hunter2-secret@", 1);
        assert_ne!(with_password, url, "the test URL names user postgres");
        let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &with_password,
            ])
            .env("NO_COLOR", "1")
            .env("BRIEFING_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start briefing serve");
        let line = wait_for_line(&mut child, "serving");
        child.kill().expect("stop the server");
        child.wait().expect("reap");
        assert!(
            line.contains("postgres:***@") && !line.contains("hunter2"),
            "{line}"
        );
        drop(database);
    }
}

/// `briefing check-config` resolves file, environment and flags as `serve` does and reads the
/// files they name, starting nothing; a problem is named and the exit code is non-zero.
#[test]
fn check_config_names_the_problem_and_starts_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = directory.path().join("briefing.toml");
    // The database is named inside the test's directory: a `briefing.db` in the checkout
    // (left by `serve --demo`, the README's run command) must not decide the outcome.
    let database = directory.path().join("briefing.db");
    std::fs::write(
        &file,
        format!(
            "perspective = \"KOR\"\ncatch_up_days = 3\ndatabase = \"sqlite://{}\"\n",
            database.display()
        ),
    )
    .expect("write config");
    let file = file.to_str().expect("utf-8 path");
    let output = briefing(&["check-config", "--config", file, "--listen", "127.0.0.1:1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("configuration is valid: listen 127.0.0.1:1"),
        "stdout: {stdout}"
    );
    assert!(
        !database.exists() && !directory.path().join("briefing.db.lock").exists(),
        "no database was opened"
    );

    let bad = directory.path().join("bad.toml");
    std::fs::write(&bad, "catch_up_days = 900\n").expect("write config");
    let output = briefing(&[
        "check-config",
        "--config",
        bad.to_str().expect("utf-8 path"),
    ]);
    assert_fails_with(&output, "catch_up_days must be at most 366");

    let output = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["check-config", "--config", file])
        .env("BRIEFING_DIGEST_TIME_ZONE", "Mars/Olympus")
        .env_remove("BRIEFING_DATABASE")
        .output()
        .expect("run briefing check-config");
    assert_fails_with(&output, "digest_time_zone");

    let feed = directory.path().join("feed.toml");
    std::fs::write(
        &feed,
        "[feeds.gdelt]\nenabled = true\nurl = \"gdelt.example/lastupdate.txt\"\n",
    )
    .expect("write config");
    let output = briefing(&[
        "check-config",
        "--config",
        feed.to_str().expect("utf-8 path"),
    ]);
    assert_fails_with(
        &output,
        "feeds.gdelt.url: \"gdelt.example/lastupdate.txt\" is not a URL",
    );
    std::fs::write(&feed, "[feeds.gdelt]\nenabled = true\n").expect("write config");
    let output = briefing(&[
        "check-config",
        "--config",
        feed.to_str().expect("utf-8 path"),
    ]);
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("gdelt feed from http://data.gdeltproject.org/gdeltv2/lastupdate.txt"),
        "{output:?}"
    );

    let output = briefing(&["check-config", "--secret-key-file", "/no/such/key"]);
    assert_fails_with(&output, "secret_key_file");
    let output = briefing(&["check-config", "--config", "/no/such/briefing.toml"]);
    assert_fails_with(&output, "cannot read config file /no/such/briefing.toml");
}

/// `briefing digest --config FILE` takes the server's side (perspective, rivals, alliances)
/// and kinds from the file: it prints the digest the server compiles.
#[tokio::test]
async fn the_digest_command_takes_the_servers_configuration() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = directory.path().join("briefing.toml");
    std::fs::write(
        &file,
        concat!(
            "perspective = \"JPN\"\n",
            "rivals = [\"CHN\", \"PRK\"]\n",
            "[[alliances]]\nname = \"Pacific pact\"\nmembers = [\"JPN\", \"USA\", \"KOR\"]\n",
            "[kinds.seoul-desk]\ncron = \"0 0 7 * * *\"\ntime_zone = \"Asia/Seoul\"\nperspective = \"KOR\"\n",
        ),
    )
    .expect("write config");
    let file = file.to_str().expect("utf-8 path");
    let (database, url) = fresh_database().await;
    let app = crate::helpers::spawn_app_with_args(
        &url,
        &["--demo", "--schedule=false", "--config", file],
    )
    .await;
    for kind in ["daily", "seoul-desk"] {
        let served = crate::digest_helpers::compile_kind(&app, kind, "2025-01-06").await;
        let output = briefing(&[
            "digest",
            "--date",
            "2025-01-06",
            "--kind",
            kind,
            "--config",
            file,
            "--database",
            &url,
        ]);
        assert!(
            output.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            served.markdown,
            "{kind}: the command prints the server's digest"
        );
    }
    let without = briefing(&["digest", "--date", "2025-01-06", "--demo"]);
    assert_ne!(
        String::from_utf8_lossy(&without.stdout),
        crate::digest_helpers::compile_kind(&app, "daily", "2025-01-06")
            .await
            .markdown,
        "without --config the digest takes the default side"
    );
    app.stop().await;
    drop(database);
}

fn agenda_item(title: &str) -> briefing::api::pb::AgendaItem {
    crate::helpers::item(
        title,
        "2025-01-06",
        &["USAGOV"],
        &["KORGOV"],
        briefing::api::pb::EventType::Consult,
    )
}

/// `briefing backup` beside a server under write load: the copy passes PRAGMA
/// integrity_check once restored and holds every write acknowledged before it began.
#[tokio::test]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let (database, url) = fresh_database().await;
    let copy = database.directory().join("backup.db");
    let copy_text = copy.to_str().expect("utf-8 path").to_owned();
    if crate::BACKEND == Backend::Postgres {
        let output = briefing(&["backup", "--to", &copy_text, "--database", &url]);
        assert_fails_with(&output, "for PostgreSQL use pg_dump");
        return;
    }
    let app = crate::helpers::spawn_app_with(&url, false).await;
    for number in 0..20 {
        app.create_item(&format!("before-{number}"), agenda_item("before"))
            .await;
    }
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let client = app.agenda.clone();
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut client = client;
            while !stop.load(Ordering::SeqCst) {
                let number = acknowledged.load(Ordering::SeqCst);
                client
                    .create_agenda_item(briefing::api::pb::CreateAgendaItemRequest {
                        agenda_item: Some(agenda_item("under load")),
                        agenda_item_id: format!("load-{number}"),
                    })
                    .await
                    .expect("a write under load");
                acknowledged.store(number + 1, Ordering::SeqCst);
            }
        })
    };
    crate::helpers::eventually("the load has written", || {
        let acknowledged = acknowledged.clone();
        async move { (acknowledged.load(Ordering::SeqCst) >= 10).then_some(()) }
    })
    .await;
    let before_backup = acknowledged.load(Ordering::SeqCst);
    let arguments = ["backup", "--to", &copy_text, "--database", &url].map(str::to_owned);
    let output = tokio::task::spawn_blocking(move || {
        briefing(&arguments.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("backup runs");
    let during = acknowledged.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    load.await.expect("the load ends");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("backed up"));

    let again = briefing(&["backup", "--to", &copy_text, "--database", &url]);
    assert_fails_with(&again, "exists already: give --force to overwrite it");
    let refused = briefing(&["restore", "--from", &copy_text, "--database", &url]);
    assert_fails_with(&refused, "a briefing server is running on");

    let restored = database.directory().join("restored.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let output = briefing(&["restore", "--from", &copy_text, "--database", &restored_url]);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let check: String = rusqlite::Connection::open(&restored)
        .expect("open the restored file")
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");

    let restored_app = crate::helpers::spawn_app_with(&restored_url, false).await;
    let names: std::collections::HashSet<String> = restored_app
        .snapshot()
        .await
        .agenda_items
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let missing: Vec<String> = (0..20)
        .map(|number| format!("agendaItems/before-{number}"))
        .chain((0..before_backup).map(|number| format!("agendaItems/load-{number}")))
        .filter(|name| !names.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, yet missing: {missing:?}"
    );
    assert!(
        names.len() <= 20 + during + 1,
        "nothing the load had not written: {} items",
        names.len()
    );
    restored_app.stop().await;
    app.stop().await;

    let forced = briefing(&["backup", "--to", &copy_text, "--force", "--database", &url]);
    assert!(
        forced.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let not_a_backup = database.directory().join("not-a-backup.db");
    std::fs::write(&not_a_backup, b"hello").expect("write");
    let output = briefing(&[
        "restore",
        "--from",
        not_a_backup.to_str().expect("utf-8 path"),
        "--database",
        &restored_url,
    ]);
    assert_fails_with(&output, "not-a-backup.db");
}
