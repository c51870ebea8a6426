//! Lineage, as OpenMetadata's `/v1/lineage` API has it: directed edges from an upstream entity
//! to a downstream one, of any entity types, each with `lineageDetails` (SQL query, column
//! lineage, the pipeline that runs it, how it was made). Writing, patching or removing an edge
//! needs `EditLineage` on both of its entities; reading needs `ViewBasic` on the entity asked
//! about, and the nodes a caller may not see are left out with their edges (OpenMetadata shows
//! every node to everyone).

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::access::Key;
use crate::audit::Actor;
use crate::engine::{Catalog, EntityKind};
use crate::error::{CatalogError, Result, not_found};
use crate::fqn;
use crate::kinds::kind_named;
use crate::policy::{Operation, Target};
use ferrometa_store::{Direction, Include, LineageEdge, now_ms};

/// How far a lineage read walks one way: 0 to 3 steps, as OpenMetadata allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth(u8);

impl Depth {
    pub const MAX: i64 = 3;

    /// The depth a query parameter asks for (`name` for the message); 1 when absent.
    pub fn parse(name: &str, raw: Option<i64>) -> Result<Depth> {
        match raw.unwrap_or(1) {
            d @ 0..=Self::MAX => Ok(Depth(d as u8)),
            d if d < 0 => Err(CatalogError::BadRequest(format!("query param {name} must be greater than or equal to 0"))),
            _ => Err(CatalogError::BadRequest(format!("query param {name} must be less than or equal to {}", Self::MAX))),
        }
    }
}

/// How a lineage edge was made (OpenMetadata's `lineageDetails.source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    #[default]
    Manual,
    ViewLineage,
    QueryLineage,
    PipelineLineage,
    DashboardLineage,
    DbtLineage,
    SparkLineage,
    OpenLineage,
    ExternalTableLineage,
    CrossDatabaseLineage,
}

impl Source {
    pub fn parse(name: &str) -> Result<Source> {
        serde_json::from_value(json!(name)).map_err(|_| CatalogError::BadRequest(format!("unknown lineage source {}", name.chars().take(40).collect::<String>())))
    }

    fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnLineage {
    #[serde(default)]
    pub from_columns: Option<Vec<String>>,
    #[serde(default)]
    pub to_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// A reference as clients send it: only the id and type are read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reference {
    pub id: uuid::Uuid,
    #[serde(rename = "type")]
    pub entity_type: String,
}

/// `lineageDetails` of an edge. The pipeline is stored as the full reference of the entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_query: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub columns_lineage: Vec<ColumnLineage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn null_as_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> std::result::Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntitiesEdge {
    pub from_entity: Reference,
    pub to_entity: Reference,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub lineage_details: Option<LineageDetails>,
}

/// The body of `PUT /v1/lineage`.
#[derive(Debug, Clone, Deserialize)]
pub struct AddLineage {
    pub edge: EntitiesEdge,
}

/// One end of an edge: its type and the entity as stored.
struct End {
    kind: &'static EntityKind,
    entity: Value,
}

impl End {
    fn id(&self) -> &str {
        self.entity["id"].as_str().unwrap_or_default()
    }
}

fn entity_kind(name: &str) -> Result<&'static EntityKind> {
    kind_named(name).ok_or_else(|| CatalogError::NotFound(format!("Entity type {} not found", name.chars().take(60).collect::<String>())))
}

/// The fully qualified names of an entity's columns and other child fields (nested ones
/// too): what column lineage may name.
fn child_fqns(entity: &Value) -> HashSet<String> {
    fn walk(children: &Value, parent: &str, into: &mut HashSet<String>) {
        for child in children.as_array().into_iter().flatten() {
            let own = match child["fullyQualifiedName"].as_str() {
                Some(f) => f.to_string(),
                None => format!("{parent}.{}", fqn::quote(child["name"].as_str().unwrap_or_default())),
            };
            walk(&child["children"], &own, into);
            into.insert(own);
        }
    }
    let root = entity["fullyQualifiedName"].as_str().unwrap_or_default();
    let mut into = HashSet::new();
    for path in ["/columns", "/dataModel/columns", "/messageSchema/schemaFields", "/fields", "/mlFeatures"] {
        if let Some(children) = entity.pointer(path) {
            walk(children, root, &mut into);
        }
    }
    into
}

fn edge_not_found(from: &str, to: &str) -> CatalogError {
    CatalogError::NotFound(format!("Lineage edge not found between {from} and {to}"))
}

