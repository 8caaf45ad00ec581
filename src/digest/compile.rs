//! The compiler. A stand-in until the briefing compiler lands: a headline and the per-pair
//! table from the day's reported items, no sections.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::model::{Compiled, Digest, Dyad, Headline, QuadCounts, Trend};
use super::render::render;
use super::side::Side;
use super::trend::{Pair, TrailingNets};
use super::{HEADLINE_DAYS, UPCOMING_DAYS};
use crate::domain::{AgendaItem, DailyActivity, ItemStatus, Official, QuadClass, Trip};
use crate::store::Stored;

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
    /// Reported items and sources of the HEADLINE_DAYS days before `day` (days without are missing).
    pub activity: &'a [DailyActivity],
    pub officials: &'a [Stored<Official>],
    /// Trips with a leg overlapping `day ..= day+UPCOMING_DAYS`.
    pub trips: &'a [Stored<Trip>],
}

pub fn compile(inputs: &Inputs<'_>) -> Compiled {
    let day_items = inputs
        .items
        .iter()
        .filter(|item| item.value.date == inputs.day);
    let mut by_pair: BTreeMap<Pair, (Dyad, Vec<(f64, String)>)> = BTreeMap::new();
    let mut headline = Headline::default();
    for stored in day_items {
        let item = &stored.value;
        match item.status {
            ItemStatus::Planned => headline.planned_count += 1,
            ItemStatus::Background => headline.background_count += 1,
            ItemStatus::Reported => {
                headline.item_count += 1;
                headline.source_count += item.sources.len() as u64;
            }
        }
        let intensity = item.intensity();
        for pair in item.scoring_pairs() {
            let (dyad, strongest) = by_pair.entry(pair).or_insert_with(|| {
                let (mean, stddev) = inputs.trailing.stats(&pair, inputs.day);
                let dyad = Dyad {
                    countries: [pair.first().to_string(), pair.second().to_string()],
                    cooperation: 0.0,
                    conflict: 0.0,
                    net: 0.0,
                    counts: QuadCounts::default(),
                    active_days: 0,
                    trend: Trend::New,
                    trailing_mean: mean,
                    trailing_stddev: stddev,
                    z_score: None,
                    contexts: Vec::new(),
                    item_count: 0,
                    top_items: Vec::new(),
                };
                (dyad, Vec::new())
            });
            dyad.cooperation += intensity.max(0.0);
            dyad.conflict += (-intensity).max(0.0);
            dyad.net += intensity;
            dyad.item_count += 1;
            match item.quad_class() {
                QuadClass::VerbalCooperation => dyad.counts.verbal_cooperation += 1,
                QuadClass::MaterialCooperation => dyad.counts.material_cooperation += 1,
                QuadClass::VerbalConflict => dyad.counts.verbal_conflict += 1,
                QuadClass::MaterialConflict => dyad.counts.material_conflict += 1,
            }
            for context in &item.contexts {
                if !dyad.contexts.contains(context) && dyad.contexts.len() < 5 {
                    dyad.contexts.push(context.clone());
                }
            }
            strongest.push((intensity.abs(), format!("agendaItems/{}", stored.id)));
        }
    }
    let dyads: Vec<Dyad> = by_pair
        .into_values()
        .map(|(mut dyad, mut strongest)| {
            if dyad.trailing_stddev > 1e-9 {
                dyad.trend = Trend::Measured;
                dyad.z_score = Some((dyad.net - dyad.trailing_mean) / dyad.trailing_stddev);
            }
            strongest.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            dyad.top_items = strongest
                .into_iter()
                .take(3)
                .map(|(_, name)| name)
                .collect();
            dyad
        })
        .collect();
    headline.pair_count = dyads.len() as u64;
    headline.planned_count += inputs.planned.len() as u64;
    let days = HEADLINE_DAYS as f64;
    headline.item_mean_7d = inputs
        .activity
        .iter()
        .map(|day| day.items as f64)
        .sum::<f64>()
        / days;
    headline.source_mean_7d = inputs
        .activity
        .iter()
        .map(|day| day.sources as f64)
        .sum::<f64>()
        / days;
    headline.text = format!(
        "{} reported items, {} sources, {} active pairs; {} planned in the next {UPCOMING_DAYS} days.",
        headline.item_count, headline.source_count, headline.pair_count, headline.planned_count
    );
    let mut digest = Digest {
        kind: inputs.kind.to_owned(),
        date: inputs.day,
        time_zone: inputs.time_zone.name().to_owned(),
        perspective: inputs.side.perspective.to_string(),
        headline,
        key_developments: Vec::new(),
        alliances: Vec::new(),
        tensions: Vec::new(),
        alignments: Vec::new(),
        leadership: Vec::new(),
        travel: Vec::new(),
        upcoming: Vec::new(),
        items: Vec::new(),
        markdown: String::new(),
    };
    digest.markdown = render(&digest);
    Compiled { digest, dyads }
}
