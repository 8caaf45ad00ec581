//! Conversions shared by every resource: timestamps and sources.

use chrono::{DateTime, Utc};

use super::pb;
use crate::domain::Violations;
use crate::domain::source::SourceRecord;
use crate::domain::values::parse_instant;

pub fn timestamp(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A proto timestamp as RFC 3339, or a violation when it is out of range.
pub fn instant_text(
    timestamp: &prost_types::Timestamp,
    field: &str,
    violations: &mut Violations,
) -> String {
    match DateTime::from_timestamp(
        timestamp.seconds,
        u32::try_from(timestamp.nanos).unwrap_or(u32::MAX),
    ) {
        Some(instant) => instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => {
            violations.add(field, "is not a valid timestamp");
            String::new()
        }
    }
}

pub fn source_to_record(
    source: pb::Source,
    field: &str,
    violations: &mut Violations,
) -> SourceRecord {
    SourceRecord {
        url: source.url,
        publisher: source.publisher,
        published_time: source
            .published_time
            .map(|time| instant_text(&time, &format!("{field}.published_time"), violations))
            .unwrap_or_default(),
        excerpt: source.excerpt,
    }
}

pub fn sources_to_records(
    sources: Vec<pb::Source>,
    violations: &mut Violations,
) -> Vec<SourceRecord> {
    sources
        .into_iter()
        .enumerate()
        .map(|(position, source)| {
            source_to_record(source, &format!("sources[{position}]"), violations)
        })
        .collect()
}

pub fn source_to_proto(record: SourceRecord) -> pb::Source {
    pb::Source {
        url: record.url,
        publisher: record.publisher,
        published_time: parse_instant(&record.published_time).ok().map(timestamp),
        excerpt: record.excerpt,
    }
}
