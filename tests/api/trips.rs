//! TripService: every method, field masks, etags, derived state and the delete guard.

use briefing::api::pb;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::helpers::{
    assert_invalid, assert_status, final_trip, item, leg, mask, official, source, spawn_app, trip,
};

#[tokio::test]
async fn a_created_trip_reads_back_as_sent() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    let mut sent = final_trip("officials/antony-blinken");
    sent.sources = vec![source(
        "https://www.state.gov/trip",
        "U.S. Department of State",
    )];
    sent.notes = "dates of the Tokyo leg are not in the article".into();
    sent.name = "trips/ignored-on-create".into();

    let created = app.create_trip("final-trip", sent.clone()).await;

    assert_eq!(created.name, "trips/final-trip");
    assert_eq!(created.title, sent.title);
    assert_eq!(created.traveler, sent.traveler);
    assert_eq!(created.purpose, sent.purpose);
    assert_eq!(created.legs, sent.legs);
    assert_eq!(created.sources, sent.sources);
    assert_eq!(created.notes, sent.notes);
    assert!(!created.cancelled);
    assert_eq!(
        created.state(),
        pb::TripState::Completed,
        "January 2025 is over"
    );
    assert!(created.create_time.is_some() && created.update_time == created.create_time);
    assert!(!created.etag.is_empty());
    let read = app.get_trip("trips/final-trip").await.expect("get trip");
    assert_eq!(read, created);
    let status = app
        .get_trip("trips/ignored-on-create")
        .await
        .expect_err("name on create is ignored");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn the_server_chooses_an_id_when_the_client_does_not() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    let first = app
        .create_trip("", final_trip("officials/antony-blinken"))
        .await;
    let second = app
        .create_trip("", final_trip("officials/antony-blinken"))
        .await;
    assert_ne!(first.name, second.name);
    for created in [&first, &second] {
        let id = created.name.strip_prefix("trips/").expect("a trip name");
        assert!(
            (1..=63).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "generated id {id:?} follows the id rules"
        );
        assert_eq!(&app.get_trip(&created.name).await.expect("get"), created);
    }
}

#[tokio::test]
async fn state_follows_the_dates_unless_cancelled() {
    let app = spawn_app().await;
    app.create_official("traveler", official("Traveler", "USA"))
        .await;
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| {
        (today + chrono::Duration::days(offset))
            .format("%Y-%m-%d")
            .to_string()
    };
    let cases = [
        ("past", day(-30), day(-20), pb::TripState::Completed),
        ("future", day(20), day(30), pb::TripState::Planned),
        // A day of margin on each side, so every time zone is inside the trip.
        ("now", day(-2), day(2), pb::TripState::InProgress),
    ];
    for (id, start, end, expected) in cases {
        let sent = trip(
            id,
            "officials/traveler",
            vec![leg("KOR", "Seoul", &start, &end, "Asia/Seoul")],
        );
        let created = app.create_trip(id, sent).await;
        assert_eq!(created.state(), expected, "trip {id} from {start} to {end}");
    }
    let mut cancelled = trip(
        "cancelled",
        "officials/traveler",
        vec![leg("KOR", "Seoul", &day(20), &day(30), "Asia/Seoul")],
    );
    cancelled.cancelled = true;
    assert_eq!(
        app.create_trip("cancelled", cancelled).await.state(),
        pb::TripState::Cancelled
    );
}

#[tokio::test]
async fn creating_an_existing_id_is_already_exists_and_keeps_the_first() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    let first = app
        .create_trip("final-trip", final_trip("officials/antony-blinken"))
        .await;
    let mut again = final_trip("officials/antony-blinken");
    again.title = "Another title".into();
    let status = app
        .trips
        .clone()
        .create_trip(pb::CreateTripRequest {
            trip: Some(again),
            trip_id: "final-trip".into(),
        })
        .await
        .expect_err("duplicate id");
    assert_status(&status, Code::AlreadyExists, "RESOURCE_ALREADY_EXISTS");
    let info = status
        .get_error_details()
        .resource_info()
        .cloned()
        .expect("ResourceInfo");
    assert_eq!(info.resource_name, "trips/final-trip");
    assert_eq!(app.get_trip("trips/final-trip").await.expect("get"), first);
}

