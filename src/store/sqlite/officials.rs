//! Officials in SQLite.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::documents::{self, SELECT_COLUMNS};
use crate::domain::Resource as _;
use crate::domain::{Official, OfficialName, ResourceId};
use crate::store::{
    OfficialFilter, Page, PageRequest, Precondition, StoreError, StoreResult, Stored,
};

pub(super) async fn create(
    pool: &SqlitePool,
    id: ResourceId,
    official: Official,
) -> StoreResult<Stored<Official>> {
    let now = documents::now();
    let mut transaction = pool.begin().await?;
    if documents::insert(&mut transaction, &id, &official, now)
        .await?
        .is_none()
    {
        return Err(StoreError::AlreadyExists {
            resource: Official::resource_name(&id),
        });
    }
    transaction.commit().await?;
    Ok(Stored {
        id,
        value: official,
        create_time: now,
        update_time: now,
        revision: 1,
    })
}

pub(super) async fn update(
    pool: &SqlitePool,
    id: &ResourceId,
    precondition: Precondition,
    official: Official,
) -> StoreResult<Stored<Official>> {
    let mut transaction = pool.begin().await?;
    let (_, stored) = documents::replace(
        &mut transaction,
        id,
        precondition,
        official,
        documents::now(),
    )
    .await?;
    transaction.commit().await?;
    Ok(stored)
}

pub(super) async fn delete(
    pool: &SqlitePool,
    id: &ResourceId,
    precondition: Precondition,
) -> StoreResult<()> {
    let mut transaction = pool.begin().await?;
    let name = OfficialName::new(id.clone()).to_string();
    let trips: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trips WHERE traveler = ?")
        .bind(&name)
        .fetch_one(&mut *transaction)
        .await?;
    let items: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM agenda_participants WHERE official = ?")
            .bind(&name)
            .fetch_one(&mut *transaction)
            .await?;
    documents::remove::<Official>(&mut transaction, id, precondition).await?;
    if trips > 0 {
        return Err(StoreError::Referenced {
            resource: name,
            count: trips,
            referrers: "trips",
        });
    }
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
    pool: &SqlitePool,
    filter: &OfficialFilter,
    page: PageRequest,
) -> StoreResult<Page<Stored<Official>>> {
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {SELECT_COLUMNS} FROM officials WHERE seq > "
    ));
    query.push_bind(page.after.unwrap_or(0));
    if let Some(country) = &filter.country {
        query.push(" AND country = ").push_bind(country.as_str());
    }
    if let Some(text) = &filter.query {
        query
            .push(" AND search_text LIKE ")
            .push_bind(format!("%{}%", escape_like(text)))
            .push(" ESCAPE '\\'");
    }
    query
        .push(" ORDER BY seq LIMIT ")
        .push_bind(page_limit(page));
    let rows = query.build().fetch_all(pool).await?;
    documents::paginate(rows, page.size)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One row more than the page, to see whether another page follows.
pub(super) fn page_limit(page: PageRequest) -> i64 {
    i64::try_from(page.size).unwrap_or(i64::MAX - 1) + 1
}
