//! What the shared statements (`crate::store::sql`) need to know of SQLite.

use chrono::NaiveDate;

use crate::domain::values::format_date;
use crate::store::digests::{ClaimOutcome, RunClaim, RunState};
use crate::store::{StoreResult, sql};

pub(super) use sqlx::Sqlite as Db;
pub(super) use sqlx::SqliteConnection as Connection;
pub(super) use sqlx::SqlitePool as Pool;
pub(super) use sqlx::sqlite::SqliteRow as DbRow;

/// SQLite has one writer, whose transaction already excludes every other: a row a write
/// depends on needs no lock of its own.
pub(super) const FOR_UPDATE: &str = "";

/// `instr(haystack, needle)`: the position of a substring, 0 when absent.
pub(super) const STRPOS: &str = "instr";

/// Readers need no lock on a row a write depends on either.
pub(super) const FOR_SHARE: &str = "";

/// A join whose left table SQLite walks first (its planner keeps the order of a CROSS JOIN).
pub(super) const JOIN_IN_ORDER: &str = "CROSS JOIN";

/// `MAX(a, b)`: the greater of two values.
pub(super) const GREATEST: &str = "MAX";

/// The clock that leases and due times are judged by, as the `position`th parameter: one
/// process serves a SQLite file, so its own clock is the database's ([`bind_clock`] binds it).
pub(super) fn clock(position: usize) -> String {
    format!("${position}")
}

/// Binds the time [`clock`] stands for, after every other parameter.
pub(super) fn bind_clock<'q>(
    query: sqlx::query::Query<'q, Db, sqlx::sqlite::SqliteArguments<'q>>,
    now: i64,
) -> sqlx::query::Query<'q, Db, sqlx::sqlite::SqliteArguments<'q>> {
    query.bind(now)
}

/// Leases up to `limit` due deliveries for `lease` microseconds and returns them (`columns`),
/// soonest due first. The writer's transaction excludes every other claim.
pub(super) async fn lease_due_deliveries(
    connection: &mut Connection,
    columns: &str,
    lease: i64,
    limit: i64,
) -> crate::store::StoreResult<Vec<DbRow>> {
    use sqlx::Row as _;
    let now = crate::store::sql::now().timestamp_micros();
    let sql = format!(
        "SELECT {columns} FROM deliveries WHERE state = 'pending' AND next_attempt_time <= $1 \
         AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_time, seq LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
    for row in &rows {
        sqlx::query("UPDATE deliveries SET lease_until = $1 WHERE id = $2")
            .bind(now + lease)
            .bind(row.try_get::<&str, _>("id")?)
            .execute(&mut *connection)
            .await?;
    }
    Ok(rows)
}

/// Takes the (kind, day) for compiling, unless it is done (and not forced) or leased by
/// another: read, then written, in the writer's transaction, which excludes every other claim.
pub(super) async fn claim_run(
    pool: &Pool,
    kind: &str,
    date: NaiveDate,
    claim: &RunClaim,
) -> StoreResult<ClaimOutcome> {
    use sqlx::Row as _;
    let now = sql::now().timestamp_micros();
    let lease_until = now + claim.lease.num_microseconds().unwrap_or(i64::MAX / 4);
    let mut transaction = pool.begin().await?;
    let existing = sqlx::query(
        "SELECT state, lease_owner, lease_until, attempts FROM digest_runs WHERE kind = $1 AND date = $2",
    )
    .bind(kind)
    .bind(format_date(date))
    .fetch_optional(&mut *transaction)
    .await?;
    let attempt = match existing {
        None => {
            sqlx::query(
                "INSERT INTO digest_runs (kind, date, day_number, state, attempts, start_time, trigger, lease_owner, lease_until) \
                 VALUES ($1, $2, $3, 'running', 1, $4, $5, $6, $7)",
            )
            .bind(kind)
            .bind(format_date(date))
            .bind(sql::day_number(date))
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
                "UPDATE digest_runs SET state = 'running', attempts = attempts + 1, start_time = $1, finish_time = NULL, \
                 trigger = $2, lease_owner = $3, lease_until = $4, next_attempt_time = NULL WHERE kind = $5 AND date = $6",
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

/// Starts storing a publication in `transaction`; returns its time. One process writes the
/// file, through one connection: publications already take their positions in commit order.
pub(super) async fn begin_publication(
    _transaction: &mut sqlx::Transaction<'_, Db>,
) -> StoreResult<i64> {
    Ok(sql::now().timestamp_micros())
}

/// Tells other processes of a publication: none shares the file (see
/// `Store::forward_publications`).
pub(super) async fn announce_publication(
    _transaction: &mut sqlx::Transaction<'_, Db>,
    _publication: i64,
) -> StoreResult<()> {
    Ok(())
}

/// Each day's reported items and sources in `$1..=$2`, by date: from the per-day counters
/// that every write of an item keeps.
pub(super) const DAILY_ACTIVITY: &str = "SELECT date, items, sources FROM agenda_item_days \
     WHERE date >= $1 AND date <= $2 AND items > 0 ORDER BY date";
