//! Maintained entity counts, so that a list page's `paging.total` is one key lookup instead of
//! a `COUNT(*)` over the whole list. Every write of an entity row or of its hierarchy rows
//! adjusts the counts in the same transaction; migration 0005 counted the rows that existed.
//!
//! An entity counts once for its type, once under its parent (`parent_fqn_key`) and once
//! under each ancestor (`entity_ancestors`), each time with its `deleted` flag.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use crate::entities::include_clause;
use crate::{Include, Result, Store};

/// What a count is kept for. The names are stored in `entity_counts.relation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    /// Every entity of the type (`scope_key` is empty).
    Type,
    /// Entities whose `parent_fqn_key` is `scope_key`.
    Parent,
    /// Entities with an `entity_ancestors` row for `scope_key`.
    Ancestor,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Type => "type",
            Scope::Parent => "parent",
            Scope::Ancestor => "ancestor",
        }
    }
}

/// The counted state of one entity row: what it adds to (or, gone, takes from) the counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Counted {
    pub entity_type: String,
    pub deleted: bool,
    pub parent_key: Option<String>,
}

impl Counted {
    pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Counted> {
        Ok(Counted { entity_type: r.try_get(0)?, deleted: r.try_get::<i64, _>(1)? != 0, parent_key: r.try_get(2)? })
    }
}

/// The `SELECT` list [`Counted::from_row`] reads.
pub(crate) const COUNTED_COLUMNS: &str = "entity_type, deleted, parent_fqn_key";

/// Count changes, netted per key and applied in key order: two transactions always lock the
/// counter rows they share in the same order, so they never deadlock on PostgreSQL.
#[derive(Debug, Default)]
pub(crate) struct CountChanges(BTreeMap<(Scope, String, String, bool), i64>);

impl CountChanges {
    /// The row's own counts (its type and its parent) changed by `delta`.
    pub(crate) fn entity(&mut self, c: &Counted, delta: i64) -> &mut Self {
        self.add(Scope::Type, "", &c.entity_type, c.deleted, delta);
        if let Some(parent) = &c.parent_key {
            self.add(Scope::Parent, parent, &c.entity_type, c.deleted, delta);
        }
        self
    }

    /// The counts under each of `ancestors` changed by `delta`.
    pub(crate) fn ancestors(&mut self, ancestors: &[String], entity_type: &str, deleted: bool, delta: i64) -> &mut Self {
        for a in ancestors {
            self.add(Scope::Ancestor, a, entity_type, deleted, delta);
        }
        self
    }

    fn add(&mut self, scope: Scope, key: &str, entity_type: &str, deleted: bool, delta: i64) {
        *self.0.entry((scope, key.to_string(), entity_type.to_string(), deleted)).or_default() += delta;
    }

    pub(crate) async fn apply(&self, tx: &mut Transaction<'static, Any>) -> Result<()> {
        let sql = "INSERT INTO entity_counts (relation, scope_key, entity_type, deleted, n) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (relation, scope_key, entity_type, deleted) DO UPDATE SET n = entity_counts.n + excluded.n";
        for ((scope, key, entity_type, deleted), delta) in self.0.iter().filter(|(_, d)| **d != 0) {
            sqlx::query(sql).bind(scope.name()).bind(key).bind(entity_type).bind(*deleted as i64).bind(*delta).execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// The ancestor keys recorded for an entity.
pub(crate) async fn ancestor_keys(tx: &mut Transaction<'static, Any>, id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT ancestor_key FROM entity_ancestors WHERE id = $1").bind(id).fetch_all(&mut **tx).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

impl Store {
    /// The number of entities of a type in a scope with the given `include`.
    pub(crate) async fn count(&self, scope: Scope, key: &str, entity_type: &str, include: Include) -> Result<i64> {
        // SUM of BIGINT is NUMERIC on PostgreSQL.
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM entity_counts WHERE relation = $1 AND scope_key = $2 AND entity_type = $3{}",
            include_clause(include)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(scope.name()).bind(key).bind(entity_type).fetch_one(self.pool()).await?;
        Ok(row.try_get(0)?)
    }
}
