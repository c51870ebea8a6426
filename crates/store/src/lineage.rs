//! Lineage edges (`lineage_edges`): upstream entity → downstream entity, one edge per pair,
//! with OpenMetadata's `lineageDetails` as JSON. An edge is written only while both of its
//! entities are live, walks never pass through a deleted entity, and a hard delete of an
//! entity removes its edges ([`Store::delete_entity`]).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::entities::E_COLUMNS;
use crate::{EntityRow, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageEdge {
    pub from_id: String,
    pub from_type: String,
    pub to_id: String,
    pub to_type: String,
    /// How the edge was made (`Manual`, `QueryLineage`, ...), also inside `details`.
    pub source: String,
    /// `lineageDetails` as JSON text.
    pub details: String,
}

/// Which way a walk goes from its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the entities it comes from.
    Upstream,
    /// Towards the entities made from it.
    Downstream,
}

impl Direction {
    /// The column of the end a walk stands on and the column of the end it steps to.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Direction::Upstream => ("to_id", "from_id"),
            Direction::Downstream => ("from_id", "to_id"),
        }
    }
}

const EDGE_COLUMNS: &str = "l.from_id, l.from_type, l.to_id, l.to_type, l.source, l.details";

fn edge_of(r: &AnyRow) -> Result<LineageEdge> {
    Ok(LineageEdge { from_id: r.try_get(0)?, from_type: r.try_get(1)?, to_id: r.try_get(2)?, to_type: r.try_get(3)?, source: r.try_get(4)?, details: r.try_get(5)? })
}

impl Store {
    /// Adds an edge or replaces the details of the existing one, in one statement that also
    /// checks both entities are live: a concurrent delete cannot leave an edge to nothing.
    /// Returns false (nothing written) when either entity is missing or deleted.
    pub async fn put_lineage_edge(&self, e: &LineageEdge) -> Result<bool> {
        let sql = "INSERT INTO lineage_edges (from_id, to_id, from_type, to_type, source, details) \
                   SELECT $1, $2, $3, $4, $5, $6 WHERE \
                   EXISTS (SELECT 1 FROM entities WHERE id = $1 AND entity_type = $3 AND deleted = 0) AND \
                   EXISTS (SELECT 1 FROM entities WHERE id = $2 AND entity_type = $4 AND deleted = 0) \
                   ON CONFLICT (from_id, to_id) DO UPDATE SET from_type = excluded.from_type, to_type = excluded.to_type, \
                   source = excluded.source, details = excluded.details";
        let done = sqlx::query(sql).bind(&e.from_id).bind(&e.to_id).bind(&e.from_type).bind(&e.to_type).bind(&e.source).bind(&e.details).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn lineage_edge(&self, from_id: &str, to_id: &str) -> Result<Option<LineageEdge>> {
        let sql = format!("SELECT {EDGE_COLUMNS} FROM lineage_edges l WHERE l.from_id = $1 AND l.to_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from_id).bind(to_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(edge_of).transpose()
    }

    /// Replaces the details of an edge if they are still `old`: a patch must not undo a write
    /// that raced it. Returns whether the edge was rewritten.
    pub async fn replace_lineage_details(&self, from_id: &str, to_id: &str, old: &str, source: &str, details: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE lineage_edges SET source = $4, details = $5 WHERE from_id = $1 AND to_id = $2 AND details = $3")
            .bind(from_id)
            .bind(to_id)
            .bind(old)
            .bind(source)
            .bind(details)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes one edge; false when there was none.
    pub async fn delete_lineage_edge(&self, from_id: &str, to_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM lineage_edges WHERE from_id = $1 AND to_id = $2").bind(from_id).bind(to_id).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes the edges of one source that end or start at an entity; how many went.
    pub async fn delete_lineage_of_source(&self, id: &str, source: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM lineage_edges WHERE (from_id = $1 OR to_id = $1) AND source = $2").bind(id).bind(source).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }

    /// The edges met walking from an entity `depth` steps in one direction through live
    /// entities only, in one recursive query: each step is an index lookup per entity reached,
    /// so the cost follows the size of the answer, not of the graph.
    pub async fn lineage_walk(&self, id: &str, direction: Direction, depth: i64) -> Result<Vec<LineageEdge>> {
        if depth <= 0 {
            return Ok(vec![]);
        }
        let (near, far) = direction.columns();
        // `reached CROSS JOIN lineage_edges`: SQLite keeps that order (each reached entity, then
        // its edges by index) instead of scanning every edge per step; PostgreSQL plans it freely.
        let sql = format!(
            "WITH RECURSIVE reached (id, depth) AS ( \
               SELECT CAST($1 AS TEXT), 0 \
               UNION \
               SELECT l.{far}, r.depth + 1 FROM reached r CROSS JOIN lineage_edges l \
               JOIN entities e ON e.id = l.{far} AND e.deleted = 0 WHERE l.{near} = r.id AND r.depth + 1 < $2 \
             ) \
             SELECT DISTINCT {EDGE_COLUMNS} FROM reached r CROSS JOIN lineage_edges l \
             JOIN entities e ON e.id = l.{far} AND e.deleted = 0 WHERE l.{near} = r.id \
             ORDER BY l.from_id, l.to_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(depth).fetch_all(self.pool()).await?;
        rows.iter().map(edge_of).collect()
    }

    /// The entities of these ids (any type, deleted or not), in no particular order; asked in
    /// chunks that stay under either database's limit of bound parameters.
    pub async fn entities_by_ids(&self, ids: &[&str]) -> Result<Vec<EntityRow>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {E_COLUMNS} FROM entities e WHERE e.id IN ({})", placeholders.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(self.pool()).await? {
                found.push(crate::entities::from_row(&row)?);
            }
        }
        Ok(found)
    }
}
