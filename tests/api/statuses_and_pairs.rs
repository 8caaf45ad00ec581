//! What an item's date means (reported, planned, background), hedged facts, and the country
//! pairs an item forms: the ListAgendaItems filters `status` and `pairs`, and the two store
//! reads the digest takes from them (upcoming items, each day's activity).

use briefing::api::pb;
use briefing::domain::source::SourceRecord;
use briefing::domain::{AgendaItem, AgendaItemRecord, DailyActivity, ResourceId};
use briefing::store::{Precondition, Store};
use chrono::NaiveDate;
use tonic::Code;

use crate::helpers::{TestApp, assert_invalid, fresh_database, item, mask, source, spawn_app};

fn titles(items: &[pb::AgendaItem]) -> Vec<String> {
    items.iter().map(|found| found.title.clone()).collect()
}

fn by_pairs(pairs: &[&str]) -> pb::ListAgendaItemsRequest {
    pb::ListAgendaItemsRequest {
        pairs: pairs.iter().map(|pair| (*pair).to_owned()).collect(),
        ..Default::default()
    }
}

fn by_status(status: pb::ItemStatus) -> pb::ListAgendaItemsRequest {
    pb::ListAgendaItemsRequest {
        status: status.into(),
        ..Default::default()
    }
}

async fn list_error(app: &TestApp, request: pb::ListAgendaItemsRequest) -> tonic::Status {
    app.agenda
        .clone()
        .list_agenda_items(request)
        .await
        .expect_err("the request is refused")
}

#[tokio::test]
async fn status_and_hedged_round_trip_through_create_get_and_update() {
    let app = spawn_app().await;
    let plain = app
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
    assert_eq!(plain.status(), pb::ItemStatus::Reported, "the default");
    assert!(!plain.hedged);

    let mut announced = item(
        "Summit announced",
        "2025-01-20",
        &["USA"],
        &["JPN"],
        pb::EventType::Consult,
    );
    announced.status = pb::ItemStatus::Planned.into();
    announced.hedged = true;
    let created = app.create_item("summit", announced).await;
    assert_eq!(
        (created.status(), created.hedged),
        (pb::ItemStatus::Planned, true)
    );
    let read = app.get_item("agendaItems/summit").await.expect("get");
    assert_eq!(
        (read.status(), read.hedged),
        (pb::ItemStatus::Planned, true)
    );

    // An empty mask updates the populated fields: status left unset and hedged false are not
    // populated, so both stay as they were.
    let updated = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(pb::AgendaItem {
                name: "agendaItems/summit".into(),
                title: "Summit announced for January".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .expect("update the title")
        .into_inner();
    assert_eq!(updated.title, "Summit announced for January");
    assert_eq!(
        (updated.status(), updated.hedged),
        (pb::ItemStatus::Planned, true)
    );

    let updated = app
        .agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(pb::AgendaItem {
                name: "agendaItems/summit".into(),
                status: pb::ItemStatus::Background.into(),
                hedged: false,
                ..Default::default()
            }),
            update_mask: mask(&["status", "hedged"]),
        })
        .await
        .expect("update status and hedged")
        .into_inner();
    assert_eq!(
        (updated.status(), updated.hedged),
        (pb::ItemStatus::Background, false)
    );
    let read = app.get_item("agendaItems/summit").await.expect("get");
    assert_eq!(
        (read.status(), read.hedged),
        (pb::ItemStatus::Background, false)
    );
}

