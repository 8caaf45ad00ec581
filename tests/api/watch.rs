//! WatchDigests: digests arrive as they are compiled, each with a cursor, and a watcher that
//! comes back with a cursor is first given exactly what it missed.

use briefing::api::pb;
use tonic::Streaming;

use crate::digest_helpers::{QUICK, WEEKLY, compile, compile_request, config_file, digests};
use crate::helpers::{PATIENCE, assert_invalid, fresh_database, spawn_app_with_args, within};

async fn next(stream: &mut Streaming<pb::WatchDigestsResponse>) -> pb::WatchDigestsResponse {
    within(PATIENCE, "the watcher receives a digest", stream.message())
        .await
        .expect("the stream stays healthy")
        .expect("the stream stays open")
}

fn watch(kind: &str, cursor: &str) -> pb::WatchDigestsRequest {
    pb::WatchDigestsRequest {
        kind: kind.into(),
        cursor: cursor.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn watchers_receive_new_digests_and_resume_from_a_cursor() {
    let (_database, url) = fresh_database().await;
    let config = config_file(WEEKLY);
    let mut flags = vec!["--demo", "--config", config.path.as_str()];
    flags.extend_from_slice(QUICK);
    let app = spawn_app_with_args(&url, &flags).await;
    // Compiled before anyone watches: a watcher without a cursor does not get it.
    compile(&app, "2025-01-05", false).await;

    let mut live = digests(&app)
        .watch_digests(watch("", ""))
        .await
        .expect("watch digests")
        .into_inner();
    let first = compile(&app, "2025-01-06", false).await;
    let second = compile(&app, "2025-01-07", false).await;

    let received_first = next(&mut live).await;
    let received_second = next(&mut live).await;
    assert_eq!(received_first.digest.as_ref(), Some(&first));
    assert_eq!(received_second.digest.as_ref(), Some(&second));
    assert!(!received_first.cursor.is_empty());
    assert_ne!(received_first.cursor, received_second.cursor);

    // Back from an absence after the first: the second is replayed, then new ones follow.
    let mut resumed = digests(&app)
        .watch_digests(watch("", &received_first.cursor))
        .await
        .expect("resume watching")
        .into_inner();
    let replayed = next(&mut resumed).await;
    assert_eq!(replayed.digest.as_ref(), Some(&second));
    assert_eq!(replayed.cursor, received_second.cursor);
    let recompiled = digests(&app)
        .compile_digest(compile_request("2025-01-06", true, false))
        .await
        .expect("forced compile")
        .into_inner();
    assert_eq!(recompiled.revision, 2);
    let after_replay = next(&mut resumed).await;
    assert_eq!(
        after_replay.digest.as_ref(),
        Some(&recompiled),
        "nothing but the missed digest came before the new revision"
    );
    assert_eq!(next(&mut live).await.digest.as_ref(), Some(&recompiled));

    // A watcher of one kind sees only that kind.
    let mut weekly = digests(&app)
        .watch_digests(watch("weekly", &received_first.cursor))
        .await
        .expect("watch one kind")
        .into_inner();
    let weekly_digest = digests(&app)
        .compile_digest(pb::CompileDigestRequest {
            kind: "weekly".into(),
            date: "2025-01-06".into(),
            force: false,
            deliver: false,
        })
        .await
        .expect("compile a weekly digest")
        .into_inner();
    assert_eq!(next(&mut weekly).await.digest, Some(weekly_digest));
}

#[tokio::test]
async fn a_bad_cursor_or_kind_is_invalid_argument() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    for (request, field) in [
        (watch("", "not-a-cursor"), "cursor"),
        (watch("", "-1"), "cursor"),
        (watch("Daily", ""), "kind"),
    ] {
        let status = digests(&app)
            .watch_digests(request)
            .await
            .expect_err("a bad watch request");
        assert_invalid(&status, field);
    }
}

#[tokio::test]
async fn stopping_the_server_ends_open_watches() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    let mut watching = digests(&app)
        .watch_digests(watch("", ""))
        .await
        .expect("watch digests")
        .into_inner();
    // `stop` fails the test if the server still waits for the watch after PATIENCE.
    app.stop().await;
    let ended = within(PATIENCE, "the watch ends", watching.message()).await;
    assert!(
        !matches!(ended, Ok(Some(_))),
        "a stopped server sent a digest: {ended:?}"
    );
}

/// `briefing_watch_store_reads_total{reader}` from the server's `/metrics`.
async fn watch_reads(app: &crate::helpers::TestApp, reader: &str) -> u64 {
    let port = app.http_port.expect("the operators' listener is on");
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a text body");
    let series = format!("briefing_watch_store_reads_total{{reader=\"{reader}\"}} ");
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map_or(0, |value| value.parse().expect("a count"))
}

/// The issue: 10,000 idle WatchDigests streams each polled the database every 2 s (76% of a
/// core). Now one notifier per process asks the store; a watcher reads it once to replay its
/// cursor, then not again until something is published.
#[tokio::test]
async fn idle_watchers_share_one_notifier_and_do_not_read_the_store() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &["--schedule=false"]).await;
    const WATCHERS: u64 = 40;
    let mut streams = Vec::new();
    for _ in 0..WATCHERS {
        streams.push(
            digests(&app)
                .watch_digests(watch("", "0"))
                .await
                .expect("watch digests")
                .into_inner(),
        );
    }
    // Each replays its cursor: one read, which finds nothing.
    crate::helpers::eventually("every watcher has replayed its cursor", || async {
        (watch_reads(&app, "watcher").await >= WATCHERS).then_some(())
    })
    .await;
    let (watchers_before, notifier_before) = (
        watch_reads(&app, "watcher").await,
        watch_reads(&app, "notifier").await,
    );
    // Three of the notifier's 2-second polls.
    tokio::time::sleep(std::time::Duration::from_millis(6_500)).await;
    let watcher_reads = watch_reads(&app, "watcher").await - watchers_before;
    let notifier_reads = watch_reads(&app, "notifier").await - notifier_before;
    assert_eq!(
        watcher_reads, 0,
        "idle watchers read the store {watcher_reads} times in 6.5 s"
    );
    assert!(
        (1..=5).contains(&notifier_reads),
        "the one notifier polls every 2 s, whatever the number of watchers: {notifier_reads} reads"
    );
    // They are alive: a new digest reaches every one of them.
    let compiled = compile(&app, "2025-01-06", false).await;
    for stream in &mut streams {
        assert_eq!(next(stream).await.digest.as_ref(), Some(&compiled));
    }
}
