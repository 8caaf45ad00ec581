//! Rows built to GDELT's event codebook (V2.0): all 61 columns in order, tab-separated, empty
//! fields where GDELT leaves them empty, no quoting.

use std::io::Write as _;
use std::ops::ControlFlow;

use super::*;
use crate::domain::EventType;

/// A Consult/visit row as GDELT writes one, every column filled the way GDELT fills it.
#[rustfmt::skip]
fn columns() -> Vec<String> {
    [
        "1217480795", "20250106", "202501", "2025", "2025.0164",
        "USAGOV", "UNITED STATES", "USA", "", "", "", "", "GOV", "", "",
        "KORGOV", "SOUTH KOREA", "KOR", "", "", "", "", "GOV", "", "",
        "1", "042", "042", "04", "1", "1.9", "10", "2", "10", "1.23456789",
        "1", "United States", "US", "US", "", "39.828175", "-98.5795", "US",
        "4", "Seoul, Soul-t'ukpyolsi, South Korea", "KS", "KS11", "", "37.5664", "126.9997", "-716583",
        "4", "Seoul, Soul-t'ukpyolsi, South Korea", "KS", "KS11", "", "37.5664", "126.9997", "-716583",
        "20250106143000", "https://www.example.com/news/2025/01/06/seoul-talks",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn line(changes: &[(usize, &str)]) -> String {
    let mut columns = columns();
    assert_eq!(columns.len(), row::COLUMNS);
    for (index, value) in changes {
        columns[*index] = (*value).to_owned();
    }
    columns.join("\t")
}

fn mapped(changes: &[(usize, &str)]) -> Result<(ResourceId, AgendaItem), Rejection> {
    mapped_with(changes, &Filter::default())
}

fn mapped_with(
    changes: &[(usize, &str)],
    filter: &Filter,
) -> Result<(ResourceId, AgendaItem), Rejection> {
    let text = line(changes);
    let row = Row::parse(&text).map_err(Rejection::Malformed)?;
    map_row(&row, filter)
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

#[test]
fn a_full_row_becomes_an_item_with_its_evidence() {
    let (id, item) = mapped(&[]).unwrap();
    assert_eq!(id.as_str(), "gdelt-1217480795");
    assert_eq!(item.date.to_string(), "2025-01-06");
    assert_eq!(item.actors[0].to_string(), "USAGOV");
    assert_eq!(item.recipients[0].to_string(), "KORGOV");
    assert_eq!(item.event_type, EventType::Consult);
    assert_eq!(item.mode.as_deref(), Some("visit"));
    assert_eq!(item.status, crate::domain::ItemStatus::Reported);
    // The intensity is PLOVER's score for the type; GDELT's Goldstein value is kept beside it.
    assert_eq!(item.intensity(), 2.5);
    assert_eq!(item.goldstein_scale, Some(1.9));
    assert_eq!(
        (item.num_mentions, item.num_sources, item.num_articles),
        (10, 2, 10)
    );
    assert_eq!(
        item.title,
        "Make a visit: United States (USA) → South Korea (KOR)"
    );
    assert!(item.summary.contains("CAMEO 042"), "{}", item.summary);
    assert!(item.summary.contains("Where: Seoul"), "{}", item.summary);
    let source = &item.sources[0];
    assert_eq!(
        source.url.as_ref().map(url::Url::as_str),
        Some("https://www.example.com/news/2025/01/06/seoul-talks")
    );
    assert_eq!(source.publisher, "example.com");
    assert_eq!(
        source.published_time.unwrap().to_rfc3339(),
        "2025-01-06T14:30:00+00:00"
    );
}

#[test]
fn empty_fields_are_read_as_gdelt_means_them() {
    // No type code: the actor is the country alone. No name: the country's name. No place.
    let (_, item) = mapped(&[(12, ""), (16, ""), (52, ""), (22, "MNC")]).unwrap();
    assert_eq!(item.actors[0].to_string(), "USA");
    assert_eq!(item.recipients[0].to_string(), "KOR");
    assert!(
        item.title.ends_with("→ Korea (Republic of) (KOR)"),
        "{}",
        item.title
    );
    assert!(!item.summary.contains("Where:"), "{}", item.summary);
    // A name with a quote in it, as GDELT writes it: no quoting, the quote is the name's.
    let (_, item) = mapped(&[(6, "\"THE\" PRESIDENT")]).unwrap();
    assert!(
        item.title.contains("\"the\" President (USA)"),
        "{}",
        item.title
    );
}

#[test]
fn a_source_that_is_not_a_web_page_is_named_not_linked() {
    let (_, item) = mapped(&[(60, "BBC Monitoring")]).unwrap();
    assert_eq!(item.sources[0].url, None);
    assert_eq!(item.sources[0].publisher, "BBC Monitoring");
}

#[test]
fn regions_and_missing_countries_are_no_actor_country() {
    for changes in [
        vec![(17, "EUR")],
        vec![(7, "AFR")],
        vec![(7, "MEA"), (17, "WST")],
        // One-actor events: GDELT leaves the second actor's columns empty.
        vec![(15, ""), (16, ""), (17, ""), (22, "")],
        vec![(7, "")],
    ] {
        assert_eq!(
            mapped(&changes).unwrap_err(),
            Rejection::Skip(Skip::NoActorCountry),
            "{changes:?}"
        );
    }
}

#[test]
fn one_country_on_both_sides_is_skipped() {
    assert_eq!(
        mapped(&[(17, "USA"), (22, "OPP")]).unwrap_err(),
        Rejection::Skip(Skip::SameCountry)
    );
}

#[test]
fn public_statements_have_no_plover_type() {
    assert_eq!(
        mapped(&[(26, "010"), (27, "010"), (28, "01")]).unwrap_err(),
        Rejection::Skip(Skip::NoPloverType)
    );
}

#[test]
fn filters_keep_what_they_name() {
    let korea = Filter {
        countries: vec![country("KOR")],
        ..Filter::default()
    };
    assert!(mapped_with(&[], &korea).is_ok());
    let japan = Filter {
        countries: vec![country("JPN")],
        ..Filter::default()
    };
    assert_eq!(
        mapped_with(&[], &japan).unwrap_err(),
        Rejection::Skip(Skip::Filtered)
    );
    let corroborated = Filter {
        min_sources: 3,
        ..Filter::default()
    };
    assert_eq!(
        mapped_with(&[], &corroborated).unwrap_err(),
        Rejection::Skip(Skip::Filtered)
    );
    assert!(mapped_with(&[(32, "3")], &corroborated).is_ok());
    let roots = Filter {
        root_events_only: true,
        ..Filter::default()
    };
    assert_eq!(
        mapped_with(&[(25, "0")], &roots).unwrap_err(),
        Rejection::Skip(Skip::Filtered)
    );
}

#[test]
fn malformed_rows_name_the_column() {
    let short = columns()[..60].join("\t");
    assert_eq!(
        Row::parse(&short).unwrap_err(),
        "expected 61 tab-separated columns, found 60"
    );
    for (changes, expected) in [
        (
            vec![(0, "12a")],
            "GLOBALEVENTID \"12a\" is not a whole number",
        ),
        (
            vec![(1, "20251301")],
            "SQLDATE \"20251301\" is not a day written YYYYMMDD",
        ),
        (
            vec![(26, "04x")],
            "EventCode \"04x\" is not a CAMEO code of 2 to 4 digits",
        ),
        (
            vec![(30, "12.5")],
            "GoldsteinScale \"12.5\" is not a number from -10 to 10",
        ),
        (vec![(32, "-1")], "NumSources \"-1\" is not a count"),
        (vec![(25, "yes")], "IsRootEvent \"yes\" is not 0 or 1"),
        (
            vec![(59, "2025")],
            "DATEADDED \"2025\" is not a time written YYYYMMDDHHMMSS",
        ),
    ] {
        let text = line(&changes);
        assert_eq!(Row::parse(&text).unwrap_err(), expected);
    }
    // A value the API refuses is malformed too, with the field named.
    let control = format!("BAD{}NAME", '\u{7}');
    assert!(matches!(
        mapped(&[(6, &control)]).unwrap_err(),
        Rejection::Malformed(problem) if problem.contains("title")
    ));
    // Echoed values are cut short.
    let long = "9".repeat(500);
    let problem = Row::parse(&line(&[(0, &long)])).unwrap_err();
    assert!(problem.chars().count() < 100, "{problem}");
}

fn lines_of(bytes: &[u8]) -> Vec<(u64, Result<String, String>)> {
    let mut seen = Vec::new();
    for_each_line(bytes, |number, line| {
        seen.push((number, line.map(str::to_owned)));
        ControlFlow::Continue(())
    })
    .unwrap();
    seen
}

#[test]
fn plain_gzip_and_zip_read_the_same_lines() {
    let text = format!("{}\r\n{}\n", line(&[]), line(&[(0, "2")]));
    let plain = lines_of(text.as_bytes());
    assert_eq!(plain.len(), 2);
    assert_eq!(plain[0].1.as_deref().unwrap(), line(&[]));

    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(text.as_bytes()).unwrap();
    assert_eq!(lines_of(&gzip.finish().unwrap()), plain);

    let mut zipped = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zipped
        .start_file(
            "20250106143000.export.CSV",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    zipped.write_all(text.as_bytes()).unwrap();
    let zipped = zipped.finish().unwrap().into_inner();
    assert_eq!(lines_of(&zipped), plain);
}

#[test]
fn unreadable_lines_are_numbered_and_the_rest_still_read() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(line(&[]).as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    bytes.extend_from_slice(&vec![b'x'; MAX_LINE_BYTES * 2]);
    bytes.push(b'\n');
    bytes.push(b'\n');
    bytes.extend_from_slice(line(&[]).as_bytes());
    let seen = lines_of(&bytes);
    let numbers: Vec<u64> = seen.iter().map(|(number, _)| *number).collect();
    // The empty line 4 is no row; the last line has no line ending and is read all the same.
    assert_eq!(numbers, [1, 2, 3, 5]);
    assert_eq!(seen[1].1.as_ref().unwrap_err(), "not UTF-8 text");
    assert!(seen[2].1.as_ref().unwrap_err().starts_with("longer than"));
    assert!(seen[3].1.is_ok());
}

#[test]
fn the_summary_names_every_reason_and_malformed_line() {
    let mut summary = Summary {
        rows: 7,
        imported: 2,
        ..Summary::default()
    };
    summary.skip(Skip::NoActorCountry);
    summary.skip(Skip::SameCountry);
    summary.skip(Skip::NoPloverType);
    summary.skip(Skip::Duplicate);
    summary.malformed(6, "expected 61 tab-separated columns, found 3".into());
    assert_eq!(
        summary.to_string(),
        "7 rows read, 2 imported; skipped: 1 no actor country, 1 same country on both sides, \
         1 no PLOVER type, 0 filtered, 1 duplicate, 1 malformed\n  \
         line 6: expected 61 tab-separated columns, found 3"
    );
}

#[tokio::test]
async fn a_dry_run_counts_each_reason() {
    let text = [
        line(&[]),
        line(&[(0, "2"), (17, "EUR")]),
        line(&[(0, "3"), (17, "USA")]),
        line(&[(0, "4"), (26, "010"), (27, "010"), (28, "01")]),
        "not a row".to_owned(),
        line(&[(0, "5")]),
    ]
    .join("\n");
    let summary = import(
        None,
        Box::new(std::io::Cursor::new(text)),
        Filter::default(),
    )
    .await
    .unwrap();
    assert_eq!(summary.rows, 6);
    assert_eq!(summary.imported, 2);
    assert_eq!(summary.skipped(Skip::NoActorCountry), 1);
    assert_eq!(summary.skipped(Skip::SameCountry), 1);
    assert_eq!(summary.skipped(Skip::NoPloverType), 1);
    assert_eq!(
        summary.malformed_lines,
        [(5, "expected 61 tab-separated columns, found 1".to_owned())]
    );
}
