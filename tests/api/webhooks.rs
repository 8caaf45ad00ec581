//! Webhook delivery against a real receiver that checks every signature with the Standard
//! Webhooks reference library: retries keep one `webhook-id`, `Retry-After` is honoured, 410
//! disables the subscription, the last failure is dead letter, and redelivery works.

use std::collections::HashSet;
use std::time::Duration;

use briefing::api::pb;
use tonic::Code;

use crate::digest_helpers::{
    compile, deliveries, quick_and, subscribe_webhook, subscriptions, wait_for_delivery,
};
use crate::helpers::{
    DatabaseGuard, TestApp, assert_invalid, assert_status, fresh_database, spawn_app_with_args,
};
use crate::receiver::{Received, Receiver, Reply};

const DAY: &str = "2025-01-06";
const DIGEST: &str = "digests/daily-2025-01-06";

async fn spawn(more: &[&'static str]) -> (DatabaseGuard, TestApp) {
    let (database, url) = fresh_database().await;
    let mut flags = quick_and(more);
    flags.push("--demo");
    (database, spawn_app_with_args(&url, &flags).await)
}

#[track_caller]
fn assert_all_verified(received: &[Received]) {
    for request in received {
        assert!(
            request.verified.is_ok(),
            "the reference library rejects {}: {:?}",
            request.webhook_id,
            request.verified
        );
    }
}

fn ids(received: &[Received]) -> HashSet<&str> {
    received
        .iter()
        .map(|request| request.webhook_id.as_str())
        .collect()
}

#[tokio::test]
async fn the_secret_is_shown_once_and_the_target_is_validated() {
    let (_database, app) = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let created = subscribe_webhook(&app, &receiver).await;
    assert_eq!(created.kind, "daily");
    assert_eq!(created.state(), pb::SubscriptionState::Active);

    let read = subscriptions(&app)
        .get_subscription(pb::GetSubscriptionRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get subscription")
        .into_inner();
    let Some(pb::subscription::Target::Webhook(webhook)) = &read.target else {
        panic!("{read:?}")
    };
    assert_eq!(webhook.url, receiver.url);
    assert!(webhook.secret.is_empty(), "GetSubscription shows no secret");
    let listed = subscriptions(&app)
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .expect("list subscriptions")
        .into_inner();
    assert_eq!(
        listed.subscriptions,
        [read],
        "ListSubscriptions shows no secret"
    );

    for (target, field) in [
        (
            pb::subscription::Target::Webhook(pb::WebhookTarget {
                url: "not a url".into(),
                secret: String::new(),
            }),
            "subscription.webhook.url",
        ),
        (
            pb::subscription::Target::File(pb::FileTarget {
                directory: "../outside".into(),
            }),
            "subscription.file.directory",
        ),
        (
            pb::subscription::Target::File(pb::FileTarget {
                directory: "/no/such/directory/for/briefing".into(),
            }),
            "subscription.file.directory",
        ),
    ] {
        let status = subscriptions(&app)
            .create_subscription(pb::CreateSubscriptionRequest {
                subscription: Some(pb::Subscription {
                    target: Some(target),
                    ..Default::default()
                }),
                subscription_id: String::new(),
            })
            .await
            .expect_err("a bad target");
        assert_invalid(&status, field);
    }
    let status = subscriptions(&app)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription::default()),
            subscription_id: String::new(),
        })
        .await
        .expect_err("no target");
    assert_invalid(&status, "subscription.target");
    // A kind no schedule compiles would never be delivered: refused, and nothing is stored.
    let status = subscriptions(&app)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription {
                kind: "no-such-kind".into(),
                target: Some(pb::subscription::Target::Webhook(pb::WebhookTarget {
                    url: "http://127.0.0.1:9/hook".into(),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            subscription_id: "never-served".into(),
        })
        .await
        .expect_err("a kind that is not configured");
    assert_invalid(&status, "subscription.kind");
    assert!(status.message().contains("no-such-kind"), "{status:?}");
    let status = subscriptions(&app)
        .get_subscription(pb::GetSubscriptionRequest {
            name: "subscriptions/never-served".into(),
        })
        .await
        .expect_err("nothing was stored");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn failures_are_retried_with_one_webhook_id_until_one_success() {
    let (_database, app) = spawn(&[]).await;
    let receiver = Receiver::start().await;
    receiver.script(
        &[Reply::Status(500), Reply::RetryAfter(503, 1)],
        Reply::Status(200),
    );
    let subscription = subscribe_webhook(&app, &receiver).await;
    let digest = compile(&app, DAY, true).await;

    let delivery = wait_for_delivery(
        &app,
        &subscription.name,
        DIGEST,
        pb::DeliveryState::Succeeded,
    )
    .await;
    let received = receiver.received();
    assert_all_verified(&received);
    let replies: Vec<Reply> = received.iter().map(|request| request.reply).collect();
    assert_eq!(
        replies,
        [
            Reply::Status(500),
            Reply::RetryAfter(503, 1),
            Reply::Status(200)
        ]
    );
    assert_eq!(
        received
            .iter()
            .filter(|request| request.succeeded())
            .count(),
        1
    );
    assert_eq!(
        ids(&received),
        HashSet::from([delivery.idempotency_key.as_str()]),
        "every attempt carries the delivery's idempotency key"
    );
    assert!(delivery.idempotency_key.starts_with("msg_"));
    // Backoff alone would have waited 80–120 ms here; the receiver asked for a second.
    let waited = received[2].at - received[1].at;
    assert!(
        waited >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured, the retry came after {waited:?}"
    );

    assert_eq!(delivery.attempts, 3);
    assert_eq!(delivery.last_result, "HTTP 200");
    assert_eq!(delivery.digest_revision, 1);
    assert!(delivery.deliver_time.is_some());
    assert!(delivery.next_attempt_time.is_none());
    assert!(
        delivery
            .name
            .starts_with(&format!("{}/deliveries/", subscription.name))
    );
    assert_eq!(deliveries(&app, &subscription.name).await.len(), 1);

    // The body is the digest as JSON, in a Standard Webhooks envelope.
    let body = received[2].json();
    assert_eq!(body["type"], "digest.compiled");
    assert_eq!(body["data"]["name"], DIGEST);
    assert_eq!(body["data"]["revision"], 1);
    assert_eq!(body["data"]["digest"]["markdown"], digest.markdown.as_str());
    assert_eq!(
        received[0].body, received[2].body,
        "every attempt sends the same bytes"
    );
}

#[tokio::test]
async fn gone_disables_the_subscription_and_dead_letters_the_delivery() {
    let (_database, app) = spawn(&[]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[], Reply::Status(410));
    let subscription = subscribe_webhook(&app, &receiver).await;
    compile(&app, DAY, true).await;

    let delivery =
        wait_for_delivery(&app, &subscription.name, DIGEST, pb::DeliveryState::Dead).await;
    assert_eq!(delivery.attempts, 1, "410 is not retried");
    assert!(delivery.last_result.contains("410"), "{delivery:?}");
    assert_all_verified(&receiver.received());

    let disabled = subscriptions(&app)
        .get_subscription(pb::GetSubscriptionRequest {
            name: subscription.name.clone(),
        })
        .await
        .expect("get subscription")
        .into_inner();
    assert_eq!(disabled.state(), pb::SubscriptionState::Disabled);
    assert!(disabled.disabled_reason.contains("410"), "{disabled:?}");

    let status = subscriptions(&app)
        .redeliver_delivery(pb::RedeliverDeliveryRequest {
            name: delivery.name.clone(),
        })
        .await
        .expect_err("redelivering to a disabled subscription");
    assert_status(&status, Code::FailedPrecondition, "RESOURCE_IN_USE");

    // A disabled subscription is handed no more digests.
    compile(&app, "2025-01-07", true).await;
    assert_eq!(deliveries(&app, &subscription.name).await.len(), 1);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn the_last_failure_is_dead_letter_and_redelivery_keeps_the_webhook_id() {
    let (_database, app) = spawn(&["--delivery-max-attempts", "2"]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[], Reply::Status(500));
    let subscription = subscribe_webhook(&app, &receiver).await;
    compile(&app, DAY, true).await;

    let dead = wait_for_delivery(&app, &subscription.name, DIGEST, pb::DeliveryState::Dead).await;
    assert_eq!(dead.attempts, 2);
    assert!(dead.last_result.contains("HTTP 500"), "{dead:?}");
    assert!(dead.deliver_time.is_none());
    assert_eq!(receiver.received().len(), 2);

    receiver.script(&[], Reply::Status(200));
    let queued = subscriptions(&app)
        .redeliver_delivery(pb::RedeliverDeliveryRequest {
            name: dead.name.clone(),
        })
        .await
        .expect("redeliver")
        .into_inner();
    assert_eq!(queued.state(), pb::DeliveryState::Pending);
    assert_eq!(queued.idempotency_key, dead.idempotency_key);

    let delivered = wait_for_delivery(
        &app,
        &subscription.name,
        DIGEST,
        pb::DeliveryState::Succeeded,
    )
    .await;
    assert_eq!(delivered.name, dead.name);
    assert_eq!(delivered.attempts, 3);
    let received = receiver.received();
    assert_all_verified(&received);
    assert_eq!(received.len(), 3);
    assert_eq!(
        ids(&received),
        HashSet::from([dead.idempotency_key.as_str()])
    );
    assert_eq!(
        received
            .iter()
            .filter(|request| request.succeeded())
            .count(),
        1
    );

    for name in [
        format!("{}/deliveries/nope", subscription.name),
        "subscriptions/nope/deliveries/nope".to_owned(),
    ] {
        let status = subscriptions(&app)
            .redeliver_delivery(pb::RedeliverDeliveryRequest { name })
            .await
            .expect_err("an unknown delivery");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    let status = subscriptions(&app)
        .redeliver_delivery(pb::RedeliverDeliveryRequest {
            name: "deliveries/x".into(),
        })
        .await
        .expect_err("a bad delivery name");
    assert_invalid(&status, "name");
}

#[tokio::test]
async fn a_receiver_that_never_answers_counts_as_a_failed_attempt() {
    let (_database, app) = spawn(&[
        "--delivery-timeout-seconds",
        "1",
        "--delivery-max-attempts",
        "2",
    ])
    .await;
    let receiver = Receiver::start().await;
    receiver.script(&[], Reply::Hang);
    let subscription = subscribe_webhook(&app, &receiver).await;
    compile(&app, DAY, true).await;

    let dead = wait_for_delivery(&app, &subscription.name, DIGEST, pb::DeliveryState::Dead).await;
    assert_eq!(dead.attempts, 2);
    assert!(dead.last_result.contains("timed out"), "{dead:?}");
    let received = receiver.wait_for_requests(2).await;
    assert_eq!(received.len(), 2);
    assert_all_verified(&received);
    assert_eq!(
        ids(&received),
        HashSet::from([dead.idempotency_key.as_str()])
    );
}

#[tokio::test]
async fn deleting_a_subscription_drops_its_deliveries() {
    let (_database, app) = spawn(&[]).await;
    let receiver = Receiver::start().await;
    let subscription = subscribe_webhook(&app, &receiver).await;
    compile(&app, DAY, true).await;
    wait_for_delivery(
        &app,
        &subscription.name,
        DIGEST,
        pb::DeliveryState::Succeeded,
    )
    .await;
    subscriptions(&app)
        .delete_subscription(pb::DeleteSubscriptionRequest {
            name: subscription.name.clone(),
        })
        .await
        .expect("delete subscription");
    let status = subscriptions(&app)
        .list_deliveries(pb::ListDeliveriesRequest {
            parent: subscription.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("deliveries of a deleted subscription");
    assert_eq!(status.code(), Code::NotFound);
    let left = subscriptions(&app)
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .expect("list subscriptions")
        .into_inner();
    assert!(left.subscriptions.is_empty());
}

/// Issue 12: with 20 subscriptions to a receiver that never answers, a healthy receiver's
/// delivery does not wait for those attempts to time out, and the hanging receiver gets at
/// most `delivery_endpoint_concurrency` attempts at once.
#[tokio::test]
async fn a_hanging_receiver_among_twenty_never_delays_the_healthy_ones() {
    let (_database, app) = spawn(&[
        "--delivery-timeout-seconds",
        "20",
        "--delivery-endpoint-concurrency",
        "2",
    ])
    .await;
    let hanging = Receiver::start().await;
    hanging.script(&[], Reply::Hang);
    let mut stuck = Vec::new();
    // Created first: their deliveries are the oldest in the outbox.
    for _ in 0..20 {
        let subscription = subscribe_webhook(&app, &hanging).await;
        if let Some(pb::subscription::Target::Webhook(webhook)) = &subscription.target {
            hanging.also_verify_with(&webhook.secret);
        }
        stuck.push(subscription);
    }
    let mut healthy = Vec::new();
    for _ in 0..3 {
        let receiver = Receiver::start().await;
        let subscription = subscribe_webhook(&app, &receiver).await;
        healthy.push((receiver, subscription));
    }
    compile(&app, DAY, true).await;

    for (receiver, subscription) in &healthy {
        wait_for_delivery(
            &app,
            &subscription.name,
            DIGEST,
            pb::DeliveryState::Succeeded,
        )
        .await;
        assert_eq!(receiver.received().len(), 1);
    }
    // Every healthy delivery is done while the hanging receiver's first attempts are still
    // waiting for an answer (they time out after 20 s): none of them has finished.
    for subscription in &stuck {
        for delivery in deliveries(&app, &subscription.name).await {
            assert_eq!(
                (delivery.state(), delivery.attempts),
                (pb::DeliveryState::Pending, 0),
                "the hanging receiver's deliveries are still on their first attempt: {delivery:?}"
            );
        }
    }
    let started = hanging.wait_for_requests(1).await.len();
    // Past a few deferrals of the waiting ones, the hanging receiver still has only its two.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let attempted = hanging.received().len();
    assert!(
        (1..=2).contains(&started) && attempted <= 2,
        "the hanging receiver got {attempted} attempts at once, more than its 2"
    );
}
