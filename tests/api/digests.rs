//! DigestService over gRPC: a digest takes its kind's side, counts the day's reported items,
//! comes in two views and keeps its per-pair table as a paged sub-collection; compiling is
//! idempotent unless forced, the same items give the same bytes, only configured kinds
//! compile, and the ledger shows it all.

use briefing::api::pb;
use tonic::Code;

use crate::digest_helpers::{
    ConfigFile, QUICK, WEEKLY, all_dyads, compile, compile_kind, compile_request, config_file,
    digests, execute_sql, runs,
};
use crate::helpers::{
    DatabaseGuard, TestApp, assert_invalid, assert_status, fresh_database, item, source,
    spawn_app_with_args,
};

/// The demo data set, and a `weekly` kind besides `daily`.
async fn spawn_demo() -> (DatabaseGuard, ConfigFile, TestApp) {
    let (database, url) = fresh_database().await;
    let config = config_file(WEEKLY);
    let mut flags = vec!["--demo", "--config", config.path.as_str()];
    flags.extend_from_slice(QUICK);
    let app = spawn_app_with_args(&url, &flags).await;
    (database, config, app)
}

fn get(name: &str, view: pb::DigestView) -> pb::GetDigestRequest {
    pb::GetDigestRequest {
        name: name.into(),
        view: view.into(),
    }
}

/// The day of the made-up tests below.
const DAY: &str = "2025-03-10";

/// Stores a day of items whose figures are easy to check by hand: 9 reported items with 10
/// sources over 8 pairs, two ties (JPN–PRK and KOR–PRK on conflict, CHN–USA and FRA–USA on
/// absolute net), one planned and one background item that do not score, and a history of
/// the KOR–USA pair on 6 of the 30 days before, enough for a trend.
async fn store_a_day(app: &TestApp) {
    use pb::EventType::{Accuse, Assault, Consult, Cooperate, Support, Threaten};
    let reported = [
        ("seoul-talks", "USA", "KOR", Consult, None),
        ("tokyo-support", "USA", "JPN", Support, None),
        ("threat-to-korea", "PRK", "KOR", Threaten, None),
        ("threat-to-japan", "PRK", "JPN", Threaten, None),
        ("strikes-on-ukraine", "RUS", "UKR", Assault, None),
        ("military-ties", "PRK", "RUS", Cooperate, None),
        ("china-accuses", "CHN", "USA", Accuse, None),
        ("paris-call", "FRA", "USA", Consult, Some(3.0)),
        ("seoul-complaint", "USA", "KOR", Accuse, Some(-1.0)),
    ];
    for (id, actor, recipient, event_type, intensity) in reported {
        let mut sent = item(id, DAY, &[actor], &[recipient], event_type);
        sent.intensity = intensity;
        sent.sources = vec![source(&format!("https://example.org/{id}"), "Example")];
        if id == "seoul-talks" {
            sent.sources
                .push(source("https://example.com/seoul-talks", "Another"));
        }
        app.create_item(id, sent).await;
    }
    let mut planned = item("Talks planned in Paris", DAY, &["USA"], &["FRA"], Consult);
    planned.status = pb::ItemStatus::Planned.into();
    app.create_item("paris-planned", planned).await;
    let mut background = item("China's assertiveness", DAY, &["CHN"], &["JPN"], Accuse);
    background.status = pb::ItemStatus::Background.into();
    app.create_item("china-background", background).await;
    for (date, intensity) in [
        ("2025-03-08", 1.0),
        ("2025-03-06", 2.0),
        ("2025-03-04", 3.0),
        ("2025-03-01", 1.0),
        ("2025-02-26", 2.0),
        ("2025-02-23", 3.0),
    ] {
        let mut earlier = item("Earlier talks", date, &["USA"], &["KOR"], Consult);
        earlier.intensity = Some(intensity);
        app.create_item(&format!("earlier-{date}"), earlier).await;
    }
}

fn pair(dyad: &pb::Dyad) -> String {
    dyad.countries.join("-")
}

