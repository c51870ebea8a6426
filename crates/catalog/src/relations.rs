//! Relationships shown on both of their entities, as OpenMetadata's `entity_relationship`
//! table keeps them: a team's `users` are the users whose `teams` list that team, a user's
//! `roles` the roles whose `users` list that user, a team's `defaultRoles` the roles whose
//! `teams` list that team, a team's `children` the teams whose `parents` list it. Each edge is
//! stored once (`entity_relations`); whichever side a client writes replaces that side's edges,
//! and both sides are read from the edges, so the copy of these fields inside the stored JSON
//! is never what a reader gets.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::engine::{Catalog, EntityKind};
use crate::error::{Result, not_found};
use crate::governance::ORGANIZATION;
use crate::kinds::{ROLE, TEAM, USER, kind_named};
use ferrometa_store::{Include, RelationSide};

/// A relationship between two entity types and the field listing it on each side.
pub struct Relation {
    pub from: &'static EntityKind,
    pub from_field: &'static str,
    /// OpenMetadata's `Relationship` name.
    pub relation: &'static str,
    pub to: &'static EntityKind,
    pub to_field: &'static str,
    /// The entity (a top-level name of the `from` type) that an entity with no edges on the `to`
    /// side is shown under, as OpenMetadata shows the Organization as the team of a user in no
    /// team and as the parent of a team without parents.
    pub shown_under: Option<&'static str>,
    /// Whether edges from `shown_under` are implied rather than stored: OpenMetadata never
    /// stores the Organization as a parent, and lists every team without parents as its child.
    pub implied: bool,
}

const HAS: &str = "has";
const PARENT_OF: &str = "parentOf";

pub static RELATIONS: &[Relation] = &[
    Relation { from: &TEAM, from_field: "users", relation: HAS, to: &USER, to_field: "teams", shown_under: Some(ORGANIZATION), implied: false },
    Relation { from: &USER, from_field: "roles", relation: HAS, to: &ROLE, to_field: "users", shown_under: None, implied: false },
    Relation { from: &TEAM, from_field: "defaultRoles", relation: HAS, to: &ROLE, to_field: "teams", shown_under: None, implied: false },
    Relation { from: &TEAM, from_field: "children", relation: PARENT_OF, to: &TEAM, to_field: "parents", shown_under: Some(ORGANIZATION), implied: true },
];

/// One relation field of an entity type: the field, the relation, and which side it lists.
struct Side {
    field: &'static str,
    relation: &'static Relation,
    outgoing: bool,
}

impl Side {
    fn store_side(&self) -> RelationSide<'static> {
        let other = if self.outgoing { self.relation.to } else { self.relation.from };
        RelationSide { relation: self.relation.relation, outgoing: self.outgoing, other_type: other.name }
    }

    fn other_kind(&self) -> &'static EntityKind {
        if self.outgoing { self.relation.to } else { self.relation.from }
    }

    /// Whether this entity is the one the relation's unlinked entities are shown under, with
    /// its edges on this side implied.
    fn is_implied_for(&self, kind: &EntityKind, entity: &Value) -> bool {
        self.outgoing && self.relation.implied && kind.name == self.relation.from.name && self.relation.shown_under.is_some_and(|n| is_named(entity, n))
    }
}

/// The relation field of an entity type with this name (fields are fixed in [`RELATIONS`]).
fn side_of(kind: &EntityKind, field: &str) -> Side {
    sides_of(kind).find(|s| s.field == field).unwrap_or_else(|| unreachable!("{} has no relation field {field}", kind.name))
}

fn is_named(entity: &Value, name: &str) -> bool {
    entity["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// The relation fields of an entity type (a team-to-team relation gives two).
fn sides_of(kind: &EntityKind) -> impl Iterator<Item = Side> + '_ {
    RELATIONS.iter().flat_map(move |r| {
        let outgoing = (r.from.name == kind.name).then_some(Side { field: r.from_field, relation: r, outgoing: true });
        let incoming = (r.to.name == kind.name).then_some(Side { field: r.to_field, relation: r, outgoing: false });
        outgoing.into_iter().chain(incoming)
    })
}

/// The ids a relation field lists (references with an `id`, or bare ids).
fn ids_of(listed: &Value) -> Vec<String> {
    listed.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().or(r.as_str()).map(str::to_string)).collect()
}

