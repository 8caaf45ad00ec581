//! Field-level validation failures, collected so a client learns every bad field at once,
//! within bounds: a hostile request must not turn its errors into a megabyte answer or log line.

use std::fmt;

/// Violations kept per input (AIP-193 asks for bounded details); the rest are only counted.
pub const MAX_VIOLATIONS: usize = 50;
/// Characters of a client's value an error shows back before it is cut with an ellipsis.
pub const MAX_ECHO_CHARS: usize = 200;
/// Characters of one description: an echoed value, the explanation and some room.
const MAX_DESCRIPTION_CHARS: usize = 2 * MAX_ECHO_CHARS + 200;

/// One bad field: its path as the client wrote it (`trip.legs[0].country`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Every problem found in one input. Empty means the input was valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations {
    items: Vec<FieldViolation>,
    /// Violations found past [`MAX_VIOLATIONS`]: counted, not kept.
    omitted: usize,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = Self::new();
        violations.add(field, description);
        violations
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        if self.items.len() >= MAX_VIOLATIONS {
            self.omitted += 1;
            return;
        }
        self.items.push(FieldViolation {
            field: truncate(field.into(), MAX_ECHO_CHARS),
            description: truncate(description.into(), MAX_DESCRIPTION_CHARS),
        });
    }

    /// Records that `field` has `count` entries where `max` are allowed, and says whether it
    /// did: a list that is too long is refused before any of its entries is parsed.
    pub fn too_many(&mut self, field: &str, noun: &str, count: usize, max: usize) -> bool {
        if count <= max {
            return false;
        }
        self.add(field, format!("at most {max} {noun}, got {count}"));
        true
    }

    /// Records the error of `parsed` under `field` and hands back the value, if any.
    pub fn check<T>(&mut self, field: impl Into<String>, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(description) => {
                self.add(field, description);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many violations were found beyond the [`MAX_VIOLATIONS`] kept.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    pub fn items(&self) -> &[FieldViolation] {
        &self.items
    }

    /// Prefixes every field path, e.g. `legs[0].city` becomes `trip.legs[0].city`.
    pub fn within(self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        Self {
            items: self
                .items
                .into_iter()
                .map(|violation| FieldViolation {
                    field: join_path(prefix, &violation.field),
                    description: violation.description,
                })
                .collect(),
            omitted: self.omitted,
        }
    }

    /// `Ok(value)` when nothing was recorded, the violations otherwise.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Violations> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// `prefix.field`, or `prefix[0]` when the field is an index.
pub fn join_path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else if field.is_empty() {
        prefix.to_owned()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, violation) in self.items.iter().enumerate() {
            if position > 0 {
                formatter.write_str("; ")?;
            }
            write!(formatter, "{}: {}", violation.field, violation.description)?;
        }
        if self.omitted > 0 {
            write!(formatter, "; and {} more", self.omitted)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// A client's value as an error shows it: quoted, cut after [`MAX_ECHO_CHARS`] characters.
pub fn echo(raw: &str) -> Echo<'_> {
    Echo(raw)
}

pub struct Echo<'a>(&'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_ECHO_CHARS) {
            None => write!(formatter, "{:?}", self.0),
            Some((cut, _)) => {
                let shown = format!("{:?}", &self.0[..cut]);
                // The opening quote and the text, then the ellipsis inside the closing quote.
                write!(formatter, "{}…\"", &shown[..shown.len() - 1])
            }
        }
    }
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_echoed_cut_with_an_ellipsis() {
        let long = "x".repeat(10_000);
        let shown = echo(&long).to_string();
        assert_eq!(shown, format!("\"{}…\"", "x".repeat(MAX_ECHO_CHARS)));
        assert_eq!(echo("short").to_string(), "\"short\"");
    }

    #[test]
    fn violations_past_the_limit_are_counted_not_kept() {
        let mut violations = Violations::new();
        for position in 0..MAX_VIOLATIONS + 7 {
            violations.add(format!("participants[{position}]"), "bad");
        }
        assert_eq!(violations.items().len(), MAX_VIOLATIONS);
        assert_eq!(violations.omitted(), 7);
        assert!(violations.to_string().ends_with("; and 7 more"));
    }

    #[test]
    fn overlong_descriptions_are_cut() {
        let violations = Violations::single("title", "y".repeat(1_000_000));
        let description = &violations.items()[0].description;
        assert!(description.chars().count() <= MAX_DESCRIPTION_CHARS + 1);
        assert!(description.ends_with('…'));
    }
}
