//! Starts the real server on `127.0.0.1:0` with a fresh database and hands tests the
//! generated tonic clients, plus the few fixtures and assertions every feature file shares.

use std::future::Future;
use std::time::Duration;

use briefing::api::pb;
use briefing::api::pb::agenda_service_client::AgendaServiceClient;
use briefing::api::pb::official_service_client::OfficialServiceClient;
use briefing::api::pb::trip_service_client::TripServiceClient;
use briefing::startup::Application;
use clap::Parser as _;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

/// How long a test waits for something that should happen promptly before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running server and clients connected to it. Dropping it stops nothing on its own: the
/// test runtime ends with the test, and with it the server task.
pub struct TestApp {
    pub port: u16,
    /// The operators' HTTP listener (`/metrics`, `/livez`, `/readyz`), unless the test
    /// turned it off with `--http-listen=`.
    pub http_port: Option<u16>,
    pub channel: Channel,
    pub trips: TripServiceClient<Channel>,
    pub officials: OfficialServiceClient<Channel>,
    pub agenda: AgendaServiceClient<Channel>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    /// The database the app was given by [`spawn_app`] or [`spawn_demo_app`], removed after it.
    _database: Option<DatabaseGuard>,
    /// The server's `delivery_dir`, unless the test named another.
    delivery_dir: TempDir,
}

/// The storage backend a test binary runs the suite on: `tests/api` on SQLite,
/// `tests/postgres.rs` on PostgreSQL. Each crate root says which in its `BACKEND` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "each test binary constructs only the variant it runs on"
)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Names a PostgreSQL server (`postgres://postgres@127.0.0.1:5432`, no database). `build.rs`
/// compiles `tests/postgres.rs` when it is set, and each test there creates a database of its
/// own on that server and drops it afterwards.
pub const POSTGRES_SERVER_VARIABLE: &str = "BRIEFING_TEST_POSTGRES";

/// A server on a fresh, empty database of this binary's [`Backend`].
pub async fn spawn_app() -> TestApp {
    spawn_on_fresh_database(false).await
}

/// Like [`spawn_app`], started with `--demo`: it holds the seed article's data set.
pub async fn spawn_demo_app() -> TestApp {
    spawn_on_fresh_database(true).await
}

async fn spawn_on_fresh_database(demo: bool) -> TestApp {
    let (database, url) = fresh_database().await;
    let mut app = spawn_app_with(&url, demo).await;
    app._database = Some(database);
    app
}

/// A fresh, empty database of this binary's [`Backend`] and its URL: a file in a temporary
/// directory, or a new database on the PostgreSQL server. It lasts as long as the guard.
pub async fn fresh_database() -> (DatabaseGuard, String) {
    let directory = tempfile::tempdir().expect("temporary directory");
    match crate::BACKEND {
        Backend::Sqlite => {
            let url = format!(
                "sqlite://{}",
                directory.path().join("briefing.db").display()
            );
            let guard = DatabaseGuard {
                directory,
                _postgres: None,
            };
            (guard, url)
        }
        Backend::Postgres => fresh_postgres_database(&postgres_server()).await,
    }
}

/// A fresh, empty database on the PostgreSQL server `server` names (a URL without a database,
/// e.g. `postgres://postgres@127.0.0.1:5432`, or `postgres://postgres@?host=/dir` for a Unix
/// socket), and its URL. It is dropped with the guard.
pub async fn fresh_postgres_database(server: &str) -> (DatabaseGuard, String) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let database = PostgresDatabase::create(server).await;
    let url = database.url.clone();
    let guard = DatabaseGuard {
        directory,
        _postgres: Some(database),
    };
    (guard, url)
}

/// The URL of database `name` on `server`: the name goes before any `?options`.
fn database_url(server: &str, name: &str) -> String {
    let (base, options) = match server.split_once('?') {
        Some((base, options)) => (base, format!("?{options}")),
        None => (server, String::new()),
    };
    format!("{}/{name}{options}", base.trim_end_matches('/'))
}

/// The server [`POSTGRES_SERVER_VARIABLE`] names now, or named when the tests were compiled.
pub fn postgres_server() -> String {
    std::env::var(POSTGRES_SERVER_VARIABLE)
        .ok()
        .filter(|server| !server.is_empty())
        .or_else(|| option_env!("BRIEFING_TEST_POSTGRES").map(str::to_owned))
        .filter(|server| !server.is_empty())
        .unwrap_or_else(|| {
            panic!("the PostgreSQL suite needs {POSTGRES_SERVER_VARIABLE} to name a server")
        })
}

