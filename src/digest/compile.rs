//! The compiler: one day's items, from one desk's side, into a bounded briefing.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Duration, NaiveDate};

use super::day::{CITED_PER_LINE, Day, PairTally};
use super::inputs::Inputs;
use super::model::{Compiled, Digest, Evidence, Headline, Line, Trend};
use super::people::{leadership, travel, upcoming};
use super::render::{number, render, signed};
use super::side::Side;
use super::{HEADLINE_DAYS, cite};
use crate::domain::{AgendaItem, CountryCode, CountryPair, ItemStatus, QuadClass};

/// Lines per part of a section: each section stays a few lines whatever the day's volume.
const KEY_DEVELOPMENTS: usize = 5;
const ALLIANCE_LINES: usize = 10;
const ALLIANCE_ITEMS: usize = 2;
const OTHER_COOPERATION: usize = 10;
const TENSION_PAIRS: usize = 5;
const RISING_PAIRS: usize = 5;
const TENSION_CONTEXTS: usize = 5;
const ALIGNMENTS: usize = 10;
const RESTATED_ALIGNMENTS: usize = 5;
/// A pair's conflict "rises" when its net falls this many deviations below its mean.
const RISING_Z: f64 = -2.0;

pub fn compile(inputs: &Inputs<'_>) -> Compiled {
    let day = Day::new(inputs.day, inputs.items);
    let tallies = day.pair_tallies(inputs.trailing);
    let side = inputs.side;
    let alliance_pairs: HashSet<CountryPair> = side
        .alliances
        .iter()
        .flat_map(|alliance| member_pairs(&alliance.members))
        .collect();
    let (alliances, other_cooperation, alignments) =
        cooperation(&day, &tallies, side, &alliance_pairs);
    let mut alliance_lines = alliances;
    alliance_lines.extend(other_cooperation);
    let mut digest = Digest {
        kind: inputs.kind.to_owned(),
        date: inputs.day,
        time_zone: inputs.time_zone.name().to_owned(),
        perspective: side.perspective.to_string(),
        headline: headline(inputs, &day, &tallies),
        key_developments: key_developments(&day, &tallies),
        alliances: alliance_lines,
        tensions: tensions(&day, &tallies),
        alignments,
        leadership: leadership(inputs, &day),
        travel: travel(inputs, &day),
        upcoming: upcoming(inputs, &day),
        items: Vec::new(),
        markdown: String::new(),
    };
    digest.items = cite::cited_items(&digest, &day, inputs.planned);
    let dyads: Vec<_> = tallies.into_iter().map(|tally| tally.dyad).collect();
    digest.markdown = render(&digest, &dyads);
    Compiled { digest, dyads }
}

