-- Item statuses, the country pairs of every item, and each day's reported activity.

-- An item's status beside its body, for the status filter and the digest's upcoming items.
-- Every item stored before this migration is REPORTED until the store's Rust back-fill (the
-- `store_tasks` row below) reads its body.
ALTER TABLE agenda_items ADD COLUMN status TEXT NOT NULL DEFAULT 'REPORTED';
-- Only the few items that are not reported enter these, so importing reported items pays
-- nothing for them. Queries name the partial index's condition literally (SQLite uses a
-- partial index only when the query's WHERE contains its condition).
CREATE INDEX agenda_items_unreported ON agenda_items (status, seq) WHERE status <> 'REPORTED';
CREATE INDEX agenda_items_planned ON agenda_items (date, seq) WHERE status = 'PLANNED';

-- One row per distinct pair an item's actors × recipients form (packed as in agenda_pairs),
-- for items of every status: what the `pairs` filter of ListAgendaItems reads.
CREATE TABLE agenda_item_pairs (
    pair INTEGER NOT NULL,
    item_seq INTEGER NOT NULL,
    PRIMARY KEY (pair, item_seq)
) WITHOUT ROWID;

-- Each day's reported items and the sum of their sources, kept in the items' write
-- transactions: the digest reads it for the week before every day it compiles, and a
-- counter per day costs 7 rows to read where an index over the items (even a covering one)
-- costs the week's items, up to 200,000 a day.
CREATE TABLE agenda_item_days (
    date TEXT PRIMARY KEY,
    items INTEGER NOT NULL,
    sources INTEGER NOT NULL
) WITHOUT ROWID;

-- Filled from the stored bodies by the store when it opens the database (status, pairs and
-- days follow the Rust domain's rules, so SQL does not repeat them).
INSERT INTO store_tasks (name) VALUES ('fill agenda statuses and pairs');