/// Items of every status, and pairs that actors × recipients form or do not form.
async fn pair_items(app: &TestApp) {
    let with_status = |mut base: pb::AgendaItem, status: pb::ItemStatus| {
        base.status = status.into();
        base
    };
    // USA toward KOR and JPN: USA–KOR and USA–JPN, but not JPN–KOR.
    app.create_item(
        "usa-to-both",
        item(
            "USA to both",
            "2025-01-06",
            &["USAGOV"],
            &["KORGOV", "JPN"],
            pb::EventType::Consult,
        ),
    )
    .await;
    // The trilateral: all three pairs.
    app.create_item(
        "trilateral",
        item(
            "Trilateral",
            "2025-01-06",
            &["USA", "JPN", "KOR"],
            &["USA", "JPN", "KOR"],
            pb::EventType::Agree,
        ),
    )
    .await;
    // A planned item forms its pairs too.
    app.create_item(
        "planned-drill",
        with_status(
            item(
                "Planned drill",
                "2025-01-09",
                &["CHNMIL"],
                &["RUSMIL"],
                pb::EventType::Mobilize,
            ),
            pb::ItemStatus::Planned,
        ),
    )
    .await;
    app.create_item(
        "background",
        with_status(
            item(
                "Background",
                "2025-01-05",
                &["PRK"],
                &["RUS"],
                pb::EventType::Cooperate,
            ),
            pb::ItemStatus::Background,
        ),
    )
    .await;
    // Within one country: no pair at all.
    app.create_item(
        "domestic",
        item(
            "Domestic",
            "2025-01-06",
            &["KORGOV"],
            &["KORMIL"],
            pb::EventType::Request,
        ),
    )
    .await;
}

#[tokio::test]
async fn items_are_listed_by_status() {
    let app = spawn_app().await;
    pair_items(&app).await;
    assert_eq!(
        titles(&app.all_items(by_status(pb::ItemStatus::Reported)).await),
        ["USA to both", "Trilateral", "Domestic"]
    );
    assert_eq!(
        titles(&app.all_items(by_status(pb::ItemStatus::Planned)).await),
        ["Planned drill"]
    );
    assert_eq!(
        titles(&app.all_items(by_status(pb::ItemStatus::Background)).await),
        ["Background"]
    );
    // With every other filter, AND.
    let reported_korea = pb::ListAgendaItemsRequest {
        country: "KOR".into(),
        ..by_status(pb::ItemStatus::Reported)
    };
    assert_eq!(
        titles(&app.all_items(reported_korea).await),
        ["USA to both", "Trilateral", "Domestic"]
    );
    let planned_korea = pb::ListAgendaItemsRequest {
        country: "KOR".into(),
        ..by_status(pb::ItemStatus::Planned)
    };
    assert!(app.all_items(planned_korea).await.is_empty());
    let planned_later = pb::ListAgendaItemsRequest {
        from_date: "2025-01-07".into(),
        ..by_status(pb::ItemStatus::Planned)
    };
    assert_eq!(
        titles(&app.all_items(planned_later).await),
        ["Planned drill"]
    );
    // Unset: every status.
    assert_eq!(
        app.all_items(pb::ListAgendaItemsRequest::default())
            .await
            .len(),
        5
    );
}

