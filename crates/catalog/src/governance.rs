//! Governance entities served by the generic asset operations: teams, roles, policies (with
//! their rules), classifications and tags. A tag lives in a classification (`PII.Sensitive`)
//! or under a parent tag (`PII.Sensitive.Email`); roles name their policies by FQN, teams their
//! users, roles, parent and child teams and policies by id.

use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::data::{AssetType, Reference, bad, one_of, shown, string_field};
use crate::engine::{Catalog, EntityKind};
use crate::error::{CatalogError, Result, not_found};
use crate::fqn::quote;
use crate::kinds::{CLASSIFICATION, POLICY, ROLE, TAG, TEAM, USER};
use crate::schema::{CLASSIFICATION_FIELDS, POLICY_FIELDS, TAG_FIELDS};
use crate::policy::{Condition, Function, Operation, Target, normalise_rules};
use ferrometa_store::{Include, Origin};

pub static TEAMS: AssetType = AssetType {
    kind: &TEAM,
    create_fields: &[
        "name", "displayName", "description", "email", "teamType", "profile", "parents", "children", "users", "defaultRoles", "owners", "isJoinable", "policies",
        "extension", "externalId",
    ],
    required: &["name", "teamType"],
    entity_fields: &[
        "id", "teamType", "name", "email", "fullyQualifiedName", "displayName", "externalId", "description", "version", "updatedAt", "updatedBy", "href", "profile",
        "parents", "children", "users", "childrenCount", "userCount", "isJoinable", "owns", "owners", "changeDescription", "incrementalChangeDescription", "deleted",
        "defaultRoles", "inheritedRoles", "policies", "domains", "dataProducts", "extension",
    ],
    containers: &[],
    inherited: &[],
    references: &[
        Reference { field: "users", kind: &USER, by_name: false },
        Reference { field: "defaultRoles", kind: &ROLE, by_name: false },
        Reference { field: "parents", kind: &TEAM, by_name: false },
        Reference { field: "children", kind: &TEAM, by_name: false },
        Reference { field: "policies", kind: &POLICY, by_name: false },
    ],
    optional_fields: &["owners", "users", "owns", "defaultRoles", "parents", "children", "policies", "userCount", "childrenCount", "domains", "inheritedRoles"],
    check: Some(check_team),
    filters: &[],
    service_types: &[],
    search_index: Some("team_search_index"),
};

pub static ROLES: AssetType = AssetType {
    kind: &ROLE,
    create_fields: &["name", "displayName", "description", "policies", "provider"],
    required: &["name", "policies"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "version", "updatedAt", "updatedBy", "href", "allowDelete", "provider", "policies", "users",
        "teams", "changeDescription", "incrementalChangeDescription", "deleted", "disabled", "domains",
    ],
    containers: &[],
    inherited: &[],
    references: &[Reference { field: "policies", kind: &POLICY, by_name: true }],
    optional_fields: &["policies", "teams", "users"],
    check: Some(check_role),
    filters: &[],
    service_types: &[],
    search_index: None,
};

pub static POLICIES: AssetType = AssetType {
    kind: &POLICY,
    create_fields: &["name", "displayName", "description", "owners", "rules", "enabled", "provider", "location", "extension"],
    required: &["name", "rules"],
    entity_fields: POLICY_FIELDS,
    containers: &[],
    inherited: &[],
    references: &[],
    optional_fields: &["owners", "location", "teams", "roles", "domain"],
    check: Some(check_policy),
    filters: &[],
    service_types: &[],
    search_index: None,
};

pub static CLASSIFICATIONS: AssetType = AssetType {
    kind: &CLASSIFICATION,
    create_fields: &["name", "displayName", "description", "provider", "mutuallyExclusive", "owners", "extension"],
    required: &["name", "description"],
    entity_fields: CLASSIFICATION_FIELDS,
    containers: &[],
    inherited: &[],
    references: &[],
    optional_fields: &["termCount", "usageCount", "domain"],
    check: None,
    filters: &[],
    service_types: &[],
    search_index: Some("classification_search_index"),
};

pub static TAGS: AssetType = AssetType {
    kind: &TAG,
    create_fields: &[
        "classification", "parent", "name", "displayName", "description", "style", "associatedTags", "provider", "mutuallyExclusive", "owners", "extension",
    ],
    required: &["name", "description", "classification"],
    entity_fields: TAG_FIELDS,
    containers: &[("parent", &TAG), ("classification", &CLASSIFICATION)],
    inherited: &["classification"],
    references: &[],
    optional_fields: &["children", "usageCount", "domain", "dataProducts"],
    check: None,
    filters: &[("parent", &TAG), ("classification", &CLASSIFICATION)],
    service_types: &[],
    search_index: Some("tag_search_index"),
};

