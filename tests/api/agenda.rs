//! AgendaService: PLOVER types and intensities, references to trips and officials, every filter
//! against an independent reading of the same data, and indexes that follow updates and deletes.

use briefing::api::pb;
use tonic::Code;

use crate::helpers::{TestApp, assert_invalid, assert_status, item, mask, source, spawn_app};

/// The design's PLOVER table: type, score, quad class.
const PLOVER: [(pb::EventType, f64, pb::QuadClass); 16] = [
    (pb::EventType::Agree, 2.5, pb::QuadClass::VerbalCooperation),
    (
        pb::EventType::Consult,
        2.5,
        pb::QuadClass::VerbalCooperation,
    ),
    (
        pb::EventType::Support,
        5.0,
        pb::QuadClass::VerbalCooperation,
    ),
    (
        pb::EventType::Concede,
        4.5,
        pb::QuadClass::VerbalCooperation,
    ),
    (
        pb::EventType::Cooperate,
        9.5,
        pb::QuadClass::MaterialCooperation,
    ),
    (pb::EventType::Aid, 10.0, pb::QuadClass::MaterialCooperation),
    (
        pb::EventType::Retreat,
        6.5,
        pb::QuadClass::MaterialCooperation,
    ),
    (pb::EventType::Request, 0.0, pb::QuadClass::VerbalConflict),
    (pb::EventType::Accuse, -3.0, pb::QuadClass::VerbalConflict),
    (pb::EventType::Reject, -2.0, pb::QuadClass::VerbalConflict),
    (pb::EventType::Threaten, -3.5, pb::QuadClass::VerbalConflict),
    (
        pb::EventType::Protest,
        -5.0,
        pb::QuadClass::MaterialConflict,
    ),
    (
        pb::EventType::Sanction,
        -6.0,
        pb::QuadClass::MaterialConflict,
    ),
    (
        pb::EventType::Mobilize,
        -5.5,
        pb::QuadClass::MaterialConflict,
    ),
    (pb::EventType::Coerce, -7.0, pb::QuadClass::MaterialConflict),
    (
        pb::EventType::Assault,
        -9.0,
        pb::QuadClass::MaterialConflict,
    ),
];

#[tokio::test]
async fn intensity_defaults_to_the_plover_score_and_quad_class_follows_the_type() {
    let app = spawn_app().await;
    for (position, (event_type, score, quad_class)) in PLOVER.into_iter().enumerate() {
        let id = format!("item-{position}");
        let created = app
            .create_item(
                &id,
                item("An event", "2025-01-06", &["PRK"], &["KOR"], event_type),
            )
            .await;
        assert_eq!(created.event_type(), event_type);
        assert_eq!(
            created.intensity,
            Some(score),
            "default intensity of {event_type:?}"
        );
        assert_eq!(
            created.quad_class(),
            quad_class,
            "quad class of {event_type:?}"
        );
        assert_eq!(app.get_item(&created.name).await.expect("get"), created);
    }
}

#[tokio::test]
async fn an_intensity_override_is_kept_and_can_be_cleared() {
    let app = spawn_app().await;
    let mut threat = item(
        "Missile launch",
        "2025-01-06",
        &["PRKMIL"],
        &["KOR", "JPN"],
        pb::EventType::Threaten,
    );
    threat.intensity = Some(-8.0);
    let created = app.create_item("missile", threat).await;
    assert_eq!(created.intensity, Some(-8.0));
    assert_eq!(created.quad_class(), pb::QuadClass::VerbalConflict);

    let patch = pb::AgendaItem {
        name: created.name.clone(),
        intensity: Some(-10.0),
        ..Default::default()
    };
    let updated = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(patch),
            update_mask: None,
        })
        .await
        .expect("set intensity")
        .into_inner();
    assert_eq!(updated.intensity, Some(-10.0));

    let clear = pb::AgendaItem {
        name: created.name.clone(),
        ..Default::default()
    };
    let cleared = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(clear),
            update_mask: mask(&["intensity"]),
        })
        .await
        .expect("clear intensity")
        .into_inner();
    assert_eq!(cleared.intensity, Some(-3.5), "back to THREATEN's score");

    let retyped = pb::AgendaItem {
        name: created.name.clone(),
        event_type: pb::EventType::Assault.into(),
        ..Default::default()
    };
    let retyped = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(retyped),
            update_mask: mask(&["event_type"]),
        })
        .await
        .expect("change type")
        .into_inner();
    assert_eq!(
        (retyped.intensity, retyped.quad_class()),
        (Some(-9.0), pb::QuadClass::MaterialConflict)
    );
}

