//! The standard methods (AIP-131..135) written once for every resource: name parsing, ids,
//! validation, field masks, etags and the retry of a read-modify-write that lost a race.

use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;

use super::error::{ApiError, ApiResult};
use super::mask;
use crate::domain::names::Collection;
use crate::domain::{AgendaItem, Name, Official, Resource, ResourceId, Stored, Trip};
use crate::store::{Precondition, Store, StoreError, StoreResult};

/// How often an update re-reads and retries when another writer got there first.
const UPDATE_ATTEMPTS: u64 = 8;

/// Read-merge-write cycles of one resource queue here, so concurrent updates in this process
/// wait for each other instead of failing each other's revision check until the retries run
/// out; the retries remain for writers in other processes. Striped: names share a lock only
/// when their hashes collide.
static UPDATE_LOCKS: LazyLock<[tokio::sync::Mutex<()>; 64]> =
    LazyLock::new(|| std::array::from_fn(|_| tokio::sync::Mutex::new(())));

fn update_lock(name: &str) -> &'static tokio::sync::Mutex<()> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    let stripe = usize::try_from(hasher.finish() % 64).unwrap_or(0);
    &UPDATE_LOCKS[stripe]
}

/// What the standard methods need of a resource besides what the domain says of it
/// ([`Resource`]): the request field that carries it, what an update may change, and the
/// store's methods for it.
#[async_trait]
pub trait StandardMethods: Resource {
    /// The request field that carries the resource, e.g. `trip`.
    const FIELD: &'static str;
    /// Top-level record fields an update mask may name.
    const MUTABLE_FIELDS: &'static [&'static str];

    async fn get(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self>>;
    /// What [`StandardMethods::get`] reads, as the stored record: for responses, which need no
    /// domain value.
    async fn get_record(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self::Record>> {
        Ok(Self::get(store, id).await?.map(|value| value.to_record()))
    }
    async fn create(store: &dyn Store, id: ResourceId, value: Self) -> StoreResult<Stored<Self>>;
    async fn update(
        store: &dyn Store,
        id: &ResourceId,
        precondition: Precondition,
        value: Self,
    ) -> StoreResult<Stored<Self>>;
}

/// Parses `raw` as a name of the resource's collection, reporting problems under `field`.
pub fn parse_name<C: Collection>(field: &str, raw: &str) -> ApiResult<Name<C>> {
    Name::<C>::parse(raw).map_err(|problem| ApiError::invalid(field, problem))
}

pub async fn get<R: StandardMethods>(
    store: &Arc<dyn Store>,
    raw_name: &str,
) -> ApiResult<Stored<R>> {
    let name = parse_name::<R::Collection>("name", raw_name)?;
    Ok(R::get(store.as_ref(), name.id()).await?)
}

/// AIP-131 get, answered from the stored record.
pub async fn get_record<R: StandardMethods>(
    store: &Arc<dyn Store>,
    raw_name: &str,
) -> ApiResult<Stored<R::Record>> {
    let name = parse_name::<R::Collection>("name", raw_name)?;
    Ok(R::get_record(store.as_ref(), name.id()).await?)
}

pub async fn create<R: StandardMethods>(
    store: &Arc<dyn Store>,
    record: R::Record,
    raw_id: &str,
) -> ApiResult<Stored<R>> {
    let id_field = format!("{}_id", R::FIELD);
    let id = if raw_id.is_empty() {
        Ok(ResourceId::generate())
    } else {
        ResourceId::parse(raw_id)
    };
    let parsed = R::from_record(&record);
    let (id, value) = match (id, parsed) {
        (Ok(id), Ok(value)) => (id, value),
        (id, parsed) => {
            let mut violations = parsed
                .err()
                .map(|found| found.within(R::FIELD))
                .unwrap_or_default();
            if let Err(problem) = id {
                violations.add(id_field, problem);
            }
            return Err(ApiError::InvalidArgument(violations));
        }
    };
    R::create(store.as_ref(), id, value)
        .await
        .map_err(|error| ApiError::from_store(error, R::FIELD))
}

/// AIP-134 update: `etag`, when not empty, must match what is stored.
pub async fn update<R: StandardMethods>(
    store: &Arc<dyn Store>,
    raw_name: &str,
    etag: &str,
    patch: R::Record,
    update_mask: &[String],
) -> ApiResult<Stored<R>> {
    let name = parse_name::<R::Collection>(&format!("{}.name", R::FIELD), raw_name)?;
    let _queued = update_lock(&name.to_string()).lock().await;
    for attempt in 1..=UPDATE_ATTEMPTS {
        let stored = R::get(store.as_ref(), name.id()).await?;
        if !etag.is_empty() && etag != stored.etag() {
            return Err(ApiError::EtagMismatch {
                resource: name.to_string(),
                sent: etag.to_owned(),
            });
        }
        let merged = mask::apply(
            &stored.value.to_record(),
            &patch,
            update_mask,
            R::MUTABLE_FIELDS,
        )?;
        let value = R::from_record(&merged)
            .map_err(|violations| ApiError::InvalidArgument(violations.within(R::FIELD)))?;
        match R::update(
            store.as_ref(),
            name.id(),
            Precondition::Revision(stored.revision),
            value,
        )
        .await
        {
            Err(StoreError::Stale { .. }) if etag.is_empty() => {
                // A writer in another replica got there first: back off a little, with jitter,
                // so the two do not collide again.
                let pause = rand::random_range(attempt * 5..=attempt * 20);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(StoreError::Stale { resource }) => {
                return Err(ApiError::EtagMismatch {
                    resource,
                    sent: etag.to_owned(),
                });
            }
            other => return other.map_err(|error| ApiError::from_store(error, R::FIELD)),
        }
    }
    Err(ApiError::Unavailable(
        format!("{name} kept changing during the update").into(),
    ))
}

/// Reads the precondition an AIP-135 delete with an optional `etag` asks for.
pub async fn delete_precondition<R: StandardMethods>(
    store: &Arc<dyn Store>,
    name: &Name<R::Collection>,
    etag: &str,
) -> ApiResult<Precondition> {
    if etag.is_empty() {
        return Ok(Precondition::None);
    }
    let stored = R::get(store.as_ref(), name.id()).await?;
    if stored.etag() != etag {
        return Err(ApiError::EtagMismatch {
            resource: name.to_string(),
            sent: etag.to_owned(),
        });
    }
    Ok(Precondition::Revision(stored.revision))
}

/// Maps a Stale from a delete guarded by an etag.
pub fn stale_as_etag_mismatch(error: StoreError, etag: &str) -> ApiError {
    match error {
        StoreError::Stale { resource } => ApiError::EtagMismatch {
            resource,
            sent: etag.to_owned(),
        },
        other => other.into(),
    }
}

#[async_trait]
impl StandardMethods for Trip {
    const FIELD: &'static str = "trip";
    const MUTABLE_FIELDS: &'static [&'static str] = &[
        "title",
        "traveler",
        "purpose",
        "legs",
        "sources",
        "cancelled",
        "notes",
    ];

    async fn get(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self>> {
        store.get_trip(id).await
    }
    async fn get_record(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self::Record>> {
        store.get_trip_record(id).await
    }
    async fn create(store: &dyn Store, id: ResourceId, value: Self) -> StoreResult<Stored<Self>> {
        store.create_trip(id, value).await
    }
    async fn update(
        store: &dyn Store,
        id: &ResourceId,
        precondition: Precondition,
        value: Self,
    ) -> StoreResult<Stored<Self>> {
        store.update_trip(id, precondition, value).await
    }
}

#[async_trait]
impl StandardMethods for Official {
    const FIELD: &'static str = "official";
    const MUTABLE_FIELDS: &'static [&'static str] =
        &["display_name", "aliases", "country", "wikidata_id", "roles"];

    async fn get(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self>> {
        store.get_official(id).await
    }
    async fn create(store: &dyn Store, id: ResourceId, value: Self) -> StoreResult<Stored<Self>> {
        store.create_official(id, value).await
    }
    async fn update(
        store: &dyn Store,
        id: &ResourceId,
        precondition: Precondition,
        value: Self,
    ) -> StoreResult<Stored<Self>> {
        store.update_official(id, precondition, value).await
    }
}

#[async_trait]
impl StandardMethods for AgendaItem {
    const FIELD: &'static str = "agenda_item";
    const MUTABLE_FIELDS: &'static [&'static str] = &[
        "title",
        "summary",
        "date",
        "trip",
        "leg",
        "participants",
        "actors",
        "recipients",
        "event_type",
        "mode",
        "contexts",
        "intensity",
        "sources",
        "notes",
        "status",
        "hedged",
        "goldstein_scale",
        "num_sources",
        "num_articles",
        "num_mentions",
    ];

    async fn get(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self>> {
        store.get_agenda_item(id).await
    }
    async fn get_record(store: &dyn Store, id: &ResourceId) -> StoreResult<Stored<Self::Record>> {
        store.get_agenda_record(id).await
    }
    async fn create(store: &dyn Store, id: ResourceId, value: Self) -> StoreResult<Stored<Self>> {
        store.create_agenda_item(id, value).await
    }
    async fn update(
        store: &dyn Store,
        id: &ResourceId,
        precondition: Precondition,
        value: Self,
    ) -> StoreResult<Stored<Self>> {
        store.update_agenda_item(id, precondition, value).await
    }
}
