//! Relationships between entities (`entity_relations`): a directed, named edge from one entity
//! to another. One side's write replaces its edges; both sides read them, joined with the
//! entity at the other end; [`Store::delete_entity`] removes an entity's edges with it.

use sqlx::Row;

use crate::entities::E_COLUMNS;
use crate::{EntityRow, Result, Store};

/// One end of a relationship, seen from the entity whose edges are read or replaced.
#[derive(Debug, Clone, Copy)]
pub struct RelationSide<'a> {
    pub relation: &'a str,
    /// Whether the entity is the `from` end (a team listing its users) or the `to` end (a user
    /// listing its teams).
    pub outgoing: bool,
    /// Type of the entity at the other end.
    pub other_type: &'a str,
}

impl RelationSide<'_> {
    /// Columns naming this entity's end and the other end.
    fn columns(&self) -> (&'static str, &'static str, &'static str) {
        if self.outgoing { ("from_id", "to_id", "to_type") } else { ("to_id", "from_id", "from_type") }
    }
}

impl Store {
    /// Replaces the edges of one entity on one side by edges to `others`; one transaction, so
    /// a reader sees the old set or the new one.
    pub async fn replace_relations(&self, id: &str, entity_type: &str, side: RelationSide<'_>, others: &[String]) -> Result<()> {
        let (mine, _, other_type) = side.columns();
        let mut tx = self.pool().begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM entity_relations WHERE {mine} = $1 AND relation = $2 AND {other_type} = $3")))
            .bind(id)
            .bind(side.relation)
            .bind(side.other_type)
            .execute(&mut *tx)
            .await?;
        for other in others {
            let (from, from_type, to, to_type) = if side.outgoing { (id, entity_type, other.as_str(), side.other_type) } else { (other.as_str(), side.other_type, id, entity_type) };
            sqlx::query(
                "INSERT INTO entity_relations (from_id, relation, to_type, to_id, from_type) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (from_id, relation, to_type, to_id) DO NOTHING",
            )
            .bind(from)
            .bind(side.relation)
            .bind(to_type)
            .bind(to)
            .bind(from_type)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every edge of one relation between two entity types, as (from id, to id).
    pub async fn relation_edges(&self, relation: &str, from_type: &str, to_type: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT from_id, to_id FROM entity_relations WHERE relation = $1 AND from_type = $2 AND to_type = $3")
            .bind(relation)
            .bind(from_type)
            .bind(to_type)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The entities at the other end of one entity's edges on one side, in FQN order.
    pub async fn related(&self, id: &str, side: RelationSide<'_>) -> Result<Vec<EntityRow>> {
        let (mine, other, other_type) = side.columns();
        let sql = format!(
            "SELECT {E_COLUMNS} FROM entity_relations r JOIN entities e ON e.id = r.{other} \
             WHERE r.{mine} = $1 AND r.relation = $2 AND r.{other_type} = $3 ORDER BY e.fqn_key"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(side.relation).bind(side.other_type).fetch_all(self.pool()).await?;
        rows.iter().map(crate::entities::from_row).collect()
    }

    /// The live entities of any type an entity reaches by `relation` (a domain's assets), in
    /// FQN order.
    pub async fn reached_by(&self, from_id: &str, relation: &str) -> Result<Vec<EntityRow>> {
        let sql = format!(
            "SELECT {E_COLUMNS} FROM entity_relations r JOIN entities e ON e.id = r.to_id \
             WHERE r.from_id = $1 AND r.relation = $2 AND e.deleted = 0 ORDER BY e.fqn_key"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from_id).bind(relation).fetch_all(self.pool()).await?;
        rows.iter().map(crate::entities::from_row).collect()
    }

    /// The live entities of a type that no live entity of that type reaches by `relation`
    /// (teams without a parent team, which OpenMetadata shows under the Organization), in FQN
    /// order, except `except_id`.
    pub async fn unreached(&self, entity_type: &str, relation: &str, except_id: &str) -> Result<Vec<EntityRow>> {
        let sql = format!(
            "SELECT {E_COLUMNS} FROM entities e WHERE e.entity_type = $1 AND e.deleted = 0 AND e.id <> $2 AND NOT EXISTS \
             (SELECT 1 FROM entity_relations r JOIN entities f ON f.id = r.from_id WHERE r.to_id = e.id AND r.relation = $3 AND r.from_type = $1 AND f.deleted = 0) \
             ORDER BY e.fqn_key"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).bind(except_id).bind(relation).fetch_all(self.pool()).await?;
        rows.iter().map(crate::entities::from_row).collect()
    }
}