impl Catalog {
    async fn lineage_end(&self, entity_type: &str, key: Key<'_>) -> Result<End> {
        let kind = entity_kind(entity_type)?;
        let entity = match key {
            Key::Id(id) => self.get(kind, id, Include::NonDeleted).await?,
            Key::Fqn(fqn) => self.get_by_name(kind, fqn, Include::NonDeleted).await?,
        };
        Ok(End { kind, entity })
    }

    /// The caller may do `operation` on each end, refused (and recorded) otherwise.
    async fn authorize_ends(&self, actor: Actor<'_>, operation: Operation, ends: &[&End]) -> Result<()> {
        for end in ends {
            self.authorize(actor, &[operation], &Target::entity(end.kind.name, self.facts(end.kind, &end.entity))).await?;
        }
        Ok(())
    }

    /// Checks the details of an edge between `from` and `to` and completes them: column
    /// lineage names columns of its ends, the pipeline is a live entity (stored as its
    /// reference), and the times and authors of the edge.
    async fn checked_details(&self, actor: Actor<'_>, from: &End, to: &End, mut details: LineageDetails, before: Option<&LineageDetails>) -> Result<LineageDetails> {
        let (from_columns, to_columns) = (child_fqns(&from.entity), child_fqns(&to.entity));
        for column in &details.columns_lineage {
            let to_column = column.to_column.as_deref().ok_or_else(|| CatalogError::BadRequest("columnsLineage: toColumn is required".into()))?;
            for (name, known) in column.from_columns.iter().flatten().map(|c| (c, &from_columns)).chain([(&to_column.to_string(), &to_columns)]) {
                if !known.contains(name) {
                    return Err(CatalogError::BadRequest(format!("Invalid fully qualified column name {name}")));
                }
            }
        }
        if let Some(pipeline) = details.pipeline.take() {
            let wanted: Reference = serde_json::from_value(pipeline).map_err(|e| CatalogError::BadRequest(format!("lineageDetails.pipeline: {e}")))?;
            let end = self.lineage_end(&wanted.entity_type, Key::Id(&wanted.id.to_string())).await?;
            details.pipeline = Some(self.reference(end.kind, &end.entity));
        }
        let now = now_ms();
        details.created_at = before.and_then(|b| b.created_at).or(Some(now));
        details.created_by = before.and_then(|b| b.created_by.clone()).or_else(|| Some(actor.subject.name().to_string()));
        details.updated_at = Some(now);
        details.updated_by = Some(actor.subject.name().to_string());
        Ok(details)
    }

    async fn write_edge(&self, from: &End, to: &End, details: &LineageDetails) -> Result<()> {
        let edge = LineageEdge {
            from_id: from.id().to_string(),
            from_type: from.kind.name.to_string(),
            to_id: to.id().to_string(),
            to_type: to.kind.name.to_string(),
            source: details.source.as_str(),
            details: serde_json::to_string(details)?,
        };
        if !self.store().put_lineage_edge(&edge).await? {
            // An end was deleted since it was read.
            return Err(not_found(from.kind.name, from.id()));
        }
        Ok(())
    }

    /// `PUT /v1/lineage`: adds the edge or replaces its details.
    pub async fn add_lineage(&self, actor: Actor<'_>, request: AddLineage) -> Result<()> {
        let edge = request.edge;
        let from = self.lineage_end(&edge.from_entity.entity_type, Key::Id(&edge.from_entity.id.to_string())).await?;
        let to = self.lineage_end(&edge.to_entity.entity_type, Key::Id(&edge.to_entity.id.to_string())).await?;
        self.authorize_ends(actor, Operation::EditLineage, &[&from, &to]).await?;
        let mut details = edge.lineage_details.unwrap_or_default();
        if details.description.is_none() {
            details.description = edge.description;
        }
        let before = self.stored_details(from.id(), to.id()).await?;
        let details = self.checked_details(actor, &from, &to, details, before.as_ref().map(|(d, _)| d)).await?;
        self.write_edge(&from, &to, &details).await
    }

    async fn stored_details(&self, from_id: &str, to_id: &str) -> Result<Option<(LineageDetails, String)>> {
        let Some(edge) = self.store().lineage_edge(from_id, to_id).await? else { return Ok(None) };
        let details = serde_json::from_str(&edge.details).map_err(|e| CatalogError::Internal(format!("stored lineage {from_id} → {to_id}: {e}")))?;
        Ok(Some((details, edge.details)))
    }

