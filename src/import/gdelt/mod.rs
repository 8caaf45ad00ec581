//! GDELT 2.0 event exports in: `briefing import --format gdelt FILE|-`.
//!
//! A row becomes an agenda item when its event has a PLOVER type ([`cameo`]) and both its
//! actors are states ([`actors`]) of two different countries; every other row is skipped and
//! counted by reason. The item's id is `gdelt-{GLOBALEVENTID}`, so importing a file twice
//! stores nothing new. Files are read as GDELT publishes them, plain, `.gz` or `.zip` (told by
//! their first bytes), a line at a time: memory stays bounded whatever the file's size.

pub mod actors;
pub mod cameo;
pub mod row;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use crate::domain::{
    AgendaItem, AgendaItemRecord, CountryCode, ResourceId, source::SourceRecord, values::ActorCode,
};
use crate::store::{Store, StoreError};

pub use row::Row;

/// Which mapped rows to keep: the feed's and the command line's filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Keep rows with at least one of these countries as actor or recipient; empty keeps all.
    pub countries: Vec<CountryCode>,
    /// Keep rows reported by at least this many sources.
    pub min_sources: u32,
    /// Keep only the rows GDELT marks as the root event of their sentence.
    pub root_events_only: bool,
}

/// Why a row was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// An actor's country is empty, a region (`EUR`) or no state.
    NoActorCountry,
    /// Both actors are of one country: no pair for the digest.
    SameCountry,
    /// The event is a CAMEO public statement (01), which PLOVER codes no type for.
    NoPloverType,
    /// The filter left it out.
    Filtered,
    /// An item with its id is stored already.
    Duplicate,
    /// The line is not a GDELT event row, or its values are not valid.
    Malformed,
}

impl Skip {
    pub const ALL: [Skip; 6] = [
        Self::NoActorCountry,
        Self::SameCountry,
        Self::NoPloverType,
        Self::Filtered,
        Self::Duplicate,
        Self::Malformed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::NoActorCountry => "no actor country",
            Self::SameCountry => "same country on both sides",
            Self::NoPloverType => "no PLOVER type",
            Self::Filtered => "filtered",
            Self::Duplicate => "duplicate",
            Self::Malformed => "malformed",
        }
    }
}

/// Malformed rows reported by line; past this many they are only counted.
pub const MAX_REPORTED_LINES: usize = 100;
/// A row longer than this is malformed (GDELT's are under 2 kB); it bounds the line buffer.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Items written per store transaction.
const BATCH: usize = 1000;

/// What an import read, stored and skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub rows: u64,
    pub imported: u64,
    pub skipped: BTreeMap<Skip, u64>,
    /// The first [`MAX_REPORTED_LINES`] malformed rows: 1-based line number and problem.
    pub malformed_lines: Vec<(u64, String)>,
}

impl Summary {
    pub fn skipped(&self, reason: Skip) -> u64 {
        self.skipped.get(&reason).copied().unwrap_or(0)
    }

    fn skip(&mut self, reason: Skip) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    fn malformed(&mut self, line: u64, problem: String) {
        self.skip(Skip::Malformed);
        if self.malformed_lines.len() < MAX_REPORTED_LINES {
            self.malformed_lines.push((line, problem));
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} rows read, {} imported; skipped:",
            self.rows, self.imported
        )?;
        for (position, reason) in Skip::ALL.into_iter().enumerate() {
            let separator = if position == 0 { " " } else { ", " };
            write!(
                formatter,
                "{separator}{} {}",
                self.skipped(reason),
                reason.label()
            )?;
        }
        for (line, problem) in &self.malformed_lines {
            write!(formatter, "\n  line {line}: {problem}")?;
        }
        let unlisted = self.skipped(Skip::Malformed) as usize - self.malformed_lines.len();
        if unlisted > 0 {
            write!(formatter, "\n  and {unlisted} more malformed rows")?;
        }
        Ok(())
    }
}

/// Why one row gives no item.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    Skip(Skip),
    Malformed(String),
}

