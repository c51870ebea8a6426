-- Full-text search, PostgreSQL flavour (the SQLite flavour is 0004_full_text_search.sqlite.sql).
-- Replaces the exact-word index of 0002. The store writes these rows with every entity row
-- (src/search.rs), and the migration indexes the entities that already exist.

DROP TABLE search_terms;

-- One row per entity: its words as a weighted tsvector (`simple` configuration: no stemming and
-- no stop words, so identifiers stay whole), with a GIN index; (entity_type, name_key) serves
-- exact-name lookups (`/search/fieldQuery?fieldName=name`).
CREATE TABLE search_documents (
    id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    name_key TEXT NOT NULL,
    document tsvector NOT NULL
);
CREATE INDEX search_documents_by_name ON search_documents (entity_type, name_key);
CREATE INDEX search_documents_by_words ON search_documents USING GIN (document);
