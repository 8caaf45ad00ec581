//! What `/metrics` reports, in the Prometheus text format: the events the server sees as they
//! happen (calls, digest runs, delivery attempts, feed files) counted here, and what the store
//! holds (deliveries by state, the outbox, the pool, the feed's file ledger) read from it at
//! each scrape (`http.rs`), so every replica on one PostgreSQL database reports the same outbox
//! and the same ledger.
//!
//! One [`Metrics`] per server, handed to the layers that record into it: the tests run many
//! servers in one process, and each must count only its own. Every label takes few values:
//! gRPC methods are the served ones (an unknown path is counted as `unknown`), codes are
//! gRPC's 17, kinds are the configured digest kinds. Names follow Prometheus' naming guide:
//! `briefing_` first, the unit last, `_total` on counters.

use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// The version of this build and the commit it was built from (`build.rs`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("BRIEFING_BUILD_COMMIT");

/// Seconds, from a fast read (1 ms) to a slow stream start or compile (10 s).
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Seconds a digest takes to compile: from an empty day to a GDELT-sized one.
const RUN_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The server's metrics and the registry `/metrics` encodes.
pub struct Metrics {
    registry: Registry,
    /// service, method, code.
    calls: IntCounterVec,
    /// service, method.
    call_duration: HistogramVec,
    /// kind, state (`done` or `failed`).
    runs: IntCounterVec,
    /// kind.
    run_duration: HistogramVec,
    /// outcome: `succeeded`, `retry` or `dead`.
    attempts: IntCounterVec,
    /// feed, outcome (`imported` or `failed`).
    feed_files_total: IntCounterVec,
    /// Read from the store at each scrape: feed files by state.
    pub feed_files: IntGaugeVec,
    /// Read from the store at each scrape: by feed, the age of the newest imported file (by
    /// the time in its name); no series until one is imported.
    pub feed_last_imported_age: prometheus::GaugeVec,
    /// Read from the store at each scrape: deliveries by state.
    pub deliveries: IntGaugeVec,
    pub outbox_depth: IntGauge,
    pub outbox_oldest_age: Gauge,
    /// pool (`reader` and `writer` on SQLite, `main` on PostgreSQL), state (`in_use`, `idle`).
    pub pool_connections: IntGaugeVec,
    /// Acquires that waited for a connection (see `pool_waits`).
    pub pool_waits: prometheus::IntCounter,
    pub store_up: IntGauge,
    /// reader: `watcher` (a WatchDigests stream's replay, or news the notifier announced) or
    /// `notifier` (the one poll per process).
    pub watch_store_reads: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("briefing".to_owned()), None)
            .expect("the prefix `briefing` is a valid metric name");
        let register = |collector: Box<dyn prometheus::core::Collector>| {
            registry
                .register(collector)
                .expect("each metric is registered once, under a valid name");
        };
        let build = IntGaugeVec::new(
            Opts::new(
                "build_info",
                "The version and commit of this build; always 1",
            ),
            &["version", "commit"],
        )
        .expect("valid metric");
        build.with_label_values(&[VERSION, COMMIT]).set(1);
        register(Box::new(build));
        let calls = IntCounterVec::new(
            Opts::new(
                "grpc_server_handled_total",
                "gRPC calls answered, by service, method and status code",
            ),
            &["service", "method", "code"],
        )
        .expect("valid metric");
        register(Box::new(calls.clone()));
        let call_duration = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Time from a call's arrival to its response headers (a stream's start), in seconds",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["service", "method"],
        )
        .expect("valid metric");
        register(Box::new(call_duration.clone()));
        let runs = IntCounterVec::new(
            Opts::new(
                "digest_runs_total",
                "Digest compilations this server ran, by kind and how they ended (done or failed)",
            ),
            &["kind", "state"],
        )
        .expect("valid metric");
        register(Box::new(runs.clone()));
        let run_duration = HistogramVec::new(
            HistogramOpts::new(
                "digest_run_duration_seconds",
                "Time to compile and store a digest, in seconds",
            )
            .buckets(RUN_BUCKETS.to_vec()),
            &["kind"],
        )
        .expect("valid metric");
        register(Box::new(run_duration.clone()));
        let attempts = IntCounterVec::new(
            Opts::new(
                "delivery_attempts_total",
                "Delivery attempts this server made, by outcome: succeeded, retry (failed, tried again later) or dead (failed for good)",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        register(Box::new(attempts.clone()));
        let feed_files_total = IntCounterVec::new(
            Opts::new(
                "feed_files_total",
                "Feed files this server downloaded and handled, by feed and outcome: imported, or failed (refused by a size or MD5 check, a failed download or import; retried later)",
            ),
            &["feed", "outcome"],
        )
        .expect("valid metric");
        register(Box::new(feed_files_total.clone()));
        let feed_files = IntGaugeVec::new(
            Opts::new(
                "feed_files",
                "Files in the feeds' file ledger (every replica's), by state: claimed, imported or failed",
            ),
            &["state"],
        )
        .expect("valid metric");
        register(Box::new(feed_files.clone()));
        let feed_last_imported_age = prometheus::GaugeVec::new(
            Opts::new(
                "feed_last_imported_file_age_seconds",
                "Seconds since the newest imported feed file was published (the time in its name); GDELT publishes every 15 minutes",
            ),
            &["feed"],
        )
        .expect("valid metric");
        register(Box::new(feed_last_imported_age.clone()));
        let deliveries = IntGaugeVec::new(
            Opts::new(
                "deliveries",
                "Deliveries in the store, by state; dead ones are the dead letters",
            ),
            &["state"],
        )
        .expect("valid metric");
        register(Box::new(deliveries.clone()));
        let outbox_depth = IntGauge::new(
            "outbox_depth",
            "Deliveries waiting to be made (state pending)",
        )
        .expect("valid metric");
        register(Box::new(outbox_depth.clone()));
        let outbox_oldest_age = Gauge::new(
            "outbox_oldest_age_seconds",
            "Age of the oldest pending delivery, in seconds; 0 when none is pending",
        )
        .expect("valid metric");
        register(Box::new(outbox_oldest_age.clone()));
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Open database connections, by pool and state (in_use or idle)",
            ),
            &["pool", "state"],
        )
        .expect("valid metric");
        register(Box::new(pool_connections.clone()));
        let pool_waits = prometheus::IntCounter::new(
            "db_pool_waits_total",
            "Database calls that waited for a pool connection to come free (longer than 1 ms)",
        )
        .expect("valid metric");
        register(Box::new(pool_waits.clone()));
        let store_up = IntGauge::new(
            "store_up",
            "1 when the store answered the last scrape, 0 when it did not",
        )
        .expect("valid metric");
        register(Box::new(store_up.clone()));
        let watch_store_reads = IntCounterVec::new(
            Opts::new(
                "watch_store_reads_total",
                "Store reads made for WatchDigests, by reader: a watcher (its replay, or news the notifier announced) or the one notifier (its poll)",
            ),
            &["reader"],
        )
        .expect("valid metric");
        register(Box::new(watch_store_reads.clone()));
        Self {
            registry,
            calls,
            call_duration,
            runs,
            run_duration,
            attempts,
            feed_files_total,
            feed_files,
            feed_last_imported_age,
            deliveries,
            outbox_depth,
            outbox_oldest_age,
            pool_connections,
            pool_waits,
            store_up,
            watch_store_reads,
        }
    }

    /// A gRPC call answered: `path` is `/package.Service/Method`, `code` gRPC's name of it.
    pub fn record_call(&self, path: &str, code: &str, seconds: f64) {
        let (service, method) = split_path(path);
        self.calls.with_label_values(&[service, method, code]).inc();
        self.call_duration
            .with_label_values(&[service, method])
            .observe(seconds);
    }

    /// A digest run of `kind` ended, `done` or `failed`, after `seconds`.
    pub fn record_run(&self, kind: &str, done: bool, seconds: f64) {
        let state = if done { "done" } else { "failed" };
        self.runs.with_label_values(&[kind, state]).inc();
        self.run_duration
            .with_label_values(&[kind])
            .observe(seconds);
    }

    /// A delivery attempt ended: `succeeded`, `retry` or `dead`.
    pub fn record_attempt(&self, outcome: &str) {
        self.attempts.with_label_values(&[outcome]).inc();
    }

    /// A feed file this server handled: `imported` or `failed`.
    pub fn record_feed_file(&self, feed: &str, outcome: &str) {
        self.feed_files_total
            .with_label_values(&[feed, outcome])
            .inc();
    }

    /// Everything, in the Prometheus text format.
    pub fn encode(&self) -> prometheus::Result<String> {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// The service and method of a gRPC path; paths that are not `/service/method` (which no
/// served method has) are `unknown`, so a client cannot make new label values at will.
fn split_path(path: &str) -> (&str, &str) {
    match path.trim_start_matches('/').split_once('/') {
        Some((service, method)) if !service.is_empty() && !method.contains('/') => {
            (service, method)
        }
        _ => ("unknown", "unknown"),
    }
}
