-- The feed's file ledger: one row per file a feed lists (GDELT's export files), claimed with a
-- lease so each is imported once; failed files wait for next_attempt_at. Times are
-- microseconds since the epoch, but file_time (the time in the file's name) is in seconds.
CREATE TABLE feed_files (
    seq INTEGER PRIMARY KEY,
    feed TEXT NOT NULL,
    url TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    file_time INTEGER NOT NULL,
    state TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_imported INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    next_attempt_at INTEGER,
    claimed_by TEXT,
    lease_until INTEGER,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    import_time INTEGER
);
CREATE INDEX feed_files_by_time ON feed_files (feed, file_time, seq);
CREATE INDEX feed_files_due ON feed_files (state, next_attempt_at);
