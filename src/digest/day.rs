//! The items of one day as the sections read them: sorted by name, split by status, ranked by
//! strength, and the reported ones added up per country pair.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::{Dyad, QuadCounts, Trend};
use super::trend::TrailingNets;
use crate::domain::Stored;
use crate::domain::names::{AgendaItems, Collection};
use crate::domain::{AgendaItem, CountryPair, ItemStatus, QuadClass};

/// A trend needs this many active days in the trailing window; fewer make the pair "rare".
pub const TREND_MIN_ACTIVE_DAYS: u32 = 5;
/// Contexts a dyad names.
const DYAD_CONTEXTS: usize = 5;
/// Items a line or a dyad cites by name.
pub const CITED_PER_LINE: usize = 3;

/// One item of the day and its resource name.
pub struct DayItem<'a> {
    pub name: String,
    pub item: &'a AgendaItem,
}

/// The day's items; sections refer to an item by its position in `items`.
pub struct Day<'a> {
    pub date: NaiveDate,
    pub items: Vec<DayItem<'a>>,
    /// Position of each item in strength order (0 is the strongest): |intensity|, then
    /// sources, then name.
    rank: Vec<u32>,
    /// Positions of the reported items, ascending.
    pub reported: Vec<usize>,
    /// Positions of the items planned for the day, ascending.
    pub planned: Vec<usize>,
    /// Positions of the background items, ascending.
    pub background: Vec<usize>,
}

/// A country pair's reported activity, with the positions of its items (ascending).
pub struct PairTally {
    pub dyad: Dyad,
    pub pair: CountryPair,
    pub positions: Vec<usize>,
}

pub fn resource_name(stored: &Stored<AgendaItem>) -> String {
    let id = stored.id.as_str();
    let mut name = String::with_capacity(AgendaItems::SEGMENT.len() + 1 + id.len());
    name.push_str(AgendaItems::SEGMENT);
    name.push('/');
    name.push_str(id);
    name
}

impl<'a> Day<'a> {
    pub fn new(date: NaiveDate, stored: &'a [Stored<AgendaItem>]) -> Self {
        let mut items: Vec<DayItem<'a>> = stored
            .iter()
            .filter(|stored| stored.value.date == date)
            .map(|stored| DayItem {
                name: resource_name(stored),
                item: &stored.value,
            })
            .collect();
        items.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let mut by_strength: Vec<usize> = (0..items.len()).collect();
        by_strength.sort_unstable_by(|&a, &b| stronger(&items[a], &items[b]));
        let mut rank = vec![0_u32; items.len()];
        for (order, &position) in by_strength.iter().enumerate() {
            rank[position] = u32::try_from(order).unwrap_or(u32::MAX);
        }
        let mut day = Self {
            date,
            rank,
            reported: Vec::new(),
            planned: Vec::new(),
            background: Vec::new(),
            items,
        };
        for (position, entry) in day.items.iter().enumerate() {
            match entry.item.status {
                ItemStatus::Reported => day.reported.push(position),
                ItemStatus::Planned => day.planned.push(position),
                ItemStatus::Background => day.background.push(position),
            }
        }
        day
    }

