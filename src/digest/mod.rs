//! The alliance-and-tension digest: [`compile`] is a pure function from a day's stored items
//! (plus the trailing 30 days, the week before, the officials and the trips) to a
//! [`Compiled`] digest and its per-pair table; [`render`] turns the digest into Markdown.
//! Same inputs, same bytes.

mod compile;
pub mod model;
mod render;
mod side;
mod trend;

pub use crate::domain::pairs;
pub use compile::{Inputs, compile};
pub use model::{
    CitedItem, CitedSource, Compiled, Digest, DigestName, Dyad, Evidence, Headline, Line,
    QuadCounts, Trend,
};
pub use side::{Alliance, Side, default_alliances, default_rivals};
pub use trend::{Pair, TrailingNets};

/// The kind compiled when none is named.
pub const DEFAULT_KIND: &str = crate::domain::subscription::DEFAULT_DIGEST_KIND;

/// How far back the trend of a dyad looks.
pub const TRAILING_DAYS: i64 = 30;

/// How far ahead Upcoming and Travel look.
pub const UPCOMING_DAYS: i64 = 7;

/// The days before the digest's day its headline is set against.
pub const HEADLINE_DAYS: i64 = 7;

/// At most this many planned items are read for Upcoming.
pub const UPCOMING_READ_LIMIT: usize = 500;