/// The root of the team hierarchy, which OpenMetadata seeds: the parent of every team created
/// without one.
pub const ORGANIZATION: &str = "Organization";

impl Catalog {
    /// Seeds the Organization team unless it exists.
    pub async fn ensure_organization(&self) -> Result<Value> {
        let mut body = Map::new();
        body.insert("teamType".into(), json!(ORGANIZATION));
        body.insert("displayName".into(), json!(ORGANIZATION));
        body.insert("description".into(), json!("Organization under which all the other team hierarchy is created"));
        body.insert("isJoinable".into(), json!(false));
        self.ensure(&TEAM, ORGANIZATION, body).await
    }

    /// The rules of OpenMetadata's `TeamRepository` for a team's place in the hierarchy, on
    /// every write of a team (`old` is the team as read before an update): which team types
    /// may be its parents and children, how many parents it may have, one Organization, and
    /// which type changes are allowed. A team without parents is under the Organization.
    pub(crate) async fn check_team_write(&self, name: &str, body: &Map<String, Value>, old: Option<&Value>) -> Result<()> {
        let team_type = body.get("teamType").and_then(Value::as_str).unwrap_or_default();
        let old_type = old.and_then(|o| o["teamType"].as_str());
        // The Organization is seeded at start-up, under its fixed name.
        if team_type == ORGANIZATION && !name.eq_ignore_ascii_case(ORGANIZATION) {
            return Err(bad("Only one Organization is allowed. New Organization type can't be created"));
        }
        if let Some(old_type) = old_type.filter(|t| *t != team_type) {
            if old_type == GROUP {
                return Err(bad("Team of type Group cannot be updated"));
            }
            if team_type == GROUP && old.is_some_and(|o| o["children"].as_array().is_some_and(|c| !c.is_empty())) {
                return Err(bad("A team with children cannot be updated to type Group"));
            }
        }
        let rule = TEAM_RULES.iter().find(|r| r.team_type == team_type).ok_or_else(|| bad(format!("teamType must be one of {TEAM_TYPES:?}")))?;
        let parents = self.teams_listed(body.get("parents")).await?;
        if team_type == ORGANIZATION && !parents.is_empty() {
            return Err(bad("Team of type Organization can't have a parent team"));
        }
        if rule.single_parent && parents.len() > 1 {
            return Err(bad(format!("Team of type {team_type} can have only 1 parents")));
        }
        if let Some(parent) = parents.iter().find(|p| !rule.parents.contains(&type_of(p))) {
            return Err(bad(format!("Team {} of type {} can't be of parent of team {name} of type {team_type}", parent["name"].as_str().unwrap_or_default(), type_of(parent))));
        }
        let children = self.teams_listed(body.get("children")).await?;
        if team_type == GROUP && !children.is_empty() {
            return Err(bad("Team of type Group can't have children of type team. Only users are allowed as part of the team"));
        }
        if let Some(child) = children.iter().find(|c| !rule.children.contains(&type_of(c))) {
            return Err(bad(format!("Team {name} of type {team_type} can't have child team {} of type {}", child["name"].as_str().unwrap_or_default(), type_of(child))));
        }
        Ok(())
    }

    /// The teams a `parents` or `children` field lists (references or ids), as stored.
    async fn teams_listed(&self, listed: Option<&Value>) -> Result<Vec<Value>> {
        let mut teams = vec![];
        for item in listed.and_then(Value::as_array).into_iter().flatten() {
            let id = item["id"].as_str().or(item.as_str()).unwrap_or_default();
            let row = self.store().entity_by_id(TEAM.name, id).await?.ok_or_else(|| not_found(TEAM.name, id))?;
            teams.push(self.entity_of(&row)?);
        }
        Ok(teams)
    }
}

fn type_of(team: &Value) -> &str {
    team["teamType"].as_str().unwrap_or_default()
}

const GROUP: &str = "Group";

/// Which team types a team of one type may have as parents and as children.
struct TeamRule {
    team_type: &'static str,
    parents: &'static [&'static str],
    single_parent: bool,
    children: &'static [&'static str],
}

