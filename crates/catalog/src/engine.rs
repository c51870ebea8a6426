//! One engine for OpenMetadata's entity semantics, used by every entity type: create,
//! create-or-update without a new version when nothing changed, lookups by id and FQN, cursor
//! lists, JSON Patch, soft/hard delete with restore, and versions with change descriptions.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::audit::{Change, DenialLimiter, entity_event};
use crate::error::{CatalogError, Result, not_found};
use ferrometa_store::{EntityRow, Include, Origin, Store, now_ms};

/// Static description of an entity type.
#[derive(Debug)]
pub struct EntityKind {
    /// OpenMetadata's entity type name (`user`, `bot`, `databaseService`, ...).
    pub name: &'static str,
    /// REST collection under `/api/v1/` (`users`, `services/databaseServices`, ...).
    pub collection: &'static str,
    /// Field holding a second unique key (a user's email).
    pub secondary_key: Option<&'static str>,
    /// How two versions differ; `None`: field by field at the top level ([`diff_fields`]).
    pub differ: Option<Differ>,
}

/// What changed between two versions of an entity (OpenMetadata's `ChangeDescription` lists)
/// and whether the change breaks consumers (a new major version).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    pub added: Vec<Value>,
    pub updated: Vec<Value>,
    pub deleted: Vec<Value>,
    pub major: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.deleted.is_empty()
    }
}

/// Computes the [`Changes`] from the stored version to a new body of one entity type.
pub type Differ = fn(&Value, &Map<String, Value>) -> Changes;

/// Fields maintained by the engine, never taken from a client and never part of a change
/// (`inheritedRoles` is computed on every read, see `crate::relations`).
const SYSTEM_FIELDS: &[&str] = &["id", "version", "updatedAt", "updatedBy", "href", "changeDescription", "fullyQualifiedName", "deleted", "inheritedRoles"];

/// Fields that are no part of an entity's history: the ingestion client's own `sourceHash`
/// (which the 2.0 client compares to skip unchanged entities), a pipeline's latest run, a
/// table's basic test suite, a test case's latest result, usage summaries, a table's joins,
/// followers and votes. A change of them alone is stored in place, never a new version.
const UNVERSIONED_FIELDS: &[&str] = &["sourceHash", "pipelineStatus", "testSuite", "testCaseResult", "testCaseStatus", "usageSummary", "joins", "followers", "votes"];

/// An entity about to be written: its type, identity and the client-controlled body.
pub struct Draft {
    pub kind: &'static EntityKind,
    pub name: String,
    pub fqn: String,
    pub parent_fqn: Option<String>,
    pub body: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub data: Vec<Value>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub total: i64,
}

/// Encryption at rest for the secrets inside entities (service connection passwords, tokens,
/// ...). The server supplies one keyed with the install's secret key; the catalog stays free of
/// key handling.
pub trait SecretCipher: Send + Sync {
    fn seal(&self, plaintext: &str) -> std::result::Result<String, String>;
    fn open(&self, sealed: &str) -> std::result::Result<String, String>;
}

/// One page request of a list: the container to list under, deleted or not, the size and the
/// cursors of a previous page.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    pub under: Option<&'a str>,
    pub include: Include,
    pub limit: i64,
    pub after: Option<&'a str>,
    pub before: Option<&'a str>,
}

/// The page sizes a list accepts.
pub(crate) fn check_limit(limit: i64) -> Result<()> {
    if (0..=1_000_000).contains(&limit) { Ok(()) } else { Err(CatalogError::BadRequest("limit must be between 0 and 1000000".into())) }
}

#[derive(Clone)]
pub struct Catalog {
    store: Store,
    base_url: String,
    /// Without one (catalog tests), secrets are stored as given.
    cipher: Option<Arc<dyn SecretCipher>>,
    access: Arc<crate::access::AccessControl>,
    denials: Arc<DenialLimiter>,
    /// How long profiles are kept (`None`: forever).
    profile_retention: Option<std::time::Duration>,
}

