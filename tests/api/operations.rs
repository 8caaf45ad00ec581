//! What operators see: `/metrics` moves with calls, digest runs and delivery retries (and
//! `promtool check metrics` accepts it), `/livez` and `/readyz` answer, a SIGTERM drains before
//! it stops and leaves a complete database file, and JSON logs carry the request id.

use std::collections::BTreeMap;

use briefing::api::pb;
use briefing::api::pb::official_service_client::OfficialServiceClient;
use briefing::api::pb::trip_service_client::TripServiceClient;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::digest_helpers::{compile, quick_and, subscribe_webhook, wait_for_delivery};
use crate::helpers::{
    Backend, ServerProcess, eventually, fresh_database, official, spawn_app_with_args,
};
use crate::receiver::{Receiver, Reply};

/// `GET http://127.0.0.1:PORT/PATH`: the status and the body.
async fn get(base: &str, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .unwrap_or_else(|error| panic!("GET {base}{path}: {error:?}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("a text body"))
}

/// Each sample of a scrape by its series (`name{a="b",c="d"}`, labels sorted), with its value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample is `series value`");
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("a number in {line:?}"));
            (series_key(series), value)
        })
        .collect()
}

/// A series with its labels in sorted order, whatever order they were written in. (No label
/// value here holds `",`.)
fn series_key(series: &str) -> String {
    let Some((name, labels)) = series.split_once('{') else {
        return series.to_owned();
    };
    let mut pairs: Vec<String> = labels
        .trim_end_matches('}')
        .trim_end_matches('"')
        .split("\",")
        .map(|pair| format!("{pair}\""))
        .collect();
    pairs.sort();
    format!("{name}{{{}}}", pairs.join(","))
}

#[track_caller]
fn sample(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(&series_key(series))
        .unwrap_or_else(|| panic!("no {series} in the scrape: {samples:#?}"))
}