const TEAM_RULES: &[TeamRule] = &[
    TeamRule { team_type: ORGANIZATION, parents: &[], single_parent: false, children: &["BusinessUnit", "Division", "Department", GROUP] },
    TeamRule { team_type: "BusinessUnit", parents: &["BusinessUnit", ORGANIZATION], single_parent: true, children: &["BusinessUnit", "Division", "Department", GROUP] },
    TeamRule { team_type: "Division", parents: &["Division", "BusinessUnit", ORGANIZATION], single_parent: true, children: &["Division", "Department", GROUP] },
    TeamRule { team_type: "Department", parents: &["Department", "Division", "BusinessUnit", ORGANIZATION], single_parent: false, children: &["Department", GROUP] },
    TeamRule { team_type: GROUP, parents: &["Department", "Division", "BusinessUnit", ORGANIZATION], single_parent: false, children: &[] },
];

const TEAM_TYPES: &[&str] = &["Group", "Department", "Division", "BusinessUnit", "Organization"];

fn check_team(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    one_of("teamType", body.get("teamType").unwrap_or(&Value::Null), TEAM_TYPES)?;
    if let Some(v) = body.get("externalId") {
        string_field("externalId", v)?;
    }
    Ok(())
}

/// Rules: checked and normalised as OpenMetadata stores them (see `policy::normalise_rules`).
fn check_policy(fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    normalise_rules(fqn, body).map(|_| ())
}

/// A role needs at least one policy.
fn check_role(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    match body.get("policies").and_then(Value::as_array) {
        Some(policies) if !policies.is_empty() => Ok(()),
        _ => Err(bad("At least one policy is required in a role")),
    }
}