#[tokio::test]
async fn a_non_finite_intensity_is_invalid_on_create_and_update() {
    let app = spawn_app().await;
    let created = app
        .create_item(
            "talks",
            item(
                "Talks",
                "2025-01-06",
                &["USA"],
                &["KOR"],
                pb::EventType::Consult,
            ),
        )
        .await;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 10.5] {
        let mut sent = item(
            "Talks",
            "2025-01-06",
            &["USA"],
            &["KOR"],
            pb::EventType::Consult,
        );
        sent.intensity = Some(bad);
        let status = app
            .agenda
            .clone()
            .create_agenda_item(pb::CreateAgendaItemRequest {
                agenda_item: Some(sent),
                agenda_item_id: String::new(),
            })
            .await
            .expect_err("bad intensity on create");
        assert_invalid(&status, "agenda_item.intensity");
        for update_mask in [None, mask(&["intensity"])] {
            let patch = pb::AgendaItem {
                name: created.name.clone(),
                intensity: Some(bad),
                ..Default::default()
            };
            let status = app
                .agenda
                .clone()
                .update_agenda_item(pb::UpdateAgendaItemRequest {
                    agenda_item: Some(patch),
                    update_mask,
                })
                .await
                .expect_err("bad intensity on update");
            assert_invalid(&status, "agenda_item.intensity");
        }
    }
    assert_eq!(
        app.get_item(&created.name).await.expect("get"),
        created,
        "nothing was written"
    );
}

#[tokio::test]
async fn an_item_refers_to_its_trip_leg_and_participants() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let mut sent = item(
        "Ironclad alliance",
        "2025-01-06",
        &["USAGOV"],
        &["KORGOV"],
        pb::EventType::Support,
    );
    sent.summary = "Blinken reaffirms the ironclad alliance".into();
    sent.trip = seed.trip.clone();
    sent.leg = Some(0);
    sent.participants = vec![seed.traveler.clone()];
    sent.mode = "visit".into();
    sent.contexts = vec!["alliance".into(), "indo-pacific".into()];
    sent.sources = vec![source("https://www.state.gov/", "U.S. Department of State")];
    sent.notes = "the date is the day of the press release".into();
    let created = app.create_item("ironclad", sent.clone()).await;
    assert_eq!(created.name, "agendaItems/ironclad");
    for (field, got, expected) in [
        ("title", &created.title, &sent.title),
        ("summary", &created.summary, &sent.summary),
        ("date", &created.date, &sent.date),
        ("trip", &created.trip, &sent.trip),
        ("mode", &created.mode, &sent.mode),
        ("notes", &created.notes, &sent.notes),
    ] {
        assert_eq!(got, expected, "{field}");
    }
    assert_eq!(created.leg, Some(0));
    assert_eq!(created.participants, sent.participants);
    assert_eq!(created.actors, sent.actors);
    assert_eq!(created.recipients, sent.recipients);
    assert_eq!(created.contexts, sent.contexts);
    assert_eq!(created.sources, sent.sources);
    assert_eq!(app.get_item(&created.name).await.expect("get"), created);

    let mut beyond = sent.clone();
    beyond.leg = Some(3);
    let status = app
        .agenda
        .clone()
        .create_agenda_item(pb::CreateAgendaItemRequest {
            agenda_item: Some(beyond),
            agenda_item_id: String::new(),
        })
        .await
        .expect_err("the trip has three legs");
    assert_invalid(&status, "agenda_item.leg");
}

