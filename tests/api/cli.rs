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
/// quietly with success instead of panicking on the broken pipe.
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
        output.status.success(),
        "exit {:?}; stderr: {stderr}",
        output.status.code()
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
