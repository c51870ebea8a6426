-- Full-text search, SQLite flavour (the PostgreSQL flavour is 0004_full_text_search.postgres.sql).
-- Replaces the exact-word index of 0002. The store writes these rows with every entity row
-- (src/search.rs), and the migration indexes the entities that already exist.

DROP TABLE search_terms;

-- One row per entity: `doc` is the rowid of its text in `search_index`; (entity_type, name_key)
-- serves exact-name lookups (`/search/fieldQuery?fieldName=name`).
CREATE TABLE search_documents (
    doc INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    entity_type TEXT NOT NULL,
    name_key TEXT NOT NULL
);
CREATE INDEX search_documents_by_name ON search_documents (entity_type, name_key);

-- Contentless (the text lives in `entities.json`), deletable by rowid. Diacritics are kept, as
-- PostgreSQL's `simple` configuration keeps them, so both backends match the same words.
-- Prefix indexes make the short prefixes a user types first cheap.
CREATE VIRTUAL TABLE search_index USING fts5(
    name, display_name, fqn, description, column_names, column_descriptions,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
