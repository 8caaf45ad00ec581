//! Markdown rendering. Deterministic: fixed number formats, sections in a fixed order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::model::{Digest, Line};
use crate::domain::values::format_date;

pub fn render(digest: &Digest) -> String {
    let mut markdown = String::new();
    let kind = capitalize(&digest.kind);
    let _ = writeln!(
        markdown,
        "# {kind} digest — {} ({})",
        format_date(digest.date),
        digest.time_zone
    );
    let _ = writeln!(
        markdown,
        "\n{} agenda item{} on this day; {} country pair{} active.",
        digest.item_count,
        if digest.item_count == 1 { "" } else { "s" },
        digest.dyads.len(),
        if digest.dyads.len() == 1 { "" } else { "s" },
    );
    section(
        &mut markdown,
        "Alliances",
        &digest.alliances,
        "No cooperation recorded.",
    );
    section(
        &mut markdown,
        "Tensions",
        &digest.tensions,
        "No conflict recorded.",
    );
    section(
        &mut markdown,
        "Leadership",
        &digest.leadership,
        "No changes recorded.",
    );
    section(
        &mut markdown,
        "Travel",
        &digest.travel,
        "No trips in progress or starting within 7 days.",
    );
    if !digest.dyads.is_empty() {
        markdown.push_str("\n## Country pairs\n\n| Pair | Cooperation | Conflict | Net | 30-day mean | z | Items |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for dyad in &digest.dyads {
            let _ = writeln!(
                markdown,
                "| {} | {} | {} | {} | {} | {} | {} |",
                dyad.label(),
                number(dyad.cooperation),
                number(dyad.conflict),
                signed(dyad.net),
                signed(dyad.trailing_mean),
                dyad.z_score.map_or_else(|| "–".to_owned(), signed),
                dyad.agenda_items.len()
            );
        }
    }
    markdown
}

fn section(markdown: &mut String, heading: &str, lines: &[Line], empty: &str) {
    let _ = writeln!(markdown, "\n## {heading}\n");
    if lines.is_empty() {
        let _ = writeln!(markdown, "_{empty}_");
        return;
    }
    for line in lines {
        let sources: Vec<&str> = line
            .agenda_items
            .iter()
            .chain(&line.resources)
            .map(String::as_str)
            .collect();
        let _ = writeln!(markdown, "- {} [{}]", line.text, sources.join(", "));
    }
}

/// `+2.5`, `-9.0`, `0.0`: one decimal, never `-0.0`.
pub fn signed(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "0.0".to_owned()
    } else if rounded > 0.0 {
        format!("+{rounded:.1}")
    } else {
        format!("{rounded:.1}")
    }
}

fn number(value: f64) -> String {
    signed(value).trim_start_matches('+').to_owned()
}

/// The items' titles, in name order, separated by semicolons.
pub fn title_list(names: &BTreeSet<String>, titles: &BTreeMap<&str, &str>) -> String {
    names
        .iter()
        .map(|name| titles.get(name.as_str()).copied().unwrap_or(name.as_str()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}