/// The pairs in the order `order_by` promises, computed from the dyads' own figures.
fn expected_order(dyads: &[pb::Dyad], order_by: &str) -> Vec<String> {
    let mut sorted: Vec<&pb::Dyad> = dyads.iter().collect();
    sorted.sort_by(|a, b| {
        let by_value = match order_by {
            "conflict" => b.conflict.total_cmp(&a.conflict),
            "z" => match (a.z_score, b.z_score) {
                (Some(x), Some(y)) => y.abs().total_cmp(&x.abs()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
            _ => b.net.abs().total_cmp(&a.net.abs()),
        };
        by_value.then_with(|| pair(a).cmp(&pair(b)))
    });
    sorted.into_iter().map(pair).collect()
}

fn texts(lines: &[pb::DigestLine]) -> Vec<&str> {
    lines.iter().map(|line| line.text.as_str()).collect()
}

fn about(lines: &[pb::DigestLine], country: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|line| line.countries.iter().any(|named| named == country))
        .map(|line| line.text.clone())
        .collect()
}

#[tokio::test]
async fn a_digest_takes_the_side_and_counts_only_the_reported_items() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    let digest = compile(&app, DAY, false).await;

    assert_eq!(digest.name, format!("digests/daily-{DAY}"));
    assert_eq!((digest.kind.as_str(), digest.date.as_str()), ("daily", DAY));
    assert_eq!(digest.time_zone, "UTC");
    assert_eq!(
        digest.perspective, "USA",
        "the default desk is Washington's"
    );
    assert_eq!(digest.revision, 1);
    let headline = digest.headline.as_ref().expect("a headline");
    assert_eq!(
        (
            headline.item_count,
            headline.source_count,
            headline.pair_count
        ),
        (9, 10, 8),
        "reported items, their sources and their pairs: {headline:?}"
    );
    assert_eq!(headline.background_count, 1, "{headline:?}");
    assert!(!headline.text.is_empty());
    assert!(!digest.markdown.is_empty());
    assert!(digest.markdown.len() < 64 * 1024);

    // Every item a line cites is in `items`, once.
    let mut cited: Vec<&str> = digest.items.iter().map(|item| item.name.as_str()).collect();
    cited.sort_unstable();
    let count = cited.len();
    cited.dedup();
    assert_eq!(cited.len(), count, "an item is printed in full once");
    for line in digest
        .key_developments
        .iter()
        .chain(&digest.alliances)
        .chain(&digest.tensions)
        .chain(&digest.alignments)
        .chain(&digest.leadership)
        .chain(&digest.travel)
        .chain(&digest.upcoming)
    {
        assert!(line.agenda_items.len() <= 3, "{line:?}");
        for name in &line.agenda_items {
            assert!(cited.contains(&name.as_str()), "{name} is not in items");
        }
    }
    // The store reads a busy day lean; the cited items are read again in full: each has its
    // title and its first source, and the Markdown prints them.
    for item in &digest.items {
        assert!(!item.title.is_empty(), "{item:?}");
        assert!(
            digest.markdown.contains(&item.title),
            "{} is not printed",
            item.title
        );
        if item.source_count == 0 {
            continue;
        }
        let source = item.sources.first().expect("its first source");
        assert_eq!(source.publisher, "Example", "{item:?}");
        assert!(source.url.starts_with("https://example.org/"), "{item:?}");
    }
}

#[tokio::test]
async fn get_and_watch_default_to_full_and_list_to_basic() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    let mut watching = digests(&app)
        .watch_digests(pb::WatchDigestsRequest {
            view: pb::DigestView::Basic.into(),
            ..Default::default()
        })
        .await
        .expect("watch digests")
        .into_inner();
    let compiled = compile(&app, DAY, false).await;
    let name = compiled.name.clone();

    let full = digests(&app)
        .get_digest(get(&name, pb::DigestView::Unspecified))
        .await
        .expect("get digest")
        .into_inner();
    assert_eq!(
        full, compiled,
        "GetDigest returns what CompileDigest did, FULL"
    );
    let asked_full = digests(&app)
        .get_digest(get(&name, pb::DigestView::Full))
        .await
        .expect("get digest, FULL")
        .into_inner();
    assert_eq!(asked_full, full);

    let basic = digests(&app)
        .get_digest(get(&name, pb::DigestView::Basic))
        .await
        .expect("get digest, BASIC")
        .into_inner();
    let expected_basic = pb::Digest {
        name: full.name.clone(),
        kind: full.kind.clone(),
        date: full.date.clone(),
        time_zone: full.time_zone.clone(),
        perspective: full.perspective.clone(),
        headline: full.headline.clone(),
        compile_time: full.compile_time,
        revision: full.revision,
        ..Default::default()
    };
    assert_eq!(
        basic, expected_basic,
        "BASIC: no sections, items or Markdown"
    );

    let listed = digests(&app)
        .list_digests(pb::ListDigestsRequest::default())
        .await
        .expect("list digests")
        .into_inner();
    assert_eq!(
        listed.digests,
        std::slice::from_ref(&expected_basic),
        "ListDigests defaults to BASIC"
    );
    let listed_full = digests(&app)
        .list_digests(pb::ListDigestsRequest {
            view: pb::DigestView::Full.into(),
            ..Default::default()
        })
        .await
        .expect("list digests, FULL")
        .into_inner();
    assert_eq!(listed_full.digests, [full]);

    let watched = crate::helpers::within(
        crate::helpers::PATIENCE,
        "the watcher receives the digest",
        watching.message(),
    )
    .await
    .expect("the stream stays healthy")
    .expect("the stream stays open");
    assert_eq!(
        watched.digest,
        Some(expected_basic),
        "WatchDigests in BASIC"
    );

    for view in [7, -1] {
        let status = digests(&app)
            .get_digest(pb::GetDigestRequest {
                name: name.clone(),
                view,
            })
            .await
            .expect_err("an unknown view");
        assert_invalid(&status, "view");
        let status = digests(&app)
            .list_digests(pb::ListDigestsRequest {
                view,
                ..Default::default()
            })
            .await
            .expect_err("an unknown view");
        assert_invalid(&status, "view");
    }
}

