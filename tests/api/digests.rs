//! DigestService over gRPC: the demo day's digest reads as the seed article does, compiling is
//! idempotent unless forced, the same items give the same bytes, and the ledger shows it all.

use briefing::api::pb;
use tonic::Code;

use crate::digest_helpers::{QUICK, compile, compile_request, digests, runs};
use crate::helpers::{
    DatabaseGuard, TestApp, assert_invalid, assert_status, fresh_database, item,
    spawn_app_with_args,
};

async fn spawn_demo() -> (DatabaseGuard, TestApp) {
    let (database, url) = fresh_database().await;
    let mut flags = vec!["--demo"];
    flags.extend_from_slice(QUICK);
    (database, spawn_app_with_args(&url, &flags).await)
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
async fn the_demo_day_names_the_alliances_the_tensions_and_the_acting_president() {
    let (_database, app) = spawn_demo().await;
    let digest = compile(&app, "2025-01-06", false).await;

    assert_eq!(digest.name, "digests/daily-2025-01-06");
    assert_eq!(
        (digest.kind.as_str(), digest.date.as_str()),
        ("daily", "2025-01-06")
    );
    assert_eq!(digest.time_zone, "UTC");
    assert_eq!(digest.revision, 1);
    assert_eq!(
        digest.item_count, 8,
        "the demo data set has 8 items on the Seoul day"
    );

    let alliances = texts(&digest.alliances);
    for name in [
        "U.S.–South Korea alliance",
        "U.S.–Japan–South Korea trilateral",
    ] {
        assert!(
            alliances.iter().any(|line| line.contains(name)),
            "{name} missing from the alliances {alliances:#?}"
        );
    }
    assert!(
        !about(&digest.tensions, "PRK").is_empty(),
        "no tension with North Korea in {:#?}",
        texts(&digest.tensions)
    );
    assert!(
        digest
            .tensions
            .iter()
            .any(|line| line.text.contains("North Korea's missile threats")),
        "{:#?}",
        texts(&digest.tensions)
    );
    let military_ties = digest
        .alliances
        .iter()
        .chain(&digest.tensions)
        .find(|line| {
            line.agenda_items
                .iter()
                .any(|item| item == "agendaItems/north-korea-russia-military-ties")
        })
        .expect("a line comes from the North Korea–Russia military ties");
    assert!(
        military_ties.text.contains("North Korea and Russia"),
        "{military_ties:?}"
    );
    assert!(
        digest
            .dyads
            .iter()
            .any(|dyad| dyad.countries == ["PRK", "RUS"]),
        "the PRK–RUS pair is among the dyads"
    );
    let china = about(&digest.tensions, "CHN");
    assert!(
        china.iter().any(|line| line.contains("China")),
        "no tension with China in {:#?}",
        texts(&digest.tensions)
    );
    let acting = digest
        .leadership
        .iter()
        .find(|line| line.text.contains("Choi Sang-mok"))
        .unwrap_or_else(|| panic!("no Choi Sang-mok in {:#?}", texts(&digest.leadership)));
    assert!(acting.text.contains("Acting President"), "{acting:?}");
    assert!(
        acting
            .resources
            .contains(&"officials/choi-sang-mok".to_owned())
    );
    assert!(
        digest
            .travel
            .iter()
            .any(|line| line.text.contains("Seoul") && line.text.contains("Paris")),
        "the trip is in the travel section: {:#?}",
        texts(&digest.travel)
    );

    // Provenance: every line names where it came from.
    for line in digest
        .alliances
        .iter()
        .chain(&digest.tensions)
        .chain(&digest.leadership)
        .chain(&digest.travel)
    {
        assert!(
            !line.agenda_items.is_empty() || !line.resources.is_empty(),
            "a line without provenance: {line:?}"
        );
    }
    for section in ["## Alliances", "## Tensions", "## Leadership", "## Travel"] {
        assert!(digest.markdown.contains(section), "{section} missing");
    }
    assert!(digest.markdown.contains("Choi Sang-mok"));
    assert!(
        digest
            .markdown
            .contains("agendaItems/seoul-ironclad-alliance")
    );

    let read_back = digests(&app)
        .get_digest(pb::GetDigestRequest {
            name: "digests/daily-2025-01-06".into(),
        })
        .await
        .expect("get digest")
        .into_inner();
    assert_eq!(
        read_back, digest,
        "GetDigest returns what CompileDigest did"
    );
}

#[tokio::test]
async fn compiling_again_returns_the_digest_unless_forced_and_forcing_changes_no_byte() {
    let (_database, app) = spawn_demo().await;
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
    assert_eq!(
        (&forced.dyads, &forced.alliances, &forced.tensions),
        (&first.dyads, &first.alliances, &first.tensions)
    );
    let stored = digests(&app)
        .get_digest(pb::GetDigestRequest {
            name: first.name.clone(),
        })
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
    assert_eq!((changed.revision, changed.item_count), (3, 9));
    assert_ne!(changed.markdown, first.markdown);
    assert!(changed.markdown.contains("agendaItems/paris-talks"));

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
    let (_database, app) = spawn_demo().await;
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
    let (_database, app) = spawn_demo().await;
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
            .get_digest(pb::GetDigestRequest { name: name.into() })
            .await
            .expect_err("a bad digest name");
        assert_invalid(&status, "name");
    }
    let status = client
        .get_digest(pb::GetDigestRequest {
            name: "digests/daily-2025-01-06".into(),
        })
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
