//! The SSRF guard, as a hostile client meets it: webhook targets on internal addresses are
//! refused in every spelling, at creation and, for names, again after resolution at every
//! delivery, and nothing reaches a listener on a refused address. Names resolve through a DNS
//! server this test runs on 127.0.0.1 (`--dns-server`), so no packet leaves loopback.
//! Also: user-info refused, query values shown as `***`, failures in generic words, redirects
//! not followed, file targets only under `delivery_dir`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use briefing::api::pb;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable as _;
use tonic::Code;

use crate::digest_helpers::{
    compile, deliveries, quick_and, subscribe_webhook, subscriptions, wait_for_delivery,
};
use crate::helpers::{
    DatabaseGuard, TestApp, assert_invalid, assert_status, fresh_database, spawn_app_with_args,
};
use crate::receiver::{Receiver, Reply};

const DAY: &str = "2025-01-06";
const DIGEST: &str = "digests/daily-2025-01-06";

/// A DNS server on 127.0.0.1 answering A and AAAA queries from a table the test changes;
/// other names get NXDOMAIN.
#[derive(Clone)]
struct TestDns {
    address: SocketAddr,
    answers: Arc<Mutex<HashMap<String, Vec<IpAddr>>>>,
}

impl TestDns {
    async fn start(answers: &[(&str, &[&str])]) -> Self {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind the DNS server");
        let dns = Self {
            address: socket.local_addr().expect("DNS address"),
            answers: Arc::new(Mutex::new(HashMap::new())),
        };
        for (name, addresses) in answers {
            dns.answer(name, addresses);
        }
        let table = dns.answers.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 1500];
            loop {
                let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buffer[..length]) else {
                    continue;
                };
                let reply = Self::reply(&query, &table.lock().unwrap());
                if let Ok(bytes) = reply.to_bytes() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        dns
    }

    /// From now on `name` resolves to `addresses`.
    fn answer(&self, name: &str, addresses: &[&str]) {
        let parsed = addresses
            .iter()
            .map(|address| address.parse().expect("an address"))
            .collect();
        self.answers
            .lock()
            .unwrap()
            .insert(name.to_ascii_lowercase(), parsed);
    }

    fn reply(query: &Message, table: &HashMap<String, Vec<IpAddr>>) -> Message {
        let mut reply = Message::new();
        reply
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_op_code(query.op_code())
            .set_recursion_desired(query.recursion_desired())
            .set_recursion_available(true)
            .set_authoritative(true);
        let Some(question) = query.queries().first() else {
            reply.set_response_code(ResponseCode::FormErr);
            return reply;
        };
        reply.add_query(question.clone());
        let name = question.name().to_ascii().to_ascii_lowercase();
        let Some(addresses) = table.get(name.trim_end_matches('.')) else {
            reply.set_response_code(ResponseCode::NXDomain);
            return reply;
        };
        for address in addresses {
            let data = match (address, question.query_type()) {
                (IpAddr::V4(v4), RecordType::A) => RData::A(A(*v4)),
                (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(*v6)),
                _ => continue,
            };
            reply.add_answer(Record::from_rdata(question.name().clone(), 1, data));
        }
        reply
    }

    fn flag(&self) -> &'static str {
        Box::leak(self.address.to_string().into_boxed_str())
    }
}

/// Names the test's DNS server answers, each with what it resolves to.
const NAMES: &[(&str, &[&str])] = &[
    ("metadata.google.internal", &["169.254.169.254"]),
    ("loopback.test", &["127.0.0.2"]),
    ("allowed.test", &["127.0.0.1"]),
    ("private.test", &["10.0.0.1"]),
    ("corp.test", &["192.168.1.10"]),
    ("cgnat.test", &["100.64.0.1"]),
    ("six.test", &["::1"]),
    ("ula.test", &["fd00::1"]),
    ("mapped.test", &["::ffff:169.254.169.254"]),
    ("linklocal6.test", &["fe80::1"]),
    ("mixed.test", &["127.0.0.1", "10.0.0.1"]),
    ("zero.test", &["0.0.0.0"]),
    ("rebind.test", &["127.0.0.1"]),
];

