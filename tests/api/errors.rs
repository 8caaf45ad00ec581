//! Bad input, as a client meets it: INVALID_ARGUMENT with a `google.rpc.BadRequest` that names
//! the exact field, an `ErrorInfo` in domain `briefing`, and nothing written.

use briefing::api::pb;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::helpers::{TestApp, bad_fields, final_trip, leg, mask, reason, source, spawn_app};

/// One request of any method.
enum Call {
    CreateTrip(pb::CreateTripRequest),
    GetTrip(pb::GetTripRequest),
    ListTrips(pb::ListTripsRequest),
    UpdateTrip(pb::UpdateTripRequest),
    DeleteTrip(pb::DeleteTripRequest),
    CreateOfficial(pb::CreateOfficialRequest),
    GetOfficial(pb::GetOfficialRequest),
    ListOfficials(pb::ListOfficialsRequest),
    UpdateOfficial(pb::UpdateOfficialRequest),
    DeleteOfficial(pb::DeleteOfficialRequest),
    CreateItem(pb::CreateAgendaItemRequest),
    GetItem(pb::GetAgendaItemRequest),
    ListItems(pb::ListAgendaItemsRequest),
    UpdateItem(pb::UpdateAgendaItemRequest),
    DeleteItem(pb::DeleteAgendaItemRequest),
}

async fn send(app: &TestApp, call: Call) -> Result<(), Status> {
    match call {
        Call::CreateTrip(request) => app.trips.clone().create_trip(request).await.map(drop),
        Call::GetTrip(request) => app.trips.clone().get_trip(request).await.map(drop),
        Call::ListTrips(request) => app.trips.clone().list_trips(request).await.map(drop),
        Call::UpdateTrip(request) => app.trips.clone().update_trip(request).await.map(drop),
        Call::DeleteTrip(request) => app.trips.clone().delete_trip(request).await.map(drop),
        Call::CreateOfficial(request) => app
            .officials
            .clone()
            .create_official(request)
            .await
            .map(drop),
        Call::GetOfficial(request) => app.officials.clone().get_official(request).await.map(drop),
        Call::ListOfficials(request) => app
            .officials
            .clone()
            .list_officials(request)
            .await
            .map(drop),
        Call::UpdateOfficial(request) => app
            .officials
            .clone()
            .update_official(request)
            .await
            .map(drop),
        Call::DeleteOfficial(request) => app
            .officials
            .clone()
            .delete_official(request)
            .await
            .map(drop),
        Call::CreateItem(request) => app
            .agenda
            .clone()
            .create_agenda_item(request)
            .await
            .map(drop),
        Call::GetItem(request) => app.agenda.clone().get_agenda_item(request).await.map(drop),
        Call::ListItems(request) => app
            .agenda
            .clone()
            .list_agenda_items(request)
            .await
            .map(drop),
        Call::UpdateItem(request) => app
            .agenda
            .clone()
            .update_agenda_item(request)
            .await
            .map(drop),
        Call::DeleteItem(request) => app
            .agenda
            .clone()
            .delete_agenda_item(request)
            .await
            .map(drop),
    }
}

fn valid_trip() -> pb::Trip {
    let mut trip = final_trip("officials/antony-blinken");
    trip.sources = vec![source("https://www.state.gov/", "U.S. Department of State")];
    trip
}

fn valid_official() -> pb::Official {
    let prime_minister = pb::Role {
        title: "Prime Minister".into(),
        start_date: "2022-05-21".into(),
        state: pb::RoleState::Suspended.into(),
        state_date: "2024-12-27".into(),
        ..Default::default()
    };
    let acting = pb::Role {
        title: "Acting President".into(),
        start_date: "2024-12-14".into(),
        end_date: "2024-12-27".into(),
        acting: true,
        state: pb::RoleState::Ended.into(),
        ..Default::default()
    };
    pb::Official {
        display_name: "Han Duck-soo".into(),
        aliases: vec!["Han Deok-su".into(), "Han Duck Soo".into()],
        country: "KOR".into(),
        wikidata_id: "Q485580".into(),
        roles: vec![prime_minister, acting],
        ..Default::default()
    }
}

