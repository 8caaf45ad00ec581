//! The SQLite store keeps decoded records of hot reads (a trip by id, the items of a list
//! page); these tests change what it holds from outside its cache, through another process's
//! store on the same database (what `briefing import` or `briefing token` open; a second
//! server is refused the file), and read it back through the server. On PostgreSQL nothing is
//! cached and the same tests hold trivially.

use std::time::{Duration, Instant};

use briefing::api::pb;
use briefing::domain::ResourceId;
use briefing::store::Precondition;

use crate::helpers::{final_trip, fresh_database, item, mask, official, spawn_app_with};

#[tokio::test]
async fn a_trip_changed_through_another_store_is_read_within_a_second() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, false).await;
    let other = briefing::startup::open_store(&url)
        .await
        .expect("another store on the same database");
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

    let id = ResourceId::parse("final-trip").expect("an id");
    let mut change = other
        .get_trip(&id)
        .await
        .expect("read through the other store");
    change.value.title = "Final trip, shortened".into();
    other
        .update_trip(&id, Precondition::None, change.value)
        .await
        .expect("update through the other store");
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
async fn a_list_page_shows_an_item_changed_or_deleted_through_another_store_at_once() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, false).await;
    let other = briefing::startup::open_store(&url)
        .await
        .expect("another store on the same database");
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

    let talks = ResourceId::parse("talks").expect("an id");
    let mut change = other
        .get_agenda_item(&talks)
        .await
        .expect("read through the other store");
    change.value.title = "Talks in Seoul, extended".into();
    other
        .update_agenda_item(&talks, Precondition::None, change.value)
        .await
        .expect("update through the other store");
    other
        .delete_agenda_item(
            &ResourceId::parse("visit").expect("an id"),
            Precondition::None,
        )
        .await
        .expect("delete through the other store");
    // Each row of a page is checked against the revision stored now: no wait.
    assert_eq!(page(&first).await, ["Talks in Seoul, extended"]);
    drop(database);
}
