-- The full-text index without its own copy of the text: agenda_items holds it, and no query
-- reads it back from here (they match and take the rowid). Less full-text work per stored
-- item. Rows are still deleted by rowid (contentless_delete, SQLite 3.43 and later).
CREATE VIRTUAL TABLE agenda_search_lean USING fts5 (
    title,
    summary,
    tokenize = 'unicode61 remove_diacritics 2',
    content = '',
    contentless_delete = 1
);
INSERT INTO agenda_search_lean (rowid, title, summary)
    SELECT rowid, title, summary FROM agenda_search;
DROP TABLE agenda_search;
ALTER TABLE agenda_search_lean RENAME TO agenda_search;
