//! The containment hierarchy of data assets (service > database > schema > table) and the
//! search index. Every contained entity has one `entity_ancestors` row per ancestor FQN, so
//! listing "every table under this database (or schema, or service)" is one index range in FQN
//! order with the same cursor paging as [`Store::list_entities`]; the search index maps
//! lower-case terms to entity ids.

use sqlx::Row;

use crate::entities::{fqn_key, from_row, include_clause};
use crate::{EntityRow, Include, ListPage, Result, Store};

const E_COLUMNS: &str = "e.id, e.entity_type, e.fqn, e.secondary_key, e.parent_fqn_key, e.deleted, e.updated_at, e.json";

/// One page of rows fetched with `limit + 1`, in cursor order, turned into a [`ListPage`].
fn finish_page(mut rows: Vec<EntityRow>, limit: i64, after: Option<&str>, before: Option<&str>, total: i64) -> ListPage {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    if before.is_some() {
        rows.reverse();
    }
    let first = rows.first().map(|r| fqn_key(&r.fqn));
    let last = rows.last().map(|r| fqn_key(&r.fqn));
    let (after, before) = match (after, before) {
        (_, Some(_)) => (last, if has_more { first } else { None }),
        (Some(_), None) => (if has_more { last } else { None }, first),
        (None, None) => (if has_more { last } else { None }, None),
    };
    ListPage { rows, after, before, total }
}

impl Store {
    /// Records the ancestors (FQNs of the containers, outermost first) of an entity; idempotent.
    pub async fn put_ancestors(&self, id: &str, entity_type: &str, fqn: &str, ancestors: &[String]) -> Result<()> {
        for ancestor in ancestors {
            sqlx::query(
                "INSERT INTO entity_ancestors (ancestor_key, entity_type, fqn_key, id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (ancestor_key, entity_type, fqn_key) DO UPDATE SET id = excluded.id",
            )
            .bind(fqn_key(ancestor))
            .bind(entity_type)
            .bind(fqn_key(fqn))
            .bind(id)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// Removes the hierarchy and search rows of an entity (after a hard delete).
    pub async fn forget_indexes(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM entity_ancestors WHERE id = $1").bind(id).execute(self.pool()).await?;
        sqlx::query("DELETE FROM search_terms WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

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
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {from} WHERE {filter}")))
            .bind(fqn_key(ancestor_fqn))
            .bind(entity_type)
            .fetch_one(self.pool())
            .await?
            .try_get(0)?;
        let (cursor_clause, order) = match (after, before) {
            (_, Some(_)) => (" AND a.fqn_key < $3", "DESC"),
            (Some(_), None) => (" AND a.fqn_key > $3", "ASC"),
            (None, None) => (" AND $3 IS NULL", "ASC"),
        };
        let sql = format!("SELECT {E_COLUMNS} FROM {from} WHERE {filter}{cursor_clause} ORDER BY a.fqn_key {order} LIMIT $4");
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

    /// Replaces the search terms of an entity.
    pub async fn put_search_terms(&self, id: &str, entity_type: &str, terms: &[String]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM search_terms WHERE id = $1").bind(id).execute(&mut *tx).await?;
        for term in terms {
            sqlx::query("INSERT INTO search_terms (term, entity_type, id) VALUES ($1, $2, $3) ON CONFLICT (term, entity_type, id) DO NOTHING")
                .bind(term)
                .bind(entity_type)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Entities of the given types holding every one of `terms` (at most `limit`, by FQN), and
    /// how many hold them. No terms: every entity of the types.
    pub async fn search(&self, entity_types: &[&str], terms: &[String], include: Include, from: i64, limit: i64) -> Result<(Vec<EntityRow>, i64)> {
        if entity_types.is_empty() {
            return Ok((vec![], 0));
        }
        let mut binds: Vec<String> = vec![];
        let mut bind = |v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        let types = entity_types.iter().map(|t| bind(t.to_string())).collect::<Vec<_>>().join(", ");
        let mut filter = format!("e.entity_type IN ({types}){}", include_clause(include).replace("deleted", "e.deleted"));
        for term in terms {
            let p = bind(term.clone());
            filter.push_str(&format!(" AND EXISTS (SELECT 1 FROM search_terms t WHERE t.term = {p} AND t.entity_type = e.entity_type AND t.id = e.id)"));
        }
        let count_sql = format!("SELECT COUNT(*) FROM entities e WHERE {filter}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(count_sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        let total: i64 = q.fetch_one(self.pool()).await?.try_get(0)?;
        let page_sql = format!("SELECT {E_COLUMNS} FROM entities e WHERE {filter} ORDER BY e.fqn_key LIMIT {} OFFSET {}", limit.clamp(0, 10_000), from.clamp(0, 10_000));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(page_sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        Ok((rows.iter().map(from_row).collect::<Result<Vec<_>>>()?, total))
    }

    /// The entities of a type holding one term (for lookups by exact name).
    pub async fn entities_with_term(&self, entity_type: &str, term: &str, limit: i64) -> Result<Vec<EntityRow>> {
        let sql = format!("SELECT {E_COLUMNS} FROM search_terms t JOIN entities e ON e.id = t.id WHERE t.term = $1 AND t.entity_type = $2 ORDER BY e.fqn_key LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(term).bind(entity_type).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
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
