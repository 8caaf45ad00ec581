//! The alliance-and-tension digest: [`compile`] is a pure function from a day's stored items
//! (plus the trailing 30 days, the 7 days before and after, the officials and the trips), seen
//! from one desk's [`Side`], to a bounded briefing; [`render`](render::render) turns it into
//! Markdown. Same inputs, same bytes.

mod cite;
mod compile;
mod day;
mod inputs;
pub mod model;
mod people;
mod render;
mod side;
mod trend;

pub use cite::{cite_in_full, needing_full_items};
pub use compile::compile;
pub use inputs::Inputs;
pub use model::{CitedItem, Compiled, Digest, DigestName, Dyad, Evidence, Headline, Line, Trend};
pub use render::MARKDOWN_BUDGET;
pub use side::{Alliance, Side, default_alliances, default_rivals};
pub use trend::TrailingNets;

/// The kind compiled when none is named.
pub const DEFAULT_KIND: &str = crate::domain::subscription::DEFAULT_DIGEST_KIND;

/// How far back the trend of a dyad looks.
pub const TRAILING_DAYS: i64 = 30;
/// How far ahead Upcoming looks.
pub const UPCOMING_DAYS: i64 = 7;
/// The days the headline sets the day against.
pub const HEADLINE_DAYS: i64 = 7;
/// Planned items of the days ahead read for Upcoming, at most.
pub const UPCOMING_READ_LIMIT: usize = 500;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
