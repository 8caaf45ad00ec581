//! What the digest, schedule and delivery tests share: their clients, the flags that keep the
//! schedule out of a test's way, and waiting for the outbox.

use briefing::api::pb;
use briefing::api::pb::digest_service_client::DigestServiceClient;
use briefing::api::pb::subscription_service_client::SubscriptionServiceClient;
use tonic::transport::Channel;

use crate::helpers::{TestApp, eventually};
use crate::receiver::Receiver;

/// No schedule (so no catch-up compiles today behind the test's back) and retries within
/// tens of milliseconds instead of seconds.
pub const QUICK: &[&str] = &[
    "--schedule=false",
    "--delivery-first-retry-ms",
    "50",
    "--delivery-max-retry-seconds",
    "1",
];

/// [`QUICK`] followed by `more` flags.
pub fn quick_and(more: &[&'static str]) -> Vec<&'static str> {
    QUICK.iter().chain(more).copied().collect()
}

pub fn digests(app: &TestApp) -> DigestServiceClient<Channel> {
    DigestServiceClient::new(app.channel.clone())
}

pub fn subscriptions(app: &TestApp) -> SubscriptionServiceClient<Channel> {
    SubscriptionServiceClient::new(app.channel.clone())
}

pub fn compile_request(date: &str, force: bool, deliver: bool) -> pb::CompileDigestRequest {
    pb::CompileDigestRequest {
        kind: String::new(),
        date: date.into(),
        force,
        deliver,
    }
}

/// Compiles a day of another configured kind.
pub async fn compile_kind(app: &TestApp, kind: &str, date: &str) -> pb::Digest {
    digests(app)
        .compile_digest(pb::CompileDigestRequest {
            kind: kind.into(),
            date: date.into(),
            force: false,
            deliver: false,
        })
        .await
        .unwrap_or_else(|status| panic!("compiling {kind} {date}: {status:?}"))
        .into_inner()
}

/// A `weekly` kind besides `daily`, for the tests that need a second configured kind.
pub const WEEKLY: &str = "[kinds.weekly]\ncron = \"0 0 7 * * Mon\"\n";

/// A configuration file for `--config`, removed when dropped.
pub struct ConfigFile {
    _directory: tempfile::TempDir,
    pub path: String,
}

pub fn config_file(text: &str) -> ConfigFile {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    std::fs::write(&path, text).expect("write the configuration");
    ConfigFile {
        path: path.to_str().expect("utf-8 path").to_owned(),
        _directory: directory,
    }
}

/// Every pair of a digest's table in `order_by`, read `page_size` at a time, and the
/// `total_size` each page reported.
pub async fn all_dyads(
    app: &TestApp,
    parent: &str,
    order_by: &str,
    page_size: i32,
) -> (Vec<pb::Dyad>, Vec<i64>) {
    let mut request = pb::ListDigestDyadsRequest {
        parent: parent.into(),
        page_size,
        page_token: String::new(),
        order_by: order_by.into(),
    };
    let (mut found, mut totals) = (Vec::new(), Vec::new());
    loop {
        let page = digests(app)
            .list_digest_dyads(request.clone())
            .await
            .unwrap_or_else(|status| panic!("list the dyads of {parent}: {status:?}"))
            .into_inner();
        found.extend(page.dyads);
        totals.push(page.total_size);
        if page.next_page_token.is_empty() {
            return (found, totals);
        }
        assert!(totals.len() < 1_000, "paging does not end");
        request.page_token = page.next_page_token;
    }
}

/// Runs one statement on the test's database, whichever backend it is: for tests that put
/// the store in a state the API cannot (rows written by an older version).
pub async fn execute_sql(database_url: &str, sql: &str, text: &str) {
    use sqlx::Connection as _;
    if database_url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(database_url)
            .await
            .expect("connect to the SQLite store");
        sqlx::query(&sql.replace("$1", "?"))
            .bind(text)
            .execute(&mut connection)
            .await
            .expect("run the statement");
    } else {
        let mut connection = sqlx::PgConnection::connect(database_url)
            .await
            .expect("connect to the PostgreSQL store");
        sqlx::query(sql)
            .bind(text)
            .execute(&mut connection)
            .await
            .expect("run the statement");
    }
}

pub async fn compile(app: &TestApp, date: &str, deliver: bool) -> pb::Digest {
    digests(app)
        .compile_digest(compile_request(date, false, deliver))
        .await
        .unwrap_or_else(|status| panic!("compiling {date}: {status:?}"))
        .into_inner()
}

/// Subscribes `receiver` to the daily digest and hands it the secret the create response
/// showed, the one time it is shown.
pub async fn subscribe_webhook(app: &TestApp, receiver: &Receiver) -> pb::Subscription {
    let created = subscriptions(app)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription {
                target: Some(pb::subscription::Target::Webhook(pb::WebhookTarget {
                    url: receiver.url.clone(),
                    secret: String::new(),
                })),
                ..Default::default()
            }),
            subscription_id: String::new(),
        })
        .await
        .expect("create a webhook subscription")
        .into_inner();
    let Some(pb::subscription::Target::Webhook(webhook)) = &created.target else {
        panic!("a webhook subscription came back as {created:?}")
    };
    assert!(
        webhook.secret.starts_with("whsec_"),
        "the create response shows the secret: {created:?}"
    );
    receiver.verify_with(&webhook.secret);
    created
}

/// Every delivery of a subscription, newest first.
pub async fn deliveries(app: &TestApp, subscription: &str) -> Vec<pb::Delivery> {
    let mut request = pb::ListDeliveriesRequest {
        parent: subscription.into(),
        page_size: 500,
        ..Default::default()
    };
    let mut found = Vec::new();
    loop {
        let page = subscriptions(app)
            .list_deliveries(request.clone())
            .await
            .expect("list deliveries")
            .into_inner();
        found.extend(page.deliveries);
        if page.next_page_token.is_empty() {
            return found;
        }
        request.page_token = page.next_page_token;
    }
}

/// Waits until the subscription's delivery of `digest` is in `state`, and returns it.
pub async fn wait_for_delivery(
    app: &TestApp,
    subscription: &str,
    digest: &str,
    state: pb::DeliveryState,
) -> pb::Delivery {
    eventually(
        &format!("{digest} is {state:?} for {subscription}"),
        || async {
            deliveries(app, subscription)
                .await
                .into_iter()
                .find(|delivery| delivery.digest == digest && delivery.state() == state)
        },
    )
    .await
}

/// The whole run ledger, newest day first.
pub async fn runs(app: &TestApp) -> Vec<pb::DigestRun> {
    let mut request = pb::ListDigestRunsRequest {
        page_size: 500,
        ..Default::default()
    };
    let mut found = Vec::new();
    loop {
        let page = digests(app)
            .list_digest_runs(request.clone())
            .await
            .expect("list digest runs")
            .into_inner();
        found.extend(page.digest_runs);
        if page.next_page_token.is_empty() {
            return found;
        }
        request.page_token = page.next_page_token;
    }
}
