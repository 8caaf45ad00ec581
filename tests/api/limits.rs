//! What one call may carry (issue 12): repeated fields refused on their length before any
//! entry is parsed, errors bounded in size and number, and text that could read one way in a
//! digest and another in the data refused. Each opening finding of the issue is a test here.

use briefing::api::pb;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt as _;

use crate::helpers::{TestApp, assert_invalid, bad_fields, item, spawn_app};

fn valid_item() -> pb::AgendaItem {
    item(
        "Blinken and Cho meet in Seoul",
        "2025-01-06",
        &["USA"],
        &["KOR"],
        pb::EventType::Consult,
    )
}

async fn create(
    app: &TestApp,
    agenda_item: pb::AgendaItem,
) -> Result<pb::AgendaItem, tonic::Status> {
    app.agenda
        .clone()
        .create_agenda_item(pb::CreateAgendaItemRequest {
            agenda_item: Some(agenda_item),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn health_on_its_own_connection(port: u16) -> ServingStatus {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("address is a uri")
        .connect()
        .await
        .expect("client connects");
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

/// The first finding: 100,000 distinct participants took 24 s of CPU on the async
/// runtime and stalled health checks. Now the list is refused on its length, and health on
/// another connection is answered while the request is in flight (how fast is measured by
/// `benches/hostile.py participants`, not here).
#[tokio::test]
async fn a_hundred_thousand_participants_are_refused_on_their_count() {
    let app = spawn_app().await;
    let mut crowded = valid_item();
    crowded.participants = (0..100_000)
        .map(|position| format!("officials/person-{position}"))
        .collect();

    let (refused, health) = tokio::join!(
        create(&app, crowded),
        health_on_its_own_connection(app.port)
    );

    let status = refused.expect_err("100,000 participants are refused");
    assert_invalid(&status, "agenda_item.participants");
    assert!(
        status.message().contains("at most 50 entries, got 100000"),
        "{status:?}"
    );
    assert_eq!(bad_fields(&status), ["agenda_item.participants"]);
    assert_eq!(health, ServingStatus::Serving);
}

#[tokio::test]
async fn every_repeated_field_has_a_maximum() {
    let app = spawn_app().await;
    let many = |count: usize, prefix: &str| -> Vec<String> {
        (0..count)
            .map(|position| format!("{prefix}{position}"))
            .collect()
    };
    let mut overfull = valid_item();
    overfull.participants = many(51, "officials/p-");
    overfull.actors = many(21, "X");
    overfull.recipients = many(21, "Y");
    overfull.contexts = many(21, "c");
    overfull.sources = (0..21)
        .map(|position| crate::helpers::source(&format!("https://example.org/{position}"), "AP"))
        .collect();
    let status = create(&app, overfull).await.expect_err("refused");
    assert_eq!(
        bad_fields(&status),
        [
            "agenda_item.participants",
            "agenda_item.actors",
            "agenda_item.recipients",
            "agenda_item.contexts",
            "agenda_item.sources",
        ],
        "each list is refused as a whole, none of its entries is looked at: {status:?}"
    );

    let mut official = crate::helpers::official("Cho Tae-yul", "KOR");
    official.aliases = many(21, "Alias ");
    official.roles = (0..51)
        .map(|_| crate::helpers::role("Minister", "2023-12-29"))
        .collect();
    let status = app
        .officials
        .clone()
        .create_official(pb::CreateOfficialRequest {
            official: Some(official),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(
        bad_fields(&status),
        ["official.aliases", "official.roles"],
        "{status:?}"
    );

    let legs = (0..51)
        .map(|_| crate::helpers::leg("KOR", "Seoul", "2025-01-05", "2025-01-06", "Asia/Seoul"))
        .collect();
    let status = app
        .trips
        .clone()
        .create_trip(pb::CreateTripRequest {
            trip: Some(crate::helpers::trip(
                "Trip",
                "officials/antony-blinken",
                legs,
            )),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_invalid(&status, "trip.legs");
}

/// The fourth finding: a 10 MB name came back whole in `grpc-message`, in the
/// BadRequest detail and in the log. Now what is shown back is cut at 200 characters.
#[tokio::test]
async fn echoed_values_are_cut_at_two_hundred_characters() {
    let app = spawn_app().await;
    let huge = "n".repeat(1_000_000);
    let mut bad = valid_item();
    bad.trip = format!("trips/{huge}");
    bad.contexts = vec![huge.clone()];
    let status = create(&app, bad).await.expect_err("refused");
    assert_invalid(&status, "agenda_item.trip");
    assert!(
        status.message().len() < 4_000,
        "{} bytes",
        status.message().len()
    );
    let details = status.get_error_details();
    for violation in &details.bad_request().expect("BadRequest").field_violations {
        assert!(
            violation.description.chars().count() < 600,
            "{}: {} characters",
            violation.field,
            violation.description.chars().count()
        );
    }
    assert!(
        status
            .message()
            .contains(&format!("\"trips/{}…\"", &huge[..194])),
        "the value is shown cut with an ellipsis: {}",
        &status.message()[..300]
    );
}

#[tokio::test]
async fn at_most_fifty_violations_are_listed() {
    let app = spawn_app().await;
    let mut bad = valid_item();
    bad.participants = (0..50)
        .map(|position| format!("nobody-{position}"))
        .collect();
    bad.contexts = (0..20).map(|position| format!("BAD {position}")).collect();
    let status = create(&app, bad).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // 70 bad entries: 50 are kept (as many as fit the trailers are listed), 20 only counted.
    let fields = bad_fields(&status);
    assert!((20..=50).contains(&fields.len()), "{fields:?}");
    assert_eq!(fields[0], "agenda_item.participants[0]");
    assert!(
        status.message().ends_with("and 67 more"),
        "the message spells out three and counts the rest: {}",
        status.message()
    );
}

/// Bidirectional overrides and zero-width characters make text read differently from what it
/// holds ("Trojan Source"); they are refused where people read them.
#[tokio::test]
async fn hidden_direction_and_zero_width_characters_are_refused() {
    let app = spawn_app().await;
    for (hidden, what) in [
        ('\u{202E}', "right-to-left override"),
        ('\u{2066}', "left-to-right isolate"),
        ('\u{200B}', "zero-width space"),
        ('\u{2060}', "word joiner"),
        ('\u{FEFF}', "zero-width no-break space"),
    ] {
        let mut bad = valid_item();
        bad.title = format!("Blinken{hidden} meets Cho");
        bad.summary = format!("They met{hidden}.");
        let status = create(&app, bad).await.expect_err(what);
        assert_eq!(
            bad_fields(&status),
            ["agenda_item.title", "agenda_item.summary"],
            "{what}: {status:?}"
        );
        assert!(
            status
                .message()
                .contains(&format!("U+{:04X}", u32::from(hidden))),
            "{what}: {}",
            status.message()
        );

        let mut official = crate::helpers::official(&format!("Cho{hidden} Tae-yul"), "KOR");
        official.aliases = vec![format!("Cho{hidden}")];
        let status = app
            .officials
            .clone()
            .create_official(pb::CreateOfficialRequest {
                official: Some(official),
                ..Default::default()
            })
            .await
            .expect_err(what);
        assert_eq!(
            bad_fields(&status),
            ["official.display_name", "official.aliases[0]"],
            "{what}: {status:?}"
        );
    }
    // Scripts written right to left are not hidden characters: they are text; nor is the
    // joiner inside an emoji sequence.
    let mut arabic = valid_item();
    arabic.title = "لقاء في سيول 👨\u{200D}👩\u{200D}👧".into();
    create(&app, arabic)
        .await
        .expect("right-to-left text is accepted");
}

/// Text people write goes into the Markdown digest as text: no markup, no heading or list of
/// its own, whatever the title holds.
#[tokio::test]
async fn titles_go_into_the_markdown_digest_escaped() {
    let app = spawn_app().await;
    let mut hostile = valid_item();
    hostile.title = "**Alert** [click](https://evil.example)\n# Breaking <b>".into();
    hostile.event_type = pb::EventType::Threaten.into();
    create(&app, hostile)
        .await
        .expect("markup is text, and text is accepted");

    let digest = crate::digest_helpers::compile(&app, "2025-01-06", false).await;
    assert!(
        digest
            .markdown
            .contains("\\*\\*Alert\\*\\* \\[click\\](https://evil.example) \\# Breaking \\<b\\>"),
        "{}",
        digest.markdown
    );
    assert!(
        !digest.markdown.contains("\n# Breaking"),
        "{}",
        digest.markdown
    );
}

/// The last finding: messages over the limit got OUT_OF_RANGE, with 16 MB for three
/// services and 4 MB for two. Now one `max_message_bytes` (4 MiB) holds everywhere, and past
/// it the answer is RESOURCE_EXHAUSTED.
#[tokio::test]
async fn a_request_over_max_message_bytes_is_resource_exhausted() {
    let app = spawn_app().await;
    let mut large = valid_item();
    large.summary = "s".repeat(4 * 1024 * 1024 + 1);
    let status = create(&app, large).await.expect_err("over the limit");
    crate::helpers::assert_status(&status, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");
    assert!(status.message().contains("4194304 bytes"), "{status:?}");

    let digests =
        briefing::api::pb::digest_service_client::DigestServiceClient::new(app.channel.clone());
    let status = digests
        .clone()
        .get_digest(pb::GetDigestRequest {
            name: "n".repeat(4 * 1024 * 1024 + 1),
            ..Default::default()
        })
        .await
        .expect_err("over the limit");
    crate::helpers::assert_status(&status, Code::ResourceExhausted, "MESSAGE_TOO_LARGE");

    // Under the limit, the same large text is judged on its content.
    let mut long = valid_item();
    long.summary = "s".repeat(1024 * 1024);
    let status = create(&app, long).await.expect_err("too long a summary");
    assert_invalid(&status, "agenda_item.summary");
}

/// Field 1 as bytes, whatever they are.
#[derive(Clone, PartialEq, prost::Message)]
struct RawBytes {
    #[prost(bytes = "vec", tag = "1")]
    value: Vec<u8>,
}

/// Bytes that are not the method's protobuf message are the client's fault: INVALID_ARGUMENT,
/// not INTERNAL.
#[tokio::test]
async fn invalid_protobuf_is_invalid_argument() {
    let app = spawn_app().await;
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("channel ready");
    // Field 1 of GetTripRequest is the name, a string: these bytes are not UTF-8.
    let not_a_string = RawBytes {
        value: vec![0xff, 0xfe, 0xfd],
    };
    let status = grpc
        .unary(
            tonic::Request::new(not_a_string),
            http::uri::PathAndQuery::from_static("/briefing.v1.TripService/GetTrip"),
            tonic_prost::ProstCodec::<RawBytes, ()>::default(),
        )
        .await
        .expect_err("not a GetTripRequest");
    crate::helpers::assert_status(&status, Code::InvalidArgument, "MALFORMED_MESSAGE");
}
