//! A real Standard Webhooks receiver on `127.0.0.1:0` (axum), scripted to answer what a test
//! needs: 200, 500, 503 with `Retry-After`, 410, or never. It checks every request's signature
//! with the `standardwebhooks` crate, the reference implementation, not with the server's code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::helpers::eventually;

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// The status with a `Retry-After` of this many seconds.
    RetryAfter(u16, u64),
    /// Keeps the connection open and never answers.
    Hang,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    /// The query string of the request's URL, if it had one.
    pub query: Option<String>,
    pub body: Vec<u8>,
    /// The reference library's verdict on the signature, with the secret of the subscription.
    pub verified: Result<(), String>,
    pub reply: Reply,
    pub at: std::time::Instant,
}

impl Received {
    pub fn succeeded(&self) -> bool {
        matches!(self.reply, Reply::Status(status) if (200..300).contains(&status))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }

    /// `data.name` of the body: the digest delivered.
    pub fn digest_name(&self) -> String {
        self.json()["data"]["name"]
            .as_str()
            .expect("data.name is a string")
            .to_owned()
    }
}

#[derive(Default)]
struct Script {
    /// Replies for the next requests, in order; then `otherwise`.
    next: VecDeque<Reply>,
    otherwise: Option<Reply>,
    secret: Option<String>,
    /// Further secrets, for a receiver several subscriptions send to.
    more_secrets: Vec<String>,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    /// Starts a receiver that answers 200 until told otherwise.
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script {
            otherwise: Some(Reply::Status(200)),
            ..Script::default()
        }));
        let router = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let address = listener.local_addr().expect("receiver address");
        tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("receiver serves");
        });
        Self {
            url: format!("http://{address}/hook"),
            script,
        }
    }

    /// The same receiver (the same script and requests) named by another URL, e.g. a host
    /// name that resolves to it, or its URL with a query.
    pub fn at(&self, url: String) -> Self {
        Self {
            url,
            script: self.script.clone(),
        }
    }

    /// The secret the subscription's create response showed, to verify signatures with.
    pub fn verify_with(&self, secret: &str) {
        self.script.lock().unwrap().secret = Some(secret.to_owned());
    }

    /// Also accepts signatures made with `secret`: several subscriptions send here.
    pub fn also_verify_with(&self, secret: &str) {
        self.script
            .lock()
            .unwrap()
            .more_secrets
            .push(secret.to_owned());
    }

    /// Answers the next requests with `replies`, in order, then with `otherwise`.
    pub fn script(&self, replies: &[Reply], otherwise: Reply) {
        let mut script = self.script.lock().unwrap();
        script.next = replies.iter().copied().collect();
        script.otherwise = Some(otherwise);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits until the receiver has seen at least `count` requests, and returns them all.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<Received> {
        eventually(&format!("the receiver has seen {count} requests"), || {
            let received = self.received();
            async move { (received.len() >= count).then_some(received) }
        })
        .await
    }
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        let verified = match &script.secret {
            Some(secret) => standardwebhooks::Webhook::new(secret)
                .map_err(|error| format!("bad secret: {error}"))
                .and_then(|webhook| {
                    webhook
                        .verify(&body, &headers)
                        .map_err(|error| error.to_string())
                }),
            None => Err("the test gave the receiver no secret".to_owned()),
        };
        let verified = verified.or_else(|error| {
            script
                .more_secrets
                .iter()
                .any(|secret| {
                    standardwebhooks::Webhook::new(secret)
                        .is_ok_and(|webhook| webhook.verify(&body, &headers).is_ok())
                })
                .then_some(())
                .ok_or(error)
        });
        let reply = if verified.is_ok() {
            let otherwise = script.otherwise.unwrap_or(Reply::Status(200));
            script.next.pop_front().unwrap_or(otherwise)
        } else {
            Reply::Status(401)
        };
        script.received.push(Received {
            webhook_id: headers
                .get("webhook-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            query: uri.query().map(str::to_owned),
            body: body.to_vec(),
            verified,
            reply,
            at: std::time::Instant::now(),
        });
        reply
    };
    match reply {
        Reply::Status(status) => status_code(status).into_response(),
        Reply::RetryAfter(status, seconds) => {
            (status_code(status), [("retry-after", seconds.to_string())]).into_response()
        }
        Reply::Hang => std::future::pending().await,
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("a valid status")
}
