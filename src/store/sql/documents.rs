/// The resource tables: insert, read, compare-and-swap and delete of a JSON body with its
/// revision, timestamps and filter columns. Rows a write depends on are read with the
/// dialect's `FOR_UPDATE`, so concurrent PostgreSQL replicas serialize on the resource.
macro_rules! documents {
    () => {
        use sqlx::Row as _;

        use super::dialect::{Connection, Db, DbRow, FOR_UPDATE, Pool};
        use crate::domain::ResourceId;
        use crate::store::document::{Column, Document};
        use crate::store::sql::{self, Row, SELECT_COLUMNS};
        use crate::store::{Page, Precondition, StoreError, StoreResult, Stored};

        pub(super) fn decode<D: Document>(row: &DbRow) -> StoreResult<Row<D>> {
            sql::decode_columns(
                row.try_get("seq")?,
                row.try_get("id")?,
                row.try_get("revision")?,
                row.try_get("create_time")?,
                row.try_get("update_time")?,
                row.try_get("body")?,
            )
        }

        /// The stored record of a document, not parsed into its domain value (for responses:
        /// it was checked when it was written).
        #[allow(dead_code, reason = "a backend may read records on a path of its own")]
        pub(super) async fn get_record<D: Document>(
            pool: &Pool,
            id: &ResourceId,
        ) -> StoreResult<Stored<D::Record>> {
            let sql = format!("SELECT {SELECT_COLUMNS} FROM {} WHERE id = $1", D::TABLE);
            sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
                .map(|row| {
                    sql::decode_record_columns::<D>(
                        row.try_get("seq")?,
                        row.try_get("id")?,
                        row.try_get("revision")?,
                        row.try_get("create_time")?,
                        row.try_get("update_time")?,
                        row.try_get("body")?,
                    )
                })
                .transpose()?
                .map(|row| row.stored)
                .ok_or_else(|| StoreError::NotFound {
                    resource: D::resource_name(id),
                })
        }

        #[allow(dead_code, reason = "a backend may read documents on a path of its own")]
        pub(super) async fn get<D: Document>(
            pool: &Pool,
            id: &ResourceId,
        ) -> StoreResult<Stored<D>> {
            sql::parse_record(get_record::<D>(pool, id).await?)
        }

        /// Reads a document for a write, locking its row until the transaction ends.
        pub(super) async fn fetch<D: Document>(
            connection: &mut Connection,
            id: &ResourceId,
        ) -> StoreResult<Row<D>> {
            let sql = format!(
                "SELECT {SELECT_COLUMNS} FROM {} WHERE id = $1{FOR_UPDATE}",
                D::TABLE
            );
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(&mut *connection)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    resource: D::resource_name(id),
                })?;
            decode(&row)
        }

        fn bind_columns<'q, O>(
            mut query: sqlx::query::QueryScalar<'q, Db, O, <Db as sqlx::Database>::Arguments<'q>>,
            columns: Vec<(&'static str, Column)>,
        ) -> sqlx::query::QueryScalar<'q, Db, O, <Db as sqlx::Database>::Arguments<'q>> {
            for (_, column) in columns {
                query = match column {
                    Column::Text(text) => query.bind(text),
                    Column::MaybeText(text) => query.bind(text),
                    Column::MaybeInt(number) => query.bind(number),
                };
            }
            query
        }

        /// Inserts a new document; `Ok(None)` when the id is taken.
        pub(super) async fn insert<D: Document>(
            connection: &mut Connection,
            id: &ResourceId,
            value: &D,
            now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<Option<i64>> {
            let columns = value.columns();
            let names: String = columns
                .iter()
                .map(|(name, _)| format!(", {name}"))
                .collect();
            let marks: String = (0..columns.len())
                .map(|position| format!(", ${}", position + 5))
                .collect();
            let sql = format!(
                "INSERT INTO {} (id, revision, create_time, update_time, body{names}) VALUES ($1, 1, $2, $3, $4{marks}) \
                 ON CONFLICT (id) DO NOTHING RETURNING seq",
                D::TABLE
            );
            let micros = now.timestamp_micros();
            let query = bind_columns(
                sqlx::query_scalar::<_, i64>(&sql)
                    .bind(id.as_str())
                    .bind(micros)
                    .bind(micros)
                    .bind(sql::encode_body(value)?),
                columns,
            );
            Ok(query.fetch_optional(&mut *connection).await?)
        }

        /// Replaces a document if `precondition` holds; returns the old row and the new
        /// document.
        pub(super) async fn replace<D: Document>(
            connection: &mut Connection,
            id: &ResourceId,
            precondition: Precondition,
            value: D,
            now: chrono::DateTime<chrono::Utc>,
        ) -> StoreResult<(Row<D>, Stored<D>)> {
            let old = fetch::<D>(connection, id).await?;
            sql::check(&old, precondition, id)?;
            let columns = value.columns();
            let assignments: String = columns
                .iter()
                .enumerate()
                .map(|(position, (name, _))| format!(", {name} = ${}", position + 3))
                .collect();
            let sql = format!(
                "UPDATE {} SET revision = revision + 1, update_time = $1, body = $2{assignments} WHERE seq = ${} RETURNING seq",
                D::TABLE,
                columns.len() + 3
            );
            let query = bind_columns(
                sqlx::query_scalar::<_, i64>(&sql)
                    .bind(now.timestamp_micros())
                    .bind(sql::encode_body(&value)?),
                columns,
            )
            .bind(old.seq);
            query.fetch_optional(&mut *connection).await?;
            let stored = Stored {
                id: id.clone(),
                value,
                create_time: old.stored.create_time,
                update_time: sql::from_micros(now.timestamp_micros()),
                revision: old.stored.revision + 1,
            };
            Ok((old, stored))
        }

        /// Deletes a document if `precondition` holds; returns what was deleted.
        pub(super) async fn remove<D: Document>(
            connection: &mut Connection,
            id: &ResourceId,
            precondition: Precondition,
        ) -> StoreResult<Row<D>> {
            let old = fetch::<D>(connection, id).await?;
            sql::check(&old, precondition, id)?;
            let sql = format!("DELETE FROM {} WHERE seq = $1", D::TABLE);
            sqlx::query(&sql)
                .bind(old.seq)
                .execute(&mut *connection)
                .await?;
            Ok(old)
        }

        /// Turns up to `size + 1` rows of a list query into a page and the position to
        /// continue from.
        pub(super) fn paginate<D: Document>(
            rows: Vec<DbRow>,
            size: usize,
        ) -> StoreResult<Page<Stored<D>>> {
            let decoded = rows
                .iter()
                .take(size)
                .map(decode::<D>)
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(sql::page_of(decoded, rows.len() > size))
        }
    };
}

pub(crate) use documents;
