-- Lineage (issue 16): one directed edge per pair of entities, upstream (`from`) to downstream
-- (`to`), with OpenMetadata's lineageDetails as JSON and their `source` kept apart so edges of
-- one source can be removed together. The primary key serves downstream walks, the index
-- upstream walks: each step of a depth-bounded walk is an index lookup, whatever the graph's size.
CREATE TABLE lineage_edges (
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    from_type TEXT NOT NULL,
    to_type TEXT NOT NULL,
    source TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (from_id, to_id)
);
CREATE INDEX lineage_edges_by_to ON lineage_edges (to_id, from_id);