#[tokio::test]
async fn a_missing_trip_is_not_found() {
    let app = spawn_app().await;
    let status = app.get_trip("trips/nowhere").await.expect_err("missing");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    let info = status
        .get_error_details()
        .resource_info()
        .cloned()
        .expect("ResourceInfo");
    assert_eq!(
        (info.resource_type.as_str(), info.resource_name.as_str()),
        ("briefing.v1.Trip", "trips/nowhere")
    );

    let mut update = final_trip("officials/nobody");
    update.name = "trips/nowhere".into();
    let status = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(update),
            update_mask: mask(&["title"]),
        })
        .await
        .expect_err("update of a missing trip");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    let status = app
        .trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: "trips/nowhere".into(),
            ..Default::default()
        })
        .await
        .expect_err("delete of a missing trip");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn an_empty_mask_updates_the_populated_fields_only() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.get_trip(&seed.trip).await.expect("get");
    let patch = pb::Trip {
        name: seed.trip.clone(),
        title: "Renamed".into(),
        notes: "added later".into(),
        ..Default::default()
    };
    let updated = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(patch),
            update_mask: None,
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.title, "Renamed");
    assert_eq!(updated.notes, "added later");
    assert_eq!(
        updated.legs, before.legs,
        "legs were not sent, so they stay"
    );
    assert_eq!(updated.purpose, before.purpose);
    assert_eq!(updated.traveler, before.traveler);
    assert_ne!(updated.etag, before.etag, "every write changes the etag");
    assert_eq!(updated.create_time, before.create_time);
    assert_eq!(app.get_trip(&seed.trip).await.expect("get"), updated);
}

#[tokio::test]
async fn a_star_mask_replaces_the_whole_trip() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let replacement = pb::Trip {
        name: seed.trip.clone(),
        title: "Only Seoul".into(),
        traveler: seed.traveler.clone(),
        legs: vec![leg(
            "KOR",
            "Seoul",
            "2025-01-05",
            "2025-01-06",
            "Asia/Seoul",
        )],
        ..Default::default()
    };
    let updated = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(replacement),
            update_mask: mask(&["*"]),
        })
        .await
        .expect("replace")
        .into_inner();
    assert_eq!(updated.title, "Only Seoul");
    assert_eq!(updated.legs.len(), 1);
    assert_eq!(
        updated.purpose, "",
        "a field left out of a `*` update is cleared"
    );
}

#[tokio::test]
async fn named_paths_update_only_those_fields() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.get_trip(&seed.trip).await.expect("get");
    let patch = pb::Trip {
        name: seed.trip.clone(),
        title: "Not applied: not in the mask".into(),
        purpose: String::new(),
        notes: "applied".into(),
        ..Default::default()
    };
    let updated = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(patch),
            update_mask: mask(&["notes", "purpose"]),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.title, before.title);
    assert_eq!(updated.notes, "applied");
    assert_eq!(updated.purpose, "", "a named field sent empty is cleared");
    assert_eq!(updated.legs, before.legs);
}