    /// `PATCH /v1/lineage/{fromType}/{fromId}/{toType}/{toId}`: a JSON Patch of the details;
    /// answers the details as patched.
    pub async fn patch_lineage(&self, actor: Actor<'_>, from: (&str, &str), to: (&str, &str), patch: &json_patch::Patch) -> Result<Value> {
        let from = self.lineage_end(from.0, Key::Id(from.1)).await?;
        let to = self.lineage_end(to.0, Key::Id(to.1)).await?;
        self.authorize_ends(actor, Operation::EditLineage, &[&from, &to]).await?;
        let (before, stored) = self.stored_details(from.id(), to.id()).await?.ok_or_else(|| edge_not_found(from.id(), to.id()))?;
        let mut doc = serde_json::to_value(&before)?;
        json_patch::patch(&mut doc, patch).map_err(|e| CatalogError::BadRequest(format!("JSON patch cannot be applied: {e}")))?;
        let patched: LineageDetails = serde_json::from_value(doc).map_err(|e| CatalogError::BadRequest(format!("lineageDetails: {e}")))?;
        let details = self.checked_details(actor, &from, &to, patched, Some(&before)).await?;
        let json = serde_json::to_string(&details)?;
        if !self.store().replace_lineage_details(from.id(), to.id(), &stored, &details.source.as_str(), &json).await? {
            return Err(CatalogError::Conflict("the lineage edge changed while it was patched; read it and try again".into()));
        }
        Ok(serde_json::to_value(details)?)
    }

    /// `GET /v1/lineage/getLineageEdge/{fromId}/{toId}`: `{"edge": lineageDetails}`.
    pub async fn lineage_edge(&self, actor: Actor<'_>, from_id: &str, to_id: &str) -> Result<Value> {
        let edge = self.store().lineage_edge(from_id, to_id).await?.ok_or_else(|| edge_not_found(from_id, to_id))?;
        let from = self.lineage_end(&edge.from_type, Key::Id(from_id)).await?;
        let to = self.lineage_end(&edge.to_type, Key::Id(to_id)).await?;
        self.authorize_ends(actor, Operation::ViewBasic, &[&from, &to]).await?;
        let details: Value = serde_json::from_str(&edge.details).map_err(|e| CatalogError::Internal(format!("stored lineage {from_id} → {to_id}: {e}")))?;
        Ok(json!({"edge": details}))
    }

    /// `DELETE /v1/lineage/{fromType}/{from}/{toType}/{to}` by ids or by names.
    pub async fn delete_lineage(&self, actor: Actor<'_>, from: (&str, Key<'_>), to: (&str, Key<'_>)) -> Result<()> {
        let from = self.lineage_end(from.0, from.1).await?;
        let to = self.lineage_end(to.0, to.1).await?;
        self.authorize_ends(actor, Operation::EditLineage, &[&from, &to]).await?;
        if !self.store().delete_lineage_edge(from.id(), to.id()).await? {
            return Err(CatalogError::NotFound("Lineage edge not found".into()));
        }
        Ok(())
    }

    /// `DELETE /v1/lineage/{type}/{id}/type/{source}`: the entity's edges (either way) of one
    /// source; `EditLineage` is needed on the entity and on each entity at their other ends.
    pub async fn delete_lineage_of_source(&self, actor: Actor<'_>, entity_type: &str, id: &str, source: Source) -> Result<()> {
        let end = self.lineage_end(entity_type, Key::Id(id)).await?;
        let mut ends = vec![end];
        for direction in [Direction::Upstream, Direction::Downstream] {
            for edge in self.store().lineage_walk(id, direction, 1).await?.into_iter().filter(|e| e.source == source.as_str()) {
                let (other_type, other_id) = if edge.from_id == id { (edge.to_type, edge.to_id) } else { (edge.from_type, edge.from_id) };
                ends.push(self.lineage_end(&other_type, Key::Id(&other_id)).await?);
            }
        }
        self.authorize_ends(actor, Operation::EditLineage, &ends.iter().collect::<Vec<_>>()).await?;
        self.store().delete_lineage_of_source(id, &source.as_str()).await?;
        Ok(())
    }

