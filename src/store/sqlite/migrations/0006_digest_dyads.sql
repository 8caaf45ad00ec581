-- Each digest's per-pair table (ListDigestDyads), replaced with the digest in one transaction.
-- The value columns are what each order follows; the rank columns are each pair's position
-- (from 1) in that order, ties by pair, computed when the table is stored, so pages follow a
-- plain integer position.
CREATE TABLE digest_dyads (
    digest_name TEXT NOT NULL,
    -- `AAA-BBB`, the codes in alphabetical order.
    pair TEXT NOT NULL,
    abs_net REAL NOT NULL,
    conflict REAL NOT NULL,
    -- NULL when the pair has no z-score: last in that order.
    abs_z REAL,
    net_rank INTEGER NOT NULL,
    conflict_rank INTEGER NOT NULL,
    z_rank INTEGER NOT NULL,
    -- The dyad as JSON.
    body TEXT NOT NULL,
    PRIMARY KEY (digest_name, pair)
);
CREATE UNIQUE INDEX digest_dyads_by_net ON digest_dyads (digest_name, net_rank);
CREATE UNIQUE INDEX digest_dyads_by_conflict ON digest_dyads (digest_name, conflict_rank);
CREATE UNIQUE INDEX digest_dyads_by_z ON digest_dyads (digest_name, z_rank);
