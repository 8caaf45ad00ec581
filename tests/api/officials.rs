//! OfficialService: roles that are acting, suspended or ended; filters; masks; the delete guard.

use briefing::api::pb;
use tonic::Code;

use crate::helpers::{assert_status, final_trip, item, mask, official, role, spawn_app};

/// Han Duck-soo as the seed article has him: prime minister, impeached while acting president.
fn han_duck_soo() -> pb::Official {
    let mut prime_minister = role("Prime Minister", "2022-05-21");
    prime_minister.state = pb::RoleState::Suspended.into();
    prime_minister.state_date = "2024-12-27".into();
    prime_minister.note = "impeached by the National Assembly".into();
    let mut acting_president = role("Acting President", "2024-12-14");
    acting_president.acting = true;
    acting_president.end_date = "2024-12-27".into();
    acting_president.state = pb::RoleState::Ended.into();
    pb::Official {
        display_name: "Han Duck-soo".into(),
        aliases: vec!["Han Deok-su".into()],
        country: "KOR".into(),
        wikidata_id: "Q485580".into(),
        roles: vec![prime_minister, acting_president],
        ..Default::default()
    }
}

#[tokio::test]
async fn an_official_with_roles_reads_back_as_sent() {
    let app = spawn_app().await;
    let sent = han_duck_soo();
    let created = app.create_official("han-duck-soo", sent.clone()).await;
    assert_eq!(created.name, "officials/han-duck-soo");
    assert_eq!(created.display_name, sent.display_name);
    assert_eq!(created.aliases, sent.aliases);
    assert_eq!(created.country, "KOR");
    assert_eq!(created.wikidata_id, sent.wikidata_id);
    assert_eq!(created.roles, sent.roles);
    assert!(!created.etag.is_empty() && created.create_time.is_some());
    assert_eq!(
        app.get_official("officials/han-duck-soo")
            .await
            .expect("get"),
        created
    );
}

#[tokio::test]
async fn a_role_state_left_unset_follows_the_end_date() {
    let app = spawn_app().await;
    let mut ended = role("Minister", "2020-01-01");
    ended.end_date = "2021-01-01".into();
    let current = role("Minister of Economy and Finance", "2023-12-29");
    let mut choi = official("Choi Sang-mok", "KOR");
    choi.roles = vec![ended, current];
    let created = app.create_official("choi-sang-mok", choi).await;
    assert_eq!(created.roles[0].state(), pb::RoleState::Ended);
    assert_eq!(created.roles[1].state(), pb::RoleState::Active);
}

