//! Governance entities served by the generic asset operations: teams, roles, policies (with
//! their rules), classifications and tags. A tag lives in a classification (`PII.Sensitive`)
//! or under a parent tag (`PII.Sensitive.Email`); roles name their policies by FQN, teams their
//! users, roles, parent and child teams and policies by id.

use serde_json::{Map, Value, json};

use crate::data::{AssetType, Reference, array_of, bad, known_fields, one_of, shown, string_field};
use crate::engine::Catalog;
use crate::error::{Result, not_found};
use crate::fqn::{EntityName, quote};
use crate::kinds::{CLASSIFICATION, POLICY, ROLE, TAG, TEAM, USER};

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
    check: None,
    filters: &[],
};

pub static POLICIES: AssetType = AssetType {
    kind: &POLICY,
    create_fields: &["name", "displayName", "description", "owners", "rules", "enabled", "provider", "location", "extension"],
    required: &["name", "rules"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "href", "owners", "version", "updatedAt", "updatedBy", "changeDescription",
        "incrementalChangeDescription", "enabled", "location", "rules", "teams", "roles", "followers", "deleted", "provider", "allowDelete", "allowEdit", "disabled",
        "domains", "extension",
    ],
    containers: &[],
    inherited: &[],
    references: &[],
    optional_fields: &["owners", "location", "teams", "roles", "followers", "domains", "extension"],
    check: Some(check_policy),
    filters: &[],
};

pub static CLASSIFICATIONS: AssetType = AssetType {
    kind: &CLASSIFICATION,
    create_fields: &["name", "displayName", "description", "provider", "mutuallyExclusive", "owners", "extension"],
    required: &["name", "description"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "termCount", "usageCount", "version", "updatedAt", "updatedBy", "href", "changeDescription",
        "incrementalChangeDescription", "deleted", "provider", "disabled", "mutuallyExclusive", "owners", "reviewers", "domain", "dataProducts", "extension", "votes",
    ],
    containers: &[],
    inherited: &[],
    references: &[],
    optional_fields: &["owners", "termCount", "usageCount", "reviewers", "domain", "dataProducts", "extension", "votes"],
    check: None,
    filters: &[],
};