/// `promtool check metrics` on the scrape: Prometheus' own parser and its naming lint. It is
/// Debian's `prometheus` package; CI installs it (`.ci/run`), elsewhere the check is skipped
/// with a word.
fn promtool_accepts(scrape: &str) {
    use std::io::Write as _;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped `promtool check metrics` ({error}): apt-get install prometheus");
            return;
        }
        Err(error) => panic!("CI checks the scrape with promtool, which cannot run: {error}"),
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(scrape.as_bytes())
        .expect("write the scrape to promtool");
    let output = child.wait_with_output().expect("promtool runs");
    assert!(
        output.status.success(),
        "promtool check metrics rejects the scrape:\n{}{}\n{scrape}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_count_calls_runs_and_retries_and_promtool_accepts_them() {
    let (_database, url) = fresh_database().await;
    let mut flags = quick_and(&[]);
    flags.push("--demo");
    let app = spawn_app_with_args(&url, &flags).await;
    let base = format!(
        "http://127.0.0.1:{}",
        app.http_port.expect("the listener is on")
    );

    let before = samples(&get(&base, "/metrics").await.1);
    assert_eq!(
        sample(
            &before,
            &format!(
                "briefing_build_info{{version=\"{}\",commit=\"{}\"}}",
                env!("CARGO_PKG_VERSION"),
                briefing::ops::metrics::COMMIT
            )
        ),
        1.0
    );
    assert_eq!(sample(&before, "briefing_store_up"), 1.0);

    // Calls: one answered, one refused, one to a method nobody serves.
    app.all_trips(pb::ListTripsRequest::default()).await;
    let missing = app
        .get_trip("trips/nobody")
        .await
        .expect_err("no such trip");
    assert_eq!(missing.code(), Code::NotFound);
    // A digest compiled and delivered to a receiver that fails once: one retry.
    let receiver = Receiver::start().await;
    receiver.script(&[Reply::Status(500)], Reply::Status(200));
    let subscription = subscribe_webhook(&app, &receiver).await;
    compile(&app, "2025-01-06", true).await;
    wait_for_delivery(
        &app,
        &subscription.name,
        "digests/daily-2025-01-06",
        pb::DeliveryState::Succeeded,
    )
    .await;

    let scrape = get(&base, "/metrics").await.1;
    let after = samples(&scrape);
    let calls = |method: &str, code: &str| {
        let (service, method) = method.split_once('/').expect("service/method");
        after
            .get(&series_key(&format!(
                "briefing_grpc_server_handled_total{{service=\"{service}\",method=\"{method}\",code=\"{code}\"}}"
            )))
            .copied()
            .unwrap_or(0.0)
    };
    assert_eq!(calls("briefing.v1.TripService/ListTrips", "OK"), 1.0);
    assert_eq!(calls("briefing.v1.TripService/GetTrip", "NOT_FOUND"), 1.0);
    assert_eq!(calls("briefing.v1.DigestService/CompileDigest", "OK"), 1.0);
    assert_eq!(
        sample(
            &after,
            "briefing_grpc_server_handling_seconds_count{service=\"briefing.v1.TripService\",method=\"GetTrip\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "briefing_digest_runs_total{kind=\"daily\",state=\"done\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "briefing_digest_run_duration_seconds_count{kind=\"daily\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "briefing_delivery_attempts_total{outcome=\"retry\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "briefing_delivery_attempts_total{outcome=\"succeeded\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&after, "briefing_deliveries{state=\"succeeded\"}"),
        1.0
    );
    assert_eq!(sample(&after, "briefing_deliveries{state=\"dead\"}"), 0.0);
    assert_eq!(sample(&after, "briefing_outbox_depth"), 0.0);
    let pools: Vec<&String> = after
        .keys()
        .filter(|series| series.starts_with("briefing_db_pool_connections{"))
        .collect();
    assert!(
        pools.iter().any(|series| series.contains("state=\"idle\""))
            && pools
                .iter()
                .any(|series| series.contains("state=\"in_use\"")),
        "the pool is reported: {pools:?}"
    );
    promtool_accepts(&scrape);
    app.stop().await;
}

#[tokio::test]
async fn a_method_nobody_serves_is_counted_under_one_unknown_label() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--schedule=false"]).await;
    let base = format!(
        "http://127.0.0.1:{}",
        app.http_port.expect("the listener is on")
    );
    for path in ["/made.Up/One", "/made.Up/Two"] {
        let mut client = tonic::client::Grpc::new(app.channel.clone());
        client.ready().await.expect("ready");
        let status = client
            .unary::<(), (), _>(
                tonic::Request::new(()),
                http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("nobody serves it");
        assert_eq!(status.code(), Code::Unimplemented);
    }
    let scrape = get(&base, "/metrics").await.1;
    assert!(
        !scrape.contains("made.Up"),
        "a made-up method became a label:\n{scrape}"
    );
    assert_eq!(
        sample(
            &samples(&scrape),
            "briefing_grpc_server_handled_total{service=\"unknown\",method=\"unknown\",code=\"UNIMPLEMENTED\"}"
        ),
        2.0
    );
    app.stop().await;
}

#[tokio::test]
async fn livez_and_readyz_answer_and_an_empty_http_listen_turns_the_listener_off() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--schedule=false"]).await;
    let base = format!(
        "http://127.0.0.1:{}",
        app.http_port.expect("the listener is on")
    );
    assert_eq!(get(&base, "/livez").await, (200, "alive\n".to_owned()));
    assert_eq!(get(&base, "/readyz").await, (200, "ready\n".to_owned()));
    assert_eq!(get(&base, "/nothing-here").await.0, 404);
    app.stop().await;

    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--schedule=false", "--http-listen="]).await;
    assert_eq!(app.http_port, None);
    app.stop().await;
}

/// During the drain window the server is not ready (readyz and gRPC health) and still answers
/// calls; a second signal ends it at once instead of waiting the window out.
#[tokio::test]
async fn sigterm_drains_not_ready_but_serving_and_a_second_signal_exits_at_once() {
    let (_database, url) = fresh_database().await;
    // Longer than any test waits: the window is ended by the second signal, not by the clock.
    let mut server = ServerProcess::start(&url, &["--shutdown-drain-seconds", "600"]);
    let base = server.http_address.clone().expect("the listener is on");
    let channel = server.connect().await;
    let health = HealthClient::new(channel.clone());
    let mut officials = OfficialServiceClient::new(channel.clone());
    assert_eq!(get(&base, "/readyz").await.0, 200);

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let body = eventually("readyz reports the drain", || {
        let base = base.clone();
        async move {
            let (status, body) = get(&base, "/readyz").await;
            (status == 503).then_some(body)
        }
    })
    .await;
    assert_eq!(body, "not ready: draining: the server is shutting down\n");
    assert_eq!(get(&base, "/livez").await.0, 200, "draining is still alive");
    let status = eventually("health reports NOT_SERVING", || {
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
    officials
        .create_official(pb::CreateOfficialRequest {
            official: Some(official("Penny Wong", "AUS")),
            official_id: "wong".into(),
        })
        .await
        .expect("calls are still answered while draining");
    drop(health);
    drop(officials);
    drop(channel);

    let status = server.signal_and_wait("TERM").await;
    assert_eq!(status.code(), Some(143), "a second SIGTERM exits at once");
    server.wait_for_log("second signal");
}

/// After a clean stop the SQLite file alone is the whole database: the write-ahead log was
/// copied into it. On PostgreSQL the clean exit is checked.
#[tokio::test]
async fn after_a_clean_sigterm_the_database_file_alone_holds_every_acknowledged_write() {
    let (database, url) = fresh_database().await;
    let mut server = ServerProcess::start(&url, &["--shutdown-drain-seconds", "1"]);
    let channel = server.connect().await;
    let mut officials = OfficialServiceClient::new(channel.clone());
    let ids: Vec<String> = (0..50).map(|number| format!("official-{number}")).collect();
    for id in &ids {
        officials
            .create_official(pb::CreateOfficialRequest {
                official: Some(official(&format!("Official {id}"), "FRA")),
                official_id: id.clone(),
            })
            .await
            .expect("create");
    }
    drop(officials);
    drop(channel);
    let status = server.signal_and_wait("TERM").await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    server.wait_for_log("stopped");
    if crate::BACKEND != Backend::Sqlite {
        return;
    }

    let file = database.directory().join("briefing.db");
    let copy_directory = tempfile::tempdir().expect("temporary directory");
    let copy = copy_directory.path().join("copy.db");
    std::fs::copy(&file, &copy).expect("copy the database file alone");
    let store = briefing::startup::open_store(&format!("sqlite://{}", copy.display()))
        .await
        .expect("the copy opens");
    for id in &ids {
        let id = briefing::domain::ResourceId::parse(id).expect("an id");
        store
            .get_official(&id)
            .await
            .unwrap_or_else(|error| panic!("{id:?} is missing from the copy: {error}"));
    }
    store.close().await;
}

/// Calls that wait for a pool connection are counted: 64 writes at once on a pool that cannot
/// serve them all at once (SQLite has one writer; PostgreSQL's pool is 16), counted from
/// sqlx's own report of each slow acquire in the server process.
#[tokio::test]
async fn calls_that_wait_for_a_pool_connection_are_counted() {
    let (_database, url) = fresh_database().await;
    let mut server = ServerProcess::start(&url, &["--schedule=false"]);
    let channel = server.connect().await;
    let base = server
        .http_address
        .clone()
        .expect("the operators' listener");
    let before = sample(
        &samples(&get(&base, "/metrics").await.1),
        "briefing_db_pool_waits_total",
    );
    let writes = (0..64).map(|number| {
        let mut officials = OfficialServiceClient::new(channel.clone());
        async move {
            officials
                .create_official(pb::CreateOfficialRequest {
                    official: Some(official(&format!("Official {number}"), "FRA")),
                    official_id: format!("waiting-{number}"),
                })
                .await
                .expect("create")
        }
    });
    futures::future::join_all(writes).await;
    let after = sample(
        &samples(&get(&base, "/metrics").await.1),
        "briefing_db_pool_waits_total",
    );
    assert!(
        after > before,
        "64 concurrent writes waited for no connection: {before} then {after}"
    );
    let status = server.signal_and_wait("TERM").await;
    assert!(status.success(), "{status:?}");
}

/// `--log-format json`: every line is a JSON object, and the call's line carries the request
/// id the client sent, which the response returns too; a call without one gets a made one.
#[tokio::test]
async fn json_logs_carry_the_request_id_the_client_sent() {
    let (_database, url) = fresh_database().await;
    let mut server = ServerProcess::start(&url, &["--log-format", "json"]);
    let channel = server.connect().await;
    let mut trips = TripServiceClient::new(channel.clone());

    let mut request = tonic::Request::new(pb::GetTripRequest {
        name: "trips/nowhere".into(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "req-7f3a".parse().expect("metadata"));
    let status = trips.get_trip(request).await.expect_err("no such trip");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        status
            .metadata()
            .get("x-request-id")
            .map(|id| id.to_str().expect("text")),
        Some("req-7f3a"),
        "the response carries the id the client sent"
    );
    let line = server.wait_for_log("\"message\":\"call failed\"");

    // Unprintable or missing: a made id, returned all the same.
    let answered = trips
        .list_trips(pb::ListTripsRequest::default())
        .await
        .expect("list trips");
    let made = answered
        .metadata()
        .get("x-request-id")
        .expect("a made request id")
        .to_str()
        .expect("text");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "a UUID: {made}");
    drop(trips);
    drop(channel);
    let status = server.signal_and_wait("TERM").await;
    assert!(status.success());
    server.wait_for_log("stopped");

    let call: serde_json::Value = serde_json::from_str(&line).expect("the call's line is JSON");
    assert_eq!(call["request_id"], "req-7f3a", "{call}");
    assert_eq!(call["method"], "/briefing.v1.TripService/GetTrip", "{call}");
    assert_eq!(call["code"], "NotFound", "{call}");
    assert!(call["micros"].is_u64(), "{call}");
    assert!(
        call["peer"]
            .as_str()
            .is_some_and(|peer| peer.starts_with("127.0.0.1:")),
        "{call}"
    );
    let log = server.log_text();
    for line in log.lines() {
        let parsed: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON object ({error}): {line}"));
        assert!(parsed.is_object(), "{line}");
    }
}
