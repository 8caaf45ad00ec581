//! Pages cut by bytes as well as by count (issue 12, AIP-158): on a server whose
//! `max_message_bytes` is small, every list method stops its page where one more item would
//! take the response past the limit, its token resumes right after the last item it gave, and
//! walking the tokens to the end gives every item exactly once. WatchDigests replays one digest
//! at a time, each message within the limit. A resource that no response can carry is named in
//! a RESOURCE_EXHAUSTED error that also says how to list past it.

use std::collections::HashSet;

use briefing::api::pb;
use prost::Message as _;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::digest_helpers::{QUICK, compile, digests, execute_sql, quick_and, subscriptions};
use crate::helpers::{
    PATIENCE, TestApp, fresh_database, item, official, role, source, spawn_app_with_args, within,
};

/// The smallest `max_message_bytes` a server takes.
const LIMIT: usize = 64 * 1024;
const LIMIT_FLAG: &str = "65536";

/// `chars` characters of three bytes each: text fields count characters, responses bytes.
fn wide(chars: usize) -> String {
    "語".repeat(chars)
}

/// A server with `max_message_bytes` at [`LIMIT`], no schedule, on a fresh database.
async fn small_limit_app() -> (crate::helpers::DatabaseGuard, String, TestApp) {
    let (database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, &quick_and(&["--max-message-bytes", LIMIT_FLAG])).await;
    (database, url, app)
}

/// Every page of a list from the first, each response checked against `limit` as the client
/// received it; `split` takes a response apart into its items' names and its next token.
async fn walk<R: prost::Message>(
    limit: usize,
    mut list: impl AsyncFnMut(String) -> Result<tonic::Response<R>, Status>,
    mut split: impl FnMut(R) -> (Vec<String>, String),
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let response = list(token)
            .await
            .unwrap_or_else(|status| panic!("page {} of the list: {status:?}", pages.len() + 1))
            .into_inner();
        let size = response.encoded_len();
        assert!(size <= limit, "a response of {size} bytes, over {limit}");
        let (names, next) = split(response);
        assert!(
            !names.is_empty() || next.is_empty(),
            "an empty page before the end"
        );
        pages.push(names);
        if next.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1_000, "the list does not end");
        token = next;
    }
}

