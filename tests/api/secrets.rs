//! Secrets stay secret: the real binary runs a scenario with a signing secret, a webhook URL
//! carrying a token, a refused URL carrying a password and (on PostgreSQL) a database URL with
//! a password; its log, every response after the one that shows the secret, and the command
//! line's output never contain any of them. The secret is stored encrypted, and
//! `briefing rotate-secret-key` re-encrypts it so a server with the new key still signs with it.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use briefing::api::pb;
use briefing::api::pb::digest_service_client::DigestServiceClient;
use briefing::api::pb::subscription_service_client::SubscriptionServiceClient;
use tonic::transport::Channel;

use crate::helpers::{Backend, PATIENCE, ServerProcess, fresh_database};
use crate::receiver::Receiver;

const TOKEN: &str = "abc123tokenvalue";
const URL_PASSWORD: &str = "p4ssw0rdInUrl";
const DATABASE_PASSWORD: &str = "somepassword";

fn write_key(directory: &Path, name: &str, byte: u8) -> String {
    let path = directory.join(name);
    std::fs::write(
        &path,
        base64::engine::general_purpose::STANDARD.encode([byte; 32]),
    )
    .expect("write a key file");
    path.to_string_lossy().into_owned()
}

/// The database URL as an operator might write it: with a password (PostgreSQL ignores it
/// under trust authentication). SQLite URLs have none.
fn with_password(url: &str) -> String {
    match crate::BACKEND {
        Backend::Sqlite => url.to_owned(),
        Backend::Postgres => url.replacen(
            "postgres://postgres@",
            &format!("postgres://postgres:{DATABASE_PASSWORD}@"),
            1,
        ),
    }
}

/// The `secret` column of every subscription, as stored.
async fn stored_secrets(url: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let sql = "SELECT secret FROM subscriptions WHERE secret IS NOT NULL";
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("connect");
        sqlx::query_scalar(sql)
            .fetch_all(&mut connection)
            .await
            .expect("read secrets")
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
        sqlx::query_scalar(sql)
            .fetch_all(&mut connection)
            .await
            .expect("read secrets")
    }
}

async fn delivered(channel: Channel, subscription: &str, revision: i64) -> pb::Delivery {
    let mut client = SubscriptionServiceClient::new(channel);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let found = client
            .list_deliveries(pb::ListDeliveriesRequest {
                parent: subscription.to_owned(),
                ..Default::default()
            })
            .await
            .expect("list deliveries")
            .into_inner()
            .deliveries
            .into_iter()
            .find(|delivery| {
                delivery.digest_revision == revision
                    && delivery.state() == pb::DeliveryState::Succeeded
            });
        if let Some(delivery) = found {
            return delivery;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "revision {revision} was never delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_response_or_output_carries_a_secret_and_secrets_are_sealed() {
    let (database, url) = fresh_database().await;
    let url = with_password(&url);
    let old_key = write_key(database.directory(), "old.key", 1);
    let new_key = write_key(database.directory(), "new.key", 2);
    let receiver = Receiver::start().await;
    let mut responses = Vec::<String>::new();

    let mut server = ServerProcess::start(
        &url,
        &["--demo", "--secret-key-file", &old_key, "--schedule=false"],
    );
    let channel = server.connect().await;
    let mut subscriptions = SubscriptionServiceClient::new(channel.clone());
    let webhook = |url: String| pb::CreateSubscriptionRequest {
        subscription: Some(pb::Subscription {
            target: Some(pb::subscription::Target::Webhook(pb::WebhookTarget {
                url,
                secret: String::new(),
            })),
            ..Default::default()
        }),
        subscription_id: String::new(),
    };
    let refused = subscriptions
        .create_subscription(webhook(receiver.url.replacen(
            "http://",
            &format!("http://desk:{URL_PASSWORD}@"),
            1,
        )))
        .await
        .expect_err("user-info is refused");
    responses.push(format!("{refused:?}"));
    let created = subscriptions
        .create_subscription(webhook(format!("{}?token={TOKEN}", receiver.url)))
        .await
        .expect("create")
        .into_inner();
    // The one response that shows the secret.
    let Some(pb::subscription::Target::Webhook(target)) = &created.target else {
        panic!("{created:?}")
    };
    let secret = target.secret.clone();
    assert!(secret.starts_with("whsec_"));
    receiver.verify_with(&secret);
    assert!(!format!("{created:?}").contains(TOKEN), "{created:?}");

    let stored = stored_secrets(&url).await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with("sealed:v1:"), "{stored:?}");
    assert!(!stored[0].contains(&secret[6..]), "stored encrypted");

    let compiled = DigestServiceClient::new(channel.clone())
        .compile_digest(pb::CompileDigestRequest {
            date: "2025-01-06".into(),
            deliver: true,
            ..Default::default()
        })
        .await
        .expect("compile")
        .into_inner();
    responses.push(format!("{compiled:?}"));
    responses.push(format!(
        "{:?}",
        delivered(channel.clone(), &created.name, 1).await
    ));
    let received = receiver.wait_for_requests(1).await;
    assert!(received[0].verified.is_ok(), "{:?}", received[0].verified);
    responses.push(format!(
        "{:?}",
        subscriptions
            .get_subscription(pb::GetSubscriptionRequest {
                name: created.name.clone()
            })
            .await
            .expect("get")
    ));
    responses.push(format!(
        "{:?}",
        subscriptions
            .list_subscriptions(pb::ListSubscriptionsRequest::default())
            .await
            .expect("list")
    ));
    drop(subscriptions);
    drop(channel);
    server.signal_and_wait("TERM").await;
    let mut logs = server.log_text();
    assert!(
        logs.contains("serving"),
        "the start-up line is logged: {logs}"
    );

    // Rotation: sealed again with the new key, in one command; the old key no longer opens it.
    let rotated = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args([
            "rotate-secret-key",
            "--database",
            &url,
            "--key-file",
            &old_key,
            "--new-key-file",
            &new_key,
        ])
        .output()
        .expect("run rotate-secret-key");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&rotated.stdout),
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(rotated.status.success(), "{output}");
    assert!(
        output.contains("sealed 1 webhook signing secrets"),
        "{output}"
    );
    logs.push_str(&output);
    let after = stored_secrets(&url).await;
    assert_ne!(after, stored, "sealed anew");
    assert!(after[0].starts_with("sealed:v1:"), "{after:?}");

    // A server with the new key signs with the same secret.
    let mut server =
        ServerProcess::start(&url, &["--secret-key-file", &new_key, "--schedule=false"]);
    let channel = server.connect().await;
    let forced = DigestServiceClient::new(channel.clone())
        .compile_digest(pb::CompileDigestRequest {
            date: "2025-01-06".into(),
            deliver: true,
            force: true,
            ..Default::default()
        })
        .await
        .expect("forced compile")
        .into_inner();
    responses.push(format!("{forced:?}"));
    responses.push(format!(
        "{:?}",
        delivered(channel.clone(), &created.name, 2).await
    ));
    let received = receiver.wait_for_requests(2).await;
    assert!(received[1].verified.is_ok(), "{:?}", received[1].verified);
    drop(channel);
    server.signal_and_wait("TERM").await;
    logs.push_str(&server.log_text());

    let everything = format!("{logs}\n{}", responses.join("\n"));
    for (what, needle) in [
        ("the signing secret", secret.as_str()),
        ("the signing key", &secret[6..]),
        ("the URL's token", TOKEN),
        ("the URL's password", URL_PASSWORD),
        ("the database password", DATABASE_PASSWORD),
    ] {
        assert!(!everything.contains(needle), "{what} leaked:\n{everything}");
    }
}