fn valid_item() -> pb::AgendaItem {
    pb::AgendaItem {
        title: "Talks in Seoul".into(),
        summary: "Blinken meets senior officials".into(),
        date: "2025-01-06".into(),
        trip: "trips/final-trip".into(),
        leg: Some(0),
        participants: vec![
            "officials/antony-blinken".into(),
            "officials/cho-tae-yul".into(),
        ],
        actors: vec!["USAGOV".into(), "JPNGOV".into()],
        recipients: vec!["KORGOV".into(), "KOR".into()],
        event_type: pb::EventType::Consult.into(),
        mode: "visit".into(),
        contexts: vec!["diplomatic".into(), "indo-pacific".into()],
        intensity: Some(3.0),
        sources: vec![source("https://www.state.gov/", "U.S. Department of State")],
        notes: String::new(),
        ..Default::default()
    }
}

fn create_trip(change: impl FnOnce(&mut pb::Trip)) -> Call {
    let mut trip = valid_trip();
    change(&mut trip);
    Call::CreateTrip(pb::CreateTripRequest {
        trip: Some(trip),
        trip_id: String::new(),
    })
}

fn create_trip_with_id(trip_id: &str) -> Call {
    Call::CreateTrip(pb::CreateTripRequest {
        trip: Some(valid_trip()),
        trip_id: trip_id.into(),
    })
}

fn update_trip(paths: &[&str], change: impl FnOnce(&mut pb::Trip)) -> Call {
    let mut trip = pb::Trip {
        name: "trips/final-trip".into(),
        ..Default::default()
    };
    change(&mut trip);
    Call::UpdateTrip(pb::UpdateTripRequest {
        trip: Some(trip),
        update_mask: mask(paths),
    })
}

fn create_official(change: impl FnOnce(&mut pb::Official)) -> Call {
    let mut official = valid_official();
    change(&mut official);
    Call::CreateOfficial(pb::CreateOfficialRequest {
        official: Some(official),
        official_id: String::new(),
    })
}

fn create_item(change: impl FnOnce(&mut pb::AgendaItem)) -> Call {
    let mut item = valid_item();
    change(&mut item);
    Call::CreateItem(pb::CreateAgendaItemRequest {
        agenda_item: Some(item),
        agenda_item_id: String::new(),
    })
}

fn update_item(change: impl FnOnce(&mut pb::AgendaItem)) -> Call {
    let mut item = pb::AgendaItem {
        name: "agendaItems/seoul-talks".into(),
        ..Default::default()
    };
    change(&mut item);
    Call::UpdateItem(pb::UpdateAgendaItemRequest {
        agenda_item: Some(item),
        update_mask: None,
    })
}

fn list_items(change: impl FnOnce(&mut pb::ListAgendaItemsRequest)) -> Call {
    let mut request = pb::ListAgendaItemsRequest::default();
    change(&mut request);
    Call::ListItems(request)
}

