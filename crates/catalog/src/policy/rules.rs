//! Policies and their rules as OpenMetadata defines them: the checks and normalisation applied
//! on every policy write (`PolicyRepository.validateRules`), and the compiled form the
//! evaluator reads (conditions parsed once, operations as enums).

use serde_json::{Map, Value, json};

use super::condition::{Condition, Function};
use super::operation::Operation;
use crate::data::{array_of, bad, known_fields, one_of, shown, string_field};
use crate::error::Result;
use crate::fqn::{EntityName, quote};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A rule ready for evaluation.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub description: Option<String>,
    pub effect: Effect,
    pub operations: Vec<Operation>,
    /// Resource names; after normalisation `["All"]` stands for every resource.
    pub resources: Vec<String>,
    pub condition: Option<Condition>,
}

/// A policy ready for evaluation; disabled or deleted policies are never compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub rules: Vec<Rule>,
    /// Whether a condition calls `matchTeam()`, which needs the owners' teams read.
    pub match_team: bool,
}

const RULE_FIELDS: &[&str] = &["name", "fullyQualifiedName", "description", "effect", "operations", "resources", "condition"];

impl Rule {
    /// Whether the rule is about this resource: its first resource is `All` (any case), or the
    /// resource is listed (case-sensitive, as OpenMetadata compares).
    pub fn applies_to(&self, resource: &str) -> bool {
        self.resources.first().is_some_and(|r| r.eq_ignore_ascii_case("all")) || self.resources.iter().any(|r| r == resource)
    }

    /// The operations of `requested` this rule covers.
    pub fn covers(&self, requested: Operation) -> bool {
        self.operations.iter().any(|op| op.covers(requested))
    }

    /// The rule as OpenMetadata shows it in a permission answer (no FQN).
    pub fn to_json(&self) -> Value {
        let mut rule = json!({
            "name": self.name,
            "effect": if self.effect == Effect::Allow { "allow" } else { "deny" },
            "operations": self.operations.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
            "resources": self.resources,
        });
        if let Some(d) = &self.description {
            rule["description"] = json!(d);
        }
        if let Some(c) = &self.condition {
            rule["condition"] = json!(c.text());
        }
        rule
    }

    /// Reads a stored (already normalised) rule.
    fn compile(rule: &Value) -> Option<Rule> {
        let effect = match rule["effect"].as_str()? {
            "allow" => Effect::Allow,
            "deny" => Effect::Deny,
            _ => return None,
        };
        let operations = rule["operations"].as_array()?.iter().filter_map(|o| o.as_str().and_then(Operation::parse)).collect();
        let resources = rule["resources"].as_array()?.iter().filter_map(|r| r.as_str().map(str::to_string)).collect();
        // A stored condition that does not parse (written before conditions were checked)
        // fails closed: an allow rule then matches nothing, a deny rule everything.
        let condition = rule["condition"]
            .as_str()
            .filter(|c| !c.trim().is_empty())
            .map(|text| Condition::parse(text).ok().filter(|c| c.validate().is_ok()).unwrap_or_else(|| constant(effect == Effect::Deny)));
        Some(Rule { name: rule["name"].as_str()?.to_string(), description: rule["description"].as_str().map(str::to_string), effect, operations, resources, condition })
    }
}

fn constant(value: bool) -> Condition {
    Condition::parse(if value { "true" } else { "false" }).unwrap_or_else(|_| unreachable!("`true` and `false` parse"))
}

impl Policy {
    /// The policy a stored entity holds, or `None` when it does not apply (disabled, deleted).
    pub fn compile(entity: &Value) -> Option<Policy> {
        if entity["enabled"] == json!(false) || entity["deleted"] == json!(true) || entity["disabled"] == json!(true) {
            return None;
        }
        let rules: Vec<Rule> = entity["rules"].as_array()?.iter().filter_map(Rule::compile).collect();
        let match_team = rules.iter().any(|r| r.condition.as_ref().is_some_and(|c| c.calls(Function::MatchTeam)));
        Some(Policy { id: entity["id"].as_str()?.to_string(), name: entity["name"].as_str()?.to_string(), rules, match_team })
    }
}

