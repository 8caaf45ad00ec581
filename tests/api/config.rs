//! `config/briefing.example.toml` loads through `Config::load`, states the real defaults, and
//! its commented-out example parses too: the file cannot drift from `src/config.rs`.

use briefing::config::Config;
use clap::Parser as _;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/briefing.example.toml");

fn load(flags: &[&str]) -> anyhow::Result<Config> {
    let command_line = ["briefing", "serve"].iter().chain(flags);
    let cli = briefing::cli::Cli::try_parse_from(command_line).expect("command line parses");
    let briefing::cli::Command::Serve(args) = cli.command else {
        unreachable!("the command line is `serve`")
    };
    Config::load(&args)
}

/// The example with `edit` applied, loaded from a temporary file.
fn load_edited(edit: impl Fn(&str) -> String) -> Config {
    let text = std::fs::read_to_string(EXAMPLE).expect("read the example");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    std::fs::write(&path, edited).expect("write the edited example");
    load(&["--config", path.to_str().expect("utf-8 path")]).expect("the edited example loads")
}

#[test]
fn the_example_configuration_loads_and_states_the_defaults() {
    let example = load(&["--config", EXAMPLE]).expect("the example configuration loads");
    let defaults = load(&[]).expect("the defaults load");
    assert_eq!(
        format!("{example:#?}"),
        format!("{defaults:#?}"),
        "every value in the example is the default it documents"
    );
    assert_eq!(example.plans.len(), 1);
    assert_eq!(example.plans[0].expression(), "0 0 6 * * *");
    assert_eq!(example.sides.len(), 1);
    let (kind, side) = &example.sides[0];
    assert_eq!(kind, "daily");
    assert_eq!(side, &briefing::digest::Side::default());

    // The file is read, not ignored: a value changed in it shows up.
    let edited = load_edited(|text| text.replace("catch_up_days = 7", "catch_up_days = 3"));
    assert_eq!(edited.catch_up_days, 3);
}

/// The example with its commented-out kinds (everything after "Further digest kinds")
/// written in.
fn with_the_example_kinds(text: &str) -> String {
    let start = text
        .find("# Further digest kinds")
        .expect("the example documents further kinds");
    let (head, tail) = text.split_at(start);
    let uncommented: Vec<String> = tail
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(setting)
                if setting.starts_with('[')
                    || setting.split_once(" = ").is_some_and(|(key, _)| {
                        key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                setting.to_owned()
            }
            _ => line.to_owned(),
        })
        .collect();
    format!("{head}{}\n", uncommented.join("\n"))
}

#[test]
fn the_commented_out_kinds_in_the_example_parse_with_their_sides() {
    let config = load_edited(with_the_example_kinds);
    let kinds: Vec<(&str, &str, &str)> = config
        .plans
        .iter()
        .map(|plan| (plan.kind.as_str(), plan.expression(), plan.time_zone.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("daily", "0 0 6 * * *", "UTC"),
            ("paris-desk", "0 0 8 * * *", "Europe/Paris"),
            ("seoul-desk", "0 0 7 * * *", "Asia/Seoul"),
            ("weekly", "0 0 7 * * Mon", "Asia/Seoul"),
        ]
    );
    let side = |kind: &str| {
        let (_, side) = config
            .sides
            .iter()
            .find(|(configured, _)| configured == kind)
            .unwrap_or_else(|| panic!("no side for {kind}"));
        let codes = |codes: &[briefing::domain::CountryCode]| {
            codes.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        (
            side.perspective.to_string(),
            codes(&side.rivals),
            side.alliances
                .iter()
                .map(|alliance| alliance.name.clone())
                .collect::<Vec<_>>(),
        )
    };
    let default = briefing::digest::Side::default();
    let default_alliances: Vec<String> = default
        .alliances
        .iter()
        .map(|alliance| alliance.name.clone())
        .collect();
    assert_eq!(
        side("weekly"),
        (
            "USA".to_owned(),
            vec!["PRK".to_owned(), "RUS".into(), "CHN".into()],
            default_alliances
        ),
        "a kind without its own side takes the top-level one"
    );
    assert_eq!(
        side("seoul-desk"),
        (
            "KOR".to_owned(),
            vec!["PRK".to_owned(), "CHN".into(), "RUS".into()],
            vec![
                "ROK–U.S. alliance".to_owned(),
                "Korea–Japan–U.S. trilateral".into()
            ]
        )
    );
    assert_eq!(side("paris-desk").0, "FRA");
    assert_eq!(side("paris-desk").1, ["RUS", "IRN"]);
}

#[test]
fn flags_set_the_top_level_side() {
    let config = load(&["--perspective", "FRA", "--rivals", "RUS,IRN"]).expect("loads");
    let (kind, side) = &config.sides[0];
    assert_eq!(kind, "daily");
    assert_eq!(side.perspective.to_string(), "FRA");
    assert_eq!(
        side.rivals
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["RUS", "IRN"]
    );
}

#[test]
fn a_bad_side_is_an_error_naming_the_key() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    for (text, flags, expected) in [
        (
            "[kinds.seoul-desk]\ncron = \"0 0 7 * * *\"\nperspective = \"XXX\"\n",
            &[][..],
            "kinds.seoul-desk.perspective: \"XXX\" is not",
        ),
        (
            "[kinds.seoul-desk]\ncron = \"0 0 7 * * *\"\nperspective = \"KOR\"\nrivals = [\"PRK\", \"KOR\"]\n",
            &[][..],
            "kinds.seoul-desk.rivals: KOR is the perspective",
        ),
        (
            "perspective = \"usa\"\n",
            &[][..],
            "perspective: \"usa\" is not",
        ),
        (
            "rivals = [\"PRK\", \"USA\"]\n",
            &[][..],
            "rivals: USA is the perspective",
        ),
        ("", &["--rivals", "PRK,XYZ"][..], "rivals: \"XYZ\" is not"),
        (
            "",
            &["--perspective", "PRK"][..],
            "rivals: PRK is the perspective",
        ),
    ] {
        std::fs::write(&path, text).expect("write the file");
        let mut all = vec!["--config", path.to_str().expect("utf-8 path")];
        all.extend_from_slice(flags);
        let error = load(&all).expect_err("a bad side is refused");
        assert!(
            format!("{error:#}").contains(expected),
            "{expected:?} not in: {error:#}"
        );
    }
}

