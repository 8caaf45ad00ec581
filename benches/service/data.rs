//! A generated data set of realistic shape: officials with roles, trips with legs, and agenda
//! items the way a GDELT-fed desk stores them — weighted countries with sectors, PLOVER event
//! types in GDELT-like proportions (a fifth with a one-decimal Goldstein-style intensity),
//! contexts, participants, a source per item and prose titles and summaries for full-text
//! search. Deterministic: the same seed gives the same data.

use briefing::api::pb;
use briefing::domain::CountryCode;
use chrono::{Duration, NaiveDate};
use prost_types::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// The day whose digest is measured; the data set's days end here.
pub fn digest_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 14).expect("valid date")
}

/// Countries and how often they appear in the news, roughly.
const COUNTRIES: &[(&str, u32)] = &[
    ("USA", 40),
    ("CHN", 22),
    ("RUS", 20),
    ("UKR", 16),
    ("ISR", 12),
    ("IRN", 10),
    ("GBR", 9),
    ("FRA", 8),
    ("DEU", 8),
    ("JPN", 7),
    ("KOR", 7),
    ("PRK", 6),
    ("IND", 6),
    ("TUR", 5),
    ("SAU", 5),
    ("PAK", 4),
    ("SYR", 4),
    ("EGY", 3),
    ("BRA", 3),
    ("CAN", 3),
    ("AUS", 3),
    ("ITA", 3),
    ("POL", 3),
    ("QAT", 3),
    ("ARE", 2),
    ("PSE", 3),
    ("LBN", 2),
    ("IRQ", 2),
    ("AFG", 2),
    ("TWN", 3),
    ("VNM", 1),
    ("PHL", 2),
    ("IDN", 1),
    ("MEX", 2),
    ("ZAF", 1),
    ("NGA", 1),
    ("ETH", 1),
    ("SDN", 1),
    ("VEN", 1),
    ("BLR", 1),
    ("HUN", 1),
    ("ESP", 1),
    ("NLD", 1),
    ("SWE", 1),
    ("FIN", 1),
    ("NOR", 1),
    ("GEO", 1),
    ("ARM", 1),
    ("AZE", 1),
    ("KAZ", 1),
    ("MMR", 1),
    ("THA", 1),
    ("SGP", 1),
    ("MYS", 1),
    ("NZL", 1),
    ("ARG", 1),
    ("CHL", 1),
    ("COL", 1),
    ("CUB", 1),
    ("KEN", 1),
    ("YEM", 1),
    ("JOR", 1),
    ("LBY", 1),
];

/// Cities trips go to, with their zones.
const CITIES: &[(&str, &str, &str)] = &[
    ("USA", "Washington", "America/New_York"),
    ("USA", "New York", "America/New_York"),
    ("CHN", "Beijing", "Asia/Shanghai"),
    ("RUS", "Moscow", "Europe/Moscow"),
    ("UKR", "Kyiv", "Europe/Kyiv"),
    ("ISR", "Jerusalem", "Asia/Jerusalem"),
    ("GBR", "London", "Europe/London"),
    ("FRA", "Paris", "Europe/Paris"),
    ("DEU", "Berlin", "Europe/Berlin"),
    ("JPN", "Tokyo", "Asia/Tokyo"),
    ("KOR", "Seoul", "Asia/Seoul"),
    ("IND", "New Delhi", "Asia/Kolkata"),
    ("TUR", "Ankara", "Europe/Istanbul"),
    ("SAU", "Riyadh", "Asia/Riyadh"),
    ("EGY", "Cairo", "Africa/Cairo"),
    ("BRA", "Brasília", "America/Sao_Paulo"),
    ("CAN", "Ottawa", "America/Toronto"),
    ("AUS", "Canberra", "Australia/Sydney"),
    ("ITA", "Rome", "Europe/Rome"),
    ("POL", "Warsaw", "Europe/Warsaw"),
    ("QAT", "Doha", "Asia/Qatar"),
    ("ARE", "Abu Dhabi", "Asia/Dubai"),
    ("PHL", "Manila", "Asia/Manila"),
    ("VNM", "Hanoi", "Asia/Ho_Chi_Minh"),
    ("IDN", "Jakarta", "Asia/Jakarta"),
    ("ZAF", "Pretoria", "Africa/Johannesburg"),
    ("BEL", "Brussels", "Europe/Brussels"),
    ("CHE", "Geneva", "Europe/Zurich"),
    ("SGP", "Singapore", "Asia/Singapore"),
    ("MEX", "Mexico City", "America/Mexico_City"),
];

