//! The outbox: a restart loses no delivery and repeats none that succeeded, two compilations of
//! one day at once hand out one delivery set, and a directory receives whole files only.

use std::collections::HashMap;

use briefing::api::pb;

use crate::digest_helpers::{
    compile, compile_request, deliveries, digests, quick_and, runs, subscribe_webhook,
    subscriptions, wait_for_delivery,
};
use crate::helpers::{TestApp, fresh_database, spawn_app_with_args};
use crate::receiver::{Received, Receiver, Reply};

/// How many requests and successes the receiver saw per `webhook-id`.
fn per_id(received: &[Received]) -> HashMap<String, (usize, usize)> {
    let mut counts = HashMap::new();
    for request in received {
        assert!(
            request.verified.is_ok(),
            "the reference library rejects {request:?}"
        );
        let (requests, successes) = counts.entry(request.webhook_id.clone()).or_insert((0, 0));
        *requests += 1;
        if request.succeeded() {
            *successes += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_delivery_delivers_once_more_with_the_same_id() {
    let (_database, url) = fresh_database().await;
    let flags = quick_and(&[
        "--demo",
        "--delivery-timeout-seconds",
        "1",
        "--delivery-max-attempts",
        "50",
    ]);
    let app = spawn_app_with_args(&url, &flags).await;
    let receiver = Receiver::start().await;
    let subscription = subscribe_webhook(&app, &receiver).await;

    // Delivered before the restart: it must never be sent again.
    compile(&app, "2025-01-06", true).await;
    let delivered = wait_for_delivery(
        &app,
        &subscription.name,
        "digests/daily-2025-01-06",
        pb::DeliveryState::Succeeded,
    )
    .await;
    // The next one fails once, then its receiver hangs while the server is asked to stop.
    receiver.script(&[Reply::Status(500)], Reply::Hang);
    compile(&app, "2025-01-07", true).await;
    receiver.wait_for_requests(3).await;
    app.stop().await;

    let before_restart = receiver.received();
    let pending = before_restart
        .last()
        .expect("requests before the restart")
        .webhook_id
        .clone();
    assert_ne!(pending, delivered.idempotency_key);

    receiver.script(&[], Reply::Status(200));
    let app = spawn_app_with_args(&url, &flags).await;
    let after = wait_for_delivery(
        &app,
        &subscription.name,
        "digests/daily-2025-01-07",
        pb::DeliveryState::Succeeded,
    )
    .await;
    assert_eq!(after.idempotency_key, pending);

    let received = receiver.received();
    let after_restart = &received[before_restart.len()..];
    assert_eq!(
        after_restart
            .iter()
            .map(|request| request.webhook_id.as_str())
            .collect::<Vec<_>>(),
        [pending.as_str()],
        "after the restart only the pending delivery is sent, once"
    );
    let counts = per_id(&received);
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(counts[&delivered.idempotency_key], (1, 1));
    // 500 and no answer (at least; the stop waits for the attempt in flight), then 200.
    let (tries, successes) = counts[&pending];
    assert!(tries >= 3, "{counts:?}");
    assert_eq!(successes, 1, "{counts:?}");
    assert_eq!(
        usize::try_from(after.attempts).expect("attempts"),
        tries,
        "every attempt is counted, across the restart"
    );
    let all = deliveries(&app, &subscription.name).await;
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|delivery| delivery.state() == pb::DeliveryState::Succeeded)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compiling_one_day_twice_at_once_yields_one_digest_and_one_delivery() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &quick_and(&["--demo"])).await;
    let receiver = Receiver::start().await;
    let subscription = subscribe_webhook(&app, &receiver).await;

    for day in ["2025-01-06", "2025-01-07", "2025-01-08"] {
        let racers = (0..2).map(|_| {
            let mut client = digests(&app);
            tokio::spawn(async move {
                client
                    .compile_digest(compile_request(day, false, true))
                    .await
                    .map(tonic::Response::into_inner)
            })
        });
        let results: Vec<pb::Digest> = futures::future::join_all(racers)
            .await
            .into_iter()
            .map(|joined| joined.expect("task").expect("concurrent compile"))
            .collect();
        assert_eq!(results[0], results[1], "both callers get the one digest");
        assert_eq!(results[0].revision, 1);
    }

    let ledger = runs(&app).await;
    assert_eq!(ledger.len(), 3, "{ledger:#?}");
    for run in &ledger {
        assert_eq!(run.state(), pb::DigestRunState::Done, "{run:?}");
        assert_eq!(run.attempts, 1, "compiled once: {run:?}");
    }
    for day in ["2025-01-06", "2025-01-07", "2025-01-08"] {
        wait_for_delivery(
            &app,
            &subscription.name,
            &format!("digests/daily-{day}"),
            pb::DeliveryState::Succeeded,
        )
        .await;
    }
    let outbox = deliveries(&app, &subscription.name).await;
    assert_eq!(outbox.len(), 3, "one delivery per digest: {outbox:#?}");
    let received = receiver.received();
    let counts = per_id(&received);
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|count| *count == (1, 1)), "{counts:?}");
}

