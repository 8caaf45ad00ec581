//! What a digest holds. Serialized as JSON for storage, webhooks and files.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::values::{format_date, parse_date, parse_keyword};

/// A compiled day: what a desk reads (the sections and their Markdown), bounded in size
/// whatever the day's volume. The full per-pair table is not here: it comes with it in
/// [`Compiled`] and is stored as the digest's `dyads` sub-collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub kind: String,
    pub date: NaiveDate,
    pub time_zone: String,
    /// The alpha-3 code of the country whose side the digest takes.
    pub perspective: String,
    pub headline: Headline,
    /// The day's top items by severity, corroboration and novelty.
    pub key_developments: Vec<Line>,
    /// Each configured alliance with activity, then other cooperation, strongest first.
    pub alliances: Vec<Line>,
    /// The pairs with the most conflict, the pairs whose conflict rose most, the contexts.
    pub tensions: Vec<Line>,
    /// Cooperation between rivals, or between a rival and a third country.
    pub alignments: Vec<Line>,
    /// Who holds power on the day in the countries with activity.
    pub leadership: Vec<Line>,
    /// Trips in progress on the day.
    pub travel: Vec<Line>,
    /// Planned items and trip legs of the next days.
    pub upcoming: Vec<Line>,
    /// Every item the lines cite, once, in the order the digest first prints it.
    pub items: Vec<CitedItem>,
    pub markdown: String,
}

impl Digest {
    pub fn name(&self) -> DigestName {
        DigestName {
            kind: self.kind.clone(),
            date: self.date,
        }
    }

    /// The sections in the order the digest prints them, with their headings.
    pub fn sections(&self) -> [(&'static str, &[Line]); 7] {
        [
            ("Key developments", &self.key_developments),
            ("Alliances", &self.alliances),
            ("Tensions", &self.tensions),
            ("Alignments to watch", &self.alignments),
            ("Leadership", &self.leadership),
            ("Travel", &self.travel),
            ("Upcoming", &self.upcoming),
        ]
    }
}

/// What the compiler makes of a day: the digest and its full per-pair table.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub digest: Digest,
    /// Every pair active on the day, by absolute net, then by pair.
    pub dyads: Vec<Dyad>,
}

/// The day at a glance, each figure against its mean over the 7 days before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Reported items of the day (the ones that score).
    pub item_count: u64,
    /// Sources behind those items.
    pub source_count: u64,
    /// Country pairs with reported activity.
    pub pair_count: u64,
    pub item_mean_7d: f64,
    pub source_mean_7d: f64,
    pub pair_mean_7d: f64,
    /// Items announced for the day or the days ahead, and background restated on the day:
    /// counted apart, never scored.
    pub planned_count: u64,
    pub background_count: u64,
    /// The headline as a sentence.
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuadCounts {
    pub verbal_cooperation: u32,
    pub material_cooperation: u32,
    pub verbal_conflict: u32,
    pub material_conflict: u32,
}

/// How a pair's day compares with its trailing 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// No activity in the trailing window.
    New,
    /// Fewer active days than a trend needs.
    Rare,
    /// Enough history: the z-score applies.
    Measured,
}

impl Trend {
    pub fn code(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Rare => "rare",
            Self::Measured => "measured",
        }
    }
}

/// The activity between two countries on the day: one row of the `dyads` sub-collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dyad {
    /// Alpha-3 codes in alphabetical order.
    pub countries: [String; 2],
    pub cooperation: f64,
    pub conflict: f64,
    pub net: f64,
    pub counts: QuadCounts,
    /// Days with activity in the trailing 30.
    pub active_days: u32,
    pub trend: Trend,
    pub trailing_mean: f64,
    pub trailing_stddev: f64,
    /// Only with [`Trend::Measured`] and a net that varied.
    pub z_score: Option<f64>,
    /// The most frequent contexts of its items (at most 5).
    pub contexts: Vec<String>,
    /// Reported items that formed the pair.
    pub item_count: u64,
    /// The strongest of them (at most 3), `agendaItems/{id}`.
    pub top_items: Vec<String>,
}

