//! Waits for a database connection. sqlx keeps no count of them, but it reports each acquire
//! that took longer than the pools' slow-acquire threshold ([`crate::store::POOL_WAIT`]) as a
//! tracing event under [`TARGET`]; an acquire that finds an idle connection takes microseconds,
//! so every such event is a call that waited for a connection to come free. This layer counts
//! them for `/metrics`, whatever the log filter shows.

use std::sync::atomic::{AtomicU64, Ordering};

use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};

/// Where sqlx reports an acquire.
pub const TARGET: &str = "sqlx::pool::acquire";

static WAITS: AtomicU64 = AtomicU64::new(0);

/// Acquires that waited, since the process started.
pub fn waits() -> u64 {
    WAITS.load(Ordering::Relaxed)
}

/// Counts sqlx's slow-acquire events; give it a filter that lets [`TARGET`] through.
pub struct PoolWaitCounter;

impl<S: Subscriber> Layer<S> for PoolWaitCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() == TARGET {
            WAITS.fetch_add(1, Ordering::Relaxed);
        }
    }
}