#[tokio::test]
async fn get_update_and_delete_of_a_missing_item_are_not_found() {
    let app = spawn_app().await;
    let status = app.get_item("agendaItems/none").await.expect_err("missing");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    let patch = pb::AgendaItem {
        name: "agendaItems/none".into(),
        title: "x".into(),
        ..Default::default()
    };
    let status = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(patch),
            update_mask: None,
        })
        .await
        .expect_err("missing");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    let status = app
        .agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: "agendaItems/none".into(),
            etag: String::new(),
        })
        .await
        .expect_err("missing");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn a_duplicate_item_id_is_already_exists() {
    let app = spawn_app().await;
    let first = app
        .create_item(
            "talks",
            item(
                "Talks",
                "2025-01-06",
                &["USA"],
                &["KOR"],
                pb::EventType::Consult,
            ),
        )
        .await;
    let status = app
        .agenda
        .clone()
        .create_agenda_item(pb::CreateAgendaItemRequest {
            agenda_item: Some(item(
                "Other",
                "2025-01-07",
                &["USA"],
                &["JPN"],
                pb::EventType::Agree,
            )),
            agenda_item_id: "talks".into(),
        })
        .await
        .expect_err("duplicate");
    assert_status(&status, Code::AlreadyExists, "RESOURCE_ALREADY_EXISTS");
    assert_eq!(app.get_item(&first.name).await.expect("get"), first);
}

#[tokio::test]
async fn masks_and_etags_work_on_items_too() {
    let app = spawn_app().await;
    let created = app
        .create_item(
            "talks",
            item(
                "Talks",
                "2025-01-06",
                &["USA"],
                &["KOR"],
                pb::EventType::Consult,
            ),
        )
        .await;
    let patch = pb::AgendaItem {
        name: created.name.clone(),
        summary: "Discussed extended deterrence".into(),
        contexts: vec!["military".into()],
        etag: created.etag.clone(),
        ..Default::default()
    };
    let updated = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(patch.clone()),
            update_mask: None,
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        (updated.title.as_str(), updated.summary.as_str()),
        ("Talks", "Discussed extended deterrence")
    );
    assert_eq!(updated.contexts, ["military"]);
    assert_eq!(updated.actors, created.actors);

    let status = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(patch),
            update_mask: None,
        })
        .await
        .expect_err("stale etag");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");

    let status = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(pb::AgendaItem {
                name: created.name.clone(),
                ..Default::default()
            }),
            update_mask: mask(&["quad_class", "severity"]),
        })
        .await
        .expect_err("unknown path");
    assert_invalid(&status, "update_mask.paths[1]");

    let status = app
        .agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: created.name.clone(),
            etag: created.etag.clone(),
        })
        .await
        .expect_err("stale etag on delete");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    app.agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: created.name.clone(),
            etag: updated.etag,
        })
        .await
        .expect("delete");
    assert_eq!(
        app.get_item(&created.name)
            .await
            .expect_err("deleted")
            .code(),
        Code::NotFound
    );
}

const COUNTRIES: [&str; 8] = ["USA", "KOR", "JPN", "FRA", "PRK", "CHN", "RUS", "UKR"];
const SECTORS: [&str; 3] = ["", "GOV", "MIL"];
const CONTEXTS: [&str; 4] = ["military", "diplomatic", "economic", "indo-pacific"];
const TOPICS: [&str; 5] = ["alliance", "missile", "summit", "sanctions", "deterrence"];