/// A bad request and the one field path its BadRequest must name.
fn bad_requests() -> Vec<(&'static str, Call, &'static str)> {
    let long = |length: usize| "x".repeat(length);
    vec![
        // CreateTrip
        (
            "no trip at all",
            Call::CreateTrip(pb::CreateTripRequest::default()),
            "trip",
        ),
        (
            "empty title",
            create_trip(|trip| trip.title.clear()),
            "trip.title",
        ),
        (
            "blank title",
            create_trip(|trip| trip.title = "   ".into()),
            "trip.title",
        ),
        (
            "title of 301 characters",
            create_trip(|trip| trip.title = long(301)),
            "trip.title",
        ),
        (
            "control character in the title",
            create_trip(|trip| trip.title = "bell\u{7}".into()),
            "trip.title",
        ),
        (
            "traveler without collection",
            create_trip(|trip| trip.traveler = "antony-blinken".into()),
            "trip.traveler",
        ),
        (
            "traveler of the wrong collection",
            create_trip(|trip| trip.traveler = "trips/final-trip".into()),
            "trip.traveler",
        ),
        (
            "traveler that does not exist",
            create_trip(|trip| trip.traveler = "officials/nobody".into()),
            "trip.traveler",
        ),
        (
            "no legs",
            create_trip(|trip| trip.legs.clear()),
            "trip.legs",
        ),
        (
            "51 legs",
            create_trip(|trip| trip.legs = vec![trip.legs[0].clone(); 51]),
            "trip.legs",
        ),
        (
            "unassigned country",
            create_trip(|trip| trip.legs[0].country = "XXX".into()),
            "trip.legs[0].country",
        ),
        (
            "lowercase country",
            create_trip(|trip| trip.legs[0].country = "kor".into()),
            "trip.legs[0].country",
        ),
        (
            "alpha-2 country",
            create_trip(|trip| trip.legs[2].country = "FR".into()),
            "trip.legs[2].country",
        ),
        (
            "empty city",
            create_trip(|trip| trip.legs[1].city.clear()),
            "trip.legs[1].city",
        ),
        (
            "no such day",
            create_trip(|trip| trip.legs[0].start_date = "2025-02-30".into()),
            "trip.legs[0].start_date",
        ),
        (
            "date in another format",
            create_trip(|trip| trip.legs[0].start_date = "05/01/2025".into()),
            "trip.legs[0].start_date",
        ),
        (
            "leg ends before it starts",
            create_trip(|trip| trip.legs[0].end_date = "2025-01-04".into()),
            "trip.legs[0].end_date",
        ),
        (
            "unknown time zone",
            create_trip(|trip| trip.legs[1].time_zone = "Asia/Sapporo".into()),
            "trip.legs[1].time_zone",
        ),
        (
            "no time zone",
            create_trip(|trip| trip.legs[2].time_zone.clear()),
            "trip.legs[2].time_zone",
        ),
        (
            "legs out of travel order",
            create_trip(|trip| {
                trip.legs[2] = leg("FRA", "Paris", "2025-01-01", "2025-01-01", "Europe/Paris")
            }),
            "trip.legs[2].start_date",
        ),
        (
            "source url that is not http",
            create_trip(|trip| trip.sources[0].url = "ftp://example.com/x".into()),
            "trip.sources[0].url",
        ),
        (
            "source without url, publisher or excerpt",
            create_trip(|trip| trip.sources[0] = pb::Source::default()),
            "trip.sources[0].url",
        ),
        (
            "source time out of range",
            create_trip(|trip| {
                trip.sources[0].published_time = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                })
            }),
            "trip.sources[0].published_time",
        ),
        (
            "id with uppercase and underscore",
            create_trip_with_id("Final_Trip"),
            "trip_id",
        ),
        (
            "id of 64 characters",
            create_trip_with_id(&"a".repeat(64)),
            "trip_id",
        ),
        // GetTrip, ListTrips, UpdateTrip, DeleteTrip
        (
            "empty name",
            Call::GetTrip(pb::GetTripRequest {
                name: String::new(),
            }),
            "name",
        ),
        (
            "name with two segments",
            Call::GetTrip(pb::GetTripRequest {
                name: "trips/a/b".into(),
            }),
            "name",
        ),
        (
            "name of another collection",
            Call::GetTrip(pb::GetTripRequest {
                name: "officials/antony-blinken".into(),
            }),
            "name",
        ),
        (
            "negative page size",
            Call::ListTrips(pb::ListTripsRequest {
                page_size: -1,
                ..Default::default()
            }),
            "page_size",
        ),
        (
            "country name instead of code",
            Call::ListTrips(pb::ListTripsRequest {
                country: "Korea".into(),
                ..Default::default()
            }),
            "country",
        ),
        (
            "thirteenth month",
            Call::ListTrips(pb::ListTripsRequest {
                from_date: "2025-13-01".into(),
                ..Default::default()
            }),
            "from_date",
        ),
        (
            "range that ends before it starts",
            Call::ListTrips(pb::ListTripsRequest {
                from_date: "2025-01-08".into(),
                to_date: "2025-01-07".into(),
                ..Default::default()
            }),
            "to_date",
        ),
        (
            "traveler filter without collection",
            Call::ListTrips(pb::ListTripsRequest {
                traveler: "blinken".into(),
                ..Default::default()
            }),
            "traveler",
        ),
        (
            "made-up page token",
            Call::ListTrips(pb::ListTripsRequest {
                page_token: "next".into(),
                ..Default::default()
            }),
            "page_token",
        ),
        (
            "update without a trip",
            Call::UpdateTrip(pb::UpdateTripRequest::default()),
            "trip",
        ),
        (
            "update without a name",
            update_trip(&[], |trip| {
                trip.name.clear();
                trip.title = "x".into()
            }),
            "trip.name",
        ),
        (
            "nested mask path",
            update_trip(&["legs.city"], |trip| trip.title = "x".into()),
            "update_mask.paths[0]",
        ),
        (
            "bad leg in an update",
            update_trip(&[], |trip| {
                trip.legs = vec![leg(
                    "XXX",
                    "Seoul",
                    "2025-01-05",
                    "2025-01-06",
                    "Asia/Seoul",
                )]
            }),
            "trip.legs[0].country",
        ),
        (
            "replacement without a title",
            update_trip(&["*"], |trip| trip.notes = "only notes".into()),
            "trip.title",
        ),
        (
            "delete by a malformed name",
            Call::DeleteTrip(pb::DeleteTripRequest {
                name: "trip/final-trip".into(),
                ..Default::default()
            }),
            "name",
        ),
        // OfficialService
        (
            "no official at all",
            Call::CreateOfficial(pb::CreateOfficialRequest::default()),
            "official",
        ),
        (
            "empty display name",
            create_official(|official| official.display_name.clear()),
            "official.display_name",
        ),
        (
            "no country",
            create_official(|official| official.country.clear()),
            "official.country",
        ),
        (
            "unassigned country code",
            create_official(|official| official.country = "ZZZ".into()),
            "official.country",
        ),
        (
            "wikidata id without Q",
            create_official(|official| official.wikidata_id = "312".into()),
            "official.wikidata_id",
        ),
        (
            "empty alias",
            create_official(|official| official.aliases[1].clear()),
            "official.aliases[1]",
        ),
        (
            "21 aliases",
            create_official(|official| official.aliases = vec!["alias".into(); 21]),
            "official.aliases",
        ),
        (
            "role without title",
            create_official(|official| official.roles[0].title.clear()),
            "official.roles[0].title",
        ),
        (
            "role start without a day",
            create_official(|official| official.roles[0].start_date = "2025-01".into()),
            "official.roles[0].start_date",
        ),
        (
            "role ends before it starts",
            create_official(|official| official.roles[1].end_date = "2024-12-01".into()),
            "official.roles[1].end_date",
        ),
        (
            "ended role without end date",
            create_official(|official| official.roles[1].end_date.clear()),
            "official.roles[1].end_date",
        ),
        (
            "unknown role state",
            create_official(|official| official.roles[0].state = 7),
            "official.roles[0].state",
        ),
        (
            "state before the role began",
            create_official(|official| official.roles[0].state_date = "2020-01-01".into()),
            "official.roles[0].state_date",
        ),
        (
            "official id with non-ascii letters",
            Call::CreateOfficial(pb::CreateOfficialRequest {
                official: Some(valid_official()),
                official_id: "hän".into(),
            }),
            "official_id",
        ),
        (
            "blank text query",
            Call::ListOfficials(pb::ListOfficialsRequest {
                query: "   ".into(),
                ..Default::default()
            }),
            "query",
        ),
        (
            "lowercase country filter",
            Call::ListOfficials(pb::ListOfficialsRequest {
                country: "usa".into(),
                ..Default::default()
            }),
            "country",
        ),
        (
            "unknown official mask path",
            Call::UpdateOfficial(pb::UpdateOfficialRequest {
                official: Some(pb::Official {
                    name: "officials/antony-blinken".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name", "name.first"]),
            }),
            "update_mask.paths[1]",
        ),
        (
            "get an official by an empty id",
            Call::GetOfficial(pb::GetOfficialRequest {
                name: "officials/".into(),
            }),
            "name",
        ),
        (
            "delete an official by a trip name",
            Call::DeleteOfficial(pb::DeleteOfficialRequest {
                name: "trips/final-trip".into(),
                etag: String::new(),
            }),
            "name",
        ),
        // AgendaService
        (
            "no agenda item at all",
            Call::CreateItem(pb::CreateAgendaItemRequest::default()),
            "agenda_item",
        ),
        (
            "empty item title",
            create_item(|item| item.title.clear()),
            "agenda_item.title",
        ),
        (
            "summary of 5001 characters",
            create_item(|item| item.summary = long(5001)),
            "agenda_item.summary",
        ),
        (
            "no date",
            create_item(|item| item.date.clear()),
            "agenda_item.date",
        ),
        (
            "32nd of January",
            create_item(|item| item.date = "2025-01-32".into()),
            "agenda_item.date",
        ),
        (
            "trip that does not exist",
            create_item(|item| item.trip = "trips/nowhere".into()),
            "agenda_item.trip",
        ),
        (
            "trip without collection",
            create_item(|item| item.trip = "final-trip".into()),
            "agenda_item.trip",
        ),
        (
            "leg without a trip",
            create_item(|item| item.trip.clear()),
            "agenda_item.leg",
        ),
        (
            "negative leg",
            create_item(|item| item.leg = Some(-1)),
            "agenda_item.leg",
        ),
        (
            "leg the trip does not have",
            create_item(|item| item.leg = Some(3)),
            "agenda_item.leg",
        ),
        (
            "participant that does not exist",
            create_item(|item| item.participants[1] = "officials/nobody".into()),
            "agenda_item.participants[1]",
        ),
        (
            "participant without collection",
            create_item(|item| item.participants[0] = "blinken".into()),
            "agenda_item.participants[0]",
        ),
        (
            "unassigned actor country",
            create_item(|item| item.actors[1] = "XXX".into()),
            "agenda_item.actors[1]",
        ),
        (
            "unknown actor sector",
            create_item(|item| item.actors[0] = "USAXYZ".into()),
            "agenda_item.actors[0]",
        ),
        (
            "actor of four letters",
            create_item(|item| item.actors[0] = "USAG".into()),
            "agenda_item.actors[0]",
        ),
        (
            "recipient listed twice",
            create_item(|item| item.recipients[1] = "KORGOV".into()),
            "agenda_item.recipients[1]",
        ),
        (
            "21 actors",
            create_item(|item| {
                item.actors = COUNTRIES_21.iter().map(|code| (*code).to_owned()).collect()
            }),
            "agenda_item.actors",
        ),
        (
            "unspecified event type",
            create_item(|item| item.event_type = 0),
            "agenda_item.event_type",
        ),
        (
            "event type out of range",
            create_item(|item| item.event_type = 99),
            "agenda_item.event_type",
        ),
        (
            "mode with uppercase",
            create_item(|item| item.mode = "Visit".into()),
            "agenda_item.mode",
        ),
        (
            "context with a space",
            create_item(|item| item.contexts[0] = "Indo Pacific".into()),
            "agenda_item.contexts[0]",
        ),
        (
            "intensity above 10",
            create_item(|item| item.intensity = Some(10.5)),
            "agenda_item.intensity",
        ),
        (
            "intensity below -10",
            create_item(|item| item.intensity = Some(-11.0)),
            "agenda_item.intensity",
        ),
        (
            "intensity not a number",
            create_item(|item| item.intensity = Some(f64::NAN)),
            "agenda_item.intensity",
        ),
        (
            "source url that is not a url",
            create_item(|item| item.sources[0].url = "not a url".into()),
            "agenda_item.sources[0].url",
        ),
        (
            "notes of 2001 characters",
            create_item(|item| item.notes = long(2001)),
            "agenda_item.notes",
        ),
        (
            "item id in uppercase",
            Call::CreateItem(pb::CreateAgendaItemRequest {
                agenda_item: Some(valid_item()),
                agenda_item_id: "UPPER".into(),
            }),
            "agenda_item_id",
        ),
        (
            "get an item without id",
            Call::GetItem(pb::GetAgendaItemRequest {
                name: "agendaItems/".into(),
            }),
            "name",
        ),
        (
            "get an item by its lowercase collection",
            Call::GetItem(pb::GetAgendaItemRequest {
                name: "agendaitems/seoul-talks".into(),
            }),
            "name",
        ),
        (
            "query without words",
            list_items(|request| request.query = "\"\" ** ".into()),
            "query",
        ),
        (
            "query of 501 characters",
            list_items(|request| request.query = long(501)),
            "query",
        ),
        (
            "event type filter out of range",
            list_items(|request| request.event_type = 99),
            "event_type",
        ),
        (
            "context filter in uppercase",
            list_items(|request| request.context = "Military".into()),
            "context",
        ),
        (
            "official filter of another collection",
            list_items(|request| request.official = "trips/final-trip".into()),
            "official",
        ),
        (
            "trip filter of another collection",
            list_items(|request| request.trip = "officials/antony-blinken".into()),
            "trip",
        ),
        (
            "date filter without zero padding",
            list_items(|request| request.from_date = "2025-1-6".into()),
            "from_date",
        ),
        (
            "agenda range that ends before it starts",
            list_items(|request| {
                request.from_date = "2025-01-07".into();
                request.to_date = "2025-01-06".into();
            }),
            "to_date",
        ),
        (
            "unassigned country filter",
            list_items(|request| request.country = "XXX".into()),
            "country",
        ),
        (
            "negative agenda page size",
            list_items(|request| request.page_size = -50),
            "page_size",
        ),
        (
            "update of a malformed item name",
            update_item(|item| item.name = "agendaItems/UPPER".into()),
            "agenda_item.name",
        ),
        (
            "update to a leg the trip lacks",
            update_item(|item| item.leg = Some(5)),
            "agenda_item.leg",
        ),
        (
            "update to an unknown actor",
            update_item(|item| item.actors = vec!["USA".into(), "ABC".into()]),
            "agenda_item.actors[1]",
        ),
        (
            "update with an infinite intensity",
            update_item(|item| item.intensity = Some(f64::INFINITY)),
            "agenda_item.intensity",
        ),
        (
            "delete an item without a name",
            Call::DeleteItem(pb::DeleteAgendaItemRequest::default()),
            "name",
        ),
    ]
}

