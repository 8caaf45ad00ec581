//! The sections about people and movements: who holds power, who travels, what is planned.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveDate};

use super::UPCOMING_DAYS;
use super::day::{CITED_PER_LINE, Day, resource_name};
use super::inputs::Inputs;
use super::model::{Evidence, Line};
use crate::domain::names::{Collection, Officials, Trips};
use crate::domain::values::format_date;
use crate::domain::{CountryCode, ItemStatus, ResourceId, RoleState};

const LEADERSHIP_LINES: usize = 12;
const TRAVEL_LINES: usize = 5;
const UPCOMING_LINES: usize = 10;
/// A leg's purpose as the digest quotes it.
const PURPOSE_CHARS: usize = 200;

fn line(text: String, countries: Vec<String>) -> Line {
    Line {
        text,
        countries,
        score: 0.0,
        z_score: None,
        agenda_items: Vec::new(),
        more_items: 0,
        evidence: None,
        resources: Vec::new(),
    }
}

/// Who holds power on the day: changes of office on the day first (in any country), then the
/// acting and suspended office holders of the countries the day's items name. Roles'
/// data-entry notes stay out of the text.
pub fn leadership(inputs: &Inputs<'_>, day: &Day<'_>) -> Vec<Line> {
    let date = inputs.day;
    let countries: BTreeSet<CountryCode> = day
        .items
        .iter()
        .flat_map(|entry| entry.item.countries())
        .collect();
    // Who took part in what, in one pass over the items.
    let mut took_part: HashMap<&ResourceId, Vec<usize>> = HashMap::new();
    for (position, entry) in day.items.iter().enumerate() {
        for participant in &entry.item.participants {
            let positions = took_part.entry(participant.id()).or_default();
            if positions.last() != Some(&position) {
                positions.push(position);
            }
        }
    }
    // Every official: a change of office on the day is news wherever it happens; who holds
    // power is told only for the countries the day's items name.
    let mut officials: Vec<_> = inputs.officials.iter().collect();
    officials.sort_by(|a, b| {
        a.value
            .country
            .cmp(&b.value.country)
            .then_with(|| a.value.display_name.cmp(&b.value.display_name))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut changes = Vec::new();
    let mut standing = Vec::new();
    for stored in officials {
        let official = &stored.value;
        let name = format!("{}/{}", Officials::SEGMENT, stored.id);
        let who = format!("{}: {}", official.country, official.display_name);
        for role in &official.roles {
            let office = if role.organization.is_empty() {
                role.title.clone()
            } else {
                format!("{} ({})", role.title, role.organization)
            };
            let acting = if role.acting && !role.title.to_lowercase().contains("acting") {
                "acting "
            } else {
                ""
            };
            let mut said = Vec::new();
            if role.start_date == date {
                said.push(format!("{who} took office as {acting}{office} on the day"));
            }
            if role.state == RoleState::Suspended && role.state_date == Some(date) {
                said.push(format!(
                    "{who}'s powers as {office} were suspended on the day"
                ));
            }
            if role.end_date == Some(date) {
                said.push(format!("{who} left office as {acting}{office} on the day"));
            }
            let holds = countries.contains(&official.country)
                && role.start_date < date
                && role.end_date.is_none_or(|end| end >= date);
            let since = |since: Option<NaiveDate>| {
                since
                    .map(|since| format!(" since {}", format_date(since)))
                    .unwrap_or_default()
            };
            let stands = match role.state {
                _ if !holds => None,
                RoleState::Suspended if role.state_date.is_none_or(|since| since <= date) => {
                    Some(format!(
                        "{who} holds the office of {office} with powers suspended{}",
                        since(role.state_date)
                    ))
                }
                RoleState::Active if role.acting => Some(format!(
                    "{who} is {acting}{office}{}",
                    since(Some(role.start_date))
                )),
                _ => None,
            };
            let make = |text: String| {
                let positions = took_part.get(&stored.id).map_or(&[][..], Vec::as_slice);
                let strongest = day.strongest(positions.iter().copied(), CITED_PER_LINE);
                let mut line = line(text, vec![official.country.to_string()]);
                line.agenda_items = day.names(&strongest);
                line.more_items = (positions.len() - strongest.len()) as u64;
                line.resources = vec![name.clone()];
                line
            };
            changes.extend(said.into_iter().map(make));
            standing.extend(stands.map(make));
        }
    }
    changes.extend(standing);
    bounded(changes, LEADERSHIP_LINES, "office holders")
}

/// Keeps `max` lines, and says how many were left out.
fn bounded(mut lines: Vec<Line>, max: usize, what: &str) -> Vec<Line> {
    if lines.len() > max {
        let left = lines.len() - (max - 1);
        lines.truncate(max - 1);
        lines.push(line(
            format!("… and {} more {what}", super::compile::grouped(left as u64)),
            Vec::new(),
        ));
    }
    lines
}

/// Trips in progress on the day, each with the items of the day that belong to it.
pub fn travel(inputs: &Inputs<'_>, day: &Day<'_>) -> Vec<Line> {
    let date = inputs.day;
    let mut trips: Vec<_> = inputs
        .trips
        .iter()
        .filter(|stored| {
            let trip = &stored.value;
            !trip.cancelled
                && trip.first_date().is_some_and(|first| first <= date)
                && trip.last_date().is_some_and(|last| last >= date)
        })
        .collect();
    trips.sort_by(|a, b| {
        a.value
            .first_date()
            .cmp(&b.value.first_date())
            .then_with(|| a.id.cmp(&b.id))
    });
    // The items of each trip, in one pass over the day (not one per trip).
    let mut by_trip: HashMap<&ResourceId, Vec<usize>> = HashMap::new();
    for (position, entry) in day.items.iter().enumerate() {
        if let Some(trip) = &entry.item.trip {
            by_trip.entry(trip.id()).or_default().push(position);
        }
    }
    let lines = trips
        .into_iter()
        .map(|stored| {
            let trip = &stored.value;
            let legs = trip.legs.len();
            let here: Vec<String> = trip
                .legs
                .iter()
                .enumerate()
                .filter(|(_, leg)| leg.start_date <= date && leg.end_date >= date)
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
            let traveler = traveler_name(inputs, trip);
            let positions = by_trip.get(&stored.id).map_or(&[][..], Vec::as_slice);
            let strongest = day.strongest(positions.iter().copied(), CITED_PER_LINE);
            let mut line = line(
                format!("{}: {traveler} {whereabouts}", trip.title),
                trip.legs
                    .iter()
                    .map(|leg| leg.country.to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            );
            line.agenda_items = day.names(&strongest);
            line.more_items = (positions.len() - strongest.len()) as u64;
            line.resources = vec![
                format!("{}/{}", Trips::SEGMENT, stored.id),
                trip.traveler.to_string(),
            ];
            line
        })
        .collect();
    bounded(lines, TRAVEL_LINES, "trips in progress")
}

fn traveler_name(inputs: &Inputs<'_>, trip: &crate::domain::Trip) -> String {
    inputs
        .officials
        .iter()
        .find(|official| official.id == *trip.traveler.id())
        .map_or_else(
            || trip.traveler.to_string(),
            |official| official.value.display_name.clone(),
        )
}

/// What is planned for the day and the next days: planned items and legs that start.
pub fn upcoming(inputs: &Inputs<'_>, day: &Day<'_>) -> Vec<Line> {
    let date = inputs.day;
    let horizon = date + Duration::days(UPCOMING_DAYS);
    // (date, 0 for a leg and 1 for an item so a leg leads its day, a sort key, the line)
    let mut entries: Vec<(NaiveDate, u8, String, Line)> = Vec::new();
    for &position in &day.planned {
        let name = day.name(position);
        let mut line = line(
            "Planned for the day".to_owned(),
            day.item(position)
                .countries()
                .iter()
                .map(ToString::to_string)
                .collect(),
        );
        line.agenda_items = vec![name.clone()];
        entries.push((date, 1, name, line));
    }
    for stored in inputs.planned {
        let item = &stored.value;
        if item.status != ItemStatus::Planned || item.date <= date || item.date > horizon {
            continue;
        }
        let name = resource_name(stored);
        let mut line = line(
            format!("Planned for {}", format_date(item.date)),
            item.countries().iter().map(ToString::to_string).collect(),
        );
        line.agenda_items = vec![name.clone()];
        entries.push((item.date, 1, name, line));
    }
    for stored in inputs.trips.iter().filter(|stored| !stored.value.cancelled) {
        let trip = &stored.value;
        let legs = trip.legs.len();
        for (index, leg) in trip.legs.iter().enumerate() {
            if leg.start_date <= date || leg.start_date > horizon {
                continue;
            }
            let purpose = if leg.purpose.is_empty() {
                String::new()
            } else {
                format!(": {}", shortened(&leg.purpose, PURPOSE_CHARS))
            };
            let when = if leg.start_date == leg.end_date {
                format!("On {}", format_date(leg.start_date))
            } else {
                format!(
                    "From {} to {}",
                    format_date(leg.start_date),
                    format_date(leg.end_date)
                )
            };
            let mut line = line(
                format!(
                    "{when}: {} in {}, {} (leg {} of {legs} of {}){purpose}",
                    traveler_name(inputs, trip),
                    leg.city,
                    leg.country,
                    index + 1,
                    trip.title
                ),
                vec![leg.country.to_string()],
            );
            line.resources = vec![
                format!("{}/{}", Trips::SEGMENT, stored.id),
                trip.traveler.to_string(),
            ];
            entries.push((leg.start_date, 0, format!("{}/{index:04}", stored.id), line));
        }
    }
    entries.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let total = entries.len();
    let mut lines: Vec<Line> = entries.into_iter().map(|(_, _, _, line)| line).collect();
    if total > UPCOMING_LINES {
        lines.truncate(UPCOMING_LINES - 1);
        let planned = day.planned.len() + inputs.planned.len();
        let mut rest = line(
            format!(
                "… and {} more planned items and legs",
                super::compile::grouped((total - lines.len()) as u64)
            ),
            Vec::new(),
        );
        rest.more_items = (total - lines.len()) as u64;
        rest.evidence = Some(Evidence {
            from_date: date,
            to_date: horizon,
            pairs: Vec::new(),
            context: String::new(),
            status: ItemStatus::Planned.code().to_owned(),
            item_count: planned as u64,
        });
        lines.push(rest);
    }
    lines
}

/// At most `max` characters, with an ellipsis when cut.
pub fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
    }
}
