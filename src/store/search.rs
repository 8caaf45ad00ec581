//! Full-text queries ([`SearchQuery`], parsed from client input in the domain) in each
//! backend's syntax: FTS5 for SQLite, tsquery for PostgreSQL. Every term is quoted, so no
//! user input is read as an operator.

use crate::domain::SearchQuery;

impl SearchQuery {
    /// FTS5 syntax: every term a quoted string, so no user input is read as an operator.
    pub fn to_fts5(&self) -> String {
        self.terms()
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

    /// PostgreSQL tsquery syntax: words are letters and digits only, so quoting them is safe;
    /// a phrase's words must follow each other (`<->`), a prefix term ends in `:*`.
    pub fn to_tsquery(&self) -> String {
        self.terms()
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