async fn spawn(dns: &TestDns, more: &[&'static str]) -> (DatabaseGuard, TestApp) {
    let (database, url) = fresh_database().await;
    let mut flags = quick_and(more);
    flags.extend([
        "--demo",
        "--dns-server",
        dns.flag(),
        "--webhook-allow-cidrs",
        "127.0.0.1/32",
    ]);
    (database, spawn_app_with_args(&url, &flags).await)
}

async fn create(app: &TestApp, url: &str) -> Result<pb::Subscription, tonic::Status> {
    subscriptions(app)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(pb::Subscription {
                target: Some(pb::subscription::Target::Webhook(pb::WebhookTarget {
                    url: url.to_owned(),
                    secret: String::new(),
                })),
                ..Default::default()
            }),
            subscription_id: String::new(),
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn internal_targets_are_refused_at_creation_in_every_spelling() {
    let dns = TestDns::start(NAMES).await;
    let (_database, app) = spawn(&dns, &[]).await;
    let refused: &[(&str, &str)] = &[
        // IPv4 literals of each refused range.
        ("http://169.254.169.254/latest/meta-data/iam/", "link-local"),
        ("http://10.0.0.1:8080/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://127.0.0.2/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://192.0.2.1/", "documentation"),
        ("http://198.51.100.1/", "documentation"),
        ("http://203.0.113.1/", "documentation"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://240.0.0.1/", "reserved"),
        ("http://192.0.0.1/", "reserved"),
        // Other spellings of internal IPv4 addresses.
        ("http://0x7f000002:22/", "loopback"),
        ("http://0x7f.0.0.2/", "loopback"),
        ("http://0177.0.0.2/", "loopback"),
        ("http://2130706434/", "loopback"),
        ("http://127.2/", "loopback"),
        ("http://0xa9fea9fe/", "link-local"),
        ("http://2852039166/", "link-local"),
        ("http://012.0.0.1/", "private"),
        ("http://0/", "unspecified"),
        ("http://①②⑦.0.0.2/", "loopback"),
        // IPv6 forms.
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[::ffff:127.0.0.2]/", "loopback"),
        ("http://[::ffff:a00:1]/", "private"),
        ("http://[::127.0.0.2]/", "loopback"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
        ("http://[2002:7f00:2::1]/", "loopback"),
        ("http://[2001::1]/", "tunnelled"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[2001:db8::1]/", "documentation"),
        // Names resolving to internal addresses through the test's resolver.
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "link-local",
        ),
        ("http://loopback.test:8080/hook", "loopback"),
        ("http://private.test/", "private"),
        ("http://corp.test/", "private"),
        ("http://cgnat.test/", "carrier-grade NAT"),
        ("http://six.test/", "loopback"),
        ("http://ula.test/", "private"),
        ("http://mapped.test/", "link-local"),
        ("http://linklocal6.test/", "link-local"),
        ("http://mixed.test/", "private"),
        ("http://zero.test/", "unspecified"),
        ("https://LOOPBACK.test./", "loopback"),
    ];
    assert!(refused.len() >= 40);
    for (url, words) in refused {
        let status = create(&app, url)
            .await
            .expect_err(&format!("{url} is refused"));
        assert_invalid(&status, "subscription.webhook.url");
        assert!(
            status
                .message()
                .contains(&format!("refused by the address guard: {words} address")),
            "{url}: {}",
            status.message()
        );
    }

    // What the operator allows, and public addresses, are taken; 127.0.0.1 only by its allow.
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://allowed.test:9/hook",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://not-in-the-test-dns.test/hook",
    ] {
        create(&app, url)
            .await
            .unwrap_or_else(|status| panic!("{url} is accepted: {status:?}"));
    }

    // User-info is refused, and not echoed.
    let status = create(&app, "http://user:p4ssw0rd@127.0.0.1:9/hook")
        .await
        .expect_err("user-info is refused");
    assert_invalid(&status, "subscription.webhook.url");
    assert!(!format!("{status:?}").contains("p4ssw0rd"), "{status:?}");
}

/// A listener on 127.0.0.2 at `port`, counting the connections it accepts.
async fn trap(port: u16) -> Arc<Mutex<usize>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.2", port))
        .await
        .expect("bind 127.0.0.2 (loopback, not allowed)");
    let accepted = Arc::new(Mutex::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((_connection, _)) = listener.accept().await {
            *counter.lock().unwrap() += 1;
        }
    });
    accepted
}

#[tokio::test]
async fn a_name_that_turns_internal_is_refused_at_delivery_and_nothing_reaches_it() {
    let dns = TestDns::start(NAMES).await;
    let (_database, app) = spawn(&dns, &["--delivery-max-attempts", "2"]).await;
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse::<u16>().ok())
        .expect("the receiver's port");
    let reached = trap(port).await;

    // Resolving to 127.0.0.1 (allowed) at creation; the same name delivers there.
    let named = receiver.at(format!("http://rebind.test:{port}/hook"));
    let subscription = subscribe_webhook(&app, &named).await;
    compile(&app, DAY, true).await;
    wait_for_delivery(
        &app,
        &subscription.name,
        DIGEST,
        pb::DeliveryState::Succeeded,
    )
    .await;
    assert_eq!(receiver.received().len(), 1, "delivered through the name");

    // Now the name answers 127.0.0.2: loopback, but not in the allowed 127.0.0.1/32.
    dns.answer("rebind.test", &["127.0.0.2"]);
    let forced = crate::digest_helpers::digests(&app)
        .compile_digest(crate::digest_helpers::compile_request(DAY, true, true))
        .await
        .expect("forced compile")
        .into_inner();
    assert_eq!(forced.revision, 2);
    let dead = crate::helpers::eventually("revision 2 is dead letter", || async {
        deliveries(&app, &subscription.name)
            .await
            .into_iter()
            .find(|delivery| {
                delivery.digest_revision == 2 && delivery.state() == pb::DeliveryState::Dead
            })
    })
    .await;
    assert_eq!(
        dead.last_result,
        "refused by the address guard: loopback address; gave up after 2 attempts"
    );
    assert_eq!(*reached.lock().unwrap(), 0, "nothing reached 127.0.0.2");
    assert_eq!(receiver.received().len(), 1, "nor the old address");
}

