//! What a digest holds. Serialized as JSON for storage, webhooks and files.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::values::{format_date, parse_date, parse_keyword};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub kind: String,
    pub date: NaiveDate,
    pub time_zone: String,
    pub item_count: usize,
    pub dyads: Vec<Dyad>,
    pub alliances: Vec<Line>,
    pub tensions: Vec<Line>,
    pub leadership: Vec<Line>,
    pub travel: Vec<Line>,
    pub markdown: String,
}

impl Digest {
    pub fn name(&self) -> DigestName {
        DigestName {
            kind: self.kind.clone(),
            date: self.date,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuadCounts {
    pub verbal_cooperation: u32,
    pub material_cooperation: u32,
    pub verbal_conflict: u32,
    pub material_conflict: u32,
}

/// The activity between two countries on the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dyad {
    /// Alpha-3 codes in alphabetical order.
    pub countries: [String; 2],
    pub cooperation: f64,
    pub conflict: f64,
    pub net: f64,
    pub counts: QuadCounts,
    pub trailing_mean: f64,
    pub trailing_stddev: f64,
    pub z_score: Option<f64>,
    pub contexts: Vec<String>,
    /// `agendaItems/{id}`, sorted.
    pub agenda_items: Vec<String>,
}

impl Dyad {
    pub fn label(&self) -> String {
        format!("{}–{}", self.countries[0], self.countries[1])
    }
}

/// One line of a section, naming what it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    pub countries: Vec<String>,
    pub score: f64,
    pub z_score: Option<f64>,
    pub agenda_items: Vec<String>,
    /// Officials and trips the line came from.
    pub resources: Vec<String>,
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