impl Catalog {
    /// The names a policy's conditions give name-taking functions must exist (OpenMetadata
    /// evaluates each condition once when the policy is written): tags for `matchAllTags` and
    /// `matchAnyTag`, teams for `inAnyTeam`, roles for `hasAnyRole`.
    pub(crate) async fn check_condition_names(&self, body: &Map<String, Value>) -> Result<()> {
        for rule in body.get("rules").and_then(Value::as_array).into_iter().flatten() {
            let Some(text) = rule["condition"].as_str().filter(|c| !c.trim().is_empty()) else { continue };
            let condition = Condition::parse(text).map_err(|e| bad(e.to_string()))?;
            for (function, names) in condition.validate().map_err(|e| bad(e.to_string()))? {
                let kind = match function {
                    Function::MatchAllTags | Function::MatchAnyTag => &TAG,
                    Function::InAnyTeam => &TEAM,
                    Function::HasAnyRole => &ROLE,
                    _ => continue,
                };
                for name in names {
                    let fqn = if kind.name == TAG.name { name.clone() } else { quote(&name) };
                    if self.store().entity_by_fqn(kind.name, &fqn).await?.is_none_or(|row| row.deleted) {
                        return Err(bad(format!("Failed to evaluate - {} instance for {} not found", kind.name, shown(&name))));
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks a condition as `GET /api/v1/policies/validation/condition/{expression}` does:
    /// `EditAll` on policies, then syntax, functions and the names they are given.
    pub async fn validate_condition(&self, actor: Actor<'_>, expression: &str) -> Result<()> {
        self.authorize(actor, &[Operation::EditAll], &Target::of_type(POLICY.name)).await?;
        let mut body = Map::new();
        body.insert("rules".into(), json!([{"condition": expression}]));
        self.check_condition_names(&body).await
    }
}

/// OpenMetadata 1.6's seeded policies and roles, and the Organization's default role and policy.
const ACCESS_SEED: &str = include_str!("seed/access.json");
/// OpenMetadata 1.6's classifications and tags (its `json/data/tags/*.json`).
const CLASSIFICATION_SEED: &str = include_str!("seed/classifications.json");
/// Settings flag: the Organization got its default role and policy once; an admin may remove
/// them afterwards and a restart does not bring them back.
const ORGANIZATION_SEEDED: &str = "seed.organization-access";

impl Catalog {
    /// Seeds OpenMetadata's policies and roles that do not exist yet (system-provided, not
    /// deletable); roles created empty by earlier versions get their policies; the
    /// Organization gets `DataConsumer` as default role and `OrganizationPolicy`, once. Safe
    /// when replicas start together.
    pub async fn seed_access(&self) -> Result<()> {
        let seed: Value = serde_json::from_str(ACCESS_SEED).map_err(|e| CatalogError::Internal(format!("access seed: {e}")))?;
        for policy in seed["policies"].as_array().into_iter().flatten() {
            self.seed_entity(&POLICIES, policy, None).await?;
        }
        for role in seed["roles"].as_array().into_iter().flatten() {
            let stored = self.seed_entity(&ROLES, role, None).await?;
            if stored["policies"].as_array().is_none_or(Vec::is_empty) {
                let policies = self.names_to_references(&POLICY, &role["policies"]).await?;
                self.update(&ROLE, &stored, with_field(&stored, "policies", policies), None, Origin::SYSTEM).await?;
            }
        }
        if self.store().get_setting(ORGANIZATION_SEEDED).await?.is_none() {
            let org = self.ensure_organization().await?;
            let default_roles = self.names_to_references(&ROLE, &seed["organization"]["defaultRoles"]).await?;
            let policies = self.names_to_references(&POLICY, &seed["organization"]["policies"]).await?;
            let mut new = with_field(&org, "defaultRoles", default_roles);
            new.insert("policies".into(), policies);
            self.update(&TEAM, &org, new, None, Origin::SYSTEM).await?;
            self.store().put_setting(ORGANIZATION_SEEDED, "true").await?;
        }
        Ok(())
    }

    /// Seeds OpenMetadata 1.6's classifications and their tags (PII, PersonalData, Tier,
    /// Certification) that do not exist yet, as system-provided; assets ingested with them
    /// name them (`PII.Sensitive`, `Tier.Tier1`).
    pub async fn seed_classifications(&self) -> Result<()> {
        let seed: Value = serde_json::from_str(CLASSIFICATION_SEED).map_err(|e| CatalogError::Internal(format!("classification seed: {e}")))?;
        for family in seed.as_array().into_iter().flatten() {
            let classification = self.seed_entity(&CLASSIFICATIONS, &family["classification"], None).await?;
            let fqn = classification["fullyQualifiedName"].as_str().unwrap_or_default();
            for tag in family["tags"].as_array().into_iter().flatten() {
                let mut tag = tag.clone();
                tag["classification"] = json!(fqn);
                self.seed_entity(&TAGS, &tag, Some(fqn)).await?;
            }
        }
        Ok(())
    }

    /// A seeded entity (a policy, role, classification or tag), created by the system unless
    /// one of that FQN exists (also deleted); not deletable where the type says so.
    async fn seed_entity(&self, t: &'static AssetType, seed: &Value, container: Option<&str>) -> Result<Value> {
        let name = quote(seed["name"].as_str().unwrap_or_default());
        let fqn = container.map_or(name.clone(), |c| format!("{c}.{name}"));
        if let Ok(existing) = self.get_by_name(t.kind, &fqn, Include::All).await {
            return Ok(existing);
        }
        let mut request = seed.clone();
        request["provider"] = json!("system");
        let mut draft = self.asset_draft(t, request).await?;
        if t.entity_fields.contains(&"allowDelete") {
            draft.body.insert("allowDelete".into(), json!(false));
        }
        match self.create(draft, Origin::SYSTEM).await {
            // Another replica seeded it first.
            Err(CatalogError::AlreadyExists) => self.get_by_name(t.kind, &fqn, Include::All).await,
            other => other,
        }
    }

    async fn names_to_references(&self, kind: &EntityKind, names: &Value) -> Result<Value> {
        let mut refs = vec![];
        for name in names.as_array().into_iter().flatten().filter_map(Value::as_str) {
            refs.push(self.reference(kind, &self.get_by_name(kind, &quote(name), Include::NonDeleted).await?));
        }
        Ok(Value::Array(refs))
    }
}

fn with_field(entity: &Value, field: &str, value: Value) -> Map<String, Value> {
    let mut new = entity.as_object().cloned().unwrap_or_default();
    new.insert(field.into(), value);
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CatalogError;

    #[test]
    fn teams_need_a_known_type() {
        assert!(check_team("t", json!({"teamType": "Department"}).as_object_mut().unwrap()).is_ok());
        assert!(check_team("t", json!({"teamType": "Squad"}).as_object_mut().unwrap()).is_err());
        assert!(check_team("t", json!({}).as_object_mut().unwrap()).is_err());
    }

    #[test]
    fn fields_selection_is_checked_against_the_entity() {
        assert_eq!(TAGS.selected_fields(Some("*")).unwrap().omitted, Vec::<&str>::new());
        assert!(TAGS.selected_fields(None).unwrap().omitted.contains(&"children"));
        let some = TAGS.selected_fields(Some("dataProducts, children")).unwrap();
        assert!(!some.omitted.contains(&"children"));
        assert_eq!(some.lists, ["children", "dataProducts"], "requested lists are always answered");
        assert_eq!(some.apply(json!({"name": "t", "children": null}))["children"], json!([]));
        assert!(matches!(TAGS.selected_fields(Some("children,nope")), Err(CatalogError::BadRequest(m)) if m == "Invalid field name nope"));
        assert!(matches!(TAGS.selected_fields(Some("owners")), Err(CatalogError::BadRequest(_))), "a 1.6 tag has no owners");
        assert_eq!(CLASSIFICATIONS.content_types(), ["tag"]);
    }
}
