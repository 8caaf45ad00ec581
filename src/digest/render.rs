//! Markdown rendering. A stand-in until the briefing compiler lands: the headline and the
//! sections' lines.

use std::fmt::Write as _;

use super::model::Digest;
use crate::domain::values::format_date;

pub fn render(digest: &Digest) -> String {
    let mut markdown = String::new();
    let _ = writeln!(
        markdown,
        "# {} digest — {} ({}, from {})\n\n{}",
        digest.kind,
        format_date(digest.date),
        digest.time_zone,
        digest.perspective,
        digest.headline.text
    );
    for (heading, lines) in digest.sections() {
        let _ = writeln!(markdown, "\n## {heading}\n");
        for line in lines {
            let _ = writeln!(markdown, "- {}", line.text);
        }
    }
    markdown
}
