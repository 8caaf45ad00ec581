//! Full-text queries as a person types them: words, "quoted phrases" and prefix*; all must match.
//! Parsed once, here, into terms; the store renders them in each backend's syntax, so user
//! input never reaches a MATCH or tsquery parser raw.

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
    fn words_phrases_and_prefixes_are_terms() {
        let query = SearchQuery::parse(r#"alliance "extended deterrence" milit*"#).unwrap();
        let terms: Vec<(Vec<&str>, bool)> = query
            .terms()
            .iter()
            .map(|term| (term.words.iter().map(String::as_str).collect(), term.prefix))
            .collect();
        assert_eq!(
            terms,
            [
                (vec!["alliance"], false),
                (vec!["extended", "deterrence"], false),
                (vec!["milit"], true)
            ]
        );
        assert!(SearchQuery::parse("  \"\" ** ").is_err());
    }
}