/// Subscribes `directory`, a name under the server's delivery directory, and returns the
/// subscription and where its files land.
async fn subscribe_directory(
    app: &TestApp,
    directory: &str,
) -> (pb::Subscription, std::path::PathBuf) {
    let subscription = subscriptions(app)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription {
                target: Some(pb::subscription::Target::File(pb::FileTarget {
                    directory: directory.to_owned(),
                })),
                ..Default::default()
            }),
            subscription_id: "desk-folder".into(),
        })
        .await
        .expect("create a file subscription")
        .into_inner();
    (subscription, app.delivery_dir().join(directory))
}

fn file_names(directory: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("read the target directory")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_directory_receives_markdown_and_json_and_no_temporary_file() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &quick_and(&["--demo"])).await;
    let (subscription, target) = subscribe_directory(&app, "desk/daily").await;
    assert_eq!(subscription.name, "subscriptions/desk-folder");
    assert!(target.is_dir(), "the directory is made under delivery_dir");

    let digest = compile(&app, "2025-01-06", true).await;
    let delivery = wait_for_delivery(
        &app,
        &subscription.name,
        &digest.name,
        pb::DeliveryState::Succeeded,
    )
    .await;
    assert_eq!(delivery.attempts, 1);
    assert_eq!(
        file_names(target.as_path()),
        ["daily-2025-01-06.json", "daily-2025-01-06.md"]
    );
    let markdown = std::fs::read_to_string(target.as_path().join("daily-2025-01-06.md"))
        .expect("markdown file");
    assert_eq!(markdown, digest.markdown);
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(target.as_path().join("daily-2025-01-06.json")).expect("json file"),
    )
    .expect("the json file is JSON");
    assert_eq!(json["data"]["name"], "digests/daily-2025-01-06");
    assert_eq!(json["data"]["revision"], 1);
    assert_eq!(json["data"]["digest"]["markdown"], digest.markdown.as_str());

    // A forced recompilation is a new revision, delivered over the old files.
    let forced = digests(&app)
        .compile_digest(compile_request("2025-01-06", true, true))
        .await
        .expect("forced compile")
        .into_inner();
    assert_eq!(forced.revision, 2);
    crate::helpers::eventually("revision 2 is delivered", || async {
        deliveries(&app, &subscription.name)
            .await
            .into_iter()
            .find(|delivery| {
                delivery.digest_revision == 2 && delivery.state() == pb::DeliveryState::Succeeded
            })
    })
    .await;
    assert_eq!(
        file_names(target.as_path()),
        ["daily-2025-01-06.json", "daily-2025-01-06.md"],
        "no temporary file is left behind"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(target.as_path().join("daily-2025-01-06.json")).expect("json file"),
    )
    .expect("the json file is JSON");
    assert_eq!(json["data"]["revision"], 2);
}

#[tokio::test]
async fn a_directory_that_disappears_is_retried_then_dead_letter() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(
        &url,
        &quick_and(&["--demo", "--delivery-max-attempts", "2"]),
    )
    .await;
    let (subscription, path) = subscribe_directory(&app, "desk").await;
    std::fs::remove_dir(&path).expect("remove the target directory");

    compile(&app, "2025-01-06", true).await;
    let dead = wait_for_delivery(
        &app,
        &subscription.name,
        "digests/daily-2025-01-06",
        pb::DeliveryState::Dead,
    )
    .await;
    assert_eq!(dead.attempts, 2);
    assert_eq!(
        dead.last_result,
        "the directory does not exist in the server's delivery directory; gave up after 2 attempts"
    );
    assert!(!path.exists());
}
