//! The compiler: dyads, trends and the four sections of one day.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use super::model::{Digest, Dyad, Line, QuadCounts};
use super::render::{render, signed};
use super::side::Alliance;
use super::trend::{Pair, TrailingNets};
use crate::domain::names::{AgendaItems, Collection, Officials, Trips};
use crate::domain::pairs;
use crate::domain::values::format_date;
use crate::domain::{AgendaItem, CountryCode, Official, QuadClass, ResourceId, RoleState, Trip};
use crate::store::Stored;

/// Everything a digest is compiled from.
pub struct Inputs<'a> {
    pub kind: &'a str,
    pub day: NaiveDate,
    pub time_zone: Tz,
    /// The agenda items dated `day`.
    pub items: &'a [Stored<AgendaItem>],
    pub trailing: &'a TrailingNets,
    pub officials: &'a [Stored<Official>],
    pub trips: &'a [Stored<Trip>],
    pub alliances: &'a [Alliance],
}

/// Days ahead the Travel section looks for legs that start.
const TRAVEL_HORIZON_DAYS: i64 = 7;

/// The day's items in name order, and what the sections read of them laid out flat. Sections
/// refer to an item by its position here: positions sort as names do, so a sorted list of
/// positions is the sorted list of names the output holds, built without comparing or copying
/// names until the output needs them.
struct Day<'a> {
    items: Vec<(String, &'a AgendaItem)>,
    /// The countries of the actors and recipients of each item, with repeats:
    /// `country_keys[country_starts[p]..country_starts[p + 1]]`. A key sorts as its code does.
    country_keys: Vec<u16>,
    country_starts: Vec<usize>,
    /// The country of each key that occurs.
    country_of_key: Vec<Option<CountryCode>>,
    /// The day's contexts in order; each item's contexts as ranks into it, laid out as above.
    contexts: Vec<&'a str>,
    context_ranks: Vec<u32>,
    context_starts: Vec<usize>,
}

/// Keys for the 26³ three-letter codes.
const COUNTRY_KEYS: usize = 26 * 26 * 26;

fn country_key(country: CountryCode) -> u16 {
    country.as_str().bytes().fold(0, |key, letter| {
        key * 26 + u16::from(letter.saturating_sub(b'A'))
    })
}

