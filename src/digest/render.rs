//! Markdown rendering: deterministic (fixed number formats, sections in a fixed order) and
//! bounded: whatever the day holds, the text stays under [`MARKDOWN_BUDGET`].

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use super::compile::grouped;
use super::model::{CitedItem, Digest, Dyad, Evidence, Line};
use super::people::shortened;
use crate::domain::values::format_date;

/// The Markdown stays under 64 KiB; this leaves room for the closing note.
pub const MARKDOWN_BUDGET: usize = 62 * 1024;
/// Pairs the Markdown's table shows; the rest are in the `dyads` sub-collection.
const TABLE_PAIRS: usize = 10;
/// A title as the Markdown quotes it.
const TITLE_CHARS: usize = 160;

pub fn render(digest: &Digest, dyads: &[Dyad]) -> String {
    let mut markdown = String::with_capacity(16 * 1024);
    let name = digest.name().to_string();
    let _ = writeln!(
        markdown,
        "# {} digest — {} ({}), from the {} side\n\n{}",
        capitalize(&digest.kind),
        format_date(digest.date),
        digest.time_zone,
        digest.perspective,
        escape(&digest.headline.text)
    );
    let items: HashMap<&str, &CitedItem> = digest
        .items
        .iter()
        .map(|item| (item.name.as_str(), item))
        .collect();
    let mut printed: HashSet<&str> = HashSet::new();
    let mut left_out = 0;
    for (heading, lines) in digest.sections() {
        let _ = writeln!(markdown, "\n## {heading}\n");
        if lines.is_empty() {
            let _ = writeln!(markdown, "_{}_", empty_words(heading));
            continue;
        }
        for (index, line) in lines.iter().enumerate() {
            let bullet = if heading == "Key developments" {
                format!("{}. ", index + 1)
            } else {
                "- ".to_owned()
            };
            let mut printing = printed.clone();
            let text = line_text(line, &items, &mut printing);
            if markdown.len() + bullet.len() + text.len() + 1 > MARKDOWN_BUDGET {
                left_out += 1;
                continue;
            }
            printed = printing;
            markdown.push_str(&bullet);
            markdown.push_str(&text);
            markdown.push('\n');
        }
    }
    if !dyads.is_empty() {
        let mut table = String::from(
            "\n## Country pairs\n\n| Pair | Cooperation | Conflict | Net | Trend | Items |\n|---|---:|---:|---:|---|---:|\n",
        );
        for dyad in dyads.iter().take(TABLE_PAIRS) {
            let trend = match dyad.z_score {
                Some(z) => format!("z {}", signed(z)),
                None => dyad.trend.code().to_owned(),
            };
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {trend} | {} |",
                dyad.label(),
                number(dyad.cooperation),
                number(dyad.conflict),
                signed(dyad.net),
                dyad.item_count
            );
        }
        if dyads.len() > TABLE_PAIRS {
            let _ = writeln!(
                table,
                "\n{} more pairs: ListDigestDyads with parent `{name}`.",
                grouped((dyads.len() - TABLE_PAIRS) as u64)
            );
        }
        if markdown.len() + table.len() <= MARKDOWN_BUDGET {
            markdown.push_str(&table);
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            markdown,
            "\n_{left_out} more lines did not fit this text: GetDigest `{name}` (view FULL) has them all._"
        );
    }
    markdown
}

fn empty_words(heading: &str) -> &'static str {
    match heading {
        "Key developments" => "Nothing reported.",
        "Alliances" => "No alliance or partner activity reported.",
        "Tensions" => "No conflict reported.",
        "Alignments to watch" => "No cooperation involving rivals reported.",
        "Leadership" => {
            "No acting or suspended office holders, and no changes, in the countries of the day."
        }
        "Travel" => "No trips in progress.",
        _ => "Nothing planned in the next 7 days.",
    }
}

/// "{text}: {items}; and N more ({how to list them})".
fn line_text<'a>(
    line: &Line,
    items: &HashMap<&str, &'a CitedItem>,
    printed: &mut HashSet<&'a str>,
) -> String {
    let mut text = escape(&line.text);
    let mut cited = Vec::new();
    for name in &line.agenda_items {
        let Some(item) = items.get(name.as_str()) else {
            continue;
        };
        if printed.insert(item.name.as_str()) {
            cited.push(item_in_full(item));
        } else {
            cited.push(format!(
                "*{}* (above)",
                escape(&shortened(&item.title, TITLE_CHARS))
            ));
        }
    }
    if !cited.is_empty() {
        text.push_str(": ");
        text.push_str(&cited.join("; "));
    }
    if line.more_items > 0 && !line.agenda_items.is_empty() {
        let _ = write!(text, "; and {} more", grouped(line.more_items));
        if let Some(evidence) = &line.evidence {
            let _ = write!(text, " ({})", evidence_words(evidence));
        }
    }
    text
}

