/// Subscriptions and the delivery outbox. Due deliveries are leased through the dialect
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so no two workers attempt one at the same time.
macro_rules! subscriptions {
    () => {
        use std::path::PathBuf;

        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Row as _};

        use super::dialect::{self, Connection, Db, DbRow, Pool};
        use crate::domain::ResourceId;
        use crate::domain::subscription::{
            Delivery, DeliveryState, Subscription, SubscriptionState, Target, WebhookSecret,
        };
        use crate::store::digests::{AttemptOutcome, DueDelivery, PublishedDigest};
        use crate::store::secrets::SecretSealer;
        use crate::store::sql::{from_micros, page_limit};
        use crate::store::{Page, PageRequest, StoreError, StoreResult, Stored};

        const SUBSCRIPTION_COLUMNS: &str = "seq, id, kind, target, url, secret, directory, state, disabled_reason, create_time, update_time";

        fn resource(id: &str) -> String {
            format!("subscriptions/{id}")
        }

        fn decode_subscription(
            row: &DbRow,
            secrets: &SecretSealer,
        ) -> StoreResult<Stored<Subscription>> {
            let id: String = row.try_get("id")?;
            let target: String = row.try_get("target")?;
            let corrupt =
                |what: &str| StoreError::Internal(format!("stored {} has a bad {what}", resource(&id)));
            let target = match target.as_str() {
                "webhook" => {
                    let url: Option<String> = row.try_get("url")?;
                    let secret: Option<String> = row.try_get("secret")?;
                    let secret = match secret {
                        Some(stored) => Some(secrets.open(&id, &stored)?),
                        None => None,
                    };
                    Target::Webhook {
                        url: url
                            .and_then(|url| url::Url::parse(&url).ok())
                            .ok_or_else(|| corrupt("url"))?,
                        secret: secret
                            .and_then(|secret| WebhookSecret::parse(&secret).ok())
                            .ok_or_else(|| corrupt("secret"))?,
                    }
                }
                "file" => {
                    let directory: Option<String> = row.try_get("directory")?;
                    Target::File {
                        directory: PathBuf::from(directory.ok_or_else(|| corrupt("directory"))?),
                    }
                }
                _ => return Err(corrupt("target")),
            };
            let state: String = row.try_get("state")?;
            Ok(Stored {
                id: ResourceId::parse(&id).map_err(|_| corrupt("id"))?,
                value: Subscription {
                    kind: row.try_get("kind")?,
                    target,
                    state: SubscriptionState::from_code(&state).ok_or_else(|| corrupt("state"))?,
                    disabled_reason: row.try_get("disabled_reason")?,
                },
                create_time: from_micros(row.try_get("create_time")?),
                update_time: from_micros(row.try_get("update_time")?),
                revision: 1,
            })
        }

        pub(super) async fn create(
            pool: &Pool,
            secrets: &SecretSealer,
            id: ResourceId,
            subscription: Subscription,
        ) -> StoreResult<Stored<Subscription>> {
            let now = crate::store::sql::now();
            let (target, url, secret, directory) = match &subscription.target {
                Target::Webhook { url, secret } => (
                    "webhook",
                    Some(url.to_string()),
                    Some(secrets.seal(id.as_str(), secret.expose())?),
                    None,
                ),
                Target::File { directory } => (
                    "file",
                    None,
                    None,
                    Some(directory.to_string_lossy().into_owned()),
                ),
            };
            let inserted = sqlx::query(
                "INSERT INTO subscriptions (id, kind, target, url, secret, directory, state, disabled_reason, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(&subscription.kind)
            .bind(target)
            .bind(url)
            .bind(secret)
            .bind(directory)
            .bind(subscription.state.code())
            .bind(&subscription.disabled_reason)
            .bind(now.timestamp_micros())
            .bind(now.timestamp_micros())
            .execute(pool)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::AlreadyExists {
                    resource: resource(id.as_str()),
                });
            }
            Ok(crate::store::sql::created(id, subscription, now))
        }

        pub(super) async fn get(
            pool: &Pool,
            secrets: &SecretSealer,
            id: &ResourceId,
        ) -> StoreResult<Stored<Subscription>> {
            let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    resource: resource(id.as_str()),
                })?;
            decode_subscription(&row, secrets)
        }

        pub(super) async fn list(
            pool: &Pool,
            secrets: &SecretSealer,
            kind: Option<&str>,
            page: PageRequest,
        ) -> StoreResult<Page<Stored<Subscription>>> {
            let mut query = QueryBuilder::<Db>::new(format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE seq > "
            ));
            query.push_bind(page.after.unwrap_or(0));
            if let Some(kind) = kind {
                query.push(" AND kind = ").push_bind(kind.to_owned());
            }
            query
                .push(" ORDER BY seq LIMIT ")
                .push_bind(page_limit(page));
            let rows = query.build().fetch_all(pool).await?;
            let mut items = Vec::new();
            for row in rows.iter().take(page.size) {
                items.push((row.try_get("seq")?, decode_subscription(row, secrets)?));
            }
            Ok(Page::from_rows(items, rows.len() > page.size))
        }

        pub(super) async fn delete(pool: &Pool, id: &ResourceId) -> StoreResult<()> {
            let mut transaction = pool.begin().await?;
            let deleted = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *transaction)
                .await?;
            if deleted.rows_affected() == 0 {
                return Err(StoreError::NotFound {
                    resource: resource(id.as_str()),
                });
            }
            sqlx::query("DELETE FROM deliveries WHERE subscription_id = $1")
                .bind(id.as_str())
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(())
        }

        const DELIVERY_COLUMNS: &str = "seq, id, subscription_id, digest_name, digest_revision, publication, idempotency_key, state, attempts, \
                                        last_result, next_attempt_time, create_time, deliver_time";

        fn decode_delivery(row: &DbRow) -> StoreResult<Delivery> {
            let state: String = row.try_get("state")?;
            let micros = |column: &str| -> StoreResult<Option<DateTime<Utc>>> {
                Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
            };
            Ok(Delivery {
                id: row.try_get("id")?,
                subscription_id: row.try_get("subscription_id")?,
                digest: row.try_get("digest_name")?,
                digest_revision: row.try_get("digest_revision")?,
                idempotency_key: row.try_get("idempotency_key")?,
                state: DeliveryState::from_code(&state)
                    .ok_or_else(|| StoreError::Internal(format!("unknown delivery state {state:?}")))?,
                attempts: row.try_get("attempts")?,
                last_result: row.try_get("last_result")?,
                next_attempt_time: if state == "pending" {
                    micros("next_attempt_time")?
                } else {
                    None
                },
                create_time: from_micros(row.try_get("create_time")?),
                deliver_time: micros("deliver_time")?,
            })
        }

        pub(super) async fn list_deliveries(
            pool: &Pool,
            subscription: &ResourceId,
            state: Option<DeliveryState>,
            page: PageRequest,
        ) -> StoreResult<Page<Delivery>> {
            let mut query = QueryBuilder::<Db>::new(format!(
                "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE subscription_id = "
            ));
            query.push_bind(subscription.as_str().to_owned());
            if let Some(after) = page.after {
                query.push(" AND seq < ").push_bind(after);
            }
            if let Some(state) = state {
                query.push(" AND state = ").push_bind(state.code());
            }
            query
                .push(" ORDER BY seq DESC LIMIT ")
                .push_bind(page_limit(page));
            let rows = query.build().fetch_all(pool).await?;
            let mut items = Vec::new();
            for row in rows.iter().take(page.size) {
                items.push((row.try_get("seq")?, decode_delivery(row)?));
            }
            Ok(Page::from_rows(items, rows.len() > page.size))
        }

        pub(super) async fn claim_due(
            pool: &Pool,
            secrets: &SecretSealer,
            lease: chrono::Duration,
            limit: usize,
        ) -> StoreResult<Vec<DueDelivery>> {
            let mut transaction = pool.begin().await?;
            let rows = dialect::lease_due_deliveries(
                &mut transaction,
                DELIVERY_COLUMNS,
                lease.num_microseconds().unwrap_or(60_000_000),
                i64::try_from(limit).unwrap_or(i64::MAX),
            )
            .await?;
            let mut due = Vec::with_capacity(rows.len());
            for row in &rows {
                let delivery = decode_delivery(row)?;
                let publication: i64 = row.try_get("publication")?;
                let subscription_id =
                    ResourceId::parse(&delivery.subscription_id).map_err(StoreError::Internal)?;
                let subscription = subscription_in(&mut transaction, secrets, &subscription_id).await?;
                let digest = publication_in(&mut transaction, publication).await?;
                due.push(DueDelivery {
                    delivery,
                    subscription,
                    digest,
                });
            }
            transaction.commit().await?;
            Ok(due)
        }

        async fn subscription_in(
            connection: &mut Connection,
            secrets: &SecretSealer,
            id: &ResourceId,
        ) -> StoreResult<Stored<Subscription>> {
            let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(&mut *connection)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    resource: resource(id.as_str()),
                })?;
            decode_subscription(&row, secrets)
        }

        async fn publication_in(connection: &mut Connection, seq: i64) -> StoreResult<PublishedDigest> {
            let row = sqlx::query(
                "SELECT seq, body, revision, compile_time FROM digest_publications WHERE seq = $1",
            )
            .bind(seq)
            .fetch_one(&mut *connection)
            .await?;
            let body: String = row.try_get("body")?;
            Ok(PublishedDigest {
                digest: serde_json::from_str(&body)
                    .map_err(|error| StoreError::Internal(format!("stored digest is corrupt: {error}")))?,
                revision: row.try_get("revision")?,
                compile_time: from_micros(row.try_get("compile_time")?),
                publication: seq,
            })
        }

        pub(super) async fn record_attempt(
            pool: &Pool,
            delivery_id: &str,
            outcome: &AttemptOutcome,
        ) -> StoreResult<Delivery> {
            let now = crate::store::sql::now().timestamp_micros();
            let (state, result, next, delivered) = match outcome {
                AttemptOutcome::Succeeded { result } => (DeliveryState::Succeeded, result, None, Some(now)),
                AttemptOutcome::Retry { result, at } => (
                    DeliveryState::Pending,
                    result,
                    Some(at.timestamp_micros()),
                    None,
                ),
                AttemptOutcome::Dead { result } | AttemptOutcome::Gone { result } => {
                    (DeliveryState::Dead, result, None, None)
                }
            };
            let mut transaction = pool.begin().await?;
            let sql = format!(
                "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_result = $2, next_attempt_time = $3, lease_until = NULL, \
                 deliver_time = COALESCE($4, deliver_time) WHERE id = $5 RETURNING {DELIVERY_COLUMNS}"
            );
            let row = sqlx::query(&sql)
                .bind(state.code())
                .bind(result)
                .bind(next)
                .bind(delivered)
                .bind(delivery_id)
                .fetch_optional(&mut *transaction)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    resource: format!("deliveries/{delivery_id}"),
                })?;
            let delivery = decode_delivery(&row)?;
            if let AttemptOutcome::Gone { result } = outcome {
                let reason = format!("the webhook answered {result}: disabled");
                sqlx::query("UPDATE subscriptions SET state = 'disabled', disabled_reason = $1, update_time = $2 WHERE id = $3")
                    .bind(&reason)
                    .bind(now)
                    .bind(&delivery.subscription_id)
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query("UPDATE deliveries SET state = 'dead', last_result = $1, lease_until = NULL WHERE subscription_id = $2 AND state = 'pending'")
                    .bind("subscription disabled")
                    .bind(&delivery.subscription_id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            Ok(delivery)
        }

        /// Gives a claimed delivery back unattempted, due again at `at`: its endpoint is busy.
        pub(super) async fn defer(pool: &Pool, delivery_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query(
                "UPDATE deliveries SET next_attempt_time = $1, lease_until = NULL WHERE id = $2 AND state = 'pending'",
            )
            .bind(at.timestamp_micros())
            .bind(delivery_id)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn redeliver(
            pool: &Pool,
            subscription: &ResourceId,
            delivery_id: &str,
        ) -> StoreResult<Delivery> {
            let now = crate::store::sql::now().timestamp_micros();
            let sql = format!(
                "UPDATE deliveries SET state = 'pending', next_attempt_time = $1, lease_until = NULL \
                 WHERE id = $2 AND subscription_id = $3 AND (lease_until IS NULL OR lease_until <= {}) \
                 RETURNING {DELIVERY_COLUMNS}",
                dialect::clock(4)
            );
            let row = dialect::bind_clock(
                sqlx::query(&sql)
                    .bind(now)
                    .bind(delivery_id)
                    .bind(subscription.as_str()),
                now,
            )
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                // Not updated: either it does not exist, or a worker holds it right now.
                let resource = format!("subscriptions/{subscription}/deliveries/{delivery_id}");
                let exists = sqlx::query_scalar::<_, i32>(
                    "SELECT 1 FROM deliveries WHERE id = $1 AND subscription_id = $2",
                )
                .bind(delivery_id)
                .bind(subscription.as_str())
                .fetch_optional(pool)
                .await?
                .is_some();
                return Err(if exists {
                    StoreError::InFlight { resource }
                } else {
                    StoreError::NotFound { resource }
                });
            };
            decode_delivery(&row)
        }

        /// Every stored signing secret opened with `current` and sealed again with `next`, in one
        /// transaction; how many there were.
        pub(super) async fn reseal(
            pool: &Pool,
            current: &SecretSealer,
            next: &SecretSealer,
        ) -> StoreResult<usize> {
            let mut transaction = pool.begin().await?;
            let rows = sqlx::query(
                "SELECT id, secret FROM subscriptions WHERE secret IS NOT NULL ORDER BY seq",
            )
            .fetch_all(&mut *transaction)
            .await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let stored: String = row.try_get("secret")?;
                let secret = current.open(&id, &stored)?;
                sqlx::query("UPDATE subscriptions SET secret = $1 WHERE id = $2")
                    .bind(next.seal(&id, &secret)?)
                    .bind(&id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            Ok(rows.len())
        }

        pub(super) async fn next_due(pool: &Pool) -> StoreResult<Option<DateTime<Utc>>> {
            let next: Option<i64> = sqlx::query_scalar(
                &format!(
                    "SELECT CAST(MIN({}(next_attempt_time, COALESCE(lease_until, 0))) AS BIGINT) \
                     FROM deliveries WHERE state = 'pending'",
                    dialect::GREATEST
                ),
            )
            .fetch_one(pool)
            .await?;
            Ok(next.map(from_micros))
        }

        pub(super) async fn outbox_stats(pool: &Pool) -> StoreResult<crate::store::OutboxStats> {
            let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
                "SELECT state, CAST(COUNT(*) AS BIGINT), CAST(MIN(create_time) AS BIGINT) \
                 FROM deliveries GROUP BY state ORDER BY state",
            )
            .fetch_all(pool)
            .await?;
            let oldest_pending = rows
                .iter()
                .find(|(state, _, _)| state == "pending")
                .and_then(|(_, _, oldest)| oldest.map(from_micros));
            Ok(crate::store::OutboxStats {
                by_state: rows.into_iter().map(|(state, count, _)| (state, count)).collect(),
                oldest_pending,
            })
        }
    };
}

pub(crate) use subscriptions;
