//! When to try a failed delivery again: exponential backoff with jitter, and the receiver's
//! `Retry-After` when it asks for longer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;

#[derive(Debug, Clone, Copy)]
pub struct RetrySchedule {
    /// Attempts in all before a delivery goes to dead letter.
    pub max_attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl RetrySchedule {
    /// The delay after the `attempt`-th failure (1-based): first_delay × 2^(attempt−1), capped,
    /// with ±20 % jitter so receivers are not hit by every sender at once.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let base = self
            .first_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let jitter = rand::rng().random_range(0.8..=1.2);
        base.mul_f64(jitter).min(self.max_delay)
    }

    /// When to try again after `attempt` failures, or None when the attempts are used up.
    pub fn next_attempt(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        retry_after: Option<Duration>,
    ) -> Option<DateTime<Utc>> {
        if attempt >= self.max_attempts {
            return None;
        }
        let backoff = self.delay_after(attempt);
        let wait = retry_after
            .map_or(backoff, |asked| asked.max(backoff))
            .min(Duration::from_secs(24 * 3600));
        Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)))
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (date - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops() {
        let schedule = RetrySchedule {
            max_attempts: 4,
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        };
        for (attempt, base) in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 60.0), (9, 60.0)] {
            let delay = schedule.delay_after(attempt).as_secs_f64();
            assert!(
                delay >= base * 0.8 - 1e-9 && delay <= (base * 1.2f64).min(60.0),
                "attempt {attempt}: {delay}"
            );
        }
        let now = Utc::now();
        assert!(schedule.next_attempt(3, now, None).is_some());
        assert!(schedule.next_attempt(4, now, None).is_none());
        let asked = schedule
            .next_attempt(1, now, Some(Duration::from_secs(600)))
            .unwrap();
        assert!((asked - now).num_seconds() >= 599);
    }

    #[test]
    fn retry_after_takes_seconds_or_dates() {
        let now = DateTime::parse_from_rfc3339("2025-01-06T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 06 Jan 2025 06:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
