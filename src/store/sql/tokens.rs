/// API tokens: the rows `briefing token` writes and every call's token is looked up in. Only
/// the SHA-256 of a token is stored (see `crate::domain::token`).
macro_rules! tokens {
    () => {
        use sqlx::Row as _;

        use super::dialect::{DbRow, Pool};
        use crate::domain::token::{AccessRole, ApiToken, TokenDigest, TokenName};
        use crate::store::sql::from_micros;
        use crate::store::{StoreError, StoreResult};

        const TOKEN_COLUMNS: &str = "name, role, create_time, expire_time, revoke_time";

        fn resource(name: &str) -> String {
            format!("token {name:?}")
        }

        fn decode_token(row: &DbRow) -> StoreResult<ApiToken> {
            let name: String = row.try_get("name")?;
            let corrupt = |what: &str| {
                StoreError::Internal(format!("stored {} has a bad {what}", resource(&name)))
            };
            let role: String = row.try_get("role")?;
            let expire_time: Option<i64> = row.try_get("expire_time")?;
            let revoke_time: Option<i64> = row.try_get("revoke_time")?;
            Ok(ApiToken {
                role: AccessRole::parse(&role).map_err(|_| corrupt("role"))?,
                name: TokenName::parse(&name).map_err(|_| corrupt("name"))?,
                create_time: from_micros(row.try_get("create_time")?),
                expire_time: expire_time.map(from_micros),
                revoke_time: revoke_time.map(from_micros),
            })
        }

        pub(super) async fn create(
            pool: &Pool,
            token: &ApiToken,
            digest: TokenDigest,
        ) -> StoreResult<()> {
            let inserted = sqlx::query(
                "INSERT INTO api_tokens (name, role, secret_sha256, create_time, expire_time, revoke_time) \
                 VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (name) DO NOTHING",
            )
            .bind(token.name.as_str())
            .bind(token.role.as_str())
            .bind(digest.to_hex())
            .bind(token.create_time.timestamp_micros())
            .bind(token.expire_time.map(|time| time.timestamp_micros()))
            .execute(pool)
            .await?;
            if inserted.rows_affected() == 0 {
                return Err(StoreError::AlreadyExists {
                    resource: resource(token.name.as_str()),
                });
            }
            Ok(())
        }

        pub(super) async fn list(pool: &Pool) -> StoreResult<Vec<ApiToken>> {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name");
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(decode_token).collect()
        }

        pub(super) async fn find(
            pool: &Pool,
            digest: TokenDigest,
        ) -> StoreResult<Option<ApiToken>> {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_sha256 = $1");
            let row = sqlx::query(&sql)
                .bind(digest.to_hex())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(decode_token).transpose()
        }

        /// The key for `purpose`: the stored one, or a new random one stored by whichever
        /// server asks first (replicas racing all read the winner's).
        pub(super) async fn server_key(pool: &Pool, purpose: &str) -> StoreResult<Vec<u8>> {
            let fresh: [u8; 32] = rand::random();
            let fresh_hex: String = fresh.iter().map(|byte| format!("{byte:02x}")).collect();
            sqlx::query(
                "INSERT INTO server_keys (purpose, key_hex, create_time) VALUES ($1, $2, $3) \
                 ON CONFLICT (purpose) DO NOTHING",
            )
            .bind(purpose)
            .bind(&fresh_hex)
            .bind(crate::store::sql::now().timestamp_micros())
            .execute(pool)
            .await?;
            let stored: String = sqlx::query("SELECT key_hex FROM server_keys WHERE purpose = $1")
                .bind(purpose)
                .fetch_one(pool)
                .await?
                .try_get("key_hex")?;
            let corrupt = || StoreError::Internal(format!("stored server key {purpose:?} is not hex"));
            if stored.len() % 2 != 0 || stored.len() < 32 {
                return Err(corrupt());
            }
            (0..stored.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&stored[at..at + 2], 16).map_err(|_| corrupt()))
                .collect()
        }

        /// Revoking twice keeps the first time.
        pub(super) async fn revoke(pool: &Pool, name: &TokenName) -> StoreResult<ApiToken> {
            let now = crate::store::sql::now().timestamp_micros();
            sqlx::query(
                "UPDATE api_tokens SET revoke_time = COALESCE(revoke_time, $1) WHERE name = $2",
            )
            .bind(now)
            .bind(name.as_str())
            .execute(pool)
            .await?;
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE name = $1");
            let row = sqlx::query(&sql)
                .bind(name.as_str())
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    resource: resource(name.as_str()),
                })?;
            decode_token(&row)
        }
    };
}

pub(crate) use tokens;
