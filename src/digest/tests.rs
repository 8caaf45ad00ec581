//! The compiler on the demo data set and on generated days: what a desk reads, counted right,
//! bounded whatever the volume.

#![cfg(test)]

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, TimeZone as _, Utc};

use super::*;
use crate::domain::Stored;
use crate::domain::{
    AgendaItem, AgendaItemRecord, DailyActivity, EventType, ItemStatus, Official, ResourceId, Trip,
};
use crate::import::records::{DEMO_DATA, parse_file};

pub fn stored<T>(id: &str, value: T) -> Stored<T> {
    let time = Utc.with_ymd_and_hms(2025, 1, 3, 0, 0, 0).unwrap();
    Stored {
        id: ResourceId::parse(id).unwrap(),
        value,
        create_time: time,
        update_time: time,
        revision: 1,
    }
}

#[derive(Clone)]
pub struct World {
    pub items: Vec<Stored<AgendaItem>>,
    pub officials: Vec<Stored<Official>>,
    pub trips: Vec<Stored<Trip>>,
}

pub fn demo() -> World {
    let mut world = World {
        items: vec![],
        officials: vec![],
        trips: vec![],
    };
    for record in parse_file(DEMO_DATA).unwrap() {
        if let Some(item) = record.agenda_item {
            world
                .items
                .push(stored(&record.id, AgendaItem::parse(&item).unwrap()));
        } else if let Some(official) = record.official {
            world
                .officials
                .push(stored(&record.id, Official::parse(&official).unwrap()));
        } else if let Some(trip) = record.trip {
            world
                .trips
                .push(stored(&record.id, Trip::parse(&trip).unwrap()));
        }
    }
    world
}