/// Every pair among an alliance's members.
fn member_pairs(members: &[CountryCode]) -> Vec<CountryPair> {
    let mut pairs = Vec::new();
    for (index, &a) in members.iter().enumerate() {
        for &b in &members[index + 1..] {
            if let Some(pair) = CountryPair::new(a, b) {
                pairs.push(pair);
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

fn headline(inputs: &Inputs<'_>, day: &Day<'_>, tallies: &[PairTally]) -> Headline {
    let from = inputs.day - Duration::days(HEADLINE_DAYS);
    let days = HEADLINE_DAYS as f64;
    let (items, sources) = inputs
        .activity
        .iter()
        .filter(|activity| activity.date >= from && activity.date < inputs.day)
        .fold((0_u64, 0_u64), |(items, sources), activity| {
            (items + activity.items, sources + activity.sources)
        });
    let pairs: u64 = inputs
        .trailing
        .active_pairs_per_day(from, inputs.day)
        .values()
        .sum();
    let mut headline = Headline {
        item_count: day.reported.len() as u64,
        source_count: day
            .reported
            .iter()
            .map(|&position| day.item(position).source_count())
            .sum(),
        pair_count: tallies.len() as u64,
        item_mean_7d: items as f64 / days,
        source_mean_7d: sources as f64 / days,
        pair_mean_7d: pairs as f64 / days,
        planned_count: (day.planned.len() + inputs.planned.len()) as u64,
        background_count: day.background.len() as u64,
        text: String::new(),
    };
    headline.text = format!(
        "{} from {} on {}; over the previous {HEADLINE_DAYS} days a day averaged {} items, {} sources and {} pairs.",
        counted(headline.item_count, "reported item"),
        counted(headline.source_count, "source"),
        counted(headline.pair_count, "country pair"),
        mean(headline.item_mean_7d),
        mean(headline.source_mean_7d),
        mean(headline.pair_mean_7d),
    );
    if headline.planned_count > 0 || headline.background_count > 0 {
        headline.text.push_str(&format!(
            " Not scored: {} planned for today and the next days, {} restating background.",
            grouped(headline.planned_count),
            grouped(headline.background_count)
        ));
    }
    headline
}

/// `1 source`, `3 sources`.
pub fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", grouped(count))
    }
}

/// A daily mean: one decimal while small, whole and grouped once large (`28,571`).
fn mean(value: f64) -> String {
    if value >= 100.0 {
        grouped(value.round() as u64)
    } else {
        number(value)
    }
}

/// `200,000`: thousands grouped, as a reader reads large counts.
pub fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// The day's top reported stories: material before verbal, conflict before cooperation,
/// then the better corroborated (sources, then articles), the stronger, the newer pair. A
/// story is the rows a machine coder made of one report (see [`stories`]); it takes one line,
/// which cites its strongest row and counts the others.
fn key_developments(day: &Day<'_>, tallies: &[PairTally]) -> Vec<Line> {
    let new_pairs: HashSet<CountryPair> = tallies
        .iter()
        .filter(|tally| tally.dyad.trend == Trend::New)
        .map(|tally| tally.pair)
        .collect();
    let tier = |item: &AgendaItem| match item.quad_class() {
        QuadClass::MaterialConflict => 0,
        QuadClass::MaterialCooperation => 1,
        QuadClass::VerbalConflict => 2,
        QuadClass::VerbalCooperation => 3,
    };
    let is_new = |item: &AgendaItem| {
        item.scoring_pairs()
            .iter()
            .any(|pair| new_pairs.contains(pair))
    };
    // One key per story (a sort that called the closures per comparison cost seconds on a
    // busy day); a non-negative float's bits sort as the float does.
    use std::cmp::Reverse;
    let mut keyed: Vec<_> = stories(day)
        .into_iter()
        .map(|story| {
            let item = day.item(story.strongest);
            let key = (
                tier(item),
                Reverse(story.sources),
                Reverse(story.articles),
                Reverse(item.intensity().abs().to_bits()),
                Reverse(is_new(item)),
                story.strongest,
            );
            (key, story)
        })
        .collect();
    if keyed.len() > KEY_DEVELOPMENTS {
        keyed.select_nth_unstable_by_key(KEY_DEVELOPMENTS - 1, |(key, _)| *key);
        keyed.truncate(KEY_DEVELOPMENTS);
    }
    keyed.sort_unstable_by_key(|(key, _)| *key);
    keyed
        .into_iter()
        .map(|(_, story)| {
            let item = day.item(story.strongest);
            let mut text = quad_words(item.quad_class()).to_owned();
            let countries = item.countries();
            if !countries.is_empty() {
                text.push_str(" involving ");
                text.push_str(&join_codes(countries.iter()));
            }
            if is_new(item) {
                text.push_str(", the first activity between them in 30 days");
            }
            let mut corroboration = Vec::new();
            if story.coded {
                corroboration.push(counted(story.sources, "source"));
                corroboration.push(counted(story.articles, "article"));
            }
            if story.rows > 1 {
                corroboration.push(format!(
                    "one report coded as {} events",
                    grouped(story.rows)
                ));
            }
            if !corroboration.is_empty() {
                text.push_str(&format!(" ({})", corroboration.join(", ")));
            }
            Line {
                text,
                countries: countries.iter().map(ToString::to_string).collect(),
                score: item.intensity(),
                z_score: None,
                agenda_items: vec![day.name(story.strongest)],
                more_items: story.rows - 1,
                evidence: None,
                resources: Vec::new(),
            }
        })
        .collect()
}

/// First source URL, event type, countries.
type ReportKey<'a> = (&'a str, crate::domain::EventType, BTreeSet<CountryCode>);

/// The rows of one report as a desk reads them.
struct Story {
    /// The strongest row, which the line cites.
    strongest: usize,
    rows: u64,
    /// The best corroboration among the rows: they are one report, so their counts are not
    /// added up.
    sources: u64,
    articles: u64,
    /// Whether a machine coder counted its sources and articles (GDELT rows do).
    coded: bool,
}

/// The day's reported items grouped into stories: rows with the same first source URL, event
/// type and countries are one report coded more than once (GDELT codes an article as several
/// events, and its update files repeat them). An item without a source URL is a story of its
/// own.
fn stories(day: &Day<'_>) -> Vec<Story> {
    let mut by_report: HashMap<ReportKey<'_>, usize> = HashMap::new();
    let mut stories: Vec<Story> = Vec::new();
    for &position in &day.reported {
        let item = day.item(position);
        let (sources, articles) = item.corroboration();
        let coded = item.num_sources > 0 || item.num_articles > 0;
        let index = match item.first_source_url() {
            Some(url) => *by_report
                .entry((url, item.event_type, item.countries()))
                .or_insert(stories.len()),
            None => stories.len(),
        };
        if index == stories.len() {
            stories.push(Story {
                strongest: position,
                rows: 1,
                sources,
                articles,
                coded,
            });
            continue;
        }
        let story = &mut stories[index];
        story.rows += 1;
        story.sources = story.sources.max(sources);
        story.articles = story.articles.max(articles);
        story.coded |= coded;
        if day.strongest([story.strongest, position], 1) == [position] {
            story.strongest = position;
        }
    }
    stories
}

fn quad_words(class: QuadClass) -> &'static str {
    match class {
        QuadClass::VerbalCooperation => "Verbal cooperation",
        QuadClass::MaterialCooperation => "Material cooperation",
        QuadClass::VerbalConflict => "Verbal conflict",
        QuadClass::MaterialConflict => "Material conflict",
    }
}