#[tokio::test]
async fn list_officials_filters_by_country_and_text() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    app.create_official("han-duck-soo", han_duck_soo()).await;
    let mut choi = official("Choi Sang-mok", "KOR");
    let mut acting = role("Acting President", "2024-12-27");
    acting.acting = true;
    choi.roles = vec![acting];
    app.create_official("choi-sang-mok", choi).await;
    app.create_official("yoon-suk-yeol", official("Yoon Suk-yeol", "KOR"))
        .await;

    let cases: Vec<(pb::ListOfficialsRequest, Vec<&str>)> = vec![
        (
            pb::ListOfficialsRequest::default(),
            vec![
                "antony-blinken",
                "han-duck-soo",
                "choi-sang-mok",
                "yoon-suk-yeol",
            ],
        ),
        (
            pb::ListOfficialsRequest {
                country: "KOR".into(),
                ..Default::default()
            },
            vec!["han-duck-soo", "choi-sang-mok", "yoon-suk-yeol"],
        ),
        (
            pb::ListOfficialsRequest {
                country: "JPN".into(),
                ..Default::default()
            },
            vec![],
        ),
        // Display names, aliases and role titles, case-insensitively.
        (
            pb::ListOfficialsRequest {
                query: "BLINKEN".into(),
                ..Default::default()
            },
            vec!["antony-blinken"],
        ),
        (
            pb::ListOfficialsRequest {
                query: "deok".into(),
                ..Default::default()
            },
            vec!["han-duck-soo"],
        ),
        (
            pb::ListOfficialsRequest {
                query: "acting president".into(),
                ..Default::default()
            },
            vec!["han-duck-soo", "choi-sang-mok"],
        ),
        (
            pb::ListOfficialsRequest {
                query: "president".into(),
                country: "USA".into(),
                ..Default::default()
            },
            vec![],
        ),
        // LIKE wildcards are literal text.
        (
            pb::ListOfficialsRequest {
                query: "%".into(),
                ..Default::default()
            },
            vec![],
        ),
        (
            pb::ListOfficialsRequest {
                query: "_".into(),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (request, expected) in cases {
        for page_size in [0, 1, 2] {
            let found: Vec<String> = app
                .all_officials(pb::ListOfficialsRequest {
                    page_size,
                    ..request.clone()
                })
                .await
                .into_iter()
                .map(|official| official.name)
                .collect();
            let expected: Vec<String> = expected
                .iter()
                .map(|id| format!("officials/{id}"))
                .collect();
            assert_eq!(
                found, expected,
                "ListOfficials {request:?} with page size {page_size}"
            );
        }
    }
}

#[tokio::test]
async fn roles_change_through_a_named_mask() {
    let app = spawn_app().await;
    let created = app.create_official("han-duck-soo", han_duck_soo()).await;
    let mut roles = created.roles.clone();
    roles[0].state = pb::RoleState::Active.into();
    roles[0].state_date = "2025-03-24".into();
    roles[0].note = "reinstated by the Constitutional Court".into();
    let patch = pb::Official {
        name: created.name.clone(),
        display_name: "ignored: not in the mask".into(),
        roles: roles.clone(),
        etag: created.etag.clone(),
        ..Default::default()
    };
    let updated = app
        .officials
        .clone()
        .update_official(pb::UpdateOfficialRequest {
            official: Some(patch.clone()),
            update_mask: mask(&["roles"]),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.roles, roles);
    assert_eq!(updated.display_name, "Han Duck-soo");
    assert_eq!(updated.aliases, created.aliases);

    let status = app
        .officials
        .clone()
        .update_official(pb::UpdateOfficialRequest {
            official: Some(patch),
            update_mask: mask(&["roles"]),
        })
        .await
        .expect_err("the etag is now stale");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
}

#[tokio::test]
async fn a_star_mask_replaces_and_clears() {
    let app = spawn_app().await;
    let created = app.create_official("han-duck-soo", han_duck_soo()).await;
    let replacement = pb::Official {
        name: created.name.clone(),
        ..official("Han Duck-soo", "KOR")
    };
    let updated = app
        .officials
        .clone()
        .update_official(pb::UpdateOfficialRequest {
            official: Some(replacement),
            update_mask: mask(&["*"]),
        })
        .await
        .expect("replace")
        .into_inner();
    assert!(
        updated.roles.is_empty() && updated.aliases.is_empty() && updated.wikidata_id.is_empty()
    );
}

#[tokio::test]
async fn an_official_still_referred_to_cannot_be_deleted() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let before = app.snapshot().await;
    for name in [&seed.traveler, &seed.host] {
        let status = app
            .officials
            .clone()
            .delete_official(pb::DeleteOfficialRequest {
                name: name.clone(),
                etag: String::new(),
            })
            .await
            .expect_err("referenced official");
        assert_status(&status, Code::FailedPrecondition, "RESOURCE_IN_USE");
    }
    assert_eq!(app.snapshot().await, before);

    app.agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: seed.item.clone(),
            etag: String::new(),
        })
        .await
        .expect("delete the item");
    app.officials
        .clone()
        .delete_official(pb::DeleteOfficialRequest {
            name: seed.host.clone(),
            etag: String::new(),
        })
        .await
        .expect("the host is no longer referred to");
    assert_eq!(
        app.get_official(&seed.host).await.expect_err("gone").code(),
        Code::NotFound
    );
    let status = app
        .officials
        .clone()
        .delete_official(pb::DeleteOfficialRequest {
            name: seed.traveler.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("still the traveler of a trip");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn officials_are_deleted_with_their_current_etag_only() {
    let app = spawn_app().await;
    let created = app
        .create_official("yoon-suk-yeol", official("Yoon Suk-yeol", "KOR"))
        .await;
    let renamed = app
        .officials
        .clone()
        .update_official(pb::UpdateOfficialRequest {
            official: Some(pb::Official {
                name: created.name.clone(),
                aliases: vec!["Yoon Suk Yeol".into()],
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .expect("update")
        .into_inner();
    let status = app
        .officials
        .clone()
        .delete_official(pb::DeleteOfficialRequest {
            name: created.name.clone(),
            etag: created.etag,
        })
        .await
        .expect_err("stale etag");
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    app.officials
        .clone()
        .delete_official(pb::DeleteOfficialRequest {
            name: created.name.clone(),
            etag: renamed.etag,
        })
        .await
        .expect("current etag");
    let status = app.get_official(&created.name).await.expect_err("deleted");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
}

#[tokio::test]
async fn a_duplicate_official_id_is_already_exists() {
    let app = spawn_app().await;
    let first = app
        .create_official("choi-sang-mok", official("Choi Sang-mok", "KOR"))
        .await;
    let status = app
        .officials
        .clone()
        .create_official(pb::CreateOfficialRequest {
            official: Some(official("Someone Else", "JPN")),
            official_id: "choi-sang-mok".into(),
        })
        .await
        .expect_err("duplicate");
    assert_status(&status, Code::AlreadyExists, "RESOURCE_ALREADY_EXISTS");
    assert_eq!(app.get_official(&first.name).await.expect("get"), first);
}

#[tokio::test]
async fn a_trip_needs_its_traveler_to_exist() {
    let app = spawn_app().await;
    let status = app
        .trips
        .clone()
        .create_trip(pb::CreateTripRequest {
            trip: Some(final_trip("officials/nobody")),
            trip_id: "t".into(),
        })
        .await
        .expect_err("unknown traveler");
    crate::helpers::assert_invalid(&status, "trip.traveler");
    let mut unknown_participant = item(
        "x",
        "2025-01-06",
        &["USA"],
        &["KOR"],
        pb::EventType::Consult,
    );
    unknown_participant.participants = vec!["officials/nobody".into()];
    let status = app
        .agenda
        .clone()
        .create_agenda_item(pb::CreateAgendaItemRequest {
            agenda_item: Some(unknown_participant),
            agenda_item_id: String::new(),
        })
        .await
        .expect_err("unknown participant");
    crate::helpers::assert_invalid(&status, "agenda_item.participants[0]");
}
