//! The run ledger, published digests and the inputs of a compilation, in SQLite: the shared
//! statements, and a day's items for the digest read through the fast readers.

crate::store::sql::digests!();

/// What the digest compiler reads of an agenda item's body; the rest (summary, sources,
/// notes) is skipped over unparsed, and what is parsed further is borrowed where it can be.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct DigestRecord<'a> {
    #[serde(borrow)]
    date: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    trip: std::borrow::Cow<'a, str>,
    leg: Option<i64>,
    #[serde(borrow)]
    participants: Vec<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    actors: Vec<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    recipients: Vec<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    event_type: std::borrow::Cow<'a, str>,
    contexts: Vec<String>,
    intensity: Option<f64>,
    #[serde(borrow)]
    status: std::borrow::Cow<'a, str>,
    hedged: bool,
    num_sources: u32,
    num_articles: u32,
    /// Counted, and the first one's URL read: the digest ranks by the number of sources and
    /// tells one story's rows by their first source; the items it cites are read again in
    /// full.
    #[serde(borrow)]
    sources: Vec<LeanSource<'a>>,
}

/// A source as the digest reads it: its URL only (the other fields are skipped unparsed).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct LeanSource<'a> {
    #[serde(borrow)]
    url: std::borrow::Cow<'a, str>,
}

/// The items of `day` for the digest, decoded row by row as they are read (never every row's
/// body at once), lean: no title, summary, mode or notes, and their sources only counted
/// (`Source::counted_only`). With `fast` readers, on blocking threads straight through SQLite,
/// the day split in `seq` ranges read side by side.
pub(super) async fn digest_items(
    pool: &Pool,
    fast: Option<std::sync::Arc<super::fast::Readers>>,
    day: NaiveDate,
) -> StoreResult<Vec<Stored<AgendaItem>>> {
    let sql = format!("SELECT {SELECT_COLUMNS} FROM agenda_items WHERE date = ? ORDER BY seq");
    if let Some(readers) = fast {
        let date = format_date(day);
        let mut bounds: Option<(i64, i64)> = None;
        readers.with(|connection| {
            connection.query(
                "SELECT (SELECT min(seq) FROM agenda_items WHERE date = ?1), \
                        (SELECT max(seq) FROM agenda_items WHERE date = ?1)",
                &[super::fast::Param::Text(date.clone())],
                |row| {
                    if !row.is_null(0) {
                        bounds = Some((row.int(0), row.int(1)));
                    }
                    Ok(false)
                },
            )
        })?;
        let Some((first, last)) = bounds else {
            return Ok(Vec::new());
        };
        let parts = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, 4) as i64;
        let span = (last - first + parts) / parts;
        let mut readings = Vec::new();
        for part in 0..parts {
            let (from, to) = (
                first + part * span,
                (first + (part + 1) * span - 1).min(last),
            );
            if from > to {
                continue;
            }
            let readers = readers.clone();
            let date = date.clone();
            // Sized up front: a vector grown by doubling holds up to twice a busy day's items
            // at its peak. The first part's has room for the whole day, so the others are
            // appended to it without copying it again.
            let capacity = if part == 0 {
                last - first + 1
            } else {
                to - from + 1
            };
            readings.push(tokio::task::spawn_blocking(move || {
                let mut items =
                    Vec::with_capacity(usize::try_from(capacity).unwrap_or(0).min(1 << 21));
                readers.with(|connection| {
                    connection.query(
                        &format!(
                            "SELECT {SELECT_COLUMNS} FROM agenda_items \
                             WHERE date = ? AND seq >= ? AND seq <= ? ORDER BY seq"
                        ),
                        &[
                            super::fast::Param::Text(date),
                            super::fast::Param::Int(from),
                            super::fast::Param::Int(to),
                        ],
                        |row| {
                            items.push(decode_for_digest(
                                row.text(1)?,
                                row.int(2),
                                row.int(3),
                                row.int(4),
                                row.text(5)?,
                            )?);
                            Ok(true)
                        },
                    )
                })?;
                StoreResult::Ok(items)
            }));
        }
        let mut items: Vec<Stored<AgendaItem>> = Vec::new();
        for reading in readings {
            let part = reading
                .await
                .map_err(|error| StoreError::Internal(format!("digest read stopped: {error}")))??;
            if items.is_empty() {
                items = part;
            } else {
                items.extend(part);
            }
        }
        return Ok(items);
    }
    use futures::TryStreamExt as _;
    let mut rows = sqlx::query(&sql).bind(format_date(day)).fetch(pool);
    let mut items = Vec::new();
    while let Some(row) = rows.try_next().await? {
        items.push(decode_for_digest(
            row.try_get("id")?,
            row.try_get("revision")?,
            row.try_get("create_time")?,
            row.try_get("update_time")?,
            row.try_get("body")?,
        )?);
    }
    Ok(items)
}

