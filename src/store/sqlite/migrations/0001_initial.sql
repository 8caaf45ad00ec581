-- Every resource table keeps the resource as a JSON record (`body`) plus the columns its
-- filters need. `seq` is the immutable position that lists page by; AUTOINCREMENT so a
-- position is never handed out twice, not even after the newest row is deleted.

CREATE TABLE officials (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body TEXT NOT NULL,
    country TEXT NOT NULL,
    search_text TEXT NOT NULL
);
CREATE INDEX officials_by_country ON officials (country, seq);

CREATE TABLE trips (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body TEXT NOT NULL,
    traveler TEXT NOT NULL,
    first_date TEXT NOT NULL,
    last_date TEXT NOT NULL
);
CREATE INDEX trips_by_traveler ON trips (traveler, seq);

CREATE TABLE trip_countries (
    country TEXT NOT NULL,
    trip_seq INTEGER NOT NULL,
    PRIMARY KEY (country, trip_seq)
) WITHOUT ROWID;

CREATE TABLE agenda_items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body TEXT NOT NULL,
    date TEXT NOT NULL,
    trip TEXT,
    leg INTEGER,
    event_type TEXT NOT NULL
);
CREATE INDEX agenda_items_by_date ON agenda_items (date, seq);
CREATE INDEX agenda_items_by_trip ON agenda_items (trip, seq) WHERE trip IS NOT NULL;
CREATE INDEX agenda_items_by_event_type ON agenda_items (event_type, seq);

CREATE TABLE agenda_countries (
    country TEXT NOT NULL,
    item_seq INTEGER NOT NULL,
    PRIMARY KEY (country, item_seq)
) WITHOUT ROWID;

CREATE TABLE agenda_participants (
    official TEXT NOT NULL,
    item_seq INTEGER NOT NULL,
    PRIMARY KEY (official, item_seq)
) WITHOUT ROWID;

CREATE TABLE agenda_contexts (
    context TEXT NOT NULL,
    item_seq INTEGER NOT NULL,
    PRIMARY KEY (context, item_seq)
) WITHOUT ROWID;

-- rowid = agenda_items.seq; written in the same transaction as the item.
CREATE VIRTUAL TABLE agenda_search USING fts5 (
    title,
    summary,
    tokenize = 'unicode61 remove_diacritics 2'
);
