//! An acknowledged write survives `kill -9` of the real binary.

use briefing::api::pb;
use briefing::api::pb::agenda_service_client::AgendaServiceClient;
use briefing::api::pb::official_service_client::OfficialServiceClient;
use briefing::api::pb::trip_service_client::TripServiceClient;

use crate::helpers::{ServerProcess, final_trip, fresh_database, item, official};

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let (database, url) = fresh_database().await;
    let mut expected_items: Vec<pb::AgendaItem> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    let mut expected_official = None;
    let mut expected_trip = None;
    for cycle in 0..3 {
        let server = ServerProcess::start(&url, &[]);
        let channel = server.connect().await;
        let mut officials = OfficialServiceClient::new(channel.clone());
        let mut trips = TripServiceClient::new(channel.clone());
        let mut agenda = AgendaServiceClient::new(channel);

        // Whatever earlier cycles were told is stored is still there, unchanged.
        if let Some(official) = &expected_official {
            let read = officials
                .get_official(pb::GetOfficialRequest {
                    name: "officials/antony-blinken".into(),
                })
                .await;
            assert_eq!(
                &read.expect("official after restart").into_inner(),
                official,
                "cycle {cycle}"
            );
        }
        if let Some(trip) = &expected_trip {
            let read = trips
                .get_trip(pb::GetTripRequest {
                    name: "trips/final-trip".into(),
                })
                .await;
            assert_eq!(
                &read.expect("trip after restart").into_inner(),
                trip,
                "cycle {cycle}"
            );
        }
        for expected in &expected_items {
            let read = agenda
                .get_agenda_item(pb::GetAgendaItemRequest {
                    name: expected.name.clone(),
                })
                .await;
            assert_eq!(
                &read.expect("item after restart").into_inner(),
                expected,
                "cycle {cycle}"
            );
        }
        for name in &deleted {
            let read = agenda
                .get_agenda_item(pb::GetAgendaItemRequest { name: name.clone() })
                .await;
            assert_eq!(
                read.expect_err("stays deleted").code(),
                tonic::Code::NotFound,
                "cycle {cycle}"
            );
        }
        if !expected_items.is_empty() {
            let searched = agenda
                .list_agenda_items(pb::ListAgendaItemsRequest {
                    query: "durable".into(),
                    page_size: 500,
                    ..Default::default()
                })
                .await
                .expect("search after restart")
                .into_inner();
            assert_eq!(
                searched.agenda_items.len(),
                expected_items.len(),
                "the search index survived too"
            );
        }

        // Write, and kill the process the moment the last write is acknowledged.
        if cycle == 0 {
            let created = officials
                .create_official(pb::CreateOfficialRequest {
                    official: Some(official("Antony Blinken", "USA")),
                    official_id: "antony-blinken".into(),
                })
                .await
                .expect("create official")
                .into_inner();
            expected_official = Some(created);
            let created = trips
                .create_trip(pb::CreateTripRequest {
                    trip: Some(final_trip("officials/antony-blinken")),
                    trip_id: "final-trip".into(),
                })
                .await
                .expect("create trip")
                .into_inner();
            expected_trip = Some(created);
        } else {
            let patch = pb::Trip {
                name: "trips/final-trip".into(),
                notes: format!("updated in cycle {cycle}"),
                ..Default::default()
            };
            let updated = trips
                .update_trip(pb::UpdateTripRequest {
                    trip: Some(patch),
                    update_mask: None,
                })
                .await
                .expect("update trip")
                .into_inner();
            expected_trip = Some(updated);
            let victim = expected_items.remove(0);
            agenda
                .delete_agenda_item(pb::DeleteAgendaItemRequest {
                    name: victim.name.clone(),
                    etag: String::new(),
                })
                .await
                .expect("delete item");
            deleted.push(victim.name.clone());
        }
        for number in 0..5 {
            let mut durable = item(
                &format!("durable item {cycle}-{number}"),
                "2025-01-06",
                &["USA"],
                &["KOR"],
                pb::EventType::Consult,
            );
            durable.trip = "trips/final-trip".into();
            durable.participants = vec!["officials/antony-blinken".into()];
            let created = agenda
                .create_agenda_item(pb::CreateAgendaItemRequest {
                    agenda_item: Some(durable),
                    agenda_item_id: format!("item-{cycle}-{number}"),
                })
                .await
                .expect("create item")
                .into_inner();
            expected_items.push(created);
        }
        let imported = agenda
            .import_agenda_items(tokio_stream::iter((0..50).map(move |number| {
                pb::ImportAgendaItemsRequest {
                    agenda_item: Some(item(
                        &format!("durable import {number}"),
                        "2025-01-07",
                        &["JPN"],
                        &["USA"],
                        pb::EventType::Agree,
                    )),
                    agenda_item_id: format!("import-{cycle}-{number}"),
                }
            })))
            .await
            .expect("import")
            .into_inner();
        assert_eq!(imported.imported_count, 50);
        for number in 0..50 {
            let read = agenda
                .get_agenda_item(pb::GetAgendaItemRequest {
                    name: format!("agendaItems/import-{cycle}-{number}"),
                })
                .await
                .expect("imported item");
            expected_items.push(read.into_inner());
        }
        server.kill_hard();
    }
    drop(database);
}

/// After a clean stop the SQLite file alone is the whole store: the write-ahead log was
/// copied into it, so an operator who copies `briefing.db` (without `-wal`) loses nothing.
#[tokio::test]
async fn after_a_clean_stop_the_database_file_alone_holds_everything() {
    if crate::BACKEND != crate::helpers::Backend::Sqlite {
        return; // PostgreSQL keeps no file of ours.
    }
    let (database, url) = fresh_database().await;
    let app = crate::helpers::spawn_app_with(&url, false).await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    app.create_trip("final-trip", final_trip("officials/antony-blinken"))
        .await;
    app.stop().await;

    let file = database.directory().join("briefing.db");
    let log = database.directory().join("briefing.db-wal");
    let log_bytes = std::fs::metadata(&log).map_or(0, |metadata| metadata.len());
    assert_eq!(
        log_bytes, 0,
        "the write-ahead log is empty after a clean stop"
    );
    let copy = tempfile::tempdir().expect("temporary directory");
    let copied = copy.path().join("copy.db");
    std::fs::copy(&file, &copied).expect("copy the database file alone");
    let app =
        crate::helpers::spawn_app_with(&format!("sqlite://{}", copied.display()), false).await;
    let trip = app
        .get_trip("trips/final-trip")
        .await
        .expect("the copy holds the trip");
    assert_eq!(trip.title, "Final trip: Seoul, Tokyo, Paris");
    app.stop().await;
}