#[tokio::test]
async fn items_are_listed_by_the_pairs_their_actors_and_recipients_form() {
    let app = spawn_app().await;
    pair_items(&app).await;
    let listed = |pairs: &'static [&'static str]| {
        let app = &app;
        async move { titles(&app.all_items(by_pairs(pairs)).await) }
    };
    assert_eq!(listed(&["KOR-USA"]).await, ["USA to both", "Trilateral"]);
    assert_eq!(listed(&["USA-JPN"]).await, ["USA to both", "Trilateral"]);
    // KOR and JPN both appear in "USA to both", but only as recipients: they form no pair.
    assert_eq!(listed(&["JPN-KOR"]).await, ["Trilateral"]);
    assert_eq!(listed(&["KOR–JPN"]).await, ["Trilateral"], "an en dash");
    assert_eq!(listed(&["CHN-RUS"]).await, ["Planned drill"]);
    assert_eq!(listed(&["PRK-RUS"]).await, ["Background"]);
    assert!(listed(&["KOR-PRK"]).await.is_empty());
    // Any of several pairs; repeats are harmless.
    assert_eq!(
        listed(&["JPN-KOR", "RUS-CHN", "KOR-JPN"]).await,
        ["Trilateral", "Planned drill"]
    );
    assert_eq!(
        listed(&["USA-KOR", "USA-JPN", "JPN-KOR"]).await,
        ["USA to both", "Trilateral"],
        "an item is listed once however many of the pairs it forms"
    );

    // With every other filter, AND.
    let with = |pairs: &[&str], extra: pb::ListAgendaItemsRequest| pb::ListAgendaItemsRequest {
        pairs: pairs.iter().map(|pair| (*pair).to_owned()).collect(),
        ..extra
    };
    let planned = by_status(pb::ItemStatus::Planned);
    assert_eq!(
        titles(&app.all_items(with(&["CHN-RUS"], planned.clone())).await),
        ["Planned drill"]
    );
    assert!(
        app.all_items(with(&["CHN-RUS"], by_status(pb::ItemStatus::Reported)))
            .await
            .is_empty()
    );
    assert_eq!(
        titles(&app.all_items(with(&["JPN-KOR", "CHN-RUS"], planned)).await),
        ["Planned drill"]
    );
    let japan = pb::ListAgendaItemsRequest {
        country: "JPN".into(),
        ..Default::default()
    };
    assert_eq!(
        titles(&app.all_items(with(&["USA-KOR"], japan)).await),
        ["USA to both", "Trilateral"]
    );
    let france = pb::ListAgendaItemsRequest {
        country: "FRA".into(),
        ..Default::default()
    };
    assert!(app.all_items(with(&["USA-KOR"], france)).await.is_empty());
    let agreements = pb::ListAgendaItemsRequest {
        event_type: pb::EventType::Agree.into(),
        ..Default::default()
    };
    assert_eq!(
        titles(
            &app.all_items(with(&["USA-KOR", "CHN-RUS"], agreements))
                .await
        ),
        ["Trilateral"]
    );
    let search = pb::ListAgendaItemsRequest {
        query: "both".into(),
        ..Default::default()
    };
    assert_eq!(
        titles(&app.all_items(with(&["USA-JPN"], search)).await),
        ["USA to both"]
    );
}

#[tokio::test]
async fn the_pairs_filter_follows_updates_and_deletes() {
    let app = spawn_app().await;
    pair_items(&app).await;
    app.agenda
        .clone()
        .update_agenda_item(pb::UpdateAgendaItemRequest {
            agenda_item: Some(pb::AgendaItem {
                name: "agendaItems/usa-to-both".into(),
                recipients: vec!["FRA".into()],
                ..Default::default()
            }),
            update_mask: mask(&["recipients"]),
        })
        .await
        .expect("update recipients");
    assert_eq!(
        titles(&app.all_items(by_pairs(&["USA-KOR"])).await),
        ["Trilateral"]
    );
    assert_eq!(
        titles(&app.all_items(by_pairs(&["FRA-USA"])).await),
        ["USA to both"]
    );
    app.agenda
        .clone()
        .delete_agenda_item(pb::DeleteAgendaItemRequest {
            name: "agendaItems/trilateral".into(),
            ..Default::default()
        })
        .await
        .expect("delete");
    assert!(app.all_items(by_pairs(&["USA-KOR"])).await.is_empty());
    assert!(app.all_items(by_pairs(&["JPN-KOR"])).await.is_empty());
}