#[tokio::test]
async fn failures_are_told_in_generic_words_and_redirects_are_not_followed() {
    let dns = TestDns::start(NAMES).await;
    let (_database, app) = spawn(&dns, &["--delivery-max-attempts", "1"]).await;

    // A closed port: "connect failed", not the operating system's words.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let nobody = Receiver::start()
        .await
        .at(format!("http://127.0.0.1:{closed}/hook"));
    let refused = subscribe_webhook(&app, &nobody).await;

    let redirecting = Receiver::start().await;
    redirecting.script(&[], Reply::Status(302));
    let redirected = subscribe_webhook(&app, &redirecting).await;

    compile(&app, DAY, true).await;
    let dead = wait_for_delivery(&app, &refused.name, DIGEST, pb::DeliveryState::Dead).await;
    assert_eq!(dead.last_result, "connect failed; gave up after 1 attempts");
    let dead = wait_for_delivery(&app, &redirected.name, DIGEST, pb::DeliveryState::Dead).await;
    assert_eq!(
        dead.last_result,
        "HTTP 302 (redirects are not followed); gave up after 1 attempts"
    );
    assert_eq!(redirecting.received().len(), 1);
}

#[tokio::test]
async fn query_values_are_shown_as_stars_and_the_real_url_is_used() {
    let dns = TestDns::start(NAMES).await;
    let (_database, app) = spawn(&dns, &[]).await;
    let receiver = Receiver::start().await;
    let with_token = receiver.at(format!("{}?token=abc123&desk=seoul", receiver.url));
    let created = subscribe_webhook(&app, &with_token).await;
    let shown = format!("{}?token=***&desk=***", receiver.url);
    let url_of = |subscription: &pb::Subscription| match &subscription.target {
        Some(pb::subscription::Target::Webhook(webhook)) => webhook.url.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(url_of(&created), shown);
    let read = subscriptions(&app)
        .get_subscription(pb::GetSubscriptionRequest {
            name: created.name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(url_of(&read), shown);
    let listed = subscriptions(&app)
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(url_of(&listed.subscriptions[0]), shown);

    compile(&app, DAY, true).await;
    wait_for_delivery(&app, &created.name, DIGEST, pb::DeliveryState::Succeeded).await;
    let received = receiver.wait_for_requests(1).await;
    assert!(received[0].verified.is_ok(), "{:?}", received[0].verified);
    // The request went to the stored URL, query and all.
    assert_eq!(
        received[0].query.as_deref(),
        Some("token=abc123&desk=seoul")
    );
}

#[tokio::test]
async fn file_targets_stay_under_delivery_dir() {
    let dns = TestDns::start(NAMES).await;
    let outside = tempfile::tempdir().expect("a directory outside");
    let (_database, app) = spawn(&dns, &[]).await;
    std::os::unix::fs::symlink(outside.path(), app.delivery_dir().join("link"))
        .expect("a symlink out of the delivery directory");
    let file = |directory: &str| pb::Subscription {
        target: Some(pb::subscription::Target::File(pb::FileTarget {
            directory: directory.to_owned(),
        })),
        ..Default::default()
    };
    let outside_text = outside.path().to_string_lossy().into_owned();
    for directory in [
        outside_text.as_str(),
        "/tmp",
        "../escape",
        "desk/../../escape",
        "./desk",
        "link",
        "link/deeper",
    ] {
        let status = subscriptions(&app)
            .create_subscription(pb::CreateSubscriptionRequest {
                subscription: Some(file(directory)),
                subscription_id: String::new(),
            })
            .await
            .expect_err(&format!("{directory} is refused"));
        assert_invalid(&status, "subscription.file.directory");
        assert!(
            !status.message().contains("exist") && !status.message().contains(&outside_text),
            "{directory}: the message tells nothing about the outside: {}",
            status.message()
        );
    }
    assert!(
        std::fs::read_dir(outside.path()).unwrap().next().is_none(),
        "nothing was created outside"
    );

    // Without delivery_dir, file subscriptions are refused as a precondition.
    let (_other_database, unset) = spawn(&dns, &["--delivery-dir", ""]).await;
    let status = subscriptions(&unset)
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(file("desk")),
            subscription_id: String::new(),
        })
        .await
        .expect_err("no delivery_dir");
    assert_status(&status, Code::FailedPrecondition, "NOT_CONFIGURED");
    assert!(
        status.message().contains("delivery_dir"),
        "{}",
        status.message()
    );
}
