//! `briefing import --format gdelt`: GDELT 2.0 event exports, as GDELT publishes them, into
//! the store and out through the API.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use briefing::api::pb;

use crate::gdelt_files::row;
use crate::helpers::{fresh_database, spawn_app_with};

fn export() -> String {
    [
        row(1001, "USA", "KOR", "042", 3),
        row(1002, "PRK", "RUS", "0312", 12),
        row(1003, "USA", "EUR", "042", 3), // a region: no actor country
        row(1004, "CHN", "CHN", "112", 5), // one country on both sides
        row(1005, "JPN", "KOR", "010", 2), // a public statement: no PLOVER type
        "1006\tnot\ta\trow".to_owned(),
    ]
    .join("\n")
        + "\n"
}

fn import(database: &str, file: &str, stdin: Option<&[u8]>, extra: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_briefing"))
        .args(["import", "--format", "gdelt", file, "--database", database])
        .args(extra)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run briefing import");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().expect("briefing import")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn an_export_is_imported_once_with_every_skip_counted() {
    let (database, url) = fresh_database().await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("20250106143000.export.CSV.gz");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(export().as_bytes()).unwrap();
    std::fs::write(&path, gzip.finish().unwrap()).unwrap();

    let first = import(&url, path.to_str().unwrap(), None, &[]);
    let summary = stdout(&first);
    // A malformed row makes the exit code 2; everything else in the file is still imported.
    assert_eq!(first.status.code(), Some(2), "{summary}");
    assert!(
        summary.starts_with(
            "6 rows read, 2 imported; skipped: 1 no actor country, 1 same country on both \
             sides, 1 no PLOVER type, 0 filtered, 0 duplicate, 1 malformed"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("line 6: expected 61 tab-separated columns, found 4"),
        "{summary}"
    );

    // The same file again, zipped this time and through standard input: nothing new.
    let mut zipped = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zipped
        .start_file(
            "20250106143000.export.CSV",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    zipped.write_all(export().as_bytes()).unwrap();
    let zipped = zipped.finish().unwrap().into_inner();
    let again = import(&url, "-", Some(&zipped), &[]);
    assert!(
        stdout(&again).starts_with("6 rows read, 0 imported;")
            && stdout(&again).contains("2 duplicate"),
        "{}",
        stdout(&again)
    );

    let app = spawn_app_with(&url, false).await;
    let visit = app
        .get_item("agendaItems/gdelt-1001")
        .await
        .expect("imported");
    assert_eq!(visit.event_type(), pb::EventType::Consult);
    assert_eq!(visit.mode, "visit");
    assert_eq!(visit.actors, ["USAGOV"]);
    assert_eq!(visit.recipients, ["KOR"]);
    assert_eq!(visit.status(), pb::ItemStatus::Reported);
    assert_eq!(visit.goldstein_scale, Some(-2.0));
    assert_eq!(
        (visit.num_sources, visit.num_articles, visit.num_mentions),
        (3, 6, 12)
    );
    assert_eq!(visit.sources[0].url, "https://news.example.org/1001");
    assert_eq!(visit.sources[0].publisher, "news.example.org");
    let cooperation = app
        .get_item("agendaItems/gdelt-1002")
        .await
        .expect("imported");
    assert_eq!(cooperation.event_type(), pb::EventType::Agree);
    assert_eq!(cooperation.contexts, ["military"]);
    for skipped in ["gdelt-1003", "gdelt-1004", "gdelt-1005", "gdelt-1006"] {
        assert_eq!(
            app.get_item(&format!("agendaItems/{skipped}"))
                .await
                .unwrap_err()
                .code(),
            tonic::Code::NotFound,
            "{skipped}"
        );
    }
    app.stop().await;
    drop(database);
}

#[tokio::test]
async fn filters_and_a_dry_run_store_nothing_they_leave_out() {
    let (database, url) = fresh_database().await;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("export.CSV");
    std::fs::write(&path, export()).unwrap();
    let path = path.to_str().unwrap();

    let dry = import(&url, path, None, &["--dry-run"]);
    assert!(
        stdout(&dry).starts_with("dry run: 6 rows read, 2 imported;"),
        "{}",
        stdout(&dry)
    );
    let filtered = import(
        &url,
        path,
        None,
        &["--countries", "KOR", "--min-sources", "2"],
    );
    assert!(
        stdout(&filtered).starts_with("6 rows read, 1 imported;")
            && stdout(&filtered).contains("1 filtered"),
        "{}",
        stdout(&filtered)
    );
    let bad = import(&url, path, None, &["--countries", "EUR"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--countries"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let app = spawn_app_with(&url, false).await;
    let items = app.all_items(pb::ListAgendaItemsRequest::default()).await;
    let names: Vec<&str> = items.iter().map(|item| item.name.as_str()).collect();
    assert_eq!(names, ["agendaItems/gdelt-1001"]);
    app.stop().await;
    drop(database);
}
