//! Bulk loading: the ImportAgendaItems client stream and `briefing import FILE`.

use std::process::Command;

use briefing::api::pb;

use crate::helpers::{fresh_database, item, spawn_app, spawn_app_with};

fn message(id: &str, agenda_item: Option<pb::AgendaItem>) -> pb::ImportAgendaItemsRequest {
    pb::ImportAgendaItemsRequest {
        agenda_item,
        agenda_item_id: id.into(),
    }
}

fn good(title: &str) -> pb::AgendaItem {
    item(
        title,
        "2025-01-06",
        &["USAGOV"],
        &["KORGOV"],
        pb::EventType::Consult,
    )
}

#[tokio::test]
async fn good_items_are_stored_and_bad_ones_reported_by_index() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let mut bad_actor = good("bad actor");
    bad_actor.actors = vec!["USA".into(), "XXX".into()];
    let mut unknown_trip = good("unknown trip");
    unknown_trip.trip = "trips/nowhere".into();
    let mut on_leg = good("on the Tokyo leg");
    on_leg.trip = seed.trip.clone();
    on_leg.leg = Some(1);
    let mut unknown_participant = good("unknown participant");
    unknown_participant.participants = vec![seed.traveler.clone(), "officials/nobody".into()];
    let mut two_problems = good("");
    two_problems.date = "2025-02-30".into();
    let messages = vec![
        message("first", Some(good("first"))),          // 0 stored
        message("bad-actor", Some(bad_actor)),          // 1 agenda_item.actors[1]
        message("", Some(good("server-chosen id"))),    // 2 stored
        message("unknown-trip", Some(unknown_trip)),    // 3 agenda_item.trip
        message("seoul-talks", Some(good("taken id"))), // 4 agenda_item_id: exists already
        message("first", Some(good("again"))), // 5 agenda_item_id: taken earlier in the stream
        message("missing", None),              // 6 agenda_item
        message("Bad_Id", Some(good("bad id"))), // 7 agenda_item_id
        message("on-leg", Some(on_leg)),       // 8 stored
        message("stranger", Some(unknown_participant)), // 9 agenda_item.participants[1]
        message("two-problems", Some(two_problems)), // 10 agenda_item.title and agenda_item.date
    ];
    let before = app.snapshot().await;
    let response = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter(messages))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(response.received_count, 11);
    assert_eq!(response.imported_count, 3);
    assert_eq!(response.rejected_count, 8);
    let mut reported: Vec<(i64, String)> = response
        .errors
        .iter()
        .map(|error| (error.index, error.field.clone()))
        .collect();
    reported.sort();
    let expected: Vec<(i64, String)> = [
        (1, "agenda_item.actors[1]"),
        (3, "agenda_item.trip"),
        (4, "agenda_item_id"),
        (5, "agenda_item_id"),
        (6, "agenda_item"),
        (7, "agenda_item_id"),
        (9, "agenda_item.participants[1]"),
        (10, "agenda_item.date"),
        (10, "agenda_item.title"),
    ]
    .into_iter()
    .map(|(index, field)| (index, field.to_owned()))
    .collect();
    assert_eq!(reported, expected);
    assert!(
        response
            .errors
            .iter()
            .all(|error| !error.description.is_empty())
    );

    assert_eq!(
        app.get_item("agendaItems/first")
            .await
            .expect("stored")
            .title,
        "first"
    );
    assert_eq!(
        app.get_item("agendaItems/on-leg")
            .await
            .expect("stored")
            .leg,
        Some(1)
    );
    assert_eq!(
        app.get_item("agendaItems/seoul-talks")
            .await
            .expect("kept")
            .title,
        "Talks in Seoul"
    );
    let after = app.snapshot().await;
    assert_eq!(after.agenda_items.len(), before.agenda_items.len() + 3);
    assert!(after.agenda_items.iter().any(|(name, _)| {
        ![
            "agendaItems/first",
            "agendaItems/on-leg",
            "agendaItems/seoul-talks",
        ]
        .contains(&name.as_str())
    }));
    for rejected in [
        "bad-actor",
        "unknown-trip",
        "missing",
        "stranger",
        "two-problems",
    ] {
        assert!(
            app.get_item(&format!("agendaItems/{rejected}"))
                .await
                .is_err(),
            "{rejected} was not stored"
        );
    }
    assert_eq!(after.officials, before.officials);
    assert_eq!(after.trips, before.trips);
}

