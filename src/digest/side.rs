//! Whose side a digest kind takes: the desk's country, its alliances and its rivals.

use crate::domain::CountryCode;

/// An alliance the Alliances section reports on first.
#[derive(Debug, Clone, PartialEq)]
pub struct Alliance {
    pub name: String,
    pub members: Vec<CountryCode>,
}

/// The desk a digest kind is written for.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// The country whose side the digest takes.
    pub perspective: CountryCode,
    pub alliances: Vec<Alliance>,
    /// Countries whose cooperation with others is an alignment to watch.
    pub rivals: Vec<CountryCode>,
}

impl Default for Side {
    /// The seed article's desk: Washington, its alliances with Seoul and Tokyo and the
    /// trilateral, and North Korea, Russia and China as rivals.
    fn default() -> Self {
        Self {
            perspective: country("USA"),
            alliances: default_alliances(),
            rivals: default_rivals(),
        }
    }
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).expect("built-in codes are assigned ISO 3166-1 alpha-3 codes")
}

/// The seed article's alliances: U.S.–South Korea, U.S.–Japan and the trilateral.
pub fn default_alliances() -> Vec<Alliance> {
    vec![
        Alliance {
            name: "U.S.–South Korea alliance".into(),
            members: vec![country("USA"), country("KOR")],
        },
        Alliance {
            name: "U.S.–Japan alliance".into(),
            members: vec![country("USA"), country("JPN")],
        },
        Alliance {
            name: "U.S.–Japan–South Korea trilateral".into(),
            members: vec![country("USA"), country("JPN"), country("KOR")],
        },
    ]
}

/// The seed article's rivals: North Korea, Russia and China.
pub fn default_rivals() -> Vec<CountryCode> {
    vec![country("PRK"), country("RUS"), country("CHN")]
}
