//! Markdown rendering. Deterministic: fixed number formats, sections in a fixed order.

use std::fmt::Write as _;

use super::model::{Digest, Line};
use crate::domain::values::format_date;

pub fn render(digest: &Digest) -> String {
    // Sized up front: the lines and the names they cite are nearly all of it.
    let cited: usize = [
        &digest.alliances,
        &digest.tensions,
        &digest.leadership,
        &digest.travel,
    ]
    .iter()
    .flat_map(|lines| lines.iter())
    .map(|line| {
        line.text.len()
            + line
                .agenda_items
                .iter()
                .chain(&line.resources)
                .map(|source| source.len() + 2)
                .sum::<usize>()
            + 8
    })
    .sum();
    let mut markdown = String::with_capacity(cited + digest.dyads.len() * 96 + 1024);
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
        // "- {text} [{sources, comma-separated}]", written in place: a busy day's lines name
        // hundreds of thousands of items.
        markdown.push_str("- ");
        markdown.push_str(&line.text);
        markdown.push_str(" [");
        for (index, source) in line.agenda_items.iter().chain(&line.resources).enumerate() {
            if index > 0 {
                markdown.push_str(", ");
            }
            markdown.push_str(source);
        }
        markdown.push_str("]\n");
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

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}
