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
