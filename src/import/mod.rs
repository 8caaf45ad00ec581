//! Loading records: `briefing import FILE|-` ([`stream`], read by [`source`]) and the demo
//! data set ([`load`]).
//!
//! A file is a JSON array of records, or NDJSON with one record per line. A record holds
//! exactly one of `official`, `trip` or `agenda_item` (in the same shape as the API's
//! messages, enums by name) and optionally the `id` to store it under. Officials are stored
//! first, then trips, then agenda items (of the whole demo set; of each batch of a file), so
//! references resolve whatever the order.

pub mod gdelt;
pub mod records;
pub mod source;
pub mod stream;

pub use records::{DEMO_DATA, Record, parse_file};

use crate::domain::{AgendaItem, Official, ResourceId, Trip, Violations};
use crate::store::{Store, StoreError};

#[derive(Debug, Default)]
pub struct Report {
    pub stored: usize,
    /// One line per rejected record: which record, which field, what is wrong.
    pub problems: Vec<String>,
}

pub async fn load(store: &dyn Store, records: Vec<Record>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut officials = Vec::new();
    let mut trips = Vec::new();
    let mut items = Vec::new();
    for (position, record) in records.into_iter().enumerate() {
        match (record.official, record.trip, record.agenda_item) {
            (Some(official), None, None) => officials.push((position, record.id, official)),
            (None, Some(trip), None) => trips.push((position, record.id, trip)),
            (None, None, Some(item)) => items.push((position, record.id, item)),
            _ => report.problems.push(format!(
                "record {position}: must hold exactly one of official, trip or agenda_item"
            )),
        }
    }
    for (position, raw_id, official) in officials {
        let outcome = match (id_of(&raw_id), Official::parse(&official)) {
            (Ok(id), Ok(value)) => store
                .create_official(id, value)
                .await
                .map(|_| ())
                .map_err(Problem::Store),
            (id, value) => Err(Problem::invalid(id.err(), value.err(), "official")),
        };
        report.note(position, "official", outcome)?;
    }
    for (position, raw_id, trip) in trips {
        let outcome = match (id_of(&raw_id), Trip::parse(&trip)) {
            (Ok(id), Ok(value)) => store
                .create_trip(id, value)
                .await
                .map(|_| ())
                .map_err(Problem::Store),
            (id, value) => Err(Problem::invalid(id.err(), value.err(), "trip")),
        };
        report.note(position, "trip", outcome)?;
    }
    let mut batch = Vec::new();
    let mut positions = Vec::new();
    for (position, raw_id, item) in items {
        match (id_of(&raw_id), AgendaItem::parse(&item)) {
            (Ok(id), Ok(value)) => {
                batch.push((id, value));
                positions.push(position);
            }
            (id, value) => report.note(
                position,
                "agenda_item",
                Err(Problem::invalid(id.err(), value.err(), "agenda_item")),
            )?,
        }
    }
    if !batch.is_empty() {
        let outcomes = store.import_agenda_items(batch).await?;
        for (position, outcome) in positions.into_iter().zip(outcomes) {
            report.note(
                position,
                "agenda_item",
                outcome.map(|_| ()).map_err(Problem::Store),
            )?;
        }
    }
    Ok(report)
}

/// Loads the demo data set unless the store already holds officials.
pub async fn load_demo_if_empty(store: &dyn Store) -> anyhow::Result<Report> {
    let page = crate::store::PageRequest {
        size: 1,
        after: None,
    };
    if !store
        .list_officials(&Default::default(), page)
        .await?
        .items
        .is_empty()
    {
        return Ok(Report::default());
    }
    let report = load(store, parse_file(DEMO_DATA)?).await?;
    anyhow::ensure!(
        report.problems.is_empty(),
        "demo data is invalid: {}",
        report.problems.join("; ")
    );
    Ok(report)
}

fn id_of(raw: &str) -> Result<ResourceId, String> {
    if raw.is_empty() {
        Ok(ResourceId::generate())
    } else {
        ResourceId::parse(raw)
    }
}

enum Problem {
    Invalid(Violations),
    Store(StoreError),
}

impl Problem {
    fn invalid(id: Option<String>, value: Option<Violations>, field: &str) -> Self {
        let mut violations = value.map(|found| found.within(field)).unwrap_or_default();
        if let Some(problem) = id {
            violations.add("id", problem);
        }
        Self::Invalid(violations)
    }
}

impl Report {
    /// Records an outcome; a storage failure other than a per-record one stops the load.
    fn note(
        &mut self,
        position: usize,
        kind: &str,
        outcome: Result<(), Problem>,
    ) -> anyhow::Result<()> {
        match outcome {
            Ok(()) => self.stored += 1,
            Err(Problem::Invalid(violations)) => self
                .problems
                .push(format!("record {position} ({kind}): {violations}")),
            Err(Problem::Store(
                error @ (StoreError::AlreadyExists { .. }
                | StoreError::BadReference { .. }
                | StoreError::NotFound { .. }),
            )) => self
                .problems
                .push(format!("record {position} ({kind}): {error}")),
            Err(Problem::Store(error)) => return Err(error.into()),
        }
        Ok(())
    }
}