/// Keeps a test's database for as long as it lives: the temporary directory of the SQLite
/// file (on PostgreSQL an empty one, for the files a test writes), and the PostgreSQL
/// database, dropped after the directory.
pub struct DatabaseGuard {
    directory: TempDir,
    _postgres: Option<PostgresDatabase>,
}

impl DatabaseGuard {
    /// A temporary directory that lives as long as the database, for files the test writes.
    pub fn directory(&self) -> &std::path::Path {
        self.directory.path()
    }
}

/// A database created for one test on a PostgreSQL server, dropped with it.
struct PostgresDatabase {
    server: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(server: &str) -> Self {
        use sqlx::Connection as _;
        let server = server.to_owned();
        let name = format!("briefing_api_{}", uuid::Uuid::now_v7().simple());
        let mut connection = sqlx::PgConnection::connect(&database_url(&server, "postgres"))
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {server}: {error}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create a test database");
        Self {
            url: database_url(&server, &name),
            server,
            name,
        }
    }
}

impl Drop for PostgresDatabase {
    /// On a thread of its own, since the test's runtime may be busy or gone; FORCE ends the
    /// connections the server still holds.
    fn drop(&mut self) {
        use sqlx::Connection as _;
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut connection =
                    sqlx::PgConnection::connect(&database_url(&server, "postgres")).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut connection)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// Builds the real [`Application`] on `database_url` as `briefing serve` would, on a free port.
/// The URL is a parameter so another storage backend can run the same tests.
pub async fn spawn_app_with(database_url: &str, demo: bool) -> TestApp {
    spawn_app_with_args(database_url, &[&format!("--demo={demo}")]).await
}

/// Like [`spawn_app_with`], with further `briefing serve` flags, e.g. `--schedule=false` or
/// `--delivery-first-retry-ms 50`.
pub async fn spawn_app_with_args(database_url: &str, extra_args: &[&str]) -> TestApp {
    let mut command_line = vec![
        "briefing",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        database_url,
    ];
    // Tests compile and redeliver more often than a person would; those about the limits
    // set their own.
    if !extra_args
        .iter()
        .any(|arg| arg.starts_with("--costly-calls"))
    {
        command_line.extend_from_slice(&["--costly-calls-burst", "1000"]);
    }
    command_line.extend_from_slice(extra_args);
    // The tests' webhook receivers listen on 127.0.0.1, which the SSRF guard refuses unless
    // the operator allows it; file subscriptions write under a directory of the test's own.
    let delivery_dir = tempfile::tempdir().expect("delivery directory");
    let delivery_dir_text = delivery_dir.path().to_string_lossy().into_owned();
    command_line.extend(test_defaults(extra_args, Some(&delivery_dir_text)));
    let cli = briefing::cli::Cli::try_parse_from(command_line).expect("test command line parses");
    let briefing::cli::Command::Serve(args) = cli.command else {
        unreachable!("the test command line is `serve`")
    };
    let config = briefing::config::Config::load(&args).expect("test configuration loads");
    let application = Application::build(config)
        .await
        .expect("application builds");
    let port = application.port();
    let http_port = application.http_port();
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = shutdown_requested.await;
    }));
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("address is a uri")
        .connect()
        .await
        .expect("client connects");
    TestApp {
        port,
        http_port,
        trips: TripServiceClient::new(channel.clone()),
        officials: OfficialServiceClient::new(channel.clone()),
        agenda: AgendaServiceClient::new(channel.clone()),
        channel,
        shutdown: Some(shutdown),
        server: Some(server),
        _database: None,
        delivery_dir,
    }
}

/// The flags every test server gets unless the test gives them itself: webhooks may reach the
/// receivers on 127.0.0.1 (only that address), and file targets go under `delivery_dir`; the
/// operators' listener takes a free port (tests run side by side), and a stop does not wait
/// out a drain window.
fn test_defaults<'a>(extra_args: &[&str], delivery_dir: Option<&'a str>) -> Vec<&'a str> {
    let given = |flag: &str| {
        extra_args
            .iter()
            .any(|arg| *arg == flag || arg.starts_with(&format!("{flag}=")))
    };
    let mut defaults = Vec::new();
    if !given("--webhook-allow-cidrs") {
        defaults.extend(["--webhook-allow-cidrs", "127.0.0.1/32"]);
    }
    if !given("--http-listen") {
        defaults.extend(["--http-listen", "127.0.0.1:0"]);
    }
    if !given("--shutdown-drain-seconds") {
        defaults.extend(["--shutdown-drain-seconds", "0"]);
    }
    if let Some(delivery_dir) = delivery_dir
        && !given("--delivery-dir")
    {
        defaults.extend(["--delivery-dir", delivery_dir]);
    }
    defaults
}

