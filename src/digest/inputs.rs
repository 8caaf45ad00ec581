//! What a digest is compiled from: read by the schedule's runner, handed to [`super::compile`].

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::side::Side;
use super::trend::TrailingNets;
use crate::domain::{AgendaItem, DailyActivity, Official, Stored, Trip};

/// Everything a digest is compiled from.
pub struct Inputs<'a> {
    pub kind: &'a str,
    pub day: NaiveDate,
    pub time_zone: Tz,
    pub side: &'a Side,
    /// Every agenda item dated `day`, whatever its status.
    pub items: &'a [Stored<AgendaItem>],
    /// Planned items dated `day+1 ..= day+UPCOMING_DAYS`, at most UPCOMING_READ_LIMIT.
    pub planned: &'a [Stored<AgendaItem>],
    pub trailing: &'a TrailingNets,
    /// Reported items and sources of the HEADLINE_DAYS days before `day` (days without are
    /// missing).
    pub activity: &'a [DailyActivity],
    pub officials: &'a [Stored<Official>],
    /// Trips with a leg overlapping `day ..= day+UPCOMING_DAYS`.
    pub trips: &'a [Stored<Trip>],
}
