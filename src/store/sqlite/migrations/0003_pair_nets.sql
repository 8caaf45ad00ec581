-- Daily country-pair nets for the digest's 30-day trends, kept as items are written so a
-- digest reads 30 days × active pairs rows instead of every item of 30 days.
--
-- `day` is the date as days from the Common Era (0001-01-01 is 1); `pair` packs the two
-- alpha-3 codes of an unordered pair, lower code first: code = ((c1-65)*26 + c2-65)*26 + c3-65,
-- pair = lower * 17576 + higher.

-- One row per distinct pair an item's actors × recipients form, carrying the item's intensity.
CREATE TABLE agenda_pairs (
    day INTEGER NOT NULL,
    pair INTEGER NOT NULL,
    item_seq INTEGER NOT NULL,
    net REAL NOT NULL,
    PRIMARY KEY (day, pair, item_seq)
) WITHOUT ROWID;

-- The sum of agenda_pairs.net per (day, pair), added in item_seq order (as the digest would
-- add them itself); recomputed from agenda_pairs when an item is updated or deleted.
CREATE TABLE agenda_pair_days (
    day INTEGER NOT NULL,
    pair INTEGER NOT NULL,
    net REAL NOT NULL,
    PRIMARY KEY (day, pair)
) WITHOUT ROWID;

-- Work the store finishes in Rust when it opens the database: here, filling the two tables
-- above from the items stored before this migration (the intensities come from the Rust
-- scoring tables, so SQL does not repeat them).
CREATE TABLE store_tasks (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO store_tasks (name) VALUES ('fill agenda_pairs');