/// An item as printed the first time: title, parties, type, status and source.
fn item_in_full(item: &CitedItem) -> String {
    let mut text = format!("*{}* (", escape(&shortened(&item.title, TITLE_CHARS)));
    if !item.actors.is_empty() || !item.recipients.is_empty() {
        let _ = write!(
            text,
            "{} → {}, ",
            item.actors.join(" "),
            item.recipients.join(" ")
        );
    }
    let _ = write!(text, "{} {}", item.event_type, signed(item.intensity));
    match item.status.as_str() {
        "PLANNED" => {
            let _ = write!(text, ", planned for {}", format_date(item.date));
        }
        "BACKGROUND" => text.push_str(", background"),
        _ => {}
    }
    if item.hedged {
        text.push_str(", reportedly");
    }
    text.push_str("; ");
    match item.sources.first() {
        None => text.push_str("no source given"),
        Some(source) => {
            let outlet = if !source.publisher.is_empty() {
                escape(&shortened(&source.publisher, 80))
            } else if let Some(host) = url::Url::parse(&source.url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
            {
                host
            } else {
                "outlet not given".to_owned()
            };
            text.push_str(&outlet);
            if let Some(day) = source.published_time.get(..10) {
                let _ = write!(text, ", {day}");
            }
            if item.source_count > 1 {
                let _ = write!(
                    text,
                    ", and {} more sources",
                    grouped(item.source_count - 1)
                );
            }
        }
    }
    let _ = write!(text, ") `{}`", item.name);
    text
}

/// The ListAgendaItems fields that list a line's evidence.
fn evidence_words(evidence: &Evidence) -> String {
    let mut words = vec![if evidence.from_date == evidence.to_date {
        format!("date {}", format_date(evidence.from_date))
    } else {
        format!(
            "from {} to {}",
            format_date(evidence.from_date),
            format_date(evidence.to_date)
        )
    }];
    if !evidence.pairs.is_empty() {
        words.push(format!("pairs {}", evidence.pairs.join(",")));
    }
    if !evidence.context.is_empty() {
        words.push(format!("context {}", evidence.context));
    }
    words.push(format!("status {}", evidence.status));
    format!("ListAgendaItems {}", words.join(", "))
}

/// Stored text as Markdown that prints it as it is, whoever wrote it: the characters Markdown
/// reads as markup are backslashed (emphasis, code, links and images, raw HTML and entities,
/// tables, headings, strikethrough), a list or quote marker at the start is defused, and line
/// breaks become spaces, so a title cannot end its line and start a heading or a list of its
/// own.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 8);
    let mut characters = text.chars().peekable();
    let mut at_start = true;
    while let Some(character) = characters.next() {
        if matches!(character, '\n' | '\r' | '\t') {
            escaped.push(' ');
            continue;
        }
        let markup = matches!(
            character,
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!'
        );
        // `- x`, `+ x` and `= x` open a list or underline a heading only at a line's start.
        let marker = at_start && matches!(character, '-' | '+' | '=');
        if markup || marker {
            escaped.push('\\');
        }
        escaped.push(character);
        // `1. x` and `1) x` open an ordered list: the digits stay, the dot is backslashed.
        if at_start && character.is_ascii_digit() {
            while let Some(digit) = characters.next_if(char::is_ascii_digit) {
                escaped.push(digit);
            }
            if let Some(mark) = characters.next_if(|next| matches!(next, '.' | ')')) {
                escaped.push('\\');
                escaped.push(mark);
            }
        }
        at_start = false;
    }
    escaped
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

/// `2.5`, one decimal, no sign.
pub fn number(value: f64) -> String {
    signed(value).trim_start_matches('+').to_owned()
}

fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_stored_text_prints_as_text() {
        assert_eq!(
            escape("**Alert** [click](https://evil.example) <img src=x> ![i](y) ~~no~~ &amp; `x`"),
            "\\*\\*Alert\\*\\* \\[click\\](https://evil.example) \\<img src=x\\> \\!\\[i\\](y) \\~\\~no\\~\\~ \\&amp; \\`x\\`"
        );
    }

    #[test]
    fn a_title_cannot_open_a_heading_list_or_table_of_its_own() {
        assert_eq!(
            escape("Talks\n# Breaking\n| a |"),
            "Talks \\# Breaking \\| a \\|"
        );
        assert_eq!(escape("- nested"), "\\- nested");
        assert_eq!(escape("+ nested"), "\\+ nested");
        assert_eq!(escape("1945. A year"), "1945\\. A year");
        assert_eq!(escape("3) three"), "3\\) three");
        assert_eq!(escape("> quoted"), "\\> quoted");
        // Inside a line the same characters are plain text and stay as they are.
        assert_eq!(
            escape("Blinken-Cho talks, 2025. Day 1"),
            "Blinken-Cho talks, 2025. Day 1"
        );
    }
}
