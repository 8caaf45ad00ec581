//! Many clients at once: every acknowledged create is stored, etags prevent lost updates, and
//! the server's own read-modify-write never drops a concurrent change to another field.

use std::collections::HashSet;

use briefing::api::pb;
use futures::future::join_all;
use tonic::Code;

use crate::helpers::{item, mask, official, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creators_all_get_their_writes() {
    let app = spawn_app().await;
    let tasks = (0..16).map(|task| {
        let mut officials = app.officials.clone();
        let mut agenda = app.agenda.clone();
        tokio::spawn(async move {
            let mut names = Vec::new();
            for round in 0..10 {
                let created = officials
                    .create_official(pb::CreateOfficialRequest {
                        official: Some(official(&format!("Official {task}-{round}"), "KOR")),
                        official_id: String::new(),
                    })
                    .await
                    .expect("concurrent official create")
                    .into_inner();
                names.push(created.name);
                let created = agenda
                    .create_agenda_item(pb::CreateAgendaItemRequest {
                        agenda_item: Some(item(
                            &format!("Item {task}-{round}"),
                            "2025-01-06",
                            &["USA"],
                            &["KOR"],
                            pb::EventType::Consult,
                        )),
                        agenda_item_id: format!("item-{task}-{round}"),
                    })
                    .await
                    .expect("concurrent item create")
                    .into_inner();
                names.push(created.name);
            }
            names
        })
    });
    let names: Vec<String> = join_all(tasks)
        .await
        .into_iter()
        .flat_map(|names| names.expect("task"))
        .collect();
    assert_eq!(
        names.iter().collect::<HashSet<_>>().len(),
        320,
        "every create got its own resource"
    );
    let snapshot = app.snapshot().await;
    assert_eq!(
        (snapshot.officials.len(), snapshot.agenda_items.len()),
        (160, 160)
    );
    let stored: HashSet<&String> = snapshot
        .officials
        .iter()
        .chain(&snapshot.agenda_items)
        .map(|(name, _)| name)
        .collect();
    assert!(names.iter().all(|name| stored.contains(name)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_id_leave_exactly_one_winner() {
    let app = spawn_app().await;
    let attempts = (0..12).map(|attempt| {
        let mut officials = app.officials.clone();
        tokio::spawn(async move {
            officials
                .create_official(pb::CreateOfficialRequest {
                    official: Some(official(&format!("Attempt {attempt}"), "JPN")),
                    official_id: "contested".into(),
                })
                .await
                .map(|response| response.into_inner().display_name)
        })
    });
    let outcomes: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|outcome| outcome.expect("task"))
        .collect();
    let winners: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter_map(|outcome| outcome.as_ref().err())
            .all(|status| status.code() == Code::AlreadyExists)
    );
    assert_eq!(
        &app.get_official("officials/contested")
            .await
            .expect("get")
            .display_name,
        winners[0]
    );
}

/// A counter in a trip's notes, incremented by read-modify-write cycles that send the etag
/// they read and retry on ABORTED: no increment may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etags_prevent_lost_updates() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let (writers, increments) = (8, 6);
    let tasks = (0..writers).map(|_| {
        let mut trips = app.trips.clone();
        let name = seed.trip.clone();
        tokio::spawn(async move {
            let mut conflicts = 0;
            for _ in 0..increments {
                loop {
                    let current = trips
                        .get_trip(pb::GetTripRequest { name: name.clone() })
                        .await
                        .expect("get")
                        .into_inner();
                    let count: u32 = current.notes.parse().unwrap_or(0);
                    let patch = pb::Trip {
                        name: name.clone(),
                        notes: (count + 1).to_string(),
                        etag: current.etag,
                        ..Default::default()
                    };
                    match trips
                        .update_trip(pb::UpdateTripRequest {
                            trip: Some(patch),
                            update_mask: mask(&["notes"]),
                        })
                        .await
                    {
                        Ok(_) => break,
                        Err(status) if status.code() == Code::Aborted => conflicts += 1,
                        Err(status) => panic!("unexpected {status:?}"),
                    }
                }
            }
            conflicts
        })
    });
    let conflicts: u32 = join_all(tasks)
        .await
        .into_iter()
        .map(|task| task.expect("task"))
        .sum();
    let final_trip = app.get_trip(&seed.trip).await.expect("get");
    assert_eq!(
        final_trip.notes,
        (writers * increments).to_string(),
        "after {conflicts} conflicts retried"
    );
}

/// Updates without etags that each name a different field, all at once, on one item: the
/// server's read-merge-write must keep every writer's last value.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_of_different_fields_are_all_kept() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let rounds = 12;
    let fields = ["title", "summary", "mode", "notes", "contexts", "intensity"];
    let tasks = fields.into_iter().map(|field| {
        let mut agenda = app.agenda.clone();
        let name = seed.item.clone();
        tokio::spawn(async move {
            for round in 0..rounds {
                let mut patch = pb::AgendaItem {
                    name: name.clone(),
                    ..Default::default()
                };
                match field {
                    "title" => patch.title = format!("title {round}"),
                    "summary" => patch.summary = format!("summary {round}"),
                    "mode" => patch.mode = format!("mode-{round}"),
                    "notes" => patch.notes = format!("notes {round}"),
                    "contexts" => patch.contexts = vec![format!("context-{round}")],
                    _ => patch.intensity = Some(f64::from(round) / 2.0),
                }
                agenda
                    .update_agenda_item(pb::UpdateAgendaItemRequest {
                        agenda_item: Some(patch),
                        update_mask: mask(&[field]),
                    })
                    .await
                    .unwrap_or_else(|status| panic!("update of {field}: {status:?}"));
            }
        })
    });
    for task in join_all(tasks).await {
        task.expect("task");
    }
    let last = rounds - 1;
    let stored = app.get_item(&seed.item).await.expect("get");
    assert_eq!(stored.title, format!("title {last}"));
    assert_eq!(stored.summary, format!("summary {last}"));
    assert_eq!(stored.mode, format!("mode-{last}"));
    assert_eq!(stored.notes, format!("notes {last}"));
    assert_eq!(stored.contexts, [format!("context-{last}")]);
    assert_eq!(stored.intensity, Some(f64::from(last) / 2.0));
    let searched = app
        .all_items(pb::ListAgendaItemsRequest {
            query: format!("\"title {last}\""),
            ..Default::default()
        })
        .await;
    assert_eq!(searched.len(), 1, "the search index holds the last title");
}
