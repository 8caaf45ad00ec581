//! Several replicas of the real binary on one PostgreSQL database: exactly one digest per day,
//! one `webhook-id` per delivery, writes visible across replicas, a replica that dies holding a
//! day, and PostgreSQL itself going away and coming back.
//!
//! Compiled when `BRIEFING_TEST_POSTGRES` names a server (`.ci/run` sets it); without it the
//! one test left says it skipped them.

#[cfg(not(postgres_tests))]
#[test]
fn replica_tests_skipped_because_briefing_test_postgres_is_unset() {
    eprintln!(
        "skipped: the replica and PostgreSQL fault tests; set BRIEFING_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432 to run them"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the PostgreSQL tests: .ci/run sets BRIEFING_TEST_POSTGRES"
    );
}

#[cfg(postgres_tests)]
mod replicas {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use briefing::api::pb;
    use briefing::api::pb::digest_service_client::DigestServiceClient;
    use briefing::api::pb::official_service_client::OfficialServiceClient;
    use briefing::api::pb::subscription_service_client::SubscriptionServiceClient;
    use briefing::store::digests::{ClaimOutcome, RunClaim};
    use sqlx::Connection as _;
    use tempfile::TempDir;
    use tonic::transport::Channel;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    const PATIENCE: Duration = Duration::from_secs(60);

    fn admin_url() -> String {
        std::env::var("BRIEFING_TEST_POSTGRES")
            .expect("compiled only when BRIEFING_TEST_POSTGRES is set")
    }

    /// A database of its own, dropped when the test ends.
    struct TestDatabase {
        server: String,
        name: String,
    }