#[tokio::test]
async fn pages_of_a_pairs_filter_cover_every_match_once_and_tokens_keep_to_their_pairs() {
    let app = spawn_app().await;
    let mut expected_korea = Vec::new();
    let mut expected_either = Vec::new();
    for index in 0..13 {
        let (actors, recipients): (&[&str], &[&str]) = match index % 4 {
            0 => (&["USA"], &["KOR"]),
            1 => (&["KOR"], &["USA", "JPN"]),
            2 => (&["CHN"], &["JPN"]),
            _ => (&["FRA"], &["UKR"]),
        };
        let title = format!("Item {index}");
        if index % 4 < 2 {
            expected_korea.push(title.clone());
        }
        if index % 4 < 3 {
            expected_either.push(title.clone());
        }
        app.create_item(
            &format!("item-{index}"),
            item(
                &title,
                "2025-01-06",
                actors,
                recipients,
                pb::EventType::Consult,
            ),
        )
        .await;
    }
    for (pairs, expected) in [
        (vec!["USA-KOR"], &expected_korea),
        (vec!["USA-KOR", "CHN-JPN"], &expected_either),
    ] {
        let mut request = pb::ListAgendaItemsRequest {
            page_size: 2,
            ..by_pairs(&pairs)
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = app
                .agenda
                .clone()
                .list_agenda_items(request.clone())
                .await
                .expect("a page")
                .into_inner();
            pages += 1;
            assert!(page.agenda_items.len() <= 2);
            seen.extend(titles(&page.agenda_items));
            if page.next_page_token.is_empty() {
                break;
            }
            request.page_token = page.next_page_token;
        }
        assert_eq!(&seen, expected, "pairs {pairs:?}");
        assert!(pages >= expected.len() / 2, "{pages} pages for {pairs:?}");
    }

    let first = app
        .agenda
        .clone()
        .list_agenda_items(pb::ListAgendaItemsRequest {
            page_size: 2,
            ..by_pairs(&["USA-KOR", "CHN-JPN"])
        })
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    // The same pairs in another order, or repeated, are the same query.
    let same = app
        .agenda
        .clone()
        .list_agenda_items(pb::ListAgendaItemsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..by_pairs(&["JPN-CHN", "KOR-USA", "USA-KOR"])
        })
        .await
        .expect("the same pairs in another order")
        .into_inner();
    assert_eq!(titles(&same.agenda_items), ["Item 2", "Item 4"]);
    // Other pairs are another query.
    for other in [
        vec!["USA-KOR"],
        vec!["USA-KOR", "CHN-JPN", "FRA-UKR"],
        vec![],
    ] {
        let refused = list_error(
            &app,
            pb::ListAgendaItemsRequest {
                page_size: 2,
                page_token: first.next_page_token.clone(),
                ..by_pairs(&other)
            },
        )
        .await;
        assert_invalid(&refused, "page_token");
    }
    // So is another status.
    let refused = list_error(
        &app,
        pb::ListAgendaItemsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            status: pb::ItemStatus::Reported.into(),
            ..by_pairs(&["USA-KOR", "CHN-JPN"])
        },
    )
    .await;
    assert_invalid(&refused, "page_token");
}

