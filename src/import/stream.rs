//! `briefing import FILE|-`: records streamed from the file, checked as the API checks them,
//! and written in batches, so memory stays bounded whatever the file's size.
//!
//! A thread reads and checks while the store writes the batch before: at most three batches
//! are held at once (one being written, one waiting, one being filled). Within a batch the
//! officials are stored first, then the trips, then the agenda items in one transaction, so a
//! reference resolves when its target comes earlier in the file or in the same batch.
//!
//! The import stops at the first bad record. Every batch before the bad record's batch is
//! kept; none of its batch's agenda items is written: a record that fails a check stops the
//! reading before its batch is written, and an agenda item the store refuses (its id taken, a
//! reference to nothing) rolls its batch's transaction back. Officials and trips are stored
//! one at a time, so those of the bad record's batch stored before it are kept. `--dry-run`
//! checks every record, reports every bad one and writes nothing.

use std::io::{IsTerminal as _, Write as _};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::source::{self, InputFormat};
use super::{Record, id_of};
use crate::domain::{AgendaItem, Official, ResourceId, Trip, Violations};
use crate::store::{Store, StoreError};

/// How an import runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub format: InputFormat,
    /// Records per batch (one transaction of agenda items).
    pub batch_size: usize,
    /// Check every record, write nothing.
    pub dry_run: bool,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Records read and checked, bad ones included.
    pub checked: u64,
    /// Records written to the store.
    pub stored: u64,
    /// Bad records found: at most one unless a dry run.
    pub bad: u64,
    /// Where the import stopped: the bad record's line and the first line of its batch.
    pub stopped: Option<Stop>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Stop {
    pub line: u64,
    pub batch_start: u64,
}

/// A record that passed its checks.
enum Value {
    Official(Official),
    Trip(Trip),
    AgendaItem(AgendaItem),
}

#[derive(Default)]
struct Batch {
    /// The line of its first record.
    start: u64,
    records: Vec<(u64, ResourceId, Value)>,
}

enum Message {
    Batch(Batch),
    Bad {
        line: u64,
        batch_start: u64,
        problem: String,
    },
}