/// The item a row becomes, under its id, or why it becomes none.
pub fn map_row(row: &Row<'_>, filter: &Filter) -> Result<(ResourceId, AgendaItem), Rejection> {
    let mapping = cameo::lookup(row.event_code, row.event_base_code, row.event_root_code)
        .ok_or(Rejection::Skip(Skip::NoPloverType))?;
    let (Some(actor), Some(recipient)) = (
        actors::actor(row.actor1_country, row.actor1_type),
        actors::actor(row.actor2_country, row.actor2_type),
    ) else {
        return Err(Rejection::Skip(Skip::NoActorCountry));
    };
    if actor.country() == recipient.country() {
        return Err(Rejection::Skip(Skip::SameCountry));
    }
    let wanted = (filter.countries.is_empty()
        || filter
            .countries
            .iter()
            .any(|country| *country == actor.country() || *country == recipient.country()))
        && row.num_sources >= filter.min_sources
        && (row.is_root_event || !filter.root_events_only);
    if !wanted {
        return Err(Rejection::Skip(Skip::Filtered));
    }
    let id = ResourceId::parse(&format!("gdelt-{}", row.global_event_id))
        .map_err(|problem| Rejection::Malformed(format!("GLOBALEVENTID: {problem}")))?;
    let record = AgendaItemRecord {
        title: title(row, mapping, actor, recipient),
        summary: summary(row, mapping),
        date: row.date.format("%Y-%m-%d").to_string(),
        actors: vec![actor.to_string()],
        recipients: vec![recipient.to_string()],
        event_type: mapping.event_type.code().to_owned(),
        mode: mapping.mode.to_owned(),
        contexts: mapping.contexts().map(str::to_owned).collect(),
        sources: vec![source(row)],
        goldstein_scale: Some(row.goldstein_scale),
        num_sources: row.num_sources,
        num_articles: row.num_articles,
        num_mentions: row.num_mentions,
        ..AgendaItemRecord::default()
    };
    let item = AgendaItem::parse(&record)
        .map_err(|violations| Rejection::Malformed(violations.to_string()))?;
    Ok((id, item))
}

/// "Make a visit: Barack Obama (USA) → China (CHN)".
fn title(
    row: &Row<'_>,
    mapping: &cameo::Mapping,
    actor: ActorCode,
    recipient: ActorCode,
) -> String {
    format!(
        "{}: {} → {}",
        mapping.description,
        side(row.actor1_name, actor),
        side(row.actor2_name, recipient)
    )
}

/// GDELT's name for an actor, in title case (it writes them in capitals), with its country.
fn side(name: &str, actor: ActorCode) -> String {
    let country = actor.country();
    let name: String = name.chars().take(80).collect();
    if name.is_empty() {
        return format!("{} ({country})", country.country_name());
    }
    let titled: Vec<String> = name
        .split_whitespace()
        .map(|word| {
            let mut letters = word.chars();
            letters.next().map_or_else(String::new, |first| {
                first
                    .to_uppercase()
                    .chain(letters.flat_map(char::to_lowercase))
                    .collect()
            })
        })
        .collect();
    format!("{} ({country})", titled.join(" "))
}

fn summary(row: &Row<'_>, mapping: &cameo::Mapping) -> String {
    let mut text = format!(
        "Machine-coded by GDELT: event {}, CAMEO {} ({}), Goldstein {:+.1}. Reported by {} \
         sources in {} articles, {} mentions.",
        row.global_event_id,
        row.event_code,
        mapping.description,
        row.goldstein_scale,
        row.num_sources,
        row.num_articles,
        row.num_mentions
    );
    if !row.action_place.is_empty() {
        let place: String = row.action_place.chars().take(200).collect();
        text.push_str(&format!(" Where: {place}."));
    }
    text
}

/// The row's article: its URL and host, or (for GDELT's few non-web sources, such as
/// "BBC Monitoring") the source's name.
fn source(row: &Row<'_>) -> SourceRecord {
    let published_time = row
        .date_added
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match url::Url::parse(row.source_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            let host = url.host_str().unwrap_or_default();
            SourceRecord {
                publisher: host.strip_prefix("www.").unwrap_or(host).to_owned(),
                url: row.source_url.to_owned(),
                published_time,
                excerpt: String::new(),
            }
        }
        _ => SourceRecord {
            publisher: row.source_url.chars().take(200).collect(),
            published_time,
            ..SourceRecord::default()
        },
    }
}