/// Forty varied items on the seeded trip and officials, created in this order.
async fn varied_items(app: &TestApp) -> Vec<pb::AgendaItem> {
    let seed = app.seed().await;
    let mut created = vec![app.get_item(&seed.item).await.expect("seeded item")];
    for index in 0..40_usize {
        let actor = format!("{}{}", COUNTRIES[index % 8], SECTORS[index % 3]);
        let recipient = COUNTRIES[(index * 3 + 1) % 8];
        let event_type = PLOVER[index % 16].0;
        let mut sent = item(
            &format!("{} talks number {index}", TOPICS[index % 5]),
            &format!("2025-01-{:02}", 1 + index % 28),
            &[&actor],
            &[recipient],
            event_type,
        );
        sent.summary = format!(
            "On {}, with extended deterrence{}",
            TOPICS[(index + 2) % 5],
            if index % 4 == 0 {
                " and military drills"
            } else {
                ""
            }
        );
        sent.contexts = CONTEXTS
            .iter()
            .enumerate()
            .filter(|(bit, _)| index & (1 << bit) != 0)
            .map(|(_, context)| (*context).to_owned())
            .collect();
        if index % 3 == 0 {
            sent.trip = seed.trip.clone();
            sent.leg = Some(i32::try_from((index / 3) % 3).expect("small"));
        }
        if index % 4 == 0 {
            sent.participants.push(seed.traveler.clone());
        }
        if index % 5 == 0 {
            sent.participants.push(seed.host.clone());
        }
        created.push(app.create_item(&format!("item-{index:02}"), sent).await);
    }
    created
}

/// The lowercase letter-and-digit runs of a text, as the full-text index splits it.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn country_of(actor: &str) -> &str {
    &actor[..3]
}

/// Which items a request selects, worked out here from the items themselves.
fn expected(items: &[pb::AgendaItem], request: &pb::ListAgendaItemsRequest) -> Vec<String> {
    items
        .iter()
        .filter(|item| request.trip.is_empty() || item.trip == request.trip)
        .filter(|item| {
            request.country.is_empty()
                || item
                    .actors
                    .iter()
                    .chain(&item.recipients)
                    .any(|actor| country_of(actor) == request.country)
        })
        .filter(|item| request.official.is_empty() || item.participants.contains(&request.official))
        .filter(|item| request.event_type == 0 || item.event_type == request.event_type)
        .filter(|item| request.context.is_empty() || item.contexts.contains(&request.context))
        .filter(|item| request.from_date.is_empty() || item.date >= request.from_date)
        .filter(|item| request.to_date.is_empty() || item.date <= request.to_date)
        .filter(|item| request.query.is_empty() || matches_query(item, &request.query))
        .map(|item| item.name.clone())
        .collect()
}

/// Words, `prefix*` and one `"quoted phrase"`: every term must match, a phrase within one field.
fn matches_query(item: &pb::AgendaItem, query: &str) -> bool {
    let fields = [words(&item.title), words(&item.summary)];
    let (phrase, rest) = match query.split_once('"') {
        Some((before, after)) => {
            let (inside, outside) = after.split_once('"').expect("closed quote");
            (Some(words(inside)), format!("{before} {outside}"))
        }
        None => (None, query.to_owned()),
    };
    let phrase_matches = phrase.is_none_or(|phrase| {
        fields.iter().any(|field| {
            field
                .windows(phrase.len())
                .any(|window| window == phrase.as_slice())
        })
    });
    phrase_matches
        && rest.split_whitespace().all(|term| {
            let (word, prefix) = match term.strip_suffix('*') {
                Some(stem) => (stem.to_lowercase(), true),
                None => (term.to_lowercase(), false),
            };
            fields.iter().flatten().any(|token| {
                if prefix {
                    token.starts_with(&word)
                } else {
                    *token == word
                }
            })
        })
}

