/// Officials.
macro_rules! officials {
    () => {
        use sqlx::QueryBuilder;

        use super::dialect::{Db, Pool, STRPOS};
        use super::documents;
        use crate::domain::{Official, OfficialName, ResourceId};
        use crate::store::sql::{self, SELECT_COLUMNS};
        use crate::store::{
            OfficialFilter, Page, PageRequest, Precondition, StoreError, StoreResult, Stored,
        };

        pub(super) async fn create(
            pool: &Pool,
            id: ResourceId,
            official: Official,
        ) -> StoreResult<Stored<Official>> {
            let now = sql::now();
            let mut transaction = pool.begin().await?;
            if documents::insert(&mut transaction, &id, &official, now)
                .await?
                .is_none()
            {
                return Err(StoreError::AlreadyExists {
                    resource: <Official as crate::domain::Resource>::resource_name(&id),
                });
            }
            transaction.commit().await?;
            Ok(crate::store::sql::created(id, official, now))
        }

        pub(super) async fn update(
            pool: &Pool,
            id: &ResourceId,
            precondition: Precondition,
            official: Official,
        ) -> StoreResult<Stored<Official>> {
            let mut transaction = pool.begin().await?;
            let (_, stored) =
                documents::replace(&mut transaction, id, precondition, official, sql::now())
                    .await?;
            transaction.commit().await?;
            Ok(stored)
        }

        pub(super) async fn delete(
            pool: &Pool,
            id: &ResourceId,
            precondition: Precondition,
        ) -> StoreResult<()> {
            let mut transaction = pool.begin().await?;
            // Locking the official first makes writers that reference it (FOR SHARE) wait.
            documents::remove::<Official>(&mut transaction, id, precondition).await?;
            let name = OfficialName::new(id.clone()).to_string();
            let trips: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trips WHERE traveler = $1")
                .bind(&name)
                .fetch_one(&mut *transaction)
                .await?;
            if trips > 0 {
                return Err(StoreError::Referenced {
                    resource: name,
                    count: trips,
                    referrers: "trips",
                });
            }
            let items: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM agenda_participants WHERE official = $1")
                    .bind(&name)
                    .fetch_one(&mut *transaction)
                    .await?;
            if items > 0 {
                return Err(StoreError::Referenced {
                    resource: name,
                    count: items,
                    referrers: "agenda items",
                });
            }
            transaction.commit().await?;
            Ok(())
        }

        pub(super) async fn list(
            pool: &Pool,
            filter: &OfficialFilter,
            page: PageRequest,
        ) -> StoreResult<Page<Stored<Official>>> {
            let mut query = QueryBuilder::<Db>::new(format!(
                "SELECT {SELECT_COLUMNS} FROM officials WHERE seq > "
            ));
            query.push_bind(page.after.unwrap_or(0));
            if let Some(country) = &filter.country {
                query.push(" AND country = ").push_bind(country.as_str());
            }
            if let Some(text) = &filter.query {
                // Names, aliases and titles are kept lowercased, as the query comes.
                query
                    .push(format_args!(" AND {STRPOS}(search_text, "))
                    .push_bind(text.clone())
                    .push(") > 0");
            }
            query
                .push(" ORDER BY seq LIMIT ")
                .push_bind(sql::page_limit(page));
            let rows = query.build().fetch_all(pool).await?;
            documents::paginate(rows, page.size)
        }
    };
}

pub(crate) use officials;
