//! The items of one day as the sections read them: sorted by name, split by status, ranked by
//! strength, and the reported ones added up per country pair.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::model::{Dyad, QuadCounts, Trend};
use super::trend::TrailingNets;
use crate::domain::Stored;
use crate::domain::names::{AgendaItems, Collection};
use crate::domain::{AgendaItem, CountryPair, ItemStatus, QuadClass, ResourceId};

/// A trend needs this many active days in the trailing window; fewer make the pair "rare".
pub const TREND_MIN_ACTIVE_DAYS: u32 = 5;
/// Contexts a dyad names.
const DYAD_CONTEXTS: usize = 5;
/// Items a line or a dyad cites by name.
pub const CITED_PER_LINE: usize = 3;

/// |intensity| as bits, sources, articles: how strong an item is, in sort order.
type Strength = (u64, u64, u64);

/// One item of the day and its id (names are made for the few items a digest cites, not for
/// every item of a busy day).
pub struct DayItem<'a> {
    pub id: &'a ResourceId,
    pub item: &'a AgendaItem,
}

/// The day's items; sections refer to an item by its position in `items`.
pub struct Day<'a> {
    pub date: NaiveDate,
    pub items: Vec<DayItem<'a>>,
    /// Position of each item in strength order (0 is the strongest): |intensity|, then
    /// corroboration, then name.
    rank: Vec<u32>,
    /// Positions of the reported items, ascending.
    pub reported: Vec<usize>,
    /// Positions of the items planned for the day, ascending.
    pub planned: Vec<usize>,
    /// Positions of the background items, ascending.
    pub background: Vec<usize>,
    /// The day's contexts in name order; each item's contexts as ids into it (the position
    /// in that order), laid out flat: `context_ids[context_starts[p]..context_starts[p + 1]]`.
    /// Hashed once per item here, not once per pair and section.
    pub contexts: Vec<&'a str>,
    context_ids: Vec<u32>,
    context_starts: Vec<usize>,
}

/// A country pair's reported activity, with the positions of its items (ascending).
pub struct PairTally {
    pub dyad: Dyad,
    pub pair: CountryPair,
    pub positions: Vec<usize>,
}

pub fn resource_name(stored: &Stored<AgendaItem>) -> String {
    item_name(&stored.id)
}

fn item_name(id: &ResourceId) -> String {
    let id = id.as_str();
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
                id: &stored.id,
                item: &stored.value,
            })
            .collect();
        // Names are `agendaItems/{id}`: in id order, they are in name order.
        items.sort_unstable_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        // Strength order: the larger |intensity| first, then the better corroborated
        // (sources, then articles), then by name (positions follow names). A non-negative
        // float's bits sort as the float does.
        let mut by_strength: Vec<(std::cmp::Reverse<Strength>, usize)> = items
            .iter()
            .enumerate()
            .map(|(position, entry)| {
                let (sources, articles) = entry.item.corroboration();
                let strength = (entry.item.intensity().abs().to_bits(), sources, articles);
                (std::cmp::Reverse(strength), position)
            })
            .collect();
        by_strength.sort_unstable();
        let by_strength: Vec<usize> = by_strength
            .into_iter()
            .map(|(_, position)| position)
            .collect();
        let mut rank = vec![0_u32; items.len()];
        for (order, &position) in by_strength.iter().enumerate() {
            rank[position] = u32::try_from(order).unwrap_or(u32::MAX);
        }
        let mut contexts: Vec<&'a str> = items
            .iter()
            .flat_map(|entry| entry.item.contexts.iter().map(String::as_str))
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        contexts.sort_unstable();
        let ids: HashMap<&str, u32> = contexts
            .iter()
            .enumerate()
            .map(|(id, context)| (*context, u32::try_from(id).unwrap_or(u32::MAX)))
            .collect();
        let mut context_ids = Vec::with_capacity(items.len() * 2);
        let mut context_starts = Vec::with_capacity(items.len() + 1);
        context_starts.push(0);
        for entry in &items {
            context_ids.extend(
                entry
                    .item
                    .contexts
                    .iter()
                    .map(|context| ids[context.as_str()]),
            );
            context_starts.push(context_ids.len());
        }
        let mut day = Self {
            date,
            rank,
            reported: Vec::new(),
            planned: Vec::new(),
            background: Vec::new(),
            contexts,
            context_ids,
            context_starts,
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

    /// The item's resource name, `agendaItems/{id}`.
    pub fn name(&self, position: usize) -> String {
        item_name(self.items[position].id)
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
            .map(|&position| self.name(position))
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

    /// The ids of an item's contexts (see [`Day::contexts`]).
    pub fn context_ids(&self, position: usize) -> &[u32] {
        &self.context_ids[self.context_starts[position]..self.context_starts[position + 1]]
    }

    /// The most frequent contexts of the items, ties by name.
    fn top_contexts(&self, positions: &[usize]) -> Vec<String> {
        let mut ids: Vec<u32> = positions
            .iter()
            .flat_map(|&position| self.context_ids(position).iter().copied())
            .collect();
        ids.sort_unstable();
        let mut counted: Vec<(u32, u32)> = Vec::new();
        for id in ids {
            match counted.last_mut() {
                Some((last, count)) if *last == id => *count += 1,
                _ => counted.push((id, 1)),
            }
        }
        // Ids sort as names do.
        counted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counted
            .into_iter()
            .take(DYAD_CONTEXTS)
            .map(|(id, _)| self.contexts[id as usize].to_owned())
            .collect()
    }
}