const SECTORS: &[&str] = &[
    "GOV", "GOV", "GOV", "MIL", "BUS", "OPP", "MED", "CVL", "IGO",
];

/// PLOVER types in proportions close to GDELT's, with a verb for titles.
const EVENTS: &[(pb::EventType, u32, &str)] = &[
    (pb::EventType::Consult, 25, "hold talks with"),
    (pb::EventType::Agree, 8, "reach an agreement with"),
    (pb::EventType::Support, 8, "voice support for"),
    (pb::EventType::Cooperate, 6, "deepen cooperation with"),
    (pb::EventType::Aid, 4, "send aid to"),
    (pb::EventType::Concede, 2, "make concessions to"),
    (pb::EventType::Retreat, 1, "pull back from"),
    (pb::EventType::Request, 8, "call on"),
    (pb::EventType::Accuse, 8, "accuse"),
    (pb::EventType::Reject, 5, "reject demands from"),
    (pb::EventType::Threaten, 4, "threaten"),
    (pb::EventType::Protest, 6, "protest against"),
    (pb::EventType::Sanction, 3, "impose sanctions on"),
    (pb::EventType::Mobilize, 3, "mobilize forces near"),
    (pb::EventType::Coerce, 4, "seize assets of"),
    (pb::EventType::Assault, 5, "strike targets in"),
];

pub const CONTEXTS: &[&str] = &[
    "diplomatic",
    "military",
    "economic",
    "trade",
    "nuclear",
    "security",
    "humanitarian",
    "energy",
    "climate",
    "cyber",
    "maritime",
    "territorial",
    "sanctions",
    "elections",
    "human-rights",
    "terrorism",
    "migration",
    "health",
    "technology",
    "indo-pacific",
    "middle-east",
    "ukraine-war",
    "alliance",
    "arms-control",
    "space",
];

const TOPICS: &[&str] = &[
    "extended deterrence",
    "semiconductor export controls",
    "the grain corridor",
    "a ceasefire proposal",
    "missile launches",
    "joint military exercises",
    "the release of hostages",
    "liquefied natural gas supplies",
    "tariffs on electric vehicles",
    "critical minerals",
    "maritime boundaries",
    "fishing rights",
    "the nuclear programme",
    "uranium enrichment",
    "refugee returns",
    "humanitarian corridors",
    "debt relief",
    "a free trade agreement",
    "air defence systems",
    "artillery shells",
    "drone attacks",
    "cyber intrusions",
    "election interference",
    "peacekeeping troops",
    "border incidents",
    "visa restrictions",
    "climate finance",
    "vaccine production",
    "port access",
    "undersea cables",
    "satellite launches",
    "arms control talks",
    "sanctions relief",
    "frozen central bank assets",
    "a prisoner exchange",
    "naval patrols",
    "airspace violations",
    "pipeline security",
    "food security",
    "reconstruction funding",
];

const SETTINGS: &[&str] = &[
    "on the sidelines of a summit",
    "during a visit to the capital",
    "in a telephone call",
    "in a joint statement",
    "at the United Nations",
    "at a press conference",
    "in talks that ran late into the night",
    "at a regional security forum",
];

