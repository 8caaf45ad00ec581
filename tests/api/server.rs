//! What the server exposes besides the briefing services: health, reflection, compression and
//! graceful shutdown, in process and as the real binary under SIGTERM and Ctrl-C.

use std::collections::BTreeSet;

use briefing::api::pb;
use briefing::api::pb::trip_service_client::TripServiceClient;
use prost::Message as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::{v1, v1alpha};

use crate::helpers::{
    PATIENCE, ServerProcess, eventually, final_trip, fresh_database, item, official, spawn_app,
    spawn_demo_app, within,
};

const SERVICES: [&str; 3] = [
    "briefing.v1.TripService",
    "briefing.v1.OfficialService",
    "briefing.v1.AgendaService",
];

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in std::iter::once("").chain(SERVICES) {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let health = health.clone();
        eventually(&format!("{service:?} reports SERVING"), move || {
            let mut health = health.clone();
            let request = request.clone();
            async move {
                let status = health.check(request).await.ok()?.into_inner().status();
                (status == ServingStatus::Serving).then_some(())
            }
        })
        .await;
    }
    let status = health
        .check(HealthCheckRequest {
            service: "briefing.v1.NoSuchService".into(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_describe_every_service_and_the_error_details() {
    let app = spawn_app().await;
    let v1_services = {
        let mut client =
            v1::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
        let request = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("v1 reflection")
            .into_inner();
        let response = responses
            .message()
            .await
            .expect("a response")
            .expect("one response");
        match response.message_response {
            Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) => {
                list.service
                    .into_iter()
                    .map(|service| service.name)
                    .collect::<BTreeSet<_>>()
            }
            other => panic!("unexpected v1 reflection answer {other:?}"),
        }
    };
    for service in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            v1_services.contains(*service),
            "v1 reflection lists {service}: {v1_services:?}"
        );
    }

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel.clone());
    let symbols = [
        "briefing.v1.TripService",
        "briefing.v1.OfficialService",
        "briefing.v1.AgendaService",
        "briefing.v1.AgendaItem",
        "grpc.health.v1.Health",
        "google.rpc.BadRequest",
        "google.rpc.ErrorInfo",
    ];
    let mut requests = vec![v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    }];
    requests.extend(
        symbols
            .iter()
            .map(|symbol| v1alpha::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(
                    v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                        (*symbol).into(),
                    ),
                ),
            }),
    );
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("v1alpha reflection")
        .into_inner();
    let listed = match responses
        .message()
        .await
        .expect("response")
        .expect("listing")
        .message_response
    {
        Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) => {
            list.service
                .into_iter()
                .map(|service| service.name)
                .collect::<BTreeSet<_>>()
        }
        other => panic!("unexpected v1alpha answer {other:?}"),
    };
    for service in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            listed.contains(*service),
            "v1alpha reflection lists {service}: {listed:?}"
        );
    }
    for symbol in symbols {
        let response = responses
            .message()
            .await
            .expect("response")
            .expect("a file for each symbol");
        let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(
            files,
        )) = response.message_response
        else {
            panic!("no file for {symbol}: {:?}", response.message_response);
        };
        let (package, name) = symbol.rsplit_once('.').expect("qualified");
        let defines = files.file_descriptor_proto.iter().any(|bytes| {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .expect("a file descriptor");
            file.package() == package
                && (file
                    .message_type
                    .iter()
                    .any(|message| message.name() == name)
                    || file.service.iter().any(|service| service.name() == name))
        });
        assert!(defines, "reflection describes {symbol}");
    }
}

