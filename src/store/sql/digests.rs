/// The run ledger, published digests and the inputs of a compilation. The dialect claims a
/// run, orders publications and tells other replicas of them.
macro_rules! digests {
    () => {
        use chrono::{DateTime, NaiveDate, Utc};
        use sqlx::{QueryBuilder, Row as _};

        use super::dialect::{self, Db, DbRow, FOR_UPDATE, Pool};
        use super::documents;
        use crate::digest::{Compiled, DigestName, Dyad};
        use crate::domain::values::{format_date, parse_date};
        use crate::domain::{AgendaItem, Official, ResourceId, Trip};
        use crate::store::digests::{
            DigestFilter, DigestRun, DyadOrder, DyadPage, PublishedDigest, RunFilter, RunState,
            dyad_ranks, pair_key,
        };
        use crate::store::document::Document;
        use crate::store::sql::{SELECT_COLUMNS, day_number, from_micros, page_limit};
        use crate::store::{Page, PageRequest, StoreError, StoreResult, Stored};

        async fn documents_where<D: Document>(
            pool: &Pool,
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
            pool: &Pool,
            from: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Vec<Stored<AgendaItem>>> {
            documents_where(pool, "date >= $1 AND date <= $2", from, to).await
        }

        pub(super) async fn trips_between(
            pool: &Pool,
            from: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Vec<Stored<Trip>>> {
            documents_where(pool, "last_date >= $1 AND first_date <= $2", from, to).await
        }

        pub(super) async fn all_officials(pool: &Pool) -> StoreResult<Vec<Stored<Official>>> {
            let rows = sqlx::query(&format!(
                "SELECT {SELECT_COLUMNS} FROM officials ORDER BY seq"
            ))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| documents::decode::<Official>(row).map(|decoded| decoded.stored))
                .collect()
        }

        fn day_position(day_number: i64, seq: i64) -> i64 {
            day_number * 1_000_000_000 + seq
        }

        pub(super) async fn finish_run(
            pool: &Pool,
            kind: &str,
            date: NaiveDate,
            owner: &str,
            compiled: &Compiled,
            deliver: bool,
        ) -> StoreResult<PublishedDigest> {
            let digest = &compiled.digest;
            let name = digest.name().to_string();
            let body = serde_json::to_string(digest)
                .map_err(|error| StoreError::Internal(format!("cannot encode digest: {error}")))?;
            let mut transaction = pool.begin().await?;
            let sql = format!(
                "SELECT state, lease_owner FROM digest_runs WHERE kind = $1 AND date = $2{FOR_UPDATE}"
            );
            let holder: Option<(String, Option<String>)> = sqlx::query_as(&sql)
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
            let micros = dialect::begin_publication(&mut transaction).await?;
            let previous: Option<i64> = sqlx::query_scalar("SELECT revision FROM digests WHERE name = $1")
                .bind(&name)
                .fetch_optional(&mut *transaction)
                .await?;
            let revision = previous.unwrap_or(0) + 1;
            let publication: i64 = sqlx::query_scalar(
                "INSERT INTO digest_publications (name, kind, revision, compile_time, body) VALUES ($1, $2, $3, $4, $5) RETURNING seq",
            )
            .bind(&name)
            .bind(kind)
            .bind(revision)
            .bind(micros)
            .bind(&body)
            .fetch_one(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO digests (name, kind, date, day_number, revision, compile_time, publication, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
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
                "UPDATE digest_runs SET state = 'done', finish_time = $1, error = '', lease_owner = NULL, lease_until = NULL, \
                 next_attempt_time = NULL WHERE kind = $2 AND date = $3",
            )
            .bind(micros)
            .bind(kind)
            .bind(format_date(date))
            .execute(&mut *transaction)
            .await?;
            if deliver {
                let subscribers: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM subscriptions WHERE kind = $1 AND state = 'active' ORDER BY seq",
                )
                .bind(kind)
                .fetch_all(&mut *transaction)
                .await?;
                for subscriber in subscribers {
                    sqlx::query(
                        "INSERT INTO deliveries (id, subscription_id, digest_name, digest_revision, publication, idempotency_key, state, \
                         next_attempt_time, create_time) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(ResourceId::generate().as_str())
                    .bind(&subscriber)
                    .bind(&name)
                    .bind(revision)
                    .bind(publication)
                    .bind(format!("msg_{}", uuid::Uuid::now_v7().simple()))
                    .bind(micros)
                    .execute(&mut *transaction)
                    .await?;
                }
            }
            dialect::announce_publication(&mut transaction, publication).await?;
            transaction.commit().await?;
            Ok(PublishedDigest {
                digest: digest.clone(),
                revision,
                compile_time: from_micros(micros),
                publication,
            })
        }

        pub(super) async fn fail_run(
            pool: &Pool,
            kind: &str,
            date: NaiveDate,
            owner: &str,
            error: &str,
            retry_at: Option<DateTime<Utc>>,
        ) -> StoreResult<()> {
            let sql = format!(
                "UPDATE digest_runs SET state = 'failed', finish_time = {}, error = $1, lease_owner = NULL, \
                 lease_until = NULL, next_attempt_time = $2 WHERE kind = $3 AND date = $4 AND lease_owner = $5",
                dialect::clock(6)
            );
            let query = sqlx::query(&sql)
                .bind(error)
                .bind(retry_at.map(|at| at.timestamp_micros()))
                .bind(kind)
                .bind(format_date(date))
                .bind(owner);
            dialect::bind_clock(query, crate::store::sql::now().timestamp_micros())
                .execute(pool)
                .await?;
            Ok(())
        }

        const RUN_COLUMNS: &str = "seq, kind, date, day_number, state, attempts, start_time, finish_time, error, trigger, lease_until, next_attempt_time";

        fn decode_run(row: &DbRow) -> StoreResult<DigestRun> {
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
            pool: &Pool,
            kind: &str,
            date: NaiveDate,
        ) -> StoreResult<Option<DigestRun>> {
            let row = sqlx::query(&format!(
                "SELECT {RUN_COLUMNS} FROM digest_runs WHERE kind = $1 AND date = $2"
            ))
            .bind(kind)
            .bind(format_date(date))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(decode_run).transpose()
        }

        pub(super) async fn list_runs(
            pool: &Pool,
            filter: &RunFilter,
            page: PageRequest,
        ) -> StoreResult<Page<DigestRun>> {
            let mut query =
                QueryBuilder::<Db>::new(format!("SELECT {RUN_COLUMNS} FROM digest_runs WHERE TRUE"));
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
            for row in rows.iter().take(page.size) {
                let position = day_position(row.try_get("day_number")?, row.try_get("seq")?);
                items.push((position, decode_run(row)?));
            }
            Ok(Page::from_rows(items, rows.len() > page.size))
        }

        pub(super) async fn last_done_day(pool: &Pool, kind: &str) -> StoreResult<Option<NaiveDate>> {
            let date: Option<String> =
                sqlx::query_scalar("SELECT MAX(date) FROM digest_runs WHERE kind = $1 AND state = 'done'")
                    .bind(kind)
                    .fetch_one(pool)
                    .await?;
            date.map(|date| parse_date(&date).map_err(StoreError::Internal))
                .transpose()
        }

        pub(super) fn decode_published(
            row: &DbRow,
            publication_column: &str,
        ) -> StoreResult<PublishedDigest> {
            let body: String = row.try_get("body")?;
            Ok(PublishedDigest {
                digest: serde_json::from_str(&body)
                    .map_err(|error| StoreError::Internal(format!("stored digest is corrupt: {error}")))?,
                revision: row.try_get("revision")?,
                compile_time: from_micros(row.try_get("compile_time")?),
                publication: row.try_get(publication_column)?,
            })
        }

        pub(super) async fn get_digest(pool: &Pool, name: &DigestName) -> StoreResult<PublishedDigest> {
            let row = sqlx::query(
                "SELECT body, revision, compile_time, publication FROM digests WHERE name = $1",
            )
            .bind(name.to_string())
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                resource: name.to_string(),
            })?;
            decode_published(&row, "publication")
        }

        pub(super) async fn list_digests(
            pool: &Pool,
            filter: &DigestFilter,
            page: PageRequest,
        ) -> StoreResult<Page<PublishedDigest>> {
            let mut query = QueryBuilder::<Db>::new(
                "SELECT seq, day_number, body, revision, compile_time, publication FROM digests WHERE TRUE",
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
            for row in rows.iter().take(page.size) {
                let position = day_position(row.try_get("day_number")?, row.try_get("seq")?);
                items.push((position, decode_published(row, "publication")?));
            }
            Ok(Page::from_rows(items, rows.len() > page.size))
        }

        pub(super) async fn publications_after(
            pool: &Pool,
            cursor: i64,
            kind: Option<&str>,
            limit: usize,
        ) -> StoreResult<Vec<PublishedDigest>> {
            let mut query = QueryBuilder::<Db>::new(
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

        pub(super) async fn latest_publication(pool: &Pool) -> StoreResult<i64> {
            Ok(
                sqlx::query_scalar("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM digest_publications")
                    .fetch_one(pool)
                    .await?,
            )
        }

        /// Rows per INSERT of a per-pair table: 9 parameters each, well under the bound-parameter limit.
        const DYAD_ROWS_PER_INSERT: usize = 1_000;

        /// Replaces the digest's per-pair table, inside the transaction that stores the digest.
        async fn replace_dyads(
            transaction: &mut sqlx::Transaction<'_, Db>,
            name: &str,
            dyads: &[Dyad],
        ) -> StoreResult<()> {
            sqlx::query("DELETE FROM digest_dyads WHERE digest_name = $1")
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
                let mut insert = QueryBuilder::<Db>::new(
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
            pool: &Pool,
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
                "SELECT (SELECT COUNT(*) FROM digest_dyads WHERE digest_name = $1) FROM digests WHERE name = $1",
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
                "SELECT {rank} AS position, body FROM digest_dyads WHERE digest_name = $1 AND {rank} > $2 \
                 ORDER BY {rank} LIMIT $3"
            );
            let rows = sqlx::query(&sql)
                .bind(&digest_name)
                .bind(page.after.unwrap_or(0))
                .bind(page_limit(page))
                .fetch_all(&mut *transaction)
                .await?;
            transaction.commit().await?;
            let mut items = Vec::new();
            for row in rows.iter().take(page.size) {
                let body: String = row.try_get("body")?;
                let dyad = serde_json::from_str::<Dyad>(&body).map_err(|error| {
                    StoreError::Internal(format!("stored dyad of {digest_name} is corrupt: {error}"))
                })?;
                items.push((row.try_get::<i64, _>("position")?, dyad));
            }
            Ok(DyadPage {
                page: Page::from_rows(items, rows.len() > page.size),
                total_size: u64::try_from(total).unwrap_or(0),
            })
        }
    };
}

pub(crate) use digests;
