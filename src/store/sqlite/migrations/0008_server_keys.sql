-- Keys the servers sign with (page tokens' HMAC): made by the first server that needs one and
-- read by every replica after it, so a token one replica issues is honoured by all.
CREATE TABLE server_keys (
    purpose TEXT PRIMARY KEY,
    -- Lowercase hex of 32 random bytes.
    key_hex TEXT NOT NULL,
    -- Microseconds since the Unix epoch, as every time in this store.
    create_time INTEGER NOT NULL
);
