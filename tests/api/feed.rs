//! `[feeds.gdelt]`: a server following a directory laid out like GDELT's (update list, master
//! list, zipped exports with their real sizes and MD5s) on a local HTTP server imports each
//! file once, refuses and retries a file whose MD5 is not the list's, and catches up after
//! downtime within its window; ListFeedFiles and `/metrics` show the ledger.

use std::time::Duration;

use briefing::api::pb;
use briefing::api::pb::feed_service_client::FeedServiceClient;
use tonic::transport::Channel;

use crate::gdelt_files::{GdeltServer, export_name, latest_quarter_hour, three_rows};
use crate::helpers::{ServerProcess, TestApp, eventually, fresh_database, spawn_app_with_args};

/// Every file of the ledger, newest first, following page tokens (pages of 2, to page).
pub async fn feed_files(channel: Channel, state: pb::FeedFileState) -> Vec<pb::FeedFile> {
    let mut client = FeedServiceClient::new(channel);
    let mut request = pb::ListFeedFilesRequest {
        page_size: 2,
        state: state.into(),
        ..Default::default()
    };
    let mut files = Vec::new();
    for _ in 0..1000 {
        let page = client
            .list_feed_files(request.clone())
            .await
            .expect("ListFeedFiles")
            .into_inner();
        files.extend(page.feed_files);
        if page.next_page_token.is_empty() {
            return files;
        }
        request.page_token = page.next_page_token;
    }
    panic!("ListFeedFiles did not end");
}

/// The names of the imported files, oldest first, once exactly `count` are imported.
async fn until_imported(channel: &Channel, count: usize) -> Vec<pb::FeedFile> {
    eventually(&format!("{count} feed files are imported"), || async {
        let files = feed_files(channel.clone(), pb::FeedFileState::Imported).await;
        (files.len() >= count).then_some(files)
    })
    .await
}

fn file_name(file: &pb::FeedFile) -> &str {
    file.name.rsplit('/').next().unwrap_or_default()
}

/// A server that follows `gdelt` with the feed's intervals shortened.
async fn follow(
    database_url: &str,
    gdelt: &GdeltServer,
    catch_up_hours: u32,
) -> (TestApp, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    std::fs::write(&path, gdelt.feed_config(catch_up_hours)).expect("write the configuration");
    let app = spawn_app_with_args(database_url, &["--config", path.to_str().expect("utf-8")]).await;
    (app, directory)
}