impl Catalog {
    /// Sets the relation fields of an entity from the stored edges: references to the entities
    /// at the other end, soft-deleted ones left out (as OpenMetadata lists non-deleted
    /// relations by default); the Organization where OpenMetadata shows it by default; and a
    /// team's `childrenCount` and `userCount`.
    pub(crate) async fn with_relations(&self, kind: &EntityKind, mut entity: Value) -> Result<Value> {
        let Some(id) = entity["id"].as_str().map(str::to_string) else { return Ok(entity) };
        for side in sides_of(kind) {
            let mut rows: Vec<_> = self.store().related(&id, side.store_side()).await?.into_iter().filter(|row| !row.deleted).collect();
            if side.is_implied_for(kind, &entity) {
                rows.extend(self.store().unreached(side.relation.to.name, side.relation.relation, &id).await?);
            }
            let mut refs = vec![];
            for row in &rows {
                let Some(other_kind) = kind_named(&row.entity_type) else { continue };
                refs.push(self.reference(other_kind, &self.entity_of(row)?));
            }
            if refs.is_empty() && !side.outgoing && let Some(under) = side.relation.shown_under.filter(|n| !is_named(&entity, n) || kind.name != side.relation.from.name) {
                refs.extend(self.top_level(side.relation.from, under).await?.map(|e| self.reference(side.relation.from, &e)));
            }
            entity[side.field] = json!(refs);
        }
        if kind.name == TEAM.name {
            entity["childrenCount"] = json!(entity["children"].as_array().map_or(0, Vec::len));
            entity["userCount"] = json!(self.team_user_count(&entity).await?);
        }
        if kind.name == TEAM.name || kind.name == USER.name {
            entity["inheritedRoles"] = json!(self.inherited_roles(kind, &entity).await?);
        }
        if crate::domains::holds_assets(kind) {
            entity["assets"] = json!(self.held_assets(&entity).await?);
        }
        // A type whose schema has no `deleted` (a query) never shows the engine's flag.
        if crate::data::asset_type(kind.name).is_some_and(|t| !t.entity_fields.contains(&"deleted"))
            && let Some(obj) = entity.as_object_mut()
        {
            obj.remove("deleted");
        }
        Ok(entity)
    }

    /// OpenMetadata's read-only `inheritedRoles`: the default roles of a user's teams (the
    /// Organization for a user in none), or of a team's parents, and of every team above them.
    async fn inherited_roles(&self, kind: &EntityKind, entity: &Value) -> Result<Vec<Value>> {
        let from = ids_of(&entity[if kind.name == USER.name { "teams" } else { "parents" }]);
        if from.is_empty() {
            return Ok(vec![]);
        }
        Ok(self.governance().await?.default_roles_above(from.iter().map(String::as_str)))
    }

    /// A live top-level entity by name, straight from the store (no relations loaded).
    pub(crate) async fn top_level(&self, kind: &EntityKind, name: &str) -> Result<Option<Value>> {
        match self.store().entity_by_fqn(kind.name, &crate::fqn::quote(name)).await? {
            Some(row) if !row.deleted => Ok(Some(self.entity_of(&row)?)),
            _ => Ok(None),
        }
    }

    /// The distinct live users of a team and of every live team below it, as OpenMetadata
    /// counts `userCount`.
    async fn team_user_count(&self, team: &Value) -> Result<usize> {
        let mut teams = ids_of(&team["children"]);
        teams.extend(self.teams_below(teams.clone()).await?.into_iter().filter(|t| !t.deleted).map(|t| t.id));
        teams.extend(team["id"].as_str().map(str::to_string));
        let users = side_of(&TEAM, "users").store_side();
        let mut found = BTreeSet::new();
        for id in teams {
            found.extend(self.store().related(&id, users).await?.into_iter().filter(|u| !u.deleted).map(|u| u.id));
        }
        Ok(found.len())
    }

    /// Every team below these teams (their children, the children's children, ...), outermost
    /// first, deleted ones included.
    pub(crate) async fn teams_below(&self, roots: Vec<String>) -> Result<Vec<ferrometa_store::EntityRow>> {
        let children = side_of(&TEAM, "children").store_side();
        let mut seen: BTreeSet<String> = roots.iter().cloned().collect();
        let mut queue = std::collections::VecDeque::from(roots);
        let mut below = vec![];
        while let Some(id) = queue.pop_front() {
            for row in self.store().related(&id, children).await? {
                if seen.insert(row.id.clone()) {
                    queue.push_back(row.id.clone());
                    below.push(row);
                }
            }
        }
        Ok(below)
    }

    /// Turns the relation fields a write changed (against `old`, the entity as read before it)
    /// into references, refusing ids of entities that do not exist (404, as OpenMetadata).
    pub(crate) async fn resolve_relation_fields(&self, kind: &EntityKind, old: Option<&Value>, new: &mut serde_json::Map<String, Value>) -> Result<()> {
        for side in sides_of(kind) {
            let Some(listed) = new.get(side.field).filter(|v| v.is_array()) else { continue };
            if old.is_some_and(|o| o.get(side.field) == Some(listed)) {
                continue;
            }
            let mut refs = vec![];
            for id in ids_of(listed) {
                let other = side.other_kind();
                let entity = self.store().entity_by_id(other.name, &id).await?.filter(|row| !row.deleted).ok_or_else(|| not_found(other.name, &id))?;
                refs.push(self.reference(other, &self.entity_of(&entity)?));
            }
            new.insert(side.field.into(), json!(refs));
        }
        Ok(())
    }