impl TestApp {
    /// The directory file subscriptions write under (unless the test gave `--delivery-dir`).
    #[allow(dead_code, reason = "used by the file-delivery tests only")]
    pub fn delivery_dir(&self) -> &std::path::Path {
        self.delivery_dir.path()
    }

    /// Asks the server to stop, the way SIGTERM does, and returns the task that serves, which
    /// finishes once the calls in flight have.
    pub fn begin_shutdown(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.take().expect("the server is still running")
    }

    /// Stops the server and waits for it. The database outlives it only if the test holds its
    /// guard (from [`fresh_database`]): then another app can open it.
    pub async fn stop(mut self) {
        let server = self.begin_shutdown();
        drop(self.channel);
        drop(self.trips);
        drop(self.officials);
        drop(self.agenda);
        within(PATIENCE, "the server stops", server)
            .await
            .expect("server task joins")
            .expect("server stops cleanly");
    }

    pub async fn create_official(&self, id: &str, official: pb::Official) -> pb::Official {
        self.officials
            .clone()
            .create_official(pb::CreateOfficialRequest {
                official: Some(official),
                official_id: id.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("creating official {id}: {status:?}"))
            .into_inner()
    }

    pub async fn create_trip(&self, id: &str, trip: pb::Trip) -> pb::Trip {
        self.trips
            .clone()
            .create_trip(pb::CreateTripRequest {
                trip: Some(trip),
                trip_id: id.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("creating trip {id}: {status:?}"))
            .into_inner()
    }

    pub async fn create_item(&self, id: &str, item: pb::AgendaItem) -> pb::AgendaItem {
        self.agenda
            .clone()
            .create_agenda_item(pb::CreateAgendaItemRequest {
                agenda_item: Some(item),
                agenda_item_id: id.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("creating agenda item {id}: {status:?}"))
            .into_inner()
    }

    pub async fn get_trip(&self, name: &str) -> Result<pb::Trip, Status> {
        let request = pb::GetTripRequest { name: name.into() };
        self.trips
            .clone()
            .get_trip(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn get_official(&self, name: &str) -> Result<pb::Official, Status> {
        let request = pb::GetOfficialRequest { name: name.into() };
        self.officials
            .clone()
            .get_official(request)
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn get_item(&self, name: &str) -> Result<pb::AgendaItem, Status> {
        let request = pb::GetAgendaItemRequest { name: name.into() };
        self.agenda
            .clone()
            .get_agenda_item(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Every trip the request's filters select, following page tokens to the end.
    pub async fn all_trips(&self, mut request: pb::ListTripsRequest) -> Vec<pb::Trip> {
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self
                .trips
                .clone()
                .list_trips(request.clone())
                .await
                .expect("list trips")
                .into_inner();
            found.extend(page.trips);
            if page.next_page_token.is_empty() {
                return found;
            }
            request.page_token = page.next_page_token;
        }
        panic!("ListTrips did not end after {MAX_PAGES} pages");
    }

    pub async fn all_officials(&self, mut request: pb::ListOfficialsRequest) -> Vec<pb::Official> {
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self
                .officials
                .clone()
                .list_officials(request.clone())
                .await
                .expect("list officials")
                .into_inner();
            found.extend(page.officials);
            if page.next_page_token.is_empty() {
                return found;
            }
            request.page_token = page.next_page_token;
        }
        panic!("ListOfficials did not end after {MAX_PAGES} pages");
    }

    pub async fn all_items(&self, mut request: pb::ListAgendaItemsRequest) -> Vec<pb::AgendaItem> {
        let mut found = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self
                .agenda
                .clone()
                .list_agenda_items(request.clone())
                .await
                .expect("list agenda items")
                .into_inner();
            found.extend(page.agenda_items);
            if page.next_page_token.is_empty() {
                return found;
            }
            request.page_token = page.next_page_token;
        }
        panic!("ListAgendaItems did not end after {MAX_PAGES} pages");
    }

    /// The name and etag of everything stored: equal snapshots mean nothing was written.
    pub async fn snapshot(&self) -> Snapshot {
        let page_size = 500;
        Snapshot {
            officials: self
                .all_officials(pb::ListOfficialsRequest {
                    page_size,
                    ..Default::default()
                })
                .await
                .into_iter()
                .map(|official| (official.name, official.etag))
                .collect(),
            trips: self
                .all_trips(pb::ListTripsRequest {
                    page_size,
                    ..Default::default()
                })
                .await
                .into_iter()
                .map(|trip| (trip.name, trip.etag))
                .collect(),
            agenda_items: self
                .all_items(pb::ListAgendaItemsRequest {
                    page_size,
                    ..Default::default()
                })
                .await
                .into_iter()
                .map(|item| (item.name, item.etag))
                .collect(),
        }
    }

    /// Two officials, a three-leg trip of the first and one agenda item on its first leg.
    pub async fn seed(&self) -> Seed {
        self.create_official("antony-blinken", official("Antony Blinken", "USA"))
            .await;
        self.create_official("cho-tae-yul", official("Cho Tae-yul", "KOR"))
            .await;
        self.create_trip("final-trip", final_trip("officials/antony-blinken"))
            .await;
        let mut talks = item(
            "Talks in Seoul",
            "2025-01-06",
            &["USAGOV"],
            &["KORGOV"],
            pb::EventType::Consult,
        );
        talks.trip = "trips/final-trip".into();
        talks.leg = Some(0);
        talks.participants = vec![
            "officials/antony-blinken".into(),
            "officials/cho-tae-yul".into(),
        ];
        self.create_item("seoul-talks", talks).await;
        Seed {
            traveler: "officials/antony-blinken".into(),
            host: "officials/cho-tae-yul".into(),
            trip: "trips/final-trip".into(),
            item: "agendaItems/seoul-talks".into(),
        }
    }
}

const MAX_PAGES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub officials: Vec<(String, String)>,
    pub trips: Vec<(String, String)>,
    pub agenda_items: Vec<(String, String)>,
}

/// Resource names [`TestApp::seed`] created.
pub struct Seed {
    pub traveler: String,
    pub host: String,
    pub trip: String,
    pub item: String,
}

pub fn official(display_name: &str, country: &str) -> pb::Official {
    pb::Official {
        display_name: display_name.into(),
        country: country.into(),
        ..Default::default()
    }
}

pub fn role(title: &str, start_date: &str) -> pb::Role {
    pb::Role {
        title: title.into(),
        organization: "Government".into(),
        start_date: start_date.into(),
        ..Default::default()
    }
}

pub fn leg(
    country: &str,
    city: &str,
    start_date: &str,
    end_date: &str,
    time_zone: &str,
) -> pb::Leg {
    pb::Leg {
        country: country.into(),
        city: city.into(),
        start_date: start_date.into(),
        end_date: end_date.into(),
        time_zone: time_zone.into(),
        purpose: String::new(),
    }
}

pub fn trip(title: &str, traveler: &str, legs: Vec<pb::Leg>) -> pb::Trip {
    pb::Trip {
        title: title.into(),
        traveler: traveler.into(),
        legs,
        ..Default::default()
    }
}

/// Seoul, Tokyo, Paris in January 2025, as in the seed article.
pub fn final_trip(traveler: &str) -> pb::Trip {
    let mut trip = trip(
        "Final trip: Seoul, Tokyo, Paris",
        traveler,
        vec![
            leg("KOR", "Seoul", "2025-01-05", "2025-01-06", "Asia/Seoul"),
            leg("JPN", "Tokyo", "2025-01-06", "2025-01-07", "Asia/Tokyo"),
            leg("FRA", "Paris", "2025-01-08", "2025-01-08", "Europe/Paris"),
        ],
    );
    trip.purpose = "Reaffirm alliances".into();
    trip
}

pub fn item(
    title: &str,
    date: &str,
    actors: &[&str],
    recipients: &[&str],
    event_type: pb::EventType,
) -> pb::AgendaItem {
    pb::AgendaItem {
        title: title.into(),
        date: date.into(),
        actors: actors.iter().map(|actor| (*actor).to_owned()).collect(),
        recipients: recipients
            .iter()
            .map(|recipient| (*recipient).to_owned())
            .collect(),
        event_type: event_type.into(),
        ..Default::default()
    }
}

pub fn source(url: &str, publisher: &str) -> pb::Source {
    pb::Source {
        url: url.into(),
        publisher: publisher.into(),
        published_time: Some(prost_types::Timestamp {
            seconds: 1_736_121_600,
            nanos: 0,
        }),
        excerpt: "Secretary Blinken travels to the Republic of Korea".into(),
    }
}

pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })
}

/// The field paths a status's `google.rpc.BadRequest` names, in order.
pub fn bad_fields(status: &Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The `google.rpc.ErrorInfo` reason of a status, after checking its domain is `briefing`.
pub fn reason(status: &Status) -> String {
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("{status:?} carries no ErrorInfo"));
    assert_eq!(info.domain, "briefing", "ErrorInfo domain of {status:?}");
    info.reason.clone()
}

/// INVALID_ARGUMENT whose BadRequest names `field`, with the ErrorInfo AIP-193 asks for.
#[track_caller]
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "code of {status:?}");
    let fields = bad_fields(status);
    assert!(
        fields.iter().any(|named| named == field),
        "{field:?} not among the bad fields {fields:?} of {status:?}"
    );
    assert_eq!(reason(status), "INVALID_FIELDS");
}

