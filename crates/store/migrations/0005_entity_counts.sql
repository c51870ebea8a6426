-- Maintained counts behind `paging.total` (src/counts.rs keeps them with every write), so a
-- list page never counts its whole list. An entity counts once for its type (`type`, empty
-- scope), once under its parent (`parent`) and once under each ancestor (`ancestor`).
CREATE TABLE entity_counts (
    relation TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    deleted BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (relation, scope_key, entity_type, deleted)
);

INSERT INTO entity_counts (relation, scope_key, entity_type, deleted, n)
SELECT 'type', '', entity_type, deleted, COUNT(*) FROM entities GROUP BY entity_type, deleted;

INSERT INTO entity_counts (relation, scope_key, entity_type, deleted, n)
SELECT 'parent', parent_fqn_key, entity_type, deleted, COUNT(*) FROM entities
WHERE parent_fqn_key IS NOT NULL GROUP BY parent_fqn_key, entity_type, deleted;

-- Rows of entities that no longer exist are dropped rather than counted.
DELETE FROM entity_ancestors WHERE id NOT IN (SELECT id FROM entities);

INSERT INTO entity_counts (relation, scope_key, entity_type, deleted, n)
SELECT 'ancestor', a.ancestor_key, a.entity_type, e.deleted, COUNT(*) FROM entity_ancestors a JOIN entities e ON e.id = a.id
GROUP BY a.ancestor_key, a.entity_type, e.deleted;