#[tokio::test]
async fn the_pairs_page_in_each_order_with_their_evidence() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    let digest = compile(&app, DAY, false).await;
    let parent = digest.name.as_str();

    let (by_net, _) = all_dyads(&app, parent, "", 0).await;
    assert_eq!(by_net.len(), 8, "{by_net:#?}");
    for order_by in ["net", "conflict", "z"] {
        let (paged, totals) = all_dyads(&app, parent, order_by, 3).await;
        assert_eq!(
            totals,
            [8, 8, 8],
            "three pages of 3, 3 and 2, each with the total"
        );
        assert_eq!(
            paged.iter().map(pair).collect::<Vec<_>>(),
            expected_order(&paged, order_by),
            "ordered by {order_by}"
        );
        let mut pairs: Vec<String> = paged.iter().map(pair).collect();
        pairs.sort();
        let mut all: Vec<String> = by_net.iter().map(pair).collect();
        all.sort();
        assert_eq!(pairs, all, "every pair once, by {order_by}");
    }
    // `net` is the default, and its ties go by pair.
    let order: Vec<String> = by_net.iter().map(pair).collect();
    assert_eq!(order, expected_order(&by_net, "net"));
    let position = |name: &str| order.iter().position(|pair| pair == name).expect(name);
    assert!(position("CHN-USA") + 1 == position("FRA-USA"), "{order:?}");
    assert!(position("JPN-PRK") + 1 == position("KOR-PRK"), "{order:?}");
    assert!(
        by_net.iter().any(|dyad| dyad.z_score.is_some())
            && by_net.iter().any(|dyad| dyad.z_score.is_none()),
        "some pairs have a trend and some do not: {by_net:#?}"
    );

    let korea = by_net
        .iter()
        .find(|dyad| pair(dyad) == "KOR-USA")
        .expect("the KOR–USA pair");
    assert_eq!(
        (
            korea.cooperation,
            korea.conflict,
            korea.net,
            korea.item_count
        ),
        (2.5, 1.0, 1.5, 2)
    );
    assert_eq!(
        (korea.verbal_cooperation_count, korea.verbal_conflict_count),
        (1, 1)
    );
    assert_eq!(
        korea.top_items,
        ["agendaItems/seoul-talks", "agendaItems/seoul-complaint"],
        "strongest first"
    );
    assert!(
        korea.z_score.is_some(),
        "6 active days make a trend: {korea:?}"
    );
    assert_eq!(korea.trend, "measured");
    for dyad in &by_net {
        let evidence = dyad.evidence.as_ref().expect("evidence");
        assert_eq!(
            evidence,
            &pb::DigestEvidence {
                from_date: DAY.into(),
                to_date: DAY.into(),
                pairs: vec![pair(dyad)],
                context: String::new(),
                status: pb::ItemStatus::Reported.into(),
                item_count: dyad.item_count,
            }
        );
    }
    // The evidence lists the pair's items with ListAgendaItems, as it says.
    for dyad in &by_net {
        let evidence = dyad.evidence.clone().expect("evidence");
        let listed = app
            .all_items(pb::ListAgendaItemsRequest {
                from_date: evidence.from_date,
                to_date: evidence.to_date,
                pairs: evidence.pairs,
                status: evidence.status,
                ..Default::default()
            })
            .await;
        assert_eq!(
            i64::try_from(listed.len()).expect("a few"),
            dyad.item_count,
            "{dyad:?}"
        );
    }
    let planned_pair = by_net
        .iter()
        .find(|dyad| pair(dyad) == "FRA-USA")
        .expect("FRA-USA");
    assert_eq!(
        planned_pair.top_items,
        ["agendaItems/paris-call"],
        "a planned item does not score"
    );
    assert!(
        !by_net.iter().any(|dyad| pair(dyad) == "CHN-JPN"),
        "a background item does not score"
    );

    // A token belongs to its digest and its order.
    let first = digests(&app)
        .list_digest_dyads(pb::ListDigestDyadsRequest {
            parent: parent.into(),
            page_size: 2,
            order_by: "conflict".into(),
            ..Default::default()
        })
        .await
        .expect("a first page")
        .into_inner();
    assert_eq!(first.dyads.len(), 2);
    assert_eq!(first.total_size, 8);
    for (other_parent, other_order) in [
        (parent, "net"),
        (parent, "z"),
        ("digests/daily-2025-03-11", "conflict"),
    ] {
        let status = digests(&app)
            .list_digest_dyads(pb::ListDigestDyadsRequest {
                parent: other_parent.into(),
                page_size: 2,
                page_token: first.next_page_token.clone(),
                order_by: other_order.into(),
            })
            .await
            .expect_err("a token reused with another query");
        assert_invalid(&status, "page_token");
    }

    // Recompiling replaces the table with the digest.
    app.create_item(
        "berlin-call",
        item(
            "A call to Berlin",
            DAY,
            &["USA"],
            &["DEU"],
            pb::EventType::Consult,
        ),
    )
    .await;
    let forced = digests(&app)
        .compile_digest(compile_request(DAY, true, false))
        .await
        .expect("forced compile")
        .into_inner();
    assert_eq!(forced.revision, 2);
    let (after, totals) = all_dyads(&app, parent, "net", 500).await;
    assert_eq!((after.len(), totals), (9, vec![9]));
    assert!(after.iter().any(|dyad| pair(dyad) == "DEU-USA"));
}

