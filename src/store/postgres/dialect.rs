//! What the shared statements (`crate::store::sql`) need to know of PostgreSQL.

use chrono::NaiveDate;

use crate::domain::values::format_date;
use crate::store::digests::{ClaimOutcome, RunClaim, RunState};
use crate::store::{StoreResult, sql};

pub(super) use sqlx::PgConnection as Connection;
pub(super) use sqlx::PgPool as Pool;
pub(super) use sqlx::Postgres as Db;
pub(super) use sqlx::postgres::PgRow as DbRow;

/// Rows a write depends on are locked until it commits, so replicas serialize on a resource.
pub(super) const FOR_UPDATE: &str = " FOR UPDATE";

/// `strpos(haystack, needle)`: the position of a substring, 0 when absent.
pub(super) const STRPOS: &str = "strpos";

/// Rows a write refers to are kept from being deleted until it commits.
pub(super) const FOR_SHARE: &str = " FOR SHARE";

/// A join; PostgreSQL's planner picks the order.
pub(super) const JOIN_IN_ORDER: &str = "JOIN";

/// `GREATEST(a, b)`: the greater of two values.
pub(super) const GREATEST: &str = "GREATEST";

/// The clock that leases and due times are judged by: the database's, so that every replica
/// agrees on who holds what. `position` is where SQLite binds its own; here nothing is bound.
pub(super) fn clock(_position: usize) -> String {
    "briefing_now_micros()".to_owned()
}

/// [`clock`] needs no parameter here.
pub(super) fn bind_clock<'q>(
    query: sqlx::query::Query<'q, Db, sqlx::postgres::PgArguments>,
    _now: i64,
) -> sqlx::query::Query<'q, Db, sqlx::postgres::PgArguments> {
    query
}

/// Leases up to `limit` due deliveries for `lease` microseconds and returns them (`columns`)
/// in store order. Rows another replica is claiming right now are skipped, not waited for.
pub(super) async fn lease_due_deliveries(
    connection: &mut Connection,
    columns: &str,
    lease: i64,
    limit: i64,
) -> crate::store::StoreResult<Vec<DbRow>> {
    use sqlx::Row as _;
    let sql = format!(
        "UPDATE deliveries SET lease_until = briefing_now_micros() + $1 WHERE seq IN ( \
             SELECT seq FROM deliveries WHERE state = 'pending' AND next_attempt_time <= briefing_now_micros() \
             AND (lease_until IS NULL OR lease_until <= briefing_now_micros()) \
             ORDER BY next_attempt_time, seq LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING {columns}"
    );
    let mut rows = sqlx::query(&sql)
        .bind(lease)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?;
    rows.sort_by_key(|row| row.try_get::<i64, _>("seq").unwrap_or_default());
    Ok(rows)
}

/// The channel replicas hear about new publications on.
pub(super) const PUBLICATIONS_CHANNEL: &str = "briefing_publications";

/// The advisory lock that orders publications.
const PUBLICATION_LOCK: i64 = 0x6272_6965_6669_6e67;

/// Takes the (kind, day) for compiling, unless it is done (and not forced) or leased by
/// another; judged by the database's clock, so every replica agrees on who holds a day.
pub(super) async fn claim_run(
    pool: &Pool,
    kind: &str,
    date: NaiveDate,
    claim: &RunClaim,
) -> StoreResult<ClaimOutcome> {
    let lease = claim.lease.num_microseconds().unwrap_or(60_000_000);
    // One statement: insert the run, or take it over unless it is done (and not forced) or
    // another holder's lease has not run out. The row lock of ON CONFLICT serializes replicas.
    let claimed: Option<i32> = sqlx::query_scalar(
        "INSERT INTO digest_runs (kind, date, day_number, state, attempts, start_time, trigger, lease_owner, lease_until) \
         VALUES ($1, $2, $3, 'running', 1, briefing_now_micros(), $4, $5, briefing_now_micros() + $6) \
         ON CONFLICT (kind, date) DO UPDATE SET state = 'running', attempts = digest_runs.attempts + 1, \
             start_time = briefing_now_micros(), finish_time = NULL, trigger = $4, lease_owner = $5, \
             lease_until = briefing_now_micros() + $6, next_attempt_time = NULL \
         WHERE (digest_runs.state <> 'done' OR $7) \
           AND NOT (digest_runs.state = 'running' AND digest_runs.lease_until > briefing_now_micros() \
                    AND digest_runs.lease_owner IS DISTINCT FROM $5) \
         RETURNING attempts",
    )
    .bind(kind)
    .bind(format_date(date))
    .bind(sql::day_number(date))
    .bind(&claim.trigger)
    .bind(&claim.owner)
    .bind(lease)
    .bind(claim.force)
    .fetch_optional(pool)
    .await?;
    if let Some(attempt) = claimed {
        return Ok(ClaimOutcome::Claimed { attempt });
    }
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM digest_runs WHERE kind = $1 AND date = $2")
            .bind(kind)
            .bind(format_date(date))
            .fetch_optional(pool)
            .await?;
    Ok(if state.as_deref() == Some(RunState::Done.code()) {
        ClaimOutcome::AlreadyDone
    } else {
        ClaimOutcome::Busy
    })
}

/// Starts storing a publication in `transaction`; returns its time, by the database's clock.
/// Publications take their position under one lock, so positions follow commit order and a
/// WatchDigests cursor never skips a publication that commits late.
pub(super) async fn begin_publication(
    transaction: &mut sqlx::Transaction<'_, Db>,
) -> StoreResult<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PUBLICATION_LOCK)
        .execute(&mut **transaction)
        .await?;
    Ok(sqlx::query_scalar("SELECT briefing_now_micros()")
        .fetch_one(&mut **transaction)
        .await?)
}

/// Tells every replica's listener of a publication, when the transaction commits.
pub(super) async fn announce_publication(
    transaction: &mut sqlx::Transaction<'_, Db>,
    publication: i64,
) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(PUBLICATIONS_CHANNEL)
        .bind(publication.to_string())
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Each day's reported items and sources in `$1..=$2`, by date: counted from the items (the
/// sources from their bodies), as replicas share no counters that would need locking on
/// every write.
pub(super) const DAILY_ACTIVITY: &str = "SELECT date, COUNT(*)::BIGINT, \
        COALESCE(SUM(json_array_length(COALESCE(body::json -> 'sources', '[]'::json))), 0)::BIGINT \
     FROM agenda_items WHERE status = 'REPORTED' AND date >= $1 AND date <= $2 \
     GROUP BY date ORDER BY date";