#[test]
fn an_unknown_key_in_a_configuration_file_is_an_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    std::fs::write(&path, "catch_up_dayz = 3\n").expect("write the file");
    let error = load(&["--config", path.to_str().expect("utf-8 path")])
        .expect_err("a misspelt key is refused");
    assert!(
        format!("{error:#}").contains("catch_up_dayz"),
        "the error names the key: {error:#}"
    );
}

#[test]
fn the_gdelt_feed_is_off_by_default_and_its_table_is_checked_key_by_key() {
    let defaults = load(&[]).expect("the defaults load");
    let feed = &defaults.gdelt_feed;
    assert!(!feed.enabled);
    assert_eq!(
        feed.url.as_str(),
        "http://data.gdeltproject.org/gdeltv2/lastupdate.txt"
    );
    assert_eq!(
        feed.master_url.as_str(),
        "http://data.gdeltproject.org/gdeltv2/masterfilelist.txt"
    );
    assert_eq!(feed.interval.as_secs(), 900);
    assert_eq!(feed.catch_up.as_secs(), 24 * 3600);

    let enabled = load_edited(|text| {
        text.replace("enabled = false", "enabled = true")
            .replace("countries = []", "countries = [\"KOR\", \"PRK\"]")
            .replace("min_sources = 0", "min_sources = 2")
    });
    assert!(enabled.gdelt_feed.enabled);
    assert_eq!(enabled.gdelt_feed.filter.min_sources, 2);
    assert_eq!(
        enabled
            .gdelt_feed
            .filter
            .countries
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["KOR", "PRK"]
    );

    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("briefing.toml");
    for (table, expected) in [
        (
            "url = \"ftp://data.gdeltproject.org/gdeltv2/lastupdate.txt\"",
            "feeds.gdelt.url: \"ftp://data.gdeltproject.org/gdeltv2/lastupdate.txt\" is not an http or https URL",
        ),
        (
            "master_url = \"not a url\"",
            "feeds.gdelt.master_url: \"not a url\" is not a URL",
        ),
        (
            "interval_seconds = 0",
            "feeds.gdelt.interval_seconds: must be from 1 to 86400",
        ),
        (
            "catch_up_hours = 1000",
            "feeds.gdelt.catch_up_hours: must be at most 744",
        ),
        (
            "countries = [\"EUR\"]",
            "feeds.gdelt.countries: \"EUR\" is not",
        ),
        (
            "max_file_bytes = 0",
            "feeds.gdelt.max_file_bytes: must be from 1",
        ),
        ("intervall_seconds = 5", "intervall_seconds"),
    ] {
        std::fs::write(&path, format!("[feeds.gdelt]\nenabled = true\n{table}\n"))
            .expect("write the file");
        let error = load(&["--config", path.to_str().expect("utf-8 path")])
            .expect_err("a bad feed table is refused");
        assert!(
            format!("{error:#}").contains(expected),
            "{expected:?} not in: {error:#}"
        );
    }
}