impl<'a> Day<'a> {
    fn new(items: Vec<(String, &'a AgendaItem)>) -> Self {
        let mut contexts: Vec<&str> = items
            .iter()
            .flat_map(|(_, item)| item.contexts.iter().map(String::as_str))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        contexts.sort_unstable();
        let ranks: HashMap<&str, u32> = contexts
            .iter()
            .enumerate()
            .map(|(rank, context)| (*context, u32::try_from(rank).unwrap_or(u32::MAX)))
            .collect();
        let mut day = Self {
            country_keys: Vec::with_capacity(items.len() * 2),
            country_starts: Vec::with_capacity(items.len() + 1),
            country_of_key: vec![None; COUNTRY_KEYS],
            context_ranks: Vec::with_capacity(items.len() * 2),
            context_starts: Vec::with_capacity(items.len() + 1),
            contexts,
            items: Vec::new(),
        };
        day.country_starts.push(0);
        day.context_starts.push(0);
        for (_, item) in &items {
            for actor in item.actors.iter().chain(&item.recipients) {
                let key = country_key(actor.country());
                day.country_keys.push(key);
                day.country_of_key[usize::from(key)] = Some(actor.country());
            }
            day.country_starts.push(day.country_keys.len());
            day.context_ranks
                .extend(item.contexts.iter().map(|context| ranks[context.as_str()]));
            day.context_starts.push(day.context_ranks.len());
        }
        day.items = items;
        day
    }

    fn countries(&self, position: usize) -> &[u16] {
        &self.country_keys[self.country_starts[position]..self.country_starts[position + 1]]
    }

    fn context_ranks(&self, position: usize) -> &[u32] {
        &self.context_ranks[self.context_starts[position]..self.context_starts[position + 1]]
    }

    /// The distinct countries of the items at `positions`, in code order.
    fn countries_of(&self, positions: &[usize]) -> Vec<CountryCode> {
        let mut seen = vec![0_u64; COUNTRY_KEYS.div_ceil(64)];
        for &position in positions {
            for &key in self.countries(position) {
                seen[usize::from(key) / 64] |= 1 << (key % 64);
            }
        }
        let mut countries = Vec::new();
        for (word, bits) in seen.iter().enumerate() {
            let mut bits = *bits;
            while bits != 0 {
                let key = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(country) = self.country_of_key[key] {
                    countries.push(country);
                }
            }
        }
        countries
    }

    /// Every country any item of the day names.
    fn all_countries(&self) -> HashSet<CountryCode> {
        self.country_of_key.iter().flatten().copied().collect()
    }

    fn names(&self, positions: &[usize]) -> Vec<String> {
        positions
            .iter()
            .map(|&position| self.items[position].0.clone())
            .collect()
    }

    /// The items' titles, in name order, separated by semicolons.
    fn titles(&self, positions: &[usize]) -> String {
        let mut text = String::with_capacity(
            positions
                .iter()
                .map(|&position| self.items[position].1.title.len() + 2)
                .sum(),
        );
        for (index, &position) in positions.iter().enumerate() {
            if index > 0 {
                text.push_str("; ");
            }
            text.push_str(&self.items[position].1.title);
        }
        text
    }
}

pub fn compile(inputs: &Inputs<'_>) -> Digest {
    let mut items: Vec<(String, &AgendaItem)> = inputs
        .items
        .iter()
        .filter(|stored| stored.value.date == inputs.day)
        .map(|stored| {
            let id = stored.id.as_str();
            let mut name = String::with_capacity(AgendaItems::SEGMENT.len() + 1 + id.len());
            name.push_str(AgendaItems::SEGMENT);
            name.push('/');
            name.push_str(id);
            (name, &stored.value)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let day = Day::new(items);

    let (dyads, positions) = dyads(&day, inputs);
    let alliances = alliances(&dyads, &positions, inputs.alliances, &day);
    let tensions = tensions(&dyads, &positions, &day);
    let mut digest = Digest {
        kind: inputs.kind.to_owned(),
        date: inputs.day,
        time_zone: inputs.time_zone.name().to_owned(),
        item_count: day.items.len(),
        alliances,
        tensions,
        leadership: leadership(inputs, &day),
        travel: travel(inputs, &day.items),
        dyads,
        markdown: String::new(),
    };
    digest.markdown = render(&digest);
    digest
}

/// A pair's activity while the day's items are added up.
struct Tally {
    cooperation: f64,
    conflict: f64,
    counts: QuadCounts,
    /// Ranks of its items' contexts among the day's contexts, with repeats.
    contexts: Vec<u32>,
    positions: Vec<usize>,
}

/// The dyads, strongest first, each with the positions of its items (ascending).
fn dyads(day: &Day<'_>, inputs: &Inputs<'_>) -> (Vec<Dyad>, Vec<Vec<usize>>) {
    let mut by_pair: BTreeMap<Pair, Tally> = BTreeMap::new();
    for (position, (_, item)) in day.items.iter().enumerate() {
        let intensity = item.intensity();
        let item_ranks = day.context_ranks(position);
        for pair in pairs(item) {
            let tally = by_pair.entry(pair).or_insert_with(|| Tally {
                cooperation: 0.0,
                conflict: 0.0,
                counts: QuadCounts::default(),
                contexts: Vec::new(),
                positions: Vec::new(),
            });
            tally.cooperation += intensity.max(0.0);
            tally.conflict += (-intensity).max(0.0);
            match item.quad_class() {
                QuadClass::VerbalCooperation => tally.counts.verbal_cooperation += 1,
                QuadClass::MaterialCooperation => tally.counts.material_cooperation += 1,
                QuadClass::VerbalConflict => tally.counts.verbal_conflict += 1,
                QuadClass::MaterialConflict => tally.counts.material_conflict += 1,
            }
            tally.contexts.extend_from_slice(item_ranks);
            tally.positions.push(position);
        }
    }
    let mut dyads: Vec<(Dyad, Vec<usize>)> = by_pair
        .into_iter()
        .map(|(pair, mut tally)| {
            tally.contexts.sort_unstable();
            tally.contexts.dedup();
            let net = tally.cooperation - tally.conflict;
            let (mean, stddev) = inputs.trailing.stats(&pair, inputs.day);
            let dyad = Dyad {
                countries: [pair.first().to_string(), pair.second().to_string()],
                cooperation: tally.cooperation,
                conflict: tally.conflict,
                net,
                counts: tally.counts,
                trailing_mean: mean,
                trailing_stddev: stddev,
                z_score: (stddev > 1e-9).then(|| (net - mean) / stddev),
                contexts: tally
                    .contexts
                    .iter()
                    .map(|&rank| day.contexts[rank as usize].to_owned())
                    .collect(),
                agenda_items: day.names(&tally.positions),
            };
            (dyad, tally.positions)
        })
        .collect();
    dyads.sort_by(|(a, _), (b, _)| {
        b.net
            .abs()
            .total_cmp(&a.net.abs())
            .then_with(|| a.countries.cmp(&b.countries))
    });
    dyads.into_iter().unzip()
}

/// The union of ascending position lists, ascending and without repeats.
fn union(lists: &[&Vec<usize>]) -> Vec<usize> {
    let mut all: Vec<usize> = lists.iter().flat_map(|list| list.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

fn alliances(
    dyads: &[Dyad],
    positions: &[Vec<usize>],
    configured: &[Alliance],
    day: &Day<'_>,
) -> Vec<Line> {
    let mut covered: BTreeSet<[String; 2]> = BTreeSet::new();
    let mut lines = Vec::new();
    for alliance in configured {
        let members: BTreeSet<String> = alliance.members.iter().map(ToString::to_string).collect();
        let involved: Vec<usize> = dyads
            .iter()
            .enumerate()
            .filter(|(_, dyad)| {
                members.contains(&dyad.countries[0]) && members.contains(&dyad.countries[1])
            })
            .map(|(index, _)| index)
            .collect();
        if involved.is_empty() {
            continue;
        }
        for &index in &involved {
            covered.insert(dyads[index].countries.clone());
        }
        let agenda_items = union(
            &involved
                .iter()
                .map(|&index| &positions[index])
                .collect::<Vec<_>>(),
        );
        let cooperation: f64 = involved.iter().map(|&index| dyads[index].cooperation).sum();
        let conflict: f64 = involved.iter().map(|&index| dyads[index].conflict).sum();
        let net = cooperation - conflict;
        let mut text = format!(
            "**{}** ({}): net {} (cooperation {}, conflict {})",
            alliance.name,
            members.iter().cloned().collect::<Vec<_>>().join("–"),
            signed(net),
            signed(cooperation).trim_start_matches('+'),
            signed(conflict).trim_start_matches('+'),
        );
        if members.len() > 2 {
            let joint = agenda_items
                .iter()
                .filter(|&&position| {
                    let countries: BTreeSet<String> = day.items[position]
                        .1
                        .countries()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    members.is_subset(&countries)
                })
                .count();
            text.push_str(&format!(
                ", {joint} joint item{}",
                if joint == 1 { "" } else { "s" }
            ));
        }
        text.push_str(" — ");
        text.push_str(&day.titles(&agenda_items));
        lines.push(Line {
            text,
            countries: members.into_iter().collect(),
            score: net,
            z_score: None,
            agenda_items: day.names(&agenda_items),
            resources: Vec::new(),
        });
    }
    sort_by_score(&mut lines);
    let mut others: Vec<Line> = dyads
        .iter()
        .zip(positions)
        .filter(|(dyad, _)| dyad.net > 0.0 && !covered.contains(&dyad.countries))
        .map(|(dyad, positions)| dyad_line(dyad, positions, dyad.net, day))
        .collect();
    sort_by_score(&mut others);
    lines.extend(others);
    lines
}

fn tensions(dyads: &[Dyad], positions: &[Vec<usize>], day: &Day<'_>) -> Vec<Line> {
    let mut lines: Vec<Line> = dyads
        .iter()
        .zip(positions)
        .filter(|(dyad, _)| dyad.conflict > 0.0)
        .map(|(dyad, positions)| dyad_line(dyad, positions, dyad.conflict, day))
        .collect();
    // Each context's items, ascending (an item lists a context at most once), contexts in order.
    let mut contexts: Vec<Vec<usize>> = vec![Vec::new(); day.contexts.len()];
    for position in 0..day.items.len() {
        for &rank in day.context_ranks(position) {
            contexts[rank as usize].push(position);
        }
    }
    for (context, entries) in day.contexts.iter().zip(contexts) {
        let conflict: f64 = entries
            .iter()
            .map(|&position| (-day.items[position].1.intensity()).max(0.0))
            .sum();
        if conflict <= 0.0 {
            continue;
        }
        let (hostile, other): (Vec<usize>, Vec<usize>) = entries
            .iter()
            .partition(|&&position| day.items[position].1.intensity() < 0.0);
        let mut text = format!(
            "context **{context}**: conflict {} — {}",
            signed(conflict).trim_start_matches('+'),
            day.titles(&hostile)
        );
        if !other.is_empty() {
            text.push_str("; alongside: ");
            text.push_str(&day.titles(&other));
        }
        lines.push(Line {
            text,
            countries: day
                .countries_of(&entries)
                .iter()
                .map(ToString::to_string)
                .collect(),
            score: conflict,
            z_score: None,
            // Hostile and alongside together: every item of the context, in name order.
            agenda_items: day.names(&entries),
            resources: Vec::new(),
        });
    }
    // Strongest first; among equals, the most unusual (lowest z) first.
    lines.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| {
                a.z_score
                    .unwrap_or(0.0)
                    .total_cmp(&b.z_score.unwrap_or(0.0))
            })
            .then_with(|| a.text.cmp(&b.text))
    });
    lines
}

fn leadership(inputs: &Inputs<'_>, items_of_day: &Day<'_>) -> Vec<Line> {
    let day = inputs.day;
    let items = &items_of_day.items;
    let day_countries = items_of_day.all_countries();
    let mut officials: Vec<&Stored<Official>> = inputs.officials.iter().collect();
    officials.sort_by(|a, b| {
        a.value
            .display_name
            .cmp(&b.value.display_name)
            .then_with(|| a.id.cmp(&b.id))
    });
    // Who took part in what, in one pass over the items (in their order), not one per official.
    let mut participations: HashMap<&ResourceId, Vec<&str>> = HashMap::new();
    for (item_name, item) in items {
        let mut seen: Vec<&ResourceId> = Vec::with_capacity(item.participants.len());
        for participant in &item.participants {
            if !seen.contains(&participant.id()) {
                seen.push(participant.id());
                participations
                    .entry(participant.id())
                    .or_default()
                    .push(item_name.as_str());
            }
        }
    }
    let mut changes = Vec::new();
    let mut standing = Vec::new();
    for stored in officials {
        let official = &stored.value;
        let name = format!("{}/{}", Officials::SEGMENT, stored.id);
        let took_part: Vec<String> = participations
            .get(&stored.id)
            .map(|names| names.iter().map(|name| (*name).to_owned()).collect())
            .unwrap_or_default();
        for role in &official.roles {
            let already_says_acting = role.title.to_lowercase().contains("acting");
            let office = format!(
                "{}{}",
                if role.acting && !already_says_acting {
                    "acting "
                } else {
                    ""
                },
                role.title
            );
            let of = if role.organization.is_empty() {
                String::new()
            } else {
                format!(" ({})", role.organization)
            };
            let mut said = Vec::new();
            if role.start_date == day {
                said.push(format!(
                    "{} took office as {office}{of}",
                    official.display_name
                ));
            }
            if role.state == RoleState::Suspended && role.state_date == Some(day) {
                said.push(format!(
                    "{}'s powers as {office}{of} were suspended",
                    official.display_name
                ));
            }
            if role.end_date == Some(day) {
                said.push(format!(
                    "{} left office as {office}{of}",
                    official.display_name
                ));
            }
            for text in said {
                changes.push(leader_line(
                    text,
                    role.note.as_str(),
                    official,
                    &name,
                    &took_part,
                ));
            }
            // Who is acting or suspended in the countries of the day, so a reader knows who holds power.
            let holds_on_day = role.start_date < day && role.end_date.is_none_or(|end| end >= day);
            if !holds_on_day || !day_countries.contains(&official.country) {
                continue;
            }
            let since = |date: Option<NaiveDate>| {
                date.map(|date| format!(" since {}", format_date(date)))
                    .unwrap_or_default()
            };
            let text = match role.state {
                RoleState::Suspended if role.state_date.is_none_or(|since| since <= day) => {
                    format!(
                        "{} holds the office of {office}{of} with powers suspended{}",
                        official.display_name,
                        since(role.state_date)
                    )
                }
                RoleState::Active if role.acting => {
                    format!(
                        "{} is {office}{of}{}",
                        official.display_name,
                        since(Some(role.start_date))
                    )
                }
                _ => continue,
            };
            standing.push(leader_line(
                text,
                role.note.as_str(),
                official,
                &name,
                &took_part,
            ));
        }
    }
    changes.extend(standing);
    changes
}

fn leader_line(
    text: String,
    note: &str,
    official: &Official,
    name: &str,
    took_part: &[String],
) -> Line {
    let text = if note.is_empty() {
        text
    } else {
        format!("{text}: {note}")
    };
    Line {
        text,
        countries: vec![official.country.to_string()],
        score: 0.0,
        z_score: None,
        agenda_items: took_part.to_vec(),
        resources: vec![name.to_owned()],
    }
}

fn travel(inputs: &Inputs<'_>, items: &[(String, &AgendaItem)]) -> Vec<Line> {
    let day = inputs.day;
    let horizon = day + Duration::days(TRAVEL_HORIZON_DAYS);
    let mut trips: Vec<&Stored<Trip>> = inputs
        .trips
        .iter()
        .filter(|stored| !stored.value.cancelled)
        .collect();
    trips.sort_by(|a, b| {
        a.value
            .first_date()
            .cmp(&b.value.first_date())
            .then_with(|| a.id.cmp(&b.id))
    });
    // The items of each trip, in one pass over the items (in their order).
    let mut by_trip: HashMap<&ResourceId, Vec<&str>> = HashMap::new();
    for (item_name, item) in items {
        if let Some(trip) = &item.trip {
            by_trip
                .entry(trip.id())
                .or_default()
                .push(item_name.as_str());
        }
    }
    let mut lines = Vec::new();
    for stored in trips {
        let trip = &stored.value;
        let name = format!("{}/{}", Trips::SEGMENT, stored.id);
        let trip_items: Vec<String> = by_trip
            .get(&stored.id)
            .map(|names| names.iter().map(|name| (*name).to_owned()).collect())
            .unwrap_or_default();
        let resources = vec![name.clone(), trip.traveler.to_string()];
        let traveler = inputs
            .officials
            .iter()
            .find(|official| official.id == *trip.traveler.id())
            .map_or_else(
                || trip.traveler.to_string(),
                |official| official.value.display_name.clone(),
            );
        let legs = trip.legs.len();
        let in_progress = trip.first_date().is_some_and(|first| first <= day)
            && trip.last_date().is_some_and(|last| last >= day);
        if in_progress {
            let here: Vec<String> = trip
                .legs
                .iter()
                .enumerate()
                .filter(|(_, leg)| leg.start_date <= day && leg.end_date >= day)
                .map(|(index, leg)| {
                    format!(
                        "{}, {} (leg {} of {legs})",
                        leg.city,
                        leg.country,
                        index + 1
                    )
                })
                .collect();
            let whereabouts = if here.is_empty() {
                "between legs".to_owned()
            } else {
                format!("in {}", here.join(" and "))
            };
            lines.push(Line {
                text: format!("In progress: **{}** — {traveler} {whereabouts}", trip.title),
                countries: trip
                    .legs
                    .iter()
                    .map(|leg| leg.country.to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                score: 0.0,
                z_score: None,
                agenda_items: trip_items.clone(),
                resources: resources.clone(),
            });
        }
        for (index, leg) in trip.legs.iter().enumerate() {
            if leg.start_date > day && leg.start_date <= horizon {
                let purpose = if leg.purpose.is_empty() {
                    String::new()
                } else {
                    format!(": {}", leg.purpose)
                };
                lines.push(Line {
                    text: format!(
                        "Upcoming: {}, {} from {} to {} (leg {} of {legs} of **{}**){purpose}",
                        leg.city,
                        leg.country,
                        format_date(leg.start_date),
                        format_date(leg.end_date),
                        index + 1,
                        trip.title
                    ),
                    countries: vec![leg.country.to_string()],
                    score: 0.0,
                    z_score: None,
                    agenda_items: Vec::new(),
                    resources: resources.clone(),
                });
            }
        }
    }
    lines
}

fn dyad_line(dyad: &Dyad, positions: &[usize], score: f64, day: &Day<'_>) -> Line {
    let trend = dyad
        .z_score
        .map(|z| {
            format!(
                ", trend z {}{}",
                signed(z),
                if z.abs() >= 2.0 { " (unusual)" } else { "" }
            )
        })
        .unwrap_or_default();
    Line {
        text: format!(
            "**{}**: net {} (cooperation {}, conflict {}){trend} — {}",
            dyad.label(),
            signed(dyad.net),
            signed(dyad.cooperation).trim_start_matches('+'),
            signed(dyad.conflict).trim_start_matches('+'),
            day.titles(positions)
        ),
        countries: dyad.countries.to_vec(),
        score,
        z_score: dyad.z_score,
        agenda_items: dyad.agenda_items.clone(),
        resources: Vec::new(),
    }
}

fn sort_by_score(lines: &mut [Line]) {
    lines.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.text.cmp(&b.text))
    });
}