#[tokio::test]
async fn a_large_import_crosses_batches_and_stores_everything() {
    let app = spawn_app().await;
    let count = 5_003;
    let messages = (0..count).map(|index| {
        let mut sent = good(&format!("item {index}"));
        sent.summary = if index % 2 == 0 {
            "even alliance".into()
        } else {
            "odd tension".into()
        };
        message(&format!("bulk-{index}"), Some(sent))
    });
    let response = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter(messages))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(
        (
            response.received_count,
            response.imported_count,
            response.rejected_count
        ),
        (count, count, 0)
    );
    let listed = app
        .all_items(pb::ListAgendaItemsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await;
    assert_eq!(listed.len(), 5_003);
    let names: Vec<String> = listed.iter().map(|item| item.name.clone()).collect();
    let expected: Vec<String> = (0..count)
        .map(|index| format!("agendaItems/bulk-{index}"))
        .collect();
    assert_eq!(names, expected, "stored once each, in stream order");
    let even = app
        .all_items(pb::ListAgendaItemsRequest {
            query: "alliance".into(),
            page_size: 500,
            ..Default::default()
        })
        .await;
    assert_eq!(even.len(), 2_502, "imported items are searchable");
}

#[tokio::test]
async fn an_empty_stream_imports_nothing() {
    let app = spawn_app().await;
    let response = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter(
            Vec::<pb::ImportAgendaItemsRequest>::new(),
        ))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(response, pb::ImportAgendaItemsResponse::default());
}

const NDJSON: &str = r#"{"id": "talks", "agenda_item": {"title": "Talks in Seoul", "date": "2025-01-06", "trip": "trips/seoul", "leg": 0, "participants": ["officials/blinken"], "actors": ["USAGOV"], "recipients": ["KORGOV"], "event_type": "CONSULT", "contexts": ["diplomatic"]}}
{"id": "seoul", "trip": {"title": "Seoul", "traveler": "officials/blinken", "legs": [{"country": "KOR", "city": "Seoul", "start_date": "2025-01-05", "end_date": "2025-01-06", "time_zone": "Asia/Seoul"}]}}

{"id": "blinken", "official": {"display_name": "Antony Blinken", "country": "USA", "roles": [{"title": "Secretary of State", "start_date": "2021-01-26", "state": "ACTIVE"}]}}
{"id": "bad", "agenda_item": {"title": "Bad", "date": "2025-01-06", "actors": ["XXX"], "event_type": "EVENT_TYPE_THREATEN"}}
"#;

/// Runs `briefing import` with `args`, `stdin` on its standard input.
fn briefing_import(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .arg("import")
        .args(args)
        .env_remove("BRIEFING_DATABASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run briefing import");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("briefing import ends")
}

