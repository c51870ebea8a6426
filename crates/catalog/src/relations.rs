//! Relationships shown on both of their entities, as OpenMetadata's `entity_relationship`
//! table keeps them: a team's `users` are the users whose `teams` list that team, a user's
//! `roles` the roles whose `users` list that user, a team's `defaultRoles` the roles whose
//! `teams` list that team. Each edge is stored once (`entity_relations`); whichever side a
//! client writes replaces that side's edges, and both sides are read from the edges, so the
//! copy of these fields inside the stored JSON is never what a reader gets.

use serde_json::{Value, json};

use crate::engine::{Catalog, EntityKind};
use crate::error::Result;
use crate::kinds::{ROLE, TEAM, USER};
use ferrometa_store::RelationSide;

/// A relationship between two entity types and the field listing it on each side.
pub struct Relation {
    pub from: &'static EntityKind,
    pub from_field: &'static str,
    pub to: &'static EntityKind,
    pub to_field: &'static str,
}

/// OpenMetadata's `HAS` relationship, the only one ferrometa keeps so far.
const HAS: &str = "has";

pub static RELATIONS: &[Relation] = &[
    Relation { from: &TEAM, from_field: "users", to: &USER, to_field: "teams" },
    Relation { from: &USER, from_field: "roles", to: &ROLE, to_field: "users" },
    Relation { from: &TEAM, from_field: "defaultRoles", to: &ROLE, to_field: "teams" },
];

/// The relation fields of an entity type: the field and the side of the relation it lists.
fn sides_of(kind: &EntityKind) -> impl Iterator<Item = (&'static str, RelationSide<'static>)> + '_ {
    RELATIONS.iter().flat_map(move |r| {
        let outgoing = (r.from.name == kind.name).then_some((r.from_field, RelationSide { relation: HAS, outgoing: true, other_type: r.to.name }));
        let incoming = (r.to.name == kind.name).then_some((r.to_field, RelationSide { relation: HAS, outgoing: false, other_type: r.from.name }));
        outgoing.into_iter().chain(incoming)
    })
}

/// The ids a relation field lists (references with an `id`).
fn ids_of(listed: &Value) -> Vec<String> {
    listed.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_string)).collect()
}

fn kind_named(name: &str) -> Option<&'static EntityKind> {
    RELATIONS.iter().flat_map(|r| [r.from, r.to]).find(|k| k.name == name)
}

impl Catalog {
    /// Sets the relation fields of an entity from the stored edges: references to the entities
    /// at the other end, soft-deleted ones left out (as OpenMetadata lists non-deleted
    /// relations by default).
    pub(crate) async fn with_relations(&self, kind: &EntityKind, mut entity: Value) -> Result<Value> {
        let Some(id) = entity["id"].as_str().map(str::to_string) else { return Ok(entity) };
        for (field, side) in sides_of(kind) {
            let mut refs = vec![];
            for row in self.store().related(&id, side).await?.iter().filter(|row| !row.deleted) {
                let Some(other_kind) = kind_named(&row.entity_type) else { continue };
                refs.push(self.reference(other_kind, &self.entity_of(row)?));
            }
            entity[field] = json!(refs);
        }
        Ok(entity)
    }

    /// Stores the edges of the relation fields a write set or changed (`old` is the entity as
    /// read before the write, `None` for a new one). A field the write left as it was keeps
    /// the edges, so a write based on a stale copy cannot undo the other side's changes.
    pub(crate) async fn sync_relations(&self, kind: &EntityKind, old: Option<&Value>, new: &Value) -> Result<()> {
        let id = new["id"].as_str().unwrap_or_default();
        for (field, side) in sides_of(kind) {
            let Some(listed) = new.get(field).filter(|v| v.is_array()) else { continue };
            if old.is_some_and(|o| o.get(field) == Some(listed)) {
                continue;
            }
            self.store().replace_relations(id, kind.name, side, &ids_of(listed)).await?;
        }
        Ok(())
    }
}

/// Settings flag: the relationships stored inside entity JSON before `entity_relations` existed
/// have been copied into it.
const BACKFILLED: &str = "entity_relations.backfilled";

impl Catalog {
    /// Copies, once per database, the relation fields entities stored in their JSON before the
    /// relationships had their own table (a bot user's roles, a team's users) into it. Only
    /// once: afterwards the table is the truth and the JSON copies may be stale. Replicas
    /// racing here write the same edges.
    pub async fn backfill_relations(&self) -> Result<()> {
        if self.store().get_setting(BACKFILLED).await?.is_some() {
            return Ok(());
        }
        for kind in [&TEAM, &USER, &ROLE] {
            let mut after: Option<String> = None;
            loop {
                let page = self.store().list_entities(kind.name, None, ferrometa_store::Include::All, 500, after.as_deref(), None).await?;
                for row in &page.rows {
                    self.backfill_entity(kind, &self.entity_of(row)?).await?;
                }
                match page.after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        self.store().put_setting(BACKFILLED, "true").await?;
        Ok(())
    }

    async fn backfill_entity(&self, kind: &EntityKind, entity: &Value) -> Result<()> {
        let id = entity["id"].as_str().unwrap_or_default();
        for (field, side) in sides_of(kind) {
            let ids = ids_of(&entity[field]);
            if !ids.is_empty() {
                self.store().replace_relations(id, kind.name, side, &ids).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relation_field_is_found_on_both_sides() {
        let fields = |k: &EntityKind| sides_of(k).map(|(f, s)| (f, s.outgoing, s.other_type)).collect::<Vec<_>>();
        assert_eq!(fields(&USER), [("teams", false, "team"), ("roles", true, "role")]);
        assert_eq!(fields(&TEAM), [("users", true, "user"), ("defaultRoles", true, "role")]);
        assert_eq!(fields(&ROLE), [("users", false, "user"), ("teams", false, "team")]);
        assert_eq!(ids_of(&json!([{"id": "a"}, {"name": "no id"}, {"id": "b"}])), ["a", "b"]);
    }
}