/// Compiles `day` from everything in `world`, reading it as the store hands it over.
pub fn compile_day(world: &World, day: NaiveDate, side: &Side) -> Compiled {
    let start = day - Duration::days(TRAILING_DAYS);
    let trailing = TrailingNets::from_items(
        TRAILING_DAYS,
        world
            .items
            .iter()
            .map(|stored| &stored.value)
            .filter(|item| item.date >= start && item.date < day),
    );
    let items: Vec<Stored<AgendaItem>> = world
        .items
        .iter()
        .filter(|stored| stored.value.date == day)
        .cloned()
        .collect();
    let planned: Vec<Stored<AgendaItem>> = world
        .items
        .iter()
        .filter(|stored| {
            stored.value.status == ItemStatus::Planned
                && stored.value.date > day
                && stored.value.date <= day + Duration::days(UPCOMING_DAYS)
        })
        .cloned()
        .collect();
    let mut activity: BTreeMap<NaiveDate, DailyActivity> = BTreeMap::new();
    for stored in &world.items {
        let item = &stored.value;
        if item.status.scores()
            && item.date < day
            && item.date >= day - Duration::days(HEADLINE_DAYS)
        {
            let entry = activity.entry(item.date).or_insert(DailyActivity {
                date: item.date,
                items: 0,
                sources: 0,
            });
            entry.items += 1;
            entry.sources += item.source_count();
        }
    }
    let activity: Vec<DailyActivity> = activity.into_values().collect();
    compile(&Inputs {
        kind: DEFAULT_KIND,
        day,
        time_zone: chrono_tz::UTC,
        side,
        items: &items,
        planned: &planned,
        trailing: &trailing,
        activity: &activity,
        officials: &world.officials,
        trips: &world.trips,
    })
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn item(
    id: &str,
    day: &str,
    actors: &[&str],
    recipients: &[&str],
    event: &str,
) -> Stored<AgendaItem> {
    let record = AgendaItemRecord {
        title: format!("Item {id}"),
        date: day.to_owned(),
        actors: actors.iter().map(|code| (*code).to_owned()).collect(),
        recipients: recipients.iter().map(|code| (*code).to_owned()).collect(),
        event_type: event.to_owned(),
        ..Default::default()
    };
    stored(id, AgendaItem::parse(&record).unwrap())
}

fn all_lines(digest: &Digest) -> Vec<&Line> {
    digest
        .sections()
        .into_iter()
        .flat_map(|(_, lines)| lines.iter())
        .collect()
}

#[test]
fn the_seoul_day_reads_as_a_desk_wants_it() {
    let world = demo();
    let compiled = compile_day(&world, date("2025-01-06"), &Side::default());
    let digest = &compiled.digest;
    let markdown = &digest.markdown;
    println!("{markdown}");
    // The article previews the trip: nothing of the day scores, and the headline says so.
    assert_eq!(digest.headline.item_count, 0);
    assert!(compiled.dyads.is_empty());
    // North Korea–Russia military ties: an alignment to watch, restated as background.
    assert!(
        digest
            .alignments
            .iter()
            .any(|line| line.countries == ["PRK", "RUS"]
                && line
                    .agenda_items
                    .contains(&"agendaItems/north-korea-russia-military-ties".to_owned())),
        "{:#?}",
        digest.alignments
    );
    assert!(
        digest
            .alliances
            .iter()
            .all(|line| !line.countries.contains(&"PRK".to_owned()))
    );
    // The acting president, without the data-entry remarks of the roles.
    assert!(
        digest
            .leadership
            .iter()
            .any(|line| line.text.contains("Choi Sang-mok is Acting President"))
    );
    assert!(!markdown.contains("not in the article"));
    // The planned talks of the next days and the Paris leg under Upcoming.
    let upcoming: Vec<&str> = digest
        .upcoming
        .iter()
        .flat_map(|line| &line.agenda_items)
        .map(String::as_str)
        .collect();
    assert!(upcoming.contains(&"agendaItems/tokyo-alliance-review"));
    assert!(upcoming.contains(&"agendaItems/paris-europe-ukraine-middle-east"));
    assert!(
        digest
            .upcoming
            .iter()
            .any(|line| line.text.contains("Paris, FRA (leg 3 of 3"))
    );
    // Planned talks of the day: named under their alliance, never scored.
    let trilateral = digest
        .alliances
        .iter()
        .find(|line| line.text.starts_with("U.S.–Japan–South Korea trilateral"))
        .unwrap();
    assert!(
        trilateral.text.contains("nothing reported"),
        "{}",
        trilateral.text
    );
    assert_eq!(trilateral.score, 0.0);
    // Each item printed in full once, however many lines refer to it.
    for item in &digest.items {
        assert_eq!(
            markdown.matches(&format!("`{}`", item.name)).count(),
            1,
            "{}",
            item.name
        );
    }
}

#[test]
fn an_item_counts_once_for_its_alliance_however_many_pairs_it_forms() {
    let mut world = demo();
    let day = "2025-02-03";
    world.items.push(item(
        "trilateral-summit",
        day,
        &["USA", "JPN", "KOR"],
        &["USA", "JPN", "KOR"],
        "AGREE",
    ));
    world
        .items
        .push(item("seoul-aid", day, &["USA"], &["KOR"], "AID"));
    world
        .items
        .push(item("tokyo-talks", day, &["USA"], &["JPN"], "CONSULT"));
    world.items.push(item(
        "pyongyang-moscow",
        day,
        &["PRK"],
        &["RUS"],
        "COOPERATE",
    ));
    world
        .items
        .push(item("missile", day, &["PRK"], &["JPN", "KOR"], "THREATEN"));
    let compiled = compile_day(&world, date(day), &Side::default());
    let digest = &compiled.digest;
    println!("{}", digest.markdown);
    let trilateral = digest
        .alliances
        .iter()
        .find(|line| line.text.starts_with("U.S.–Japan–South Korea trilateral"))
        .unwrap();
    // AGREE 2.5 + AID 10 + CONSULT 2.5, each once: the summit forms three pairs.
    assert!(
        trilateral.text.contains("net +15.0 from 3 items"),
        "{}",
        trilateral.text
    );
    assert_eq!(trilateral.score, 15.0);
    assert_eq!(trilateral.evidence.as_ref().unwrap().item_count, 3);
    assert_eq!(
        trilateral.evidence.as_ref().unwrap().pairs,
        ["JPN-KOR", "JPN-USA", "KOR-USA"]
    );
    assert_eq!(trilateral.agenda_items.len(), 2);
    assert_eq!(trilateral.more_items, 1);
    // The per-pair figures stay per pair.
    let jpn_kor = compiled
        .dyads
        .iter()
        .find(|dyad| dyad.label() == "JPN–KOR")
        .unwrap();
    assert_eq!(jpn_kor.cooperation, 2.5);
    // Rivals cooperating: an alignment to watch, not an alliance.
    assert!(
        digest
            .alignments
            .iter()
            .any(|line| line.countries == ["PRK", "RUS"] && line.score == 9.5)
    );
    let sections_naming_the_pair = digest
        .sections()
        .into_iter()
        .filter(|(_, lines)| lines.iter().any(|line| line.countries == ["PRK", "RUS"]))
        .map(|(heading, _)| heading)
        .collect::<Vec<_>>();
    assert_eq!(
        sections_naming_the_pair,
        ["Key developments", "Alignments to watch"]
    );
    // The threat leads Tensions, and no Alliances line mentions North Korea.
    assert!(
        digest.tensions[0].text.starts_with("JPN–PRK")
            || digest.tensions[0].text.starts_with("KOR–PRK")
    );
    // The material cooperation of rivals ranks above verbal items among key developments.
    assert_eq!(
        digest.key_developments[0].agenda_items,
        ["agendaItems/seoul-aid"]
    );
}

#[test]
fn a_trend_needs_five_active_days() {
    let mut world = World {
        items: vec![],
        officials: vec![],
        trips: vec![],
    };
    let day = date("2025-03-31");
    // KOR–PRK active on 2 earlier days: rare. JPN–PRK on 10: a trend.
    for back in [3, 9] {
        let earlier = (day - Duration::days(back)).to_string();
        world.items.push(item(
            &format!("kor-{back}"),
            &earlier,
            &["PRK"],
            &["KOR"],
            "ACCUSE",
        ));
    }
    for back in 1..=10 {
        let earlier = (day - Duration::days(back)).to_string();
        let event = if back % 2 == 0 { "CONSULT" } else { "ACCUSE" };
        world.items.push(item(
            &format!("jpn-{back}"),
            &earlier,
            &["PRK"],
            &["JPN"],
            event,
        ));
    }
    world.items.push(item(
        "kor-today",
        &day.to_string(),
        &["PRK"],
        &["KOR"],
        "ASSAULT",
    ));
    world.items.push(item(
        "jpn-today",
        &day.to_string(),
        &["PRK"],
        &["JPN"],
        "ASSAULT",
    ));
    world.items.push(item(
        "chn-today",
        &day.to_string(),
        &["CHN"],
        &["JPN"],
        "ASSAULT",
    ));
    let compiled = compile_day(&world, day, &Side::default());
    let dyad = |label: &str| {
        compiled
            .dyads
            .iter()
            .find(|dyad| dyad.label() == label)
            .unwrap()
    };
    assert_eq!(dyad("KOR–PRK").trend, Trend::Rare);
    assert_eq!(dyad("KOR–PRK").z_score, None);
    assert_eq!(dyad("KOR–PRK").active_days, 2);
    assert_eq!(dyad("CHN–JPN").trend, Trend::New);
    assert_eq!(dyad("JPN–PRK").trend, Trend::Measured);
    assert!(dyad("JPN–PRK").z_score.unwrap() < -2.0);
    let markdown = &compiled.digest.markdown;
    println!("{markdown}");
    assert!(markdown.contains("σ below its 30-day mean of"));
    assert!(markdown.contains("KOR–PRK: net -9.0 from 1 item (cooperation 0.0, conflict 9.0); rare: active on 2 of the previous 30 days"));
    assert!(markdown.contains("a new pair: no activity in the previous 30 days"));
    assert!(!markdown.contains("mean 0.0"));
}

#[test]
fn background_and_planned_items_never_score() {
    let mut world = demo();
    let day = "2025-02-03";
    let mut background = item("restated", day, &["PRK"], &["USA"], "THREATEN");
    background.value.status = ItemStatus::Background;
    let mut planned = item("planned", day, &["USA"], &["KOR"], "CONSULT");
    planned.value.status = ItemStatus::Planned;
    world.items.extend([background, planned]);
    let compiled = compile_day(&world, date(day), &Side::default());
    assert_eq!(compiled.digest.headline.item_count, 0);
    assert!(compiled.dyads.is_empty());
    assert!(compiled.digest.tensions.is_empty());
    assert_eq!(compiled.digest.headline.background_count, 1);
    assert!(
        compiled
            .digest
            .upcoming
            .iter()
            .any(|line| line.agenda_items == ["agendaItems/planned"])
    );
}

#[test]
fn the_same_items_give_the_same_bytes() {
    let world = busy_world(2_000, 7);
    let day = date("2025-01-07");
    let first = compile_day(&world, day, &Side::default());
    let mut shuffled = world;
    shuffled.items.reverse();
    shuffled.officials.reverse();
    let second = compile_day(&shuffled, day, &Side::default());
    assert_eq!(first.digest.markdown, second.digest.markdown);
    assert_eq!(first, second);
}

/// The demo data set plus a busy day of generated items, in the shapes the data set and GDELT
/// give, with long titles and sources so that the bounds are tested at their worst.
pub fn busy_world(count: usize, seed: u64) -> World {
    use rand::{Rng as _, SeedableRng as _};
    let mut world = demo();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let countries = [
        "USA", "KOR", "JPN", "CHN", "PRK", "RUS", "FRA", "UKR", "ISR", "IRN", "DEU", "GBR", "IND",
        "TUR",
    ];
    let contexts = [
        "military",
        "diplomatic",
        "nuclear",
        "trade",
        "indo-pacific",
        "cyber",
        "energy",
    ];
    let officials: Vec<String> = world
        .officials
        .iter()
        .map(|official| format!("officials/{}", official.id))
        .collect();
    let day = date("2025-01-07");
    for index in 0..count {
        let back = if index % 4 == 0 {
            rng.random_range(1..=30)
        } else {
            0
        };
        let item_day = day - Duration::days(back);
        let actor = countries[rng.random_range(0..countries.len())];
        let mut recipient = countries[rng.random_range(0..countries.len())];
        if recipient == actor {
            recipient = if actor == "USA" { "KOR" } else { "USA" };
        }
        let mut recipients = vec![recipient.to_owned()];
        if rng.random_bool(0.15) {
            let third = countries[rng.random_range(0..countries.len())];
            if third != actor && third != recipient {
                recipients.push(third.to_owned());
            }
        }
        let title_words = rng.random_range(5..60);
        let record = AgendaItemRecord {
            title: format!(
                "Item {index} between {actor} and {recipient}: {}",
                "report ".repeat(title_words)
            )
            .chars()
            .take(300)
            .collect(),
            date: item_day.to_string(),
            actors: vec![actor.to_owned()],
            recipients,
            event_type: EventType::ALL[rng.random_range(0..EventType::ALL.len())]
                .code()
                .to_owned(),
            contexts: (0..rng.random_range(0..3))
                .map(|n| contexts[(index + n) % contexts.len()].to_owned())
                .collect(),
            intensity: rng
                .random_bool(0.3)
                .then(|| f64::from(rng.random_range(-100..=100)) / 10.0),
            participants: if rng.random_bool(0.2) {
                vec![officials[rng.random_range(0..officials.len())].clone()]
            } else {
                Vec::new()
            },
            status: match rng.random_range(0..20) {
                0 => "PLANNED".to_owned(),
                1 => "BACKGROUND".to_owned(),
                _ => String::new(),
            },
            sources: (0..rng.random_range(0..3))
                .map(|n| crate::domain::source::SourceRecord {
                    url: format!(
                        "https://news.example/{index}/{n}/{}",
                        "x".repeat(rng.random_range(10..1500))
                    ),
                    publisher: format!("Outlet {}", n + index % 7),
                    published_time: format!("{item_day}T08:00:00Z"),
                    excerpt: "words ".repeat(50),
                })
                .collect(),
            ..Default::default()
        };
        world.items.push(stored(
            &format!("busy-{seed}-{index:06}"),
            AgendaItem::parse(&record).expect("valid generated item"),
        ));
    }
    world
}

#[test]
fn a_busy_day_stays_within_the_size_budget() {
    let world = busy_world(20_000, 3);
    let compiled = compile_day(&world, date("2025-01-07"), &Side::default());
    let digest = &compiled.digest;
    assert!(digest.headline.item_count > 10_000);
    assert!(compiled.dyads.len() > 50);
    assert!(
        digest.markdown.len() < 64 * 1024,
        "{} bytes",
        digest.markdown.len()
    );
    let json = serde_json::to_vec(digest).unwrap();
    assert!(json.len() < 1024 * 1024, "{} bytes of JSON", json.len());
    // The message a client receives is smaller than the JSON; checked through the API in the
    // suite. Here: every cited item is printed, every line cites at most 3.
    for line in all_lines(digest) {
        assert!(line.agenda_items.len() <= 3);
        if let Some(evidence) = &line.evidence
            && line.more_items > 0
            && !line.agenda_items.is_empty()
        {
            assert_eq!(
                evidence.item_count,
                line.agenda_items.len() as u64 + line.more_items,
                "{}",
                line.text
            );
        }
    }
}

/// Every field at its maximum length: titles of 300 four-byte characters, 20 contexts,
/// 20 sources with 2,048-character addresses and 200-character outlets, over 200 pairs with
/// an item of their own each. The digest still fits.
#[test]
fn items_at_every_maximum_still_fit() {
    use crate::domain::source::SourceRecord;
    let mut world = demo();
    let codes = [
        "USA", "KOR", "JPN", "CHN", "PRK", "RUS", "FRA", "UKR", "ISR", "IRN", "DEU", "GBR", "IND",
        "TUR", "BRA", "CAN", "AUS", "ITA", "ESP", "MEX", "EGY", "SAU",
    ];
    let day = date("2025-01-07");
    for index in 0..2_000_usize {
        // One pair per item and many pairs in all: as many distinct items cited as can be.
        let actor = codes[index % codes.len()];
        let mut recipient = codes[(index / codes.len() + index + 1) % codes.len()];
        if recipient == actor {
            recipient = codes[(index + 2) % codes.len()];
        }
        let record = AgendaItemRecord {
            title: "𝔸".repeat(300),
            date: day.to_string(),
            actors: vec![format!("{actor}GOV")],
            recipients: vec![format!("{recipient}MIL")],
            event_type: EventType::ALL[index % EventType::ALL.len()]
                .code()
                .to_owned(),
            contexts: (0..20)
                .map(|n| format!("context-{}", (index + n) % 40))
                .collect(),
            sources: (0..20)
                .map(|n| SourceRecord {
                    url: format!("https://news.example/{index}/{n}/{}", "x".repeat(2000)),
                    publisher: "𝔹".repeat(200),
                    published_time: "2025-01-07T08:00:00Z".to_owned(),
                    excerpt: String::new(),
                })
                .collect(),
            status: if index % 10 == 0 {
                "BACKGROUND".to_owned()
            } else {
                String::new()
            },
            ..Default::default()
        };
        world.items.push(stored(
            &format!("{}-{index:05}", "m".repeat(50)),
            AgendaItem::parse(&record).expect("an item at every maximum is valid"),
        ));
    }
    let compiled = compile_day(&world, day, &Side::default());
    let digest = &compiled.digest;
    let json = serde_json::to_vec(digest).unwrap();
    println!(
        "{} items cited, {} bytes of Markdown, {} bytes of JSON",
        digest.items.len(),
        digest.markdown.len(),
        json.len()
    );
    assert!(digest.markdown.len() < 64 * 1024);
    assert!(json.len() < 1024 * 1024);
    assert!(
        digest.items.len() > 80,
        "{} items cited",
        digest.items.len()
    );
}

/// A machine-coded row: one source URL and the coder's counts of sources and articles.
fn coded_item(
    id: &str,
    pair: (&str, &str),
    event: &str,
    url: &str,
    (num_sources, num_articles): (u32, u32),
) -> Stored<AgendaItem> {
    use crate::domain::source::SourceRecord;
    let record = AgendaItemRecord {
        title: format!("Coded {id}"),
        date: "2025-01-07".to_owned(),
        actors: vec![pair.0.to_owned()],
        recipients: vec![pair.1.to_owned()],
        event_type: event.to_owned(),
        sources: vec![SourceRecord {
            url: url.to_owned(),
            ..Default::default()
        }],
        num_sources,
        num_articles,
        ..Default::default()
    };
    stored(id, AgendaItem::parse(&record).unwrap())
}

#[test]
fn rows_of_one_report_make_one_key_development_and_corroboration_ranks_them() {
    let mut world = demo();
    let report = "https://news.example/2025/01/07/strike";
    world.items.extend([
        // One report coded three times: one line, counted, citing its strongest row.
        coded_item("gdelt-1", ("RUS", "UKR"), "ASSAULT", report, (2, 6)),
        coded_item("gdelt-2", ("RUS", "UKR"), "ASSAULT", report, (3, 5)),
        coded_item("gdelt-3", ("UKR", "RUS"), "ASSAULT", report, (1, 4)),
        // Same report, another event type: another story.
        coded_item("gdelt-4", ("RUS", "UKR"), "COERCE", report, (1, 1)),
        // Another report of the same kind of event, better corroborated: it leads.
        coded_item(
            "gdelt-5",
            ("RUS", "UKR"),
            "ASSAULT",
            "https://wire.example/a",
            (9, 40),
        ),
        // Same kind, one source: ranks below both.
        coded_item(
            "gdelt-6",
            ("ISR", "IRN"),
            "ASSAULT",
            "https://paper.example/b",
            (1, 1),
        ),
    ]);
    let digest = compile_day(&world, date("2025-01-07"), &Side::default()).digest;
    let lines = &digest.key_developments;
    let cited: Vec<&str> = lines
        .iter()
        .map(|line| line.agenda_items[0].as_str())
        .collect();
    assert_eq!(
        &cited[..3],
        [
            "agendaItems/gdelt-5",
            "agendaItems/gdelt-2",
            "agendaItems/gdelt-6"
        ],
        "{lines:#?}"
    );
    assert_eq!(
        lines[0].text,
        "Material conflict involving RUS, UKR, the first activity between them in 30 days (9 sources, 40 articles)"
    );
    // The three rows of one report: one line, its best counts (not their sum), and a count.
    assert_eq!(
        lines[1].text,
        "Material conflict involving RUS, UKR, the first activity between them in 30 days (3 sources, 6 articles, one report coded as 3 events)"
    );
    assert_eq!(lines[1].more_items, 2);
    for row in ["agendaItems/gdelt-1", "agendaItems/gdelt-3"] {
        assert!(
            !cited.contains(&row),
            "{row} is a row of a story cited once"
        );
    }
    assert!(
        digest.markdown.contains("one report coded as 3 events"),
        "{}",
        digest.markdown
    );
}
