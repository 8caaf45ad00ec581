//! GDELT's files as GDELT publishes them, for the import and feed tests: rows built to the
//! event codebook (V2.0), zipped exports named `YYYYMMDDHHMMSS.export.CSV.zip`, their list
//! lines (`SIZE MD5 URL`, with the real size and MD5), and a local HTTP server on 127.0.0.1
//! laid out like `data.gdeltproject.org/gdeltv2/` that counts what it serves.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Timelike as _, Utc};
use md5::Digest as _;

/// A row laid out as GDELT's event codebook (V2.0) lays it out: 61 tab-separated columns.
pub fn row(id: u64, actor1: &str, actor2: &str, event: &str, sources: u32) -> String {
    let mut columns = vec![String::new(); 61];
    let mut set = |index: usize, value: &str| columns[index] = value.to_owned();
    set(0, &id.to_string());
    set(1, "20250106");
    set(2, "202501");
    set(3, "2025");
    set(4, "2025.0164");
    set(5, &format!("{actor1}GOV"));
    set(6, "GOVERNMENT");
    set(7, actor1);
    set(12, "GOV");
    set(15, actor2);
    set(17, actor2);
    set(25, "1");
    set(26, event);
    set(27, &event[..3.min(event.len())]);
    set(28, &event[..2]);
    set(29, "1");
    set(30, "-2.0");
    set(31, &(sources * 4).to_string());
    set(32, &sources.to_string());
    set(33, &(sources * 2).to_string());
    set(34, "-1.5");
    set(51, "4");
    set(52, "Seoul, Soul-t'ukpyolsi, South Korea");
    set(59, "20250106143000");
    set(60, &format!("https://news.example.org/{id}"));
    columns.join("\t")
}

/// The name GDELT gives the export published at `time`.
pub fn export_name(time: DateTime<Utc>) -> String {
    format!("{}.export.CSV.zip", time.format("%Y%m%d%H%M%S"))
}

/// An export as GDELT zips it: one entry, the CSV, named like the file without `.zip`.
pub fn zipped_export(name: &str, rows: &[String]) -> Vec<u8> {
    let mut zipped = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zipped
        .start_file(
            name.trim_end_matches(".zip"),
            zip::write::SimpleFileOptions::default(),
        )
        .expect("start the zip entry");
    for row in rows {
        zipped.write_all(row.as_bytes()).expect("write a row");
        zipped.write_all(b"\n").expect("write a row");
    }
    zipped.finish().expect("finish the zip").into_inner()
}

/// The three rows of the export numbered `number`: two the import keeps (ids `number`01 and
/// `number`02) and one it skips (a region as the second actor).
pub fn three_rows(number: u64) -> Vec<String> {
    vec![
        row(number * 100 + 1, "USA", "KOR", "042", 3),
        row(number * 100 + 2, "PRK", "RUS", "0312", 12),
        row(number * 100 + 3, "USA", "EUR", "042", 3),
    ]
}

/// The time of the latest quarter hour, as GDELT names its files; close to the next one, it
/// waits for it, so a test's files keep their place against the server's clock.
pub async fn latest_quarter_hour() -> DateTime<Utc> {
    let mut now = Utc::now();
    let into_quarter = (now.minute() % 15) * 60 + now.second();
    if into_quarter >= 14 * 60 {
        let left = u64::from(15 * 60 - into_quarter) + 1;
        tokio::time::sleep(std::time::Duration::from_secs(left)).await;
        now = Utc::now();
    }
    let minute = now.minute() - now.minute() % 15;
    now.with_minute(minute)
        .and_then(|time| time.with_second(0))
        .and_then(|time| time.with_nanosecond(0))
        .expect("a valid time")
}

#[derive(Default)]
struct Served {
    files: HashMap<String, Vec<u8>>,
    downloads: HashMap<String, usize>,
    /// How long an export takes to be sent (lists are sent at once).
    export_delay: std::time::Duration,
}

/// A directory laid out like `http://data.gdeltproject.org/gdeltv2/`, on 127.0.0.1 only; it
/// lives as long as the test process.
#[derive(Clone)]
pub struct GdeltServer {
    /// `http://127.0.0.1:PORT/gdeltv2`.
    pub base: String,
    served: Arc<Mutex<Served>>,
}