#[tokio::test]
async fn gzip_compressed_requests_are_accepted_and_answered_in_gzip() {
    let app = spawn_app().await;
    app.create_official("antony-blinken", official("Antony Blinken", "USA"))
        .await;
    let mut trips = TripServiceClient::new(app.channel.clone())
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let mut sent = final_trip("officials/antony-blinken");
    sent.purpose = "Reaffirm the alliances. ".repeat(80);
    let created = trips
        .create_trip(pb::CreateTripRequest {
            trip: Some(sent.clone()),
            trip_id: "compressed".into(),
        })
        .await
        .expect("a gzip-compressed create")
        .into_inner();
    assert_eq!(created.purpose, sent.purpose);
    let response = trips
        .get_trip(pb::GetTripRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get");
    assert_eq!(
        response
            .metadata()
            .get("grpc-encoding")
            .and_then(|value| value.to_str().ok()),
        Some("gzip")
    );
    assert_eq!(response.into_inner(), created);
}

#[tokio::test]
async fn the_demo_server_answers_gzip_clients_too() {
    let app = spawn_demo_app().await;
    let mut agenda =
        briefing::api::pb::agenda_service_client::AgendaServiceClient::new(app.channel.clone())
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    let page = agenda
        .list_agenda_items(pb::ListAgendaItemsRequest {
            country: "KOR".into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(!page.agenda_items.is_empty());
}

/// A client stream still open when shutdown begins is served to its end; new connections are
/// refused meanwhile, and the server stops once the call is done.
#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_call_finish() {
    let mut app = spawn_app().await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<pb::ImportAgendaItemsRequest>(16);
    let mut agenda = app.agenda.clone();
    let call = tokio::spawn(async move {
        agenda
            .import_agenda_items(ReceiverStream::new(receiver))
            .await
    });
    // More than one import batch, so the server stores the first batch while the call goes on.
    let first_part = 2_100;
    for number in 0..first_part {
        let message = pb::ImportAgendaItemsRequest {
            agenda_item: Some(item(
                &format!("in flight {number}"),
                "2025-01-06",
                &["USA"],
                &["KOR"],
                pb::EventType::Consult,
            )),
            agenda_item_id: format!("flight-{number}"),
        };
        sender.send(message).await.expect("the call takes messages");
    }
    eventually("the server has stored the first batch", || async {
        app.get_item("agendaItems/flight-0").await.ok()
    })
    .await;

    let server = app.begin_shutdown();
    let address = format!("127.0.0.1:{}", app.port);
    eventually("the server refuses new connections", || {
        let address = address.clone();
        async move {
            tokio::net::TcpStream::connect(address)
                .await
                .is_err()
                .then_some(())
        }
    })
    .await;
    assert!(
        !server.is_finished(),
        "the server waits for the call in flight"
    );

    for number in first_part..first_part + 10 {
        let message = pb::ImportAgendaItemsRequest {
            agenda_item: Some(item(
                &format!("after shutdown began {number}"),
                "2025-01-06",
                &["USA"],
                &["JPN"],
                pb::EventType::Agree,
            )),
            agenda_item_id: format!("flight-{number}"),
        };
        sender
            .send(message)
            .await
            .expect("the call still takes messages");
    }
    drop(sender);
    let response = within(PATIENCE, "the in-flight call finishes", call)
        .await
        .expect("call task")
        .expect("the call completes despite the shutdown")
        .into_inner();
    assert_eq!(
        (response.received_count, response.imported_count),
        (2_110, 2_110)
    );

    drop(app);
    within(PATIENCE, "the server stops after the call", server)
        .await
        .expect("server task")
        .expect("clean stop");
}

#[tokio::test]
async fn the_binary_stops_cleanly_on_sigterm_and_ctrl_c() {
    for signal in ["TERM", "INT"] {
        let (database, url) = fresh_database().await;
        let mut server = ServerProcess::start(&url, &[]);
        let channel = server.connect().await;
        let mut officials =
            briefing::api::pb::official_service_client::OfficialServiceClient::new(channel);
        officials
            .create_official(pb::CreateOfficialRequest {
                official: Some(official("Antony Blinken", "USA")),
                official_id: "a".into(),
            })
            .await
            .expect("create");
        let status = server.signal_and_wait(signal).await;
        assert!(
            status.success(),
            "exit status after SIG{signal}: {status:?}"
        );
        server.wait_for_log("stopped");
        drop(database);
    }
}

#[tokio::test]
async fn health_and_reflection_work_on_the_real_binary_with_demo_data() {
    let (database, url) = fresh_database().await;
    let server = ServerProcess::start(&url, &["--demo"]);
    let channel = server.connect().await;
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);
    let trip = TripServiceClient::new(channel)
        .get_trip(pb::GetTripRequest {
            name: "trips/blinken-final-trip-2025-01".into(),
        })
        .await
        .expect("the demo trip")
        .into_inner();
    assert_eq!(trip.legs.len(), 3);
    drop(server);
    drop(database);
}
