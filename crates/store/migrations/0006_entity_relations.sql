-- Relationships between entities (a team has users, a user has roles, a team has default
-- roles), each stored once as OpenMetadata's entity_relationship table does. The primary key
-- serves the reads from the `from` side, the index the reads from the `to` side, so neither
-- entity's JSON has to be rewritten when the other side changes.
CREATE TABLE entity_relations (
    from_id TEXT NOT NULL,
    relation TEXT NOT NULL,
    to_type TEXT NOT NULL,
    to_id TEXT NOT NULL,
    from_type TEXT NOT NULL,
    PRIMARY KEY (from_id, relation, to_type, to_id)
);
CREATE INDEX entity_relations_by_to ON entity_relations (to_id, relation, from_type);
