//! The compiler as it was before it worked on item positions (commit 5d34809), kept for tests
//! only: the compiler must give the same digest, byte for byte, for the same inputs.

#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;

use super::compile::Inputs;
use super::model::{Digest, Dyad, Line, QuadCounts};
use super::render::{render, signed};
use super::side::Alliance;
use super::trend::Pair;
use crate::domain::names::{AgendaItems, Collection, Officials, Trips};
use crate::domain::pairs;
use crate::domain::values::format_date;
use crate::domain::{AgendaItem, CountryCode, Official, QuadClass, RoleState, Trip};
use crate::store::Stored;

/// Days ahead the Travel section looks for legs that start.
const TRAVEL_HORIZON_DAYS: i64 = 7;

pub fn compile(inputs: &Inputs<'_>) -> Digest {
    let mut items: Vec<(String, &AgendaItem)> = inputs
        .items
        .iter()
        .filter(|stored| stored.value.date == inputs.day)
        .map(|stored| {
            (
                format!("{}/{}", AgendaItems::SEGMENT, stored.id),
                &stored.value,
            )
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let titles: BTreeMap<&str, &str> = items
        .iter()
        .map(|(name, item)| (name.as_str(), item.title.as_str()))
        .collect();

    let dyads = dyads(&items, inputs);
    let mut digest = Digest {
        kind: inputs.kind.to_owned(),
        date: inputs.day,
        time_zone: inputs.time_zone.name().to_owned(),
        item_count: items.len(),
        alliances: alliances(&dyads, inputs.alliances, &items, &titles),
        tensions: tensions(&dyads, &items, &titles),
        leadership: leadership(inputs, &items),
        travel: travel(inputs, &items),
        dyads,
        markdown: String::new(),
    };
    digest.markdown = render(&digest);
    digest
}

fn dyads(items: &[(String, &AgendaItem)], inputs: &Inputs<'_>) -> Vec<Dyad> {
    let mut by_pair: BTreeMap<Pair, Dyad> = BTreeMap::new();
    for (name, item) in items {
        let intensity = item.intensity();
        for pair in pairs(item) {
            let dyad = by_pair.entry(pair).or_insert_with(|| Dyad {
                countries: [pair.first().to_string(), pair.second().to_string()],
                cooperation: 0.0,
                conflict: 0.0,
                net: 0.0,
                counts: QuadCounts::default(),
                trailing_mean: 0.0,
                trailing_stddev: 0.0,
                z_score: None,
                contexts: Vec::new(),
                agenda_items: Vec::new(),
            });
            dyad.cooperation += intensity.max(0.0);
            dyad.conflict += (-intensity).max(0.0);
            match item.quad_class() {
                QuadClass::VerbalCooperation => dyad.counts.verbal_cooperation += 1,
                QuadClass::MaterialCooperation => dyad.counts.material_cooperation += 1,
                QuadClass::VerbalConflict => dyad.counts.verbal_conflict += 1,
                QuadClass::MaterialConflict => dyad.counts.material_conflict += 1,
            }
            dyad.contexts.extend(item.contexts.iter().cloned());
            dyad.agenda_items.push(name.clone());
        }
    }
    let mut dyads: Vec<Dyad> = by_pair
        .into_iter()
        .map(|(pair, mut dyad)| {
            dyad.net = dyad.cooperation - dyad.conflict;
            let (mean, stddev) = inputs.trailing.stats(&pair, inputs.day);
            dyad.trailing_mean = mean;
            dyad.trailing_stddev = stddev;
            dyad.z_score = (stddev > 1e-9).then(|| (dyad.net - mean) / stddev);
            dyad.contexts = dyad
                .contexts
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            dyad
        })
        .collect();
    dyads.sort_by(|a, b| {
        b.net
            .abs()
            .total_cmp(&a.net.abs())
            .then_with(|| a.countries.cmp(&b.countries))
    });
    dyads
}

fn alliances(
    dyads: &[Dyad],
    configured: &[Alliance],
    items: &[(String, &AgendaItem)],
    titles: &BTreeMap<&str, &str>,
) -> Vec<Line> {
    let mut covered: BTreeSet<[String; 2]> = BTreeSet::new();
    let mut lines = Vec::new();
    for alliance in configured {
        let members: BTreeSet<String> = alliance.members.iter().map(ToString::to_string).collect();
        let involved: Vec<&Dyad> = dyads
            .iter()
            .filter(|dyad| {
                members.contains(&dyad.countries[0]) && members.contains(&dyad.countries[1])
            })
            .collect();
        if involved.is_empty() {
            continue;
        }
        let mut agenda_items: BTreeSet<String> = BTreeSet::new();
        for dyad in &involved {
            covered.insert(dyad.countries.clone());
            agenda_items.extend(dyad.agenda_items.iter().cloned());
        }
        let cooperation: f64 = involved.iter().map(|dyad| dyad.cooperation).sum();
        let conflict: f64 = involved.iter().map(|dyad| dyad.conflict).sum();
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
            let joint = items
                .iter()
                .filter(|(name, item)| {
                    if !agenda_items.contains(name) {
                        return false;
                    }
                    let countries: BTreeSet<String> =
                        item.countries().iter().map(ToString::to_string).collect();
                    members.is_subset(&countries)
                })
                .count();
            text.push_str(&format!(
                ", {joint} joint item{}",
                if joint == 1 { "" } else { "s" }
            ));
        }
        text.push_str(" — ");
        text.push_str(&title_list(&agenda_items, titles));
        lines.push(Line {
            text,
            countries: members.into_iter().collect(),
            score: net,
            z_score: None,
            agenda_items: agenda_items.into_iter().collect(),
            resources: Vec::new(),
        });
    }
    sort_by_score(&mut lines);
    let mut others: Vec<Line> = dyads
        .iter()
        .filter(|dyad| dyad.net > 0.0 && !covered.contains(&dyad.countries))
        .map(|dyad| dyad_line(dyad, dyad.net, titles))
        .collect();
    sort_by_score(&mut others);
    lines.extend(others);
    lines
}

fn tensions(
    dyads: &[Dyad],
    items: &[(String, &AgendaItem)],
    titles: &BTreeMap<&str, &str>,
) -> Vec<Line> {
    let mut lines: Vec<Line> = dyads
        .iter()
        .filter(|dyad| dyad.conflict > 0.0)
        .map(|dyad| dyad_line(dyad, dyad.conflict, titles))
        .collect();
    let mut contexts: BTreeMap<&str, Vec<&(String, &AgendaItem)>> = BTreeMap::new();
    for entry in items {
        for context in &entry.1.contexts {
            contexts.entry(context.as_str()).or_default().push(entry);
        }
    }
    for (context, entries) in contexts {
        let conflict: f64 = entries
            .iter()
            .map(|(_, item)| (-item.intensity()).max(0.0))
            .sum();
        if conflict <= 0.0 {
            continue;
        }
        let hostile: BTreeSet<String> = entries
            .iter()
            .filter(|(_, item)| item.intensity() < 0.0)
            .map(|(name, _)| name.clone())
            .collect();
        let other: BTreeSet<String> = entries
            .iter()
            .filter(|(_, item)| item.intensity() >= 0.0)
            .map(|(name, _)| name.clone())
            .collect();
        let mut text = format!(
            "context **{context}**: conflict {} — {}",
            signed(conflict).trim_start_matches('+'),
            title_list(&hostile, titles)
        );
        if !other.is_empty() {
            text.push_str(&format!("; alongside: {}", title_list(&other, titles)));
        }
        let countries: BTreeSet<String> = entries
            .iter()
            .flat_map(|(_, item)| {
                item.countries()
                    .into_iter()
                    .map(|country| country.to_string())
            })
            .collect();
        lines.push(Line {
            text,
            countries: countries.into_iter().collect(),
            score: conflict,
            z_score: None,
            agenda_items: hostile
                .into_iter()
                .chain(other)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
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

fn leadership(inputs: &Inputs<'_>, items: &[(String, &AgendaItem)]) -> Vec<Line> {
    let day = inputs.day;
    let day_countries: BTreeSet<CountryCode> = items
        .iter()
        .flat_map(|(_, item)| item.countries())
        .collect();
    let mut officials: Vec<&Stored<Official>> = inputs.officials.iter().collect();
    officials.sort_by(|a, b| {
        a.value
            .display_name
            .cmp(&b.value.display_name)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut changes = Vec::new();
    let mut standing = Vec::new();
    for stored in officials {
        let official = &stored.value;
        let name = format!("{}/{}", Officials::SEGMENT, stored.id);
        let took_part: Vec<String> = items
            .iter()
            .filter(|(_, item)| {
                item.participants
                    .iter()
                    .any(|participant| participant.id() == &stored.id)
            })
            .map(|(item_name, _)| item_name.clone())
            .collect();
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
    let mut lines = Vec::new();
    for stored in trips {
        let trip = &stored.value;
        let name = format!("{}/{}", Trips::SEGMENT, stored.id);
        let trip_items: Vec<String> = items
            .iter()
            .filter(|(_, item)| {
                item.trip
                    .as_ref()
                    .is_some_and(|trip| trip.id() == &stored.id)
            })
            .map(|(item_name, _)| item_name.clone())
            .collect();
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

fn dyad_line(dyad: &Dyad, score: f64, titles: &BTreeMap<&str, &str>) -> Line {
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
    let items: BTreeSet<String> = dyad.agenda_items.iter().cloned().collect();
    Line {
        text: format!(
            "**{}**: net {} (cooperation {}, conflict {}){trend} — {}",
            dyad.label(),
            signed(dyad.net),
            signed(dyad.cooperation).trim_start_matches('+'),
            signed(dyad.conflict).trim_start_matches('+'),
            title_list(&items, titles)
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

/// The items' titles, in name order, separated by semicolons.
fn title_list(names: &BTreeSet<String>, titles: &BTreeMap<&str, &str>) -> String {
    names
        .iter()
        .map(|name| titles.get(name.as_str()).copied().unwrap_or(name.as_str()))
        .collect::<Vec<_>>()
        .join("; ")
}
