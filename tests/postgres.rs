//! The API suite of `tests/api` again, on PostgreSQL: the same feature files, each test on a
//! database of its own that it creates on the server `BRIEFING_TEST_POSTGRES` names and drops
//! afterwards.
//!
//! Compiled when `BRIEFING_TEST_POSTGRES` is set at build time (`build.rs` turns on
//! `cfg(postgres_tests)`; `.ci/run` always sets it); without it the one test left says the
//! suite was skipped, and fails under `CI`.

#[cfg(not(postgres_tests))]
#[test]
fn api_suite_on_postgresql_skipped_because_briefing_test_postgres_is_unset() {
    eprintln!(
        "skipped: the API suite on PostgreSQL; set BRIEFING_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 to run it"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the API suite on PostgreSQL: .ci/run sets BRIEFING_TEST_POSTGRES"
    );
}

/// The backend every test of this binary runs on (see `helpers::fresh_database`).
#[cfg(postgres_tests)]
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

// The modules of `tests/api/main.rs`, every one of them (a test below checks).
#[cfg(postgres_tests)]
#[path = "api/agenda.rs"]
mod agenda;
#[cfg(postgres_tests)]
#[path = "api/caches.rs"]
mod caches;
#[cfg(postgres_tests)]
#[path = "api/cli.rs"]
mod cli;
#[cfg(postgres_tests)]
#[path = "api/concurrency.rs"]
mod concurrency;
#[cfg(postgres_tests)]
#[path = "api/config.rs"]
mod config;
#[cfg(postgres_tests)]
#[path = "api/deliveries.rs"]
mod deliveries;
#[cfg(postgres_tests)]
#[path = "api/demo.rs"]
mod demo;
#[cfg(postgres_tests)]
#[path = "api/digest_helpers.rs"]
mod digest_helpers;
#[cfg(postgres_tests)]
#[path = "api/digests.rs"]
mod digests;
#[cfg(postgres_tests)]
#[path = "api/durability.rs"]
mod durability;
#[cfg(postgres_tests)]
#[path = "api/egress.rs"]
mod egress;
#[cfg(postgres_tests)]
#[path = "api/errors.rs"]
mod errors;
#[cfg(postgres_tests)]
#[path = "api/feed.rs"]
mod feed;
#[cfg(postgres_tests)]
#[path = "api/gdelt.rs"]
mod gdelt;
#[cfg(postgres_tests)]
#[path = "api/gdelt_files.rs"]
mod gdelt_files;
#[cfg(postgres_tests)]
#[path = "api/helpers.rs"]
mod helpers;
#[cfg(postgres_tests)]
#[path = "api/import.rs"]
mod import;
#[cfg(postgres_tests)]
#[path = "api/limits.rs"]
mod limits;
#[cfg(postgres_tests)]
#[path = "api/officials.rs"]
mod officials;
#[cfg(postgres_tests)]
#[path = "api/operations.rs"]
mod operations;
#[cfg(postgres_tests)]
#[path = "api/page_bytes.rs"]
mod page_bytes;
#[cfg(postgres_tests)]
#[path = "api/pagination.rs"]
mod pagination;
#[cfg(postgres_tests)]
#[path = "api/receiver.rs"]
mod receiver;
#[cfg(postgres_tests)]
#[path = "api/schedule.rs"]
mod schedule;
#[cfg(postgres_tests)]
#[path = "api/secrets.rs"]
mod secrets;
#[cfg(postgres_tests)]
#[path = "api/security.rs"]
mod security;
#[cfg(postgres_tests)]
#[path = "api/server.rs"]
mod server;
#[cfg(postgres_tests)]
#[path = "api/statuses_and_pairs.rs"]
mod statuses_and_pairs;
#[cfg(postgres_tests)]
#[path = "api/store_guard.rs"]
mod store_guard;
#[cfg(postgres_tests)]
#[path = "api/transport.rs"]
mod transport;
#[cfg(postgres_tests)]
#[path = "api/trips.rs"]
mod trips;
#[cfg(postgres_tests)]
#[path = "api/unicode.rs"]
mod unicode;
#[cfg(postgres_tests)]
#[path = "api/watch.rs"]
mod watch;
#[cfg(postgres_tests)]
#[path = "api/webhooks.rs"]
mod webhooks;

/// A feature file added to `tests/api/main.rs` runs on PostgreSQL too only if it is listed
/// above; this fails until it is.
#[test]
fn every_api_module_runs_on_postgresql_too() {
    fn modules(source: &str) -> Vec<String> {
        let mut names: Vec<String> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("mod "))
            .filter_map(|rest| rest.strip_suffix(';'))
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }
    let api = modules(include_str!("api/main.rs"));
    let here = modules(include_str!("postgres.rs"));
    assert!(!api.is_empty(), "no modules found in tests/api/main.rs");
    assert_eq!(
        api, here,
        "tests/postgres.rs must declare exactly the modules of tests/api/main.rs"
    );
}