#[tokio::test]
async fn listing_pairs_checks_the_parent_and_the_order() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    compile(&app, DAY, false).await;
    let request = |parent: &str, order_by: &str| pb::ListDigestDyadsRequest {
        parent: parent.into(),
        order_by: order_by.into(),
        ..Default::default()
    };
    for (parent, order_by, field) in [
        ("", "", "parent"),
        ("digests/daily-2025-3-10", "net", "parent"),
        ("daily-2025-03-10", "", "parent"),
        ("digests/daily-2025-03-10/dyads", "", "parent"),
        ("digests/daily-2025-03-10", "net desc", "order_by"),
        ("digests/daily-2025-03-10", "cooperation", "order_by"),
        ("digests/daily-2025-03-10", "NET", "order_by"),
    ] {
        let status = digests(&app)
            .list_digest_dyads(request(parent, order_by))
            .await
            .expect_err("a bad request");
        assert_invalid(&status, field);
    }
    let status = digests(&app)
        .list_digest_dyads(pb::ListDigestDyadsRequest {
            page_size: -1,
            ..request("digests/daily-2025-03-10", "")
        })
        .await
        .expect_err("a negative page size");
    assert_invalid(&status, "page_size");
    for never in ["digests/daily-2025-03-11", "digests/weekly-2025-03-10"] {
        let status = digests(&app)
            .list_digest_dyads(request(never, "net"))
            .await
            .expect_err("a digest never compiled");
        assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    }
}

#[tokio::test]
async fn a_digest_stored_in_the_old_shape_still_reads() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    let compiled = compile(&app, DAY, false).await;
    // What the service stored before digests were briefings: the pairs inline, no headline.
    let old = r##"{"kind":"daily","date":"2025-03-10","time_zone":"UTC","item_count":1,
        "dyads":[{"countries":["KOR","USA"],"cooperation":2.5,"conflict":0.0,"net":2.5,
        "counts":{"verbal_cooperation":1,"material_cooperation":0,"verbal_conflict":0,
        "material_conflict":0},"trailing_mean":0.0,"trailing_stddev":0.0,"z_score":null,
        "contexts":[],"agenda_items":["agendaItems/seoul-talks"]}],
        "alliances":[{"text":"U.S.–South Korea alliance: net +2.5","countries":["KOR","USA"],
        "score":2.5,"z_score":null,"agenda_items":["agendaItems/seoul-talks"],"resources":[]}],
        "tensions":[],"leadership":[],"travel":[],"markdown":"# Daily digest"}"##;
    execute_sql(&url, "UPDATE digests SET body = $1", old).await;
    execute_sql(&url, "DELETE FROM digest_dyads WHERE digest_name <> $1", "").await;

    let read = digests(&app)
        .get_digest(get(&compiled.name, pb::DigestView::Unspecified))
        .await
        .expect("an old digest reads")
        .into_inner();
    assert_eq!(read.name, compiled.name);
    assert_eq!(read.revision, 1);
    assert_eq!(read.markdown, "# Daily digest");
    assert_eq!(read.alliances.len(), 1);
    assert_eq!(read.alliances[0].agenda_items, ["agendaItems/seoul-talks"]);
    assert_eq!(
        (read.alliances[0].more_items, &read.alliances[0].evidence),
        (0, &None)
    );
    let (pairs, totals) = all_dyads(&app, &compiled.name, "net", 0).await;
    assert_eq!(
        (pairs.len(), totals),
        (0, vec![0]),
        "an old digest has no table"
    );
    let listed = digests(&app)
        .list_digests(pb::ListDigestsRequest::default())
        .await
        .expect("old digests list")
        .into_inner();
    assert_eq!(listed.digests.len(), 1);
}

