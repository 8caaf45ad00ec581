//! Safe to put on a network: the real binary with TLS and mTLS (certificates made here with
//! rcgen), tokens with roles checked against every service, a certificate renewed while the
//! server runs, the auth default, and the limit on costly calls.

use std::path::{Path, PathBuf};
use std::time::Duration;

use briefing::api::pb;
use briefing::api::pb::agenda_service_client::AgendaServiceClient;
use briefing::api::pb::digest_service_client::DigestServiceClient;
use briefing::api::pb::official_service_client::OfficialServiceClient;
use briefing::api::pb::subscription_service_client::SubscriptionServiceClient;
use briefing::api::pb::trip_service_client::TripServiceClient;
use clap::Parser as _;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

use crate::digest_helpers::compile_request;
use crate::helpers::{
    PATIENCE, ServerProcess, briefing_token, create_token, fresh_database, spawn_app_with_args,
    with_token,
};

/// A certificate authority made for one test.
struct Authority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A certificate and its key, PEM.
struct Issued {
    cert: String,
    key: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("ca key");
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).expect("ca certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    fn server(&self) -> Issued {
        self.issue(
            &["localhost", "127.0.0.1"],
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate named `name`.
    fn client(&self, name: &str) -> Issued {
        self.issue(&[name], rcgen::ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], usage: rcgen::ExtendedKeyUsagePurpose) -> Issued {
        let mut params = rcgen::CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )
        .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// Writes `text` to `path` in one step (a new file renamed over the old), as a renewal does.
fn replace_file(path: &Path, text: &str) {
    let staging = path.with_extension("new");
    std::fs::write(&staging, text).expect("write");
    std::fs::rename(&staging, path).expect("rename");
}

/// The server's certificate and key written into `directory`: the flags that serve them.
fn server_files(directory: &Path, issued: &Issued) -> (PathBuf, PathBuf) {
    let cert = directory.join("server.crt");
    let key = directory.join("server.key");
    replace_file(&cert, &issued.cert);
    replace_file(&key, &issued.key);
    (cert, key)
}

fn https(server: &ServerProcess) -> String {
    server.address.replacen("http://", "https://", 1)
}

/// A TLS channel to `address` trusting `ca` (PEM), presenting `identity` when given.
async fn tls_channel(
    address: &str,
    ca: &str,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(Identity::from_pem(&identity.cert, &identity.key));
    }
    Channel::from_shared(address.to_owned())
        .expect("uri")
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// Whether a health check over `channel` is answered.
async fn healthy(channel: Channel) -> Result<(), Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
}

/// One call of each kind the roles tell apart, on each service.
#[derive(Debug, Clone, Copy)]
enum Call {
    ListTrips,
    DeleteTrip,
    ListOfficials,
    CreateOfficial,
    ListAgendaItems,
    DeleteAgendaItem,
    ListDigests,
    ListDigestRuns,
    CompileDigest,
    ListSubscriptions,
    RedeliverDelivery,
}

impl Call {
    const ALL: [Self; 11] = [
        Self::ListTrips,
        Self::DeleteTrip,
        Self::ListOfficials,
        Self::CreateOfficial,
        Self::ListAgendaItems,
        Self::DeleteAgendaItem,
        Self::ListDigests,
        Self::ListDigestRuns,
        Self::CompileDigest,
        Self::ListSubscriptions,
        Self::RedeliverDelivery,
    ];

    /// The smallest role that may make the call.
    fn needs(self) -> &'static str {
        match self {
            Self::ListTrips
            | Self::ListOfficials
            | Self::ListAgendaItems
            | Self::ListDigests
            | Self::ListDigestRuns => "reader",
            Self::DeleteTrip
            | Self::CreateOfficial
            | Self::DeleteAgendaItem
            | Self::CompileDigest => "writer",
            Self::ListSubscriptions | Self::RedeliverDelivery => "admin",
        }
    }

    /// Makes the call; `Ok` or the service's own answer once it is let through.
    async fn make(self, channel: Channel, token: Option<&str>) -> Result<(), Status> {
        match self {
            Self::ListTrips => TripServiceClient::new(channel)
                .list_trips(with_token(pb::ListTripsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::DeleteTrip => TripServiceClient::new(channel)
                .delete_trip(with_token(
                    pb::DeleteTripRequest {
                        name: "trips/no-such-trip".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .map(|_| ()),
            Self::ListOfficials => OfficialServiceClient::new(channel)
                .list_officials(with_token(pb::ListOfficialsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::CreateOfficial => OfficialServiceClient::new(channel)
                .create_official(with_token(pb::CreateOfficialRequest::default(), token))
                .await
                .map(|_| ()),
            Self::ListAgendaItems => AgendaServiceClient::new(channel)
                .list_agenda_items(with_token(pb::ListAgendaItemsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::DeleteAgendaItem => AgendaServiceClient::new(channel)
                .delete_agenda_item(with_token(
                    pb::DeleteAgendaItemRequest {
                        name: "agendaItems/no-such-item".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await
                .map(|_| ()),
            Self::ListDigests => DigestServiceClient::new(channel)
                .list_digests(with_token(pb::ListDigestsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::ListDigestRuns => DigestServiceClient::new(channel)
                .list_digest_runs(with_token(pb::ListDigestRunsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::CompileDigest => DigestServiceClient::new(channel)
                .compile_digest(with_token(
                    compile_request("2025-01-06", false, false),
                    token,
                ))
                .await
                .map(|_| ()),
            Self::ListSubscriptions => SubscriptionServiceClient::new(channel)
                .list_subscriptions(with_token(pb::ListSubscriptionsRequest::default(), token))
                .await
                .map(|_| ()),
            Self::RedeliverDelivery => SubscriptionServiceClient::new(channel)
                .redeliver_delivery(with_token(
                    pb::RedeliverDeliveryRequest {
                        name: "subscriptions/no-such-subscription/deliveries/none".into(),
                    },
                    token,
                ))
                .await
                .map(|_| ()),
        }
    }
}

fn rank(role: &str) -> u8 {
    match role {
        "reader" => 1,
        "writer" => 2,
        "admin" => 3,
        other => panic!("no role {other}"),
    }
}

/// The ErrorInfo of a refusal: its reason, in domain `briefing`.
#[track_caller]
fn error_info(status: &Status) -> tonic_types::ErrorInfo {
    let info = status
        .get_details_error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.domain, "briefing");
    info
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_each_role_may_make_its_calls_and_no_others() {
    let (_database, url) = fresh_database().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let authority = Authority::new("briefing test ca");
    let (cert, key) = server_files(directory.path(), &authority.server());
    let tokens: Vec<(&str, String)> = ["reader", "writer", "admin"]
        .into_iter()
        .map(|role| (role, create_token(&url, role, role)))
        .collect();
    let server = ServerProcess::start(
        &url,
        &[
            "--demo",
            "--auth",
            "token",
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
        ],
    );
    let channel = tls_channel(&https(&server), &authority.pem(), None)
        .await
        .expect("a TLS client connects");

    // Plain HTTP/2 gets nowhere.
    let plain = Channel::from_shared(server.address.clone())
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await;
    if let Ok(plain) = plain {
        healthy(plain)
            .await
            .expect_err("a plain-text call to a TLS server fails");
    }

    // Health and reflection need no token.
    healthy(channel.clone()).await.expect("health is open");
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            channel.clone(),
        );
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection is open")
        .into_inner();
    assert!(
        answers
            .message()
            .await
            .expect("reflection answers")
            .is_some()
    );

    for call in Call::ALL {
        let refused = call
            .make(channel.clone(), None)
            .await
            .expect_err("no token, no call");
        assert_eq!(
            refused.code(),
            Code::Unauthenticated,
            "{call:?}: {refused:?}"
        );
        assert_eq!(error_info(&refused).reason, "TOKEN_MISSING");

        let refused = call
            .make(channel.clone(), Some("brf_not-a-token-anyone-made"))
            .await
            .expect_err("an unknown token, no call");
        assert_eq!(
            refused.code(),
            Code::Unauthenticated,
            "{call:?}: {refused:?}"
        );
        assert_eq!(error_info(&refused).reason, "TOKEN_UNKNOWN");

        for (role, token) in &tokens {
            let outcome = call.make(channel.clone(), Some(token)).await;
            if rank(role) >= rank(call.needs()) {
                if let Err(status) = &outcome {
                    assert!(
                        !matches!(
                            status.code(),
                            Code::Unauthenticated | Code::PermissionDenied
                        ),
                        "{role} may make {call:?}, got {status:?}"
                    );
                }
            } else {
                let refused = outcome.expect_err("too small a role");
                assert_eq!(
                    refused.code(),
                    Code::PermissionDenied,
                    "{role} making {call:?}: {refused:?}"
                );
                assert!(
                    refused
                        .message()
                        .contains(&format!("needs the {} role", call.needs())),
                    "{}",
                    refused.message()
                );
                let info = error_info(&refused);
                assert_eq!(info.reason, "ROLE_TOO_SMALL");
                assert_eq!(info.metadata["required_role"], call.needs());
                assert_eq!(info.metadata["token"], *role);
            }
        }
    }

    // A revoked token is refused within a second.
    let writer = &tokens[1].1;
    briefing_token(&url, &["revoke", "writer"]);
    let revoked = tokio::time::Instant::now();
    loop {
        match Call::ListTrips.make(channel.clone(), Some(writer)).await {
            Err(status) if status.code() == Code::Unauthenticated => {
                assert_eq!(error_info(&status).reason, "TOKEN_REVOKED");
                break;
            }
            other => assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "a revoked token still works after a second: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = briefing_token(&url, &["list"]);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("writer ") && !line.trim_end().ends_with('-'))
    );

    // Writes are logged with the token's name; no token is ever logged or listed.
    let log = server.log_text();
    assert!(
        log.lines().any(|line| line.contains("CompileDigest")
            && line.contains("call answered")
            && line.contains("writer")),
        "no log line names the writer's CompileDigest:\n{log}"
    );
    for (_, token) in &tokens {
        assert!(
            !log.contains(token.as_str()),
            "a token is in the log:\n{log}"
        );
        assert!(
            !listed.contains(token.as_str()),
            "a token is in `token list`"
        );
        let secret = token.trim_start_matches("brf_");
        assert!(!log.contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mtls_only_clients_with_a_certificate_from_the_ca_get_in() {
    let (_database, url) = fresh_database().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let servers = Authority::new("server ca");
    let clients = Authority::new("client ca");
    let strangers = Authority::new("another ca");
    let (cert, key) = server_files(directory.path(), &servers.server());
    let client_ca = directory.path().join("clients.crt");
    replace_file(&client_ca, &clients.pem());
    // On loopback, auth defaults to none: the certificate is the whole check.
    let server = ServerProcess::start(
        &url,
        &[
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
            "--tls-client-ca",
            client_ca.to_str().expect("utf-8"),
        ],
    );
    let address = https(&server);

    let member = clients.client("desk-seoul");
    let channel = tls_channel(&address, &servers.pem(), Some(&member))
        .await
        .expect("a client with a certificate from the CA connects");
    Call::ListTrips
        .make(channel, None)
        .await
        .expect("and its calls are answered");

    for identity in [None, Some(strangers.client("intruder"))] {
        let outcome = match tls_channel(&address, &servers.pem(), identity.as_ref()).await {
            Ok(channel) => healthy(channel).await,
            Err(error) => Err(Status::unavailable(error.to_string())),
        };
        assert!(
            outcome.is_err(),
            "a client with {} got in",
            if identity.is_some() {
                "a certificate from another CA"
            } else {
                "no certificate"
            }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_a_restart_and_a_bad_one_is_not() {
    let (_database, url) = fresh_database().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let before = Authority::new("old ca");
    let after = Authority::new("new ca");
    let (cert, key) = server_files(directory.path(), &before.server());
    let mut server = ServerProcess::start(
        &url,
        &[
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
        ],
    );
    let address = https(&server);
    healthy(
        tls_channel(&address, &before.pem(), None)
            .await
            .expect("the first certificate is served"),
    )
    .await
    .expect("health");

    server_files(directory.path(), &after.server());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(channel) = tls_channel(&address, &after.pem(), None).await
            && healthy(channel).await.is_ok()
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the renewed certificate was never served; log:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.wait_for_log("tls certificate reloaded");
    assert!(
        tls_channel(&address, &before.pem(), None).await.is_err(),
        "the old certificate is no longer served"
    );

    // A broken file keeps the certificate that works, and says so.
    replace_file(
        &cert,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    server.wait_for_log("still serving the previous certificate");
    healthy(
        tls_channel(&address, &after.pem(), None)
            .await
            .expect("the renewed certificate is still served"),
    )
    .await
    .expect("health");
}

#[tokio::test]
async fn a_certificate_that_does_not_load_stops_the_start_and_is_named() {
    let (_database, url) = fresh_database().await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let authority = Authority::new("ca");
    let (cert, key) = server_files(directory.path(), &authority.server());
    // Another certificate's key: the pair does not match.
    replace_file(&key, &authority.server().key);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .args(["--tls-cert", cert.to_str().expect("utf-8")])
        .args(["--tls-key", key.to_str().expect("utf-8")])
        .env("NO_COLOR", "1")
        .output()
        .expect("run briefing serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started anyway: {stderr}");
    assert!(
        stderr.contains("does not go with tls_cert"),
        "the error does not say what is wrong: {stderr}"
    );
    assert!(
        !stderr.contains("serving"),
        "it said it was serving: {stderr}"
    );
}

/// `auth` as `serve` resolves it for these flags.
fn auth_for(flags: &[&str]) -> anyhow::Result<briefing::config::AuthMode> {
    let command_line = ["briefing", "serve"].iter().chain(flags);
    let cli = briefing::cli::Cli::try_parse_from(command_line).expect("command line parses");
    let briefing::cli::Command::Serve(args) = cli.command else {
        unreachable!("the command line is `serve`")
    };
    briefing::config::Config::load(&args).map(|config| config.auth)
}

#[test]
fn auth_is_none_only_on_loopback_unless_written() {
    use briefing::config::AuthMode;
    assert_eq!(auth_for(&[]).expect("loads"), AuthMode::None);
    assert_eq!(
        auth_for(&["--listen", "[::1]:50051"]).expect("loads"),
        AuthMode::None
    );
    assert_eq!(
        auth_for(&["--listen", "0.0.0.0:50051"]).expect("loads"),
        AuthMode::Token
    );
    assert_eq!(
        auth_for(&["--listen", "10.1.2.3:50051"]).expect("loads"),
        AuthMode::Token
    );
    assert_eq!(
        auth_for(&["--listen", "0.0.0.0:50051", "--auth", "none"]).expect("loads"),
        AuthMode::None
    );
    assert_eq!(
        auth_for(&["--auth", "token"]).expect("loads"),
        AuthMode::Token
    );
    let error = auth_for(&["--auth", "maybe"]).expect_err("not a mode");
    assert!(error.to_string().contains("auth"), "{error}");
    let error = auth_for(&["--tls-cert", "server.crt"]).expect_err("a certificate without its key");
    assert!(error.to_string().contains("tls_key"), "{error}");
}

#[tokio::test]
async fn forced_compilations_past_the_limit_are_told_when_to_retry() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(
        &url,
        &[
            "--demo",
            "--costly-calls-burst",
            "2",
            "--costly-calls-per-minute",
            "1",
        ],
    )
    .await;
    let mut digests = DigestServiceClient::new(app.channel.clone());
    for _ in 0..2 {
        digests
            .compile_digest(compile_request("2025-01-06", true, false))
            .await
            .expect("within the burst");
    }
    let limited = digests
        .compile_digest(compile_request("2025-01-06", true, false))
        .await
        .expect_err("past the burst");
    assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
    let retry = limited
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo with a delay");
    assert!(retry > Duration::from_secs(30), "{retry:?}");
    assert_eq!(error_info(&limited).reason, "RATE_LIMITED");
    // A compilation that only reads what is stored is not limited.
    digests
        .compile_digest(compile_request("2025-01-06", false, false))
        .await
        .expect("an unforced compile");
}