/// The walk gave every one of `expected` exactly once, and its first page was cut short of
/// the `requested` page size by bytes.
fn assert_cut_and_complete(
    what: &str,
    pages: &[Vec<String>],
    expected: &[String],
    requested: usize,
) {
    let listed: Vec<&String> = pages.iter().flatten().collect();
    let unique: HashSet<&String> = listed.iter().copied().collect();
    assert_eq!(unique.len(), listed.len(), "{what}: an item listed twice");
    let expected_set: HashSet<&String> = expected.iter().collect();
    assert_eq!(
        unique, expected_set,
        "{what}: items lost or unknown ones listed"
    );
    assert!(
        pages.len() > 1 && pages[0].len() < requested.min(expected.len()),
        "{what}: the first page was not cut by bytes: {:?}",
        pages.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn trips_officials_and_agenda_items_are_paged_within_the_limit() {
    let (_database, _url, app) = small_limit_app().await;

    // Ten officials of about 20 KB: a default page of 50 would take them all, 200 KB.
    let mut officials = Vec::new();
    for index in 0..10 {
        let mut large = official(&format!("Official {index}"), "KOR");
        large.aliases = (0..20)
            .map(|alias| format!("{alias}{}", wide(150)))
            .collect();
        large.roles = (0..2)
            .map(|number| {
                let mut held = role(&format!("Minister {number}"), "2024-01-01");
                held.note = wide(2000);
                held
            })
            .collect();
        officials.push(
            app.create_official(&format!("official-{index}"), large)
                .await
                .name,
        );
    }
    let pages = walk(
        LIMIT,
        async |page_token| {
            app.officials
                .clone()
                .list_officials(pb::ListOfficialsRequest {
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response.officials.into_iter().map(|one| one.name).collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListOfficials", &pages, &officials, 50);

    // Ten trips of about 20 KB.
    let mut trips = Vec::new();
    for index in 0..10 {
        let mut large = crate::helpers::final_trip(&officials[0]);
        large.purpose = wide(2000);
        large.notes = wide(2000);
        for leg in &mut large.legs {
            leg.purpose = wide(1000);
        }
        trips.push(app.create_trip(&format!("trip-{index}"), large).await.name);
    }
    let pages = walk(
        LIMIT,
        async |page_token| {
            app.trips
                .clone()
                .list_trips(pb::ListTripsRequest {
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response.trips.into_iter().map(|one| one.name).collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListTrips", &pages, &trips, 50);

    // Twelve agenda items of about 21 KB, listed with and without a filter.
    let mut items = Vec::new();
    for index in 0..12 {
        let mut large = item(
            &format!("Talks {index}"),
            "2025-01-06",
            &["USA"],
            &["KOR"],
            pb::EventType::Consult,
        );
        large.summary = wide(5000);
        large.notes = wide(2000);
        items.push(app.create_item(&format!("item-{index}"), large).await.name);
    }
    for country in ["", "KOR"] {
        let pages = walk(
            LIMIT,
            async |page_token| {
                app.agenda
                    .clone()
                    .list_agenda_items(pb::ListAgendaItemsRequest {
                        page_token,
                        country: country.into(),
                        page_size: 500,
                        ..Default::default()
                    })
                    .await
            },
            |response| {
                let names = response
                    .agenda_items
                    .into_iter()
                    .map(|one| one.name)
                    .collect();
                (names, response.next_page_token)
            },
        )
        .await;
        assert_cut_and_complete("ListAgendaItems", &pages, &items, 500);
    }
}

#[tokio::test]
async fn subscriptions_deliveries_and_runs_are_paged_within_the_limit() {
    let (_database, url, app) = small_limit_app().await;

    // Forty webhook subscriptions with 2 KB URLs: a default page would take 80 KB.
    let mut names = Vec::new();
    for index in 0..40 {
        let created = subscriptions(&app)
            .create_subscription(pb::CreateSubscriptionRequest {
                subscription: Some(pb::Subscription {
                    target: Some(pb::subscription::Target::Webhook(pb::WebhookTarget {
                        url: format!("http://127.0.0.1:9/{index}/{}", "a".repeat(2000)),
                        secret: String::new(),
                    })),
                    ..Default::default()
                }),
                subscription_id: format!("hook-{index}"),
            })
            .await
            .expect("create a subscription")
            .into_inner();
        names.push(created.name);
    }
    let pages = walk(
        LIMIT,
        async |page_token| {
            subscriptions(&app)
                .list_subscriptions(pb::ListSubscriptionsRequest {
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response
                .subscriptions
                .into_iter()
                .map(|one| one.name)
                .collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListSubscriptions", &pages, &names, 50);

    // Forty dead deliveries and forty failed runs whose last results are 2 KB each, written
    // as the outbox and the ledger would have kept them.
    let long_result = "e".repeat(2000);
    let mut deliveries = Vec::new();
    let mut runs = Vec::new();
    for index in 0..40_i64 {
        execute_sql(
            &url,
            &format!(
                "INSERT INTO deliveries (id, subscription_id, digest_name, digest_revision, publication, \
                 idempotency_key, state, attempts, last_result, create_time) \
                 VALUES ('delivery-{index}', 'hook-0', 'digests/daily-2025-01-06', {index}, {index}, \
                 'key-{index}', 'dead', 8, $1, 1736121600000000)"
            ),
            &long_result,
        )
        .await;
        deliveries.push(format!("subscriptions/hook-0/deliveries/delivery-{index}"));
        let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date")
            + chrono::Duration::days(index);
        let day_number = i64::from(chrono::Datelike::num_days_from_ce(&date));
        execute_sql(
            &url,
            &format!(
                "INSERT INTO digest_runs (kind, date, day_number, state, attempts, error, trigger) \
                 VALUES ('daily', '{date}', {day_number}, 'failed', 3, $1, 'schedule')"
            ),
            &long_result,
        )
        .await;
        runs.push(format!("digestRuns/daily-{date}"));
    }
    let pages = walk(
        LIMIT,
        async |page_token| {
            subscriptions(&app)
                .list_deliveries(pb::ListDeliveriesRequest {
                    parent: "subscriptions/hook-0".into(),
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response
                .deliveries
                .into_iter()
                .map(|one| one.name)
                .collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListDeliveries", &pages, &deliveries, 50);
    let pages = walk(
        LIMIT,
        async |page_token| {
            digests(&app)
                .list_digest_runs(pb::ListDigestRunsRequest {
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response
                .digest_runs
                .into_iter()
                .map(|one| one.name)
                .collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListDigestRuns", &pages, &runs, 50);
}

/// Forty countries, each its own: twenty actors and twenty recipients make 400 pairs.
const COUNTRIES: [&str; 40] = [
    "USA", "KOR", "JPN", "FRA", "PRK", "CHN", "RUS", "UKR", "GBR", "DEU", "ITA", "ESP", "CAN",
    "AUS", "IND", "BRA", "MEX", "ZAF", "NGA", "EGY", "TUR", "IRN", "IRQ", "SAU", "ISR", "PAK",
    "AFG", "IDN", "PHL", "VNM", "THA", "MYS", "SGP", "NZL", "ARG", "CHL", "COL", "PER", "POL",
    "SWE",
];

/// Stores, for each of `days` (from 2025-02-01), six reported items with long titles and a
/// source with a 2,000-character URL (which a digest cites), and compiles the day: digests of
/// some tens of kilobytes each.
async fn large_digests(app: &TestApp, days: u32) -> Vec<pb::Digest> {
    let mut compiled = Vec::new();
    for day in 1..=days {
        let date = format!("2025-02-{day:02}");
        for (number, recipient) in ["KOR", "JPN", "FRA", "GBR", "DEU", "CAN"]
            .iter()
            .enumerate()
        {
            let mut large = item(
                &format!("Talks {day}-{number} {}", wide(280)),
                &date,
                &["USA"],
                &[recipient],
                pb::EventType::Cooperate,
            );
            large.summary = wide(1000);
            large.sources = vec![source(
                &format!("https://news.example/{day}/{number}/{}", "p".repeat(2000)),
                "Outlet",
            )];
            app.create_item(&format!("day-{day}-{number}"), large).await;
        }
        compiled.push(compile(app, &date, false).await);
    }
    compiled
}

#[tokio::test]
async fn digests_and_their_dyads_are_paged_within_the_limit() {
    let (_database, _url, app) = small_limit_app().await;
    let compiled = large_digests(&app, 8).await;
    let sizes: Vec<usize> = compiled.iter().map(prost::Message::encoded_len).collect();
    assert!(
        sizes.iter().all(|size| *size < LIMIT - 1024) && sizes.iter().sum::<usize>() > 2 * LIMIT,
        "the digests must each fit and together not: {sizes:?}"
    );
    let names: Vec<String> = compiled.iter().map(|digest| digest.name.clone()).collect();
    let pages = walk(
        LIMIT,
        async |page_token| {
            digests(&app)
                .list_digests(pb::ListDigestsRequest {
                    page_token,
                    view: pb::DigestView::Full.into(),
                    ..Default::default()
                })
                .await
        },
        |response| {
            for digest in &response.digests {
                assert!(!digest.markdown.is_empty(), "the FULL view");
            }
            let names = response.digests.into_iter().map(|one| one.name).collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListDigests", &pages, &names, 50);

    // A day with 400 pairs: a page of 500 dyads would not fit.
    let mut wide_item = item(
        "Summit of forty",
        "2025-03-01",
        &COUNTRIES[..20],
        &COUNTRIES[20..],
        pb::EventType::Consult,
    );
    wide_item.contexts = (0..20)
        .map(|context| format!("context-{context}-{}", "x".repeat(28)))
        .collect();
    app.create_item("summit", wide_item).await;
    let digest = compile(&app, "2025-03-01", false).await;
    let mut totals = HashSet::new();
    let pages = walk(
        LIMIT,
        async |page_token| {
            digests(&app)
                .list_digest_dyads(pb::ListDigestDyadsRequest {
                    parent: digest.name.clone(),
                    page_size: 500,
                    page_token,
                    order_by: String::new(),
                })
                .await
        },
        |response| {
            totals.insert(response.total_size);
            let names = response
                .dyads
                .into_iter()
                .map(|dyad| dyad.countries.join("-"))
                .collect();
            (names, response.next_page_token)
        },
    )
    .await;
    let pairs: Vec<String> = COUNTRIES[..20]
        .iter()
        .flat_map(|actor| {
            COUNTRIES[20..].iter().map(move |recipient| {
                let mut pair = [*actor, *recipient];
                pair.sort_unstable();
                pair.join("-")
            })
        })
        .collect();
    assert_cut_and_complete("ListDigestDyads", &pages, &pairs, 500);
    assert_eq!(
        totals,
        HashSet::from([400]),
        "every page reports the whole table"
    );
}

#[tokio::test]
async fn watch_digests_replays_one_digest_at_a_time_within_the_limit() {
    let (_database, _url, app) = small_limit_app().await;
    let compiled = large_digests(&app, 6).await;
    let sizes: Vec<usize> = compiled.iter().map(prost::Message::encoded_len).collect();
    assert!(
        sizes.iter().sum::<usize>() > 2 * LIMIT,
        "together the digests must be well over the limit: {sizes:?}"
    );
    let mut stream = digests(&app)
        .watch_digests(pb::WatchDigestsRequest {
            cursor: "0".into(),
            ..Default::default()
        })
        .await
        .expect("watch from the start")
        .into_inner();
    let mut cursors = Vec::new();
    for expected in &compiled {
        let message = within(PATIENCE, "a replayed digest", stream.message())
            .await
            .expect("the stream stays healthy")
            .expect("the stream stays open");
        assert!(
            message.encoded_len() <= LIMIT,
            "{} bytes",
            message.encoded_len()
        );
        assert_eq!(message.digest.as_ref(), Some(expected));
        cursors.push(message.cursor);
    }
    let unique: HashSet<&String> = cursors.iter().collect();
    assert_eq!(unique.len(), compiled.len());
}

/// What the issue measured: a ListAgendaItems page of 50 large items was more than a stock
/// client's 4 MiB. The server, at its default `max_message_bytes`, now cuts the page, and the
/// stock client reads every page.
#[tokio::test]
async fn a_stock_client_reads_pages_of_fifty_large_agenda_items() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    let large = |index: usize| {
        let mut large = item(
            &format!("Talks {index} {}", wide(250)),
            "2025-01-06",
            &["USA"],
            &["KOR"],
            pb::EventType::Consult,
        );
        large.summary = wide(5000);
        large.notes = wide(2000);
        large.sources = (0..20)
            .map(|number| {
                let mut cited = source(
                    &format!("https://news.example/{index}/{number}/{}", "p".repeat(2000)),
                    &wide(200),
                );
                cited.excerpt = wide(2000);
                cited
            })
            .collect();
        large
    };
    let one = large(0).encoded_len();
    assert!(
        one * 50 > 4 * 1024 * 1024,
        "50 items of {one} bytes must exceed 4 MiB"
    );
    let messages = (0..50).map(move |index| pb::ImportAgendaItemsRequest {
        agenda_item: Some(large(index)),
        agenda_item_id: format!("large-{index:02}"),
    });
    let imported = app
        .agenda
        .clone()
        .import_agenda_items(tokio_stream::iter(messages))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(imported.imported_count, 50);
    let expected: Vec<String> = (0..50)
        .map(|index| format!("agendaItems/large-{index:02}"))
        .collect();
    // `app.agenda` is a stock client: its decoding limit is tonic's default, 4 MiB.
    let pages = walk(
        4 * 1024 * 1024,
        async |page_token| {
            app.agenda
                .clone()
                .list_agenda_items(pb::ListAgendaItemsRequest {
                    page_token,
                    ..Default::default()
                })
                .await
        },
        |response| {
            let names = response
                .agenda_items
                .into_iter()
                .map(|one| one.name)
                .collect();
            (names, response.next_page_token)
        },
    )
    .await;
    assert_cut_and_complete("ListAgendaItems", &pages, &expected, 50);
}

/// An item stored under a larger limit (or by `briefing import`) that no response can carry
/// at the server's limit: the page before it ends short, the next call names it with its
/// size, and the token in the error lists what follows it.
#[tokio::test]
async fn an_item_too_large_for_any_response_is_named_and_can_be_listed_past() {
    let (database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    let sized = |summary: String| {
        let mut one = item(
            "Talks",
            "2025-01-06",
            &["USA"],
            &["KOR"],
            pb::EventType::Consult,
        );
        one.summary = summary;
        one
    };
    app.create_item("before", sized(wide(100))).await;
    let mut huge = sized(wide(5000));
    huge.sources = (0..20)
        .map(|number| {
            let mut cited = source(&format!("https://news.example/{number}"), "Outlet");
            cited.excerpt = wide(2000);
            cited
        })
        .collect();
    app.create_item("huge", huge).await;
    app.create_item("after", sized(wide(100))).await;
    app.stop().await;

    let app = spawn_app_with_args(&url, &quick_and(&["--max-message-bytes", LIMIT_FLAG])).await;
    let list = async |page_token: String| {
        app.agenda
            .clone()
            .list_agenda_items(pb::ListAgendaItemsRequest {
                page_token,
                ..Default::default()
            })
            .await
    };
    let first = list(String::new())
        .await
        .expect("the page before it")
        .into_inner();
    let names: Vec<&str> = first
        .agenda_items
        .iter()
        .map(|one| one.name.as_str())
        .collect();
    assert_eq!(names, ["agendaItems/before"]);
    let status = list(first.next_page_token)
        .await
        .expect_err("too large to send");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("agendaItems/huge"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("max_message_bytes"),
        "{}",
        status.message()
    );
    let info = status.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.reason, "RESOURCE_TOO_LARGE");
    assert_eq!(info.metadata["resource"], "agendaItems/huge");
    assert_eq!(info.metadata["max_message_bytes"], LIMIT.to_string());
    let size: usize = info.metadata["size_bytes"].parse().expect("a size");
    assert!(size > LIMIT, "{size}");
    let rest = list(info.metadata["next_page_token"].clone())
        .await
        .expect("the page past it")
        .into_inner();
    let names: Vec<&str> = rest
        .agenda_items
        .iter()
        .map(|one| one.name.as_str())
        .collect();
    assert_eq!(names, ["agendaItems/after"]);
    assert!(rest.next_page_token.is_empty());
    // GetAgendaItem names it too, rather than failing in the transport with OUT_OF_RANGE.
    let status = app
        .get_item("agendaItems/huge")
        .await
        .expect_err("too large to send");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let info = status.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.reason, "RESOURCE_TOO_LARGE");
    assert_eq!(info.metadata["resource"], "agendaItems/huge");
    drop(database);
}

/// A digest compiled under a larger limit that no WatchDigests message can carry at the
/// server's: the replay sends what comes before it, then ends with RESOURCE_EXHAUSTED naming
/// it, and the cursor in the error watches past it.
#[tokio::test]
async fn a_digest_too_large_for_a_message_ends_the_replay_with_the_cursor_past_it() {
    let (database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    let small = large_digests(&app, 1).await;
    // One day of thirty items with long titles and URLs, in every section of the digest.
    let kinds = [
        pb::EventType::Cooperate,
        pb::EventType::Threaten,
        pb::EventType::Agree,
        pb::EventType::Sanction,
    ];
    for number in 0..30 {
        let mut large = item(
            &format!("Item {number} {}", wide(280)),
            "2025-03-02",
            &[COUNTRIES[number % 8]],
            &[COUNTRIES[8 + number % 20]],
            kinds[number % kinds.len()],
        );
        large.sources = vec![source(
            &format!("https://news.example/big/{number}/{}", "p".repeat(2000)),
            "Outlet",
        )];
        app.create_item(&format!("big-{number}"), large).await;
    }
    let huge = compile(&app, "2025-03-02", false).await;
    assert!(huge.encoded_len() > LIMIT, "{} bytes", huge.encoded_len());
    let after = compile(&app, "2025-03-03", false).await;
    app.stop().await;

    let app = spawn_app_with_args(&url, &quick_and(&["--max-message-bytes", LIMIT_FLAG])).await;
    let mut stream = digests(&app)
        .watch_digests(pb::WatchDigestsRequest {
            cursor: "0".into(),
            ..Default::default()
        })
        .await
        .expect("watch from the start")
        .into_inner();
    let first = within(PATIENCE, "the digest before it", stream.message())
        .await
        .expect("the stream stays healthy")
        .expect("the stream stays open");
    assert_eq!(first.digest.as_ref(), Some(&small[0]));
    let status = within(PATIENCE, "the error", stream.message())
        .await
        .expect_err("too large to send");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&huge.name),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("view BASIC"),
        "{}",
        status.message()
    );
    let info = status.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.reason, "RESOURCE_TOO_LARGE");
    assert_eq!(info.metadata["resource"], huge.name);
    // GetDigest names it in the FULL view, and gives it in the BASIC view.
    let get = |view: pb::DigestView| pb::GetDigestRequest {
        name: huge.name.clone(),
        view: view.into(),
    };
    let status = digests(&app)
        .get_digest(get(pb::DigestView::Full))
        .await
        .expect_err("too large to send");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains(&huge.name),
        "{}",
        status.message()
    );
    let basic = digests(&app)
        .get_digest(get(pb::DigestView::Basic))
        .await
        .expect("the BASIC view fits")
        .into_inner();
    assert_eq!(basic.name, huge.name);
    // The same digest fits in the BASIC view.
    let mut basic = digests(&app)
        .watch_digests(pb::WatchDigestsRequest {
            cursor: first.cursor.clone(),
            view: pb::DigestView::Basic.into(),
            ..Default::default()
        })
        .await
        .expect("watch in the BASIC view")
        .into_inner();
    let listed = within(PATIENCE, "the digest in BASIC", basic.message())
        .await
        .expect("the stream stays healthy")
        .expect("the stream stays open");
    assert_eq!(
        listed.digest.map(|digest| digest.name),
        Some(huge.name.clone())
    );
    // Past it, the replay goes on.
    let mut past = digests(&app)
        .watch_digests(pb::WatchDigestsRequest {
            cursor: info.metadata["cursor"].clone(),
            ..Default::default()
        })
        .await
        .expect("watch past it")
        .into_inner();
    let next = within(PATIENCE, "the digest after it", past.message())
        .await
        .expect("the stream stays healthy")
        .expect("the stream stays open");
    assert_eq!(next.digest.as_ref(), Some(&after));
    drop(database);
}
