//! Followers and votes of any entity whose schema has them: a caller follows, unfollows and
//! votes as themself (admins may add or remove any follower), needing only `ViewBasic` on the
//! entity, as liking something is no edit of it. Neither is a version of the entity.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::data::{AssetType, bad};
use crate::engine::Catalog;
use crate::error::{CatalogError, Result};
use crate::kinds::USER;
use crate::policy::Operation;
use ferrometa_store::Include;

/// `VoteRequest.updatedVoteType`.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum VoteType {
    VotedUp,
    VotedDown,
    UnVoted,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoteRequest {
    pub updated_vote_type: VoteType,
}

/// A field's new value, with what it added and removed (for the `ChangeEvent`).
struct FieldChange {
    field: &'static str,
    value: Value,
    added: Vec<Value>,
    deleted: Vec<Value>,
}

fn has_id(list: &[Value], id: &str) -> bool {
    list.iter().any(|r| r["id"].as_str() == Some(id))
}

impl Catalog {
    /// The entity, if the caller may see it, and the user a follow names: the caller, or anyone
    /// for an admin.
    async fn followed(&self, actor: Actor<'_>, t: &AssetType, id: &str, user_id: &str) -> Result<(Value, Value)> {
        if !t.entity_fields.contains(&"followers") {
            return Err(bad(format!("{} has no followers", t.kind.name)));
        }
        let entity = self.get(t.kind, id, Include::NonDeleted).await?;
        self.authorize_change(actor, t.kind, &entity, &[Operation::ViewBasic], &Map::new()).await?;
        if user_id != actor.subject.user_id && !actor.subject.is_admin {
            return Err(CatalogError::Forbidden(format!("Principal: {} can only change its own follows", actor.subject.name)));
        }
        let user = self.get(&USER, user_id, Include::NonDeleted).await?;
        Ok((entity, user))
    }

    /// Stores a new list of followers or new votes in place; answers OpenMetadata's
    /// `ChangeEvent` for the change.
    async fn set_in_place(&self, t: &AssetType, entity: &Value, change: FieldChange, by: &str) -> Result<Value> {
        let FieldChange { field, value, added, deleted } = change;
        let mut new = entity.as_object().cloned().unwrap_or_default();
        new.insert(field.into(), value);
        let updated = self.update_asset(t, entity, new, ferrometa_store::Origin::SYSTEM).await?;
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default();
        let change = |values: Vec<Value>, key: &str| values.into_iter().map(|v| json!({"name": field, key: v.to_string()})).collect::<Vec<_>>();
        Ok(json!({
            "eventType": "entityUpdated",
            "entityType": t.kind.name,
            "entityId": entity["id"],
            "entityFullyQualifiedName": fqn,
            "previousVersion": entity["version"],
            "currentVersion": updated["version"],
            "userName": by,
            "timestamp": ferrometa_store::now_ms(),
            "changeDescription": {"fieldsAdded": change(added, "newValue"), "fieldsUpdated": [], "fieldsDeleted": change(deleted, "oldValue"), "previousVersion": entity["version"]},
            "entity": updated,
        }))
    }

    /// `PUT /{collection}/{id}/followers` with a user id.
    pub async fn add_follower(&self, actor: Actor<'_>, t: &AssetType, id: &str, user_id: &str) -> Result<Value> {
        let (entity, user) = self.followed(actor, t, id, user_id).await?;
        let mut followers = entity["followers"].as_array().cloned().unwrap_or_default();
        if has_id(&followers, user_id) {
            return self.set_in_place(t, &entity, FieldChange { field: "followers", value: Value::Array(followers), added: vec![], deleted: vec![] }, &actor.subject.name).await;
        }
        let reference = self.reference(&USER, &user);
        followers.push(reference.clone());
        let change = FieldChange { field: "followers", value: Value::Array(followers), added: vec![json!([reference])], deleted: vec![] };
        self.set_in_place(t, &entity, change, &actor.subject.name).await
    }

    /// `DELETE /{collection}/{id}/followers/{userId}`.
    pub async fn remove_follower(&self, actor: Actor<'_>, t: &AssetType, id: &str, user_id: &str) -> Result<Value> {
        let (entity, user) = self.followed(actor, t, id, user_id).await?;
        let mut followers = entity["followers"].as_array().cloned().unwrap_or_default();
        let was = has_id(&followers, user_id);
        followers.retain(|r| r["id"].as_str() != Some(user_id));
        let deleted = if was { vec![json!([self.reference(&USER, &user)])] } else { vec![] };
        self.set_in_place(t, &entity, FieldChange { field: "followers", value: Value::Array(followers), added: vec![], deleted }, &actor.subject.name).await
    }

    /// `PUT /{collection}/{id}/vote`: the caller's vote replaces their previous one.
    pub async fn vote(&self, actor: Actor<'_>, t: &AssetType, id: &str, vote: VoteType) -> Result<Value> {
        if !t.entity_fields.contains(&"votes") {
            return Err(bad(format!("{} has no votes", t.kind.name)));
        }
        let entity = self.get(t.kind, id, Include::NonDeleted).await?;
        self.authorize_change(actor, t.kind, &entity, &[Operation::ViewBasic], &Map::new()).await?;
        let me = self.get(&USER, &actor.subject.user_id, Include::NonDeleted).await?;
        let reference = self.reference(&USER, &me);
        let voters = |list: &str| -> Vec<Value> { entity["votes"][list].as_array().cloned().unwrap_or_default().into_iter().filter(|r| r["id"] != me["id"]).collect() };
        let (mut up, mut down) = (voters("upVoters"), voters("downVoters"));
        match vote {
            VoteType::VotedUp => up.push(reference),
            VoteType::VotedDown => down.push(reference),
            VoteType::UnVoted => {}
        }
        let votes = json!({"upVotes": up.len(), "downVotes": down.len(), "upVoters": up, "downVoters": down});
        let old = entity.get("votes").cloned().unwrap_or(Value::Null);
        let change = FieldChange { field: "votes", value: votes.clone(), added: vec![votes], deleted: if old.is_null() { vec![] } else { vec![old] } };
        self.set_in_place(t, &entity, change, &actor.subject.name).await
    }
}
