//! Full-text queries as a person types them: words, "quoted phrases" and prefix*; all must match.
//! Parsed once into terms that each backend renders in its own syntax, so user input never
//! reaches a MATCH or tsquery parser raw.

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

/// One word, or several in a row (a phrase); `prefix` lets the last word match any ending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    pub words: Vec<String>,
    pub prefix: bool,
}

const MAX_QUERY_CHARS: usize = 500;
const MAX_TERMS: usize = 32;

impl SearchQuery {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("must be at most {MAX_QUERY_CHARS} characters"));
        }
        let mut terms = Vec::new();
        for (position, chunk) in raw.split('"').enumerate() {
            let inside_quotes = position % 2 == 1;
            if inside_quotes {
                let words = words_of(chunk);
                if !words.is_empty() {
                    terms.push(Term {
                        words,
                        prefix: false,
                    });
                }
            } else {
                for token in chunk.split_whitespace() {
                    let prefix = token.ends_with('*');
                    let words = words_of(token);
                    if !words.is_empty() {
                        terms.push(Term { words, prefix });
                    }
                }
            }
        }
        if terms.is_empty() {
            return Err("has no words to search for".into());
        }
        if terms.len() > MAX_TERMS {
            return Err(format!("at most {MAX_TERMS} terms, got {}", terms.len()));
        }
        Ok(Self { terms })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// FTS5 syntax: every term a quoted string, so no user input is read as an operator.
    pub fn to_fts5(&self) -> String {
        self.terms
            .iter()
            .map(|term| {
                let phrase = format!("\"{}\"", term.words.join(" "));
                if term.prefix {
                    format!("{phrase}*")
                } else {
                    phrase
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

impl SearchQuery {
    /// PostgreSQL tsquery syntax: words are letters and digits only, so quoting them is safe;
    /// a phrase's words must follow each other (`<->`), a prefix term ends in `:*`.
    pub fn to_tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|term| {
                let phrase = term
                    .words
                    .iter()
                    .map(|word| format!("'{word}'"))
                    .collect::<Vec<_>>()
                    .join(" <-> ");
                if term.prefix {
                    format!("{phrase}:*")
                } else {
                    phrase
                }
            })
            .map(|phrase| format!("({phrase})"))
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// The letters-and-digits runs of a chunk, lowercased.
fn words_of(chunk: &str) -> Vec<String> {
    chunk
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_never_passed_through() {
        let query =
            SearchQuery::parse(r#"alliance "extended deterrence" milit* OR NEAR("#).unwrap();
        assert_eq!(
            query.to_fts5(),
            r#""alliance" AND "extended deterrence" AND "milit"* AND "or" AND "near""#
        );
        assert!(SearchQuery::parse("  \"\" ** ").is_err());
        assert_eq!(
            SearchQuery::parse("Indo-Pacific").unwrap().to_fts5(),
            r#""indo pacific""#
        );
    }
}
