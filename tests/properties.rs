//! Property tests for every parser that takes client input: whatever the input, a parser
//! answers (never panics), accepts only what its rule allows, and gives back what it accepted.
//! `PROPTEST_CASES` sets the cases per property (256 by default).

use briefing::api::mask;
use briefing::api::paging::{next_page_token, page_request};
use briefing::domain::values::{
    ActorCode, format_date, parse_date, parse_instant, parse_keyword, parse_text, parse_time_zone,
    parse_url, redacted_setting,
};
use briefing::domain::{
    AgendaItemName, CountryCode, OfficialName, ResourceId, SearchQuery, TripName,
};
use briefing::import::gdelt::Row;
use proptest::prelude::*;

/// Text as a hostile client sends it: any characters, control and invisible ones included.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "[a-z0-9/*\"\\- ]{0,40}",
        any::<Vec<char>>().prop_map(|chars| chars.into_iter().take(120).collect()),
    ]
}

proptest! {
    #[test]
    fn dates_round_trip_and_nothing_else_is_a_date(raw in any_text()) {
        if let Ok(date) = parse_date(&raw) {
            prop_assert_eq!(format_date(date), raw.clone());
        }
    }

    #[test]
    fn every_calendar_day_is_read_back(days in 0_i64..200_000) {
        let day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
        let text = format_date(day);
        prop_assert_eq!(parse_date(&text), Ok(day));
    }

    #[test]
    fn instants_and_zones_answer_without_panicking(raw in any_text()) {
        let _ = parse_instant(&raw);
        let _ = parse_time_zone(&raw);
    }

    #[test]
    fn ids_hold_only_what_the_rule_allows(raw in any_text()) {
        if let Ok(id) = ResourceId::parse(&raw) {
            prop_assert!(!raw.is_empty() && raw.len() <= ResourceId::MAX_LEN);
            prop_assert!(raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert_eq!(id.as_str(), raw.as_str());
        }
    }

    #[test]
    fn valid_ids_are_accepted_and_names_round_trip(id in "[a-z0-9-]{1,63}") {
        prop_assert!(ResourceId::parse(&id).is_ok());
        let trip = format!("trips/{id}");
        prop_assert_eq!(TripName::parse(&trip).unwrap().to_string(), trip);
        let official = format!("officials/{id}");
        prop_assert_eq!(OfficialName::parse(&official).unwrap().to_string(), official);
        let item = format!("agendaItems/{id}");
        prop_assert_eq!(AgendaItemName::parse(&item).unwrap().to_string(), item.clone());
        // A name of one collection is never read as another's.
        prop_assert!(TripName::parse(&item).is_err());
    }

    #[test]
    fn names_answer_any_text(raw in any_text()) {
        if let Ok(name) = TripName::parse(&raw) {
            prop_assert_eq!(name.to_string(), raw.clone());
        }
        let _ = OfficialName::parse(&raw);
        let _ = AgendaItemName::parse(&raw);
    }

    #[test]
    fn countries_are_assigned_iso_codes(raw in prop_oneof!["[A-Z]{3}", any_text()]) {
        if let Ok(country) = CountryCode::parse(&raw) {
            prop_assert_eq!(country.as_str(), raw.as_str());
            prop_assert!(rust_iso3166::from_alpha3(&raw).is_some());
        }
    }

    #[test]
    fn actors_round_trip(raw in prop_oneof!["[A-Z]{3}([A-Z]{3})?", any_text()]) {
        if let Ok(actor) = ActorCode::parse(&raw) {
            prop_assert_eq!(actor.to_string(), raw.clone());
        }
    }

    #[test]
    fn keywords_are_lowercase_words(raw in any_text()) {
        if let Ok(keyword) = parse_keyword(&raw) {
            prop_assert!(!keyword.is_empty() && keyword.len() <= 40);
            prop_assert!(keyword.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn text_fields_refuse_control_characters_and_length(raw in any_text(), max in 0_usize..100) {
        if let Ok(text) = parse_text(&raw, max, false) {
            prop_assert!(text.chars().count() <= max);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        }
    }

    #[test]
    fn search_queries_are_bounded_words(raw in any_text()) {
        if let Ok(query) = SearchQuery::parse(&raw) {
            prop_assert!(!query.terms().is_empty() && query.terms().len() <= 32);
            for term in query.terms() {
                prop_assert!(!term.words.is_empty());
                for word in &term.words {
                    // Only letters and digits reach the store's MATCH or tsquery.
                    prop_assert!(word.chars().all(char::is_alphanumeric), "{:?}", word);
                }
            }
        }
    }

    #[test]
    fn urls_are_http_and_redaction_never_shows_a_password(
        user in "[a-z]{1,8}",
        password in "[a-zA-Z0-9]{6,12}",
        host in "[a-z]{1,10}\\.example",
        raw in any_text(),
    ) {
        if let Ok(url) = parse_url(&raw) {
            prop_assert!(matches!(url.scheme(), "http" | "https"));
        }
        let _ = redacted_setting(&raw);
        let with_password = format!("postgres://{user}:{password}@{host}:5432/db");
        let shown = redacted_setting(&with_password);
        prop_assert!(!shown.contains(&password), "{}", shown);
    }

    #[test]
    fn page_tokens_round_trip_for_their_filter_only(after in 0_i64..i64::MAX, filter in ".{0,20}", other in ".{0,20}") {
        let token = next_page_token(Some(after), &filter);
        prop_assert_eq!(page_request(10, &token, &filter).unwrap().after, Some(after));
        if other != filter {
            prop_assert!(page_request(10, &token, &other).is_err());
        }
    }

    #[test]
    fn a_changed_page_token_is_refused(after in 0_i64..i64::MAX, position in 0_usize..28, byte in any::<u8>()) {
        let token = next_page_token(Some(after), &"filter");
        let mut bytes = token.clone().into_bytes();
        let position = position % bytes.len();
        let replacement = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[byte as usize % 64];
        prop_assume!(bytes[position] != replacement);
        bytes[position] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(page_request(10, &changed, &"filter").is_err(), "{} accepted", changed);
    }

    #[test]
    fn any_page_token_text_is_answered(raw in any_text(), size in any::<i32>()) {
        let outcome = page_request(size, &raw, &"filter");
        if size < 0 {
            prop_assert!(outcome.is_err());
        }
        if let Ok(page) = outcome {
            prop_assert!(page.size >= 1 && page.size <= 500);
        }
    }

    #[test]
    fn update_masks_answer_any_path(paths in proptest::collection::vec(any_text(), 0..6)) {
        let stored = serde_json::json!({"title": "a", "summary": "b"});
        let patch = serde_json::json!({"title": "c"});
        let outcome = mask::apply(&stored, &patch, &paths, &["title", "summary"]);
        if let Ok(merged) = outcome {
            // Only the fields the rule allows may change.
            prop_assert_eq!(merged.as_object().unwrap().len(), 2);
        }
    }

    #[test]
    fn gdelt_rows_answer_any_line(raw in any_text(), tabs in 0_usize..70) {
        let _ = Row::parse(&raw);
        let line = vec![raw.as_str(); tabs + 1].join("\t");
        let _ = Row::parse(&line);
    }
}
