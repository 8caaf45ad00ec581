//! The trailing daily nets of each country pair, against which a day's net is a z-score.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::domain::{AgendaItem, CountryPair};

/// Net intensity per pair per day over the trailing window.
#[derive(Debug, Clone, Default)]
pub struct TrailingNets {
    days: i64,
    nets: HashMap<CountryPair, BTreeMap<NaiveDate, f64>>,
}

impl TrailingNets {
    pub fn new(days: i64) -> Self {
        Self {
            days,
            nets: HashMap::new(),
        }
    }

    /// Adds the items of trailing days.
    pub fn from_items<'a>(days: i64, items: impl IntoIterator<Item = &'a AgendaItem>) -> Self {
        let mut trailing = Self::new(days);
        for item in items {
            for pair in item.scoring_pairs() {
                trailing.add(pair, item.date, item.intensity());
            }
        }
        trailing
    }

    pub fn add(&mut self, pair: CountryPair, date: NaiveDate, net: f64) {
        *self
            .nets
            .entry(pair)
            .or_default()
            .entry(date)
            .or_insert(0.0) += net;
    }

    /// Days of the `days` before `day` on which the pair was active.
    pub fn active_days(&self, pair: &CountryPair, day: NaiveDate) -> u32 {
        let start = day - chrono::Duration::days(self.days);
        self.nets.get(pair).map_or(0, |by_day| {
            u32::try_from(by_day.range(start..day).count()).unwrap_or(u32::MAX)
        })
    }

    /// How many pairs were active on each day of `from..to`.
    pub fn active_pairs_per_day(&self, from: NaiveDate, to: NaiveDate) -> BTreeMap<NaiveDate, u64> {
        let mut counts = BTreeMap::new();
        for by_day in self.nets.values() {
            for date in by_day.range(from..to).map(|(date, _)| *date) {
                *counts.entry(date).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Mean and population standard deviation of the pair's daily net over the `days` days
    /// before `day`; days without items count as 0.
    pub fn stats(&self, pair: &CountryPair, day: NaiveDate) -> (f64, f64) {
        if self.days <= 0 {
            return (0.0, 0.0);
        }
        let start = day - chrono::Duration::days(self.days);
        let values: Vec<f64> = match self.nets.get(pair) {
            None => return (0.0, 0.0),
            Some(by_day) => {
                let mut values = vec![0.0; usize::try_from(self.days).unwrap_or(0)];
                for (date, net) in by_day.range(start..day) {
                    let offset = (*date - start).num_days();
                    if let Some(slot) = usize::try_from(offset)
                        .ok()
                        .and_then(|offset| values.get_mut(offset))
                    {
                        *slot += net;
                    }
                }
                values
            }
        };
        let count = values.len() as f64;
        let mean = values.iter().sum::<f64>() / count;
        let variance = values
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / count;
        (mean, variance.sqrt())
    }
}
