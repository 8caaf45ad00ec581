//! The records of an import file and the demo data set, parsed without a store: what the
//! digest's tests read the seed article from.

use serde::Deserialize;

use crate::domain::{AgendaItemRecord, OfficialRecord, TripRecord};

/// The seed article entered as data.
pub const DEMO_DATA: &str = include_str!("demo.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    #[serde(default)]
    pub id: String,
    pub official: Option<OfficialRecord>,
    pub trip: Option<TripRecord>,
    pub agenda_item: Option<AgendaItemRecord>,
}

/// Reads a JSON array or NDJSON.
pub fn parse_file(text: &str) -> anyhow::Result<Vec<Record>> {
    if text.trim_start().starts_with('[') {
        return Ok(serde_json::from_str(text)?);
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .map_err(|error| anyhow::anyhow!("line {}: {error}", number + 1))
        })
        .collect()
}