#[tokio::test]
async fn only_configured_kinds_compile() {
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    store_a_day(&app).await;
    let status = digests(&app)
        .compile_digest(pb::CompileDigestRequest {
            kind: "no-such-kind".into(),
            date: DAY.into(),
            force: true,
            deliver: true,
        })
        .await
        .expect_err("a kind that is not configured");
    assert_invalid(&status, "kind");
    assert!(
        status.message().contains("no-such-kind") || format!("{status:?}").contains("no-such-kind"),
        "{status:?}"
    );
    let status = digests(&app)
        .get_digest(get(
            "digests/no-such-kind-2025-03-10",
            pb::DigestView::Unspecified,
        ))
        .await
        .expect_err("nothing was stored");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");
    assert!(runs(&app).await.is_empty(), "nothing was claimed");
}

#[tokio::test]
async fn a_configured_kind_takes_its_own_side() {
    let (_database, url) = fresh_database().await;
    let config = config_file(
        "[kinds.seoul-desk]\n\
         cron = \"0 0 7 * * *\"\n\
         time_zone = \"Asia/Seoul\"\n\
         perspective = \"KOR\"\n\
         rivals = [\"PRK\", \"CHN\", \"RUS\"]\n",
    );
    let mut flags = vec!["--config", config.path.as_str()];
    flags.extend_from_slice(QUICK);
    let app = spawn_app_with_args(&url, &flags).await;
    store_a_day(&app).await;

    let seoul = compile_kind(&app, "seoul-desk", DAY).await;
    assert_eq!(seoul.name, format!("digests/seoul-desk-{DAY}"));
    assert_eq!(
        (seoul.perspective.as_str(), seoul.time_zone.as_str()),
        ("KOR", "Asia/Seoul")
    );
    let daily = compile(&app, DAY, false).await;
    assert_eq!(daily.perspective, "USA", "daily keeps the top-level side");
    let (pairs, _) = all_dyads(&app, &seoul.name, "net", 0).await;
    assert_eq!(
        pairs.len(),
        8,
        "the pairs are the day's, whoever reads them"
    );

    // A flag sets the top-level side: daily's, and that of a kind without its own.
    let (_other_database, other_url) = fresh_database().await;
    let weekly = config_file(WEEKLY);
    let mut flags = vec![
        "--config",
        weekly.path.as_str(),
        "--perspective",
        "FRA",
        "--rivals",
        "RUS,IRN",
    ];
    flags.extend_from_slice(QUICK);
    let paris = spawn_app_with_args(&other_url, &flags).await;
    assert_eq!(compile(&paris, DAY, false).await.perspective, "FRA");
    assert_eq!(compile_kind(&paris, "weekly", DAY).await.perspective, "FRA");
}

