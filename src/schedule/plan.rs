//! When a digest kind is due, computed with the zone's rules at every question, so a daylight
//! saving change never moves a run by an hour. Pure: every function takes the time it needs.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The schedule of one digest kind: a 6-field cron expression (seconds first) in a zone.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: String,
    pub time_zone: Tz,
    expression: String,
    cron: Cron,
}

impl Plan {
    pub fn parse(kind: &str, expression: &str, time_zone: Tz) -> Result<Self, String> {
        let fields = expression.split_whitespace().count();
        if fields != 6 {
            return Err(format!(
                "{expression:?} has {fields} fields: a digest cron takes 6, seconds first, e.g. \"0 0 6 * * *\""
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|error| format!("{expression:?} is not a cron expression: {error}"))?;
        Ok(Self {
            kind: kind.to_owned(),
            time_zone,
            expression: expression.to_owned(),
            cron,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first fire strictly after `after`.
    pub fn next_fire_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.time_zone), false)
            .ok()
            .map(|fire| fire.with_timezone(&Utc))
    }

    /// The local day an instant falls on in the plan's zone.
    pub fn local_day(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.time_zone).date_naive()
    }

    /// The first fire on a local day, if the expression fires that day.
    pub fn first_fire_on(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let start = (0..24).find_map(|hour| {
            self.time_zone
                .from_local_datetime(&day.and_hms_opt(hour, 0, 0)?)
                .earliest()
        })?;
        let fire = self.cron.find_next_occurrence(&start, true).ok()?;
        (fire.date_naive() == day).then(|| fire.with_timezone(&Utc))
    }

    /// Days whose fire time has passed by `now` and that are not compiled: those after
    /// `last_done`, at most `catch_up_days` back, oldest first. With no run ever done, only
    /// the latest due day (a new installation does not compile a week of empty digests).
    pub fn due_days(
        &self,
        now: DateTime<Utc>,
        last_done: Option<NaiveDate>,
        catch_up_days: u32,
    ) -> Vec<NaiveDate> {
        let today = self.local_day(now);
        let window = i64::from(catch_up_days.max(1));
        let mut due: Vec<NaiveDate> = (0..window)
            .map(|back| today - Duration::days(back))
            .filter(|day| last_done.is_none_or(|done| *day > done))
            .filter(|day| self.first_fire_on(*day).is_some_and(|fire| fire <= now))
            .collect();
        if last_done.is_none() {
            due.truncate(1);
        }
        due.reverse();
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_york(expression: &str) -> Plan {
        Plan::parse("daily", expression, chrono_tz::America::New_York).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// Follows the plan from `start` for `days` days, as the scheduler does: each fire is
    /// computed after the previous one with the zone's rules of that moment.
    fn fires(plan: &Plan, start: DateTime<Utc>, days: usize) -> Vec<DateTime<Utc>> {
        let mut fires = Vec::new();
        let mut now = start;
        while fires.len() < days {
            let fire = plan.next_fire_after(now).unwrap();
            fires.push(fire);
            now = fire;
        }
        fires
    }

    #[test]
    fn six_in_the_morning_stays_six_across_both_dst_changes() {
        let plan = new_york("0 0 6 * * *");
        // 2025: spring forward on 9 March, fall back on 2 November.
        for (start, days) in [("2025-03-07T12:00:00Z", 5), ("2025-10-31T12:00:00Z", 5)] {
            let fires = fires(&plan, utc(start), days);
            let mut seen_days = Vec::new();
            for fire in &fires {
                let local = fire.with_timezone(&plan.time_zone);
                assert_eq!(
                    local.format("%H:%M:%S").to_string(),
                    "06:00:00",
                    "fire {fire}"
                );
                seen_days.push(local.date_naive());
            }
            seen_days.dedup();
            assert_eq!(seen_days.len(), days, "one run per day: {fires:?}");
        }
        // The UTC hour moves with the offset: 11:00Z in winter, 10:00Z in summer.
        let march = fires(&plan, utc("2025-03-07T12:00:00Z"), 3);
        assert_eq!(march[0], utc("2025-03-08T11:00:00Z"));
        assert_eq!(march[1], utc("2025-03-09T10:00:00Z"));
    }

    #[test]
    fn a_time_in_the_gap_runs_once_and_a_repeated_time_once() {
        // 02:30 does not exist on 9 March 2025 and happens twice... only for 01:30 on 2 November.
        let gap = new_york("0 30 2 * * *");
        let fires_in_march = fires(&gap, utc("2025-03-08T12:00:00Z"), 3);
        let days: Vec<NaiveDate> = fires_in_march
            .iter()
            .map(|fire| gap.local_day(*fire))
            .collect();
        assert_eq!(
            days,
            [day("2025-03-09"), day("2025-03-10"), day("2025-03-11")]
        );
        let overlap = new_york("0 30 1 * * *");
        let fires_in_november = fires(&overlap, utc("2025-11-01T12:00:00Z"), 3);
        let days: Vec<NaiveDate> = fires_in_november
            .iter()
            .map(|fire| overlap.local_day(*fire))
            .collect();
        assert_eq!(
            days,
            [day("2025-11-02"), day("2025-11-03"), day("2025-11-04")]
        );
    }

    #[test]
    fn catch_up_compiles_the_missed_days_only() {
        let plan = Plan::parse("daily", "0 0 6 * * *", chrono_tz::UTC).unwrap();
        let now = utc("2025-01-10T07:00:00Z");
        // Down since the run of the 6th: the 7th, 8th, 9th and today's 10th are due.
        assert_eq!(
            plan.due_days(now, Some(day("2025-01-06")), 7),
            [
                day("2025-01-07"),
                day("2025-01-08"),
                day("2025-01-09"),
                day("2025-01-10")
            ]
        );
        // Before 06:00 today's run is not due yet.
        let early = utc("2025-01-10T05:00:00Z");
        assert_eq!(
            plan.due_days(early, Some(day("2025-01-06")), 7).last(),
            Some(&day("2025-01-09"))
        );
        // The bound holds after a long outage.
        assert_eq!(plan.due_days(now, Some(day("2024-12-01")), 3).len(), 3);
        // A first start compiles only the latest due day.
        assert_eq!(plan.due_days(now, None, 7), [day("2025-01-10")]);
    }

    #[test]
    fn expressions_need_six_fields() {
        assert!(Plan::parse("daily", "0 6 * * *", chrono_tz::UTC).is_err());
        assert!(Plan::parse("daily", "0 0 6 * * * 2025", chrono_tz::UTC).is_err());
        assert!(Plan::parse("daily", "0 0 25 * * *", chrono_tz::UTC).is_err());
        assert!(Plan::parse("daily", "*/2 * * * * *", chrono_tz::UTC).is_ok());
    }
}