#[tokio::test]
async fn a_server_imports_each_listed_file_once_and_the_ledger_shows_it() {
    let (_database, url) = fresh_database().await;
    let gdelt = GdeltServer::start();
    let latest = latest_quarter_hour().await;
    let times: Vec<_> = (0..3)
        .map(|back| latest - chrono::Duration::minutes(15 * back))
        .collect();
    let lines: Vec<String> = times
        .iter()
        .zip(1..)
        .map(|(time, number)| gdelt.put_export(*time, &three_rows(number)))
        .collect();
    // The newest file is in the update list; the two before it only in the master list.
    gdelt.set_update_list(&lines[..1]);
    gdelt.set_master_list(&lines.iter().rev().cloned().collect::<Vec<_>>());

    let (app, _config) = follow(&url, &gdelt, 1).await;
    let files = until_imported(&app.channel, 3).await;
    // A few more polls: nothing is downloaded again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let files_again = feed_files(app.channel.clone(), pb::FeedFileState::Unspecified).await;
    assert_eq!(files_again.len(), 3, "{files_again:#?}");
    let names: Vec<&str> = files.iter().map(file_name).collect();
    let expected: Vec<String> = times.iter().map(|time| export_name(*time)).collect();
    assert_eq!(names, expected, "newest first");
    for file in &files_again {
        let name = file_name(file);
        assert_eq!(file.state(), pb::FeedFileState::Imported, "{file:#?}");
        assert_eq!(file.attempts, 1, "{file:#?}");
        assert_eq!(
            (file.rows_read, file.rows_imported, file.rows_skipped),
            (3, 2, 1),
            "{file:#?}"
        );
        assert!(
            file.error.is_empty() && file.import_time.is_some(),
            "{file:#?}"
        );
        assert_eq!(file.url, format!("{}/{name}", gdelt.base));
        assert_eq!(file.md5.len(), 32);
        assert_eq!(gdelt.downloads(name), 1, "{name} downloaded once");
    }
    for id in ["gdelt-101", "gdelt-102", "gdelt-301", "gdelt-302"] {
        app.get_item(&format!("agendaItems/{id}"))
            .await
            .unwrap_or_else(|status| panic!("{id}: {status:?}"));
    }
    assert!(
        feed_files(app.channel.clone(), pb::FeedFileState::Failed)
            .await
            .is_empty()
    );

    // A parent that is not a feed is refused, naming the field.
    let refused = FeedServiceClient::new(app.channel.clone())
        .list_feed_files(pb::ListFeedFilesRequest {
            parent: "feeds/icews".into(),
            ..Default::default()
        })
        .await
        .expect_err("an unknown feed");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("parent"), "{refused:?}");

    // /metrics: this server's files, the ledger, and the newest imported file's age.
    let http = app.http_port.expect("the operators' listener");
    let scrape = reqwest::get(format!("http://127.0.0.1:{http}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("a text body");
    for expected in [
        "briefing_feed_files_total{feed=\"gdelt\",outcome=\"imported\"} 3",
        "briefing_feed_files{state=\"imported\"} 3",
        "briefing_feed_files{state=\"failed\"} 0",
        "briefing_feed_last_imported_file_age_seconds{feed=\"gdelt\"}",
    ] {
        assert!(scrape.contains(expected), "no {expected} in:\n{scrape}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_file_with_a_wrong_md5_is_refused_logged_and_retried_until_it_is_right() {
    let (database, url) = fresh_database().await;
    let gdelt = GdeltServer::start();
    let time = latest_quarter_hour().await;
    let name = export_name(time);
    let line = gdelt.put_export(time, &three_rows(7));
    gdelt.set_update_list(std::slice::from_ref(&line));
    gdelt.set_master_list(std::slice::from_ref(&line));
    // The server sends other bytes of the same size: the MD5 is not the list's.
    let good = crate::gdelt_files::zipped_export(&name, &three_rows(7));
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    gdelt.put(&name, bad);

    let config = database.directory().join("briefing.toml");
    std::fs::write(&config, gdelt.feed_config(1)).expect("write the configuration");
    let mut server = ServerProcess::start(&url, &["--config", config.to_str().expect("utf-8")]);
    let warning = server.wait_for_log("feed file refused");
    assert!(
        warning.contains("WARN") && warning.contains(&name) && warning.contains("MD5 mismatch"),
        "{warning}"
    );
    let channel = server.connect().await;
    let failed = eventually("the file is marked failed", || async {
        feed_files(channel.clone(), pb::FeedFileState::Failed)
            .await
            .into_iter()
            .next()
    })
    .await;
    assert!(failed.error.contains("MD5 mismatch"), "{failed:#?}");
    assert!(failed.next_attempt_time.is_some(), "{failed:#?}");
    assert_eq!(failed.rows_imported, 0);

    // Retried with backoff: still refused while the file is wrong.
    eventually("the file is tried again", || async {
        (gdelt.downloads(&name) >= 2).then_some(())
    })
    .await;
    gdelt.put(&name, good);
    let imported = until_imported(&channel, 1).await;
    let file = &imported[0];
    assert!(file.attempts >= 2, "{file:#?}");
    assert!(file.error.is_empty(), "{file:#?}");
    assert_eq!((file.rows_read, file.rows_imported), (3, 2), "{file:#?}");
    let downloads = gdelt.downloads(&name);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        gdelt.downloads(&name),
        downloads,
        "not downloaded once imported"
    );
    drop(server);
}

#[tokio::test]
async fn after_an_hour_down_the_missed_files_within_the_window_are_imported_and_no_older() {
    let (_database, url) = fresh_database().await;
    let gdelt = GdeltServer::start();
    let latest = latest_quarter_hour().await;
    let at = |quarters: i64| latest - chrono::Duration::minutes(15 * quarters);

    // Before the downtime: the server imported the file of two hours ago, then stopped.
    let before = gdelt.put_export(at(8), &three_rows(8));
    gdelt.set_update_list(std::slice::from_ref(&before));
    gdelt.set_master_list(std::slice::from_ref(&before));
    let (app, _config) = follow(&url, &gdelt, 1).await;
    until_imported(&app.channel, 1).await;
    app.stop().await;

    // Two hours of files later, the server starts again with a one-hour window: the files of
    // the last hour are caught up, those of the hour before (never listed as the latest while
    // the server was down) are older than the window and left; so is the file of exactly an
    // hour before the latest, as the window ends at the server's now, after it.
    let mut master = vec![before.clone()];
    for quarters in (0..=7).rev() {
        master.push(gdelt.put_export(at(quarters), &three_rows(quarters as u64 + 10)));
    }
    gdelt.set_master_list(&master);
    gdelt.set_update_list(&master[master.len() - 1..]);
    let (app, _config) = follow(&url, &gdelt, 1).await;
    let imported = until_imported(&app.channel, 5).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ledger = feed_files(app.channel.clone(), pb::FeedFileState::Unspecified).await;
    let names: Vec<&str> = ledger.iter().map(file_name).collect();
    let expected: Vec<String> = [0, 1, 2, 3, 8]
        .into_iter()
        .map(|quarters| export_name(at(quarters)))
        .collect();
    assert_eq!(names, expected, "{ledger:#?}");
    assert_eq!(imported.len(), 5);
    for quarters in [4, 5, 6, 7] {
        assert_eq!(
            gdelt.downloads(&export_name(at(quarters))),
            0,
            "{quarters} quarters back"
        );
    }
    assert_eq!(
        gdelt.downloads(&export_name(at(8))),
        1,
        "imported once, before the downtime"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_configured_host_is_reached_on_loopback_but_a_list_cannot_point_elsewhere() {
    let (_database, url) = fresh_database().await;
    let gdelt = GdeltServer::start();
    let latest = latest_quarter_hour().await;
    let ours = gdelt.put_export(latest - chrono::Duration::minutes(15), &three_rows(1));
    // The same server under another name: not the host the operator configured, so the SSRF
    // guard judges its address, loopback, as it would a webhook's.
    let elsewhere = gdelt
        .put_export(latest, &three_rows(2))
        .replace("127.0.0.1", "localhost");
    gdelt.set_update_list(std::slice::from_ref(&elsewhere));
    gdelt.set_master_list(&[ours, elsewhere]);

    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    std::fs::write(&path, gdelt.feed_config(1)).expect("write the configuration");
    // No range allowed: only the operator's own host may be loopback.
    let app = spawn_app_with_args(
        &url,
        &[
            "--config",
            path.to_str().expect("utf-8"),
            "--webhook-allow-cidrs=",
        ],
    )
    .await;
    until_imported(&app.channel, 1).await;
    let refused = eventually("the other host's file is refused", || async {
        feed_files(app.channel.clone(), pb::FeedFileState::Failed)
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(file_name(&refused), export_name(latest));
    assert!(
        refused
            .error
            .contains("refused by the address guard: loopback address"),
        "{refused:#?}"
    );
    assert_eq!(gdelt.downloads(&export_name(latest)), 0, "never reached");
    app.stop().await;
}

#[tokio::test]
async fn a_server_that_stops_during_a_download_gives_the_file_back_for_the_next_one() {
    let (_database, url) = fresh_database().await;
    let gdelt = GdeltServer::start();
    let time = latest_quarter_hour().await;
    let name = export_name(time);
    let line = gdelt.put_export(time, &three_rows(4));
    gdelt.set_update_list(std::slice::from_ref(&line));
    gdelt.set_master_list(std::slice::from_ref(&line));
    gdelt.slow_exports(Duration::from_secs(30));

    // Its lease is a minute: without being given back, the file would wait that long.
    let (app, _config) = follow(&url, &gdelt, 1).await;
    eventually("the download starts", || async {
        (gdelt.downloads(&name) == 1).then_some(())
    })
    .await;
    app.stop().await;

    gdelt.slow_exports(Duration::ZERO);
    let (app, _config) = follow(&url, &gdelt, 1).await;
    let file = tokio::time::timeout(Duration::from_secs(15), until_imported(&app.channel, 1))
        .await
        .expect("imported long before the lease runs out")
        .remove(0);
    assert_eq!(file.attempts, 2, "{file:#?}");
    assert_eq!(gdelt.downloads(&name), 2);
    app.stop().await;
}

/// The ledger itself, on this binary's backend: a claim holds a file against every other
/// owner, a failure makes it due again (or never, once given up), and only the holder may
/// finish it.
#[tokio::test]
async fn the_file_ledger_lets_one_owner_hold_a_file_and_retries_only_what_is_due() {
    use briefing::store::StoreError;
    use briefing::store::feeds::{FeedFileClaim, FeedFileCounts, ListedFile};

    let (_database, url) = fresh_database().await;
    let store = briefing::startup::open_store(&url)
        .await
        .expect("store opens");
    let listed = |name: &str| ListedFile {
        url: format!("http://127.0.0.1/gdeltv2/{name}"),
        file_name: name.to_owned(),
        file_time: briefing::feed::list::file_time(name).expect("a GDELT name"),
        size_bytes: 10,
        md5: "0123456789abcdef0123456789abcdef".to_owned(),
    };
    let claim = |file: &ListedFile, owner: &str| FeedFileClaim {
        feed: "gdelt".to_owned(),
        file: file.clone(),
        owner: owner.to_owned(),
        lease: chrono::Duration::seconds(60),
    };
    let broken = listed("20250106140000.export.CSV.zip");
    let flaky = listed("20250106141500.export.CSV.zip");

    assert_eq!(
        store.claim_feed_file(&claim(&broken, "a")).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        store.claim_feed_file(&claim(&broken, "b")).await.unwrap(),
        None,
        "held by a"
    );
    // Given up: failed, never due again, not even when listed again.
    store
        .fail_feed_file(&broken.url, "a", "MD5 mismatch", None)
        .await
        .unwrap();
    assert_eq!(
        store.claim_feed_file(&claim(&broken, "b")).await.unwrap(),
        None
    );

    assert_eq!(
        store.claim_feed_file(&claim(&flaky, "a")).await.unwrap(),
        Some(1)
    );
    store
        .fail_feed_file(
            &flaky.url,
            "a",
            "connect failed",
            Some(chrono::Duration::zero()),
        )
        .await
        .unwrap();
    let due = store.due_feed_files("gdelt", 10).await.unwrap();
    assert_eq!(
        due,
        std::slice::from_ref(&flaky),
        "only the file that is due"
    );
    assert_eq!(
        store.claim_feed_file(&claim(&flaky, "b")).await.unwrap(),
        Some(2)
    );
    let counts = FeedFileCounts {
        rows_read: 3,
        rows_imported: 2,
        rows_skipped: 1,
    };
    assert!(matches!(
        store.finish_feed_file(&flaky.url, "a", counts).await,
        Err(StoreError::Stale { .. })
    ));
    store
        .finish_feed_file(&flaky.url, "b", counts)
        .await
        .unwrap();
    assert_eq!(
        store.claim_feed_file(&claim(&flaky, "c")).await.unwrap(),
        None,
        "imported"
    );
    assert!(store.due_feed_files("gdelt", 10).await.unwrap().is_empty());
    assert_eq!(
        store.newest_feed_file("gdelt").await.unwrap(),
        Some(flaky.file_time)
    );
    let stats = store.feed_stats().await.unwrap();
    assert_eq!(stats.newest_imported, Some(flaky.file_time));
    let mut by_state = stats.by_state.clone();
    by_state.sort();
    assert_eq!(
        by_state,
        [("failed".to_owned(), 1), ("imported".to_owned(), 1)]
    );
}
