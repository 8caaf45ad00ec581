//! GDELT's file lists: `lastupdate.txt` (the files of the latest 15 minutes) and
//! `masterfilelist.txt` (every file since 2015), one file a line as `SIZE MD5 URL`, e.g.
//!
//! ```text
//! 150383 297a16b493de7cf6ca809a7cc31d0b93 http://data.gdeltproject.org/gdeltv2/20150218230000.export.CSV.zip
//! ```
//!
//! Only the event exports (`*.export.CSV.zip`) are ours; mentions and GKG files are passed
//! over. The time in a file's name (UTC, `YYYYMMDDHHMMSS`) is when GDELT published it.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::store::feeds::ListedFile;

/// The ending of the event export files' names.
pub const EXPORT_SUFFIX: &str = ".export.CSV.zip";

/// One line of a list: an event export, another of GDELT's files (`Ok(None)`), or why it is
/// not an entry at all.
pub fn parse_line(line: &str) -> Result<Option<ListedFile>, String> {
    let mut fields = line.split_whitespace();
    let (Some(size), Some(md5), Some(url), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("expected SIZE MD5 URL".to_owned());
    };
    let size_bytes: u64 = size
        .parse()
        .map_err(|_| format!("size {:?} is not a number of bytes", shorten(size)))?;
    if md5.len() != 32 || !md5.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(format!("{:?} is not an MD5 (32 hex digits)", shorten(md5)));
    }
    let parsed = url::Url::parse(url).map_err(|_| format!("{:?} is not a URL", shorten(url)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("{:?} is not an http or https URL", shorten(url)));
    }
    let file_name = parsed
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .unwrap_or_default()
        .to_owned();
    if !file_name.ends_with(EXPORT_SUFFIX) {
        return Ok(None);
    }
    let file_time = file_time(&file_name).ok_or_else(|| {
        format!(
            "{:?} does not start with YYYYMMDDHHMMSS",
            shorten(&file_name)
        )
    })?;
    Ok(Some(ListedFile {
        url: parsed.to_string(),
        file_name,
        file_time,
        size_bytes,
        md5: md5.to_ascii_lowercase(),
    }))
}

/// The time a GDELT file's name starts with, `YYYYMMDDHHMMSS` in UTC.
pub fn file_time(file_name: &str) -> Option<DateTime<Utc>> {
    let stamp = file_name.get(..14)?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S")
        .ok()
        .map(|time| time.and_utc())
}

fn shorten(raw: &str) -> String {
    const MAX: usize = 80;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        let mut cut: String = raw.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_line_is_read_and_other_files_are_passed_over() {
        let export = parse_line(
            "150383 297A16B493DE7CF6CA809A7CC31D0B93 http://data.gdeltproject.org/gdeltv2/20150218230000.export.CSV.zip",
        )
        .unwrap()
        .unwrap();
        assert_eq!(export.size_bytes, 150_383);
        assert_eq!(export.md5, "297a16b493de7cf6ca809a7cc31d0b93");
        assert_eq!(export.file_name, "20150218230000.export.CSV.zip");
        assert_eq!(export.file_time.to_rfc3339(), "2015-02-18T23:00:00+00:00");
        assert_eq!(
            export.url,
            "http://data.gdeltproject.org/gdeltv2/20150218230000.export.CSV.zip"
        );
        for other in [
            "318084 bb27f78ba45f69a17ea6ed7755e9f8ff http://data.gdeltproject.org/gdeltv2/20150218230000.mentions.CSV.zip",
            "10768507 ea8dde0beb0ba98810a92db068c0ce99 http://data.gdeltproject.org/gdeltv2/20150218230000.gkg.csv.zip",
        ] {
            assert_eq!(parse_line(other), Ok(None), "{other}");
        }
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        for (line, expected) in [
            ("", "expected SIZE MD5 URL"),
            ("1 2", "expected SIZE MD5 URL"),
            ("a b c d", "expected SIZE MD5 URL"),
            (
                "x 297a16b493de7cf6ca809a7cc31d0b93 http://h/20150218230000.export.CSV.zip",
                "is not a number of bytes",
            ),
            (
                "1 297a http://h/20150218230000.export.CSV.zip",
                "is not an MD5",
            ),
            (
                "1 297a16b493de7cf6ca809a7cc31d0b93 ftp://h/20150218230000.export.CSV.zip",
                "is not an http or https URL",
            ),
            (
                "1 297a16b493de7cf6ca809a7cc31d0b93 http://h/latest.export.CSV.zip",
                "does not start with YYYYMMDDHHMMSS",
            ),
        ] {
            let problem = parse_line(line).unwrap_err();
            assert!(problem.contains(expected), "{line:?}: {problem}");
        }
    }
}
