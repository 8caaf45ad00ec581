//! `serve --demo`: the seed article as data, and the questions a reader of it would ask. The
//! expected answers are worked out here from the demo file itself, not copied from the server.

use std::collections::BTreeSet;

use briefing::api::pb;
use serde_json::Value;

use crate::helpers::{fresh_database, official, spawn_app_with, spawn_demo_app};

fn demo_records() -> Vec<Value> {
    serde_json::from_str(briefing::import::DEMO_DATA).expect("the demo data is a JSON array")
}

/// `(name, record)` of every demo record of `kind` (`official`, `trip`, `agenda_item`).
fn demo(kind: &str, collection: &str) -> Vec<(String, Value)> {
    demo_records()
        .into_iter()
        .filter_map(|record| {
            let body = record.get(kind)?.clone();
            let id = record["id"].as_str().expect("demo records have ids");
            Some((format!("{collection}/{id}"), body))
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[tokio::test]
async fn demo_serves_the_whole_seed_data_set() {
    let app = spawn_demo_app().await;
    let snapshot = app.snapshot().await;
    let names = |kind, collection| {
        demo(kind, collection)
            .into_iter()
            .map(|(name, _)| name)
            .collect::<BTreeSet<_>>()
    };
    let stored = |listed: &[(String, String)]| {
        listed
            .iter()
            .map(|(name, _)| name.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(stored(&snapshot.officials), names("official", "officials"));
    assert_eq!(stored(&snapshot.trips), names("trip", "trips"));
    assert_eq!(
        stored(&snapshot.agenda_items),
        names("agenda_item", "agendaItems")
    );
    assert!(
        snapshot.agenda_items.len() >= 14,
        "the article's items are there"
    );
}

#[tokio::test]
async fn the_final_trip_goes_to_seoul_tokyo_and_paris_in_january_2025() {
    let app = spawn_demo_app().await;
    let trip = app
        .get_trip("trips/blinken-final-trip-2025-01")
        .await
        .expect("the demo trip");
    assert_eq!(trip.traveler, "officials/antony-blinken");
    let stops: Vec<(&str, &str, &str)> = trip
        .legs
        .iter()
        .map(|leg| {
            (
                leg.country.as_str(),
                leg.city.as_str(),
                leg.time_zone.as_str(),
            )
        })
        .collect();
    assert_eq!(
        stops,
        [
            ("KOR", "Seoul", "Asia/Seoul"),
            ("JPN", "Tokyo", "Asia/Tokyo"),
            ("FRA", "Paris", "Europe/Paris")
        ]
    );
    assert!(
        trip.legs
            .iter()
            .all(|leg| leg.start_date.starts_with("2025-01-")
                && leg.end_date.starts_with("2025-01-"))
    );
    assert_eq!(trip.state(), pb::TripState::Completed);
    let korea = app
        .all_trips(pb::ListTripsRequest {
            country: "KOR".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(korea.len(), 1);
}

#[tokio::test]
async fn korea_has_a_suspended_president_and_an_acting_one() {
    let app = spawn_demo_app().await;
    let yoon = app
        .get_official("officials/yoon-suk-yeol")
        .await
        .expect("Yoon");
    let president = yoon
        .roles
        .iter()
        .find(|role| role.title == "President")
        .expect("president role");
    assert_eq!(president.state(), pb::RoleState::Suspended);

    let han = app
        .get_official("officials/han-duck-soo")
        .await
        .expect("Han");
    let prime_minister = han
        .roles
        .iter()
        .find(|role| role.title == "Prime Minister")
        .expect("prime minister role");
    assert_eq!(
        prime_minister.state(),
        pb::RoleState::Suspended,
        "impeached"
    );
    assert!(
        han.roles
            .iter()
            .any(|role| role.acting && role.state() == pb::RoleState::Ended),
        "formerly acting president"
    );

    let choi = app
        .get_official("officials/choi-sang-mok")
        .await
        .expect("Choi");
    assert!(
        choi.roles
            .iter()
            .any(|role| role.title.contains("Finance") && role.state() == pb::RoleState::Active)
    );
    assert!(choi.roles.iter().any(|role| role.acting
        && role.title.contains("President")
        && role.state() == pb::RoleState::Active));

    let korean: Vec<String> = app
        .all_officials(pb::ListOfficialsRequest {
            country: "KOR".into(),
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|official| official.name)
        .collect();
    let expected: Vec<String> = demo("official", "officials")
        .into_iter()
        .filter(|(_, body)| body["country"] == "KOR")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(korean, expected);
    let acting = app
        .all_officials(pb::ListOfficialsRequest {
            query: "acting president".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(acting.len(), 2, "Han was and Choi is acting president");
}

#[tokio::test]
async fn agenda_items_in_korea_are_those_with_korea_on_either_side() {
    let app = spawn_demo_app().await;
    let found: Vec<String> = app
        .all_items(pb::ListAgendaItemsRequest {
            country: "KOR".into(),
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|item| item.name)
        .collect();
    let expected: Vec<String> = demo("agenda_item", "agendaItems")
        .into_iter()
        .filter(|(_, body)| {
            strings(&body["actors"])
                .iter()
                .chain(&strings(&body["recipients"]))
                .any(|actor| actor.starts_with("KOR"))
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        expected.len() >= 4,
        "the Seoul leg and the Korean context items"
    );
    assert_eq!(found, expected);
}

#[tokio::test]
async fn full_text_search_for_alliance_finds_every_item_that_says_it() {
    let app = spawn_demo_app().await;
    let found: BTreeSet<String> = app
        .all_items(pb::ListAgendaItemsRequest {
            query: "alliance".into(),
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|item| item.name)
        .collect();
    let expected: BTreeSet<String> = demo("agenda_item", "agendaItems")
        .into_iter()
        .filter(|(_, body)| {
            let text = format!(
                "{} {}",
                body["title"].as_str().unwrap_or(""),
                body["summary"].as_str().unwrap_or("")
            );
            words(&text).contains("alliance")
        })
        .map(|(name, _)| name)
        .collect();
    assert!(
        expected.len() >= 3,
        "the article speaks of alliances more than twice"
    );
    assert_eq!(found, expected);

    let trip_items = app
        .all_items(pb::ListAgendaItemsRequest {
            trip: "trips/blinken-final-trip-2025-01".into(),
            query: "trilateral".into(),
            ..Default::default()
        })
        .await;
    assert!(
        !trip_items.is_empty()
            && trip_items
                .iter()
                .all(|item| item.trip == "trips/blinken-final-trip-2025-01")
    );
}

#[tokio::test]
async fn demo_data_is_loaded_once_and_only_into_an_empty_store() {
    let (database, url) = fresh_database().await;
    let first = spawn_app_with(&url, true).await;
    let loaded = first.snapshot().await;
    first.stop().await;
    let again = spawn_app_with(&url, true).await;
    assert_eq!(
        again.snapshot().await,
        loaded,
        "a restart with --demo changes nothing"
    );
    again.stop().await;

    let (other_database, other_url) = fresh_database().await;
    let own = spawn_app_with(&other_url, false).await;
    own.create_official("mine", official("Mine", "USA")).await;
    own.stop().await;
    let with_demo = spawn_app_with(&other_url, true).await;
    let snapshot = with_demo.snapshot().await;
    assert_eq!(
        snapshot.officials.len(),
        1,
        "demo data never mixes into a store that holds data"
    );
    assert!(snapshot.trips.is_empty() && snapshot.agenda_items.is_empty());
    drop((database, other_database));
}
