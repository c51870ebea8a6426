//! Entity rows: OpenMetadata JSON keyed by id and by (type, fully qualified name), with cursor
//! paging over the FQN index (no offset scans) and a version history.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::counts::{COUNTED_COLUMNS, CountChanges, Counted, Scope, ancestor_keys};
use crate::{AuditRecord, Result, Store, search};

#[derive(Debug, Clone, PartialEq)]
pub struct EntityRow {
    pub id: String,
    pub entity_type: String,
    pub fqn: String,
    /// A second unique key within the type (a user's lower-case email), if any.
    pub secondary_key: Option<String>,
    /// FQN of the containing entity (service of a database, ...), for per-parent listing;
    /// read back lower-cased, like every FQN key.
    pub parent_fqn: Option<String>,
    pub deleted: bool,
    pub updated_at: i64,
    pub json: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    NonDeleted,
    Deleted,
    All,
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub rows: Vec<EntityRow>,
    /// FQN key to pass as `after` for the next page.
    pub after: Option<String>,
    /// FQN key to pass as `before` for the previous page.
    pub before: Option<String>,
    pub total: i64,
}

/// FQN lookups are case-insensitive, as in OpenMetadata.
pub fn fqn_key(fqn: &str) -> String {
    fqn.to_lowercase()
}

pub(crate) const COLUMNS: &str = "id, entity_type, fqn, secondary_key, parent_fqn_key, deleted, updated_at, json";
/// [`COLUMNS`] of `entities e` in a join.
pub(crate) const E_COLUMNS: &str = "e.id, e.entity_type, e.fqn, e.secondary_key, e.parent_fqn_key, e.deleted, e.updated_at, e.json";

pub(crate) fn from_row(r: &AnyRow) -> Result<EntityRow> {
    Ok(EntityRow {
        id: r.try_get(0)?,
        entity_type: r.try_get(1)?,
        fqn: r.try_get(2)?,
        secondary_key: r.try_get(3)?,
        parent_fqn: r.try_get(4)?,
        deleted: r.try_get::<i64, _>(5)? != 0,
        updated_at: r.try_get(6)?,
        json: r.try_get(7)?,
    })
}

/// Binds a row's columns as $1..$9 in table order.
fn bind_row<'q>(q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>, e: &'q EntityRow) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&e.id)
        .bind(&e.entity_type)
        .bind(&e.fqn)
        .bind(fqn_key(&e.fqn))
        .bind(&e.secondary_key)
        .bind(e.parent_fqn.as_deref().map(fqn_key))
        .bind(e.deleted as i64)
        .bind(e.updated_at)
        .bind(&e.json)
}

/// Keyset paging on an FQN-key column: the condition on `param` (the cursor, or NULL for the
/// first page) and the scan direction. A `before` cursor scans backwards from it.
pub(crate) fn cursor_clause(column: &str, param: &str, after: Option<&str>, before: Option<&str>) -> (String, &'static str) {
    match (after, before) {
        (_, Some(_)) => (format!(" AND {column} < {param}"), "DESC"),
        (Some(_), None) => (format!(" AND {column} > {param}"), "ASC"),
        (None, None) => (format!(" AND {param} IS NULL"), "ASC"),
    }
}

