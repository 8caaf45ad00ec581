//! Small value types that can only hold valid values: once one exists, nobody checks it again.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

use super::violations::echo;

/// An ISO 3166-1 alpha-3 country code, checked against the `rust_iso3166` tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() != 3 || !raw.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "{} is not an ISO 3166-1 alpha-3 code: expected three uppercase letters like KOR",
                echo(raw)
            ));
        }
        rust_iso3166::from_alpha3(raw)
            .map(|country| Self(country.alpha3))
            .ok_or_else(|| format!("{} is not an assigned ISO 3166-1 alpha-3 code", echo(raw)))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The English short name, e.g. "Korea, Republic of".
    pub fn country_name(&self) -> &'static str {
        rust_iso3166::from_alpha3(self.0).map_or(self.0, |country| country.name)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}

/// CAMEO/PLOVER actor sector codes that may follow a country code (`USAGOV`, `PRKMIL`).
pub const SECTORS: &[&str] = &[
    "AGR", "BUS", "COP", "CRM", "CVL", "EDU", "ELI", "ENV", "GOV", "HLH", "HRI", "IGO", "IMG",
    "INS", "JUD", "LAB", "LEG", "MED", "MIL", "MOD", "NGO", "OPP", "PTY", "RAD", "REB", "REF",
    "REL", "SEP", "SPY", "UAF",
];

/// An event actor or recipient: a country, optionally narrowed to a sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorCode {
    country: CountryCode,
    sector: Option<&'static str>,
}

impl ActorCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        // ASCII first: the split below is by bytes, and a code is letters.
        if !raw.is_ascii() || (raw.len() != 3 && raw.len() != 6) {
            return Err(format!(
                "{} is not an actor code: expected a country (KOR) or a country and sector (KORGOV)",
                echo(raw)
            ));
        }
        let (country, sector) = raw.split_at(3);
        let country = CountryCode::parse(country)?;
        let sector = if sector.is_empty() {
            None
        } else {
            let known = SECTORS
                .iter()
                .find(|known| **known == sector)
                .ok_or_else(|| {
                    format!(
                        "{} has an unknown sector {}: use one of {}",
                        echo(raw),
                        echo(sector),
                        SECTORS.join(", ")
                    )
                })?;
            Some(*known)
        };
        Ok(Self { country, sector })
    }

    pub fn country(&self) -> CountryCode {
        self.country
    }

    pub fn sector(&self) -> Option<&'static str> {
        self.sector
    }
}

impl fmt::Display for ActorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.country.as_str())?;
        if let Some(sector) = self.sector {
            formatter.write_str(sector)?;
        }
        Ok(())
    }
}

/// A calendar day written `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let shaped = raw.len() == 10
        && raw
            .bytes()
            .enumerate()
            .all(|(position, byte)| match position {
                4 | 7 => byte == b'-',
                _ => byte.is_ascii_digit(),
            });
    if !shaped {
        return Err(format!("{} is not a date: expected YYYY-MM-DD", echo(raw)));
    }
    // The shape is checked: the fields are digits. (chrono's format parser walks the pattern
    // on every call; dates are read on every response and digest line.)
    let number = |range: std::ops::Range<usize>| {
        raw[range]
            .bytes()
            .fold(0_u32, |value, digit| value * 10 + u32::from(digit - b'0'))
    };
    let year = i32::try_from(number(0..4)).unwrap_or(0);
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))
        .ok_or_else(|| format!("{} is not a real calendar day", echo(raw)))
}

pub fn format_date(date: NaiveDate) -> String {
    use chrono::Datelike as _;
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// An IANA time zone name, checked against the chrono-tz database.
pub fn parse_time_zone(raw: &str) -> Result<chrono_tz::Tz, String> {
    raw.parse::<chrono_tz::Tz>().map_err(|_| {
        format!(
            "{} is not an IANA time zone name like Asia/Seoul",
            echo(raw)
        )
    })
}

/// An RFC 3339 instant such as `2025-01-03T14:00:00Z`.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "{} is not an RFC 3339 time like 2025-01-03T14:00:00Z",
                echo(raw)
            )
        })
}