#[tokio::test]
async fn an_unknown_mask_path_is_invalid_and_writes_nothing() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.snapshot().await;
    for (paths, field) in [
        (vec!["color"], "update_mask.paths[0]"),
        (vec!["title", "legs.city"], "update_mask.paths[1]"),
        (vec!["*", "title"], "update_mask"),
    ] {
        let patch = pb::Trip {
            name: seed.trip.clone(),
            title: "New".into(),
            ..Default::default()
        };
        let status = app
            .trips
            .clone()
            .update_trip(pb::UpdateTripRequest {
                trip: Some(patch),
                update_mask: mask(&paths),
            })
            .await
            .expect_err("bad mask");
        assert_invalid(&status, field);
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_the_current_one_is_accepted() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let original = app.get_trip(&seed.trip).await.expect("get");
    let first = pb::Trip {
        name: seed.trip.clone(),
        title: "First writer".into(),
        etag: original.etag.clone(),
        ..Default::default()
    };
    let after_first = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(first),
            update_mask: None,
        })
        .await
        .expect("update with the current etag")
        .into_inner();

    let second = pb::Trip {
        name: seed.trip.clone(),
        title: "Second writer, who read before the first wrote".into(),
        etag: original.etag.clone(),
        ..Default::default()
    };
    let status = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(second),
            update_mask: None,
        })
        .await
        .expect_err("stale etag");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(app.get_trip(&seed.trip).await.expect("get"), after_first);

    let status = app
        .trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: seed.trip.clone(),
            force: true,
            etag: original.etag,
        })
        .await
        .expect_err("delete with a stale etag");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    app.trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: seed.trip.clone(),
            force: true,
            etag: after_first.etag,
        })
        .await
        .expect("delete with the current etag");
    assert_eq!(
        app.get_trip(&seed.trip).await.expect_err("deleted").code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn a_trip_with_agenda_items_is_deleted_only_with_force() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.snapshot().await;
    let status = app
        .trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: seed.trip.clone(),
            ..Default::default()
        })
        .await
        .expect_err("referenced trip");
    assert_status(&status, Code::FailedPrecondition, "RESOURCE_IN_USE");
    let failure = status
        .get_error_details()
        .precondition_failure()
        .cloned()
        .expect("PreconditionFailure");
    assert_eq!(failure.violations[0].subject, seed.trip);
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused delete removes nothing"
    );

    app.trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: seed.trip.clone(),
            force: true,
            ..Default::default()
        })
        .await
        .expect("forced delete");
    assert_eq!(
        app.get_trip(&seed.trip).await.expect_err("gone").code(),
        Code::NotFound
    );
    assert_eq!(
        app.get_item(&seed.item)
            .await
            .expect_err("its items are gone too")
            .code(),
        Code::NotFound
    );
    let status = app
        .trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: seed.trip.clone(),
            ..Default::default()
        })
        .await
        .expect_err("second delete");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn a_trip_without_agenda_items_is_deleted_without_force() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    app.create_trip("lonely", final_trip("officials/antony-blinken"))
        .await;
    app.trips
        .clone()
        .delete_trip(pb::DeleteTripRequest {
            name: "trips/lonely".into(),
            ..Default::default()
        })
        .await
        .expect("delete");
    assert_eq!(
        app.get_trip("trips/lonely").await.expect_err("gone").code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn dropping_a_leg_that_agenda_items_use_is_refused() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let mut on_paris = item(
        "Paris talks",
        "2025-01-08",
        &["USA"],
        &["FRA"],
        pb::EventType::Consult,
    );
    on_paris.trip = seed.trip.clone();
    on_paris.leg = Some(2);
    app.create_item("paris-talks", on_paris).await;
    let before = app.snapshot().await;
    let patch = pb::Trip {
        name: seed.trip.clone(),
        legs: vec![leg(
            "KOR",
            "Seoul",
            "2025-01-05",
            "2025-01-06",
            "Asia/Seoul",
        )],
        ..Default::default()
    };
    let status = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(patch),
            update_mask: mask(&["legs"]),
        })
        .await
        .expect_err("leg 2 is used");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn an_update_to_an_unknown_traveler_is_invalid() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.snapshot().await;
    let patch = pb::Trip {
        name: seed.trip.clone(),
        traveler: "officials/nobody".into(),
        ..Default::default()
    };
    let status = app
        .trips
        .clone()
        .update_trip(pb::UpdateTripRequest {
            trip: Some(patch),
            update_mask: None,
        })
        .await
        .expect_err("unknown traveler");
    assert_invalid(&status, "trip.traveler");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn list_trips_filters_by_traveler_country_and_dates() {
    let app = spawn_app().await;
    app.create_official("blinken", official("Antony Blinken", "USA"))
        .await;
    app.create_official("rubio", official("Marco Rubio", "USA"))
        .await;
    let trips = [
        (
            "asia",
            "officials/blinken",
            vec![
                leg("KOR", "Seoul", "2025-01-05", "2025-01-06", "Asia/Seoul"),
                leg("JPN", "Tokyo", "2025-01-06", "2025-01-07", "Asia/Tokyo"),
            ],
        ),
        (
            "paris",
            "officials/blinken",
            vec![leg(
                "FRA",
                "Paris",
                "2025-01-08",
                "2025-01-08",
                "Europe/Paris",
            )],
        ),
        (
            "panama",
            "officials/rubio",
            vec![leg(
                "PAN",
                "Panama City",
                "2025-02-01",
                "2025-02-02",
                "America/Panama",
            )],
        ),
        (
            "tokyo-later",
            "officials/rubio",
            vec![leg(
                "JPN",
                "Tokyo",
                "2025-03-01",
                "2025-03-03",
                "Asia/Tokyo",
            )],
        ),
    ];
    for (id, traveler, legs) in trips {
        app.create_trip(id, trip(id, traveler, legs)).await;
    }
    let names = |found: Vec<pb::Trip>| found.into_iter().map(|trip| trip.name).collect::<Vec<_>>();
    let cases: Vec<(pb::ListTripsRequest, Vec<&str>)> = vec![
        (
            pb::ListTripsRequest::default(),
            vec!["asia", "paris", "panama", "tokyo-later"],
        ),
        (
            pb::ListTripsRequest {
                traveler: "officials/blinken".into(),
                ..Default::default()
            },
            vec!["asia", "paris"],
        ),
        (
            pb::ListTripsRequest {
                country: "JPN".into(),
                ..Default::default()
            },
            vec!["asia", "tokyo-later"],
        ),
        (
            pb::ListTripsRequest {
                country: "JPN".into(),
                traveler: "officials/rubio".into(),
                ..Default::default()
            },
            vec!["tokyo-later"],
        ),
        (
            pb::ListTripsRequest {
                country: "DEU".into(),
                ..Default::default()
            },
            vec![],
        ),
        // A trip matches a date range when one of its days lies inside it.
        (
            pb::ListTripsRequest {
                from_date: "2025-01-07".into(),
                to_date: "2025-01-08".into(),
                ..Default::default()
            },
            vec!["asia", "paris"],
        ),
        (
            pb::ListTripsRequest {
                from_date: "2025-02-02".into(),
                ..Default::default()
            },
            vec!["panama", "tokyo-later"],
        ),
        (
            pb::ListTripsRequest {
                to_date: "2025-01-05".into(),
                ..Default::default()
            },
            vec!["asia"],
        ),
    ];
    for (request, expected) in cases {
        let expected: Vec<String> = expected.iter().map(|id| format!("trips/{id}")).collect();
        for page_size in [0, 1, 3] {
            let found = names(
                app.all_trips(pb::ListTripsRequest {
                    page_size,
                    ..request.clone()
                })
                .await,
            );
            assert_eq!(
                found, expected,
                "ListTrips {request:?} with page size {page_size}"
            );
        }
    }
}
