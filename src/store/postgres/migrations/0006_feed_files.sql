-- The feed's file ledger: one row per file a feed lists (GDELT's export files), claimed with a
-- lease judged by briefing_now_micros(), so that across replicas each file is imported once;
-- failed files wait for next_attempt_at. Times are microseconds since the epoch, but
-- file_time (the time in the file's name) is in seconds.
CREATE TABLE feed_files (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed TEXT NOT NULL,
    url TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    file_time BIGINT NOT NULL,
    state TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    md5 TEXT NOT NULL,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_imported BIGINT NOT NULL DEFAULT 0,
    rows_skipped BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT,
    claimed_by TEXT,
    lease_until BIGINT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    import_time BIGINT
);
CREATE INDEX feed_files_by_time ON feed_files (feed, file_time, seq);
CREATE INDEX feed_files_due ON feed_files (state, next_attempt_at);
