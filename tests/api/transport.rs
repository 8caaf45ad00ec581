//! What a client, or many, may hold of the server (issue 12): connections that never finish
//! their handshake are closed, SETTINGS advertise MAX_CONCURRENT_STREAMS, calls past the
//! server-wide limit are shed with RESOURCE_EXHAUSTED, and WatchDigests streams past
//! `max_watchers` are refused.

use std::time::Duration;

use briefing::api::pb;
use briefing::api::pb::digest_service_client::DigestServiceClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{
    PATIENCE, TestApp, assert_status, eventually, fresh_database, spawn_app_with_args, within,
};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads until the server closes the connection; fails the test if it is still open after
/// `limit`.
async fn closed_by_server(mut stream: TcpStream, limit: Duration, what: &str) {
    let mut buffer = [0_u8; 1024];
    within(limit, what, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

async fn connect_channel(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("address is a uri")
        .connect()
        .await
        .expect("client connects")
}

async fn serving(app: &TestApp) -> ServingStatus {
    HealthClient::new(connect_channel(app.port).await)
        .check(HealthCheckRequest::default())
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

#[tokio::test]
async fn connections_that_do_not_finish_their_handshake_are_closed_after_the_timeout() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--handshake-timeout-seconds", "1"]).await;
    let address = format!("127.0.0.1:{}", app.port);

    let silent = TcpStream::connect(&address).await.expect("connect");
    let mut half = TcpStream::connect(&address).await.expect("connect");
    half.write_all(&PREFACE[..10])
        .await
        .expect("write half a preface");
    // The whole preface, but never the SETTINGS frame that must follow it.
    let mut no_settings = TcpStream::connect(&address).await.expect("connect");
    no_settings
        .write_all(PREFACE)
        .await
        .expect("write the preface");
    let started = tokio::time::Instant::now();
    for (stream, what) in [
        (silent, "a silent connection is closed"),
        (half, "a connection with half a preface is closed"),
        (no_settings, "a connection without SETTINGS is closed"),
    ] {
        closed_by_server(stream, Duration::from_secs(10), what).await;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the handshake timeout ran out: {:?}",
        started.elapsed()
    );

    // Something that is not HTTP/2 at all is closed at once.
    let mut http1 = TcpStream::connect(&address).await.expect("connect");
    http1
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    closed_by_server(
        http1,
        Duration::from_millis(900),
        "an HTTP/1.1 request is refused",
    )
    .await;

    // A client that speaks is served, and stays connected past the timeout.
    let channel = connect_channel(app.port).await;
    let mut health = HealthClient::new(channel);
    for _ in 0..2 {
        let status = health
            .check(HealthCheckRequest::default())
            .await
            .expect("health answers")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving);
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
}

// The server is busy starting (a catch-up compile) while the client and the silent
// connections arrive, so the accept loop finds them all waiting at once: the test client's own
// connection, already past its handshake, must not be taken for a silent one, and a
// connection told to make room must give its slot back even if its handshake finishes at that
// moment (it once kept it, and the newcomer waited for the handshake timeout).
#[tokio::test]
async fn when_every_slot_is_taken_a_silent_connection_makes_room_for_a_new_client() {
    let (_database, url) = fresh_database().await;
    // The slots: the test app's own client connection, then silent ones.
    let app = spawn_app_with_args(&url, &["--max-connections", "4"]).await;
    let address = format!("127.0.0.1:{}", app.port);
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&address).await.expect("connect"));
    }
    // Long before the handshake timeout (10 s), a new client is served.
    let status = within(
        Duration::from_secs(5),
        "a new client is served while silent connections fill every slot",
        serving(&app),
    )
    .await;
    assert_eq!(status, ServingStatus::Serving);
    // The connection that was already serving keeps being served.
    let mut trips = app.trips.clone();
    let missing = trips
        .get_trip(pb::GetTripRequest {
            name: "trips/nowhere".into(),
        })
        .await
        .expect_err("no such trip");
    assert_eq!(missing.code(), Code::NotFound);
    drop(silent);
}