/// Imports `path` into `store` (None for a dry run), writing each bad record's line and
/// problem to `problems` as it is found, and a progress line on stderr when it is a terminal.
pub async fn import(
    path: &Path,
    store: Option<&dyn Store>,
    options: Options,
    mut problems: impl FnMut(u64, &str),
) -> anyhow::Result<Summary> {
    let input = source::open(path)?;
    let started = Instant::now();
    let (sender, mut receiver) = mpsc::channel::<Message>(1);
    let reader = tokio::task::spawn_blocking(move || read_batches(input, options, &sender));
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let mut summary = Summary::default();
    while let Some(message) = receiver.recv().await {
        match message {
            Message::Batch(batch) => {
                let batch_len = batch.records.len() as u64;
                summary.checked += batch_len;
                if let Some(store) = store {
                    if let Err((line, problem)) = write(store, batch.records).await? {
                        problems(line, &problem);
                        summary.bad += 1;
                        summary.stopped = Some(Stop {
                            line,
                            batch_start: batch.start,
                        });
                        break;
                    }
                    summary.stored += batch_len;
                }
            }
            Message::Bad {
                line,
                batch_start,
                problem,
            } => {
                problems(line, &problem);
                summary.checked += 1;
                summary.bad += 1;
                if !options.dry_run {
                    summary.stopped = Some(Stop { line, batch_start });
                }
            }
        }
        progress.show(summary.checked, started.elapsed());
    }
    // The reader stops once it finds the receiver gone.
    drop(receiver);
    reader.await?;
    progress.clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Reads, checks and batches the records; stops at the first bad one unless a dry run.
fn read_batches(
    input: Box<dyn std::io::BufRead + Send>,
    options: Options,
    sender: &mpsc::Sender<Message>,
) {
    let mut batch = Batch::default();
    let mut stopped = false;
    source::for_each_record(input, options.format, |line, record| {
        if batch.records.is_empty() {
            batch.start = line;
        }
        match record.and_then(check) {
            Ok((id, value)) => batch.records.push((line, id, value)),
            Err(problem) => {
                let batch_start = if options.dry_run { line } else { batch.start };
                let bad = Message::Bad {
                    line,
                    batch_start,
                    problem,
                };
                if sender.blocking_send(bad).is_err() || !options.dry_run {
                    stopped = true;
                    return ControlFlow::Break(());
                }
            }
        }
        if batch.records.len() >= options.batch_size {
            let full = std::mem::take(&mut batch);
            if sender.blocking_send(Message::Batch(full)).is_err() {
                stopped = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    // After a bad record (not in a dry run) its batch is dropped unwritten.
    if !stopped && !batch.records.is_empty() {
        let _ = sender.blocking_send(Message::Batch(batch));
    }
}

/// The checks the API makes of a record before it reaches the store.
fn check(record: Record) -> Result<(ResourceId, Value), String> {
    let id = id_of(&record.id);
    let value = match (record.official, record.trip, record.agenda_item) {
        (Some(official), None, None) => Official::parse(&official)
            .map(Value::Official)
            .map_err(|found| found.within("official")),
        (None, Some(trip), None) => Trip::parse(&trip)
            .map(Value::Trip)
            .map_err(|found| found.within("trip")),
        (None, None, Some(item)) => AgendaItem::parse(&item)
            .map(Value::AgendaItem)
            .map_err(|found| found.within("agenda_item")),
        _ => return Err("must hold exactly one of official, trip or agenda_item".into()),
    };
    match (id, value) {
        (Ok(id), Ok(value)) => Ok((id, value)),
        (id, value) => {
            let mut violations: Violations = value.err().unwrap_or_default();
            if let Err(problem) = id {
                violations.add("id", problem);
            }
            Err(violations.to_string())
        }
    }
}

/// A record the store refused: its line and why.
type Refusal = (u64, String);

/// Writes a batch: its officials, then its trips, one at a time, then its agenda items in one
/// transaction, all or none.
async fn write(
    store: &dyn Store,
    records: Vec<(u64, ResourceId, Value)>,
) -> anyhow::Result<Result<(), Refusal>> {
    let mut trips = Vec::new();
    let mut items = Vec::with_capacity(records.len());
    let mut item_lines = Vec::with_capacity(records.len());
    for (line, id, value) in records {
        match value {
            Value::Official(official) => {
                if let Err(error) = store.create_official(id, official).await {
                    return refused(line, "id", error);
                }
            }
            Value::Trip(trip) => trips.push((line, id, trip)),
            Value::AgendaItem(item) => {
                item_lines.push(line);
                items.push((id, item));
            }
        }
    }
    for (line, id, trip) in trips {
        if let Err(error) = store.create_trip(id, trip).await {
            return refused(line, "trip", error);
        }
    }
    if items.is_empty() {
        return Ok(Ok(()));
    }
    match store.import_agenda_batch(items).await? {
        Ok(_) => Ok(Ok(())),
        Err((position, error)) => refused(item_lines[position], "agenda_item", error),
    }
}

/// A refusal that is the record's fault stops the import at it; any other store failure
/// ends the command.
fn refused(line: u64, within: &str, error: StoreError) -> anyhow::Result<Result<(), Refusal>> {
    match error {
        StoreError::AlreadyExists { .. } => Ok(Err((line, format!("id: {error}")))),
        StoreError::BadReference { .. } | StoreError::NotFound { .. } => {
            Ok(Err((line, format!("{within}.{error}"))))
        }
        other => Err(other.into()),
    }
}

/// The progress line on a terminal: records, rate, elapsed; redrawn at most twice a second.
struct Progress {
    on: bool,
    shown: Option<Instant>,
}

impl Progress {
    fn new(on: bool) -> Self {
        Self { on, shown: None }
    }

    fn show(&mut self, records: u64, elapsed: Duration) {
        if !self.on
            || self
                .shown
                .is_some_and(|shown| shown.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.shown = Some(Instant::now());
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[K{records} records, {} records/s, {:.0} s",
            rate(records, elapsed),
            elapsed.as_secs_f64()
        );
        let _ = stderr.flush();
    }

    fn clear(&self) {
        if self.on && self.shown.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// Records per second, whole.
pub fn rate(records: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return records;
    }
    (records as f64 / seconds) as u64
}