    impl TestDatabase {
        async fn create(server: &str) -> Self {
            let name = format!("briefing_test_{}", uuid::Uuid::now_v7().simple());
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
                .await
                .expect("PostgreSQL is reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("database created");
            Self {
                server: server.to_owned(),
                name,
            }
        }

        fn url(&self) -> String {
            format!("{}/{}", self.server, self.name)
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            let (server, name) = (self.server.clone(), self.name.clone());
            // Drop runs outside async; a thread of its own with its own runtime does the cleanup.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(mut admin) =
                        sqlx::PgConnection::connect(&format!("{server}/postgres")).await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut admin)
                                .await;
                    }
                });
            })
            .join();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("address")
            .port()
    }

    /// One `briefing serve` process.
    struct Replica {
        child: Child,
        port: u16,
        log: PathBuf,
    }

    impl Replica {
        fn start(database: &str, logs: &Path, name: &str, extra: &[&str]) -> Self {
            let port = free_port();
            let log = logs.join(format!("{name}.log"));
            let output = std::fs::File::create(&log).expect("log file");
            let child = Command::new(env!("CARGO_BIN_EXE_briefing"))
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--database",
                    database,
                ])
                .args(extra)
                .env("BRIEFING_LOG", "info")
                .stdout(Stdio::null())
                .stderr(output)
                .spawn()
                .expect("the briefing binary starts");
            Self { child, port, log }
        }

        async fn channel(&self) -> Channel {
            Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
                .expect("uri")
                .connect_lazy()
        }

        async fn health(&self) -> Option<ServingStatus> {
            let mut client = HealthClient::new(self.channel().await);
            let request = tonic::Request::new(HealthCheckRequest {
                service: String::new(),
            });
            let response = tokio::time::timeout(Duration::from_secs(2), client.check(request))
                .await
                .ok()?
                .ok()?;
            ServingStatus::try_from(response.into_inner().status).ok()
        }

        async fn wait_for(&self, status: ServingStatus) {
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while self.health().await != Some(status) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "replica on {} never became {status:?}; log:\n{}",
                    self.port,
                    self.log_text()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        fn log_text(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }

        fn kill(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for Replica {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// What the webhook receiver saw: per `webhook-id`, the statuses it answered.
    #[derive(Default)]
    struct Received {
        by_id: HashMap<String, Vec<u16>>,
        bad_signatures: usize,
    }

    /// A Standard Webhooks receiver that verifies with the reference library and fails the
    /// first `failures` requests with 503.
    async fn receiver(
        secret: Arc<Mutex<Option<String>>>,
        failures: usize,
    ) -> (SocketAddr, Arc<Mutex<Received>>) {
        let received = Arc::new(Mutex::new(Received::default()));
        let state = (secret, received.clone(), Arc::new(Mutex::new(failures)));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (secret, received, failures) = state.clone();
                async move {
                    let secret = secret
                        .lock()
                        .expect("lock")
                        .clone()
                        .expect("secret set before deliveries");
                    let verified = standardwebhooks::Webhook::new(&secret)
                        .expect("secret")
                        .verify(&body, &headers)
                        .is_ok();
                    let id = headers
                        .get("webhook-id")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let status = {
                        let mut failures = failures.lock().expect("lock");
                        if !verified {
                            StatusCode::UNAUTHORIZED
                        } else if *failures > 0 {
                            *failures -= 1;
                            StatusCode::SERVICE_UNAVAILABLE
                        } else {
                            StatusCode::NO_CONTENT
                        }
                    };
                    let mut received = received.lock().expect("lock");
                    if !verified {
                        received.bad_signatures += 1;
                    }
                    received.by_id.entry(id).or_default().push(status.as_u16());
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("receiver binds");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (address, received)
    }

    async fn digests(channel: Channel) -> Vec<pb::Digest> {
        DigestServiceClient::new(channel)
            .list_digests(pb::ListDigestsRequest {
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("digests list")
            .into_inner()
            .digests
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_replicas_compile_each_day_once_and_deliver_with_one_webhook_id() {
        let database = TestDatabase::create(&admin_url()).await;
        let logs = TempDir::new().expect("log directory");
        let secret = Arc::new(Mutex::new(None));
        let (address, received) = receiver(secret.clone(), 2).await;

        // The subscription exists before any replica starts, so the first run delivers to it.
        let store = briefing::startup::open_store(&database.url())
            .await
            .expect("store opens");
        let hook = briefing::domain::subscription::SubscriptionRequest {
            webhook_url: Some(format!("http://{address}/hook")),
            ..Default::default()
        };
        let subscription =
            briefing::domain::subscription::Subscription::parse(&hook).expect("valid subscription");
        if let briefing::domain::subscription::Target::Webhook { secret: key, .. } =
            &subscription.target
        {
            *secret.lock().expect("lock") = Some(key.expose().to_owned());
        }
        let subscription = store
            .create_subscription(
                briefing::domain::ResourceId::parse("desk").expect("id"),
                subscription,
            )
            .await
            .expect("subscription stored");
        drop(store);

        let schedule = [
            "--digest-cron",
            "*/2 * * * * *",
            "--delivery-first-retry-ms",
            "200",
        ];
        let first = Replica::start(
            &database.url(),
            logs.path(),
            "a",
            &[&schedule[..], &["--demo"]].concat(),
        );
        first.wait_for(ServingStatus::Serving).await;
        let replicas = [
            first,
            Replica::start(&database.url(), logs.path(), "b", &schedule),
            Replica::start(&database.url(), logs.path(), "c", &schedule),
        ];
        for replica in &replicas[1..] {
            replica.wait_for(ServingStatus::Serving).await;
        }

        // A write through one replica reads back through another.
        let created = OfficialServiceClient::new(replicas[1].channel().await)
            .create_official(pb::CreateOfficialRequest {
                official_id: "cho-tae-yul".into(),
                official: Some(pb::Official {
                    display_name: "Cho Tae-yul".into(),
                    country: "KOR".into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("created through b")
            .into_inner();
        let read = OfficialServiceClient::new(replicas[2].channel().await)
            .get_official(pb::GetOfficialRequest {
                name: created.name.clone(),
            })
            .await
            .expect("read through c")
            .into_inner();
        assert_eq!(read, created);

        // Several ticks of the schedule on every replica, and the delivery retried twice.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let succeeded = received
                .lock()
                .expect("lock")
                .by_id
                .values()
                .flatten()
                .any(|status| *status == 204);
            if succeeded {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery succeeded; logs:\n{}",
                replicas[0].log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;

        let listed = digests(replicas[2].channel().await).await;
        assert_eq!(
            listed.len(),
            1,
            "exactly one digest for the one day: {:?}",
            listed.iter().map(|d| &d.name).collect::<Vec<_>>()
        );
        assert_eq!(listed[0].revision, 1, "compiled once, never again");
        let runs = DigestServiceClient::new(replicas[0].channel().await)
            .list_digest_runs(pb::ListDigestRunsRequest::default())
            .await
            .expect("runs")
            .into_inner()
            .digest_runs;
        assert_eq!(runs.len(), 1);
        assert_eq!(
            runs[0].attempts, 1,
            "no replica compiled the day a second time"
        );

        let received = std::mem::take(&mut *received.lock().expect("lock"));
        assert_eq!(received.bad_signatures, 0);
        assert_eq!(
            received.by_id.len(),
            1,
            "every request of the delivery carries one webhook-id: {:?}",
            received.by_id
        );
        let statuses = received.by_id.values().next().expect("one id");
        assert_eq!(
            statuses,
            &vec![503, 503, 204],
            "two failures, then exactly one success"
        );
        let deliveries = SubscriptionServiceClient::new(replicas[1].channel().await)
            .list_deliveries(pb::ListDeliveriesRequest {
                parent: format!("subscriptions/{}", subscription.id),
                ..Default::default()
            })
            .await
            .expect("deliveries")
            .into_inner()
            .deliveries;
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].attempts, 3);
        assert_eq!(deliveries[0].state, pb::DeliveryState::Succeeded as i32);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_day_held_by_a_dead_replica_is_compiled_once_after_its_lease() {
        let database = TestDatabase::create(&admin_url()).await;
        let logs = TempDir::new().expect("log directory");
        let store = briefing::startup::open_store(&database.url())
            .await
            .expect("store opens");
        let today = chrono::Utc::now().date_naive();
        // What a replica SIGKILLed mid-compile leaves behind: a running claim with a lease.
        let dead = RunClaim {
            owner: "replica-killed-mid-compile".into(),
            lease: chrono::Duration::seconds(4),
            force: false,
            trigger: "schedule".into(),
        };
        assert_eq!(
            store.claim_run("daily", today, &dead).await.expect("claim"),
            ClaimOutcome::Claimed { attempt: 1 }
        );

        let replica = Replica::start(
            &database.url(),
            logs.path(),
            "survivor",
            &["--digest-cron", "*/1 * * * * *"],
        );
        replica.wait_for(ServingStatus::Serving).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let digest = loop {
            if let Some(digest) = digests(replica.channel().await).await.into_iter().next() {
                break digest;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the survivor never took the day over:\n{}",
                replica.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(digest.revision, 1);
        let run = store
            .get_run("daily", today)
            .await
            .expect("ledger")
            .expect("run");
        assert_eq!(
            run.attempts, 2,
            "the dead replica's attempt and the survivor's"
        );

        // The dead replica's late commit would be a second compilation: the ledger refuses it.
        let compiled = briefing::schedule::runner::compile_from_store(
            store.as_ref(),
            "daily",
            today,
            chrono_tz::UTC,
            &briefing::digest::Side::default(),
        )
        .await
        .expect("compiles");
        let late = store
            .finish_run("daily", today, &dead.owner, &compiled, true)
            .await;
        assert!(
            matches!(late, Err(briefing::store::StoreError::Stale { .. })),
            "{late:?}"
        );
        assert_eq!(digests(replica.channel().await).await[0].revision, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replica_killed_with_sigkill_leaves_the_others_serving() {
        let database = TestDatabase::create(&admin_url()).await;
        let logs = TempDir::new().expect("log directory");
        let mut doomed = Replica::start(
            &database.url(),
            logs.path(),
            "doomed",
            &["--demo", "--schedule=false"],
        );
        doomed.wait_for(ServingStatus::Serving).await;
        let other = Replica::start(&database.url(), logs.path(), "other", &["--schedule=false"]);
        other.wait_for(ServingStatus::Serving).await;
        doomed.kill();
        let compiled = DigestServiceClient::new(other.channel().await)
            .compile_digest(pb::CompileDigestRequest {
                date: "2025-01-06".into(),
                ..Default::default()
            })
            .await
            .expect("the other replica compiles")
            .into_inner();
        assert!(compiled.markdown.contains("U.S.–South Korea alliance"));
    }

    /// A PostgreSQL server of the test's own, on its own port, that the test may stop.
    struct PrivateCluster {
        directory: TempDir,
        port: u16,
        bin: PathBuf,
        as_postgres_user: bool,
    }

    impl PrivateCluster {
        fn create() -> Self {
            let bin = std::fs::read_dir("/usr/lib/postgresql")
                .expect("PostgreSQL binaries under /usr/lib/postgresql")
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin"))
                .find(|bin| bin.join("initdb").exists())
                .expect("an initdb");
            let directory = TempDir::new().expect("cluster directory");
            let as_postgres_user = Command::new("id")
                .arg("-u")
                .output()
                .map(|out| out.stdout.starts_with(b"0\n"))
                .unwrap_or(false);
            if as_postgres_user {
                // initdb refuses to run as root; the cluster belongs to the postgres user.
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(directory.path())
                    .status()
                    .expect("chown");
            }
            let cluster = Self {
                port: free_port(),
                bin,
                directory,
                as_postgres_user,
            };
            let data = cluster.data();
            cluster.run(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            );
            cluster.start();
            cluster
        }

        fn data(&self) -> String {
            self.directory.path().join("data").display().to_string()
        }

        fn run(&self, tool: &str, args: &[&str]) {
            let program = self.bin.join(tool);
            let status = if self.as_postgres_user {
                Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(&program)
                    .args(args)
                    .stdout(Stdio::null())
                    .status()
            } else {
                Command::new(&program)
                    .args(args)
                    .stdout(Stdio::null())
                    .status()
            }
            .expect("PostgreSQL tool runs");
            assert!(status.success(), "{tool} {args:?} failed");
        }

        fn start(&self) {
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.directory.path().display()
            );
            let log = self
                .directory
                .path()
                .join("server.log")
                .display()
                .to_string();
            self.run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data(),
                    "-o",
                    &options,
                    "-l",
                    &log,
                    "-w",
                    "start",
                ],
            );
        }

        fn stop(&self) {
            self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        }

        fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:{}", self.port)
        }
    }

    impl Drop for PrivateCluster {
        fn drop(&mut self) {
            let mut stop = if self.as_postgres_user {
                let mut command = Command::new("runuser");
                command
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                command
            } else {
                Command::new(self.bin.join("pg_ctl"))
            };
            let _ = stop
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgresql_going_away_makes_calls_unavailable_and_service_resumes() {
        let cluster = PrivateCluster::create();
        let database = TestDatabase::create(&cluster.url()).await;
        let logs = TempDir::new().expect("log directory");
        let replica = Replica::start(
            &database.url(),
            logs.path(),
            "replica",
            &["--schedule=false"],
        );
        replica.wait_for(ServingStatus::Serving).await;
        let mut officials = OfficialServiceClient::new(replica.channel().await);
        let created = officials
            .create_official(pb::CreateOfficialRequest {
                official_id: "choi-sang-mok".into(),
                official: Some(pb::Official {
                    display_name: "Choi Sang-mok".into(),
                    country: "KOR".into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("acknowledged write")
            .into_inner();

        cluster.stop();
        replica.wait_for(ServingStatus::NotServing).await;
        let during = tokio::time::timeout(
            Duration::from_secs(15),
            officials.get_official(pb::GetOfficialRequest {
                name: created.name.clone(),
            }),
        )
        .await
        .expect("a call fails promptly rather than hang")
        .expect_err("no database, no answer");
        assert_eq!(during.code(), tonic::Code::Unavailable, "{during:?}");

        cluster.start();
        replica.wait_for(ServingStatus::Serving).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let after = loop {
            match officials
                .get_official(pb::GetOfficialRequest {
                    name: created.name.clone(),
                })
                .await
            {
                Ok(found) => break found.into_inner(),
                Err(status) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "service did not resume: {status:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        assert_eq!(after, created, "the acknowledged write survived");
        drop(replica);
        drop(database);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_digest_compiled_on_one_replica_reaches_watchers_on_another() {
        let database = TestDatabase::create(&admin_url()).await;
        let logs = TempDir::new().expect("log directory");
        let a = Replica::start(
            &database.url(),
            logs.path(),
            "a",
            &["--demo", "--schedule=false"],
        );
        a.wait_for(ServingStatus::Serving).await;
        let b = Replica::start(&database.url(), logs.path(), "b", &["--schedule=false"]);
        b.wait_for(ServingStatus::Serving).await;

        let mut watch = DigestServiceClient::new(b.channel().await)
            .watch_digests(pb::WatchDigestsRequest::default())
            .await
            .expect("watching b")
            .into_inner();
        let compiled = DigestServiceClient::new(a.channel().await)
            .compile_digest(pb::CompileDigestRequest {
                date: "2025-01-07".into(),
                ..Default::default()
            })
            .await
            .expect("compiled on a")
            .into_inner();
        let seen = tokio::time::timeout(PATIENCE, watch.message())
            .await
            .expect("b's watcher hears of it")
            .expect("stream open")
            .expect("a message");
        assert_eq!(seen.digest.expect("digest").name, compiled.name);

        // The same cursor semantics on any replica: resuming on a from b's cursor replays nothing.
        let mut resumed = DigestServiceClient::new(a.channel().await)
            .watch_digests(pb::WatchDigestsRequest {
                cursor: seen.cursor.clone(),
                ..Default::default()
            })
            .await
            .expect("watching a")
            .into_inner();
        let again = DigestServiceClient::new(b.channel().await)
            .compile_digest(pb::CompileDigestRequest {
                date: "2025-01-08".into(),
                ..Default::default()
            })
            .await
            .expect("compiled on b")
            .into_inner();
        let next = tokio::time::timeout(PATIENCE, resumed.message())
            .await
            .expect("a's watcher hears")
            .expect("open")
            .expect("message");
        assert_eq!(
            next.digest.expect("digest").name,
            again.name,
            "the first digest is not replayed past its cursor"
        );
    }

    /// The NOTIFY path itself: a store forwards what another process publishes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publications_are_forwarded_between_processes_by_notify() {
        let database = TestDatabase::create(&admin_url()).await;
        let publisher = briefing::store::postgres::PostgresStore::open(&database.url())
            .await
            .expect("publisher");
        let listener = briefing::store::postgres::PostgresStore::open(&database.url())
            .await
            .expect("listener");
        let (sender, mut heard) = tokio::sync::broadcast::channel(8);
        briefing::store::Store::forward_publications(&listener, sender);
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 6).expect("day");
        let claim = RunClaim {
            owner: "publisher".into(),
            lease: chrono::Duration::seconds(30),
            force: false,
            trigger: "api".into(),
        };
        // The listener connects in the background: publish until it hears, a bounded number of times.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let store: &dyn briefing::store::Store = &publisher;
            store
                .claim_run(
                    "daily",
                    day,
                    &RunClaim {
                        force: true,
                        ..claim.clone()
                    },
                )
                .await
                .expect("claim");
            let digest = briefing::schedule::runner::compile_from_store(
                store,
                "daily",
                day,
                chrono_tz::UTC,
                &briefing::digest::Side {
                    alliances: Vec::new(),
                    ..Default::default()
                },
            )
            .await
            .expect("compile");
            let published = store
                .finish_run("daily", day, "publisher", &digest, false)
                .await
                .expect("publish");
            if let Ok(Ok(position)) =
                tokio::time::timeout(Duration::from_millis(500), heard.recv()).await
            {
                assert_eq!(position, published.publication);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no NOTIFY reached the other store"
            );
        }
    }
}
