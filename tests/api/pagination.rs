//! AIP-158 pagination: page sizes, opaque tokens bound to their query, and walks that see every
//! item exactly once, also while other clients write.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use briefing::api::pb;
use tonic::Code;

use crate::helpers::{TestApp, assert_invalid, item, official, spawn_app};

async fn import_items(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let owned_prefix = prefix.to_owned();
    let messages = (0..count).map(move |index| {
        let country = if index % 2 == 0 { "KOR" } else { "JPN" };
        pb::ImportAgendaItemsRequest {
            agenda_item: Some(item(
                &format!("item {index}"),
                "2025-01-06",
                &["USA"],
                &[country],
                pb::EventType::Consult,
            )),
            agenda_item_id: format!("{owned_prefix}-{index:04}"),
        }
    });
    let response = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter(messages))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(
        usize::try_from(response.imported_count).expect("count"),
        count
    );
    (0..count)
        .map(|index| format!("agendaItems/{prefix}-{index:04}"))
        .collect()
}

async fn page(
    app: &TestApp,
    request: pb::ListAgendaItemsRequest,
) -> Result<pb::ListAgendaItemsResponse, tonic::Status> {
    app.agenda
        .clone()
        .list_agenda_items(request)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn page_sizes_default_to_50_and_stop_at_500() {
    let app = spawn_app().await;
    import_items(&app, "item", 520).await;
    let default = page(
        &app,
        pb::ListAgendaItemsRequest {
            page_size: 0,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(default.agenda_items.len(), 50);
    assert!(!default.next_page_token.is_empty());
    for huge in [501, 1_000, i32::MAX] {
        let capped = page(
            &app,
            pb::ListAgendaItemsRequest {
                page_size: huge,
                ..Default::default()
            },
        )
        .await
        .expect("list");
        assert_eq!(capped.agenda_items.len(), 500, "page size {huge}");
        assert!(!capped.next_page_token.is_empty());
    }
    let exact = page(
        &app,
        pb::ListAgendaItemsRequest {
            page_size: 7,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(exact.agenda_items.len(), 7);

    for _ in 0..60 {
        let number = app.snapshot().await.officials.len();
        app.create_official(&format!("official-{number}"), official("Someone", "KOR"))
            .await;
    }
    let officials = app
        .officials
        .clone()
        .list_officials(pb::ListOfficialsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(officials.officials.len(), 50);
    assert!(!officials.next_page_token.is_empty());
}

#[tokio::test]
async fn a_negative_page_size_is_invalid_on_every_list() {
    let app = spawn_app().await;
    for page_size in [-1, i32::MIN] {
        let status = page(
            &app,
            pb::ListAgendaItemsRequest {
                page_size,
                ..Default::default()
            },
        )
        .await
        .expect_err("negative");
        assert_invalid(&status, "page_size");
        let status = app
            .trips
            .clone()
            .list_trips(pb::ListTripsRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect_err("negative");
        assert_invalid(&status, "page_size");
        let status = app
            .officials
            .clone()
            .list_officials(pb::ListOfficialsRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect_err("negative");
        assert_invalid(&status, "page_size");
    }
}

#[tokio::test]
async fn a_walk_sees_every_item_once_in_a_stable_order_and_ends_with_an_empty_token() {
    let app = spawn_app().await;
    let names = import_items(&app, "walk", 23).await;
    for page_size in [1, 5, 22, 23, 24] {
        let mut request = pb::ListAgendaItemsRequest {
            page_size,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let response = page(&app, request.clone()).await.expect("list");
            pages += 1;
            assert!(
                !response.agenda_items.is_empty(),
                "no empty page before the end (page size {page_size})"
            );
            seen.extend(response.agenda_items.into_iter().map(|item| item.name));
            if response.next_page_token.is_empty() {
                break;
            }
            request.page_token = response.next_page_token;
        }
        assert_eq!(seen, names, "page size {page_size}");
        assert_eq!(
            pages,
            names
                .len()
                .div_ceil(usize::try_from(page_size).expect("positive"))
        );
    }
}

#[tokio::test]
async fn a_filtered_walk_pages_through_the_matches_only() {
    let app = spawn_app().await;
    let names = import_items(&app, "walk", 30).await;
    let korean: Vec<String> = names.iter().step_by(2).cloned().collect();
    let found: Vec<String> = app
        .all_items(pb::ListAgendaItemsRequest {
            page_size: 4,
            country: "KOR".into(),
            ..Default::default()
        })
        .await
        .into_iter()
        .map(|item| item.name)
        .collect();
    assert_eq!(found, korean);
}

#[tokio::test]
async fn a_token_only_works_with_the_filters_that_made_it() {
    let app = spawn_app().await;
    import_items(&app, "token", 12).await;
    let korean = pb::ListAgendaItemsRequest {
        page_size: 2,
        country: "KOR".into(),
        ..Default::default()
    };
    let first = page(&app, korean.clone()).await.expect("list");
    let token = first.next_page_token;
    assert!(!token.is_empty());
    let second = page(
        &app,
        pb::ListAgendaItemsRequest {
            page_token: token.clone(),
            ..korean.clone()
        },
    )
    .await
    .expect("same filters");
    assert_eq!(second.agenda_items.len(), 2);
    let other_page_size = page(
        &app,
        pb::ListAgendaItemsRequest {
            page_token: token.clone(),
            page_size: 3,
            ..korean.clone()
        },
    )
    .await;
    assert!(
        other_page_size.is_ok(),
        "the page size may change between pages"
    );

    let other_filters = [
        pb::ListAgendaItemsRequest {
            country: "JPN".into(),
            ..korean.clone()
        },
        pb::ListAgendaItemsRequest {
            country: String::new(),
            ..korean.clone()
        },
        pb::ListAgendaItemsRequest {
            context: "military".into(),
            ..korean.clone()
        },
        pb::ListAgendaItemsRequest {
            query: "item".into(),
            ..korean.clone()
        },
        pb::ListAgendaItemsRequest {
            from_date: "2025-01-01".into(),
            ..korean.clone()
        },
        pb::ListAgendaItemsRequest {
            event_type: pb::EventType::Consult.into(),
            ..korean.clone()
        },
    ];
    for request in other_filters {
        let status = page(
            &app,
            pb::ListAgendaItemsRequest {
                page_token: token.clone(),
                ..request.clone()
            },
        )
        .await
        .expect_err("token reused with other filters");
        assert_invalid(&status, "page_token");
    }

    let status = app
        .trips
        .clone()
        .list_trips(pb::ListTripsRequest {
            page_token: token.clone(),
            ..Default::default()
        })
        .await
        .expect_err("an agenda token on trips");
    assert_invalid(&status, "page_token");
    let status = app
        .officials
        .clone()
        .list_officials(pb::ListOfficialsRequest {
            page_token: token,
            country: "KOR".into(),
            ..Default::default()
        })
        .await
        .expect_err("an agenda token on officials");
    assert_invalid(&status, "page_token");
}

#[tokio::test]
async fn a_tampered_token_is_invalid_never_an_internal_error() {
    let app = spawn_app().await;
    import_items(&app, "tamper", 6).await;
    let request = pb::ListAgendaItemsRequest {
        page_size: 2,
        ..Default::default()
    };
    let token = page(&app, request.clone())
        .await
        .expect("list")
        .next_page_token;
    let bytes = URL_SAFE_NO_PAD
        .decode(&token)
        .expect("tokens are url-safe base64");
    let mut tampered: Vec<String> = Vec::new();
    for position in 0..bytes.len() {
        for flip in [0x01_u8, 0x80] {
            let mut changed = bytes.clone();
            changed[position] ^= flip;
            tampered.push(URL_SAFE_NO_PAD.encode(changed));
        }
    }
    tampered.extend([
        "garbage".to_owned(),
        "!!!!".to_owned(),
        format!("{token}A"),
        token[..token.len() - 1].to_owned(),
        URL_SAFE_NO_PAD.encode([0_u8; 64]),
        "💥".to_owned(),
    ]);
    for bad in tampered {
        let status = page(
            &app,
            pb::ListAgendaItemsRequest {
                page_token: bad.clone(),
                ..request.clone()
            },
        )
        .await
        .expect_err("tampered token");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "token {bad:?}: {status:?}"
        );
        assert_invalid(&status, "page_token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_while_others_write_sees_every_existing_item_exactly_once() {
    let app = spawn_app().await;
    let existing = import_items(&app, "old", 300).await;
    let writer_app_agenda = app.agenda.clone();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let to_update = existing.clone();
    let writer = tokio::spawn(async move {
        let mut agenda = writer_app_agenda;
        let mut written = 0_usize;
        while !*stopped.borrow_and_update() || written < 20 {
            let created = agenda
                .create_agenda_item(pb::CreateAgendaItemRequest {
                    agenda_item: Some(item(
                        "new",
                        "2025-01-07",
                        &["USA"],
                        &["KOR"],
                        pb::EventType::Agree,
                    )),
                    agenda_item_id: format!("new-{written:05}"),
                })
                .await;
            created.expect("concurrent create");
            let patch = pb::AgendaItem {
                name: to_update[(written * 7) % to_update.len()].clone(),
                title: format!("updated while listing {written}"),
                ..Default::default()
            };
            agenda
                .update_agenda_item(pb::UpdateAgendaItemRequest {
                    agenda_item: Some(patch),
                    update_mask: None,
                })
                .await
                .expect("concurrent update");
            written += 1;
            tokio::task::yield_now().await;
        }
        written
    });

    for page_size in [3, 10, 0] {
        let mut request = pb::ListAgendaItemsRequest {
            page_size,
            country: "KOR".into(),
            ..Default::default()
        };
        let korean_before: Vec<String> = existing.iter().step_by(2).cloned().collect();
        let mut seen = Vec::new();
        loop {
            let response = page(&app, request.clone())
                .await
                .expect("list while writing");
            seen.extend(response.agenda_items.into_iter().map(|item| item.name));
            if response.next_page_token.is_empty() {
                break;
            }
            request.page_token = response.next_page_token;
            tokio::task::yield_now().await;
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "no item twice (page size {page_size})"
        );
        let old_seen: Vec<&String> = seen
            .iter()
            .filter(|name| name.starts_with("agendaItems/old-"))
            .collect();
        assert_eq!(
            old_seen,
            korean_before.iter().collect::<Vec<_>>(),
            "every older item once, in order (page size {page_size})"
        );
    }
    stop.send(true).expect("writer listens");
    let written = writer.await.expect("writer finishes");
    assert!(written >= 20);
    let everything = app
        .all_items(pb::ListAgendaItemsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await;
    assert_eq!(
        everything.len(),
        300 + written,
        "every concurrent create was stored once"
    );
}
