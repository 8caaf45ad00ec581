//! How busy a day was: what the digest's headline sets the day against.

use chrono::NaiveDate;

/// The reported items of one day and the sources behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyActivity {
    pub date: NaiveDate,
    pub items: u64,
    pub sources: u64,
}