impl GdeltServer {
    /// Serves on a thread and runtime of its own, so that a test blocked on a server
    /// process's log (`ServerProcess::wait_for_log`) does not stop it from answering.
    pub fn start() -> Self {
        let served = Arc::new(Mutex::new(Served::default()));
        let router = axum::Router::new()
            .route("/gdeltv2/{name}", get(serve_file))
            .with_state(served.clone());
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind the GDELT server on loopback");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the GDELT server's runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let _ = axum::serve(listener, router).await;
            });
        });
        Self {
            base: format!("http://{address}/gdeltv2"),
            served,
        }
    }

    /// Serves `bytes` as `name` from now on.
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.served
            .lock()
            .expect("the served files")
            .files
            .insert(name.to_owned(), bytes);
    }

    /// Serves an export of `rows` published at `time`, and returns its list line.
    pub fn put_export(&self, time: DateTime<Utc>, rows: &[String]) -> String {
        let name = export_name(time);
        let bytes = zipped_export(&name, rows);
        let line = self.list_line(&name, &bytes);
        self.put(&name, bytes);
        line
    }

    /// `SIZE MD5 URL` of `bytes` served as `name`.
    pub fn list_line(&self, name: &str, bytes: &[u8]) -> String {
        let md5: String = md5::Md5::digest(bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{} {md5} {}/{name}", bytes.len(), self.base)
    }

    /// Serves the update list (`lastupdate.txt`) with these lines and, as GDELT lists them
    /// beside each export, a mentions and a GKG file, which are not the feed's.
    pub fn set_update_list(&self, lines: &[String]) {
        self.put("lastupdate.txt", self.list_text(lines));
    }

    /// Serves the master list (`masterfilelist.txt`) with these lines and the others GDELT has.
    pub fn set_master_list(&self, lines: &[String]) {
        self.put("masterfilelist.txt", self.list_text(lines));
    }

    fn list_text(&self, lines: &[String]) -> Vec<u8> {
        let mut text = String::new();
        for line in lines {
            text.push_str(line);
            text.push('\n');
            let export = line.rsplit('/').next().unwrap_or_default();
            let stamp = export.trim_end_matches(".export.CSV.zip");
            text.push_str(&format!(
                "318084 bb27f78ba45f69a17ea6ed7755e9f8ff {}/{stamp}.mentions.CSV.zip\n\
                 10768507 ea8dde0beb0ba98810a92db068c0ce99 {}/{stamp}.gkg.csv.zip\n",
                self.base, self.base
            ));
        }
        text.into_bytes()
    }

    /// Makes each export take `delay` to be sent, as a slow network would: pollers then hold
    /// their claims long enough for others to meet them.
    #[allow(dead_code, reason = "used by the replica tests only")]
    pub fn slow_exports(&self, delay: std::time::Duration) {
        self.served.lock().expect("the served files").export_delay = delay;
    }

    /// How many times `name` was served whole.
    pub fn downloads(&self, name: &str) -> usize {
        self.served
            .lock()
            .expect("the served files")
            .downloads
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// The `[feeds.gdelt]` table of a server that follows this one, every interval short.
    pub fn feed_config(&self, catch_up_hours: u32) -> String {
        self.feed_config_with_lease(catch_up_hours, 60)
    }

    /// [`Self::feed_config`] with a lease of `lease_seconds`.
    #[allow(dead_code, reason = "used by the replica tests only")]
    pub fn feed_config_with_lease(&self, catch_up_hours: u32, lease_seconds: u64) -> String {
        format!(
            "[feeds.gdelt]\nenabled = true\nurl = \"{base}/lastupdate.txt\"\n\
             master_url = \"{base}/masterfilelist.txt\"\ninterval_seconds = 1\n\
             catch_up_hours = {catch_up_hours}\nretry_base_ms = 100\n\
             lease_seconds = {lease_seconds}\n",
            base = self.base
        )
    }
}

async fn serve_file(
    State(served): State<Arc<Mutex<Served>>>,
    Path(name): Path<String>,
) -> Response {
    let (bytes, delay) = {
        let mut served = served.lock().expect("the served files");
        let bytes = served.files.get(&name).cloned();
        if bytes.is_some() {
            *served.downloads.entry(name.clone()).or_default() += 1;
        }
        (bytes, served.export_delay)
    };
    let Some(bytes) = bytes else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if name.ends_with(".export.CSV.zip") {
        tokio::time::sleep(delay).await;
    }
    bytes.into_response()
}
