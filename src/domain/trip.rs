//! Trips and their legs.

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::names::OfficialName;
use super::source::{Source, SourceRecord, parse_sources};
use super::values::{CountryCode, format_date, parse_date, parse_text, parse_time_zone};
use super::violations::Violations;

pub const MAX_LEGS: usize = 50;

/// A trip as clients write it; [`Trip::parse`] turns it into a [`Trip`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TripRecord {
    pub title: String,
    pub traveler: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub purpose: String,
    pub legs: Vec<LegRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceRecord>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LegRecord {
    pub country: String,
    pub city: String,
    pub start_date: String,
    pub end_date: String,
    pub time_zone: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub purpose: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    pub title: String,
    pub traveler: OfficialName,
    pub purpose: String,
    pub legs: Vec<Leg>,
    pub sources: Vec<Source>,
    pub cancelled: bool,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    pub country: CountryCode,
    pub city: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub time_zone: Tz,
    pub purpose: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripState {
    Planned,
    InProgress,
    Completed,
    Cancelled,
}

impl Trip {
    pub fn parse(record: &TripRecord) -> Result<Self, Violations> {
        let mut violations = Violations::new();
        let title = violations.check("title", parse_text(&record.title, 300, true));
        let traveler = violations.check("traveler", OfficialName::parse(&record.traveler));
        let purpose = violations.check("purpose", parse_text(&record.purpose, 2000, false));
        let notes = violations.check("notes", parse_text(&record.notes, 2000, false));
        if record.legs.is_empty() {
            violations.add("legs", "a trip needs at least one leg");
        }
        let legs_too_many = violations.too_many("legs", "legs", record.legs.len(), MAX_LEGS);
        let legs: Vec<Option<Leg>> = (if legs_too_many { &[] } else { &record.legs[..] })
            .iter()
            .enumerate()
            .map(|(position, leg)| Leg::parse(leg, &format!("legs[{position}]"), &mut violations))
            .collect();
        for (position, pair) in legs.windows(2).enumerate() {
            if let [Some(previous), Some(next)] = pair
                && next.start_date < previous.start_date
            {
                violations.add(
                    format!("legs[{}].start_date", position + 1),
                    "legs must be in travel order: this leg starts before the previous one",
                );
            }
        }
        let sources = parse_sources(&record.sources, "sources", &mut violations);
        violations.finish(|| Self {
            title: title.unwrap_or_default(),
            traveler: traveler.expect("checked"),
            purpose: purpose.unwrap_or_default(),
            legs: legs.into_iter().flatten().collect(),
            sources,
            cancelled: record.cancelled,
            notes: notes.unwrap_or_default(),
        })
    }

    pub fn to_record(&self) -> TripRecord {
        TripRecord {
            title: self.title.clone(),
            traveler: self.traveler.to_string(),
            purpose: self.purpose.clone(),
            legs: self.legs.iter().map(Leg::to_record).collect(),
            sources: self.sources.iter().map(Source::to_record).collect(),
            cancelled: self.cancelled,
            notes: self.notes.clone(),
        }
    }

    /// The state at `now`: each boundary is compared in the zone of the leg it belongs to.
    pub fn state_at(&self, now: chrono::DateTime<Utc>) -> TripState {
        let boundaries = self
            .legs
            .first()
            .zip(self.legs.last())
            .map(|(first, last)| {
                (
                    (first.start_date, first.time_zone),
                    (last.end_date, last.time_zone),
                )
            });
        state_between(self.cancelled, boundaries, now)
    }

    pub fn first_date(&self) -> Option<NaiveDate> {
        self.legs.iter().map(|leg| leg.start_date).min()
    }

    pub fn last_date(&self) -> Option<NaiveDate> {
        self.legs.iter().map(|leg| leg.end_date).max()
    }
}

impl TripRecord {
    /// [`Trip::state_at`] of a stored record, reading only the dates and zones it needs (the
    /// record was checked when it was stored); `None` when they do not parse.
    pub fn state_at(&self, now: chrono::DateTime<Utc>) -> Option<TripState> {
        let boundary =
            |date: &str, zone: &str| Some((parse_date(date).ok()?, parse_time_zone(zone).ok()?));
        let boundaries = match (self.legs.first(), self.legs.last()) {
            (Some(first), Some(last)) => Some((
                boundary(&first.start_date, &first.time_zone)?,
                boundary(&last.end_date, &last.time_zone)?,
            )),
            _ => None,
        };
        Some(state_between(self.cancelled, boundaries, now))
    }
}

/// Planned until the first leg starts in its zone, completed once the last leg has ended in
/// its zone, in progress between.
fn state_between(
    cancelled: bool,
    boundaries: Option<((NaiveDate, Tz), (NaiveDate, Tz))>,
    now: chrono::DateTime<Utc>,
) -> TripState {
    if cancelled {
        return TripState::Cancelled;
    }
    let Some(((start, start_zone), (end, end_zone))) = boundaries else {
        return TripState::Planned;
    };
    if now.with_timezone(&start_zone).date_naive() < start {
        TripState::Planned
    } else if now.with_timezone(&end_zone).date_naive() > end {
        TripState::Completed
    } else {
        TripState::InProgress
    }
}

impl Leg {
    fn parse(record: &LegRecord, field: &str, violations: &mut Violations) -> Option<Self> {
        let country = violations.check(
            format!("{field}.country"),
            CountryCode::parse(&record.country),
        );
        let city = violations.check(format!("{field}.city"), parse_text(&record.city, 100, true));
        let start_date = violations.check(
            format!("{field}.start_date"),
            parse_date(&record.start_date),
        );
        let end_date = violations.check(format!("{field}.end_date"), parse_date(&record.end_date));
        let time_zone = violations.check(
            format!("{field}.time_zone"),
            parse_time_zone(&record.time_zone),
        );
        let purpose = violations.check(
            format!("{field}.purpose"),
            parse_text(&record.purpose, 2000, false),
        );
        if let (Some(start), Some(end)) = (start_date, end_date)
            && end < start
        {
            violations.add(format!("{field}.end_date"), "must not be before start_date");
            return None;
        }
        Some(Self {
            country: country?,
            city: city?,
            start_date: start_date?,
            end_date: end_date?,
            time_zone: time_zone?,
            purpose: purpose?,
        })
    }

    fn to_record(&self) -> LegRecord {
        LegRecord {
            country: self.country.to_string(),
            city: self.city.clone(),
            start_date: format_date(self.start_date),
            end_date: format_date(self.end_date),
            time_zone: self.time_zone.name().to_owned(),
            purpose: self.purpose.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn seoul_leg(start: &str, end: &str) -> LegRecord {
        LegRecord {
            country: "KOR".into(),
            city: "Seoul".into(),
            start_date: start.into(),
            end_date: end.into(),
            time_zone: "Asia/Seoul".into(),
            purpose: String::new(),
        }
    }

    fn record() -> TripRecord {
        TripRecord {
            title: "Final trip".into(),
            traveler: "officials/antony-blinken".into(),
            legs: vec![seoul_leg("2025-01-05", "2025-01-06")],
            ..TripRecord::default()
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = record();
        bad.title = String::new();
        bad.legs.push(LegRecord {
            country: "ZZZ".into(),
            time_zone: "Nowhere/City".into(),
            ..seoul_leg("2025-01-09", "2025-01-08")
        });
        let violations = Trip::parse(&bad).unwrap_err();
        let fields: Vec<&str> = violations
            .items()
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "title",
                "legs[1].country",
                "legs[1].time_zone",
                "legs[1].end_date"
            ]
        );
    }

    #[test]
    fn state_follows_the_leg_zones() {
        let trip = Trip::parse(&record()).unwrap();
        // 2025-01-04 16:00 UTC is already 2025-01-05 01:00 in Seoul.
        let seoul_morning = Utc.with_ymd_and_hms(2025, 1, 4, 16, 0, 0).unwrap();
        assert_eq!(trip.state_at(seoul_morning), TripState::InProgress);
        let before = Utc.with_ymd_and_hms(2025, 1, 4, 14, 0, 0).unwrap();
        assert_eq!(trip.state_at(before), TripState::Planned);
        let after = Utc.with_ymd_and_hms(2025, 1, 6, 15, 0, 0).unwrap();
        assert_eq!(trip.state_at(after), TripState::Completed);
        assert_eq!(Trip::parse(&trip.to_record()).unwrap(), trip);
    }

    #[test]
    fn a_stored_record_has_the_state_of_its_trip() {
        let mut stored = record();
        stored.legs.insert(
            0,
            LegRecord {
                country: "USA".into(),
                city: "Washington".into(),
                time_zone: "America/New_York".into(),
                ..seoul_leg("2025-01-03", "2025-01-04")
            },
        );
        let mut cancelled = stored.clone();
        cancelled.cancelled = true;
        for record in [stored, cancelled] {
            let trip = Trip::parse(&record).unwrap();
            for hour in (0..5 * 24).step_by(3) {
                let now = Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0).unwrap()
                    + chrono::Duration::hours(hour);
                assert_eq!(
                    record.state_at(now),
                    Some(trip.state_at(now)),
                    "{now} {record:?}"
                );
            }
        }
        let mut corrupt = record();
        corrupt.legs[0].time_zone = "Nowhere/City".into();
        assert_eq!(corrupt.state_at(Utc::now()), None);
    }
}
