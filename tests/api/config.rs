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

#[test]
fn the_commented_out_kind_in_the_example_parses() {
    let config = load_edited(|text| {
        text.replace("# [kinds.weekly]", "[kinds.weekly]")
            .replace("# cron = ", "cron = ")
            .replace("# time_zone = ", "time_zone = ")
    });
    let kinds: Vec<(&str, &str, &str)> = config
        .plans
        .iter()
        .map(|plan| (plan.kind.as_str(), plan.expression(), plan.time_zone.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("daily", "0 0 6 * * *", "UTC"),
            ("weekly", "0 0 7 * * Mon", "Asia/Seoul")
        ]
    );
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
