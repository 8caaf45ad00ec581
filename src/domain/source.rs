//! Where a fact comes from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::values::{parse_instant, parse_text, parse_url};
use super::violations::{Violations, join_path};

/// A source as clients write it: plain strings, checked by [`Source::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceRecord {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub publisher: String,
    /// RFC 3339; empty when unknown.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub published_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub url: Option<url::Url>,
    pub publisher: String,
    pub published_time: Option<DateTime<Utc>>,
    pub excerpt: String,
}

pub const MAX_SOURCES: usize = 20;

impl Source {
    pub fn parse(record: &SourceRecord, field: &str, violations: &mut Violations) -> Option<Self> {
        let url = if record.url.is_empty() {
            if record.publisher.trim().is_empty() && record.excerpt.trim().is_empty() {
                // An excerpt alone is a source too: an article whose outlet is not known is
                // still quoted faithfully, with nothing invented around it.
                violations.add(
                    join_path(field, "url"),
                    "a source needs a url, a publisher or an excerpt",
                );
                None
            } else {
                Some(None)
            }
        } else {
            violations
                .check(join_path(field, "url"), parse_url(&record.url))
                .map(Some)
        };
        let publisher = violations.check(
            join_path(field, "publisher"),
            parse_text(&record.publisher, 200, false),
        );
        let published_time = if record.published_time.is_empty() {
            Some(None)
        } else {
            violations
                .check(
                    join_path(field, "published_time"),
                    parse_instant(&record.published_time),
                )
                .map(Some)
        };
        let excerpt = violations.check(
            join_path(field, "excerpt"),
            parse_text(&record.excerpt, 2000, false),
        );
        Some(Self {
            url: url?,
            publisher: publisher?,
            published_time: published_time?,
            excerpt: excerpt?,
        })
    }

    /// A source of which only its existence is known: how the digest reads a busy day's
    /// sources, by number (the few items it cites are read again in full).
    pub fn counted_only() -> Self {
        Self {
            url: None,
            publisher: String::new(),
            published_time: None,
            excerpt: String::new(),
        }
    }

    pub fn to_record(&self) -> SourceRecord {
        SourceRecord {
            url: self
                .url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            publisher: self.publisher.clone(),
            published_time: self
                .published_time
                .map(|instant| instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
            excerpt: self.excerpt.clone(),
        }
    }
}

/// Parses a list of sources under `field` (`sources[0].url`, …).
pub fn parse_sources(
    records: &[SourceRecord],
    field: &str,
    violations: &mut Violations,
) -> Vec<Source> {
    if violations.too_many(field, "sources", records.len(), MAX_SOURCES) {
        return Vec::new();
    }
    records
        .iter()
        .enumerate()
        .filter_map(|(position, record)| {
            Source::parse(record, &format!("{field}[{position}]"), violations)
        })
        .collect()
}