/// The server's first SETTINGS frame as an HTTP/2 client sees it.
async fn max_concurrent_streams_advertised(port: u16) -> usize {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    eventually("the server's SETTINGS arrive", || {
        let mut send = send.clone();
        async move {
            send = send.ready().await.ok()?;
            let max = send.current_max_send_streams();
            (max != usize::MAX).then_some(max)
        }
    })
    .await
}

#[tokio::test]
async fn settings_advertise_max_concurrent_streams() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &[]).await;
    assert_eq!(max_concurrent_streams_advertised(app.port).await, 100);
    let (_other_database, other_url) = fresh_database().await;
    let configured = spawn_app_with_args(&other_url, &["--max-concurrent-streams", "7"]).await;
    assert_eq!(max_concurrent_streams_advertised(configured.port).await, 7);
}

#[tokio::test]
async fn calls_past_the_server_wide_limit_are_shed_with_resource_exhausted() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--max-requests-in-flight", "1"]).await;
    // An import whose stream stays open holds the one place until it ends.
    let (items, stream) = tokio::sync::mpsc::channel::<pb::ImportAgendaItemsRequest>(1);
    let mut importer = app.agenda.clone();
    let import = tokio::spawn(async move {
        importer
            .import_agenda_items(tokio_stream::wrappers::ReceiverStream::new(stream))
            .await
    });
    // On another connection, as another client would.
    let mut trips = briefing::api::pb::trip_service_client::TripServiceClient::new(
        connect_channel(app.port).await,
    );
    let shed = eventually("a call is shed while the import holds the place", || {
        let mut trips = trips.clone();
        async move {
            let outcome = trips
                .get_trip(pb::GetTripRequest {
                    name: "trips/nowhere".into(),
                })
                .await;
            match outcome {
                Err(status) if status.code() == Code::ResourceExhausted => Some(status),
                _ => None,
            }
        }
    })
    .await;
    assert_status(&shed, Code::ResourceExhausted, "SERVER_OVERLOADED");
    assert!(
        shed.message().contains("limit of 1 calls"),
        "the message names the limit: {}",
        shed.message()
    );
    // Health is never shed.
    assert_eq!(serving(&app).await, ServingStatus::Serving);

    drop(items);
    within(PATIENCE, "the import ends", import)
        .await
        .expect("the import task")
        .expect("an empty import succeeds");
    let missing = eventually("calls are served again", || {
        let mut trips = trips.clone();
        async move {
            match trips
                .get_trip(pb::GetTripRequest {
                    name: "trips/nowhere".into(),
                })
                .await
            {
                Err(status) if status.code() != Code::ResourceExhausted => Some(status),
                _ => None,
            }
        }
    })
    .await;
    assert_eq!(missing.code(), Code::NotFound);
    trips = trips.clone();
    drop(trips);
}

#[tokio::test]
async fn watchers_past_max_watchers_are_refused() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--max-watchers", "2"]).await;
    let mut digests = DigestServiceClient::new(app.channel.clone());
    let watch = pb::WatchDigestsRequest::default();
    let first = digests
        .watch_digests(watch.clone())
        .await
        .expect("first watcher");
    let second = digests
        .watch_digests(watch.clone())
        .await
        .expect("second watcher");
    let refused = digests
        .watch_digests(watch.clone())
        .await
        .expect_err("a third watcher is past the cap");
    assert_status(&refused, Code::ResourceExhausted, "TOO_MANY_WATCHERS");
    assert!(
        refused.message().contains("2 WatchDigests streams"),
        "the message names the limit: {}",
        refused.message()
    );

    // A watcher that goes away gives its place back.
    drop(first);
    let third = eventually("a place is free again", || {
        let mut digests = digests.clone();
        let watch = watch.clone();
        async move { digests.watch_digests(watch).await.ok() }
    })
    .await;
    drop((second, third));
}

