/// Trips, with the countries of their legs indexed for ListTrips.
macro_rules! trips {
    () => {
        use std::collections::BTreeSet;

        use sqlx::QueryBuilder;

        use super::dialect::{Connection, Db, FOR_SHARE, JOIN_IN_ORDER, Pool};
        use super::documents;
        use crate::domain::values::format_date;
        use crate::domain::{CountryCode, ResourceId, Trip, TripName};
        use crate::store::sql::{self, SELECT_COLUMNS, page_limit};
        use crate::store::{Page, PageRequest, Precondition, StoreError, StoreResult, Stored, TripFilter};

        pub(super) async fn create(pool: &Pool, id: ResourceId, trip: Trip) -> StoreResult<Stored<Trip>> {
            let now = sql::now();
            let mut transaction = pool.begin().await?;
            require_traveler(&mut transaction, &trip).await?;
            let Some(seq) = documents::insert(&mut transaction, &id, &trip, now).await? else {
                return Err(StoreError::AlreadyExists {
                    resource: <Trip as crate::domain::Resource>::resource_name(&id),
                });
            };
            write_countries(&mut transaction, seq, &BTreeSet::new(), &countries(&trip)).await?;
            transaction.commit().await?;
            Ok(crate::store::sql::created(id, trip, now))
        }

        pub(super) async fn update(
            pool: &Pool,
            id: &ResourceId,
            precondition: Precondition,
            trip: Trip,
        ) -> StoreResult<Stored<Trip>> {
            let mut transaction = pool.begin().await?;
            require_traveler(&mut transaction, &trip).await?;
            let legs = i64::try_from(trip.legs.len()).unwrap_or(i64::MAX);
            let (old, stored) =
                documents::replace(&mut transaction, id, precondition, trip, sql::now()).await?;
            let orphaned: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM agenda_items WHERE trip = $1 AND leg >= $2")
                    .bind(TripName::new(id.clone()).to_string())
                    .bind(legs)
                    .fetch_one(&mut *transaction)
                    .await?;
            if orphaned > 0 {
                return Err(StoreError::Referenced {
                    resource: format!("a leg of {}", <Trip as crate::domain::Resource>::resource_name(id)),
                    count: orphaned,
                    referrers: "agenda items (remove their leg or keep the leg)",
                });
            }
            write_countries(
                &mut transaction,
                old.seq,
                &countries(&old.stored.value),
                &countries(&stored.value),
            )
            .await?;
            transaction.commit().await?;
            Ok(stored)
        }

        pub(super) async fn delete(
            pool: &Pool,
            id: &ResourceId,
            precondition: Precondition,
            force: bool,
        ) -> StoreResult<()> {
            let mut transaction = pool.begin().await?;
            let old = documents::remove::<Trip>(&mut transaction, id, precondition).await?;
            let name = TripName::new(id.clone()).to_string();
            let referring: Vec<String> = sqlx::query_scalar("SELECT id FROM agenda_items WHERE trip = $1")
                .bind(&name)
                .fetch_all(&mut *transaction)
                .await?;
            if !referring.is_empty() && !force {
                return Err(StoreError::Referenced {
                    resource: name,
                    count: i64::try_from(referring.len()).unwrap_or(i64::MAX),
                    referrers: "agenda items (delete with force to delete them too)",
                });
            }
            for item in referring {
                let item = ResourceId::parse(&item).map_err(StoreError::Internal)?;
                super::agenda::remove(&mut transaction, &item, Precondition::None).await?;
            }
            write_countries(
                &mut transaction,
                old.seq,
                &countries(&old.stored.value),
                &BTreeSet::new(),
            )
            .await?;
            transaction.commit().await?;
            Ok(())
        }

        pub(super) async fn list(
            pool: &Pool,
            filter: &TripFilter,
            page: PageRequest,
        ) -> StoreResult<Page<Stored<Trip>>> {
            let columns = SELECT_COLUMNS
                .split(", ")
                .map(|column| format!("t.{column}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut query = QueryBuilder::<Db>::new(format!("SELECT {columns} FROM "));
            if let Some(country) = &filter.country {
                query
                    // Walk the country index when there is one: it hands rows over in `seq` order.
                    .push(format_args!(
                        "trip_countries c {JOIN_IN_ORDER} trips t ON t.seq = c.trip_seq WHERE c.country = "
                    ))
                    .push_bind(country.as_str())
                    .push(" AND c.trip_seq > ");
            } else {
                query.push("trips t WHERE t.seq > ");
            }
            query.push_bind(page.after.unwrap_or(0));
            if let Some(traveler) = &filter.traveler {
                query
                    .push(" AND t.traveler = ")
                    .push_bind(traveler.to_string());
            }
            if let Some(from) = filter.from_date {
                query
                    .push(" AND t.last_date >= ")
                    .push_bind(format_date(from));
            }
            if let Some(to) = filter.to_date {
                query
                    .push(" AND t.first_date <= ")
                    .push_bind(format_date(to));
            }
            query
                .push(" ORDER BY t.seq LIMIT ")
                .push_bind(page_limit(page));
            let rows = query.build().fetch_all(pool).await?;
            documents::paginate(rows, page.size)
        }

        /// The traveler must exist; the share lock keeps it from being deleted until we commit.
        async fn require_traveler(connection: &mut Connection, trip: &Trip) -> StoreResult<()> {
            let sql = format!("SELECT 1 FROM officials WHERE id = $1{FOR_SHARE}");
            let exists = sqlx::query_scalar::<_, i32>(&sql)
                .bind(trip.traveler.id().as_str())
                .fetch_optional(&mut *connection)
                .await?
                .is_some();
            if exists {
                Ok(())
            } else {
                Err(StoreError::BadReference {
                    field: "traveler".into(),
                    description: format!("{} does not exist", trip.traveler),
                })
            }
        }

        fn countries(trip: &Trip) -> BTreeSet<CountryCode> {
            trip.legs.iter().map(|leg| leg.country).collect()
        }

        async fn write_countries(
            connection: &mut Connection,
            seq: i64,
            old: &BTreeSet<CountryCode>,
            new: &BTreeSet<CountryCode>,
        ) -> StoreResult<()> {
            for gone in old.difference(new) {
                sqlx::query("DELETE FROM trip_countries WHERE country = $1 AND trip_seq = $2")
                    .bind(gone.as_str())
                    .bind(seq)
                    .execute(&mut *connection)
                    .await?;
            }
            for added in new.difference(old) {
                sqlx::query("INSERT INTO trip_countries (country, trip_seq) VALUES ($1, $2)")
                    .bind(added.as_str())
                    .bind(seq)
                    .execute(&mut *connection)
                    .await?;
            }
            Ok(())
        }
    };
}

pub(crate) use trips;