/// An item as the digest reads it. What was checked when the item was stored is not checked
/// again (lengths, characters, repeats); the typed fields are parsed as they must be.
fn decode_for_digest(
    id: &str,
    revision: i64,
    create_time: i64,
    update_time: i64,
    body: &str,
) -> StoreResult<Stored<AgendaItem>> {
    use crate::domain::values::ActorCode;
    use crate::domain::{EventType, Intensity, OfficialName, TripName};
    let id = ResourceId::parse(id).map_err(|problem| {
        StoreError::Internal(format!("stored id {id:?} is corrupt: {problem}"))
    })?;
    let invalid = |problem: String| {
        StoreError::Internal(format!(
            "stored {} is invalid: {problem}",
            <AgendaItem as crate::domain::Resource>::resource_name(&id)
        ))
    };
    let record: DigestRecord = serde_json::from_str(body).map_err(|error| {
        StoreError::Internal(format!(
            "stored {} is corrupt: {error}",
            <AgendaItem as crate::domain::Resource>::resource_name(&id)
        ))
    })?;
    let codes = |raw: Vec<std::borrow::Cow<'_, str>>| {
        raw.iter()
            .map(|code| ActorCode::parse(code))
            .collect::<Result<Vec<_>, _>>()
    };
    let value = AgendaItem {
        date: parse_date(&record.date).map_err(invalid)?,
        trip: if record.trip.is_empty() {
            None
        } else {
            Some(TripName::parse(&record.trip).map_err(invalid)?)
        },
        leg: record
            .leg
            .map(u32::try_from)
            .transpose()
            .map_err(|error| invalid(error.to_string()))?,
        participants: record
            .participants
            .iter()
            .map(|name| OfficialName::parse(name))
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
        actors: codes(record.actors).map_err(invalid)?,
        recipients: codes(record.recipients).map_err(invalid)?,
        event_type: EventType::parse(&record.event_type).map_err(invalid)?,
        // Not read by the digest.
        mode: None,
        contexts: record.contexts,
        intensity_override: record
            .intensity
            .map(Intensity::parse)
            .transpose()
            .map_err(invalid)?,
        // The digest reads the titles and sources of the items it cites, not of every item.
        title: String::new(),
        summary: String::new(),
        sources: record
            .sources
            .iter()
            .enumerate()
            .map(|(index, source)| {
                let mut lean = crate::domain::source::Source::counted_only();
                if index == 0 {
                    // Checked when stored; one that no longer parses is left out, as the
                    // digest only compares it.
                    lean.url = url::Url::parse(&source.url).ok();
                }
                lean
            })
            .collect(),
        notes: String::new(),
        status: crate::domain::ItemStatus::parse(&record.status).map_err(invalid)?,
        hedged: record.hedged,
        // Not read by the digest, which ranks by sources and articles.
        goldstein_scale: None,
        num_sources: record.num_sources,
        num_articles: record.num_articles,
        num_mentions: 0,
    };
    Ok(Stored {
        id,
        value,
        create_time: from_micros(create_time),
        update_time: from_micros(update_time),
        revision,
    })
}