pub static TAGS: AssetType = AssetType {
    kind: &TAG,
    create_fields: &[
        "classification", "parent", "name", "displayName", "description", "style", "associatedTags", "provider", "mutuallyExclusive", "owners", "extension",
    ],
    required: &["name", "description", "classification"],
    entity_fields: &[
        "id", "name", "displayName", "fullyQualifiedName", "description", "style", "classification", "parent", "children", "version", "updatedAt", "updatedBy", "href",
        "usageCount", "deprecated", "deleted", "provider", "disabled", "mutuallyExclusive", "changeDescription", "incrementalChangeDescription", "owners", "reviewers",
        "domain", "dataProducts", "extension", "votes", "associatedTags",
    ],
    containers: &[("parent", &TAG), ("classification", &CLASSIFICATION)],
    inherited: &["classification"],
    references: &[],
    optional_fields: &["owners", "children", "usageCount", "reviewers", "domain", "dataProducts", "extension", "votes"],
    check: None,
    filters: &["parent", "classification"],
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
const RULE_EFFECTS: &[&str] = &["allow", "deny"];
const RULE_FIELDS: &[&str] = &["name", "fullyQualifiedName", "description", "effect", "operations", "resources", "condition"];
/// OpenMetadata's `MetadataOperation`s.
const OPERATIONS: &[&str] = &[
    "All", "Create", "Delete", "ViewAll", "ViewBasic", "ViewUsage", "ViewTests", "ViewQueries", "ViewDataProfile", "ViewProfilerGlobalConfiguration", "ViewSampleData",
    "ViewTestCaseFailedRowsSample", "EditAll", "EditCustomFields", "EditDataProfile", "EditDescription", "EditDisplayName", "EditLineage", "EditEntityRelationship",
    "EditPolicy", "EditOwners", "EditQueries", "EditReviewers", "EditRole", "EditSampleData", "EditStatus", "EditTags", "EditGlossaryTerms", "EditTeams", "EditTier",
    "EditCertification", "EditTests", "EditUsage", "EditUsers", "EditLifeCycle", "EditKnowledgePanel", "EditPage", "EditIngestionPipelineStatus",
    "DeleteTestCaseFailedRowsSample", "Deploy", "Trigger", "Kill", "GenerateToken", "CreateIngestionPipelineAutomator",
];

fn check_team(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    one_of("teamType", body.get("teamType").unwrap_or(&Value::Null), TEAM_TYPES)?;
    if let Some(v) = body.get("externalId") {
        string_field("externalId", v)?;
    }
    Ok(())
}

/// Rules: OpenMetadata's `Rule` shape, unique names, each with its FQN under the policy.
fn check_policy(fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    let rules = array_of("rules", body.get("rules").ok_or_else(|| bad("rules must not be null"))?)?;
    let mut names: Vec<String> = vec![];
    let mut checked = vec![];
    for rule in rules {
        let mut rule = rule.as_object().cloned().ok_or_else(|| bad("rules must hold Rule objects"))?;
        rule.retain(|_, v| !v.is_null());
        known_fields("Rule", &rule, RULE_FIELDS)?;
        let name = EntityName::parse(rule.get("name").and_then(Value::as_str).ok_or_else(|| bad("rules: every rule needs a name"))?)?.as_str().to_string();
        if names.contains(&name.to_lowercase()) {
            return Err(bad(format!("Rule name {} is repeated", shown(&name))));
        }
        names.push(name.to_lowercase());
        let path = format!("rules.{}", shown(&name));
        one_of(&format!("{path}.effect"), rule.get("effect").unwrap_or(&Value::Null), RULE_EFFECTS)?;
        let operations = array_of(&format!("{path}.operations"), rule.get("operations").unwrap_or(&Value::Null))?;
        for operation in operations {
            one_of(&format!("{path}.operations"), operation, OPERATIONS)?;
        }
        let resources = array_of(&format!("{path}.resources"), rule.get("resources").unwrap_or(&Value::Null))?;
        for resource in resources {
            string_field(&format!("{path}.resources"), resource)?;
        }
        for f in ["description", "condition"] {
            if let Some(v) = rule.get(f) {
                string_field(&format!("{path}.{f}"), v)?;
            }
        }
        rule.insert("fullyQualifiedName".into(), json!(format!("{fqn}.{}", quote(&name))));
        checked.push(Value::Object(rule));
    }
    body.insert("rules".into(), Value::Array(checked));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CatalogError;

    fn rule(overrides: Value) -> Value {
        let mut r = json!({"name": "read all", "effect": "allow", "operations": ["ViewAll"], "resources": ["all"]});
        for (k, v) in overrides.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    }

    #[test]
    fn policy_rules_get_fqns_and_are_checked() {
        let mut body = json!({"rules": [rule(json!({})), rule(json!({"name": "no.deletes", "effect": "deny", "operations": ["Delete"], "condition": "isOwner()"}))]});
        check_policy("Readers", body.as_object_mut().unwrap()).unwrap();
        assert_eq!(body["rules"][0]["fullyQualifiedName"], json!("Readers.read all"));
        assert_eq!(body["rules"][1]["fullyQualifiedName"], json!("Readers.\"no.deletes\""));
        for bad_rules in [
            json!([rule(json!({"effect": "maybe"}))]),
            json!([rule(json!({"operations": ["Juggle"]}))]),
            json!([rule(json!({"resources": "all"}))]),
            json!([rule(json!({"surprise": true}))]),
            json!([rule(json!({"name": null}))]),
            json!([rule(json!({})), rule(json!({"name": "READ ALL"}))]),
            json!({"name": "not a list"}),
        ] {
            let mut body = json!({"rules": bad_rules});
            assert!(matches!(check_policy("p", body.as_object_mut().unwrap()), Err(CatalogError::BadRequest(_))), "{bad_rules}");
        }
    }

    #[test]
    fn teams_need_a_known_type() {
        assert!(check_team("t", json!({"teamType": "Department"}).as_object_mut().unwrap()).is_ok());
        assert!(check_team("t", json!({"teamType": "Squad"}).as_object_mut().unwrap()).is_err());
        assert!(check_team("t", json!({}).as_object_mut().unwrap()).is_err());
    }

    #[test]
    fn fields_selection_is_checked_against_the_entity() {
        assert_eq!(TAGS.omitted_fields(Some("*")).unwrap(), Vec::<&str>::new());
        assert!(TAGS.omitted_fields(None).unwrap().contains(&"owners"));
        assert!(!TAGS.omitted_fields(Some("owners, children")).unwrap().contains(&"owners"));
        assert!(matches!(TAGS.omitted_fields(Some("owners,nope")), Err(CatalogError::BadRequest(m)) if m == "Invalid field name nope"));
        assert_eq!(CLASSIFICATIONS.content_types(), ["tag"]);
    }
}