/// One page of rows fetched with `limit + 1` in [`cursor_clause`] order, as a [`ListPage`] in
/// FQN order with the cursors of its neighbours.
pub(crate) fn finish_page(mut rows: Vec<EntityRow>, limit: i64, after: Option<&str>, before: Option<&str>, total: i64) -> ListPage {
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

fn counted(e: &EntityRow) -> Counted {
    Counted { entity_type: e.entity_type.clone(), deleted: e.deleted, parent_key: e.parent_fqn.as_deref().map(fqn_key) }
}

/// Locks an entity's row for the rest of the transaction and reads its counted state: a write
/// first, so that on SQLite the transaction holds the write lock before it reads, and on
/// PostgreSQL a concurrent writer of the same row waits (the same SQL serves both).
async fn lock_entity(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: &str) -> Result<Option<Counted>> {
    let sql = format!("UPDATE entities SET id = id WHERE id = $1 RETURNING {COUNTED_COLUMNS}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(Counted::from_row).transpose()
}

/// Stores the JSON of one version of an entity (a rewrite of the same version replaces it).
async fn record_version(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: &str, version: &str, json: &str) -> Result<()> {
    sqlx::query("INSERT INTO entity_versions (id, version, json) VALUES ($1, $2, $3) ON CONFLICT (id, version) DO UPDATE SET json = excluded.json")
        .bind(id)
        .bind(version)
        .bind(json)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) fn include_clause(include: Include) -> &'static str {
    match include {
        Include::NonDeleted => " AND deleted = 0",
        Include::Deleted => " AND deleted = 1",
        Include::All => "",
    }
}

impl Store {
    /// Inserts an entity as its first version `version`: the row, its search document, the
    /// stored version, its hierarchy rows (`ancestors`: the FQNs of its containers, outermost
    /// first) with their counts and the audit event of the creation (if any), in one
    /// transaction, so a failure leaves none of them behind.
    pub async fn insert_entity(&self, e: &EntityRow, version: &str, ancestors: &[String], audit: Option<&AuditRecord>) -> Result<()> {
        let sql = "INSERT INTO entities (id, entity_type, fqn, fqn_key, secondary_key, parent_fqn_key, deleted, updated_at, json) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        let mut w = self.begin_write(audit).await?;
        let tx = &mut w.tx;
        bind_row(sqlx::query(sql), e).execute(&mut **tx).await?;
        let ancestors: Vec<String> = ancestors.iter().map(|a| fqn_key(a)).collect();
        CountChanges::default().entity(&counted(e), 1).ancestors(&ancestors, &e.entity_type, e.deleted, 1).apply(tx).await?;
        search::index_entity(tx, self.backend(), e).await?;
        record_version(tx, &e.id, version, &e.json).await?;
        for ancestor in &ancestors {
            sqlx::query("INSERT INTO entity_ancestors (ancestor_key, entity_type, fqn_key, id) VALUES ($1, $2, $3, $4)")
                .bind(ancestor)
                .bind(&e.entity_type)
                .bind(fqn_key(&e.fqn))
                .bind(&e.id)
                .execute(&mut **tx)
                .await?;
        }
        w.commit().await
    }

    /// Replaces the stored row of `e.id` and its search document and stores it as `version`,
    /// with the audit event of the change (if any), in one transaction; returns false (and
    /// records nothing) when there is no such row.
    pub async fn update_entity(&self, e: &EntityRow, version: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let sql = "UPDATE entities SET entity_type = $2, fqn = $3, fqn_key = $4, secondary_key = $5, parent_fqn_key = $6, \
                   deleted = $7, updated_at = $8, json = $9 WHERE id = $1";
        let mut w = self.begin_write(audit).await?;
        let tx = &mut w.tx;
        let Some(old) = lock_entity(tx, &e.id).await? else { return w.finish(false).await };
        bind_row(sqlx::query(sql), e).execute(&mut **tx).await?;
        let new = counted(e);
        if old != new {
            let mut changes = CountChanges::default();
            changes.entity(&old, -1).entity(&new, 1);
            if (&old.entity_type, old.deleted) != (&new.entity_type, new.deleted) {
                let ancestors = ancestor_keys(tx, &e.id).await?;
                changes.ancestors(&ancestors, &old.entity_type, old.deleted, -1).ancestors(&ancestors, &new.entity_type, new.deleted, 1);
            }
            changes.apply(tx).await?;
        }
        search::index_entity(tx, self.backend(), e).await?;
        record_version(tx, &e.id, version, &e.json).await?;
        w.finish(true).await
    }

    pub async fn entity_by_id(&self, entity_type: &str, id: &str) -> Result<Option<EntityRow>> {
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE entity_type = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn entity_by_fqn(&self, entity_type: &str, fqn: &str) -> Result<Option<EntityRow>> {
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE entity_type = $1 AND fqn_key = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).bind(fqn_key(fqn)).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn entity_by_secondary_key(&self, entity_type: &str, key: &str) -> Result<Option<EntityRow>> {
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE entity_type = $1 AND secondary_key = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).bind(key).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// One page in FQN order, optionally under one parent. `after`/`before` are FQN keys from a
    /// previous page; both use the (type, parent, fqn) or (type, fqn) index.
    pub async fn list_entities(
        &self,
        entity_type: &str,
        parent_fqn: Option<&str>,
        include: Include,
        limit: i64,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<ListPage> {
        let parent = parent_fqn.map(fqn_key);
        let total = match &parent {
            Some(key) => self.count(Scope::Parent, key, entity_type, include).await?,
            None => self.count(Scope::Type, "", entity_type, include).await?,
        };
        self.page_of(entity_type, parent, include, "", total, limit, after, before).await
    }

    /// One page of the entities of a type without containers whose boolean top-level field
    /// `flag` (a name of OpenMetadata's schema, e.g. a user's `isBot`) has this value; absent
    /// counts as false. The total counts the matching rows.
    pub async fn list_flagged(&self, entity_type: &str, (flag, value): (&'static str, bool), include: Include, limit: i64, after: Option<&str>, before: Option<&str>) -> Result<ListPage> {
        debug_assert!(flag.chars().all(|c| c.is_ascii_alphanumeric()), "a field name, never input");
        let condition = match self.backend() {
            crate::Backend::Sqlite => format!(" AND COALESCE(json_extract(json, '$.{flag}'), 0) = {}", value as i64),
            crate::Backend::Postgres => format!(" AND COALESCE(CAST(json AS jsonb) ->> '{flag}', 'false') = '{value}'"),
        };
        let sql = format!("SELECT COUNT(*) FROM entities WHERE entity_type = $1{}{condition}", include_clause(include));
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).fetch_one(self.pool()).await?.try_get(0)?;
        self.page_of(entity_type, None, include, &condition, total, limit, after, before).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn page_of(
        &self,
        entity_type: &str,
        parent: Option<String>,
        include: Include,
        condition: &str,
        total: i64,
        limit: i64,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<ListPage> {
        let mut filter = format!("entity_type = $1{}{condition}", include_clause(include));
        filter.push_str(if parent.is_some() { " AND parent_fqn_key = $2" } else { " AND $2 IS NULL" });
        let (cursor, order) = cursor_clause("fqn_key", "$3", after, before);
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE {filter}{cursor} ORDER BY fqn_key {order} LIMIT $4");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(entity_type)
            .bind(&parent)
            .bind(before.or(after).map(str::to_string))
            .bind(limit + 1)
            .fetch_all(self.pool())
            .await?;
        let rows = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(finish_page(rows, limit, after, before, total))
    }

    /// Every live entity of a type, in FQN order: for the small governance types (teams, roles,
    /// policies) that authorization reads as a whole.
    pub async fn live_entities_of_type(&self, entity_type: &str) -> Result<Vec<EntityRow>> {
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE entity_type = $1 AND deleted = 0 ORDER BY fqn_key");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Deletes an entity with its versions, hierarchy rows, relationship and lineage edges (both ends),
    /// extensions, time series (its own and its columns') and
    /// search document, with the audit event of the deletion (if any), in one transaction;
    /// returns false (and records nothing) when there is no such entity.
    pub async fn delete_entity(&self, id: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let mut w = self.begin_write(audit).await?;
        let tx = &mut w.tx;
        let sql = format!("DELETE FROM entities WHERE id = $1 RETURNING {COUNTED_COLUMNS}, fqn_key");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await? else { return w.finish(false).await };
        let gone = Counted::from_row(&row)?;
        let key: String = row.try_get(3)?;
        // Its series and those of its columns (keys under `key.`; '/' sorts right after '.').
        sqlx::query("DELETE FROM entity_time_series WHERE fqn_key = $1 OR (fqn_key > $2 AND fqn_key < $3)")
            .bind(&key)
            .bind(format!("{key}."))
            .bind(format!("{key}/"))
            .execute(&mut **tx)
            .await?;
        let ancestors = sqlx::query("DELETE FROM entity_ancestors WHERE id = $1 RETURNING ancestor_key").bind(id).fetch_all(&mut **tx).await?;
        let ancestors = ancestors.iter().map(|r| r.try_get(0)).collect::<std::result::Result<Vec<String>, _>>()?;
        CountChanges::default().entity(&gone, -1).ancestors(&ancestors, &gone.entity_type, gone.deleted, -1).apply(tx).await?;
        sqlx::query("DELETE FROM entity_versions WHERE id = $1").bind(id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM entity_relations WHERE from_id = $1 OR to_id = $1").bind(id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM lineage_edges WHERE from_id = $1 OR to_id = $1").bind(id).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM entity_extensions WHERE id = $1").bind(id).execute(&mut **tx).await?;
        search::unindex_entity(tx, self.backend(), id).await?;
        w.finish(true).await
    }

    /// Replaces the JSON of an entity row in place, without a new version, if the row still
    /// holds `row.json`: a data migration must not undo a write that raced it. Its search
    /// document follows. Returns whether the row was rewritten.
    pub async fn rewrite_entity_json(&self, row: &EntityRow, json: &str) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE entities SET json = $3 WHERE id = $1 AND json = $2").bind(&row.id).bind(&row.json).bind(json).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        search::index_entity(&mut tx, self.backend(), &EntityRow { json: json.to_string(), ..row.clone() }).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces the JSON of one stored version if it still holds `old` (see
    /// [`Store::rewrite_entity_json`]). Returns whether it was rewritten.
    pub async fn rewrite_entity_version(&self, id: &str, version: &str, old: &str, new: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE entity_versions SET json = $4 WHERE id = $1 AND version = $2 AND json = $3")
            .bind(id)
            .bind(version)
            .bind(old)
            .bind(new)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stored versions of an entity as (version, json).
    pub async fn entity_versions(&self, id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT version, json FROM entity_versions WHERE id = $1").bind(id).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Binds an SSO (issuer, subject) to a user on first login, with the audit event of the
    /// binding (if any); Conflict when already bound.
    pub async fn bind_sso_subject(&self, issuer: &str, subject: &str, user_id: &str, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query("INSERT INTO sso_subjects (issuer, subject, user_id) VALUES ($1, $2, $3)")
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    pub async fn sso_subject_user(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT user_id FROM sso_subjects WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Whether any (issuer, subject) is bound to the user.
    pub async fn sso_bindings_of(&self, user_id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT issuer, subject FROM sso_subjects WHERE user_id = $1").bind(user_id).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    pub async fn unbind_sso_subjects(&self, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sso_subjects WHERE user_id = $1").bind(user_id).execute(self.pool()).await?;
        Ok(())
    }
}