const BACKGROUNDS: &[&str] = &[
    "rising tensions in the region",
    "a contested election",
    "fears of a wider war",
    "an economic slowdown",
    "mounting pressure from allies",
    "protests at home",
    "a looming deadline",
    "renewed fighting along the front line",
    "concerns over supply chains",
    "a change of government",
];

const PUBLISHERS: &[(&str, &str)] = &[
    ("Reuters", "www.reuters.com"),
    ("Associated Press", "apnews.com"),
    ("Agence France-Presse", "www.afp.com"),
    ("Yonhap", "en.yna.co.kr"),
    ("Kyodo News", "english.kyodonews.net"),
    ("BBC News", "www.bbc.com"),
    ("Al Jazeera", "www.aljazeera.com"),
    ("The Guardian", "www.theguardian.com"),
    ("Deutsche Welle", "www.dw.com"),
    ("NHK World", "www3.nhk.or.jp"),
];

const MODES: &[&str] = &["meeting", "visit", "call", "statement", "summit", "press"];

const FIRST_NAMES: &[&str] = &[
    "Anna", "Kenji", "Maria", "Olena", "David", "Min-jun", "Fatima", "Lukas", "Sofia", "Arjun",
    "Li", "Omar", "Ingrid", "Pedro", "Yuki", "Emeka", "Chloé", "Mehmet", "Nadia", "Tomasz",
];
const LAST_NAMES: &[&str] = &[
    "Kim",
    "Tanaka",
    "Rossi",
    "Kovalenko",
    "Smith",
    "Park",
    "Haddad",
    "Schneider",
    "García",
    "Sharma",
    "Wang",
    "Farouk",
    "Larsen",
    "Silva",
    "Sato",
    "Okafor",
    "Dubois",
    "Yilmaz",
    "Petrova",
    "Nowak",
];
const TITLES: &[&str] = &[
    "Foreign Minister",
    "Minister of Defence",
    "Prime Minister",
    "President",
    "National Security Adviser",
    "Ambassador to the United Nations",
    "Secretary of State",
    "Trade Minister",
    "Finance Minister",
    "Special Envoy",
];

/// Words a person types into the search box, drawn from the same vocabulary as the text.
pub const SEARCH_QUERIES: &[&str] = &[
    "sanctions",
    "ceasefire",
    "missile launches",
    "\"joint military exercises\"",
    "nuclear programme",
    "grain",
    "hostages",
    "drone*",
    "semiconductor",
    "refugee returns",
    "peacekeeping",
    "undersea cables",
    "critical minerals",
    "airspace",
    "reconstruction",
    "talks",
];

pub struct Generator {
    rng: StdRng,
    country_total: u32,
    event_total: u32,
    officials: usize,
    trips: usize,
}

