//! The SQLite store keeps decoded records of hot reads (a trip by id, the items of a list
//! page); these tests change what it holds from outside its cache, through another server on
//! the same database, and read it back through the first. On PostgreSQL nothing is cached and
//! the same tests hold trivially.

use std::time::{Duration, Instant};

use briefing::api::pb;

use crate::helpers::{final_trip, fresh_database, item, mask, official, spawn_app_with};

#[tokio::test]
async fn a_trip_changed_through_another_server_is_read_within_a_second() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, false).await;
    let second = spawn_app_with(&url, false).await;
    first
        .create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    first
        .create_trip("final-trip", final_trip("officials/antony-blinken"))
        .await;
    // Read twice through the first server, so the second read comes from its cache.
    for _ in 0..2 {
        let trip = first.get_trip("trips/final-trip").await.expect("get");
        assert_eq!(trip.title, "Final trip: Seoul, Tokyo, Paris");
    }

    let mut change = final_trip("officials/antony-blinken");
    change.name = "trips/final-trip".into();
    change.title = "Final trip, shortened".into();
    second
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(change),
            update_mask: mask(&["title"]),
        })
        .await
        .expect("update through the second server");
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let trip = first.get_trip("trips/final-trip").await.expect("get");
        if trip.title == "Final trip, shortened" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first server still serves the old trip a second after the update"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Its own writes are read back at once, with no wait.
    let mut again = final_trip("officials/antony-blinken");
    again.name = "trips/final-trip".into();
    again.title = "Final trip, as written".into();
    first
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(again),
            update_mask: mask(&["title"]),
        })
        .await
        .expect("update through the first server");
    let trip = first.get_trip("trips/final-trip").await.expect("get");
    assert_eq!(trip.title, "Final trip, as written");
    drop(database);
}

#[tokio::test]
async fn a_list_page_shows_an_item_changed_or_deleted_through_another_server_at_once() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, false).await;
    let second = spawn_app_with(&url, false).await;
    for (id, title) in [("talks", "Talks in Seoul"), ("visit", "Visit to Tokyo")] {
        first
            .create_item(
                id,
                item(
                    title,
                    "2025-01-06",
                    &["USA"],
                    &["KOR"],
                    pb::EventType::Consult,
                ),
            )
            .await;
    }
    let page = |app: &crate::helpers::TestApp| {
        let mut agenda = app.agenda.clone();
        async move {
            agenda
                .list_agenda_items(pb::ListAgendaItemsRequest {
                    country: "KOR".into(),
                    page_size: 10,
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner()
                .agenda_items
                .into_iter()
                .map(|item| item.title)
                .collect::<Vec<_>>()
        }
    };
    for _ in 0..2 {
        assert_eq!(page(&first).await, ["Talks in Seoul", "Visit to Tokyo"]);
    }

    let mut change = item(
        "Talks in Seoul, extended",
        "2025-01-06",
        &["USA"],
        &["KOR"],
        pb::EventType::Consult,
    );
    change.name = "agendaItems/talks".into();
    second
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(change),
            update_mask: mask(&["title"]),
        })
        .await
        .expect("update through the second server");
    second
        .agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: "agendaItems/visit".into(),
            ..Default::default()
        })
        .await
        .expect("delete through the second server");
    // Each row of a page is checked against the revision stored now: no wait.
    assert_eq!(page(&first).await, ["Talks in Seoul, extended"]);
    drop(database);
}
