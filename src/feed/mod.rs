//! Feeds: `briefing serve` following GDELT 2.0's 15-minute event exports (`[feeds.gdelt]`).
//!
//! A layer of its own beside `schedule` and `delivery`, not inside `import::gdelt`: like them
//! it is a background task of the server that talks to the network (through the SSRF guard)
//! and to a ledger in the store, while `import::gdelt` stays what `briefing import` needs, the
//! file format and the CAMEO → PLOVER mapping, with no network and no ledger. The feed hands
//! each checked file to that same import, with the same [`Filter`].
//!
//! Each tick (`interval_seconds`) the poller reads GDELT's update list ([`list`]), and on its
//! first tick, or when the newest file in the ledger is older than the update list's by more
//! than one file, the master list too, for the exports of the last `catch_up_hours`. Each
//! export not yet in the ledger, and each failed one that is due again, is claimed in the file
//! ledger ([`crate::store::feeds`]) with a lease, so that across replicas on one PostgreSQL
//! database each file is imported once; then downloaded ([`fetch`]), its size and MD5 checked
//! against the list, imported, and marked imported with what the import counted. A failed
//! download, check or import is logged (WARN, naming the file and the reason) and marked
//! failed, due again after an exponential backoff (`retry_base_ms`, doubling, at most the
//! interval), and given up after [`MAX_ATTEMPTS`]. A poller that stops gives back the file it
//! holds; one that dies holding a file gives it up when its lease runs out.

pub mod fetch;
pub mod list;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use crate::delivery::guard::EgressGuard;
use crate::import::gdelt::{Filter, Skip};
use crate::ops::Metrics;
use crate::store::Store;
use crate::store::feeds::{FeedFileClaim, FeedFileCounts, ListedFile};
use fetch::FeedClient;

/// The ledger's name of the GDELT feed.
pub const GDELT: &str = "gdelt";

/// The defaults of `[feeds.gdelt]`, written nowhere else.
pub mod defaults {
    pub const URL: &str = "http://data.gdeltproject.org/gdeltv2/lastupdate.txt";
    pub const MASTER_URL: &str = "http://data.gdeltproject.org/gdeltv2/masterfilelist.txt";
    pub const INTERVAL_SECONDS: u64 = 900;
    pub const CATCH_UP_HOURS: u32 = 24;
    /// 31 days: the master list is read back no further.
    pub const MAX_CATCH_UP_HOURS: u32 = 744;
    pub const RETRY_BASE_MS: u64 = 30_000;
    pub const LEASE_SECONDS: u64 = 900;
    /// GDELT's zipped exports are a few hundred kB to a few MB.
    pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
    /// The most `max_file_bytes` may be: a file is held in memory while it is checked.
    pub const MAX_FILE_BYTES_LIMIT: u64 = 1024 * 1024 * 1024;
    pub const DOWNLOAD_TIMEOUT_SECONDS: u64 = 300;
}

/// A longer line of a list is not an entry (GDELT's are under 200 bytes).
pub const MAX_LIST_LINE_BYTES: usize = 4096;
/// The update list is three lines; anything near this is not GDELT's.
const MAX_UPDATE_LIST_BYTES: u64 = 1024 * 1024;
/// GDELT's master list grows by about 30 MB a year; it is streamed, never held.
const MAX_MASTER_LIST_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Exports kept from the master list: one per 15 minutes over the longest catch-up window.
const MAX_CATCH_UP_FILES: usize = (defaults::MAX_CATCH_UP_HOURS as usize) * 4;
/// Attempts at one file before it is given up (failed, never due again): with the default
/// backoff, about a day of retries, the last ones every `interval_seconds`. GDELT has files
/// that stay broken; each would otherwise be downloaded again forever.
pub const MAX_ATTEMPTS: i32 = 100;
/// Failed files retried per tick.
const MAX_DUE_PER_TICK: usize = 100;
/// GDELT publishes an export every 15 minutes.
const PUBLISHING_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// `[feeds.gdelt]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct GdeltFeedConfig {
    pub enabled: bool,
    /// The update list (`lastupdate.txt`).
    pub url: url::Url,
    /// The master list (`masterfilelist.txt`), read to catch up.
    pub master_url: url::Url,
    pub interval: Duration,
    /// How far back the master list is replayed after downtime.
    pub catch_up: Duration,
    pub filter: Filter,
    /// The delay after a first failure; it doubles with each further one, up to `interval`.
    pub retry_base: Duration,
    /// How long a poller holds a file before another may take it over.
    pub lease: Duration,
    /// Files larger than this are refused, whatever the list says.
    pub max_file_bytes: u64,
    /// A list or file not read within this is a failed attempt.
    pub download_timeout: Duration,
}