/// One HTTP/2 frame header: length, type, flags, stream.
fn frame_header(length: usize, kind: u8, flags: u8) -> Vec<u8> {
    let length = u32::try_from(length).expect("small").to_be_bytes();
    vec![length[1], length[2], length[3], kind, flags, 0, 0, 0, 0]
}

const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const ACK: u8 = 0x1;

/// Keepalive: a connection whose peer stops answering PINGs (a client gone without a FIN, a
/// dead NAT entry) is closed, so it does not hold a slot and a descriptor for ever.
#[tokio::test]
async fn a_connection_that_does_not_answer_keepalive_pings_is_closed() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(
        &url,
        &[
            "--keepalive-interval-seconds",
            "1",
            "--keepalive-timeout-seconds",
            "1",
        ],
    )
    .await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    // A whole handshake: the preface, empty SETTINGS, and the ACK of the server's SETTINGS.
    stream.write_all(PREFACE).await.expect("preface");
    stream
        .write_all(&frame_header(0, SETTINGS, 0))
        .await
        .expect("settings");
    let mut pings = 0;
    let started = tokio::time::Instant::now();
    within(
        Duration::from_secs(15),
        "the server closes a connection that leaves its pings unanswered",
        async {
            loop {
                let mut header = [0_u8; 9];
                if stream.read_exact(&mut header).await.is_err() {
                    return;
                }
                let length = usize::from(header[0]) << 16
                    | usize::from(header[1]) << 8
                    | usize::from(header[2]);
                let mut payload = vec![0_u8; length];
                if stream.read_exact(&mut payload).await.is_err() {
                    return;
                }
                match (header[3], header[4] & ACK) {
                    (SETTINGS, 0) => stream
                        .write_all(&frame_header(0, SETTINGS, ACK))
                        .await
                        .expect("settings ack"),
                    // Never answered.
                    (PING, 0) => pings += 1,
                    _ => {}
                }
            }
        },
    )
    .await;
    assert!(pings >= 1, "the server sent no keepalive PING");
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "closed before a ping could go unanswered: {:?}",
        started.elapsed()
    );
    // A client that answers (every HTTP/2 client library does) stays connected.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(serving(&app).await, ServingStatus::Serving);
    let mut health = HealthClient::new(app.channel.clone());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .expect("the test's own connection, which answers pings, is still served")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);
}

/// Point 4: start-up raises the open-file limit to its hard limit, and keeps `max_connections`
/// under it (with room for the database, webhooks and files), saying so when it must serve
/// fewer. The 19,980 idle connections took 19,493 of 20,000 descriptors.
#[tokio::test]
async fn start_up_raises_the_open_file_limit_and_keeps_connections_under_it() {
    use std::io::BufRead as _;
    let (_database, url) = fresh_database().await;
    let mut child = std::process::Command::new("prlimit")
        .arg("--nofile=512:2048")
        .arg(env!("CARGO_BIN_EXE_briefing"))
        .args(["serve", "--listen", "127.0.0.1:0", "--http-listen="])
        .args(["--database", &url, "--max-connections", "4096"])
        .env("BRIEFING_LOG", "info")
        .env("NO_COLOR", "1")
        .env_remove("BRIEFING_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run prlimit (util-linux) with briefing serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    // The warning comes once the limit is raised, as the server begins to accept.
    let mut seen = Vec::new();
    let warning = loop {
        let line = log.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            panic!(
                "no warning about max_connections; log:\n{}",
                seen.join("\n")
            )
        });
        if line.contains("max_connections does not fit") {
            break line;
        }
        seen.push(line);
    };
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id()))
        .expect("the server's /proc limits");
    let _ = child.kill();
    let _ = child.wait();
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(
        numbers,
        ["2048", "2048"],
        "the soft limit is raised to the hard one: {open_files}"
    );
    assert!(
        warning.contains("serving=1792") && warning.contains("open_file_limit=2048"),
        "4,096 connections do not fit under 2,048 descriptors less 256 kept back: {warning}"
    );
}
