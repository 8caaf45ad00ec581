-- Item statuses and the country pairs of every item (see SQLite's migration 0005).

-- An item's status beside its body; bodies leave the default, REPORTED, implicit.
ALTER TABLE agenda_items ADD COLUMN status TEXT NOT NULL DEFAULT 'REPORTED';
UPDATE agenda_items SET status = body::json ->> 'status'
    WHERE COALESCE(body::json ->> 'status', '') <> '';
CREATE INDEX agenda_items_unreported ON agenda_items (status, seq) WHERE status <> 'REPORTED';
CREATE INDEX agenda_items_planned ON agenda_items (date, seq) WHERE status = 'PLANNED';

-- One row per distinct pair (`JPN-KOR`, lower code first) an item's actors × recipients form,
-- for items of every status: what the `pairs` filter of ListAgendaItems reads.
CREATE TABLE agenda_item_pairs (
    pair TEXT NOT NULL,
    item_seq BIGINT NOT NULL,
    PRIMARY KEY (pair, item_seq)
);
CREATE INDEX agenda_item_pairs_by_item ON agenda_item_pairs (item_seq);

-- The pairs of the items stored before: an actor's or recipient's country is the first three
-- letters of its code (`USAGOV` is USA); a pair is of two distinct countries.
INSERT INTO agenda_item_pairs (pair, item_seq)
SELECT DISTINCT
    LEAST(left(actor.code, 3) COLLATE "C", left(recipient.code, 3) COLLATE "C") || '-' ||
        GREATEST(left(actor.code, 3) COLLATE "C", left(recipient.code, 3) COLLATE "C"),
    items.seq
FROM agenda_items items
CROSS JOIN LATERAL json_array_elements_text(COALESCE(items.body::json -> 'actors', '[]'::json))
    AS actor (code)
CROSS JOIN LATERAL json_array_elements_text(COALESCE(items.body::json -> 'recipients', '[]'::json))
    AS recipient (code)
WHERE left(actor.code, 3) <> left(recipient.code, 3);