    /// `GET /v1/lineage/{type}/{id}` and `/name/{fqn}`: OpenMetadata's `EntityLineage` —
    /// the entity, the nodes reached within the depths, and the edges walked each way.
    pub async fn lineage(&self, actor: Actor<'_>, entity_type: &str, key: Key<'_>, upstream: Depth, downstream: Depth) -> Result<Value> {
        let root = self.lineage_end(entity_type, key).await?;
        self.authorize_ends(actor, Operation::ViewBasic, &[&root]).await?;
        let up = self.store().lineage_walk(root.id(), Direction::Upstream, upstream.0.into()).await?;
        let down = self.store().lineage_walk(root.id(), Direction::Downstream, downstream.0.into()).await?;
        let ids: BTreeSet<&str> = up.iter().chain(&down).flat_map(|e| [e.from_id.as_str(), e.to_id.as_str()]).filter(|id| *id != root.id()).collect();
        let mut nodes = Map::new();
        for row in self.store().entities_by_ids(&ids.into_iter().collect::<Vec<_>>()).await? {
            let Some(kind) = kind_named(&row.entity_type) else { continue };
            let entity = self.entity_of(&row)?;
            // Hidden nodes are left out, and with them their edges.
            if self.judge(actor.subject, &[Operation::ViewBasic], &Target::entity(kind.name, self.facts(kind, &entity))).await?.is_none() {
                nodes.insert(row.id.clone(), self.reference(kind, &entity));
            }
        }
        let shown = |e: &LineageEdge| [&e.from_id, &e.to_id].iter().all(|id| *id == root.id() || nodes.contains_key(id.as_str()));
        let edges = |walked: &[LineageEdge]| -> Result<Vec<Value>> {
            walked.iter().filter(|e| shown(e)).map(|e| Ok(json!({"fromEntity": e.from_id, "toEntity": e.to_id, "lineageDetails": serde_json::from_str::<Value>(&e.details)?}))).collect()
        };
        Ok(json!({
            "entity": self.reference(root.kind, &root.entity),
            "nodes": nodes.values().collect::<Vec<_>>(),
            "upstreamEdges": edges(&up)?,
            "downstreamEdges": edges(&down)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_are_zero_to_three() {
        assert_eq!(Depth::parse("upstreamDepth", None).unwrap(), Depth(1));
        assert_eq!(Depth::parse("upstreamDepth", Some(3)).unwrap(), Depth(3));
        assert_eq!(Depth::parse("upstreamDepth", Some(4)).unwrap_err().to_string(), "query param upstreamDepth must be less than or equal to 3");
        assert_eq!(Depth::parse("downstreamDepth", Some(-1)).unwrap_err().to_string(), "query param downstreamDepth must be greater than or equal to 0");
    }

    #[test]
    fn details_read_the_clients_nulls_and_default_to_manual() {
        let d: LineageDetails = serde_json::from_value(json!({"sqlQuery": null, "columnsLineage": null, "pipeline": null, "description": null, "source": null})).unwrap();
        assert_eq!(d, LineageDetails::default());
        assert_eq!(serde_json::to_value(&d).unwrap(), json!({"columnsLineage": [], "source": "Manual"}));
        assert!(serde_json::from_value::<LineageDetails>(json!({"source": "Telepathy"})).is_err(), "unknown source");
        assert_eq!(Source::parse("DbtLineage").unwrap().as_str(), "DbtLineage");
    }

    #[test]
    fn column_lineage_may_name_nested_columns_and_fields_of_other_asset_shapes() {
        let table = json!({"fullyQualifiedName": "s.d.x.t", "columns": [
            {"name": "a", "fullyQualifiedName": "s.d.x.t.a", "children": [{"name": "b", "fullyQualifiedName": "s.d.x.t.a.b"}]},
            {"name": "c.d"}]});
        assert_eq!(child_fqns(&table), HashSet::from(["s.d.x.t.a".to_string(), "s.d.x.t.a.b".to_string(), "s.d.x.t.\"c.d\"".to_string()]));
        let topic = json!({"fullyQualifiedName": "k.orders", "messageSchema": {"schemaFields": [{"name": "id"}]}});
        assert_eq!(child_fqns(&topic), HashSet::from(["k.orders.id".to_string()]));
    }

    #[test]
    fn an_edge_rejects_unknown_fields_but_references_carry_any() {
        let id = uuid::Uuid::new_v4();
        let ok: AddLineage = serde_json::from_value(json!({"edge": {"fromEntity": {"id": id, "type": "table", "name": null, "href": null}, "toEntity": {"id": id, "type": "table"}, "description": null, "lineageDetails": null}})).unwrap();
        assert_eq!(ok.edge.from_entity.entity_type, "table");
        assert!(serde_json::from_value::<AddLineage>(json!({"edge": {"fromEntity": {"id": id, "type": "table"}, "toEntity": {"id": id, "type": "table"}, "weight": 3}})).is_err());
        assert!(serde_json::from_value::<AddLineage>(json!({"edge": {"fromEntity": {"id": "not-a-uuid", "type": "table"}, "toEntity": {"id": id, "type": "table"}}})).is_err());
    }
}