/// A feed URL as a setting takes it: absolute, http or https, with a host.
pub fn parse_feed_url(text: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(text.trim()).map_err(|error| format!("{text:?} is not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http or https URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}

/// The delay before attempt `attempt + 1` after `attempt` failed: `base`, doubling, at most
/// `cap` (but never below `base`).
pub fn backoff(base: Duration, cap: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    base.saturating_mul(1 << doublings).min(cap.max(base))
}

/// The GDELT feed's poller.
pub struct GdeltFeed {
    config: GdeltFeedConfig,
    store: Arc<dyn Store>,
    client: FeedClient,
    metrics: Arc<Metrics>,
    /// Unique per process: the ledger's `claimed_by`.
    owner: String,
    /// The URL of the file this poller holds right now, if any.
    held: std::sync::Mutex<Option<String>>,
}

impl GdeltFeed {
    pub fn new(
        config: GdeltFeedConfig,
        store: Arc<dyn Store>,
        guard: Arc<EgressGuard>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = FeedClient::new(
            guard,
            &[&config.url, &config.master_url],
            config.download_timeout,
        )?;
        Ok(Self {
            config,
            store,
            client,
            metrics,
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            held: std::sync::Mutex::new(None),
        })
    }

    /// Polls every `interval` until `stop` turns true. A stop in the middle of a file gives
    /// the file back (failed, due at once), so the next server to poll imports it without
    /// waiting out the lease; a server that dies holding one leaves it to the lease.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            feed = GDELT,
            url = %crate::domain::values::redacted_url(&self.config.url),
            interval_seconds = self.config.interval.as_secs(),
            "following the GDELT feed"
        );
        let mut caught_up = false;
        loop {
            let polled = tokio::select! {
                polled = self.poll(!caught_up) => Some(polled),
                _ = stop.wait_for(|stopping| *stopping) => None,
            };
            match polled {
                Some(Ok(caught)) => caught_up = caught,
                Some(Err(problem)) => {
                    tracing::warn!(feed = GDELT, problem = %problem, "feed poll failed")
                }
                None => {
                    self.give_back().await;
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.interval) => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
        }
    }

    /// Gives back the file this poller holds, if any: failed, due again at once.
    async fn give_back(&self) {
        let held = self
            .held
            .lock()
            .map(|mut held| held.take())
            .unwrap_or_default();
        let Some(url) = held else {
            return;
        };
        let reason = "interrupted: the server stopped during the download or import";
        match self
            .store
            .fail_feed_file(&url, &self.owner, reason, Some(chrono::TimeDelta::zero()))
            .await
        {
            Ok(()) => {
                tracing::info!(feed = GDELT, url = %crate::domain::values::redacted_setting(&url), "feed file given back on stop")
            }
            Err(error) => {
                tracing::warn!(feed = GDELT, %error, "cannot give back the feed file on stop; its lease will run out")
            }
        }
    }

    /// One tick: the lists read, every new or due file claimed and imported in time order.
    /// Whether the catch-up is done: a master list that cannot be read is logged, the tick
    /// goes on with the update list, and the next tick reads the master list again.
    async fn poll(&self, catch_up: bool) -> Result<bool, String> {
        let listed = self
            .read_list(&self.config.url, MAX_UPDATE_LIST_BYTES, None)
            .await
            .map_err(|problem| format!("cannot read the update list: {problem}"))?;
        let newest_known = self
            .store
            .newest_feed_file(GDELT)
            .await
            .map_err(|error| format!("cannot read the file ledger: {error}"))?;
        let newest_listed = listed.values().map(|file| file.file_time).max();
        let gap = match (newest_known, newest_listed) {
            (Some(known), Some(listed)) => listed - known > PUBLISHING_INTERVAL,
            (None, _) => true,
            (Some(_), None) => false,
        };
        let mut files = listed;
        let mut caught_up = true;
        if (catch_up || gap) && !self.config.catch_up.is_zero() {
            // At most 744 hours (the setting is checked), so always a chrono duration.
            let since =
                Utc::now() - chrono::Duration::from_std(self.config.catch_up).unwrap_or_default();
            match self
                .read_list(&self.config.master_url, MAX_MASTER_LIST_BYTES, Some(since))
                .await
            {
                Ok(missed) => {
                    tracing::info!(
                        feed = GDELT,
                        files = missed.len(),
                        since = %since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "read the master list to catch up"
                    );
                    for (key, file) in missed {
                        files.entry(key).or_insert(file);
                    }
                }
                Err(problem) => {
                    tracing::warn!(
                        feed = GDELT,
                        problem = %problem,
                        "cannot read the master list to catch up; trying again at the next poll"
                    );
                    caught_up = false;
                }
            }
        }
        let due = self
            .store
            .due_feed_files(GDELT, MAX_DUE_PER_TICK)
            .await
            .map_err(|error| format!("cannot read the file ledger: {error}"))?;
        for file in due {
            files
                .entry((file.file_time, file.url.clone()))
                .or_insert(file);
        }
        for file in files.into_values() {
            self.claim_and_import(file).await?;
        }
        Ok(caught_up)
    }

    /// The exports a list names (those published after `since`, when given), by time; a
    /// malformed line is logged and passed over.
    async fn read_list(
        &self,
        url: &url::Url,
        max_bytes: u64,
        since: Option<chrono::DateTime<Utc>>,
    ) -> Result<BTreeMap<(chrono::DateTime<Utc>, String), ListedFile>, String> {
        let mut files = BTreeMap::new();
        let mut malformed = 0_u64;
        let mut first_problem = None;
        self.client
            .each_line(url, max_bytes, |number, line| {
                match line.and_then(list::parse_line) {
                    Ok(Some(file)) if since.is_none_or(|since| file.file_time > since) => {
                        files.insert((file.file_time, file.url.clone()), file);
                        if files.len() > MAX_CATCH_UP_FILES {
                            files.pop_first();
                        }
                    }
                    Ok(_) => {}
                    Err(problem) => {
                        malformed += 1;
                        first_problem.get_or_insert((number, problem));
                    }
                }
            })
            .await?;
        if let Some((line, problem)) = first_problem {
            tracing::warn!(
                feed = GDELT,
                list = %crate::domain::values::redacted_url(url),
                malformed,
                line,
                problem = %problem,
                "passed over malformed lines of a feed list"
            );
        }
        Ok(files)
    }

    /// Imports `file` if this poller wins its claim. Only a ledger that cannot be written
    /// ends the tick; a file that fails is marked so and the tick goes on.
    async fn claim_and_import(&self, file: ListedFile) -> Result<(), String> {
        let claim = FeedFileClaim {
            feed: GDELT.to_owned(),
            file: file.clone(),
            owner: self.owner.clone(),
            lease: chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::TimeDelta::MAX),
        };
        let attempt = match self.store.claim_feed_file(&claim).await {
            Ok(Some(attempt)) => attempt,
            Ok(None) => return Ok(()),
            Err(error) => return Err(format!("cannot claim {}: {error}", file.file_name)),
        };
        if let Ok(mut held) = self.held.lock() {
            *held = Some(file.url.clone());
        }
        let started = std::time::Instant::now();
        let outcome = self.fetch_and_import(&file).await;
        if let Ok(mut held) = self.held.lock() {
            *held = None;
        }
        match outcome {
            Ok(counts) => {
                match self
                    .store
                    .finish_feed_file(&file.url, &self.owner, counts)
                    .await
                {
                    Ok(()) => {
                        self.metrics.record_feed_file(GDELT, "imported");
                        tracing::info!(
                            feed = GDELT,
                            file = %file.file_name,
                            attempt,
                            rows = counts.rows_read,
                            imported = counts.rows_imported,
                            skipped = counts.rows_skipped,
                            seconds = started.elapsed().as_secs_f64(),
                            "feed file imported"
                        );
                    }
                    Err(error) => tracing::warn!(
                        feed = GDELT,
                        file = %file.file_name,
                        %error,
                        "feed file imported, but its claim had run out: another poller holds it now"
                    ),
                }
            }
            Err(reason) => {
                self.metrics.record_feed_file(GDELT, "failed");
                let retry_in = (attempt < MAX_ATTEMPTS)
                    .then(|| backoff(self.config.retry_base, self.config.interval, attempt));
                match retry_in {
                    Some(delay) => tracing::warn!(
                        feed = GDELT,
                        file = %file.file_name,
                        attempt,
                        reason = %reason,
                        retry_in_seconds = delay.as_secs_f64(),
                        "feed file refused; retried later"
                    ),
                    None => tracing::warn!(
                        feed = GDELT,
                        file = %file.file_name,
                        attempt,
                        reason = %reason,
                        max_attempts = MAX_ATTEMPTS,
                        "feed file refused; given up, it will not be tried again"
                    ),
                }
                let retry_in = retry_in.map(|delay| {
                    chrono::Duration::from_std(delay).unwrap_or(chrono::TimeDelta::MAX)
                });
                if let Err(error) = self
                    .store
                    .fail_feed_file(&file.url, &self.owner, &reason, retry_in)
                    .await
                {
                    tracing::warn!(feed = GDELT, file = %file.file_name, %error, "cannot mark the feed file failed");
                }
            }
        }
        Ok(())
    }

    /// Downloads and checks a file, then imports it through `import::gdelt` with the feed's
    /// filter; the error says what went wrong, in words for the ledger and the log.
    async fn fetch_and_import(&self, file: &ListedFile) -> Result<FeedFileCounts, String> {
        let body = self
            .client
            .download(file, self.config.max_file_bytes)
            .await?;
        let summary = crate::import::gdelt::import(
            Some(self.store.as_ref()),
            Box::new(std::io::Cursor::new(body)),
            self.config.filter.clone(),
        )
        .await
        .map_err(|error| format!("import failed: {error:#}"))?;
        let skipped = Skip::ALL
            .into_iter()
            .map(|reason| summary.skipped(reason))
            .sum();
        Ok(FeedFileCounts {
            rows_read: summary.rows,
            rows_imported: summary.imported,
            rows_skipped: skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_the_base_up_to_the_interval() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let delays: Vec<u128> = (1..=6)
            .map(|attempt| backoff(base, cap, attempt).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(
            backoff(Duration::from_secs(30), Duration::from_secs(1), 3).as_secs(),
            30
        );
        assert_eq!(backoff(base, cap, i32::MAX), cap);
    }

    #[test]
    fn feed_urls_must_be_http_with_a_host() {
        assert!(parse_feed_url(defaults::URL).is_ok());
        assert!(parse_feed_url(defaults::MASTER_URL).is_ok());
        for bad in [
            "",
            "data.gdeltproject.org/x",
            "ftp://h/x",
            "file:///etc/passwd",
        ] {
            assert!(parse_feed_url(bad).is_err(), "{bad:?}");
        }
    }
}
