//! The JSON a subscriber receives: the same bytes for every attempt of one delivery.

use serde::Serialize;

use crate::digest::Digest;
use crate::store::digests::PublishedDigest;

/// Shaped as Standard Webhooks recommends: a type, a timestamp and the data.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    name: String,
    revision: i64,
    digest: &'a Digest,
}

pub fn digest_json(published: &PublishedDigest) -> Vec<u8> {
    let envelope = Envelope {
        event_type: "digest.compiled",
        timestamp: published
            .compile_time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        data: Data {
            name: published.digest.name().to_string(),
            revision: published.revision,
            digest: &published.digest,
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}