const COUNTRIES_21: [&str; 21] = [
    "USA", "KOR", "JPN", "FRA", "PRK", "CHN", "RUS", "UKR", "DEU", "GBR", "ITA", "CAN", "AUS",
    "IND", "BRA", "MEX", "ESP", "NLD", "SWE", "NOR", "POL",
];

#[tokio::test]
async fn every_bad_request_names_its_field_and_writes_nothing() {
    let app = spawn_app().await;
    app.seed().await;
    // The valid requests the table bends succeed, so each failure is the bent field's doing.
    for call in [
        create_trip(|_| {}),
        create_official(|_| {}),
        create_item(|_| {}),
        update_trip(&[], |trip| trip.notes = "valid".into()),
        update_item(|item| item.notes = "valid".into()),
        list_items(|request| request.query = "talks".into()),
    ] {
        send(&app, call).await.expect("the unbent request is valid");
    }
    let before = app.snapshot().await;
    let cases = bad_requests();
    assert!(cases.len() >= 40, "the table has {} cases", cases.len());
    let mut failures = Vec::new();
    for (what, call, field) in cases {
        let outcome = send(&app, call).await;
        let problem = match outcome {
            Ok(()) => Some("was accepted".to_owned()),
            Err(status) if status.code() != Code::InvalidArgument => {
                Some(format!("got {status:?}"))
            }
            Err(status) => check_details(&status, field),
        };
        if let Some(problem) = problem {
            failures.push(format!("{what}: {problem}"));
        }
        if app.snapshot().await != before {
            failures.push(format!("{what}: the rejected request wrote something"));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} bad requests misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `None` when the status is a proper AIP-193 INVALID_ARGUMENT naming `field`.
fn check_details(status: &Status, field: &str) -> Option<String> {
    let fields = bad_fields(status);
    if !fields.iter().any(|named| named == field) {
        return Some(format!(
            "BadRequest names {fields:?}, not {field:?} ({})",
            status.message()
        ));
    }
    let details = status.get_error_details();
    let Some(info) = details.error_info() else {
        return Some("no ErrorInfo".into());
    };
    if info.reason != "INVALID_FIELDS" || info.domain != "briefing" {
        return Some(format!("ErrorInfo {info:?}"));
    }
    let described = details.bad_request().is_some_and(|bad| {
        bad.field_violations
            .iter()
            .all(|violation| !violation.description.is_empty())
    });
    if !described || !status.message().contains(field) {
        return Some(format!(
            "the message or descriptions do not explain the problem: {:?}",
            status.message()
        ));
    }
    None
}

#[tokio::test]
async fn every_bad_field_of_a_request_is_named_at_once() {
    let app = spawn_app().await;
    app.seed().await;
    let call = create_trip(|trip| {
        trip.title.clear();
        trip.legs[0].country = "XXX".into();
        trip.legs[1].time_zone = "Nowhere/City".into();
        trip.legs[2].end_date = "2025-01-07".into();
    });
    let status = send(&app, call).await.expect_err("four bad fields");
    assert_eq!(
        bad_fields(&status),
        [
            "trip.title",
            "trip.legs[0].country",
            "trip.legs[1].time_zone",
            "trip.legs[2].end_date"
        ]
    );
    assert_eq!(reason(&status), "INVALID_FIELDS");
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("fields").map(String::as_str),
        Some("trip.title,trip.legs[0].country,trip.legs[1].time_zone,trip.legs[2].end_date")
    );

    let call = create_trip_with_id("Bad Id");
    let status = send(&app, call).await.expect_err("bad id");
    assert_eq!(bad_fields(&status), ["trip_id"]);
}

#[tokio::test]
async fn not_found_already_exists_in_use_and_aborted_carry_their_details() {
    let app = spawn_app().await;
    let seed = app.seed().await;
    let status = send(
        &app,
        Call::GetOfficial(pb::GetOfficialRequest {
            name: "officials/nobody".into(),
        }),
    )
    .await
    .expect_err("missing");
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::NotFound, "RESOURCE_NOT_FOUND")
    );
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("resource").map(String::as_str),
        Some("officials/nobody")
    );
    assert_eq!(
        details.resource_info().expect("ResourceInfo").resource_type,
        "briefing.v1.Official"
    );

    let status = send(
        &app,
        Call::CreateItem(pb::CreateAgendaItemRequest {
            agenda_item: Some(valid_item()),
            agenda_item_id: "seoul-talks".into(),
        }),
    )
    .await
    .expect_err("exists");
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::AlreadyExists, "RESOURCE_ALREADY_EXISTS")
    );
    assert_eq!(
        status
            .get_error_details()
            .resource_info()
            .expect("ResourceInfo")
            .resource_name,
        seed.item
    );

    let status = send(
        &app,
        Call::DeleteOfficial(pb::DeleteOfficialRequest {
            name: seed.traveler.clone(),
            etag: String::new(),
        }),
    )
    .await
    .expect_err("in use");
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::FailedPrecondition, "RESOURCE_IN_USE")
    );
    let failure = status
        .get_error_details()
        .precondition_failure()
        .cloned()
        .expect("PreconditionFailure");
    assert_eq!(failure.violations[0].subject, seed.traveler);

    let status = send(
        &app,
        update_item(|item| item.etag = "\"0000000000000000\"".into()),
    )
    .await
    .expect_err("stale");
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::Aborted, "ETAG_MISMATCH")
    );
    assert!(
        status.message().contains(&seed.item),
        "the message names the resource: {}",
        status.message()
    );
}
