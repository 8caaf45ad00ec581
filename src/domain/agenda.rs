//! Agenda items: what was discussed or done, between whom, how cooperative or hostile.

use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::event::{EventType, Intensity, QuadClass};
use super::names::{OfficialName, TripName};
use super::pair::CountryPair;
use super::source::{Source, SourceRecord, parse_sources};
use super::values::{ActorCode, CountryCode, format_date, parse_date, parse_keyword, parse_text};
use super::violations::{Violations, echo};

pub const MAX_PARTICIPANTS: usize = 50;
pub const MAX_ACTORS: usize = 20;
pub const MAX_CONTEXTS: usize = 20;

/// An agenda item as clients write it; [`AgendaItem::parse`] turns it into an [`AgendaItem`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgendaItemRecord {
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    pub date: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// `CONSULT` or `EVENT_TYPE_CONSULT`.
    pub event_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<String>,
    /// Overrides the event type's score when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intensity: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRecord>,
    /// Free notes, e.g. where a date is not in the source.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// `REPORTED` (the default when empty), `PLANNED` or `BACKGROUND`; `STATUS_` prefixed too.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// The source hedges the fact ("reportedly", "allegedly").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hedged: bool,
    /// A machine coder's Goldstein score for the event (GDELT), -10..+10; kept beside the
    /// PLOVER intensity, never instead of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goldstein_scale: Option<f64>,
    /// How many distinct sources, articles and mentions reported the event, as a machine
    /// coder counted them (GDELT); 0 when not counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_sources: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_articles: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_mentions: u32,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// What an item's date means, and so whether it scores that day's digest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemStatus {
    /// It happened on its date: it scores that day.
    #[default]
    Reported,
    /// It was announced for its date: the days before list it as upcoming; it never scores.
    Planned,
    /// Context a source restates, not an event of its date: it never scores.
    Background,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 3] = [Self::Reported, Self::Planned, Self::Background];

    pub fn code(self) -> &'static str {
        match self {
            Self::Reported => "REPORTED",
            Self::Planned => "PLANNED",
            Self::Background => "BACKGROUND",
        }
    }

    /// Accepts `PLANNED`, `planned` or the proto spelling `ITEM_STATUS_PLANNED`; empty is
    /// `REPORTED`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Ok(Self::Reported);
        }
        let upper = raw.to_ascii_uppercase();
        let code = upper.strip_prefix("ITEM_STATUS_").unwrap_or(&upper);
        Self::ALL
            .into_iter()
            .find(|status| status.code() == code)
            .ok_or_else(|| {
                format!(
                    "{} is not an item status: expected REPORTED, PLANNED or BACKGROUND",
                    echo(raw)
                )
            })
    }

    /// Whether the item adds to its day's figures.
    pub fn scores(self) -> bool {
        self == Self::Reported
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgendaItem {
    pub title: String,
    pub summary: String,
    pub date: NaiveDate,
    pub trip: Option<TripName>,
    /// 0-based index into the trip's legs.
    pub leg: Option<u32>,
    pub participants: Vec<OfficialName>,
    pub actors: Vec<ActorCode>,
    pub recipients: Vec<ActorCode>,
    pub event_type: EventType,
    pub mode: Option<String>,
    pub contexts: Vec<String>,
    /// Set only when the client overrode the event type's score.
    pub intensity_override: Option<Intensity>,
    pub sources: Vec<Source>,
    pub notes: String,
    pub status: ItemStatus,
    pub hedged: bool,
    pub goldstein_scale: Option<f64>,
    pub num_sources: u32,
    pub num_articles: u32,
    pub num_mentions: u32,
}

impl AgendaItem {
    pub fn parse(record: &AgendaItemRecord) -> Result<Self, Violations> {
        let mut violations = Violations::new();
        let title = violations.check("title", parse_text(&record.title, 300, true));
        let summary = violations.check("summary", parse_text(&record.summary, 5000, false));
        let date = violations.check("date", parse_date(&record.date));
        let trip = if record.trip.is_empty() {
            None
        } else {
            violations.check("trip", TripName::parse(&record.trip))
        };
        let leg = match record.leg {
            None => None,
            Some(_) if record.trip.is_empty() => {
                violations.add("leg", "a leg needs the trip it belongs to");
                None
            }
            Some(index) => violations.check(
                "leg",
                u32::try_from(index)
                    .map_err(|_| format!("must be a leg index of 0 or more, got {index}")),
            ),
        };
        let participants = parse_list(
            &record.participants,
            "participants",
            MAX_PARTICIPANTS,
            &mut violations,
            OfficialName::parse,
        );
        let actors = parse_list(
            &record.actors,
            "actors",
            MAX_ACTORS,
            &mut violations,
            ActorCode::parse,
        );
        let recipients = parse_list(
            &record.recipients,
            "recipients",
            MAX_ACTORS,
            &mut violations,
            ActorCode::parse,
        );
        let event_type = violations.check("event_type", EventType::parse(&record.event_type));
        let mode = if record.mode.is_empty() {
            None
        } else {
            violations.check("mode", parse_keyword(&record.mode))
        };
        let contexts = parse_list(
            &record.contexts,
            "contexts",
            MAX_CONTEXTS,
            &mut violations,
            parse_keyword,
        );
        let intensity_override = record
            .intensity
            .and_then(|raw| violations.check("intensity", Intensity::parse(raw)));
        let sources = parse_sources(&record.sources, "sources", &mut violations);
        let notes = violations.check("notes", parse_text(&record.notes, 2000, false));
        let status = violations.check("status", ItemStatus::parse(&record.status));
        let goldstein_scale = record.goldstein_scale.and_then(|raw| {
            violations.check(
                "goldstein_scale",
                if (-10.0..=10.0).contains(&raw) {
                    Ok(raw)
                } else {
                    Err(format!("must be from -10 to 10, got {raw}"))
                },
            )
        });
        violations.finish(|| Self {
            title: title.unwrap_or_default(),
            summary: summary.unwrap_or_default(),
            date: date.expect("checked"),
            trip,
            leg,
            participants,
            actors,
            recipients,
            event_type: event_type.expect("checked"),
            mode,
            contexts,
            intensity_override,
            sources,
            notes: notes.unwrap_or_default(),
            status: status.expect("checked"),
            hedged: record.hedged,
            goldstein_scale,
            num_sources: record.num_sources,
            num_articles: record.num_articles,
            num_mentions: record.num_mentions,
        })
    }

    pub fn to_record(&self) -> AgendaItemRecord {
        AgendaItemRecord {
            title: self.title.clone(),
            summary: self.summary.clone(),
            date: format_date(self.date),
            trip: self
                .trip
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            leg: self.leg.map(i64::from),
            participants: self.participants.iter().map(ToString::to_string).collect(),
            actors: self.actors.iter().map(ToString::to_string).collect(),
            recipients: self.recipients.iter().map(ToString::to_string).collect(),
            event_type: self.event_type.code().to_owned(),
            mode: self.mode.clone().unwrap_or_default(),
            contexts: self.contexts.clone(),
            intensity: self.intensity_override.map(Intensity::value),
            sources: self.sources.iter().map(Source::to_record).collect(),
            notes: self.notes.clone(),
            status: match self.status {
                // The default stays implicit, so records written before statuses existed and
                // records written now read the same.
                ItemStatus::Reported => String::new(),
                status => status.code().to_owned(),
            },
            hedged: self.hedged,
            goldstein_scale: self.goldstein_scale,
            num_sources: self.num_sources,
            num_articles: self.num_articles,
            num_mentions: self.num_mentions,
        }
    }

    /// The override if any, else the event type's PLOVER score.
    pub fn intensity(&self) -> f64 {
        self.intensity_override
            .map_or_else(|| self.event_type.score(), Intensity::value)
    }

    pub fn quad_class(&self) -> QuadClass {
        self.event_type.quad_class()
    }

    /// The country pairs the item adds its intensity to on its day: its pairs when it is
    /// reported, none when it is planned or background.
    pub fn scoring_pairs(&self) -> Vec<CountryPair> {
        if self.status.scores() {
            pairs(self)
        } else {
            Vec::new()
        }
    }

    /// How many sources the item lists.
    pub fn source_count(&self) -> u64 {
        self.sources.len() as u64
    }

    /// How well the item is corroborated, as the digest ranks it: the sources that reported
    /// it (a machine coder's count when it gives one, else the sources listed), then the
    /// articles (machine-coded items only; 0 otherwise).
    pub fn corroboration(&self) -> (u64, u64) {
        (
            self.source_count().max(u64::from(self.num_sources)),
            u64::from(self.num_articles),
        )
    }

    /// The URL of the first source, which machine-coded rows of one report share.
    pub fn first_source_url(&self) -> Option<&str> {
        self.sources
            .first()
            .and_then(|source| source.url.as_ref())
            .map(url::Url::as_str)
    }

    /// The distinct countries among actors and recipients.
    pub fn countries(&self) -> BTreeSet<CountryCode> {
        self.actors
            .iter()
            .chain(&self.recipients)
            .map(ActorCode::country)
            .collect()
    }
}

/// Parses each entry under `field[i]`, rejecting repeats and overlong lists. An overlong list
/// is refused on its length alone, before any entry is parsed, and repeats are found with a
/// set: a request's cost stays linear in its size.
fn parse_list<T: Clone + Eq + Hash>(
    raw: &[String],
    field: &str,
    max: usize,
    violations: &mut Violations,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    if violations.too_many(field, "entries", raw.len(), max) {
        return Vec::new();
    }
    let mut parsed: Vec<T> = Vec::with_capacity(raw.len());
    let mut seen: HashSet<T> = HashSet::with_capacity(raw.len());
    for (position, entry) in raw.iter().enumerate() {
        let Some(value) = violations.check(format!("{field}[{position}]"), parse(entry)) else {
            continue;
        };
        if !seen.insert(value.clone()) {
            violations.add(
                format!("{field}[{position}]"),
                format!("{} is listed twice", echo(entry)),
            );
        } else {
            parsed.push(value);
        }
    }
    parsed
}

/// The distinct pairs among an item's actors × recipients, in the order they first occur.
pub fn pairs(item: &AgendaItem) -> Vec<CountryPair> {
    let mut pairs: Vec<CountryPair> = Vec::new();
    for actor in &item.actors {
        for recipient in &item.recipients {
            if let Some(pair) = CountryPair::new(actor.country(), recipient.country())
                && !pairs.contains(&pair)
            {
                pairs.push(pair);
            }
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AgendaItemRecord {
        AgendaItemRecord {
            title: "Talks in Seoul".into(),
            date: "2025-01-06".into(),
            actors: vec!["USAGOV".into()],
            recipients: vec!["KORGOV".into()],
            event_type: "CONSULT".into(),
            contexts: vec!["diplomatic".into(), "indo-pacific".into()],
            ..AgendaItemRecord::default()
        }
    }

    #[test]
    fn intensity_defaults_from_the_type() {
        let item = AgendaItem::parse(&record()).unwrap();
        assert_eq!(item.intensity(), 2.5);
        assert_eq!(item.quad_class(), QuadClass::VerbalCooperation);
        let overridden = AgendaItem::parse(&AgendaItemRecord {
            intensity: Some(7.0),
            ..record()
        })
        .unwrap();
        assert_eq!(overridden.intensity(), 7.0);
        assert_eq!(
            AgendaItem::parse(&overridden.to_record()).unwrap(),
            overridden
        );
    }

    #[test]
    fn bad_lists_name_the_entry() {
        let bad = AgendaItemRecord {
            actors: vec!["USA".into(), "XXX".into(), "USA".into()],
            leg: Some(0),
            contexts: vec!["Military".into()],
            ..record()
        };
        let violations = AgendaItem::parse(&bad).unwrap_err();
        let fields: Vec<&str> = violations
            .items()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["leg", "actors[1]", "actors[2]", "contexts[0]"]);
    }
}
