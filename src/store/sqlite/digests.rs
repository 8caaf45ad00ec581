//! The run ledger, published digests and the inputs of a compilation, in SQLite.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row as _, Sqlite, SqlitePool};

use super::documents::{self, Document, SELECT_COLUMNS, from_micros};
use super::officials::page_limit;
use crate::digest::{Compiled, DigestName, Dyad};
use crate::domain::values::{format_date, parse_date};
use crate::domain::{AgendaItem, Official, Resource as _, ResourceId, Trip};
use crate::store::digests::{
    ClaimOutcome, DigestFilter, DigestRun, DyadOrder, DyadPage, PublishedDigest, RunClaim,
    RunFilter, RunState, dyad_ranks, pair_key,
};
use crate::store::{Page, PageRequest, StoreError, StoreResult, Stored};

pub(super) async fn documents_where<D: Document>(
    pool: &SqlitePool,
    condition: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<Stored<D>>> {
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {} WHERE {condition} ORDER BY seq",
        D::TABLE
    );
    let rows = sqlx::query(&sql)
        .bind(format_date(from))
        .bind(format_date(to))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| documents::decode::<D>(row).map(|decoded| decoded.stored))
        .collect()
}

pub(super) async fn agenda_items_between(
    pool: &SqlitePool,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<Stored<AgendaItem>>> {
    documents_where(pool, "date >= ? AND date <= ?", from, to).await
}

/// What the digest compiler reads of an agenda item's body; the rest (summary, sources,
/// notes) is skipped over unparsed, and what is parsed further is borrowed where it can be.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct DigestRecord<'a> {
    title: String,
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
    /// The digest cites an item's sources (outlet, address, time) where it prints the item;
    /// their excerpts are skipped unread.
    #[serde(borrow)]
    sources: Vec<DigestSource<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct DigestSource<'a> {
    #[serde(borrow)]
    url: std::borrow::Cow<'a, str>,
    publisher: String,
    #[serde(borrow)]
    published_time: std::borrow::Cow<'a, str>,
}

