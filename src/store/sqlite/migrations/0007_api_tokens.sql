-- API tokens (`briefing token create`): a name, a role and the SHA-256 of the secret, never
-- the secret itself. Every replica reads the same rows, so a token made or revoked on one is
-- known to all. A revoked token keeps its row (and its name) so `token list` still shows it.
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    -- Lowercase hex of SHA-256(token): what a call's token is looked up by.
    secret_sha256 TEXT NOT NULL UNIQUE,
    -- Microseconds since the Unix epoch, as every time in this store.
    create_time INTEGER NOT NULL,
    expire_time INTEGER,
    revoke_time INTEGER
);