#[tokio::test]
async fn bad_pairs_and_statuses_are_named() {
    let app = spawn_app().await;
    for (pairs, field) in [
        (vec!["JPN"], "pairs[0]"),
        (vec!["USA-KOR", "KOR-XXX"], "pairs[1]"),
        (vec!["USA-KOR", "KOR-JPN", "KOR-KOR"], "pairs[2]"),
        (vec!["usa-kor"], "pairs[0]"),
        (vec![""], "pairs[0]"),
    ] {
        let status = list_error(&app, by_pairs(&pairs)).await;
        assert_invalid(&status, field);
    }
    let eleven: Vec<String> = [
        "KOR", "JPN", "FRA", "CHN", "RUS", "UKR", "PRK", "DEU", "GBR", "ITA", "ESP",
    ]
    .iter()
    .map(|country| format!("USA-{country}"))
    .collect();
    let status = list_error(
        &app,
        pb::ListAgendaItemsRequest {
            pairs: eleven.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_invalid(&status, "pairs");
    // Ten are fine.
    app.all_items(pb::ListAgendaItemsRequest {
        pairs: eleven[..10].to_vec(),
        ..Default::default()
    })
    .await;

    for raw in [9, -1] {
        let status = list_error(
            &app,
            pb::ListAgendaItemsRequest {
                status: raw,
                ..Default::default()
            },
        )
        .await;
        assert_invalid(&status, "status");
    }
    // Several problems at once, each named.
    let status = list_error(
        &app,
        pb::ListAgendaItemsRequest {
            status: 7,
            pairs: vec!["KOR-USA".into(), "nope".into()],
            country: "XXX".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    for field in ["status", "pairs[1]", "country"] {
        assert_invalid(&status, field);
    }
}

// The store's reads for the digest, on this binary's backend.

fn record(
    title: &str,
    date: &str,
    status: &str,
    actors: &[&str],
    recipients: &[&str],
    sources: usize,
) -> AgendaItem {
    AgendaItem::parse(&AgendaItemRecord {
        title: title.into(),
        date: date.into(),
        actors: actors.iter().map(|code| (*code).to_owned()).collect(),
        recipients: recipients.iter().map(|code| (*code).to_owned()).collect(),
        event_type: "CONSULT".into(),
        status: status.into(),
        sources: (0..sources)
            .map(|index| SourceRecord {
                publisher: format!("Outlet {index}"),
                excerpt: "Talks were held.".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
    .expect("a valid item")
}

fn id(raw: &str) -> ResourceId {
    ResourceId::parse(raw).expect("a valid id")
}

fn day(raw: &str) -> NaiveDate {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("a date")
}

fn activity(date: &str, items: u64, sources: u64) -> DailyActivity {
    DailyActivity {
        date: day(date),
        items,
        sources,
    }
}

/// What `daily_activity` must give, worked out from the items themselves.
async fn counted(store: &dyn Store, from: NaiveDate, to: NaiveDate) -> Vec<DailyActivity> {
    let mut days: std::collections::BTreeMap<NaiveDate, (u64, u64)> = Default::default();
    for stored in store.agenda_items_between(from, to).await.expect("items") {
        if stored.value.status == briefing::domain::ItemStatus::Reported {
            let entry = days.entry(stored.value.date).or_default();
            entry.0 += 1;
            entry.1 += stored.value.source_count();
        }
    }
    days.into_iter()
        .map(|(date, (items, sources))| DailyActivity {
            date,
            items,
            sources,
        })
        .collect()
}

#[tokio::test]
async fn the_store_lists_planned_items_by_date_and_counts_each_days_reported_activity() {
    let (database, url) = fresh_database().await;
    let store = briefing::startup::open_store(&url)
        .await
        .expect("open the store");
    let store = store.as_ref();
    let items = vec![
        (
            id("talks"),
            record("Talks", "2025-01-06", "", &["USA"], &["KOR"], 2),
        ),
        (
            id("visit"),
            record("Visit", "2025-01-06", "REPORTED", &["USA"], &["JPN"], 3),
        ),
        (
            id("drill-later"),
            record(
                "Drill later",
                "2025-01-12",
                "PLANNED",
                &["CHN"],
                &["RUS"],
                1,
            ),
        ),
        (
            id("summit"),
            record("Summit", "2025-01-09", "PLANNED", &["USA"], &["JPN"], 4),
        ),
        (
            id("recap"),
            record("Recap", "2025-01-06", "BACKGROUND", &["PRK"], &["RUS"], 5),
        ),
        (
            id("drill-early"),
            record(
                "Drill early",
                "2025-01-09",
                "PLANNED",
                &["PRK"],
                &["KOR"],
                0,
            ),
        ),
        (
            id("protest"),
            record("Protest", "2025-01-08", "", &["KOR"], &["JPN"], 0),
        ),
        (
            id("far-off"),
            record("Far off", "2025-03-01", "PLANNED", &["USA"], &["FRA"], 1),
        ),
        (
            id("unsourced"),
            record("Unsourced", "2025-01-07", "", &["FRA"], &["UKR"], 0),
        ),
    ];
    let outcomes = store.import_agenda_items(items).await.expect("import");
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    store
        .create_agenda_item(
            id("announced"),
            record("Announced", "2025-01-07", "PLANNED", &["JPN"], &["KOR"], 1),
        )
        .await
        .expect("create");

    let planned = |from: &str, to: &str, limit: usize| {
        let (from, to) = (day(from), day(to));
        async move {
            store
                .planned_items_between(from, to, limit)
                .await
                .expect("planned items")
                .into_iter()
                .map(|stored| stored.value.title)
                .collect::<Vec<_>>()
        }
    };
    // By date, then by store position (the summit was stored before the early drill).
    assert_eq!(
        planned("2025-01-07", "2025-01-13", 10).await,
        ["Announced", "Summit", "Drill early", "Drill later"]
    );
    assert_eq!(
        planned("2025-01-07", "2025-01-13", 2).await,
        ["Announced", "Summit"]
    );
    assert_eq!(
        planned("2025-01-09", "2025-01-09", 10).await,
        ["Summit", "Drill early"]
    );
    assert!(planned("2025-01-01", "2025-01-06", 10).await.is_empty());
    assert!(planned("2025-01-07", "2025-01-13", 0).await.is_empty());

    let (from, to) = (day("2025-01-01"), day("2025-01-31"));
    let expected = vec![
        activity("2025-01-06", 2, 5),
        activity("2025-01-07", 1, 0),
        activity("2025-01-08", 1, 0),
    ];
    assert_eq!(
        store.daily_activity(from, to).await.expect("activity"),
        expected
    );
    assert_eq!(counted(store, from, to).await, expected);
    assert_eq!(
        store
            .daily_activity(day("2025-01-07"), day("2025-01-07"))
            .await
            .expect("one day"),
        [activity("2025-01-07", 1, 0)]
    );

    // Updates and deletes move the counts: a reported item planned after all, a planned one
    // that happened (with more sources), one moved to another day, the last of a day deleted.
    store
        .update_agenda_item(
            &id("visit"),
            Precondition::None,
            record("Visit", "2025-01-06", "PLANNED", &["USA"], &["JPN"], 3),
        )
        .await
        .expect("update");
    store
        .update_agenda_item(
            &id("summit"),
            Precondition::None,
            record("Summit", "2025-01-09", "", &["USA"], &["JPN"], 6),
        )
        .await
        .expect("update");
    store
        .update_agenda_item(
            &id("talks"),
            Precondition::None,
            record("Talks", "2025-01-10", "", &["USA"], &["KOR"], 1),
        )
        .await
        .expect("update");
    store
        .delete_agenda_item(&id("protest"), Precondition::None)
        .await
        .expect("delete");
    let expected = vec![
        activity("2025-01-07", 1, 0),
        activity("2025-01-09", 1, 6),
        activity("2025-01-10", 1, 1),
    ];
    assert_eq!(
        store.daily_activity(from, to).await.expect("activity"),
        expected
    );
    assert_eq!(counted(store, from, to).await, expected);
    assert_eq!(
        planned("2025-01-01", "2025-01-31", 10).await,
        ["Visit", "Announced", "Drill early", "Drill later"]
    );
    drop(database);
}

#[tokio::test]
async fn an_import_keeps_status_and_hedged() {
    let app = spawn_app().await;
    let mut planned = item(
        "Summit announced",
        "2025-01-20",
        &["USA"],
        &["JPN"],
        pb::EventType::Consult,
    );
    planned.status = pb::ItemStatus::Planned.into();
    planned.hedged = true;
    planned.sources = vec![source("https://www.state.gov/", "U.S. Department of State")];
    let response = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter([pb::ImportAgendaItemsRequest {
            agenda_item: Some(planned),
            agenda_item_id: "summit".into(),
        }]))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(response.imported_count, 1);
    let read = app.get_item("agendaItems/summit").await.expect("get");
    assert_eq!(
        (read.status(), read.hedged),
        (pb::ItemStatus::Planned, true)
    );
    assert_eq!(
        titles(&app.all_items(by_pairs(&["JPN-USA"])).await),
        ["Summit announced"]
    );
    assert_eq!(
        titles(&app.all_items(by_status(pb::ItemStatus::Planned)).await),
        ["Summit announced"]
    );
}

#[tokio::test]
async fn the_demo_lists_its_two_trilaterals_under_japan_and_korea() {
    let app = crate::helpers::spawn_demo_app().await;
    let names: Vec<String> = app
        .all_items(by_pairs(&["JPN-KOR"]))
        .await
        .into_iter()
        .map(|found| found.name)
        .collect();
    assert_eq!(
        names,
        [
            "agendaItems/seoul-indo-pacific-trilateral",
            "agendaItems/tokyo-trilateral-momentum"
        ]
    );
}
