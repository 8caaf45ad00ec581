/// The feeds' file ledger. A claim is one upsert: it inserts the file, or takes it over when it
/// failed and is due again or its holder's lease ran out; otherwise it returns nothing. On
/// PostgreSQL the row lock of `ON CONFLICT` serializes replicas and leases are judged by the
/// database's clock; on SQLite the one writer excludes every other claim.
macro_rules! feeds {
    () => {
        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Row as _};

        use super::dialect::{self, Db, DbRow, Pool};
        use crate::store::feeds::{
            FeedFile, FeedFileClaim, FeedFileCounts, FeedFileFilter, FeedFileState, FeedStats,
            ListedFile, POSITION_SPAN, file_position,
        };
        use crate::store::sql::{from_micros, page_limit};
        use crate::store::{Page, PageRequest, StoreError, StoreResult};

        const FILE_COLUMNS: &str = "seq, feed, url, file_name, file_time, state, size_bytes, md5, \
            rows_read, rows_imported, rows_skipped, attempts, error, next_attempt_at, claimed_by, \
            lease_until, create_time, update_time, import_time";

        fn micros(duration: chrono::Duration) -> i64 {
            duration.num_microseconds().unwrap_or(i64::MAX / 4)
        }

        fn file_time(seconds: i64) -> DateTime<Utc> {
            DateTime::from_timestamp(seconds, 0).unwrap_or_default()
        }

        fn count(value: i64) -> u64 {
            u64::try_from(value).unwrap_or_default()
        }

        fn decode_file(row: &DbRow) -> StoreResult<FeedFile> {
            let state: String = row.try_get("state")?;
            let optional_time = |column: &str| -> StoreResult<Option<DateTime<Utc>>> {
                Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
            };
            Ok(FeedFile {
                feed: row.try_get("feed")?,
                file: ListedFile {
                    url: row.try_get("url")?,
                    file_name: row.try_get("file_name")?,
                    file_time: file_time(row.try_get("file_time")?),
                    size_bytes: count(row.try_get("size_bytes")?),
                    md5: row.try_get("md5")?,
                },
                state: FeedFileState::from_code(&state).ok_or_else(|| {
                    StoreError::Internal(format!("unknown feed file state {state:?}"))
                })?,
                counts: FeedFileCounts {
                    rows_read: count(row.try_get("rows_read")?),
                    rows_imported: count(row.try_get("rows_imported")?),
                    rows_skipped: count(row.try_get("rows_skipped")?),
                },
                attempts: row.try_get("attempts")?,
                error: row.try_get("error")?,
                next_attempt_time: optional_time("next_attempt_at")?,
                claimed_by: row.try_get("claimed_by")?,
                lease_until: optional_time("lease_until")?,
                create_time: from_micros(row.try_get("create_time")?),
                update_time: from_micros(row.try_get("update_time")?),
                import_time: optional_time("import_time")?,
            })
        }

        /// The attempt the claim starts (1 for the first), or None when the file is imported,
        /// held by another, or failed and not yet due.
        pub(super) async fn claim(pool: &Pool, claim: &FeedFileClaim) -> StoreResult<Option<i32>> {
            let now = dialect::clock(9);
            let sql = format!(
                "INSERT INTO feed_files (feed, url, file_name, file_time, state, size_bytes, md5, attempts, \
                     claimed_by, lease_until, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, 'claimed', $5, $6, 1, $7, {now} + $8, {now}, {now}) \
                 ON CONFLICT (url) DO UPDATE SET state = 'claimed', attempts = feed_files.attempts + 1, \
                     size_bytes = $5, md5 = $6, claimed_by = $7, lease_until = {now} + $8, \
                     next_attempt_at = NULL, update_time = {now} \
                 WHERE (feed_files.state = 'failed' AND feed_files.next_attempt_at <= {now}) \
                    OR (feed_files.state = 'claimed' AND feed_files.lease_until <= {now}) \
                 RETURNING attempts"
            );
            let file = &claim.file;
            let query = sqlx::query(&sql)
                .bind(&claim.feed)
                .bind(&file.url)
                .bind(&file.file_name)
                .bind(file.file_time.timestamp())
                .bind(i64::try_from(file.size_bytes).unwrap_or(i64::MAX))
                .bind(&file.md5)
                .bind(&claim.owner)
                .bind(micros(claim.lease));
            let row = dialect::bind_clock(query, crate::store::sql::now().timestamp_micros())
                .fetch_optional(pool)
                .await?;
            row.map(|row| row.try_get::<i32, _>("attempts"))
                .transpose()
                .map_err(StoreError::from)
        }

        /// Marks a file imported with what the import counted; [`StoreError::Stale`] when
        /// `owner` no longer holds it.
        pub(super) async fn finish(
            pool: &Pool,
            url: &str,
            owner: &str,
            counts: FeedFileCounts,
        ) -> StoreResult<()> {
            let now = dialect::clock(6);
            let sql = format!(
                "UPDATE feed_files SET state = 'imported', rows_read = $1, rows_imported = $2, \
                     rows_skipped = $3, error = '', lease_until = NULL, next_attempt_at = NULL, \
                     import_time = {now}, update_time = {now} \
                 WHERE url = $4 AND claimed_by = $5 AND state = 'claimed'"
            );
            let query = sqlx::query(&sql)
                .bind(i64::try_from(counts.rows_read).unwrap_or(i64::MAX))
                .bind(i64::try_from(counts.rows_imported).unwrap_or(i64::MAX))
                .bind(i64::try_from(counts.rows_skipped).unwrap_or(i64::MAX))
                .bind(url)
                .bind(owner);
            let done = dialect::bind_clock(query, crate::store::sql::now().timestamp_micros())
                .execute(pool)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Stale {
                    resource: format!("feed file {url}"),
                });
            }
            Ok(())
        }

        /// Records a failed attempt: due again `retry_in` from now, or never (None).
        pub(super) async fn fail(
            pool: &Pool,
            url: &str,
            owner: &str,
            error: &str,
            retry_in: Option<chrono::Duration>,
        ) -> StoreResult<()> {
            let now = dialect::clock(5);
            let sql = format!(
                "UPDATE feed_files SET state = 'failed', error = $1, lease_until = NULL, \
                     next_attempt_at = {now} + $2, update_time = {now} \
                 WHERE url = $3 AND claimed_by = $4 AND state = 'claimed'"
            );
            let query = sqlx::query(&sql)
                .bind(error)
                .bind(retry_in.map(micros))
                .bind(url)
                .bind(owner);
            let done = dialect::bind_clock(query, crate::store::sql::now().timestamp_micros())
                .execute(pool)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Stale {
                    resource: format!("feed file {url}"),
                });
            }
            Ok(())
        }

        /// Files of `feed` that may be claimed again: failed and due, or held past their
        /// lease; oldest first, at most `limit`.
        pub(super) async fn due(pool: &Pool, feed: &str, limit: usize) -> StoreResult<Vec<ListedFile>> {
            let now = dialect::clock(3);
            let sql = format!(
                "SELECT {FILE_COLUMNS} FROM feed_files WHERE feed = $1 AND \
                 ((state = 'failed' AND next_attempt_at <= {now}) \
                  OR (state = 'claimed' AND lease_until <= {now})) \
                 ORDER BY file_time, seq LIMIT $2"
            );
            let query = sqlx::query(&sql)
                .bind(feed)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX));
            let rows = dialect::bind_clock(query, crate::store::sql::now().timestamp_micros())
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| decode_file(row).map(|file| file.file))
                .collect()
        }

        /// The time of the newest file of `feed` in the ledger, whatever its state.
        pub(super) async fn newest(pool: &Pool, feed: &str) -> StoreResult<Option<DateTime<Utc>>> {
            let newest: Option<i64> =
                sqlx::query_scalar("SELECT MAX(file_time) FROM feed_files WHERE feed = $1")
                    .bind(feed)
                    .fetch_one(pool)
                    .await?;
            Ok(newest.map(file_time))
        }

        /// Files, newest first (by the time in their names).
        pub(super) async fn list(
            pool: &Pool,
            filter: &FeedFileFilter,
            page: PageRequest,
        ) -> StoreResult<Page<FeedFile>> {
            let mut query = QueryBuilder::<Db>::new(format!(
                "SELECT {FILE_COLUMNS} FROM feed_files WHERE feed = "
            ));
            query.push_bind(filter.feed.clone());
            if let Some(after) = page.after {
                query
                    .push(format!(" AND file_time * {POSITION_SPAN} + seq < "))
                    .push_bind(after);
            }
            if let Some(state) = filter.state {
                query.push(" AND state = ").push_bind(state.code());
            }
            query
                .push(" ORDER BY file_time DESC, seq DESC LIMIT ")
                .push_bind(page_limit(page));
            let rows = query.build().fetch_all(pool).await?;
            let mut items = Vec::new();
            for row in rows.iter().take(page.size) {
                let position = file_position(row.try_get("file_time")?, row.try_get("seq")?);
                items.push((position, decode_file(row)?));
            }
            Ok(Page::from_rows(items, rows.len() > page.size))
        }

        /// Files by state, and the time of the newest imported one, of every feed.
        pub(super) async fn stats(pool: &Pool) -> StoreResult<FeedStats> {
            let rows = sqlx::query("SELECT state, COUNT(*) AS files FROM feed_files GROUP BY state")
                .fetch_all(pool)
                .await?;
            let mut by_state = Vec::with_capacity(rows.len());
            for row in &rows {
                by_state.push((row.try_get::<String, _>("state")?, row.try_get::<i64, _>("files")?));
            }
            let newest: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(file_time) FROM feed_files WHERE state = 'imported'",
            )
            .fetch_one(pool)
            .await?;
            Ok(FeedStats {
                by_state,
                newest_imported: newest.map(file_time),
            })
        }
    };
}

pub(crate) use feeds;
