//! The statements of the store, written once: each family of statements is a macro that a
//! backend stamps out in a module of its own (`crate::store::sql::officials!()`), over the
//! names its `dialect` module gives (`Db`, `Pool`, `Connection`, `DbRow` and the few
//! fragments and steps that differ). What needs no database at all is here, as plain functions.

mod agenda;
mod digests;
mod documents;
mod feeds;
mod officials;
mod store;
mod subscriptions;
mod tokens;
mod trips;

pub(crate) use agenda::agenda;
pub(crate) use digests::digests;
pub(crate) use documents::documents;
pub(crate) use feeds::feeds;
pub(crate) use officials::officials;
pub(crate) use store::store_impl;
pub(crate) use subscriptions::subscriptions;
pub(crate) use tokens::tokens;
pub(crate) use trips::trips;

use chrono::{DateTime, Utc};

use crate::domain::ResourceId;
use crate::store::document::Document;
use crate::store::{Page, PageRequest, Precondition, StoreError, StoreResult, Stored};

/// A stored document and its immutable list position.
pub(crate) struct Row<D> {
    pub seq: i64,
    pub stored: Stored<D>,
}

pub(crate) const SELECT_COLUMNS: &str = "seq, id, revision, create_time, update_time, body";

/// A document from the columns of [`SELECT_COLUMNS`], in that order.
pub(crate) fn decode_columns<D: Document>(
    seq: i64,
    id: &str,
    revision: i64,
    create_time: i64,
    update_time: i64,
    body: &str,
) -> StoreResult<Row<D>> {
    let row = decode_record_columns::<D>(seq, id, revision, create_time, update_time, body)?;
    Ok(Row {
        seq: row.seq,
        stored: parse_record(row.stored)?,
    })
}

/// The domain value of a stored record; a record that no longer parses is corrupt.
pub(crate) fn parse_record<D: Document>(stored: Stored<D::Record>) -> StoreResult<Stored<D>> {
    let value = D::from_record(&stored.value).map_err(|violations| {
        StoreError::Internal(format!(
            "stored {} is invalid: {violations}",
            D::resource_name(&stored.id)
        ))
    })?;
    Ok(Stored {
        id: stored.id,
        value,
        create_time: stored.create_time,
        update_time: stored.update_time,
        revision: stored.revision,
    })
}

/// A document's stored record from the columns of [`SELECT_COLUMNS`], not parsed into its
/// domain value (for responses: it was checked when it was written).
pub(crate) fn decode_record_columns<D: Document>(
    seq: i64,
    id: &str,
    revision: i64,
    create_time: i64,
    update_time: i64,
    body: &str,
) -> StoreResult<Row<D::Record>> {
    let id = ResourceId::parse(id).map_err(|problem| {
        StoreError::Internal(format!("stored id {id:?} is corrupt: {problem}"))
    })?;
    let record: D::Record = serde_json::from_str(body).map_err(|error| {
        StoreError::Internal(format!(
            "stored {} is corrupt: {error}",
            D::resource_name(&id)
        ))
    })?;
    Ok(Row {
        seq,
        stored: Stored {
            id,
            value: record,
            create_time: from_micros(create_time),
            update_time: from_micros(update_time),
            revision,
        },
    })
}

/// Whether a write may go ahead on what is stored.
pub(crate) fn check<D: Document>(
    row: &Row<D>,
    precondition: Precondition,
    id: &ResourceId,
) -> StoreResult<()> {
    match precondition {
        Precondition::Revision(expected) if expected != row.stored.revision => {
            Err(StoreError::Stale {
                resource: D::resource_name(id),
            })
        }
        _ => Ok(()),
    }
}

pub(crate) fn encode_body<D: Document>(value: &D) -> StoreResult<String> {
    serde_json::to_string(&value.to_record())
        .map_err(|error| StoreError::Internal(format!("cannot encode {}: {error}", D::TABLE)))
}

pub(crate) fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Store timestamps have microsecond precision; so does what we hand back.
pub(crate) fn now() -> DateTime<Utc> {
    from_micros(Utc::now().timestamp_micros())
}

/// A page of decoded rows; `more` when a row beyond them was found.
pub(crate) fn page_of<D>(rows: Vec<Row<D>>, more: bool) -> Page<Stored<D>> {
    Page::from_rows(
        rows.into_iter().map(|row| (row.seq, row.stored)).collect(),
        more,
    )
}

/// One row more than the page, to see whether another page follows.
pub(crate) fn page_limit(page: PageRequest) -> i64 {
    i64::try_from(page.size).unwrap_or(i64::MAX - 1) + 1
}

/// A day as a number that sorts as the day does (days since the common era).
pub(crate) fn day_number(date: chrono::NaiveDate) -> i64 {
    use chrono::Datelike as _;
    i64::from(date.num_days_from_ce())
}

/// Whether the trip, leg and participants an agenda item names exist, by what the backend
/// has read of them: `legs_of(trip id)` (`None` when the trip does not exist) and
/// `official_exists(official id)`.
pub(crate) fn check_references(
    item: &crate::domain::AgendaItem,
    legs_of: impl Fn(&str) -> Option<i64>,
    official_exists: impl Fn(&str) -> bool,
) -> StoreResult<()> {
    if let Some(trip) = &item.trip {
        let Some(legs) = legs_of(trip.id().as_str()) else {
            return Err(StoreError::BadReference {
                field: "trip".into(),
                description: format!("{trip} does not exist"),
            });
        };
        if let Some(leg) = item.leg
            && i64::from(leg) >= legs
        {
            return Err(StoreError::BadReference {
                field: "leg".into(),
                description: format!(
                    "{trip} has {legs} legs, so leg {leg} does not exist (legs count from 0)"
                ),
            });
        }
    }
    for (position, participant) in item.participants.iter().enumerate() {
        if !official_exists(participant.id().as_str()) {
            return Err(StoreError::BadReference {
                field: format!("participants[{position}]"),
                description: format!("{participant} does not exist"),
            });
        }
    }
    Ok(())
}

/// A resource as a create stores it: revision 1, created and updated `now`.
pub(crate) fn created<T>(id: ResourceId, value: T, now: DateTime<Utc>) -> Stored<T> {
    Stored {
        id,
        value,
        create_time: now,
        update_time: now,
        revision: 1,
    }
}