/// Sorts and collapses a rule's resources: any `all` makes them `["All"]`, else they are
/// sorted case-insensitively.
fn normalise_resources(resources: &mut Vec<String>) {
    if resources.iter().any(|r| r.eq_ignore_ascii_case("all")) {
        *resources = vec!["All".into()];
    } else {
        resources.sort_by_key(|r| r.to_lowercase());
        resources.dedup();
    }
}

/// Sorts operations by name, as OpenMetadata stores them; `ViewAll` drops the other `View*`,
/// `EditAll` the other `Edit*` (they are implied).
fn normalise_operations(operations: &mut Vec<Operation>) {
    operations.sort_by_key(|op| op.as_str());
    operations.dedup();
    let view_all = operations.contains(&Operation::ViewAll);
    let edit_all = operations.contains(&Operation::EditAll);
    let implied = |op: &Operation| (view_all && op.is_view() && *op != Operation::ViewAll) || (edit_all && op.is_edit() && *op != Operation::EditAll);
    operations.retain(|op| !implied(op));
}

/// The names a policy's conditions pass to name-taking functions, which must exist: tags for
/// `matchAllTags`/`matchAnyTag`, teams for `inAnyTeam`, roles for `hasAnyRole`.
pub type NamedInConditions = Vec<(Function, Vec<String>)>;

