-- Data assets live in a hierarchy (service > database > schema > table). Each entity inside a
-- container has one row per ancestor, so "every table under this database" is one index range
-- in FQN order (cursor paging, no offset scans, and no dependence on the text collation).
CREATE TABLE entity_ancestors (
    ancestor_key TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    fqn_key TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (ancestor_key, entity_type, fqn_key)
);
CREATE INDEX entity_ancestors_by_id ON entity_ancestors (id);
CREATE INDEX entity_ancestors_by_ancestor_fqn ON entity_ancestors (ancestor_key, fqn_key);

-- Search: an inverted index of lower-case words (names, display names, descriptions, column
-- names) to entity ids, for exact-term lookups.
CREATE TABLE search_terms (
    term TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (term, entity_type, id)
);
CREATE INDEX search_terms_by_id ON search_terms (id);
