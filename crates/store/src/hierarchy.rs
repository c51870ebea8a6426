//! The containment hierarchy of data assets (service > database > schema > table). Every
//! contained entity has one `entity_ancestors` row per ancestor FQN, so listing "every table
//! under this database (or schema, or service)" is one index range in FQN order with the same
//! cursor paging as [`Store::list_entities`].

use crate::counts::Scope;
use crate::entities::{E_COLUMNS, cursor_clause, finish_page, fqn_key, from_row, include_clause};
use crate::{EntityRow, Include, ListPage, Result, Store};

impl Store {
    /// One page of the entities of a type under a container, in FQN order.
    pub async fn list_entities_under(
        &self,
        entity_type: &str,
        ancestor_fqn: &str,
        include: Include,
        limit: i64,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<ListPage> {
        let filter = format!("a.ancestor_key = $1 AND a.entity_type = $2{}", include_clause(include).replace("deleted", "e.deleted"));
        let from = "entity_ancestors a JOIN entities e ON e.id = a.id";
        let total = self.count(Scope::Ancestor, &fqn_key(ancestor_fqn), entity_type, include).await?;
        let (cursor, order) = cursor_clause("a.fqn_key", "$3", after, before);
        let sql = format!("SELECT {E_COLUMNS} FROM {from} WHERE {filter}{cursor} ORDER BY a.fqn_key {order} LIMIT $4");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(fqn_key(ancestor_fqn))
            .bind(entity_type)
            .bind(before.or(after).map(str::to_string))
            .bind(limit + 1)
            .fetch_all(self.pool())
            .await?;
        let rows = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(finish_page(rows, limit, after, before, total))
    }

    /// Every entity (any type, deleted or not) under a container, outermost first.
    pub async fn descendants(&self, ancestor_fqn: &str) -> Result<Vec<EntityRow>> {
        let sql = format!("SELECT {E_COLUMNS} FROM entity_ancestors a JOIN entities e ON e.id = a.id WHERE a.ancestor_key = $1 ORDER BY a.fqn_key");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fqn_key(ancestor_fqn)).fetch_all(self.pool()).await?;
        let mut rows = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        // Outermost first: fewer FQN characters never means a deeper entity for one prefix, but
        // sort by depth explicitly (dots outside quotes) to be exact.
        rows.sort_by_key(|r| depth(&r.fqn));
        Ok(rows)
    }

    /// Whether a container holds any entity (non-deleted ones only, unless `include_deleted`).
    pub async fn has_descendants(&self, ancestor_fqn: &str, include_deleted: bool) -> Result<bool> {
        let deleted = if include_deleted { "" } else { " AND e.deleted = 0" };
        let sql = format!("SELECT e.id FROM entity_ancestors a JOIN entities e ON e.id = a.id WHERE a.ancestor_key = $1{deleted} LIMIT 1");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(fqn_key(ancestor_fqn)).fetch_optional(self.pool()).await?.is_some())
    }
}

/// Number of FQN parts (dots outside double quotes, plus one).
fn depth(fqn: &str) -> usize {
    let mut quoted = false;
    let mut n = 1;
    for c in fqn.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}