/// Checks and normalises the rules of a policy body as OpenMetadata does on every write: at
/// least one rule; each rule's shape, effect, operations (known names), resources and condition
/// (parsed and checked); unique names; each rule's FQN under the policy; rules sorted by name.
pub fn normalise_rules(policy_fqn: &str, body: &mut Map<String, Value>) -> Result<NamedInConditions> {
    let rules = array_of("rules", body.get("rules").ok_or_else(|| bad("rules must not be null"))?)?;
    if rules.is_empty() {
        return Err(bad("At least one rule is required in a policy"));
    }
    let mut names: Vec<String> = vec![];
    let mut checked = vec![];
    let mut named = vec![];
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
        one_of(&format!("{path}.effect"), rule.get("effect").unwrap_or(&Value::Null), &["allow", "deny"])?;
        let mut operations = vec![];
        for operation in array_of(&format!("{path}.operations"), rule.get("operations").unwrap_or(&Value::Null))? {
            let text = operation.as_str().unwrap_or_default();
            operations.push(Operation::parse(text).ok_or_else(|| bad(format!("{path}.operations: unknown operation \"{}\"", shown(text))))?);
        }
        let mut resources = vec![];
        for resource in array_of(&format!("{path}.resources"), rule.get("resources").unwrap_or(&Value::Null))? {
            string_field(&format!("{path}.resources"), resource)?;
            resources.push(resource.as_str().unwrap_or_default().to_string());
        }
        if operations.is_empty() || resources.is_empty() {
            return Err(bad(format!("{path}: a rule needs at least one operation and one resource")));
        }
        normalise_operations(&mut operations);
        normalise_resources(&mut resources);
        if let Some(v) = rule.get("description") {
            string_field(&format!("{path}.description"), v)?;
        }
        if let Some(v) = rule.get("condition") {
            string_field(&format!("{path}.condition"), v)?;
            let text = v.as_str().unwrap_or_default();
            if !text.trim().is_empty() {
                let condition = Condition::parse(text).map_err(|e| bad(e.to_string()))?;
                named.extend(condition.validate().map_err(|e| bad(e.to_string()))?);
            }
        }
        rule.insert("operations".into(), json!(operations.iter().map(|o| o.as_str()).collect::<Vec<_>>()));
        rule.insert("resources".into(), json!(resources));
        rule.insert("name".into(), json!(name));
        rule.insert("fullyQualifiedName".into(), json!(format!("{policy_fqn}.{}", quote(&name))));
        checked.push(Value::Object(rule));
    }
    checked.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    body.insert("rules".into(), Value::Array(checked));
    Ok(named)
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

    fn normalised(rules: Value) -> Result<Value> {
        let mut body = json!({"rules": rules});
        normalise_rules("Readers", body.as_object_mut().unwrap())?;
        Ok(body["rules"].clone())
    }

    #[test]
    fn rules_are_normalised_as_openmetadata_stores_them() {
        let rules = normalised(json!([
            rule(json!({"name": "z", "resources": ["table", "All"], "operations": ["ViewAll", "ViewBasic", "EditAll", "EditTags"]})),
            rule(json!({"name": "no.deletes", "effect": "deny", "operations": ["Delete", "All"], "resources": ["table", "Database", "bot"], "condition": "isOwner()"})),
        ]))
        .unwrap();
        assert_eq!(rules[0]["name"], json!("no.deletes"), "sorted by name");
        assert_eq!(rules[0]["fullyQualifiedName"], json!("Readers.\"no.deletes\""));
        assert_eq!(rules[0]["resources"], json!(["bot", "Database", "table"]), "sorted case-insensitively");
        assert_eq!(rules[0]["operations"], json!(["All", "Delete"]), "All does not collapse");
        assert_eq!(rules[1]["resources"], json!(["All"]));
        assert_eq!(rules[1]["operations"], json!(["EditAll", "ViewAll"]));
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        for (rules, message) in [
            (json!([]), "At least one rule is required in a policy"),
            (json!([rule(json!({"effect": "maybe"}))]), "rules.read all.effect must be one of allow, deny; got \"maybe\""),
            (json!([rule(json!({"operations": ["Juggle"]}))]), "rules.read all.operations: unknown operation \"Juggle\""),
            (json!([rule(json!({"resources": "all"}))]), "rules.read all.resources must be an array"),
            (json!([rule(json!({"surprise": true}))]), "Unrecognized field \"surprise\" in Rule"),
            (json!([rule(json!({})), rule(json!({"name": "READ ALL"}))]), "Rule name READ ALL is repeated"),
            (json!([rule(json!({"condition": "isOwner("}))]), "Failed to parse - EL1041E: Unexpectedly ran out of input at position 8"),
            (json!([rule(json!({"condition": "fooBar()"}))]), "Failed to evaluate - EL1004E: Method call: Method fooBar() cannot be found"),
            (json!({"name": "not a list"}), "rules must be an array"),
        ] {
            match normalised(rules.clone()) {
                Err(CatalogError::BadRequest(m)) => assert_eq!(m, message, "{rules}"),
                other => panic!("{rules} should be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn stored_policies_compile_and_broken_conditions_fail_closed() {
        let policy = json!({"id": "p1", "name": "P", "rules": [
            {"name": "a", "effect": "allow", "operations": ["EditAll"], "resources": ["table"], "condition": "isOwner()"},
            {"name": "b", "effect": "deny", "operations": ["Delete"], "resources": ["All"], "condition": "this is not spel"},
        ]});
        let compiled = Policy::compile(&policy).unwrap();
        assert!(compiled.rules[0].applies_to("table") && !compiled.rules[0].applies_to("Table") && compiled.rules[1].applies_to("anything"));
        assert!(compiled.rules[0].covers(Operation::EditTags) && !compiled.rules[0].covers(Operation::Delete));
        assert_eq!(compiled.rules[1].condition.as_ref().unwrap().text(), "true", "a broken deny condition denies");
        assert!(Policy::compile(&json!({"id": "p", "name": "P", "enabled": false, "rules": []})).is_none());
        assert!(!compiled.match_team);
        let fence = json!({"id": "t", "name": "T", "rules": [{"name": "r", "effect": "deny", "operations": ["All"], "resources": ["All"], "condition": "!matchTeam()"}]});
        assert!(Policy::compile(&fence).unwrap().match_team);
    }
}
