-- The run ledger: one row per (kind, day), the one place that decides a day is compiled once.
CREATE TABLE digest_runs (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    day_number INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    start_time INTEGER,
    finish_time INTEGER,
    error TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until INTEGER,
    next_attempt_time INTEGER,
    UNIQUE (kind, date)
);
CREATE INDEX digest_runs_by_day ON digest_runs (day_number, seq);

-- The latest revision of each digest.
CREATE TABLE digests (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    day_number INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    compile_time INTEGER NOT NULL,
    publication INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX digests_by_day ON digests (day_number, seq);

-- Every compiled revision in commit order: WatchDigests replays from here, deliveries send it.
CREATE TABLE digest_publications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    compile_time INTEGER NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE subscriptions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    url TEXT,
    secret TEXT,
    directory TEXT,
    state TEXT NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
CREATE INDEX subscriptions_by_kind ON subscriptions (kind, seq);

-- The outbox: one row per digest revision and subscription, delivered at least once.
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    digest_name TEXT NOT NULL,
    digest_revision INTEGER NOT NULL,
    publication INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    next_attempt_time INTEGER,
    lease_until INTEGER,
    create_time INTEGER NOT NULL,
    deliver_time INTEGER,
    UNIQUE (digest_name, digest_revision, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_time);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, seq);
