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

#[tokio::test]
async fn the_import_command_loads_ndjson_and_reports_bad_records() {
    let (database, url) = fresh_database().await;
    let file = database.directory().join("records.ndjson");
    std::fs::write(&file, NDJSON).expect("write records");
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a rejected record makes the exit code 2; stderr: {stderr}"
    );
    assert!(
        stdout.contains("stored 3 records, rejected 1"),
        "stdout: {stdout}"
    );
    assert!(
        stderr.contains("agenda_item.actors[0]"),
        "the problem names the field; stderr: {stderr}"
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
    assert!(String::from_utf8_lossy(&output.stdout).contains("stored 3 records, rejected 0"));
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