/// A status with `code` and the ErrorInfo `reason` in domain `briefing`.
#[track_caller]
pub fn assert_status(status: &Status, code: Code, expected_reason: &str) {
    assert_eq!(status.code(), code, "code of {status:?}");
    assert_eq!(reason(status), expected_reason, "reason of {status:?}");
}

/// Awaits `future`, failing the test if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting until {what}"))
}

/// Polls `probe` until it yields a value, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `address` field of a log line, text (`address=…`) or JSON (`"address":"…"`).
fn logged_address(line: &str) -> String {
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(line)
        && let Some(serde_json::Value::String(address)) = fields.get("address")
    {
        return address.clone();
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned()
}

/// The real `briefing serve` binary on `127.0.0.1:0`: it binds a free port itself and logs
/// the address it got (`serving address=…`), which [`ServerProcess::start`] reads. No test
/// guesses a free port.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
    /// `http://ADDRESS` of the operators' listener, unless it is off.
    pub http_address: Option<String>,
    /// Every line the process wrote to stderr, as it arrives.
    pub log: std::sync::mpsc::Receiver<String>,
    /// Every line so far, for messages when a test fails.
    history: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    pub fn start(database_url: &str, extra_args: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_briefing"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
            ])
            .args(extra_args)
            .args(test_defaults(extra_args, None))
            .env("BRIEFING_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start briefing serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let (lines, log) = std::sync::mpsc::channel();
        let history = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = history.clone();
        // Drains stderr for the life of the process, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let line = strip_ansi(&line);
                if let Ok(mut kept) = kept.lock() {
                    kept.push(line.clone());
                }
                let _ = lines.send(line);
            }
        });
        let mut server = Self {
            child,
            address: String::new(),
            http_address: None,
            log,
            history,
        };
        let line = server.wait_for_log("serving");
        server.address = format!("http://{}", logged_address(&line));
        let http_off = extra_args.contains(&"--http-listen=")
            || extra_args
                .windows(2)
                .any(|pair| pair[0] == "--http-listen" && pair[1].is_empty());
        if !http_off {
            let line = server.wait_for_log("operators' http listener");
            server.http_address = Some(format!("http://{}", logged_address(&line)));
        }
        server
    }

    /// The first log line from now on that contains `text`.
    pub fn wait_for_log(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(error) => {
                    let status = self.child.try_wait();
                    panic!(
                        "no log line with {text:?} ({error}); process status {status:?}; log:\n{}",
                        self.log_text()
                    )
                }
            }
        }
    }

    /// Everything the process has logged so far.
    pub fn log_text(&self) -> String {
        self.history
            .lock()
            .map(|lines| lines.join("\n"))
            .unwrap_or_default()
    }

    pub async fn connect(&self) -> Channel {
        Channel::from_shared(self.address.clone())
            .expect("uri")
            .connect()
            .await
            .expect("connect to the process")
    }

    /// SIGKILL: no shutdown code runs, like a crash or a power cut.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Sends `signal` (e.g. `TERM`) and waits for the process to exit. Async, so the clients
    /// of this test keep answering the server while it closes their connections.
    pub async fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the process did not exit after SIG{signal}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut characters = line.chars();
    while let Some(character) = characters.next() {
        if character == '\u{1b}' {
            // An escape sequence ends with its first letter, e.g. `\x1b[2m`.
            for following in characters.by_ref() {
                if following.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(character);
        }
    }
    plain
}

/// Runs `briefing token ARGS --database URL` (the real binary) and returns its stdout;
/// panics with its stderr when it fails. `create` prints the token alone on stdout.
pub fn briefing_token(database_url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_briefing"))
        .arg("token")
        .args(args)
        .args(["--database", database_url])
        .env("NO_COLOR", "1")
        .env_remove("BRIEFING_CONFIG")
        .output()
        .expect("run briefing token");
    assert!(
        output.status.success(),
        "briefing token {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// A new token of `role` named `name`, made with `briefing token create`.
pub fn create_token(database_url: &str, name: &str, role: &str) -> String {
    briefing_token(database_url, &["create", "--name", name, "--role", role])
        .trim()
        .to_owned()
}

/// `message` with `authorization: Bearer TOKEN` when a token is given.
pub fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("an ascii header"),
        );
    }
    request
}
