//! Unordered country pairs: what the digest's figures and the agenda's pair filter are keyed by.

use std::fmt;

use super::values::CountryCode;
use super::violations::echo;

/// Two distinct countries, the lower code first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryPair(CountryCode, CountryCode);

impl CountryPair {
    /// `None` when both are the same country: an item within one country forms no pair.
    pub fn new(a: CountryCode, b: CountryCode) -> Option<Self> {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Some(Self(a, b)),
            std::cmp::Ordering::Greater => Some(Self(b, a)),
            std::cmp::Ordering::Equal => None,
        }
    }

    /// `JPN-KOR` or `KOR-JPN` (either order; a dash or an en dash between the codes).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{} is not a country pair: expected two alpha-3 codes joined by '-', like JPN-KOR",
                echo(raw)
            )
        };
        let (a, b) = raw
            .split_once('-')
            .or_else(|| raw.split_once('–'))
            .ok_or_else(bad)?;
        let a = CountryCode::parse(a)?;
        let b = CountryCode::parse(b)?;
        Self::new(a, b).ok_or_else(|| format!("{} names the same country twice", echo(raw)))
    }

    pub fn first(self) -> CountryCode {
        self.0
    }

    pub fn second(self) -> CountryCode {
        self.1
    }

    pub fn contains(self, country: CountryCode) -> bool {
        self.0 == country || self.1 == country
    }

    /// The other country of the pair, if `country` is one of them.
    pub fn other(self, country: CountryCode) -> Option<CountryCode> {
        if self.0 == country {
            Some(self.1)
        } else if self.1 == country {
            Some(self.0)
        } else {
            None
        }
    }

    /// `JPN–KOR`, with an en dash, as a reader sees it.
    pub fn label(self) -> String {
        format!("{}–{}", self.0, self.1)
    }
}

/// `JPN-KOR`: the form the API takes and gives back.
impl fmt::Display for CountryPair {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}-{}", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_unordered_and_of_two_countries() {
        let pair = CountryPair::parse("KOR-JPN").unwrap();
        assert_eq!(pair, CountryPair::parse("JPN–KOR").unwrap());
        assert_eq!(pair.to_string(), "JPN-KOR");
        assert_eq!(pair.label(), "JPN–KOR");
        assert!(CountryPair::parse("KOR-KOR").is_err());
        assert!(CountryPair::parse("KOR").is_err());
        assert!(CountryPair::parse("KOR-XXX").is_err());
    }
}