/// The items of `day` for the digest, decoded row by row as they are read (never every row's
/// body at once), without their summary, mode, notes and source excerpts. With `fast` readers, on blocking
/// threads straight through SQLite, the day split in `seq` ranges read side by side.
pub(super) async fn digest_items(
    pool: &SqlitePool,
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
            AgendaItem::resource_name(&id)
        ))
    };
    let record: DigestRecord = serde_json::from_str(body).map_err(|error| {
        StoreError::Internal(format!(
            "stored {} is corrupt: {error}",
            AgendaItem::resource_name(&id)
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
        title: record.title,
        summary: String::new(),
        sources: record
            .sources
            .into_iter()
            .map(|source| {
                crate::domain::source::Source::from_stored_parts(
                    &source.url,
                    source.publisher,
                    &source.published_time,
                    String::new(),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(invalid)?,
        notes: String::new(),
        status: crate::domain::ItemStatus::parse(&record.status).map_err(invalid)?,
        hedged: record.hedged,
    };
    Ok(Stored {
        id,
        value,
        create_time: from_micros(create_time),
        update_time: from_micros(update_time),
        revision,
    })
}

pub(super) async fn trips_between(
    pool: &SqlitePool,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<Stored<Trip>>> {
    documents_where(pool, "last_date >= ? AND first_date <= ?", from, to).await
}

pub(super) async fn all_officials(pool: &SqlitePool) -> StoreResult<Vec<Stored<Official>>> {
    let sql = format!("SELECT {SELECT_COLUMNS} FROM officials ORDER BY seq");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter()
        .map(|row| documents::decode::<Official>(row).map(|decoded| decoded.stored))
        .collect()
}

/// Orders newest day first with a single integer position: day, then insertion.
fn day_position(day_number: i64, seq: i64) -> i64 {
    day_number * 1_000_000_000 + seq
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

pub(super) async fn claim_run(
    pool: &SqlitePool,
    kind: &str,
    date: NaiveDate,
    claim: &RunClaim,
) -> StoreResult<ClaimOutcome> {
    let now = documents::now().timestamp_micros();
    let lease_until = now + claim.lease.num_microseconds().unwrap_or(i64::MAX / 4);
    let mut transaction = pool.begin().await?;
    let existing = sqlx::query("SELECT state, lease_owner, lease_until, attempts FROM digest_runs WHERE kind = ? AND date = ?")
        .bind(kind)
        .bind(format_date(date))
        .fetch_optional(&mut *transaction)
        .await?;
    let attempt = match existing {
        None => {
            sqlx::query(
                "INSERT INTO digest_runs (kind, date, day_number, state, attempts, start_time, trigger, lease_owner, lease_until) \
                 VALUES (?, ?, ?, 'running', 1, ?, ?, ?, ?)",
            )
            .bind(kind)
            .bind(format_date(date))
            .bind(day_number(date))
            .bind(now)
            .bind(&claim.trigger)
            .bind(&claim.owner)
            .bind(lease_until)
            .execute(&mut *transaction)
            .await?;
            1
        }
        Some(row) => {
            let state: String = row.try_get("state")?;
            let holder: Option<String> = row.try_get("lease_owner")?;
            let held_until: Option<i64> = row.try_get("lease_until")?;
            let attempts: i32 = row.try_get("attempts")?;
            if state == RunState::Done.code() && !claim.force {
                return Ok(ClaimOutcome::AlreadyDone);
            }
            let leased_by_other = state == RunState::Running.code()
                && held_until.is_some_and(|until| until > now)
                && holder.as_deref() != Some(claim.owner.as_str());
            if leased_by_other {
                return Ok(ClaimOutcome::Busy);
            }
            sqlx::query(
                "UPDATE digest_runs SET state = 'running', attempts = attempts + 1, start_time = ?, finish_time = NULL, \
                 trigger = ?, lease_owner = ?, lease_until = ?, next_attempt_time = NULL WHERE kind = ? AND date = ?",
            )
            .bind(now)
            .bind(&claim.trigger)
            .bind(&claim.owner)
            .bind(lease_until)
            .bind(kind)
            .bind(format_date(date))
            .execute(&mut *transaction)
            .await?;
            attempts + 1
        }
    };
    transaction.commit().await?;
    Ok(ClaimOutcome::Claimed { attempt })
}

pub(super) async fn finish_run(
    pool: &SqlitePool,
    kind: &str,
    date: NaiveDate,
    owner: &str,
    compiled: &Compiled,
    deliver: bool,
) -> StoreResult<PublishedDigest> {
    let digest = &compiled.digest;
    let now = documents::now();
    let micros = now.timestamp_micros();
    let name = digest.name().to_string();
    let body = serde_json::to_string(digest)
        .map_err(|error| StoreError::Internal(format!("cannot encode digest: {error}")))?;
    let mut transaction = pool.begin().await?;
    let holder: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT state, lease_owner FROM digest_runs WHERE kind = ? AND date = ?")
            .bind(kind)
            .bind(format_date(date))
            .fetch_optional(&mut *transaction)
            .await?;
    match holder {
        Some((state, Some(holder))) if state == RunState::Running.code() && holder == owner => {}
        _ => {
            return Err(StoreError::Stale {
                resource: format!("digestRuns/{kind}-{}", format_date(date)),
            });
        }
    }
    let previous: Option<i64> = sqlx::query_scalar("SELECT revision FROM digests WHERE name = ?")
        .bind(&name)
        .fetch_optional(&mut *transaction)
        .await?;
    let revision = previous.unwrap_or(0) + 1;
    let publication: i64 = sqlx::query_scalar(
        "INSERT INTO digest_publications (name, kind, revision, compile_time, body) VALUES (?, ?, ?, ?, ?) RETURNING seq",
    )
    .bind(&name)
    .bind(kind)
    .bind(revision)
    .bind(micros)
    .bind(&body)
    .fetch_one(&mut *transaction)
    .await?;
    sqlx::query(
        "INSERT INTO digests (name, kind, date, day_number, revision, compile_time, publication, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, compile_time = excluded.compile_time, \
         publication = excluded.publication, body = excluded.body",
    )
    .bind(&name)
    .bind(kind)
    .bind(format_date(date))
    .bind(day_number(date))
    .bind(revision)
    .bind(micros)
    .bind(publication)
    .bind(&body)
    .execute(&mut *transaction)
    .await?;
    replace_dyads(&mut transaction, &name, &compiled.dyads).await?;
    sqlx::query(
        "UPDATE digest_runs SET state = 'done', finish_time = ?, error = '', lease_owner = NULL, lease_until = NULL, \
         next_attempt_time = NULL WHERE kind = ? AND date = ?",
    )
    .bind(micros)
    .bind(kind)
    .bind(format_date(date))
    .execute(&mut *transaction)
    .await?;
    if deliver {
        let subscribers: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM subscriptions WHERE kind = ? AND state = 'active' ORDER BY seq",
        )
        .bind(kind)
        .fetch_all(&mut *transaction)
        .await?;
        for subscriber in subscribers {
            sqlx::query(
                "INSERT INTO deliveries (id, subscription_id, digest_name, digest_revision, publication, idempotency_key, state, \
                 next_attempt_time, create_time) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(ResourceId::generate().as_str())
            .bind(&subscriber)
            .bind(&name)
            .bind(revision)
            .bind(publication)
            .bind(format!("msg_{}", uuid::Uuid::now_v7().simple()))
            .bind(micros)
            .bind(micros)
            .execute(&mut *transaction)
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(PublishedDigest {
        digest: digest.clone(),
        revision,
        compile_time: now,
        publication,
    })
}

pub(super) async fn fail_run(
    pool: &SqlitePool,
    kind: &str,
    date: NaiveDate,
    owner: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE digest_runs SET state = 'failed', finish_time = ?, error = ?, lease_owner = NULL, lease_until = NULL, \
         next_attempt_time = ? WHERE kind = ? AND date = ? AND lease_owner = ?",
    )
    .bind(documents::now().timestamp_micros())
    .bind(error)
    .bind(retry_at.map(|at| at.timestamp_micros()))
    .bind(kind)
    .bind(format_date(date))
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

const RUN_COLUMNS: &str = "seq, kind, date, day_number, state, attempts, start_time, finish_time, error, trigger, lease_until, next_attempt_time";

fn decode_run(row: &SqliteRow) -> StoreResult<DigestRun> {
    let state: String = row.try_get("state")?;
    let date: String = row.try_get("date")?;
    let micros = |column: &str| -> StoreResult<Option<DateTime<Utc>>> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
    };
    Ok(DigestRun {
        kind: row.try_get("kind")?,
        date: parse_date(&date).map_err(StoreError::Internal)?,
        state: RunState::from_code(&state)
            .ok_or_else(|| StoreError::Internal(format!("unknown run state {state:?}")))?,
        attempts: row.try_get("attempts")?,
        start_time: micros("start_time")?,
        finish_time: micros("finish_time")?,
        error: row.try_get("error")?,
        trigger: row.try_get("trigger")?,
        lease_until: micros("lease_until")?,
        next_attempt_time: micros("next_attempt_time")?,
    })
}

pub(super) async fn get_run(
    pool: &SqlitePool,
    kind: &str,
    date: NaiveDate,
) -> StoreResult<Option<DigestRun>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE kind = ? AND date = ?");
    let row = sqlx::query(&sql)
        .bind(kind)
        .bind(format_date(date))
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode_run).transpose()
}

pub(super) async fn list_runs(
    pool: &SqlitePool,
    filter: &RunFilter,
    page: PageRequest,
) -> StoreResult<Page<DigestRun>> {
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE 1 = 1"));
    if let Some(after) = page.after {
        query
            .push(" AND day_number * 1000000000 + seq < ")
            .push_bind(after);
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(state) = filter.state {
        query.push(" AND state = ").push_bind(state.code());
    }
    query
        .push(" ORDER BY day_number DESC, seq DESC LIMIT ")
        .push_bind(page_limit(page));
    let rows = query.build().fetch_all(pool).await?;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows.iter().take(page.size) {
        items.push(decode_run(row)?);
        last = Some(day_position(
            row.try_get("day_number")?,
            row.try_get("seq")?,
        ));
    }
    Ok(Page {
        next_after: if rows.len() > page.size { last } else { None },
        items,
    })
}

pub(super) async fn last_done_day(pool: &SqlitePool, kind: &str) -> StoreResult<Option<NaiveDate>> {
    let date: Option<String> =
        sqlx::query_scalar("SELECT MAX(date) FROM digest_runs WHERE kind = ? AND state = 'done'")
            .bind(kind)
            .fetch_one(pool)
            .await?;
    date.map(|date| parse_date(&date).map_err(StoreError::Internal))
        .transpose()
}

fn decode_published(row: &SqliteRow, publication_column: &str) -> StoreResult<PublishedDigest> {
    let body: String = row.try_get("body")?;
    Ok(PublishedDigest {
        digest: serde_json::from_str(&body)
            .map_err(|error| StoreError::Internal(format!("stored digest is corrupt: {error}")))?,
        revision: row.try_get("revision")?,
        compile_time: from_micros(row.try_get("compile_time")?),
        publication: row.try_get(publication_column)?,
    })
}

pub(super) async fn get_digest(
    pool: &SqlitePool,
    name: &DigestName,
) -> StoreResult<PublishedDigest> {
    let row =
        sqlx::query("SELECT body, revision, compile_time, publication FROM digests WHERE name = ?")
            .bind(name.to_string())
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                resource: name.to_string(),
            })?;
    decode_published(&row, "publication")
}

pub(super) async fn list_digests(
    pool: &SqlitePool,
    filter: &DigestFilter,
    page: PageRequest,
) -> StoreResult<Page<PublishedDigest>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT seq, day_number, body, revision, compile_time, publication FROM digests WHERE 1 = 1",
    );
    if let Some(after) = page.after {
        query
            .push(" AND day_number * 1000000000 + seq < ")
            .push_bind(after);
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(from) = filter.from_date {
        query.push(" AND date >= ").push_bind(format_date(from));
    }
    if let Some(to) = filter.to_date {
        query.push(" AND date <= ").push_bind(format_date(to));
    }
    query
        .push(" ORDER BY day_number DESC, seq DESC LIMIT ")
        .push_bind(page_limit(page));
    let rows = query.build().fetch_all(pool).await?;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows.iter().take(page.size) {
        items.push(decode_published(row, "publication")?);
        last = Some(day_position(
            row.try_get("day_number")?,
            row.try_get("seq")?,
        ));
    }
    Ok(Page {
        next_after: if rows.len() > page.size { last } else { None },
        items,
    })
}

pub(super) async fn publications_after(
    pool: &SqlitePool,
    cursor: i64,
    kind: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<PublishedDigest>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT seq, body, revision, compile_time FROM digest_publications WHERE seq > ",
    );
    query.push_bind(cursor);
    if let Some(kind) = kind {
        query.push(" AND kind = ").push_bind(kind.to_owned());
    }
    query
        .push(" ORDER BY seq LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = query.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| decode_published(row, "seq"))
        .collect()
}

pub(super) async fn latest_publication(pool: &SqlitePool) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM digest_publications")
            .fetch_one(pool)
            .await?,
    )
}

/// Rows per INSERT of a per-pair table: 9 parameters each, well under the bound-parameter limit.
const DYAD_ROWS_PER_INSERT: usize = 1_000;

/// Replaces the digest's per-pair table, inside the transaction that stores the digest.
async fn replace_dyads(
    transaction: &mut sqlx::Transaction<'_, Sqlite>,
    name: &str,
    dyads: &[Dyad],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM digest_dyads WHERE digest_name = ?")
        .bind(name)
        .execute(&mut **transaction)
        .await?;
    let ranks = dyad_ranks(dyads);
    let mut rows = Vec::with_capacity(dyads.len());
    for (dyad, rank) in dyads.iter().zip(ranks) {
        let body = serde_json::to_string(dyad)
            .map_err(|error| StoreError::Internal(format!("cannot encode dyad: {error}")))?;
        rows.push((dyad, rank, body));
    }
    for chunk in rows.chunks(DYAD_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO digest_dyads (digest_name, pair, abs_net, conflict, abs_z, net_rank, conflict_rank, z_rank, body) ",
        );
        insert.push_values(chunk, |mut row, (dyad, rank, body)| {
            row.push_bind(name)
                .push_bind(pair_key(dyad))
                .push_bind(dyad.net.abs())
                .push_bind(dyad.conflict)
                .push_bind(dyad.z_score.map(f64::abs))
                .push_bind(rank[0])
                .push_bind(rank[1])
                .push_bind(rank[2])
                .push_bind(body.as_str());
        });
        insert.build().execute(&mut **transaction).await?;
    }
    Ok(())
}

pub(super) async fn list_digest_dyads(
    pool: &SqlitePool,
    name: &DigestName,
    order: DyadOrder,
    page: PageRequest,
) -> StoreResult<DyadPage> {
    let rank = match order {
        DyadOrder::Net => "net_rank",
        DyadOrder::Conflict => "conflict_rank",
        DyadOrder::Z => "z_rank",
    };
    let digest_name = name.to_string();
    // One read transaction: the count and the page see the same revision of the table.
    let mut transaction = pool.begin().await?;
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM digest_dyads WHERE digest_name = ?1) FROM digests WHERE name = ?1",
    )
    .bind(&digest_name)
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(total) = total else {
        return Err(StoreError::NotFound {
            resource: digest_name,
        });
    };
    let sql = format!(
        "SELECT {rank} AS position, body FROM digest_dyads WHERE digest_name = ? AND {rank} > ? \
         ORDER BY {rank} LIMIT ?"
    );
    let rows = sqlx::query(&sql)
        .bind(&digest_name)
        .bind(page.after.unwrap_or(0))
        .bind(page_limit(page))
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows.iter().take(page.size) {
        let body: String = row.try_get("body")?;
        items.push(serde_json::from_str::<Dyad>(&body).map_err(|error| {
            StoreError::Internal(format!("stored dyad of {digest_name} is corrupt: {error}"))
        })?);
        last = Some(row.try_get::<i64, _>("position")?);
    }
    Ok(DyadPage {
        page: Page {
            next_after: if rows.len() > page.size { last } else { None },
            items,
        },
        total_size: u64::try_from(total).unwrap_or(0),
    })
}