fn version_of(v: &Value) -> f64 {
    v.get("version").and_then(Value::as_f64).unwrap_or(0.1)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The client-visible top-level fields that differ between two versions, except `skip`; a
/// removed field is a breaking (major) change.
pub fn diff_fields(old: &Value, new: &Map<String, Value>, skip: &[&str]) -> Changes {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let relevant = |k: &String| !SYSTEM_FIELDS.contains(&k.as_str()) && !UNVERSIONED_FIELDS.contains(&k.as_str()) && !skip.contains(&k.as_str());
    let (mut added, mut updated, mut deleted) = (vec![], vec![], vec![]);
    for (k, v) in new.iter().filter(|(k, _)| relevant(k)) {
        match old.get(k) {
            None | Some(Value::Null) if !v.is_null() => added.push(json!({"name": k, "newValue": v.to_string()})),
            Some(o) if o != v && !v.is_null() => updated.push(json!({"name": k, "oldValue": o.to_string(), "newValue": v.to_string()})),
            _ => {}
        }
    }
    for (k, o) in old.iter().filter(|(k, _)| relevant(k)) {
        if !o.is_null() && new.get(k).is_none_or(Value::is_null) {
            deleted.push(json!({"name": k, "oldValue": o.to_string()}));
        }
    }
    let major = !deleted.is_empty();
    Changes { added, updated, deleted, major }
}

fn diff(old: &Value, new: &Map<String, Value>) -> Changes {
    diff_fields(old, new, &[])
}

impl Catalog {
    pub fn new(store: Store, base_url: &str) -> Catalog {
        Catalog {
            store,
            base_url: base_url.trim_end_matches('/').to_string(),
            cipher: None,
            access: Arc::new(crate::access::AccessControl::new(crate::access::DEFAULT_ACCESS_CACHE_TTL)),
            denials: Arc::new(DenialLimiter::new()),
            profile_retention: None,
        }
    }

    /// Reuses callers' governance (roles, teams, policies) for `ttl` at most.
    pub fn with_access_cache_ttl(self, ttl: std::time::Duration) -> Catalog {
        Catalog { access: Arc::new(crate::access::AccessControl::new(ttl)), ..self }
    }

    /// Drops profiles older than `keep` when newer ones arrive (zero keeps them all).
    pub fn with_profile_retention(self, keep: std::time::Duration) -> Catalog {
        Catalog { profile_retention: (!keep.is_zero()).then_some(keep), ..self }
    }

    /// The oldest timestamp (epoch ms) a profile written now is kept with, if profiles expire.
    pub(crate) fn profiles_kept_after(&self) -> Option<i64> {
        self.profile_retention.map(|keep| now_ms().saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX)))
    }

    pub(crate) fn access(&self) -> &crate::access::AccessControl {
        &self.access
    }

    pub(crate) fn denials(&self) -> &DenialLimiter {
        &self.denials
    }

    /// Stores the secrets of entities encrypted with `cipher`.
    pub fn with_secret_cipher(self, cipher: Arc<dyn SecretCipher>) -> Catalog {
        Catalog { cipher: Some(cipher), ..self }
    }

    /// The cipher secrets are stored with, if any.
    pub(crate) fn cipher(&self) -> Option<&dyn SecretCipher> {
        self.cipher.as_deref()
    }

    /// The entity a stored row holds, its secrets decrypted.
    pub fn entity_of(&self, row: &EntityRow) -> Result<Value> {
        self.entity_from_json(&row.json).map_err(|e| CatalogError::Internal(format!("stored {} {}: {e}", row.entity_type, row.id)))
    }

    /// The entity a stored row holds as readers get it: secrets decrypted, relation fields
    /// from the stored relationships (see `crate::relations`), tag labels from their tags.
    pub(crate) async fn loaded(&self, kind: &EntityKind, row: &EntityRow) -> Result<Value> {
        let mut entity = self.with_relations(kind, self.entity_of(row)?).await?;
        if let Some(body) = entity.as_object_mut() {
            self.label_tags(body, crate::data::MissingTag::Drop).await?;
        }
        Ok(entity)
    }

    pub(crate) async fn loaded_all(&self, kind: &EntityKind, rows: &[EntityRow]) -> Result<Vec<Value>> {
        let mut entities = Vec::with_capacity(rows.len());
        for row in rows {
            entities.push(self.loaded(kind, row).await?);
        }
        Ok(entities)
    }

    fn entity_from_json(&self, stored: &str) -> Result<Value> {
        let mut entity: Value = serde_json::from_str(stored).map_err(|e| CatalogError::Internal(format!("not valid JSON: {e}")))?;
        if let Some(cipher) = &self.cipher {
            crate::secrets::open_secrets(&mut entity, cipher.as_ref())?;
        }
        Ok(entity)
    }

    /// The JSON text stored for an entity, its secrets encrypted.
    fn stored_json(&self, entity: &Value) -> Result<String> {
        match &self.cipher {
            Some(cipher) => {
                let mut sealed = entity.clone();
                crate::secrets::seal_secrets(&mut sealed, cipher.as_ref())?;
                Ok(serde_json::to_string(&sealed)?)
            }
            None => Ok(serde_json::to_string(entity)?),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn href(&self, kind: &EntityKind, id: &str) -> String {
        format!("{}/api/v1/{}/{}", self.base_url, kind.collection, id)
    }

    /// A reference to a stored entity, OpenMetadata's `EntityReference`.
    pub fn reference(&self, kind: &EntityKind, entity: &Value) -> Value {
        let mut r = json!({
            "id": entity["id"],
            "type": kind.name,
            "name": entity["name"],
            "fullyQualifiedName": entity["fullyQualifiedName"],
            "deleted": entity.get("deleted").cloned().unwrap_or(Value::Bool(false)),
            "href": entity["href"],
        });
        if let Some(d) = entity.get("displayName").filter(|d| !d.is_null()) {
            r["displayName"] = d.clone();
        }
        r
    }

    fn row(&self, kind: &EntityKind, entity: &Value, parent_fqn: Option<String>) -> Result<EntityRow> {
        let secondary_key = kind.secondary_key.and_then(|f| entity.get(f)).and_then(Value::as_str).map(str::to_lowercase);
        Ok(EntityRow {
            id: entity["id"].as_str().unwrap_or_default().to_string(),
            entity_type: kind.name.to_string(),
            fqn: entity["fullyQualifiedName"].as_str().unwrap_or_default().to_string(),
            secondary_key,
            parent_fqn,
            deleted: entity["deleted"].as_bool().unwrap_or(false),
            updated_at: entity["updatedAt"].as_i64().unwrap_or_else(now_ms),
            json: self.stored_json(entity)?,
        })
    }

    /// Creates a new entity (`by` is its author); 409 when its FQN (or secondary key) is taken.
    pub async fn create(&self, draft: Draft, by: Origin<'_>) -> Result<Value> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut body = draft.body;
        body.retain(|k, _| !SYSTEM_FIELDS.contains(&k.as_str()));
        body.insert("id".into(), json!(id));
        body.insert("name".into(), json!(draft.name));
        body.insert("fullyQualifiedName".into(), json!(draft.fqn));
        body.insert("version".into(), json!(0.1));
        body.insert("updatedAt".into(), json!(now_ms()));
        body.insert("updatedBy".into(), json!(by.actor));
        body.insert("href".into(), json!(self.href(draft.kind, &id)));
        body.insert("deleted".into(), json!(false));
        let entity = Value::Object(body);
        let row = self.row(draft.kind, &entity, draft.parent_fqn)?;
        let audit = entity_event(draft.kind, &entity, Change::Created, by);
        self.store.insert_entity(&row, "0.1", &crate::fqn::ancestors(&row.fqn), audit.as_ref()).await?;
        self.sync_relations(draft.kind, None, &entity).await?;
        self.sync_domain_edges(draft.kind, None, &entity).await?;
        self.written(draft.kind).await;
        // As a read would return it (the relation fields a create leaves out are empty lists).
        self.with_relations(draft.kind, entity).await
    }

    /// PUT semantics: create (true) or update the entity with this FQN (false).
    pub async fn create_or_update(&self, draft: Draft, by: Origin<'_>) -> Result<(Value, bool)> {
        match self.store.entity_by_fqn(draft.kind.name, &draft.fqn).await? {
            None => Ok((self.create(draft, by).await?, true)),
            Some(row) => {
                let old = self.loaded(draft.kind, &row).await?;
                let mut merged = old.as_object().cloned().unwrap_or_default();
                for (k, v) in draft.body.into_iter().filter(|(k, _)| !SYSTEM_FIELDS.contains(&k.as_str())) {
                    merged.insert(k, v);
                }
                Ok((self.update(draft.kind, &old, merged, draft.parent_fqn, by).await?, false))
            }
        }
    }

    /// Stores `new` as the next version of `old`; returns `old` unchanged when nothing differs.
    pub async fn update(&self, kind: &EntityKind, old: &Value, mut new: Map<String, Value>, parent_fqn: Option<String>, by: Origin<'_>) -> Result<Value> {
        self.resolve_relation_fields(kind, Some(old), &mut new).await?;
        for f in SYSTEM_FIELDS {
            match old.get(*f) {
                Some(v) => new.insert(f.to_string(), v.clone()),
                None => new.remove(*f),
            };
        }
        let changes = kind.differ.unwrap_or(diff)(old, &new);
        if changes.is_empty() {
            return self.update_unversioned(kind, old, &new).await;
        }
        let previous = version_of(old);
        let version = if changes.major { previous.floor() + 1.0 } else { round1(previous + 0.1) };
        new.insert("version".into(), json!(version));
        new.insert("updatedAt".into(), json!(now_ms()));
        new.insert("updatedBy".into(), json!(by.actor));
        new.insert(
            "changeDescription".into(),
            json!({"fieldsAdded": changes.added, "fieldsUpdated": changes.updated, "fieldsDeleted": changes.deleted, "previousVersion": previous}),
        );
        let entity = Value::Object(new);
        let row = self.row(kind, &entity, parent_fqn)?;
        let audit = entity_event(kind, &entity, Change::Updated { old, changes: &changes }, by);
        self.store.update_entity(&row, &format!("{version:.1}"), audit.as_ref()).await?;
        self.sync_relations(kind, Some(old), &entity).await?;
        self.sync_domain_edges(kind, Some(old), &entity).await?;
        self.written(kind).await;
        self.with_relations(kind, entity).await
    }

    /// Stores the [`UNVERSIONED_FIELDS`] of `new` that differ from `old`'s in place (no new
    /// version, no event); `old` as it now is.
    async fn update_unversioned(&self, kind: &EntityKind, old: &Value, new: &Map<String, Value>) -> Result<Value> {
        let changed: Vec<&str> = UNVERSIONED_FIELDS.iter().copied().filter(|f| old.get(*f) != new.get(*f)).collect();
        let id = old["id"].as_str().unwrap_or_default();
        let (false, Some(row)) = (changed.is_empty(), self.store.entity_by_id(kind.name, id).await?) else { return Ok(old.clone()) };
        let set = |entity: &mut Value| {
            for f in &changed {
                match (new.get(*f), entity.as_object_mut()) {
                    (Some(v), Some(obj)) => obj.insert(f.to_string(), v.clone()),
                    (None, Some(obj)) => obj.remove(*f),
                    _ => None,
                };
            }
        };
        let mut stored: Value = serde_json::from_str(&row.json).map_err(|e| CatalogError::Internal(format!("stored entity {id}: {e}")))?;
        set(&mut stored);
        // A write that raced this one wins: the hash is the client's to send again.
        self.store.rewrite_entity_json(&row, &stored.to_string()).await?;
        let mut entity = old.clone();
        set(&mut entity);
        Ok(entity)
    }

    fn visible(row: &EntityRow, include: Include) -> bool {
        match include {
            Include::NonDeleted => !row.deleted,
            Include::Deleted => row.deleted,
            Include::All => true,
        }
    }

    pub async fn get(&self, kind: &EntityKind, id: &str, include: Include) -> Result<Value> {
        match self.store.entity_by_id(kind.name, id).await? {
            Some(row) if Self::visible(&row, include) => self.loaded(kind, &row).await,
            _ => Err(not_found(kind.name, id)),
        }
    }

    pub async fn get_by_name(&self, kind: &EntityKind, fqn: &str, include: Include) -> Result<Value> {
        match self.store.entity_by_fqn(kind.name, fqn).await? {
            Some(row) if Self::visible(&row, include) => self.loaded(kind, &row).await,
            _ => Err(not_found(kind.name, fqn)),
        }
    }

    pub async fn find_by_secondary_key(&self, kind: &EntityKind, key: &str) -> Result<Option<Value>> {
        match self.store.entity_by_secondary_key(kind.name, &key.to_lowercase()).await? {
            Some(row) => Ok(Some(self.loaded(kind, &row).await?)),
            None => Ok(None),
        }
    }

    pub async fn list(&self, kind: &EntityKind, parent_fqn: Option<&str>, include: Include, limit: i64, after: Option<&str>, before: Option<&str>) -> Result<Page> {
        check_limit(limit)?;
        let page = self.store.list_entities(kind.name, parent_fqn, include, limit, after, before).await?;
        Ok(Page { data: self.loaded_all(kind, &page.rows).await?, before: page.before, after: page.after, total: page.total })
    }

    /// Applies an RFC 6902 patch; system fields and the name cannot be patched.
    pub async fn patch(&self, kind: &EntityKind, id: &str, patch: &json_patch::Patch, by: Origin<'_>) -> Result<Value> {
        let old = self.get(kind, id, Include::NonDeleted).await?;
        let doc = apply_patch(&old, patch)?;
        for f in ["name", "id"] {
            if doc.get(f) != old.get(f) {
                return Err(CatalogError::BadRequest(format!("the field {f} cannot be changed with PATCH")));
            }
        }
        let row = self.store.entity_by_id(kind.name, id).await?.ok_or_else(|| not_found(kind.name, id))?;
        let new = doc.as_object().cloned().ok_or_else(|| CatalogError::BadRequest("the patched entity is not an object".into()))?;
        self.update(kind, &old, new, row.parent_fqn, by).await
    }

    /// Soft delete: marks deleted (a new major version); hard delete removes the row.
    pub async fn delete(&self, kind: &EntityKind, id: &str, hard: bool, by: Origin<'_>) -> Result<Value> {
        let row = self.store.entity_by_id(kind.name, id).await?.ok_or_else(|| not_found(kind.name, id))?;
        let mut entity = self.loaded(kind, &row).await?;
        let previous = version_of(&entity);
        if hard {
            self.store.delete_entity(id, entity_event(kind, &entity, Change::Deleted { hard }, by).as_ref()).await?;
            self.written(kind).await;
            entity["deleted"] = json!(true);
            return Ok(entity);
        }
        if row.deleted {
            return Ok(entity);
        }
        let version = previous.floor() + 1.0;
        entity["deleted"] = json!(true);
        entity["version"] = json!(version);
        entity["updatedAt"] = json!(now_ms());
        entity["updatedBy"] = json!(by.actor);
        entity["changeDescription"] = json!({"fieldsAdded": [], "fieldsUpdated": [{"name": "deleted", "oldValue": "false", "newValue": "true"}], "fieldsDeleted": [], "previousVersion": previous});
        let new_row = EntityRow { deleted: true, json: self.stored_json(&entity)?, updated_at: now_ms(), ..row };
        self.store.update_entity(&new_row, &format!("{version:.1}"), entity_event(kind, &entity, Change::Deleted { hard }, by).as_ref()).await?;
        self.written(kind).await;
        Ok(entity)
    }

    pub async fn restore(&self, kind: &EntityKind, id: &str, by: Origin<'_>) -> Result<Value> {
        let row = self.store.entity_by_id(kind.name, id).await?.ok_or_else(|| not_found(kind.name, id))?;
        let old = self.loaded(kind, &row).await?;
        if !row.deleted {
            return Ok(old);
        }
        let version = round1(version_of(&old) + 0.1);
        let mut entity = old.clone();
        entity["deleted"] = json!(false);
        entity["version"] = json!(version);
        entity["updatedAt"] = json!(now_ms());
        entity["updatedBy"] = json!(by.actor);
        let new_row = EntityRow { deleted: false, json: self.stored_json(&entity)?, updated_at: now_ms(), ..row };
        self.store.update_entity(&new_row, &format!("{version:.1}"), entity_event(kind, &entity, Change::Restored, by).as_ref()).await?;
        self.written(kind).await;
        Ok(entity)
    }

    /// OpenMetadata's `EntityHistory`: newest version first, each as a JSON string.
    pub async fn versions(&self, kind: &EntityKind, id: &str) -> Result<Value> {
        self.get(kind, id, Include::All).await?;
        let mut versions = self.store.entity_versions(id).await?;
        versions.sort_by(|a, b| b.0.parse::<f64>().unwrap_or(0.0).total_cmp(&a.0.parse::<f64>().unwrap_or(0.0)));
        let versions = versions.into_iter().map(|(_, stored)| Ok(self.entity_from_json(&stored)?.to_string())).collect::<Result<Vec<_>>>()?;
        Ok(json!({"entityType": kind.name, "versions": versions}))
    }

    pub async fn version(&self, kind: &EntityKind, id: &str, version: &str) -> Result<Value> {
        let wanted: f64 = version.parse().map_err(|_| CatalogError::BadRequest(format!("{version} is not a version number")))?;
        let versions = self.store.entity_versions(id).await?;
        let found = versions.into_iter().find(|(v, _)| v.parse::<f64>().is_ok_and(|v| (v - wanted).abs() < 1e-9));
        match found {
            Some((_, stored)) => self.entity_from_json(&stored),
            None => Err(not_found(&format!("{} version", kind.name), &format!("{id} {version}"))),
        }
    }
}

/// The document after a JSON Patch, or a 400; `old` is never touched. json-patch reverts a
/// failed patch only partly (a `move` whose target is missing loses its source, found by
/// fuzzing), so the patch always runs on a copy that is dropped on failure.
pub fn apply_patch(old: &Value, patch: &json_patch::Patch) -> Result<Value> {
    let mut doc = old.clone();
    json_patch::patch(&mut doc, patch).map_err(|e| CatalogError::BadRequest(format!("JSON patch cannot be applied: {e}")))?;
    Ok(doc)
}

#[cfg(test)]
mod patch_tests {
    use super::*;
    use serde_json::json;

    /// Regression (fuzz/json_patch): a failing `move` must not cost the entity its source field.
    #[test]
    fn a_failing_patch_is_a_400_and_leaves_the_entity_whole() {
        let old = json!({"a": {"b": [1, 2]}});
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "move", "from": "/a/b", "path": "/az/b/0"},
            {"op": "copy", "from": "/a", "path": "/c"}
        ]))
        .expect("a well-formed patch");
        assert!(matches!(apply_patch(&old, &patch), Err(CatalogError::BadRequest(_))));
        assert_eq!(old, json!({"a": {"b": [1, 2]}}));
        let fine: json_patch::Patch = serde_json::from_value(json!([{"op": "add", "path": "/a/c", "value": 3}])).expect("a patch");
        assert_eq!(apply_patch(&old, &fine).ok(), Some(json!({"a": {"b": [1, 2], "c": 3}})));
    }
}