/// Text with a length bound, counted in characters; `required` rejects empty or blank text.
pub fn parse_text(raw: &str, max_chars: usize, required: bool) -> Result<String, String> {
    if required && raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let length = raw.chars().count();
    if length > max_chars {
        return Err(format!(
            "must be at most {max_chars} characters, got {length}"
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    if let Some((position, hidden)) = raw.chars().enumerate().find(|(_, c)| is_hidden_format(*c)) {
        return Err(format!(
            "must not contain bidirectional-override or zero-width characters: U+{:04X} at character {position}",
            u32::from(hidden)
        ));
    }
    Ok(raw.to_owned())
}

/// Characters that change how text around them reads without showing themselves: the
/// bidirectional embeddings, overrides and isolates (the "Trojan Source" characters), the
/// direction marks, and the zero-width spaces. A title holding them can read one way in the
/// digest and another in the data. The zero-width joiner and non-joiner (U+200C, U+200D) stay
/// allowed: emoji sequences and Persian or Indic spelling need them.
fn is_hidden_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{FEFF}'
    )
}

/// A lowercase keyword: a context (`military`, `indo-pacific`) or a PLOVER mode (`visit`).
pub fn parse_keyword(raw: &str) -> Result<String, String> {
    let valid = !raw.is_empty()
        && raw.len() <= 40
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{} is not a keyword: 1 to 40 lowercase letters, digits, '-' or '_'",
            echo(raw)
        ))
    }
}

/// A Wikidata item id such as `Q312`.
pub fn parse_wikidata_id(raw: &str) -> Result<String, String> {
    let valid = raw.len() <= 20
        && raw.strip_prefix('Q').is_some_and(|digits| {
            !digits.is_empty()
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit())
        });
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!("{} is not a Wikidata item id like Q312", echo(raw)))
    }
}

/// An absolute http(s) URL of at most 2048 characters.
pub fn parse_url(raw: &str) -> Result<url::Url, String> {
    if raw.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    let parsed =
        url::Url::parse(raw).map_err(|problem| format!("{} is not a URL: {problem}", echo(raw)))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(format!("must be an http or https URL, not {other}")),
    }
}

/// The URL with its password and query values replaced by `***`, for responses and logs.
pub fn redacted_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(key, _)| (key.into_owned(), "***".to_owned()))
            .collect();
        if pairs.is_empty() {
            shown.set_query(None);
        } else {
            shown.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    shown.to_string()
}

/// A URL-like setting (a database URL) as a log line may show it: password and query values
/// hidden; text that is not a URL shows only up to its scheme.
pub fn redacted_setting(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => redacted_url(&url),
        Err(_) => match text.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:***"),
            None => "***".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_come_from_the_iso_tables() {
        assert_eq!(CountryCode::parse("KOR").unwrap().as_str(), "KOR");
        assert!(CountryCode::parse("XXX").is_err());
        assert!(CountryCode::parse("kor").is_err());
        assert!(CountryCode::parse("KR").is_err());
    }

    #[test]
    fn actors_may_carry_a_sector() {
        let actor = ActorCode::parse("USAGOV").unwrap();
        assert_eq!(actor.country().as_str(), "USA");
        assert_eq!(actor.sector(), Some("GOV"));
        assert_eq!(actor.to_string(), "USAGOV");
        assert!(ActorCode::parse("USAXYZ").is_err());
        assert!(ActorCode::parse("USAG").is_err());
        // Six bytes, not six letters (tests/properties.rs found it): refused, not a panic.
        assert!(ActorCode::parse("\u{f93bc}JK").is_err());
        assert!(ActorCode::parse("KO\u{e9}").is_err());
    }

    #[test]
    fn dates_must_be_real_days() {
        assert!(parse_date("2025-01-06").is_ok());
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2025-02-29").is_err());
        assert!(parse_date("2025-1-6").is_err());
        assert!(parse_date("+2025-01-06").is_err());
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("2025-00-10").is_err());
        assert!(parse_date("2025-04-31").is_err());
    }

    #[test]
    fn dates_read_and_write_as_chrono_does() {
        let mut day = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        while day < last {
            let text = day.format("%Y-%m-%d").to_string();
            assert_eq!(format_date(day), text);
            assert_eq!(parse_date(&text), Ok(day));
            day += chrono::Duration::days(97);
        }
        assert_eq!(parse_date(&format_date(last)), Ok(last));
    }

    #[test]
    fn zones_come_from_the_iana_database() {
        assert!(parse_time_zone("Asia/Seoul").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
