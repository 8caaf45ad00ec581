//! The alliance-and-tension digest: [`compile`] is a pure function from a day's stored items
//! (plus the trailing 30 days, the officials and the trips) to a [`Digest`]; [`render`] turns
//! it into Markdown. Same inputs, same bytes.

mod compile;
pub mod model;
#[cfg(test)]
mod reference;
mod render;
mod side;
mod trend;

pub use crate::domain::pairs;
pub use compile::{Inputs, compile};
pub use model::{Digest, DigestName, Dyad, Line, QuadCounts};
pub use side::{Alliance, Side, default_alliances, default_rivals};
pub use trend::{Pair, TrailingNets};

/// The kind compiled when none is named.
pub const DEFAULT_KIND: &str = crate::domain::subscription::DEFAULT_DIGEST_KIND;

/// How far back the trend of a dyad looks.
pub const TRAILING_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone as _, Utc};

    use super::*;
    use crate::domain::{AgendaItem, Official, ResourceId, Trip};
    use crate::import::{DEMO_DATA, parse_file};
    use crate::store::Stored;

    fn stored<T>(id: &str, value: T) -> Stored<T> {
        let time = Utc.with_ymd_and_hms(2025, 1, 3, 0, 0, 0).unwrap();
        Stored {
            id: ResourceId::parse(id).unwrap(),
            value,
            create_time: time,
            update_time: time,
            revision: 1,
        }
    }

    struct Demo {
        items: Vec<Stored<AgendaItem>>,
        officials: Vec<Stored<Official>>,
        trips: Vec<Stored<Trip>>,
    }

    fn demo() -> Demo {
        let mut demo = Demo {
            items: vec![],
            officials: vec![],
            trips: vec![],
        };
        for record in parse_file(DEMO_DATA).unwrap() {
            if let Some(item) = record.agenda_item {
                demo.items
                    .push(stored(&record.id, AgendaItem::parse(&item).unwrap()));
            } else if let Some(official) = record.official {
                demo.officials
                    .push(stored(&record.id, Official::parse(&official).unwrap()));
            } else if let Some(trip) = record.trip {
                demo.trips
                    .push(stored(&record.id, Trip::parse(&trip).unwrap()));
            }
        }
        demo
    }

    fn compile_day(demo: &Demo, day: NaiveDate) -> Digest {
        let start = day - chrono::Duration::days(TRAILING_DAYS);
        let trailing = TrailingNets::from_items(
            TRAILING_DAYS,
            demo.items
                .iter()
                .map(|stored| &stored.value)
                .filter(|item| item.date >= start && item.date < day),
        );
        let items: Vec<Stored<AgendaItem>> = demo
            .items
            .iter()
            .filter(|stored| stored.value.date == day)
            .cloned()
            .collect();
        compile(&Inputs {
            kind: DEFAULT_KIND,
            day,
            time_zone: chrono_tz::UTC,
            items: &items,
            trailing: &trailing,
            officials: &demo.officials,
            trips: &demo.trips,
            alliances: &default_alliances(),
        })
    }

    #[test]
    fn the_seoul_day_reads_well() {
        let demo = demo();
        let digest = compile_day(&demo, NaiveDate::from_ymd_opt(2025, 1, 6).unwrap());
        let markdown = &digest.markdown;
        println!("{markdown}");
        for expected in [
            "U.S.–South Korea alliance",
            "U.S.–Japan–South Korea trilateral",
            "North Korea's missile threats",
            "Growing military ties between North Korea and Russia",
            "China's assertiveness",
            "Choi Sang-mok is Acting President",
            "In progress: **Blinken's final trip",
        ] {
            assert!(markdown.contains(expected), "missing {expected:?}");
        }
        let tension_countries: Vec<&str> = digest
            .tensions
            .iter()
            .flat_map(|line| line.countries.iter().map(String::as_str))
            .collect();
        assert!(tension_countries.contains(&"PRK") && tension_countries.contains(&"CHN"));
        assert!(
            digest.alliances[0].text.contains("alliance")
                || digest.alliances[0].text.contains("trilateral")
        );
    }

    #[test]
    fn the_same_items_give_the_same_bytes() {
        let demo = demo();
        let day = NaiveDate::from_ymd_opt(2025, 1, 7).unwrap();
        let first = compile_day(&demo, day);
        let mut shuffled = demo;
        shuffled.items.reverse();
        shuffled.officials.reverse();
        assert_eq!(first.markdown, compile_day(&shuffled, day).markdown);
        assert_eq!(first, compile_day(&shuffled, day));
    }

    #[test]
    fn every_pair_of_a_trilateral_item_counts_once() {
        let demo = demo();
        let digest = compile_day(&demo, NaiveDate::from_ymd_opt(2025, 1, 7).unwrap());
        let pairs: Vec<String> = digest.dyads.iter().map(Dyad::label).collect();
        assert!(pairs.contains(&"JPN–KOR".to_owned()));
        let jpn_usa = digest
            .dyads
            .iter()
            .find(|dyad| dyad.label() == "JPN–USA")
            .unwrap();
        // Review (CONSULT 2.5) + importance (SUPPORT 5) + trilateral momentum (CONSULT 2.5).
        assert_eq!(jpn_usa.cooperation, 10.0);
        assert_eq!(jpn_usa.counts.verbal_cooperation, 3);
    }

    /// Items of a busy day, in the shapes the data set and GDELT give: many pairs, trilateral
    /// items, hostile and friendly ones, one-decimal intensities, shared contexts, participants
    /// and trip legs of the demo data.
    fn busy_day(demo: &Demo, day: NaiveDate, count: usize, seed: u64) -> Vec<Stored<AgendaItem>> {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let countries = [
            "USA", "KOR", "JPN", "CHN", "PRK", "RUS", "FRA", "UKR", "ISR", "IRN",
        ];
        let sectors = ["", "GOV", "MIL"];
        let contexts = ["military", "diplomatic", "nuclear", "trade", "indo-pacific"];
        let types = crate::domain::EventType::ALL;
        let officials: Vec<String> = demo
            .officials
            .iter()
            .map(|official| format!("officials/{}", official.id))
            .collect();
        let trip = format!("trips/{}", demo.trips[0].id);
        (0..count)
            .map(|index| {
                let actor = countries[rng.random_range(0..countries.len())];
                let mut recipient = countries[rng.random_range(0..countries.len())];
                if recipient == actor {
                    recipient = if actor == "USA" { "KOR" } else { "USA" };
                }
                let mut recipients = vec![format!(
                    "{recipient}{}",
                    sectors[rng.random_range(0..sectors.len())]
                )];
                if rng.random_bool(0.15) {
                    let third = countries[rng.random_range(0..countries.len())];
                    if third != actor && third != recipient {
                        recipients.push(third.to_owned());
                    }
                }
                let mut item_contexts: Vec<String> = Vec::new();
                for _ in 0..rng.random_range(0..3) {
                    let context = contexts[rng.random_range(0..contexts.len())].to_owned();
                    if !item_contexts.contains(&context) {
                        item_contexts.push(context);
                    }
                }
                let record = crate::domain::AgendaItemRecord {
                    title: format!("Item {index} between {actor} and {recipient}"),
                    date: day.to_string(),
                    actors: vec![actor.to_owned()],
                    recipients,
                    event_type: types[rng.random_range(0..types.len())].code().to_owned(),
                    contexts: item_contexts,
                    intensity: rng
                        .random_bool(0.3)
                        .then(|| f64::from(rng.random_range(-100..=100)) / 10.0),
                    participants: if rng.random_bool(0.2) {
                        vec![officials[rng.random_range(0..officials.len())].clone()]
                    } else {
                        Vec::new()
                    },
                    trip: if rng.random_bool(0.1) {
                        trip.clone()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                };
                stored(
                    &format!("busy-{seed}-{index:05}"),
                    AgendaItem::parse(&record).expect("valid generated item"),
                )
            })
            .collect()
    }

    #[test]
    fn the_compiler_gives_what_the_reference_compiler_gave() {
        let demo = demo();
        let day = NaiveDate::from_ymd_opt(2025, 1, 7).unwrap();
        // The demo days, then busy days with a trailing window full of activity.
        for demo_day in 5..=9 {
            let date = NaiveDate::from_ymd_opt(2025, 1, demo_day).unwrap();
            let start = date - chrono::Duration::days(TRAILING_DAYS);
            let trailing = TrailingNets::from_items(
                TRAILING_DAYS,
                demo.items
                    .iter()
                    .map(|stored| &stored.value)
                    .filter(|item| item.date >= start && item.date < date),
            );
            let inputs = Inputs {
                kind: DEFAULT_KIND,
                day: date,
                time_zone: chrono_tz::UTC,
                items: &demo.items,
                trailing: &trailing,
                officials: &demo.officials,
                trips: &demo.trips,
                alliances: &default_alliances(),
            };
            assert_eq!(compile(&inputs), reference::compile(&inputs), "{date}");
        }
        for seed in 0..4 {
            let mut items = busy_day(&demo, day, 1_500, seed);
            let mut history = Vec::new();
            for back in 1..=TRAILING_DAYS {
                history.extend(busy_day(
                    &demo,
                    day - chrono::Duration::days(back),
                    40,
                    seed * 100 + u64::try_from(back).unwrap(),
                ));
            }
            let trailing =
                TrailingNets::from_items(TRAILING_DAYS, history.iter().map(|stored| &stored.value));
            items.extend(demo.items.iter().cloned());
            items.reverse();
            let inputs = Inputs {
                kind: DEFAULT_KIND,
                day,
                time_zone: chrono_tz::Asia::Seoul,
                items: &items,
                trailing: &trailing,
                officials: &demo.officials,
                trips: &demo.trips,
                alliances: &default_alliances(),
            };
            let compiled = compile(&inputs);
            assert!(compiled.dyads.len() > 20 && compiled.item_count > 1_500);
            assert_eq!(compiled, reference::compile(&inputs), "seed {seed}");
        }
    }
}
