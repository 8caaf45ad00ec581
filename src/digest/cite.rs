//! The items a digest prints: each once, in the order the sections first cite it.

use std::collections::{HashMap, HashSet};

use super::day::{Day, resource_name};
use super::model::{CitedItem, CitedSource, Compiled, Digest};
use crate::domain::AgendaItem;
use crate::domain::Stored;
use crate::domain::source::Source;

/// Sources a cited item carries: the first. The item itself keeps them all.
const CITED_SOURCES: usize = 1;
/// What the cited items may take of the digest message (under 1 MiB in all): past it, an item
/// is cited without its source and with a shortened title. Reached only by items written at
/// every field's maximum length.
const CITED_BUDGET: usize = 640 * 1024;
/// A title past the budget.
const SHORT_TITLE_CHARS: usize = 160;

pub fn cited_items(
    digest: &Digest,
    day: &Day<'_>,
    planned: &[Stored<AgendaItem>],
) -> Vec<CitedItem> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut order: Vec<&str> = Vec::new();
    for (_, lines) in digest.sections() {
        for name in lines.iter().flat_map(|line| &line.agenda_items) {
            if seen.insert(name.as_str()) {
                order.push(name.as_str());
            }
        }
    }
    let planned: HashMap<String, &AgendaItem> = planned
        .iter()
        .map(|stored| (resource_name(stored), &stored.value))
        .collect();
    let mut used = 0;
    order
        .into_iter()
        .filter_map(|name| {
            let item = day
                .items
                .binary_search_by(|entry| {
                    entry
                        .id
                        .as_str()
                        .cmp(name.strip_prefix("agendaItems/").unwrap_or(name))
                })
                .ok()
                .map(|position| day.item(position))
                .or_else(|| planned.get(name).copied())?;
            let mut cited = cited(name, item);
            fit(&mut cited, &mut used);
            Some(cited)
        })
        .collect()
}

/// About what a cited item takes in the message (its text; numbers and tags are small).
fn size(item: &CitedItem) -> usize {
    item.name.len()
        + item.title.len()
        + item
            .actors
            .iter()
            .chain(&item.recipients)
            .map(|code| code.len() + 2)
            .sum::<usize>()
        + item
            .sources
            .iter()
            .map(|source| source.publisher.len() + source.url.len() + source.published_time.len())
            .sum::<usize>()
        + 48
}

/// The cited items read without their titles and sources (see `Store::digest_items`): their
/// names, to be read again in full.
pub fn needing_full_items(compiled: &Compiled) -> Vec<String> {
    compiled
        .digest
        .items
        .iter()
        .filter(|item| item.title.is_empty())
        .map(|item| item.name.clone())
        .collect()
}

/// Cites `full` items (read in full) in place of their lean reading, keeping the byte budget,
/// and renders the Markdown again.
pub fn cite_in_full(compiled: &mut Compiled, full: &[Stored<AgendaItem>]) {
    let full: HashMap<String, &AgendaItem> = full
        .iter()
        .map(|stored| (resource_name(stored), &stored.value))
        .collect();
    let mut used = 0;
    for item in &mut compiled.digest.items {
        if let Some(value) = full.get(&item.name) {
            *item = cited(&item.name, value);
        }
        fit(item, &mut used);
    }
    compiled.digest.markdown = super::render::render(&compiled.digest, &compiled.dyads);
}

/// Keeps the cited items within [`CITED_BUDGET`].
fn fit(item: &mut CitedItem, used: &mut usize) {
    if *used + size(item) > CITED_BUDGET {
        item.sources.clear();
        item.title = super::people::shortened(&item.title, SHORT_TITLE_CHARS);
    }
    *used += size(item);
}

fn cited(name: &str, item: &AgendaItem) -> CitedItem {
    CitedItem {
        name: name.to_owned(),
        title: item.title.clone(),
        date: item.date,
        status: item.status.code().to_owned(),
        hedged: item.hedged,
        event_type: item.event_type.code().to_owned(),
        intensity: item.intensity(),
        actors: item.actors.iter().map(ToString::to_string).collect(),
        recipients: item.recipients.iter().map(ToString::to_string).collect(),
        sources: item
            .sources
            .iter()
            .take(CITED_SOURCES)
            .map(cited_source)
            .collect(),
        source_count: item.source_count(),
    }
}

fn cited_source(source: &Source) -> CitedSource {
    CitedSource {
        publisher: source.publisher.clone(),
        url: source
            .url
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        published_time: source
            .published_time
            .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default(),
    }
}