    /// Stores the edges of the relation fields a write set or changed (`old` is the entity as
    /// read before the write, `None` for a new one). A field the write left as it was keeps
    /// the edges, so a write based on a stale copy cannot undo the other side's changes.
    pub(crate) async fn sync_relations(&self, kind: &EntityKind, old: Option<&Value>, new: &Value) -> Result<()> {
        for side in sides_of(kind) {
            let Some(listed) = new.get(side.field).filter(|v| v.is_array()) else { continue };
            if old.is_some_and(|o| o.get(side.field) == Some(listed)) || side.is_implied_for(kind, new) {
                continue;
            }
            let ids = self.stored_ids(&side, listed).await?;
            self.store().replace_relations(new["id"].as_str().unwrap_or_default(), kind.name, side.store_side(), &ids).await?;
        }
        Ok(())
    }

    /// The ids of a relation field that become edges: an implied entity (the Organization as a
    /// parent) is never stored.
    async fn stored_ids(&self, side: &Side, listed: &Value) -> Result<Vec<String>> {
        let mut ids = ids_of(listed);
        if side.relation.implied
            && !side.outgoing
            && let Some(under) = side.relation.shown_under
            && let Some(implied) = self.top_level(side.relation.from, under).await?
        {
            ids.retain(|id| Some(id.as_str()) != implied["id"].as_str());
        }
        Ok(ids)
    }
}

/// Settings flag: the `has` relationships stored inside entity JSON before `entity_relations`
/// existed have been copied into it. Relations added later have their own flag.
const BACKFILLED: &str = "entity_relations.backfilled";

fn backfill_flag(r: &Relation) -> String {
    if r.relation == HAS { BACKFILLED.to_string() } else { format!("{BACKFILLED}.{}", r.relation) }
}

impl Catalog {
    /// Copies, once per database and relation, the relation fields entities stored in their
    /// JSON before the relationship had its own table (a bot user's roles, a team's users or
    /// parents) into it. Only once: afterwards the table is the truth and the JSON copies may
    /// be stale. Replicas racing here write the same edges.
    pub async fn backfill_relations(&self) -> Result<()> {
        let mut pending = vec![];
        for r in RELATIONS {
            let flag = backfill_flag(r);
            if self.store().get_setting(&flag).await?.is_none() && !pending.contains(&flag) {
                pending.push(flag);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        for kind in [&TEAM, &USER, &ROLE] {
            let mut after: Option<String> = None;
            loop {
                let page = self.store().list_entities(kind.name, None, Include::All, 500, after.as_deref(), None).await?;
                for row in &page.rows {
                    self.backfill_entity(kind, &self.entity_of(row)?, &pending).await?;
                }
                match page.after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        for flag in pending {
            self.store().put_setting(&flag, "true").await?;
        }
        Ok(())
    }

    async fn backfill_entity(&self, kind: &EntityKind, entity: &Value, pending: &[String]) -> Result<()> {
        let id = entity["id"].as_str().unwrap_or_default();
        for side in sides_of(kind).filter(|s| pending.contains(&backfill_flag(s.relation))) {
            let ids = self.stored_ids(&side, &entity[side.field]).await?;
            if !ids.is_empty() && !side.is_implied_for(kind, entity) {
                self.store().replace_relations(id, kind.name, side.store_side(), &ids).await?;
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
        let fields = |k: &EntityKind| sides_of(k).map(|s| (s.field, s.outgoing, s.store_side().other_type, s.store_side().relation)).collect::<Vec<_>>();
        assert_eq!(fields(&USER), [("teams", false, "team", "has"), ("roles", true, "role", "has")]);
        assert_eq!(fields(&TEAM), [("users", true, "user", "has"), ("defaultRoles", true, "role", "has"), ("children", true, "team", "parentOf"), ("parents", false, "team", "parentOf")]);
        assert_eq!(fields(&ROLE), [("users", false, "user", "has"), ("teams", false, "team", "has")]);
        assert_eq!(ids_of(&json!([{"id": "a"}, {"name": "no id"}, "b"])), ["a", "b"]);
    }

    #[test]
    fn only_the_organization_has_its_children_implied() {
        let children = sides_of(&TEAM).find(|s| s.field == "children").unwrap();
        assert!(children.is_implied_for(&TEAM, &json!({"name": "Organization"})));
        assert!(!children.is_implied_for(&TEAM, &json!({"name": "Engineering"})));
        let users = sides_of(&TEAM).find(|s| s.field == "users").unwrap();
        assert!(!users.is_implied_for(&TEAM, &json!({"name": "Organization"})), "the Organization's users are stored edges");
        assert_eq!(backfill_flag(children.relation), "entity_relations.backfilled.parentOf");
        assert_eq!(backfill_flag(users.relation), "entity_relations.backfilled");
    }
}