    pub fn item(&self, position: usize) -> &'a AgendaItem {
        self.items[position].item
    }

    pub fn name(&self, position: usize) -> &str {
        &self.items[position].name
    }

    /// The `count` strongest of `positions`, strongest first.
    pub fn strongest(
        &self,
        positions: impl IntoIterator<Item = usize>,
        count: usize,
    ) -> Vec<usize> {
        let mut best: Vec<usize> = Vec::with_capacity(count + 1);
        for position in positions {
            if best.len() == count
                && best
                    .last()
                    .is_some_and(|&last| self.rank[last] <= self.rank[position])
            {
                continue;
            }
            let at = best.partition_point(|&kept| self.rank[kept] < self.rank[position]);
            best.insert(at, position);
            best.truncate(count);
        }
        best
    }

    pub fn names(&self, positions: &[usize]) -> Vec<String> {
        positions
            .iter()
            .map(|&position| self.items[position].name.clone())
            .collect()
    }

    /// The reported items added up per country pair; by absolute net, then by pair.
    pub fn pair_tallies(&self, trailing: &TrailingNets) -> Vec<PairTally> {
        struct Sums {
            cooperation: f64,
            conflict: f64,
            counts: QuadCounts,
            positions: Vec<usize>,
        }
        let mut by_pair: HashMap<CountryPair, Sums> = HashMap::new();
        for &position in &self.reported {
            let item = self.item(position);
            let intensity = item.intensity();
            for pair in item.scoring_pairs() {
                let sums = by_pair.entry(pair).or_insert_with(|| Sums {
                    cooperation: 0.0,
                    conflict: 0.0,
                    counts: QuadCounts::default(),
                    positions: Vec::new(),
                });
                sums.cooperation += intensity.max(0.0);
                sums.conflict += (-intensity).max(0.0);
                match item.quad_class() {
                    QuadClass::VerbalCooperation => sums.counts.verbal_cooperation += 1,
                    QuadClass::MaterialCooperation => sums.counts.material_cooperation += 1,
                    QuadClass::VerbalConflict => sums.counts.verbal_conflict += 1,
                    QuadClass::MaterialConflict => sums.counts.material_conflict += 1,
                }
                sums.positions.push(position);
            }
        }
        let mut tallies: Vec<PairTally> = by_pair
            .into_iter()
            .map(|(pair, sums)| {
                let net = sums.cooperation - sums.conflict;
                let active_days = trailing.active_days(&pair, self.date);
                let (mean, stddev) = trailing.stats(&pair, self.date);
                let trend = if active_days == 0 {
                    Trend::New
                } else if active_days < TREND_MIN_ACTIVE_DAYS {
                    Trend::Rare
                } else {
                    Trend::Measured
                };
                let z_score =
                    (trend == Trend::Measured && stddev > 1e-9).then(|| (net - mean) / stddev);
                let top_items = self.strongest(sums.positions.iter().copied(), CITED_PER_LINE);
                let dyad = Dyad {
                    countries: [pair.first().to_string(), pair.second().to_string()],
                    cooperation: sums.cooperation,
                    conflict: sums.conflict,
                    net,
                    counts: sums.counts,
                    active_days,
                    trend,
                    trailing_mean: mean,
                    trailing_stddev: stddev,
                    z_score,
                    contexts: self.top_contexts(&sums.positions),
                    item_count: sums.positions.len() as u64,
                    top_items: self.names(&top_items),
                };
                PairTally {
                    dyad,
                    pair,
                    positions: sums.positions,
                }
            })
            .collect();
        tallies.sort_unstable_by(|a, b| {
            b.dyad
                .net
                .abs()
                .total_cmp(&a.dyad.net.abs())
                .then_with(|| a.pair.cmp(&b.pair))
        });
        tallies
    }

    /// The most frequent contexts of the items, ties by name.
    fn top_contexts(&self, positions: &[usize]) -> Vec<String> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        for &position in positions {
            for context in &self.item(position).contexts {
                *counts.entry(context.as_str()).or_insert(0) += 1;
            }
        }
        let mut counted: Vec<(&str, u32)> = counts.into_iter().collect();
        counted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        counted
            .into_iter()
            .take(DYAD_CONTEXTS)
            .map(|(context, _)| context.to_owned())
            .collect()
    }
}

/// Strength order: the larger |intensity| first, then the better sourced, then by name.
fn stronger(a: &DayItem<'_>, b: &DayItem<'_>) -> std::cmp::Ordering {
    b.item
        .intensity()
        .abs()
        .total_cmp(&a.item.intensity().abs())
        .then_with(|| b.item.source_count().cmp(&a.item.source_count()))
        .then_with(|| a.name.cmp(&b.name))
}
