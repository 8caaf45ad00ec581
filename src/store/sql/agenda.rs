/// What the two agenda stores share: an update, a delete, the digest's planned items and the
/// decoding of each day's activity (whose statement, `dialect::DAILY_ACTIVITY`, reads what the
/// backend keeps). The backend's `agenda` module keeps the items' index rows: `check_item`
/// (the references an item makes), `reindex` (after an update) and `unindex` (after a delete).
macro_rules! agenda {
    () => {
        pub(super) async fn update(
            pool: &super::dialect::Pool,
            id: &crate::domain::ResourceId,
            precondition: crate::store::Precondition,
            item: crate::domain::AgendaItem,
        ) -> crate::store::StoreResult<crate::store::Stored<crate::domain::AgendaItem>> {
            let mut transaction = pool.begin().await?;
            check_item(&mut transaction, &item).await?;
            let (old, stored) = super::documents::replace(
                &mut transaction,
                id,
                precondition,
                item,
                crate::store::sql::now(),
            )
            .await?;
            reindex(&mut transaction, &old, &stored).await?;
            transaction.commit().await?;
            Ok(stored)
        }

        /// Deletes an item and its index rows inside the caller's transaction.
        pub(super) async fn remove(
            connection: &mut super::dialect::Connection,
            id: &crate::domain::ResourceId,
            precondition: crate::store::Precondition,
        ) -> crate::store::StoreResult<()> {
            let old = super::documents::remove::<crate::domain::AgendaItem>(
                connection,
                id,
                precondition,
            )
            .await?;
            unindex(connection, &old).await
        }

        pub(super) async fn delete(
            pool: &super::dialect::Pool,
            id: &crate::domain::ResourceId,
            precondition: crate::store::Precondition,
        ) -> crate::store::StoreResult<()> {
            let mut transaction = pool.begin().await?;
            remove(&mut transaction, id, precondition).await?;
            transaction.commit().await?;
            Ok(())
        }

        /// The PLANNED items dated `from..=to`, by date and position.
        pub(super) async fn planned_items_between(
            pool: &super::dialect::Pool,
            from: chrono::NaiveDate,
            to: chrono::NaiveDate,
            limit: usize,
        ) -> crate::store::StoreResult<Vec<crate::store::Stored<crate::domain::AgendaItem>>> {
            use crate::domain::values::format_date;
            use crate::store::sql::SELECT_COLUMNS;
            let sql = format!(
                "SELECT {SELECT_COLUMNS} FROM agenda_items \
                 WHERE status = 'PLANNED' AND date >= $1 AND date <= $2 ORDER BY date, seq LIMIT $3"
            );
            let rows = sqlx::query(&sql)
                .bind(format_date(from))
                .bind(format_date(to))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    super::documents::decode::<crate::domain::AgendaItem>(row)
                        .map(|decoded| decoded.stored)
                })
                .collect()
        }

        /// Each day's reported items and sources in `from..=to`; days without are left out.
        pub(super) async fn daily_activity(
            pool: &super::dialect::Pool,
            from: chrono::NaiveDate,
            to: chrono::NaiveDate,
        ) -> crate::store::StoreResult<Vec<crate::domain::DailyActivity>> {
            use crate::domain::values::{format_date, parse_date};
            use crate::store::StoreError;
            use sqlx::Row as _;
            let rows = sqlx::query(super::dialect::DAILY_ACTIVITY)
                .bind(format_date(from))
                .bind(format_date(to))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let date: &str = row.try_get(0)?;
                    let count = |column: usize| -> crate::store::StoreResult<u64> {
                        let value: i64 = row.try_get(column)?;
                        u64::try_from(value).map_err(|_| {
                            StoreError::Internal(format!("activity of {date} counted negative"))
                        })
                    };
                    Ok(crate::domain::DailyActivity {
                        date: parse_date(date).map_err(|problem| {
                            StoreError::Internal(format!("stored activity date: {problem}"))
                        })?,
                        items: count(1)?,
                        sources: count(2)?,
                    })
                })
                .collect()
        }
    };
}

pub(crate) use agenda;