/// Calls `each` with every line (1-based number, text or why it is unreadable) of an export,
/// plain, gzip or zip; stops early when `each` says so.
pub fn for_each_line(
    input: impl Read,
    mut each: impl FnMut(u64, Result<&str, String>) -> std::ops::ControlFlow<()>,
) -> anyhow::Result<()> {
    let mut input = BufReader::with_capacity(256 * 1024, input);
    let magic = input.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        let decoded = flate2::read::MultiGzDecoder::new(input);
        read_lines(BufReader::with_capacity(256 * 1024, decoded), &mut each)
    } else if magic.starts_with(b"PK\x03\x04") {
        let entry = zip::read::read_zipfile_from_stream(&mut input)?
            .ok_or_else(|| anyhow::anyhow!("the zip file holds no file"))?;
        read_lines(BufReader::with_capacity(256 * 1024, entry), &mut each)
    } else {
        read_lines(input, &mut each)
    }
}

fn read_lines(
    mut input: impl BufRead,
    each: &mut impl FnMut(u64, Result<&str, String>) -> std::ops::ControlFlow<()>,
) -> anyhow::Result<()> {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let read = (&mut input)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let outcome = if line.len() > MAX_LINE_BYTES && !line.ends_with(b"\n") {
            // Skip the rest of the overlong line without keeping it.
            loop {
                let buffer = input.fill_buf()?;
                if buffer.is_empty() {
                    break;
                }
                match buffer.iter().position(|byte| *byte == b'\n') {
                    Some(end) => {
                        input.consume(end + 1);
                        break;
                    }
                    None => {
                        let all = buffer.len();
                        input.consume(all);
                    }
                }
            }
            Err(format!("longer than {MAX_LINE_BYTES} bytes"))
        } else {
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_owned())
        };
        if let Ok("") = outcome {
            continue;
        }
        if each(number, outcome).is_break() {
            return Ok(());
        }
    }
}

/// Reads an export and stores its items in batches; without a store (a dry run), maps and
/// counts only. Rows are read and mapped on a blocking thread while the store writes the batch
/// before.
pub async fn import(
    store: Option<&dyn Store>,
    input: Box<dyn Read + Send>,
    filter: Filter,
) -> anyhow::Result<Summary> {
    type Batch = Vec<(ResourceId, AgendaItem)>;
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Batch>(2);
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<Summary> {
        let mut summary = Summary::default();
        let mut batch = Vec::with_capacity(BATCH);
        let mut receiver_gone = false;
        for_each_line(input, |number, line| {
            summary.rows += 1;
            let mapped = line
                .and_then(Row::parse)
                .map_err(Rejection::Malformed)
                .and_then(|row| map_row(&row, &filter));
            match mapped {
                Ok(item) => batch.push(item),
                Err(Rejection::Skip(reason)) => summary.skip(reason),
                Err(Rejection::Malformed(problem)) => summary.malformed(number, problem),
            }
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.blocking_send(full).is_err() {
                    receiver_gone = true;
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        })?;
        if !batch.is_empty() && !receiver_gone {
            let _ = sender.blocking_send(batch);
        }
        Ok(summary)
    });
    let mut imported = 0;
    let mut duplicates = 0;
    let mut write_error = None;
    while let Some(batch) = batches.recv().await {
        let Some(store) = store else {
            imported += batch.len() as u64;
            continue;
        };
        match store.import_agenda_items(batch).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    match outcome {
                        Ok(_) => imported += 1,
                        Err(StoreError::AlreadyExists { .. }) => duplicates += 1,
                        Err(error) => {
                            write_error = Some(error);
                            break;
                        }
                    }
                }
            }
            Err(error) => write_error = Some(error),
        }
        if write_error.is_some() {
            // Dropping the receiver stops the reader at its next batch.
            break;
        }
    }
    drop(batches);
    let mut summary = reader.await??;
    if let Some(error) = write_error {
        return Err(anyhow::Error::new(error).context(format!(
            "storing GDELT items failed after {imported} were imported"
        )));
    }
    summary.imported = imported;
    if duplicates > 0 {
        *summary.skipped.entry(Skip::Duplicate).or_default() += duplicates;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests;
