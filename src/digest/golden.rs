//! Golden files: the demo days' digests as a reviewer reads them, in `tests/golden/`. An
//! intended change to the digest shows as a diff of these files. To write them anew after such
//! a change: `BRIEFING_BLESS=1 cargo test --lib digest::golden`, then read the diff.

#![cfg(test)]

use std::path::PathBuf;

use super::Side;
use super::tests::{compile_day, demo};

/// The days of the seed article: the guidelines, the trip's eve, its three stops.
const DAYS: [&str; 6] = [
    "2024-12-27",
    "2025-01-04",
    "2025-01-05",
    "2025-01-06",
    "2025-01-07",
    "2025-01-08",
];

#[test]
fn the_demo_days_read_as_the_golden_files() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("BRIEFING_BLESS").is_some();
    let world = demo();
    let mut differ = Vec::new();
    for day in DAYS {
        let compiled = compile_day(&world, day.parse().unwrap(), &Side::default());
        let mut json = serde_json::to_string_pretty(&serde_json::json!({
            "digest": compiled.digest,
            "dyads": compiled.dyads,
        }))
        .unwrap();
        json.push('\n');
        for (extension, text) in [("md", compiled.digest.markdown.clone()), ("json", json)] {
            let path = directory.join(format!("daily-{day}.{extension}"));
            if bless {
                std::fs::create_dir_all(&directory).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                differ.push(path.display().to_string());
            }
        }
    }
    assert!(
        differ.is_empty(),
        "the digest differs from {differ:?}: if the change is intended, run \
         `BRIEFING_BLESS=1 cargo test --lib digest::golden` and review the diff"
    );
}