/// An NDJSON line of an agenda item with id `id`; `actor` lets a test make it bad.
fn item_line(id: &str, actor: &str) -> String {
    format!(
        r#"{{"id": "{id}", "agenda_item": {{"title": "Item {id}", "date": "2025-01-06", "actors": ["{actor}"], "recipients": ["KOR"], "event_type": "CONSULT"}}}}"#
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

/// The names of the agenda items the server at `url` holds, sorted.
async fn stored_items(url: &str) -> Vec<String> {
    let app = spawn_app_with(url, false).await;
    let mut names: Vec<String> = app
        .snapshot()
        .await
        .agenda_items
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.sort();
    app.stop().await;
    names
}

#[tokio::test]
async fn the_import_command_keeps_whole_batches_before_a_bad_record_and_nothing_of_its_batch() {
    let (database, url) = fresh_database().await;
    let file = database.directory().join("records.ndjson");
    // Batches of 3: lines 1, 2 and 4 (the blank line is no record), then line 5, the bad one.
    std::fs::write(&file, NDJSON).expect("write records");
    let output = briefing_import(
        &[
            file.to_str().expect("utf-8 path"),
            "--database",
            &url,
            "--batch-size",
            "3",
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad record makes the exit code 2; stderr: {stderr}"
    );
    assert!(
        stderr.contains("line 5: agenda_item.actors[0]: \"XXX\" is not"),
        "the problem names the line and the field; stderr: {stderr}"
    );
    assert!(
        stdout.contains("stopped at line 5: kept 3 records, the batches before line 5"),
        "stdout: {stdout}"
    );

    let app = spawn_app_with(&url, false).await;
    let talks = app
        .get_item("agendaItems/talks")
        .await
        .expect("imported item");
    assert_eq!(
        (talks.trip.as_str(), talks.leg, talks.event_type()),
        ("trips/seoul", Some(0), pb::EventType::Consult)
    );
    assert_eq!(
        app.get_trip("trips/seoul")
            .await
            .expect("imported trip")
            .legs[0]
            .city,
        "Seoul"
    );
    let blinken = app
        .get_official("officials/blinken")
        .await
        .expect("imported official");
    assert_eq!(blinken.roles[0].state(), pb::RoleState::Active);
    assert!(app.get_item("agendaItems/bad").await.is_err());
    app.stop().await;

    // The same file in one batch: nothing of it is written.
    let (other, other_url) = fresh_database().await;
    let output = briefing_import(
        &[file.to_str().expect("utf-8 path"), "--database", &other_url],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stdout).contains("kept 0 records"));
    let app = spawn_app_with(&other_url, false).await;
    let snapshot = app.snapshot().await;
    assert!(
        snapshot.agenda_items.is_empty()
            && snapshot.trips.is_empty()
            && snapshot.officials.is_empty()
    );
    app.stop().await;
    drop((database, other));
}

/// A record the store refuses (its id taken by line 1) in the middle of the second batch rolls
/// that batch back: the first batch is kept whole, nothing of the second, nothing after.
#[tokio::test]
async fn a_record_the_store_refuses_leaves_nothing_of_its_batch() {
    let (database, url) = fresh_database().await;
    let mut lines: Vec<String> = (1..=10)
        .map(|number| item_line(&format!("item-{number}"), "USA"))
        .collect();
    lines[6] = item_line("item-1", "USA");
    let output = briefing_import(
        &["-", "--database", &url, "--batch-size", "4"],
        (lines.join("\n") + "\n").as_bytes(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("line 7: id: agendaItems/item-1 already exists"),
        "stderr: {stderr}"
    );
    assert!(
        stdout.contains("stopped at line 7: kept 4 records, the batches before line 5; nothing from line 5 on was written"),
        "stdout: {stdout}"
    );
    let expected: Vec<String> = (1..=4)
        .map(|number| format!("agendaItems/item-{number}"))
        .collect();
    assert_eq!(stored_items(&url).await, expected);

    // A record that fails a check stops the reading before its batch is written.
    let (other, other_url) = fresh_database().await;
    lines[6] = item_line("item-7", "XXX");
    let output = briefing_import(
        &["-", "--database", &other_url, "--batch-size", "4"],
        (lines.join("\n") + "\n").as_bytes(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 7: agenda_item.actors[0]"));
    assert_eq!(stored_items(&other_url).await, expected);
    drop((database, other));
}

#[tokio::test]
async fn the_import_command_reads_gzip_from_standard_input() {
    let (database, url) = fresh_database().await;
    let lines: Vec<String> = (1..=25)
        .map(|number| item_line(&format!("item-{number:02}"), "USA"))
        .collect();
    let output = briefing_import(
        &["-", "--database", &url, "--batch-size", "10"],
        &gzip((lines.join("\n") + "\n").as_bytes()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("imported 25 records"), "stdout: {stdout}");
    assert!(
        output.stderr.is_empty(),
        "no progress line when stderr is not a terminal"
    );
    let expected: Vec<String> = (1..=25)
        .map(|number| format!("agendaItems/item-{number:02}"))
        .collect();
    assert_eq!(stored_items(&url).await, expected);
    drop(database);
}

/// A dry run reads everything, names every bad record by line (a pretty-printed JSON array:
/// the line its record starts on) and writes nothing.
#[tokio::test]
async fn a_dry_run_reports_every_bad_record_and_writes_nothing() {
    let (database, url) = fresh_database().await;
    let records = [
        item_line("first", "USA"),
        item_line("second", "XXX"),
        item_line("third", "USA"),
        r#"{"id": "fourth", "agenda_item": {"title": 4}}"#.to_owned(),
    ];
    let pretty: Vec<String> = records
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            serde_json::to_string_pretty(&value).expect("json")
        })
        .collect();
    let array = format!("[\n{}\n]\n", pretty.join(",\n"));
    let second_starts = 2 + pretty[0].lines().count();
    let fourth_starts = second_starts + pretty[1].lines().count() + pretty[2].lines().count();
    let file = database.directory().join("records.json.gz");
    std::fs::write(&file, gzip(array.as_bytes())).expect("write records");
    let output = briefing_import(
        &[
            file.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "--dry-run",
            "--database",
            &url,
        ],
        b"",
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("line {second_starts}: agenda_item.actors[0]")),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "line {fourth_starts}: agenda_item.title: invalid type"
        )),
        "stderr: {stderr}"
    );
    assert!(
        stdout.contains("checked 4 records") && stdout.contains("2 bad; nothing written (dry run)"),
        "stdout: {stdout}"
    );
    assert!(stored_items(&url).await.is_empty());

    // Without --dry-run the good array is written.
    let good = format!(
        "[{}]",
        [&records[0], &records[2]].map(String::as_str).join(",")
    );
    let output = briefing_import(
        &["-", "--format", "json", "--database", &url],
        good.as_bytes(),
    );
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stored_items(&url).await,
        ["agendaItems/first", "agendaItems/third"]
    );
    drop(database);
}