#[tokio::test]
async fn every_filter_selects_exactly_the_matching_items_in_a_stable_order() {
    let app = spawn_app().await;
    let items = varied_items(&app).await;
    let requests = [
        pb::ListAgendaItemsRequest::default(),
        pb::ListAgendaItemsRequest {
            trip: "trips/final-trip".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            country: "KOR".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            country: "PRK".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            country: "DEU".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            official: "officials/antony-blinken".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            official: "officials/cho-tae-yul".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            event_type: pb::EventType::Threaten.into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            event_type: pb::EventType::Consult.into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            context: "military".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            context: "indo-pacific".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            from_date: "2025-01-10".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            to_date: "2025-01-05".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            from_date: "2025-01-06".into(),
            to_date: "2025-01-06".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "alliance".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "ALLIANCE missile".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "milit*".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "\"extended deterrence\" summit".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "\"deterrence extended\"".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            query: "nothing-like-this".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            country: "USA".into(),
            event_type: pb::EventType::Consult.into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            country: "KOR".into(),
            official: "officials/antony-blinken".into(),
            context: "military".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            trip: "trips/final-trip".into(),
            from_date: "2025-01-04".into(),
            to_date: "2025-01-20".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            context: "diplomatic".into(),
            query: "sanctions".into(),
            ..Default::default()
        },
        pb::ListAgendaItemsRequest {
            official: "officials/cho-tae-yul".into(),
            query: "deter*".into(),
            country: "RUS".into(),
            ..Default::default()
        },
    ];
    let mut selective = 0;
    for request in requests {
        let expected = expected(&items, &request);
        if !expected.is_empty() && expected.len() < items.len() {
            selective += 1;
        }
        for page_size in [0, 4] {
            let found: Vec<String> = app
                .all_items(pb::ListAgendaItemsRequest {
                    page_size,
                    ..request.clone()
                })
                .await
                .into_iter()
                .map(|item| item.name)
                .collect();
            assert_eq!(
                found, expected,
                "ListAgendaItems {request:?} with page size {page_size}"
            );
        }
    }
    assert!(
        selective >= 15,
        "the data set exercises the filters: only {selective} requests picked some items"
    );
}

#[tokio::test]
async fn updates_and_deletes_keep_filters_and_search_in_step() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let list = |request: pb::ListAgendaItemsRequest| {
        let app = &app;
        async move {
            app.all_items(request)
                .await
                .into_iter()
                .map(|item| item.name)
                .collect::<Vec<_>>()
        }
    };
    let by_korea = pb::ListAgendaItemsRequest {
        country: "KOR".into(),
        ..Default::default()
    };
    let by_japan = pb::ListAgendaItemsRequest {
        country: "JPN".into(),
        ..Default::default()
    };
    let by_host = pb::ListAgendaItemsRequest {
        official: seed.host.clone(),
        ..Default::default()
    };
    let by_context = pb::ListAgendaItemsRequest {
        context: "trilateral".into(),
        ..Default::default()
    };
    let old_words = pb::ListAgendaItemsRequest {
        query: "seoul".into(),
        ..Default::default()
    };
    let new_words = pb::ListAgendaItemsRequest {
        query: "tokyo".into(),
        ..Default::default()
    };
    let just_the_item = vec![seed.item.clone()];
    assert_eq!(list(by_korea.clone()).await, just_the_item);
    assert_eq!(list(by_host.clone()).await, just_the_item);
    assert_eq!(list(old_words.clone()).await, just_the_item);

    let patch = pb::AgendaItem {
        name: seed.item.clone(),
        title: "Talks in Tokyo".into(),
        recipients: vec!["JPNGOV".into()],
        participants: vec![seed.traveler.clone()],
        contexts: vec!["trilateral".into()],
        trip: seed.trip.clone(),
        leg: Some(1),
        ..Default::default()
    };
    app.agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(patch),
            update_mask: None,
        })
        .await
        .expect("update");
    assert!(list(by_korea).await.is_empty());
    assert!(list(by_host).await.is_empty());
    assert!(list(old_words).await.is_empty());
    assert_eq!(list(by_japan.clone()).await, just_the_item);
    assert_eq!(list(by_context.clone()).await, just_the_item);
    assert_eq!(list(new_words.clone()).await, just_the_item);

    app.agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: seed.item.clone(),
            etag: String::new(),
        })
        .await
        .expect("delete");
    for request in [
        by_japan,
        by_context,
        new_words,
        pb::ListAgendaItemsRequest::default(),
    ] {
        assert!(
            list(request.clone()).await.is_empty(),
            "{request:?} after the delete"
        );
    }
}