fn join_codes<'a>(codes: impl Iterator<Item = &'a CountryCode>) -> String {
    codes
        .map(CountryCode::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ListAgendaItems filter for the day's items of a status forming any of `pairs`.
fn pair_evidence(
    date: NaiveDate,
    pairs: &[CountryPair],
    status: ItemStatus,
    count: usize,
) -> Evidence {
    Evidence {
        from_date: date,
        to_date: date,
        pairs: pairs.iter().map(ToString::to_string).collect(),
        context: String::new(),
        status: status.code().to_owned(),
        item_count: count as u64,
    }
}

/// A line citing the strongest `cite` of `positions`, the rest counted.
fn cited_line(day: &Day<'_>, positions: &[usize], cite: usize, text: String) -> Line {
    let strongest = day.strongest(positions.iter().copied(), cite);
    Line {
        text,
        countries: Vec::new(),
        score: 0.0,
        z_score: None,
        more_items: (positions.len() - strongest.len()) as u64,
        agenda_items: day.names(&strongest),
        evidence: None,
        resources: Vec::new(),
    }
}

/// Configured alliances, other cooperation, and alignments to watch.
fn cooperation(
    day: &Day<'_>,
    tallies: &[PairTally],
    side: &Side,
    alliance_pairs: &HashSet<CountryPair>,
) -> (Vec<Line>, Vec<Line>, Vec<Line>) {
    let by_pair: HashMap<CountryPair, &PairTally> =
        tallies.iter().map(|tally| (tally.pair, tally)).collect();
    let mut alliances = Vec::new();
    for alliance in &side.alliances {
        let pairs = member_pairs(&alliance.members);
        let members: BTreeSet<CountryCode> = alliance.members.iter().copied().collect();
        let codes = join_codes(members.iter()).replace(", ", "–");
        let mut positions: Vec<usize> = pairs
            .iter()
            .filter_map(|pair| by_pair.get(pair))
            .flat_map(|tally| tally.positions.iter().copied())
            .collect();
        positions.sort_unstable();
        positions.dedup();
        if positions.is_empty() {
            // Nothing scored: say what is planned for the day, if anything.
            let planned: Vec<usize> = day
                .planned
                .iter()
                .copied()
                .filter(|&position| forms_any(day.item(position), &pairs))
                .collect();
            if planned.is_empty() {
                continue;
            }
            let mut line = cited_line(
                day,
                &planned,
                ALLIANCE_ITEMS,
                format!(
                    "{} ({codes}): nothing reported; {} planned for the day",
                    alliance.name,
                    counted(planned.len() as u64, "item")
                ),
            );
            line.countries = members.iter().map(ToString::to_string).collect();
            line.evidence = Some(pair_evidence(
                day.date,
                &pairs,
                ItemStatus::Planned,
                planned.len(),
            ));
            alliances.push(line);
            continue;
        }
        // Each item once, however many of the alliance's pairs it forms.
        let (cooperation, conflict) = positions.iter().fold((0.0, 0.0), |(up, down), &position| {
            let intensity = day.item(position).intensity();
            (up + intensity.max(0.0), down + (-intensity).max(0.0))
        });
        let net = cooperation - conflict;
        let mut text = format!(
            "{} ({codes}): net {} from {} (cooperation {}, conflict {})",
            alliance.name,
            signed(net),
            counted(positions.len() as u64, "item"),
            number(cooperation),
            number(conflict),
        );
        if members.len() > 2 {
            let joint = positions
                .iter()
                .filter(|&&position| {
                    let item = day.item(position);
                    members.iter().all(|member| {
                        item.actors
                            .iter()
                            .chain(&item.recipients)
                            .any(|actor| actor.country() == *member)
                    })
                })
                .count();
            if joint > 0 {
                text.push_str(&format!(
                    ", {} naming every member",
                    counted(joint as u64, "item")
                ));
            }
        }
        let mut line = cited_line(day, &positions, ALLIANCE_ITEMS, text);
        line.countries = members.iter().map(ToString::to_string).collect();
        line.score = net;
        line.evidence = Some(pair_evidence(
            day.date,
            &pairs,
            ItemStatus::Reported,
            positions.len(),
        ));
        alliances.push(line);
    }
    sort_by_score(&mut alliances);
    alliances.truncate(ALLIANCE_LINES);

    let rivals: HashSet<CountryCode> = side.rivals.iter().copied().collect();
    let is_alignment = |pair: CountryPair| {
        let (a, b) = (pair.first(), pair.second());
        (rivals.contains(&a) || rivals.contains(&b))
            && a != side.perspective
            && b != side.perspective
    };
    let mut others = Vec::new();
    let mut alignments = Vec::new();
    for tally in tallies.iter().filter(|tally| tally.dyad.net > 0.0) {
        if is_alignment(tally.pair) {
            alignments.push(dyad_line(day, tally, tally.dyad.cooperation));
        } else if !alliance_pairs.contains(&tally.pair) {
            others.push(dyad_line(day, tally, tally.dyad.net));
        }
    }
    sort_by_score(&mut others);
    others.truncate(OTHER_COOPERATION);
    sort_by_score(&mut alignments);
    alignments.truncate(ALIGNMENTS);
    // Cooperation a source restates as background: not scored, but a desk watches it. The
    // line counts every background item of the pair, as its evidence lists them.
    let mut restated: HashMap<CountryPair, Vec<usize>> = HashMap::new();
    for &position in &day.background {
        for pair in crate::domain::pairs(day.item(position)) {
            if is_alignment(pair) {
                restated.entry(pair).or_default().push(position);
            }
        }
    }
    let mut restated: Vec<(CountryPair, f64, Vec<usize>)> = restated
        .into_iter()
        .map(|(pair, positions)| {
            let cooperation = positions
                .iter()
                .map(|&position| day.item(position).intensity().max(0.0))
                .sum();
            (pair, cooperation, positions)
        })
        .filter(|(_, cooperation, _)| *cooperation > 0.0)
        .collect();
    restated.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (pair, cooperation, positions) in restated.into_iter().take(RESTATED_ALIGNMENTS) {
        let cooperative: Vec<usize> = positions
            .iter()
            .copied()
            .filter(|&position| day.item(position).intensity() > 0.0)
            .collect();
        let mut line = cited_line(
            day,
            &cooperative,
            CITED_PER_LINE,
            format!(
                "{}: cooperation {} restated as background ({}, not scored)",
                pair.label(),
                number(cooperation),
                counted(positions.len() as u64, "item")
            ),
        );
        line.more_items = (positions.len() - line.agenda_items.len()) as u64;
        line.countries = vec![pair.first().to_string(), pair.second().to_string()];
        line.evidence = Some(pair_evidence(
            day.date,
            &[pair],
            ItemStatus::Background,
            positions.len(),
        ));
        alignments.push(line);
    }
    (alliances, others, alignments)
}

fn forms_any(item: &AgendaItem, pairs: &[CountryPair]) -> bool {
    crate::domain::pairs(item)
        .iter()
        .any(|pair| pairs.contains(pair))
}

/// A line about one pair: its figures, its trend in words, its strongest items.
fn dyad_line(day: &Day<'_>, tally: &PairTally, score: f64) -> Line {
    let dyad = &tally.dyad;
    let text = format!(
        "{}: net {} from {} (cooperation {}, conflict {}); {}",
        tally.pair.label(),
        signed(dyad.net),
        counted(dyad.item_count, "item"),
        number(dyad.cooperation),
        number(dyad.conflict),
        trend_words(dyad),
    );
    let mut line = cited_line(day, &tally.positions, CITED_PER_LINE, text);
    line.countries = dyad.countries.to_vec();
    line.score = score;
    line.z_score = dyad.z_score;
    line.evidence = Some(pair_evidence(
        day.date,
        &[tally.pair],
        ItemStatus::Reported,
        tally.positions.len(),
    ));
    line
}

/// "new pair", "rare: active on 3 of the previous 30 days", "3.1σ below its 30-day mean of +1.2".
pub fn trend_words(dyad: &super::model::Dyad) -> String {
    match (dyad.trend, dyad.z_score) {
        (Trend::New, _) => "a new pair: no activity in the previous 30 days".to_owned(),
        (Trend::Rare, _) => format!(
            "rare: active on {} of the previous 30 days, too few for a trend",
            dyad.active_days
        ),
        (Trend::Measured, None) => format!(
            "steady: the same net every day of the previous 30 (mean {})",
            signed(dyad.trailing_mean)
        ),
        (Trend::Measured, Some(z)) => format!(
            "{}σ {} its 30-day mean of {}",
            number(z.abs()),
            if z >= 0.0 { "above" } else { "below" },
            signed(dyad.trailing_mean)
        ),
    }
}

/// The pairs with the most conflict, those whose conflict rose most, and the contexts.
fn tensions(day: &Day<'_>, tallies: &[PairTally]) -> Vec<Line> {
    let mut by_conflict: Vec<&PairTally> = tallies
        .iter()
        .filter(|tally| tally.dyad.conflict > 0.0)
        .collect();
    by_conflict.sort_by(|a, b| {
        b.dyad
            .conflict
            .total_cmp(&a.dyad.conflict)
            .then_with(|| a.pair.cmp(&b.pair))
    });
    let mut lines: Vec<Line> = by_conflict
        .iter()
        .take(TENSION_PAIRS)
        .map(|tally| dyad_line(day, tally, tally.dyad.conflict))
        .collect();
    let listed: HashSet<CountryPair> = by_conflict
        .iter()
        .take(TENSION_PAIRS)
        .map(|tally| tally.pair)
        .collect();
    let mut rising: Vec<&PairTally> = tallies
        .iter()
        .filter(|tally| {
            tally.dyad.conflict > 0.0
                && !listed.contains(&tally.pair)
                && tally.dyad.z_score.is_some_and(|z| z <= RISING_Z)
        })
        .collect();
    rising.sort_by(|a, b| {
        a.dyad
            .z_score
            .unwrap_or(0.0)
            .total_cmp(&b.dyad.z_score.unwrap_or(0.0))
            .then_with(|| a.pair.cmp(&b.pair))
    });
    for tally in rising.into_iter().take(RISING_PAIRS) {
        let mut line = dyad_line(day, tally, tally.dyad.conflict);
        line.text = format!("Rising: {}", line.text);
        lines.push(line);
    }
    // Each context's conflict, each item once.
    #[derive(Default)]
    struct ContextTally {
        conflict: f64,
        hostile: Vec<usize>,
        items: usize,
    }
    let mut by_context: Vec<ContextTally> = (0..day.contexts.len())
        .map(|_| ContextTally::default())
        .collect();
    for &position in &day.reported {
        let hostility = (-day.item(position).intensity()).max(0.0);
        for &id in day.context_ids(position) {
            let tally = &mut by_context[id as usize];
            tally.conflict += hostility;
            tally.items += 1;
            if hostility > 0.0 {
                tally.hostile.push(position);
            }
        }
    }
    let mut contexts: Vec<(&str, ContextTally)> = day
        .contexts
        .iter()
        .copied()
        .zip(by_context)
        .filter(|(_, tally)| tally.conflict > 0.0)
        .collect();
    contexts.sort_by(|a, b| {
        b.1.conflict
            .total_cmp(&a.1.conflict)
            .then_with(|| a.0.cmp(b.0))
    });
    for (context, tally) in contexts.into_iter().take(TENSION_CONTEXTS) {
        let mut line = cited_line(
            day,
            &tally.hostile,
            CITED_PER_LINE,
            format!(
                "Context {context}: conflict {} from {} ({} in the context)",
                number(tally.conflict),
                counted(tally.hostile.len() as u64, "hostile item"),
                tally.items
            ),
        );
        line.more_items = (tally.items - line.agenda_items.len()) as u64;
        line.score = tally.conflict;
        line.evidence = Some(Evidence {
            from_date: day.date,
            to_date: day.date,
            pairs: Vec::new(),
            context: context.to_owned(),
            status: ItemStatus::Reported.code().to_owned(),
            item_count: tally.items as u64,
        });
        lines.push(line);
    }
    lines
}

fn sort_by_score(lines: &mut [Line]) {
    lines.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.text.cmp(&b.text))
    });
}
