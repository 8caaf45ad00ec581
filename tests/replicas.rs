//! Several replicas of the real binary on one PostgreSQL database: exactly one digest per day,
//! one `webhook-id` per delivery, each GDELT feed file imported once, writes visible across
//! replicas, a replica that dies holding a day, and PostgreSQL itself going away and coming
//! back. The server processes, databases and
//! the webhook receiver are the API suite's (`tests/api/helpers.rs`, `tests/api/receiver.rs`).
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

/// The backend of the API suite's helpers here (see `helpers::fresh_database`).
#[cfg(postgres_tests)]
const BACKEND: helpers::Backend = helpers::Backend::Postgres;

// The API suite's harness: databases, the server process and the webhook receiver.
#[cfg(postgres_tests)]
#[allow(dead_code, reason = "the replica tests use a part of the GDELT files")]
#[path = "api/gdelt_files.rs"]
mod gdelt_files;
#[cfg(postgres_tests)]
#[allow(
    dead_code,
    reason = "the replica tests use a part of the API suite's helpers"
)]
#[path = "api/helpers.rs"]
mod helpers;
#[cfg(postgres_tests)]
#[allow(dead_code, reason = "the replica tests use a part of the receiver")]
#[path = "api/receiver.rs"]
mod receiver;

#[cfg(postgres_tests)]
mod replicas {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    use briefing::api::pb;
    use briefing::api::pb::digest_service_client::DigestServiceClient;
    use briefing::api::pb::official_service_client::OfficialServiceClient;
    use briefing::api::pb::subscription_service_client::SubscriptionServiceClient;
    use briefing::store::digests::{ClaimOutcome, RunClaim};
    use tempfile::TempDir;
    use tonic::transport::Channel;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    use crate::helpers::{
        ServerProcess, briefing_token, create_token, fresh_database, fresh_postgres_database,
        with_token,
    };
    use crate::receiver::{Receiver, Reply};

    /// Replicas start, compile and fail over more slowly than one in-process server.
    const PATIENCE: Duration = Duration::from_secs(60);

    /// One `briefing serve` process on the database `url`, serving.
    async fn replica(url: &str, extra: &[&str]) -> ServerProcess {
        let replica = ServerProcess::start(url, extra);
        wait_for_health(&replica, ServingStatus::Serving).await;
        replica
    }

    /// A channel to the replica that connects on first use.
    fn channel(replica: &ServerProcess) -> Channel {
        Channel::from_shared(replica.address.clone())
            .expect("uri")
            .connect_lazy()
    }

    /// What `grpc.health.v1` says of the whole replica, `None` when it does not answer in time.
    async fn health(replica: &ServerProcess) -> Option<ServingStatus> {
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let response = tokio::time::timeout(
            Duration::from_secs(2),
            HealthClient::new(channel(replica)).check(request),
        )
        .await
        .ok()?
        .ok()?;
        ServingStatus::try_from(response.into_inner().status).ok()
    }

    async fn wait_for_health(replica: &ServerProcess, status: ServingStatus) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while health(replica).await != Some(status) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the replica at {} never became {status:?}; log:\n{}",
                replica.address,
                replica.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
        let (_database, url) = fresh_database().await;
        let receiver = Receiver::start().await;
        receiver.script(
            &[Reply::Status(503), Reply::Status(503)],
            Reply::Status(204),
        );