#[tokio::test]
async fn the_import_command_reads_a_json_array() {
    let (database, url) = fresh_database().await;
    let file = database.directory().join("records.json");
    let records: Vec<&str> = NDJSON
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.contains("\"bad\""))
        .collect();
    std::fs::write(&file, format!("[\n{}\n]\n", records.join(",\n"))).expect("write records");
    let output = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args([
            "import",
            file.to_str().expect("utf-8 path"),
            "--format",
            "json",
            "--database",
            &url,
        ])
        .output()
        .expect("run briefing import");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 3 records"));
    let app = spawn_app_with(&url, false).await;
    assert_eq!(app.snapshot().await.agenda_items.len(), 1);
    drop(database);
}

#[tokio::test]
async fn the_import_command_keeps_status_and_hedged() {
    let (database, url) = fresh_database().await;
    let file = database.directory().join("statuses.ndjson");
    std::fs::write(
        &file,
        concat!(
            r#"{"id": "summit", "agenda_item": {"title": "Summit announced", "date": "2025-01-20", "actors": ["USA"], "recipients": ["JPN"], "event_type": "CONSULT", "status": "PLANNED", "hedged": true}}"#,
            "\n",
            r#"{"id": "talks", "agenda_item": {"title": "Talks", "date": "2025-01-06", "actors": ["USA"], "recipients": ["KOR"], "event_type": "CONSULT"}}"#,
            "\n",
        ),
    )
    .expect("write records");
    let output = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args([
            "import",
            file.to_str().expect("utf-8 path"),
            "--database",
            &url,
        ])
        .env_remove("BRIEFING_DATABASE")
        .output()
        .expect("run briefing import");
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let app = spawn_app_with(&url, false).await;
    let summit = app.get_item("agendaItems/summit").await.expect("summit");
    assert_eq!(
        (summit.status(), summit.hedged),
        (pb::ItemStatus::Planned, true)
    );
    let talks = app.get_item("agendaItems/talks").await.expect("talks");
    assert_eq!(
        (talks.status(), talks.hedged),
        (pb::ItemStatus::Reported, false)
    );
    let planned = app
        .all_items(pb::ListAgendaItemsRequest {
            status: pb::ItemStatus::Planned.into(),
            pairs: vec!["JPN-USA".into()],
            ..Default::default()
        })
        .await;
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].name, "agendaItems/summit");
    drop(database);
}