impl Dyad {
    pub fn label(&self) -> String {
        format!("{}–{}", self.countries[0], self.countries[1])
    }
}

/// The ListAgendaItems filter that lists every item behind a line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    /// `JPN-KOR`: items forming any of these pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// An item status code: `REPORTED`, `PLANNED` or `BACKGROUND`.
    pub status: String,
    /// How many items the filter lists.
    pub item_count: u64,
}

/// One line of a section, naming what it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The line as a sentence, Markdown-free; the items it cites are in `agenda_items`.
    pub text: String,
    pub countries: Vec<String>,
    /// What the section ranks by: net cooperation for alliances, conflict for tensions, …
    pub score: f64,
    pub z_score: Option<f64>,
    /// The strongest items behind the line (at most 3), `agendaItems/{id}`, strongest first;
    /// each is in [`Digest::items`].
    pub agenda_items: Vec<String>,
    /// Items behind the line beyond those cited.
    pub more_items: u64,
    /// How to list every item behind the line, when it has more than it cites.
    pub evidence: Option<Evidence>,
    /// Officials and trips the line came from.
    pub resources: Vec<String>,
}

/// An item as the digest prints it in full, once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitedItem {
    /// `agendaItems/{id}`.
    pub name: String,
    pub title: String,
    pub date: NaiveDate,
    /// `REPORTED`, `PLANNED` or `BACKGROUND`.
    pub status: String,
    pub hedged: bool,
    /// The PLOVER event type, e.g. `CONSULT`.
    pub event_type: String,
    pub intensity: f64,
    pub actors: Vec<String>,
    pub recipients: Vec<String>,
    /// The first sources of the item (at most 2).
    pub sources: Vec<CitedSource>,
    /// How many sources the item has in all.
    pub source_count: u64,
}

/// A source as the digest cites it: who, where and when, without the excerpt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitedSource {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub publisher: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// RFC 3339, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub published_time: String,
}

/// `digests/{kind}-{yyyy-mm-dd}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestName {
    pub kind: String,
    pub date: NaiveDate,
}

impl DigestName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad =
            || format!("{raw:?} is not a digest name: expected digests/{{kind}}-{{yyyy-mm-dd}}");
        let rest = raw.strip_prefix("digests/").ok_or_else(bad)?;
        if rest.len() < 12 || !rest.is_char_boundary(rest.len() - 11) {
            return Err(bad());
        }
        let (kind, date) = rest.split_at(rest.len() - 11);
        let date = date.strip_prefix('-').ok_or_else(bad)?;
        Ok(Self {
            kind: parse_kind(kind)?,
            date: parse_date(date)?,
        })
    }
}

/// A digest kind: a lowercase keyword such as `daily`.
pub fn parse_kind(raw: &str) -> Result<String, String> {
    parse_keyword(raw).map_err(|_| {
        format!("{raw:?} is not a digest kind: 1 to 40 lowercase letters, digits, '-' or '_'")
    })
}

impl fmt::Display for DigestName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "digests/{}-{}",
            self.kind,
            format_date(self.date)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_kind_and_day() {
        let name = DigestName::parse("digests/daily-2025-01-06").unwrap();
        assert_eq!(name.kind, "daily");
        assert_eq!(name.to_string(), "digests/daily-2025-01-06");
        assert_eq!(
            DigestName::parse("digests/asia-desk-2025-01-06")
                .unwrap()
                .kind,
            "asia-desk"
        );
        assert!(DigestName::parse("digests/daily-2025-02-30").is_err());
        assert!(DigestName::parse("digests/-2025-01-06").is_err());
        assert!(DigestName::parse("digest/daily-2025-01-06").is_err());
    }
}