        // The subscription exists before any replica starts, so the first run delivers to it.
        let store = briefing::startup::open_store(&url)
            .await
            .expect("store opens");
        let hook = briefing::domain::subscription::SubscriptionRequest {
            webhook_url: Some(receiver.url.clone()),
            ..Default::default()
        };
        let subscription =
            briefing::domain::subscription::Subscription::parse(&hook).expect("valid subscription");
        if let briefing::domain::subscription::Target::Webhook { secret: key, .. } =
            &subscription.target
        {
            receiver.verify_with(key.expose());
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
        let replicas = [
            replica(&url, &[&schedule[..], &["--demo"]].concat()).await,
            replica(&url, &schedule).await,
            replica(&url, &schedule).await,
        ];

        // A write through one replica reads back through another.
        let created = OfficialServiceClient::new(channel(&replicas[1]))
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
        let read = OfficialServiceClient::new(channel(&replicas[2]))
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
            let succeeded = receiver
                .received()
                .iter()
                .any(|request| request.succeeded());
            if succeeded {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery succeeded; log of the first replica:\n{}",
                replicas[0].log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;

        let listed = digests(channel(&replicas[2])).await;
        assert_eq!(
            listed.len(),
            1,
            "exactly one digest for the one day: {:?}",
            listed.iter().map(|d| &d.name).collect::<Vec<_>>()
        );
        assert_eq!(listed[0].revision, 1, "compiled once, never again");
        let runs = DigestServiceClient::new(channel(&replicas[0]))
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

        let received = receiver.received();
        for request in &received {
            assert_eq!(request.verified, Ok(()), "the signature verifies");
        }
        assert!(
            received
                .iter()
                .all(|request| request.webhook_id == received[0].webhook_id),
            "every request of the delivery carries one webhook-id: {received:?}"
        );
        let replies: Vec<Reply> = received.iter().map(|request| request.reply).collect();
        assert_eq!(
            replies,
            [Reply::Status(503), Reply::Status(503), Reply::Status(204)],
            "two failures, then exactly one success"
        );
        let deliveries = SubscriptionServiceClient::new(channel(&replicas[1]))
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
        let (_database, url) = fresh_database().await;
        let store = briefing::startup::open_store(&url)
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

        let replica = replica(&url, &["--digest-cron", "*/1 * * * * *"]).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let digest = loop {
            if let Some(digest) = digests(channel(&replica)).await.into_iter().next() {
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
        assert_eq!(digests(channel(&replica)).await[0].revision, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replica_killed_with_sigkill_leaves_the_others_serving() {
        let (_database, url) = fresh_database().await;
        let doomed = replica(&url, &["--demo", "--schedule=false"]).await;
        let other = replica(&url, &["--schedule=false"]).await;
        doomed.kill_hard();
        let compiled = DigestServiceClient::new(channel(&other))
            .compile_digest(pb::CompileDigestRequest {
                date: "2025-01-06".into(),
                ..Default::default()
            })
            .await
            .expect("the other replica compiles")
            .into_inner();
        assert!(compiled.markdown.contains("U.S.–South Korea alliance"));
    }

    /// The port in the name of the private cluster's socket file (`.s.PGSQL.5432`).
    const SOCKET_PORT: u16 = 5432;

    /// A PostgreSQL server of the test's own that the test may stop. It listens on a Unix
    /// socket in its own directory only, so it needs no free TCP port.
    struct PrivateCluster {
        directory: TempDir,
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
            // No TCP at all (`listen_addresses` empty): the socket's port is only part of its
            // file name, in a directory no other server uses.
            let options = format!(
                "-p {SOCKET_PORT} -k {} -c listen_addresses= -c fsync=off",
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

        /// The server, as `fresh_postgres_database` takes it: the database name goes before
        /// the options.
        fn url(&self) -> String {
            format!(
                "postgres://postgres@localhost?host={}&port={SOCKET_PORT}",
                self.directory.path().display()
            )
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
        let (database, url) = fresh_postgres_database(&cluster.url()).await;
        let replica = replica(&url, &["--schedule=false"]).await;
        let mut officials = OfficialServiceClient::new(channel(&replica));
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
        wait_for_health(&replica, ServingStatus::NotServing).await;
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
        wait_for_health(&replica, ServingStatus::Serving).await;
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
        let (_database, url) = fresh_database().await;
        let a = replica(&url, &["--demo", "--schedule=false"]).await;
        let b = replica(&url, &["--schedule=false"]).await;

        let mut watch = DigestServiceClient::new(channel(&b))
            .watch_digests(pb::WatchDigestsRequest::default())
            .await
            .expect("watching b")
            .into_inner();
        let compiled = DigestServiceClient::new(channel(&a))
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
        let mut resumed = DigestServiceClient::new(channel(&a))
            .watch_digests(pb::WatchDigestsRequest {
                cursor: seen.cursor.clone(),
                ..Default::default()
            })
            .await
            .expect("watching a")
            .into_inner();
        let again = DigestServiceClient::new(channel(&b))
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_replicas_following_gdelt_import_each_file_exactly_once() {
        use crate::gdelt_files::{GdeltServer, export_name, latest_quarter_hour, three_rows};
        use briefing::api::pb::feed_service_client::FeedServiceClient;

        let (database, url) = fresh_database().await;
        let gdelt = GdeltServer::start();
        // The replicas start on empty lists, then meet the files together; each export takes
        // a while to download, so a replica still holds one while the others poll.
        gdelt.set_update_list(&[]);
        gdelt.set_master_list(&[]);
        gdelt.slow_exports(Duration::from_millis(300));
        let config = database.directory().join("briefing.toml");
        std::fs::write(&config, gdelt.feed_config(3)).expect("write the configuration");
        let config = config.to_str().expect("utf-8");
        let replicas = [
            replica(&url, &["--schedule=false", "--config", config]).await,
            replica(&url, &["--schedule=false", "--config", config]).await,
            replica(&url, &["--schedule=false", "--config", config]).await,
        ];
        let latest = latest_quarter_hour().await;
        let times: Vec<_> = (0..8)
            .map(|back| latest - chrono::Duration::minutes(15 * back))
            .collect();
        let lines: Vec<String> = times
            .iter()
            .rev()
            .zip(1..)
            .map(|(time, number)| gdelt.put_export(*time, &three_rows(number)))
            .collect();
        gdelt.set_master_list(&lines);
        gdelt.set_update_list(&lines[lines.len() - 1..]);

        let mut feeds = FeedServiceClient::new(channel(&replicas[2]));
        let list = |state: pb::FeedFileState| pb::ListFeedFilesRequest {
            page_size: 100,
            state: state.into(),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let imported = feeds
                .list_feed_files(list(pb::FeedFileState::Imported))
                .await
                .expect("ListFeedFiles")
                .into_inner()
                .feed_files;
            if imported.len() == times.len() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not every file was imported: {imported:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Several more polls of every replica: nothing is claimed or downloaded again.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let ledger = feeds
            .list_feed_files(list(pb::FeedFileState::Unspecified))
            .await
            .expect("ListFeedFiles")
            .into_inner()
            .feed_files;
        assert_eq!(ledger.len(), times.len(), "{ledger:#?}");
        for file in &ledger {
            let name = file.name.rsplit('/').next().unwrap_or_default();
            assert_eq!(file.state(), pb::FeedFileState::Imported, "{file:#?}");
            assert_eq!(file.attempts, 1, "claimed once: {file:#?}");
            assert_eq!((file.rows_read, file.rows_imported), (3, 2), "{file:#?}");
            assert_eq!(gdelt.downloads(name), 1, "{name} downloaded once");
        }
        let mut names: Vec<String> = times.iter().map(|time| export_name(*time)).collect();
        names.sort();
        let mut listed: Vec<String> = ledger
            .iter()
            .map(|file| file.name.rsplit('/').next().unwrap_or_default().to_owned())
            .collect();
        listed.sort();
        assert_eq!(listed, names);
        // The files were shared out, not all taken by one replica.
        let holders: std::collections::BTreeSet<&str> =
            ledger.iter().map(|file| file.claimed_by.as_str()).collect();
        assert!(
            holders.len() >= 2,
            "one replica imported every file: {holders:?}"
        );
        drop(replicas);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_feed_file_held_by_a_replica_that_died_is_imported_by_another_after_its_lease() {
        use crate::gdelt_files::{GdeltServer, export_name, latest_quarter_hour, three_rows};
        use briefing::api::pb::feed_service_client::FeedServiceClient;

        let (database, url) = fresh_database().await;
        let gdelt = GdeltServer::start();
        let time = latest_quarter_hour().await;
        let name = export_name(time);
        let line = gdelt.put_export(time, &three_rows(1));
        gdelt.set_update_list(std::slice::from_ref(&line));
        gdelt.set_master_list(std::slice::from_ref(&line));
        // The download outlasts the replica: it dies holding the file.
        gdelt.slow_exports(Duration::from_secs(30));
        let config = database.directory().join("briefing.toml");
        std::fs::write(&config, gdelt.feed_config_with_lease(1, 2))
            .expect("write the configuration");
        let config = config.to_str().expect("utf-8");
        let first = replica(&url, &["--schedule=false", "--config", config]).await;
        let mut feeds = FeedServiceClient::new(channel(&first));
        let claimed = pb::ListFeedFilesRequest {
            state: pb::FeedFileState::Claimed.into(),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while gdelt.downloads(&name) == 0
            || feeds
                .list_feed_files(claimed.clone())
                .await
                .expect("ListFeedFiles")
                .into_inner()
                .feed_files
                .is_empty()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the file was never claimed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        first.kill_hard();

        gdelt.slow_exports(Duration::ZERO);
        let second = replica(&url, &["--schedule=false", "--config", config]).await;
        let mut feeds = FeedServiceClient::new(channel(&second));
        let imported = pb::ListFeedFilesRequest {
            state: pb::FeedFileState::Imported.into(),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let file = loop {
            let found = feeds
                .list_feed_files(imported.clone())
                .await
                .expect("ListFeedFiles")
                .into_inner()
                .feed_files;
            if let Some(file) = found.into_iter().next() {
                break file;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the file was not taken over; log:\n{}",
                second.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            file.attempts, 2,
            "claimed again once the lease ran out: {file:#?}"
        );
        assert_eq!((file.rows_read, file.rows_imported), (3, 2), "{file:#?}");
        assert_eq!(
            gdelt.downloads(&name),
            2,
            "downloaded again only after the first holder died"
        );
        drop(second);
    }

    /// The NOTIFY path itself: a store forwards what another process publishes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publications_are_forwarded_between_processes_by_notify() {
        let (_database, url) = fresh_database().await;
        let publisher = briefing::store::postgres::PostgresStore::open(&url)
            .await
            .expect("publisher");
        let listener = briefing::store::postgres::PostgresStore::open(&url)
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

    /// ListTrips on `replica` with `token`: the code it answered with and the ErrorInfo reason.
    async fn list_trips_with(replica: &ServerProcess, token: &str) -> (tonic::Code, String) {
        let outcome =
            briefing::api::pb::trip_service_client::TripServiceClient::new(channel(replica))
                .list_trips(with_token(pb::ListTripsRequest::default(), Some(token)))
                .await;
        match outcome {
            Ok(_) => (tonic::Code::Ok, String::new()),
            Err(status) => {
                use tonic_types::StatusExt as _;
                let reason = status
                    .get_details_error_info()
                    .map(|info| info.reason)
                    .unwrap_or_default();
                (status.code(), reason)
            }
        }
    }

    /// Polls `replica` until `token` is refused with `reason`; fails if that takes a second.
    async fn refused_within_a_second(replica: &ServerProcess, token: &str, reason: &str) {
        let since = tokio::time::Instant::now();
        loop {
            let (code, answered) = list_trips_with(replica, token).await;
            if code == tonic::Code::Unauthenticated {
                assert_eq!(answered, reason);
                return;
            }
            assert!(
                since.elapsed() < Duration::from_secs(1),
                "the token still works on the other replica after a second ({code:?})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_revoked_or_expired_is_refused_by_every_replica_within_a_second() {
        let (_database, url) = fresh_database().await;
        let revoked = create_token(&url, "analyst", "reader");
        let expiring = create_token(&url, "contractor", "reader");
        let first = replica(&url, &["--auth", "token"]).await;
        let second = replica(&url, &["--auth", "token"]).await;
        // Both replicas know both tokens, and have them cached.
        for replica in [&first, &second] {
            for token in [&revoked, &expiring] {
                assert_eq!(list_trips_with(replica, token).await.0, tonic::Code::Ok);
            }
        }

        briefing_token(&url, &["revoke", "analyst"]);
        refused_within_a_second(&second, &revoked, "TOKEN_REVOKED").await;
        refused_within_a_second(&first, &revoked, "TOKEN_REVOKED").await;

        // Expiry is a time in the shared row: moved to now, it takes effect everywhere.
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("connect to the store");
        sqlx::query("UPDATE api_tokens SET expire_time = $1 WHERE name = 'contractor'")
            .bind(chrono::Utc::now().timestamp_micros())
            .execute(&mut connection)
            .await
            .expect("expire the token");
        refused_within_a_second(&second, &expiring, "TOKEN_EXPIRED").await;
        refused_within_a_second(&first, &expiring, "TOKEN_EXPIRED").await;
        for replica in [&first, &second] {
            let log = replica.log_text();
            assert!(!log.contains(revoked.as_str()) && !log.contains(expiring.as_str()));
        }
    }
}