/// What the issue's "done when" asks of the demo day, said in terms of what the lines cite
/// rather than their wording (the wording is the golden files' business).
#[tokio::test]
async fn the_demo_day_reads_as_a_desk_wants_it() {
    let (_database, _config, app) = spawn_demo().await;
    let digest = compile(&app, "2025-01-06", false).await;
    assert_eq!(digest.perspective, "USA");

    let allied: Vec<&pb::DigestLine> = digest
        .alliances
        .iter()
        .filter(|line| line.countries.iter().any(|country| country == "KOR"))
        .collect();
    assert!(
        !allied.is_empty(),
        "no alliance line with Korea: {:#?}",
        texts(&digest.alliances)
    );
    let ties = "agendaItems/north-korea-russia-military-ties";
    assert!(
        digest
            .alignments
            .iter()
            .any(|line| line.agenda_items.iter().any(|item| item == ties)),
        "PRK–RUS military ties are an alignment to watch: {:#?}",
        texts(&digest.alignments)
    );
    assert!(
        !digest
            .alliances
            .iter()
            .any(|line| line.agenda_items.iter().any(|item| item == ties)),
        "and not an alliance"
    );
    let alignment = digest
        .alignments
        .iter()
        .find(|line| line.agenda_items.iter().any(|item| item == ties))
        .expect("the alignment line");
    let evidence = alignment.evidence.as_ref().expect("its evidence");
    assert_eq!(
        (evidence.pairs.as_slice(), evidence.status()),
        (
            ["PRK-RUS".to_owned()].as_slice(),
            pb::ItemStatus::Background
        ),
        "restated background, listed with ListAgendaItems: {evidence:?}"
    );
    // On the Seoul day the talks were announced, not reported: they do not score.
    let headline = digest.headline.as_ref().expect("a headline");
    assert_eq!(headline.item_count, 0, "{headline:?}");
    assert!(headline.background_count > 0, "{headline:?}");
    assert!(
        about(&digest.tensions, "PRK").is_empty(),
        "background does not score"
    );
    let korea = digest
        .alliances
        .iter()
        .find(|line| line.countries == ["KOR", "USA"])
        .expect("the U.S.–South Korea alliance");
    let listed = korea.evidence.as_ref().expect("its evidence").item_count;
    assert_eq!(
        i64::try_from(korea.agenda_items.len()).expect("a few") + korea.more_items,
        listed,
        "a line cites some items and counts the rest: {korea:?}"
    );
    assert!(
        digest.leadership.iter().any(|line| line
            .resources
            .contains(&"officials/choi-sang-mok".to_owned())),
        "the acting president is in Leadership: {:#?}",
        texts(&digest.leadership)
    );
    assert!(
        digest
            .travel
            .iter()
            .chain(&digest.upcoming)
            .any(|line| line.resources.iter().any(|name| name.starts_with("trips/"))),
        "the trip is in Travel or Upcoming"
    );
    for line in digest
        .key_developments
        .iter()
        .chain(&digest.alliances)
        .chain(&digest.tensions)
        .chain(&digest.alignments)
        .chain(&digest.leadership)
        .chain(&digest.travel)
        .chain(&digest.upcoming)
    {
        assert!(
            !line.agenda_items.is_empty() || !line.resources.is_empty(),
            "a line without provenance: {line:?}"
        );
        if line.more_items > 0 {
            assert!(
                line.evidence.is_some(),
                "more items but no evidence: {line:?}"
            );
        }
    }
    for section in [
        "## Key developments",
        "## Alliances",
        "## Tensions",
        "## Alignments to watch",
        "## Leadership",
        "## Travel",
        "## Upcoming",
    ] {
        assert!(digest.markdown.contains(section), "{section} missing");
    }
}

#[tokio::test]
async fn compiling_again_returns_the_digest_unless_forced_and_forcing_changes_no_byte() {
    let (_database, _config, app) = spawn_demo().await;
    let first = compile(&app, "2025-01-06", false).await;
    let again = compile(&app, "2025-01-06", false).await;
    assert_eq!(again, first, "without force the stored digest comes back");

    let forced = digests(&app)
        .compile_digest(compile_request("2025-01-06", true, false))
        .await
        .expect("forced compile")
        .into_inner();
    assert_eq!(forced.revision, 2);
    assert_eq!(
        forced.markdown.as_bytes(),
        first.markdown.as_bytes(),
        "the same items give byte-identical Markdown"
    );
    let sections = |digest: &pb::Digest| {
        (
            digest.headline.clone(),
            digest.key_developments.clone(),
            digest.alliances.clone(),
            digest.tensions.clone(),
            digest.alignments.clone(),
            digest.items.clone(),
        )
    };
    assert_eq!(sections(&forced), sections(&first));
    let stored = digests(&app)
        .get_digest(get(&first.name, pb::DigestView::Unspecified))
        .await
        .expect("get digest")
        .into_inner();
    assert_eq!(stored.revision, 2, "GetDigest shows the latest revision");

    // A new item on the day changes the digest on the next forced compile, not before.
    app.create_item(
        "paris-talks",
        item(
            "Talks on Ukraine in Paris",
            "2025-01-06",
            &["USA"],
            &["FRA"],
            pb::EventType::Consult,
        ),
    )
    .await;
    assert_eq!(compile(&app, "2025-01-06", false).await.revision, 2);
    let changed = digests(&app)
        .compile_digest(compile_request("2025-01-06", true, false))
        .await
        .expect("forced compile")
        .into_inner();
    let counted = |digest: &pb::Digest| {
        digest
            .headline
            .as_ref()
            .map_or(0, |headline| headline.item_count)
    };
    assert_eq!(
        (changed.revision, counted(&changed)),
        (3, counted(&first) + 1)
    );
    assert_ne!(changed.markdown, first.markdown);
    let (pairs, _) = all_dyads(&app, &changed.name, "net", 0).await;
    let paris = pairs
        .iter()
        .find(|dyad| dyad.countries == ["FRA", "USA"])
        .expect("the new item's pair");
    assert!(
        paris
            .top_items
            .contains(&"agendaItems/paris-talks".to_owned()),
        "{paris:?}"
    );

    let ledger = runs(&app).await;
    assert_eq!(ledger.len(), 1, "one run per kind and day: {ledger:#?}");
    let run = &ledger[0];
    assert_eq!(run.name, "digestRuns/daily-2025-01-06");
    assert_eq!(
        (run.kind.as_str(), run.date.as_str()),
        ("daily", "2025-01-06")
    );
    assert_eq!(run.state(), pb::DigestRunState::Done);
    assert_eq!(run.attempts, 3, "the first compile and two forced ones");
    assert_eq!(run.trigger, "api");
    assert_eq!(run.digest, "digests/daily-2025-01-06");
    assert!(run.error.is_empty());
    let (started, finished) = (
        run.start_time.expect("start time"),
        run.finish_time.expect("finish time"),
    );
    assert!(
        (started.seconds, started.nanos) <= (finished.seconds, finished.nanos),
        "{run:?}"
    );
}

