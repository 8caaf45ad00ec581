-- Same shape as the SQLite schema: each resource as a JSON record (`body`) plus the columns
-- its filters need; `seq` is the immutable position lists page by.

-- The database's clock in microseconds: leases and due times are judged by it, so replicas
-- with drifting clocks still agree.
CREATE FUNCTION briefing_now_micros() RETURNS BIGINT
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT $$;

CREATE TABLE officials (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body TEXT NOT NULL,
    country TEXT NOT NULL,
    search_text TEXT NOT NULL
);
CREATE INDEX officials_by_country ON officials (country, seq);

CREATE TABLE trips (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body TEXT NOT NULL,
    traveler TEXT NOT NULL,
    first_date TEXT NOT NULL,
    last_date TEXT NOT NULL
);
CREATE INDEX trips_by_traveler ON trips (traveler, seq);

CREATE TABLE trip_countries (
    country TEXT NOT NULL,
    trip_seq BIGINT NOT NULL,
    PRIMARY KEY (country, trip_seq)
);

CREATE TABLE agenda_items (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body TEXT NOT NULL,
    date TEXT NOT NULL,
    trip TEXT,
    leg BIGINT,
    event_type TEXT NOT NULL
);
CREATE INDEX agenda_items_by_date ON agenda_items (date, seq);
CREATE INDEX agenda_items_by_trip ON agenda_items (trip, seq) WHERE trip IS NOT NULL;
CREATE INDEX agenda_items_by_event_type ON agenda_items (event_type, seq);

-- Full-text search over title and summary, written in the same transaction as the item:
-- words as they are, lowercased and without accents, as SQLite's unicode61 tokenizer does.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION briefing_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION briefing_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
CREATE TABLE agenda_search (
    item_seq BIGINT PRIMARY KEY,
    search tsvector NOT NULL
);
CREATE INDEX agenda_search_terms ON agenda_search USING GIN (search);

CREATE TABLE agenda_countries (
    country TEXT NOT NULL,
    item_seq BIGINT NOT NULL,
    PRIMARY KEY (country, item_seq)
);

CREATE TABLE agenda_participants (
    official TEXT NOT NULL,
    item_seq BIGINT NOT NULL,
    PRIMARY KEY (official, item_seq)
);

CREATE TABLE agenda_contexts (
    context TEXT NOT NULL,
    item_seq BIGINT NOT NULL,
    PRIMARY KEY (context, item_seq)
);

-- Updates and deletes clear an item's index rows by its position.
CREATE INDEX agenda_countries_by_item ON agenda_countries (item_seq);
CREATE INDEX agenda_participants_by_item ON agenda_participants (item_seq);
CREATE INDEX agenda_contexts_by_item ON agenda_contexts (item_seq);

-- The run ledger: one row per (kind, day); leases are judged by briefing_now_micros().
CREATE TABLE digest_runs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    day_number BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    start_time BIGINT,
    finish_time BIGINT,
    error TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until BIGINT,
    next_attempt_time BIGINT,
    UNIQUE (kind, date)
);
CREATE INDEX digest_runs_by_day ON digest_runs (day_number, seq);

CREATE TABLE digests (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    day_number BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    compile_time BIGINT NOT NULL,
    publication BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX digests_by_day ON digests (day_number, seq);

CREATE TABLE digest_publications (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    compile_time BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE subscriptions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    url TEXT,
    secret TEXT,
    directory TEXT,
    state TEXT NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_kind ON subscriptions (kind, seq);

CREATE TABLE deliveries (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subscription_id TEXT NOT NULL,
    digest_name TEXT NOT NULL,
    digest_revision BIGINT NOT NULL,
    publication BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    next_attempt_time BIGINT,
    lease_until BIGINT,
    create_time BIGINT NOT NULL,
    deliver_time BIGINT,
    UNIQUE (digest_name, digest_revision, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_time);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, seq);
