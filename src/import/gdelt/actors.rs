//! GDELT's actor codes → our actors.
//!
//! GDELT writes an actor's country as CAMEO's three-letter code, which is ISO 3166-1 alpha-3
//! for states with a few older spellings, and a CAMEO region (`AFR`, `EUR`, `MEA`, `WST`, …)
//! for actors that are not one state. Only states become actors: a region or any other code is
//! no country, and such a row is skipped and counted, never stored under an invented code.
//! `Type1Code` (`GOV`, `MIL`, …) becomes the actor's sector when it is one of ours.

use crate::domain::values::{ActorCode, CountryCode, SECTORS};

/// CAMEO country codes that differ from ISO 3166-1 alpha-3 for the same state.
const CAMEO_SPELLINGS: &[(&str, &str)] = &[
    // Romania: CAMEO kept the code ISO used until 2002.
    ("ROM", "ROU"),
    // East Timor: CAMEO kept the code from before independence.
    ("TMP", "TLS"),
    // Democratic Republic of the Congo, as Zaire.
    ("ZAR", "COD"),
];

/// The state a CAMEO country code names, if it names one.
pub fn country(cameo: &str) -> Option<CountryCode> {
    let iso = CAMEO_SPELLINGS
        .iter()
        .find(|(spelling, _)| *spelling == cameo)
        .map_or(cameo, |(_, iso)| iso);
    CountryCode::parse(iso).ok()
}

/// The actor for a row's country and type codes: the country, with the type as sector when
/// the type is one of our sectors.
pub fn actor(country_code: &str, type_code: &str) -> Option<ActorCode> {
    let country = country(country_code)?;
    let sector = SECTORS.contains(&type_code).then_some(type_code);
    let code = match sector {
        Some(sector) => format!("{}{sector}", country.as_str()),
        None => country.as_str().to_owned(),
    };
    ActorCode::parse(&code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_countries_and_regions_are_not() {
        assert_eq!(country("USA").unwrap().as_str(), "USA");
        assert_eq!(country("PRK").unwrap().as_str(), "PRK");
        for region in [
            "AFR", "ASA", "BLK", "CAS", "CAU", "CFR", "CMN", "CRB", "EAF", "EEU", "EIN", "EUR",
            "LAM", "MDT", "MEA", "NAF", "NMR", "PGS", "SAF", "SAM", "SAS", "SCN", "SEA", "WAF",
            "WEU", "WST",
        ] {
            assert_eq!(country(region), None, "{region} is a region");
        }
        assert_eq!(country(""), None);
        assert_eq!(country("usa"), None);
    }

    #[test]
    fn cameo_s_older_spellings_are_the_iso_codes() {
        assert_eq!(country("ROM").unwrap().as_str(), "ROU");
        assert_eq!(country("TMP").unwrap().as_str(), "TLS");
        assert_eq!(country("ZAR").unwrap().as_str(), "COD");
    }

    #[test]
    fn a_known_type_is_the_sector_and_others_are_dropped() {
        assert_eq!(actor("USA", "GOV").unwrap().to_string(), "USAGOV");
        assert_eq!(actor("CHN", "MIL").unwrap().to_string(), "CHNMIL");
        // MNC (multinational corporation) is not one of our sectors: the country stays.
        assert_eq!(actor("KOR", "MNC").unwrap().to_string(), "KOR");
        assert_eq!(actor("KOR", "").unwrap().to_string(), "KOR");
        assert_eq!(actor("EUR", "GOV"), None);
    }
}