impl Generator {
    pub fn new(seed: u64, officials: usize, trips: usize) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            country_total: COUNTRIES.iter().map(|(_, weight)| weight).sum(),
            event_total: EVENTS.iter().map(|(_, weight, _)| weight).sum(),
            officials,
            trips,
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    pub fn country(&mut self) -> &'static str {
        let mut ticket = self.rng.random_range(0..self.country_total);
        for (code, weight) in COUNTRIES {
            if ticket < *weight {
                return code;
            }
            ticket -= weight;
        }
        "USA"
    }

    fn event(&mut self) -> (pb::EventType, &'static str) {
        let mut ticket = self.rng.random_range(0..self.event_total);
        for (event, weight, verb) in EVENTS {
            if ticket < *weight {
                return (*event, verb);
            }
            ticket -= weight;
        }
        (pb::EventType::Consult, "hold talks with")
    }

    fn actor(&mut self, country: &str) -> String {
        if self.rng.random_bool(0.25) {
            country.to_owned()
        } else {
            format!("{country}{}", self.pick(SECTORS))
        }
    }

    fn timestamp(day: NaiveDate, seconds: i64) -> Timestamp {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        Timestamp {
            seconds: midnight.timestamp() + seconds,
            nanos: 0,
        }
    }

    fn source(&mut self, day: NaiveDate, slug: &str) -> pb::Source {
        let (publisher, domain) = *self.pick(PUBLISHERS);
        let number = self.rng.random_range(100_000..999_999);
        let excerpt = if self.rng.random_bool(0.5) {
            format!(
                "\u{201c}We discussed {} at length,\u{201d} a senior official said.",
                self.pick(TOPICS)
            )
        } else {
            String::new()
        };
        pb::Source {
            url: format!(
                "https://{domain}/world/{}/{slug}-{number}",
                day.format("%Y/%m/%d")
            ),
            publisher: publisher.to_owned(),
            published_time: Some(Self::timestamp(day, self.rng.random_range(0..86_400))),
            excerpt,
        }
    }

    pub fn official(&mut self, index: usize) -> (String, pb::Official) {
        let country = self.country();
        let name = format!("{} {}", self.pick(FIRST_NAMES), self.pick(LAST_NAMES));
        let start = digest_day() - Duration::days(self.rng.random_range(30..2000));
        let mut roles = vec![pb::Role {
            title: (*self.pick(TITLES)).to_owned(),
            organization: format!("Government of {}", country_name(country)),
            start_date: start.to_string(),
            end_date: String::new(),
            acting: self.rng.random_bool(0.05),
            state: if self.rng.random_bool(0.02) {
                pb::RoleState::Suspended.into()
            } else {
                pb::RoleState::Active.into()
            },
            state_date: String::new(),
            note: String::new(),
        }];
        if roles[0].state == i32::from(pb::RoleState::Suspended) {
            roles[0].state_date = (start + Duration::days(10)).to_string();
        }
        if self.rng.random_bool(0.4) {
            let earlier = start - Duration::days(self.rng.random_range(200..1500));
            roles.push(pb::Role {
                title: (*self.pick(TITLES)).to_owned(),
                organization: String::new(),
                start_date: earlier.to_string(),
                end_date: (start - Duration::days(1)).to_string(),
                acting: false,
                state: pb::RoleState::Ended.into(),
                state_date: String::new(),
                note: "Served until the cabinet reshuffle.".to_owned(),
            });
        }
        (
            format!("official-{index}"),
            pb::Official {
                display_name: name,
                aliases: Vec::new(),
                country: country.to_owned(),
                wikidata_id: format!("Q{}", 1_000_000 + index),
                roles,
                ..pb::Official::default()
            },
        )
    }

    pub fn trip(&mut self, index: usize) -> (String, pb::Trip) {
        let traveler = self.rng.random_range(0..self.officials.max(1));
        let legs_count = self.rng.random_range(1..=4);
        let mut day = digest_day() - Duration::days(self.rng.random_range(0..60));
        let mut legs = Vec::new();
        let mut cities = Vec::new();
        for _ in 0..legs_count {
            let (country, city, zone) = *self.pick(CITIES);
            let nights = self.rng.random_range(0..3);
            legs.push(pb::Leg {
                country: country.to_owned(),
                city: city.to_owned(),
                start_date: day.to_string(),
                end_date: (day + Duration::days(nights)).to_string(),
                time_zone: zone.to_owned(),
                purpose: format!(
                    "Talks with senior officials on {} and {}.",
                    self.pick(TOPICS),
                    self.pick(TOPICS)
                ),
            });
            cities.push(city);
            day += Duration::days(nights + 1);
        }
        let slug = format!("visit-{index}");
        let first = legs[0].start_date.clone();
        (
            format!("trip-{index}"),
            pb::Trip {
                title: format!("Visit to {}", cities.join(", ")),
                traveler: format!("officials/official-{traveler}"),
                purpose: format!(
                    "Reaffirm ties and discuss {} amid {}.",
                    self.pick(TOPICS),
                    self.pick(BACKGROUNDS)
                ),
                legs,
                // Two reports and a note, as the seed's trip has: about 1.4 kB a trip, the
                // size of the demo trip's GetTrip response (issue 10 measures at 1.4 kB).
                sources: {
                    let first = NaiveDate::parse_from_str(&first, "%Y-%m-%d").expect("date");
                    vec![self.source(first, &slug), self.source(first, &slug)]
                },
                notes: format!(
                    "Announced by the foreign ministry a week ahead. The delegation includes \
                     advisers on {} and on {}; a joint statement on {} is expected at the \
                     last stop, and a press conference after the talks. Reporting so far \
                     comes from the host government's readout and two wire services; the \
                     schedule of the later legs may change with {}.",
                    self.pick(TOPICS),
                    self.pick(TOPICS),
                    self.pick(TOPICS),
                    self.pick(BACKGROUNDS)
                ),
                ..pb::Trip::default()
            },
        )
    }

    /// One agenda item dated `day`.
    pub fn agenda_item(&mut self, day: NaiveDate) -> pb::AgendaItem {
        let (event, verb) = self.event();
        let actor_country = self.country();
        let mut recipient_country = self.country();
        while recipient_country == actor_country {
            recipient_country = self.country();
        }
        let mut actors = vec![self.actor(actor_country)];
        let mut recipients = vec![self.actor(recipient_country)];
        // A tenth are trilateral: a third country on one side.
        if self.rng.random_bool(0.1) {
            let third = self.country();
            if third != actor_country && third != recipient_country {
                let code = self.actor(third);
                if self.rng.random_bool(0.5) {
                    actors.push(code);
                } else {
                    recipients.push(code);
                }
            }
        }
        let topic = *self.pick(TOPICS);
        let title = format!(
            "{} {verb} {} over {topic}",
            country_name(actor_country),
            country_name(recipient_country)
        );
        let summary = format!(
            "Officials from {} and {} discussed {topic} {}, according to people familiar with the matter. \
             The exchange comes amid {} and follows weeks of talks on {}.",
            country_name(actor_country),
            country_name(recipient_country),
            self.pick(SETTINGS),
            self.pick(BACKGROUNDS),
            self.pick(TOPICS),
        );
        let mut contexts: Vec<String> = Vec::new();
        for _ in 0..self.rng.random_range(1..=3) {
            let context = (*self.pick(CONTEXTS)).to_owned();
            if !contexts.contains(&context) {
                contexts.push(context);
            }
        }
        let mut participants = Vec::new();
        if self.rng.random_bool(0.25) {
            for _ in 0..self.rng.random_range(1..=2) {
                let official = format!(
                    "officials/official-{}",
                    self.rng.random_range(0..self.officials.max(1))
                );
                if !participants.contains(&official) {
                    participants.push(official);
                }
            }
        }
        let (trip, leg) = if self.trips > 0 && self.rng.random_bool(0.01) {
            (
                format!("trips/trip-{}", self.rng.random_range(0..self.trips)),
                Some(0),
            )
        } else {
            (String::new(), None)
        };
        let intensity = self.rng.random_bool(0.2).then(|| {
            let tenths: i32 = self.rng.random_range(-100..=100);
            f64::from(tenths) / 10.0
        });
        let slug = title
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .take(6)
            .collect::<Vec<_>>()
            .join("-");
        pb::AgendaItem {
            title,
            summary,
            date: day.to_string(),
            trip,
            leg,
            participants,
            actors,
            recipients,
            event_type: event.into(),
            mode: (*self.pick(MODES)).to_owned(),
            contexts,
            intensity,
            sources: vec![self.source(day, &slug)],
            ..pb::AgendaItem::default()
        }
    }
}

pub fn country_name(code: &str) -> &'static str {
    CountryCode::parse(code).map_or("Unknown", |country| country.country_name())
}

/// A country drawn with the data set's weights, for list requests.
pub fn weighted_countries(count: usize, seed: u64) -> Vec<&'static str> {
    let mut generator = Generator::new(seed, 0, 0);
    (0..count).map(|_| generator.country()).collect()
}