#[tokio::test]
async fn list_digests_pages_newest_first_and_filters_by_kind_and_dates() {
    let (_database, _config, app) = spawn_demo().await;
    for date in ["2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08"] {
        compile(&app, date, false).await;
    }
    digests(&app)
        .compile_digest(pb::CompileDigestRequest {
            kind: "weekly".into(),
            date: "2025-01-06".into(),
            force: false,
            deliver: false,
        })
        .await
        .expect("compile another kind");

    let mut client = digests(&app);
    let mut request = pb::ListDigestsRequest {
        page_size: 2,
        kind: "daily".into(),
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = client
            .list_digests(request.clone())
            .await
            .expect("list digests")
            .into_inner();
        pages.push(
            page.digests
                .iter()
                .map(|digest| digest.date.clone())
                .collect::<Vec<_>>(),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
        request.page_token = page.next_page_token;
    }
    assert_eq!(
        pages,
        [
            vec!["2025-01-08", "2025-01-07"],
            vec!["2025-01-06", "2025-01-05"]
        ]
    );

    let all = client
        .list_digests(pb::ListDigestsRequest::default())
        .await
        .expect("list digests")
        .into_inner();
    let names: Vec<&str> = all
        .digests
        .iter()
        .map(|digest| digest.name.as_str())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.contains(&"digests/weekly-2025-01-06"));
    assert!(all.next_page_token.is_empty());

    let window = client
        .list_digests(pb::ListDigestsRequest {
            kind: "daily".into(),
            from_date: "2025-01-06".into(),
            to_date: "2025-01-07".into(),
            ..Default::default()
        })
        .await
        .expect("list digests by date")
        .into_inner();
    let dates: Vec<&str> = window
        .digests
        .iter()
        .map(|digest| digest.date.as_str())
        .collect();
    assert_eq!(dates, ["2025-01-07", "2025-01-06"]);

    let weekly = client
        .list_digests(pb::ListDigestsRequest {
            kind: "weekly".into(),
            ..Default::default()
        })
        .await
        .expect("list weekly digests")
        .into_inner();
    assert_eq!(weekly.digests.len(), 1);
    assert_eq!(weekly.digests[0].name, "digests/weekly-2025-01-06");

    // A token belongs to the query that made it.
    let first_page = client
        .list_digests(pb::ListDigestsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list digests")
        .into_inner();
    let status = client
        .list_digests(pb::ListDigestsRequest {
            page_size: 1,
            page_token: first_page.next_page_token,
            kind: "weekly".into(),
            ..Default::default()
        })
        .await
        .expect_err("a token reused with another filter");
    assert_invalid(&status, "page_token");

    // The ledger pages the same way, newest day first.
    let ledger = runs(&app).await;
    let days: Vec<(&str, &str)> = ledger
        .iter()
        .map(|run| (run.kind.as_str(), run.date.as_str()))
        .collect();
    assert_eq!(days.len(), 5, "{days:?}");
    assert_eq!(days[0], ("daily", "2025-01-08"));
    assert_eq!(days[4], ("daily", "2025-01-05"));
    let done = client
        .list_digest_runs(pb::ListDigestRunsRequest {
            page_size: 2,
            kind: "daily".into(),
            state: pb::DigestRunState::Done.into(),
            ..Default::default()
        })
        .await
        .expect("list runs")
        .into_inner();
    assert_eq!(done.digest_runs.len(), 2);
    assert!(!done.next_page_token.is_empty());
    let failed = client
        .list_digest_runs(pb::ListDigestRunsRequest {
            state: pb::DigestRunState::Failed.into(),
            ..Default::default()
        })
        .await
        .expect("list failed runs")
        .into_inner();
    assert!(failed.digest_runs.is_empty());
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    let (_database, _config, app) = spawn_demo().await;
    let mut client = digests(&app);

    for (kind, date, field) in [
        ("", "2025-02-30", "date"),
        ("", "06/01/2025", "date"),
        ("", "", "date"),
        ("Daily!", "2025-01-06", "kind"),
    ] {
        let status = client
            .compile_digest(pb::CompileDigestRequest {
                kind: kind.into(),
                date: date.into(),
                force: false,
                deliver: false,
            })
            .await
            .expect_err("a bad compile request");
        assert_invalid(&status, field);
    }

    for name in [
        "digests/daily-2025-1-6",
        "digests/2025-01-06",
        "daily-2025-01-06",
        "digests/Daily-2025-01-06",
        "",
    ] {
        let status = client
            .get_digest(get(name, pb::DigestView::Unspecified))
            .await
            .expect_err("a bad digest name");
        assert_invalid(&status, "name");
    }
    let status = client
        .get_digest(get("digests/daily-2025-01-06", pb::DigestView::Unspecified))
        .await
        .expect_err("a digest never compiled");
    assert_status(&status, Code::NotFound, "RESOURCE_NOT_FOUND");

    let status = client
        .list_digests(pb::ListDigestsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .expect_err("a negative page size");
    assert_invalid(&status, "page_size");
    let status = client
        .list_digests(pb::ListDigestsRequest {
            from_date: "yesterday".into(),
            kind: "DAILY".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad filters");
    assert_invalid(&status, "from_date");
    assert_invalid(&status, "kind");
    let status = client
        .list_digests(pb::ListDigestsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .expect_err("a forged token");
    assert_invalid(&status, "page_token");

    let status = client
        .list_digest_runs(pb::ListDigestRunsRequest {
            page_size: -5,
            ..Default::default()
        })
        .await
        .expect_err("a negative page size");
    assert_invalid(&status, "page_size");
    let status = client
        .list_digest_runs(pb::ListDigestRunsRequest {
            state: 42,
            ..Default::default()
        })
        .await
        .expect_err("an unknown state");
    assert_invalid(&status, "state");

    assert!(runs(&app).await.is_empty(), "bad requests compiled nothing");
}

/// A busy generated day: every line's evidence, passed to ListAgendaItems as it says, lists
/// exactly as many items as the line counts, the cited ones among them.
#[tokio::test]
async fn every_lines_evidence_lists_its_items() {
    use pb::EventType::{Accuse, Agree, Assault, Consult, Cooperate, Threaten};
    let (_database, url) = fresh_database().await;
    let app = spawn_app_with_args(&url, QUICK).await;
    let countries = ["USA", "KOR", "JPN", "PRK", "RUS", "CHN", "FRA"];
    let types = [Accuse, Agree, Assault, Consult, Cooperate, Threaten];
    let contexts = ["military", "trade", "nuclear"];
    let mut requests = Vec::new();
    for index in 0..300_usize {
        let actor = countries[index % countries.len()];
        let recipient = countries[(index / countries.len() + index + 1) % countries.len()];
        let recipient = if recipient == actor { "FRA" } else { recipient };
        let mut sent = item(
            &format!("Generated item {index}"),
            DAY,
            &[actor],
            &[recipient],
            types[index % types.len()],
        );
        sent.contexts = vec![contexts[index % contexts.len()].to_owned()];
        if index % 17 == 0 {
            sent.status = pb::ItemStatus::Background.into();
        }
        requests.push(pb::ImportAgendaItemsRequest {
            agenda_item: Some(sent),
            agenda_item_id: format!("generated-{index:03}"),
        });
    }
    let imported = app
        .agenda
        .clone()
        .import_agenda_items(futures::stream::iter(requests))
        .await
        .expect("import")
        .into_inner();
    assert_eq!(imported.imported_count, 300);
    let digest = compile(&app, DAY, false).await;
    let mut checked = 0;
    for line in digest
        .key_developments
        .iter()
        .chain(&digest.alliances)
        .chain(&digest.tensions)
        .chain(&digest.alignments)
        .chain(&digest.upcoming)
    {
        let Some(evidence) = &line.evidence else {
            continue;
        };
        let mut listed = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = app
                .agenda
                .clone()
                .list_agenda_items(pb::ListAgendaItemsRequest {
                    page_size: 500,
                    page_token,
                    from_date: evidence.from_date.clone(),
                    to_date: evidence.to_date.clone(),
                    pairs: evidence.pairs.clone(),
                    context: evidence.context.clone(),
                    status: evidence.status,
                    ..Default::default()
                })
                .await
                .expect("list the evidence")
                .into_inner();
            listed.extend(page.agenda_items.into_iter().map(|item| item.name));
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        assert_eq!(listed.len() as i64, evidence.item_count, "{}", line.text);
        for cited in &line.agenda_items {
            assert!(
                listed.contains(cited),
                "{cited} is not in the evidence of {}",
                line.text
            );
        }
        assert_eq!(
            line.agenda_items.len() as i64 + line.more_items,
            evidence.item_count,
            "{}",
            line.text
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} lines with evidence");
    assert!(digest.markdown.len() < 64 * 1024);
}
