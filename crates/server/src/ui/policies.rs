//! Policies and their rules. Whoever may read policies sees them; whoever the catalog lets
//! write policies (administrators: a policy write changes what someone may do) creates a
//! policy with its first rule, adds, edits and removes rules, and deletes policies that are not
//! the system's. A condition is checked on the form as
//! `GET /api/v1/policies/validation/condition/{expression}` checks it
//! ([`ferrometa_catalog::Catalog::validate_condition`]) and again by the write; a refused form
//! comes back with the reason (OpenMetadata's `Failed to parse - …`, `Failed to evaluate - …`)
//! and what was typed.

use axum::extract::{Path, Query};
use axum::response::Response;
use ferrometa_catalog::governance::POLICIES;
use ferrometa_catalog::kinds::{POLICY, ROLE};
use ferrometa_catalog::policy::{self, FUNCTIONS, Operation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::form::FormData;
use super::html::{checkboxes, confirmed_button, crumbs, danger_zone, esc, facts, link_list, list_table, query_value, see_other, select, text_area, text_input};
use super::{Viewer, failed, href, ids_of, non_blank, patch_of, provider, refusal_notice, status_of, text};
use crate::error::ApiError;

/// What the pages read of a policy: its rules, which need `ViewAll` as in the API.
const FIELDS: &str = "rules";

/// A rule as the rule form sends it (and shows it again).
#[derive(Debug, Default, PartialEq)]
pub struct RuleForm {
    pub name: String,
    pub effect: String,
    pub operations: Vec<String>,
    pub resources: Vec<String>,
    pub condition: String,
    pub description: String,
}

impl RuleForm {
    pub fn read(form: &FormData) -> RuleForm {
        RuleForm {
            name: form.get("rule_name").to_string(),
            effect: form.get("effect").to_string(),
            operations: form.all("operations"),
            resources: form.all("resources"),
            condition: form.get("condition").to_string(),
            description: form.get("rule_description").to_string(),
        }
    }

    /// A stored rule, to edit.
    pub fn of_rule(rule: &Value) -> RuleForm {
        let strings = |field: &str| -> Vec<String> { rule[field].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect() };
        // Policies store `All` for every resource; the form's choice is the registry's `all`.
        let resources = strings("resources").into_iter().map(|r| if r.eq_ignore_ascii_case(policy::ALL_RESOURCES) { policy::ALL_RESOURCES.to_string() } else { r }).collect();
        RuleForm {
            name: text(rule, "name").to_string(),
            effect: text(rule, "effect").to_string(),
            operations: strings("operations"),
            resources,
            condition: text(rule, "condition").to_string(),
            description: text(rule, "description").to_string(),
        }
    }

    /// The condition to check, if any: a blank one means none.
    pub fn condition(&self) -> Option<&str> {
        non_blank(&self.condition)
    }

    /// The rule as a policy write takes it (the write checks and normalises it).
    pub fn to_json(&self) -> Value {
        let mut rule = json!({"name": self.name.trim(), "effect": self.effect, "operations": self.operations, "resources": self.resources});
        if let Some(condition) = self.condition() {
            rule["condition"] = json!(condition);
        }
        if let Some(description) = non_blank(&self.description) {
            rule["description"] = json!(description);
        }
        rule
    }

    /// The form's fields: name, effect, operations (all 43), resources (the registry's, and any
    /// other the rule names, so an edit keeps it), condition and description. `refused_by` is
    /// the id of the notice saying why the condition was refused, if it was.
    fn fields(&self, refused_by: Option<&str>) -> String {
        let operations: Vec<(String, String)> = Operation::ALL.iter().map(|o| (o.as_str().to_string(), o.as_str().to_string())).collect();
        let mut resources: Vec<(String, String)> = policy::resources().iter().map(|r| (r.name.to_string(), r.name.to_string())).collect();
        for extra in &self.resources {
            if !resources.iter().any(|(value, _)| value == extra) {
                resources.push((extra.clone(), extra.clone()));
            }
        }
        let functions: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        let invalid = refused_by.map(|id| format!(r#" aria-invalid="true" aria-describedby="{id} condition-help""#)).unwrap_or_else(|| r#" aria-describedby="condition-help""#.into());
        format!(
            r#"{name}{effect}{operations}{resources}<label for="rule-condition">Condition</label><input id="rule-condition" name="condition" value="{condition}" maxlength="4000"{invalid}>
<p class="muted" id="condition-help">Optional. A SpEL expression of the functions {functions}, e.g. <code>isOwner() || noOwner()</code>.</p>{description}"#,
            name = text_input("rule-name", "rule_name", "Rule name", &self.name, true),
            effect = select("rule-effect", "effect", "Effect", &[("allow", "allow"), ("deny", "deny")], &self.effect),
            operations = checkboxes("rule-operations", "operations", "Operations", &operations, &self.operations),
            resources = checkboxes("rule-resources", "resources", "Resources", &resources, &self.resources),
            condition = esc(&self.condition),
            functions = esc(&functions.join(", ")),
            description = text_area("rule-description", "rule_description", "Rule description", &self.description),
        )
    }
}

/// The rules of a policy with `rule` added, or in place of the rule named `replacing`.
fn rules_with(rules: &[Value], replacing: &str, rule: Value) -> Result<Vec<Value>, ApiError> {
    let mut rules = rules.to_vec();
    if replacing.is_empty() {
        rules.push(rule);
        return Ok(rules);
    }
    let at = rules.iter().position(|r| r["name"].as_str() == Some(replacing)).ok_or_else(|| gone(replacing))?;
    rules[at] = rule;
    Ok(rules)
}

/// The rules of a policy without the one named `name`.
fn rules_without(rules: &[Value], name: &str) -> Result<Vec<Value>, ApiError> {
    if !rules.iter().any(|r| r["name"].as_str() == Some(name)) {
        return Err(gone(name));
    }
    Ok(rules.iter().filter(|r| r["name"].as_str() != Some(name)).cloned().collect())
}

fn gone(rule: &str) -> ApiError {
    ApiError::not_found(format!("The rule {rule} is no longer in this policy."))
}

/// The id of the notice of a refusal that is about a rule's condition (OpenMetadata's
/// `Failed to parse - …` and `Failed to evaluate - …`), for the condition field to point at.
fn condition_refused<'a>(notice_id: &'a str, refusal: Option<&ApiError>) -> Option<&'a str> {
    refusal.filter(|e| e.message.starts_with("Failed to parse - ") || e.message.starts_with("Failed to evaluate - ")).map(|_| notice_id)
}

fn rules_of(policy: &Value) -> &[Value] {
    policy["rules"].as_array().map(Vec::as_slice).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// the list
// ---------------------------------------------------------------------------------------------

pub async fn list(v: Viewer) -> Response {
    render_list(&v, &FormData::default(), None).await
}

async fn render_list(v: &Viewer, typed: &FormData, refusal: Option<&ApiError>) -> Response {
    let policies = match v.list(&POLICY, Some(FIELDS)).await {
        Ok(list) => list,
        Err(e) => return failed("Policies", "policy_list_failed", e),
    };
    let rows: String = policies.iter().map(policy_row).collect();
    let mut body = list_table("policies", &["Policy", "Description", "Rules", "Provider"], &rows);
    if v.may_on_type(&POLICY, Operation::Create).await {
        body.push_str(&create_form(v, typed, refusal));
    } else {
        // A form this viewer is not offered was posted anyway: the catalog's refusal on top.
        body.insert_str(0, &refusal_notice("policy-error", refusal));
    }
    v.render_status(status_of(refusal), "Policies", &body)
}

fn policy_row(p: &Value) -> String {
    let name = text(p, "name");
    format!(
        r#"<tr data-policy="{n}"><td><a href="{href}">{n}</a></td><td>{d}</td><td>{rules}</td><td>{provider}</td></tr>"#,
        n = esc(name),
        href = esc(&href("policies", name)),
        d = esc(text(p, "description")),
        rules = rules_of(p).len(),
        provider = esc(provider(p)),
    )
}

fn create_form(v: &Viewer, typed: &FormData, refusal: Option<&ApiError>) -> String {
    format!(
        r#"<section aria-labelledby="new-policy"><h2 id="new-policy">Create a policy</h2>{error}
<form method="post" action="/policies" class="stack wide" id="policy-create-form">{csrf}{name}{description}
<h3>Its first rule</h3>{rule}
<button type="submit" id="create-policy">Create policy</button></form></section>"#,
        error = refusal_notice("policy-error", refusal),
        csrf = v.csrf_field(),
        name = text_input("policy-name", "name", "Policy name", typed.get("name"), true),
        description = text_area("policy-description", "description", "Description", typed.get("description")),
        rule = RuleForm::read(typed).fields(condition_refused("policy-error", refusal)),
    )
}

/// The condition of a rule, checked as the validation endpoint checks it.
async fn check_condition(v: &Viewer, rule: &RuleForm) -> Result<(), ApiError> {
    match rule.condition() {
        Some(condition) => Ok(v.state.catalog.validate_condition(v.actor(), condition).await?),
        None => Ok(()),
    }
}

pub async fn create(v: Viewer, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    match create_policy(&v, &form).await {
        Ok(policy) => see_other(&href("policies", text(&policy, "name"))),
        Err(e) => render_list(&v, &form, Some(&e)).await,
    }
}

async fn create_policy(v: &Viewer, form: &FormData) -> Result<Value, ApiError> {
    let rule = RuleForm::read(form);
    check_condition(v, &rule).await?;
    let mut request = json!({"name": form.get("name").trim(), "rules": [rule.to_json()]});
    if let Some(description) = non_blank(form.get("description")) {
        request["description"] = json!(description);
    }
    Ok(v.state.catalog.create_asset(v.actor(), &POLICIES, request).await?)
}

// ---------------------------------------------------------------------------------------------
// one policy
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// The rule whose form to show filled in.
    #[serde(default)]
    edit: String,
}

/// The rule form as the page shows it: what was typed (a refused form) or, without it, the
/// stored rule named `replacing` (blank: a new rule).
#[derive(Default)]
struct RuleDraft {
    typed: Option<RuleForm>,
    replacing: String,
}

/// A refused write and where its reason goes: above the rule form, or above the rules.
enum Refusal {
    Form(ApiError),
    Rules(ApiError),
}

pub async fn page(v: Viewer, Path(name): Path<String>, Query(q): Query<PageQuery>) -> Response {
    render_page(&v, &name, RuleDraft { typed: None, replacing: q.edit }, None).await
}

async fn render_page(v: &Viewer, name: &str, draft: RuleDraft, refusal: Option<Refusal>) -> Response {
    let policy = match v.read_named(&POLICY, name, Some(FIELDS)).await {
        Ok(p) => p,
        Err(e) => return failed("Policy", "policy_not_found", e),
    };
    let name = text(&policy, "name");
    let can_edit = v.may_change(&POLICY, &policy, &["rules"]).await;
    // Without the rule form (a form this viewer is not offered was posted), every refusal
    // shows above the rules.
    let (form_error, rules_error) = match &refusal {
        Some(Refusal::Form(e)) if can_edit => (Some(e), None),
        Some(Refusal::Form(e) | Refusal::Rules(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut body = crumbs(&[("/policies", "Policies")], name);
    body.push_str(&facts(
        "policy",
        &[
            ("Name", esc(name)),
            ("Display name", esc(text(&policy, "displayName"))),
            ("Description", esc(text(&policy, "description"))),
            ("Provider", esc(provider(&policy))),
            ("Enabled", if policy["enabled"] == json!(false) { "no" } else { "yes" }.to_string()),
            ("Used by roles", link_list(&roles_using(v, &policy).await, "none")),
        ],
    ));
    body.push_str(r#"<h2 id="rules-heading">Rules</h2>"#);
    body.push_str(&refusal_notice("rules-error", rules_error));
    let rows: String = rules_of(&policy).iter().enumerate().map(|(i, r)| rule_row(v, name, i, r, can_edit)).collect();
    let mut headers = vec!["Rule", "Effect", "Operations", "Resources", "Condition", "Description"];
    if can_edit {
        headers.push("Actions");
    }
    body.push_str(&list_table("rules", &headers, &rows));
    if can_edit {
        body.push_str(&rule_form(v, name, &policy, draft, form_error));
    }
    if v.may(&POLICY, &policy, Operation::Delete).await && policy["allowDelete"] != json!(false) {
        let question = format!("Delete the policy {name}? Roles and teams lose the rules it grants.");
        body.push_str(&danger_zone(&confirmed_button(&format!("{}/delete", href("policies", name)), &v.csrf_field(), &[], "delete-policy", "Delete policy", &question)));
    }
    v.render_status(status_of(form_error.or(rules_error)), &format!("Policy: {name}"), &body)
}

/// Links to the roles that grant a policy (none when roles cannot be read).
async fn roles_using(v: &Viewer, policy: &Value) -> Vec<(String, String)> {
    let id = text(policy, "id");
    let roles = v.list(&ROLE, Some("policies")).await.unwrap_or_default();
    roles.iter().filter(|r| ids_of(&r["policies"]).iter().any(|p| p == id)).map(|r| (href("roles", text(r, "name")), text(r, "name").to_string())).collect()
}

fn rule_row(v: &Viewer, policy: &str, index: usize, rule: &Value, can_edit: bool) -> String {
    let joined = |field: &str| -> String { rule[field].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ") };
    let name = text(rule, "name");
    let effect = text(rule, "effect");
    let condition = match text(rule, "condition") {
        "" => String::from(r#"<span class="muted">none</span>"#),
        c => format!("<code>{}</code>", esc(c)),
    };
    let mut row = format!(
        r#"<tr data-rule="{n}"><td>{n}</td><td><span class="badge {class}">{effect}</span></td><td>{ops}</td><td>{res}</td><td>{condition}</td><td>{d}</td>"#,
        n = esc(name),
        class = if effect == "deny" { "fail" } else { "ok" },
        effect = esc(effect),
        ops = esc(&joined("operations")),
        res = esc(&joined("resources")),
        d = esc(text(rule, "description")),
    );
    if can_edit {
        let edit = format!("{}?edit={}#rule-form-heading", href("policies", policy), query_value(name));
        let remove = confirmed_button(
            &format!("{}/rules/delete", href("policies", policy)),
            &v.csrf_field(),
            &[("rule", name)],
            &format!("remove-rule-{index}"),
            "Remove",
            &format!("Remove the rule {name}?"),
        );
        row.push_str(&format!(r#"<td class="actions"><a class="button" href="{}" id="edit-rule-{index}">Edit</a> {remove}</td>"#, esc(&edit)));
    }
    row.push_str("</tr>");
    row
}

fn rule_form(v: &Viewer, policy_name: &str, policy: &Value, draft: RuleDraft, error: Option<&ApiError>) -> String {
    let stored = rules_of(policy).iter().find(|r| !draft.replacing.is_empty() && r["name"].as_str() == Some(draft.replacing.as_str()));
    // Editing a rule that is gone (or a blank name) is adding one.
    let replacing = if draft.typed.is_some() || stored.is_some() { draft.replacing.as_str() } else { "" };
    let form = draft.typed.unwrap_or_else(|| stored.map(RuleForm::of_rule).unwrap_or_default());
    let page = href("policies", policy_name);
    let (heading, button, cancel) = if replacing.is_empty() {
        ("Add a rule".to_string(), "Add rule", String::new())
    } else {
        (format!("Edit the rule {replacing}"), "Save rule", format!(r#" <a href="{}" id="cancel-edit">Cancel</a>"#, esc(&page)))
    };
    format!(
        r#"<section aria-labelledby="rule-form-heading"><h2 id="rule-form-heading">{heading}</h2>{error}
<form method="post" action="{action}" class="stack wide" id="rule-form">{csrf}<input type="hidden" name="original" value="{original}">{fields}
<button type="submit" id="save-rule">{button}</button>{cancel}</form></section>"#,
        heading = esc(&heading),
        error = refusal_notice("rule-error", error),
        action = esc(&format!("{page}/rules")),
        csrf = v.csrf_field(),
        original = esc(replacing),
        fields = form.fields(condition_refused("rule-error", error)),
    )
}

pub async fn save_rule(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    let rule = RuleForm::read(&form);
    let replacing = form.get("original").to_string();
    match write_rule(&v, &name, &rule, &replacing).await {
        Ok(()) => see_other(&format!("{}#rules-heading", href("policies", &name))),
        Err(e) => render_page(&v, &name, RuleDraft { typed: Some(rule), replacing }, Some(Refusal::Form(e))).await,
    }
}

async fn write_rule(v: &Viewer, name: &str, rule: &RuleForm, replacing: &str) -> Result<(), ApiError> {
    check_condition(v, rule).await?;
    let policy = v.read_named(&POLICY, name, Some(FIELDS)).await?;
    let rules = rules_with(rules_of(&policy), replacing, rule.to_json())?;
    patch_rules(v, &policy, rules).await
}

/// Replaces a policy's rules through the same use case as `PATCH /api/v1/policies/{id}`.
async fn patch_rules(v: &Viewer, policy: &Value, rules: Vec<Value>) -> Result<(), ApiError> {
    let patch = patch_of(json!([{"op": "replace", "path": "/rules", "value": rules}]))?;
    v.state.catalog.patch_asset(v.actor(), &POLICIES, text(policy, "id"), &patch).await?;
    Ok(())
}

pub async fn remove_rule(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    let removed: Result<(), ApiError> = async {
        let policy = v.read_named(&POLICY, &name, Some(FIELDS)).await?;
        let rules = rules_without(rules_of(&policy), form.get("rule"))?;
        patch_rules(&v, &policy, rules).await
    }
    .await;
    match removed {
        Ok(()) => see_other(&format!("{}#rules-heading", href("policies", &name))),
        Err(e) => render_page(&v, &name, RuleDraft::default(), Some(Refusal::Rules(e))).await,
    }
}

/// Deletes a policy for good (as OpenMetadata's UI does).
pub async fn delete(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    v.delete_named(&POLICIES, &name, "/policies").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> FormData {
        FormData::parse(body.as_bytes())
    }

    #[test]
    fn the_rule_form_becomes_a_rule() {
        let typed = form("csrf=t&rule_name=+Owners+edit+&effect=allow&operations=EditDescription&operations=EditTags&resources=table&resources=all&condition=+isOwner()+%7C%7C+noOwner()+&rule_description=");
        let rule = RuleForm::read(&typed);
        assert_eq!(rule.condition(), Some("isOwner() || noOwner()"), "the condition is checked trimmed");
        assert_eq!(
            rule.to_json(),
            json!({"name": "Owners edit", "effect": "allow", "operations": ["EditDescription", "EditTags"], "resources": ["table", "all"], "condition": "isOwner() || noOwner()"}),
            "a blank description is left out"
        );
    }

    #[test]
    fn a_blank_condition_is_none_and_nothing_sent_stays_empty() {
        let rule = RuleForm::read(&form("rule_name=r&effect=deny&operations=Delete&resources=bot&condition=+++&rule_description=No+deletes"));
        assert_eq!(rule.condition(), None);
        assert_eq!(rule.to_json(), json!({"name": "r", "effect": "deny", "operations": ["Delete"], "resources": ["bot"], "description": "No deletes"}));
        let empty = RuleForm::read(&form(""));
        assert_eq!(empty.to_json(), json!({"name": "", "effect": "", "operations": [], "resources": []}), "the write refuses it with its reason");
    }

    #[test]
    fn a_stored_rule_fills_the_form_and_keeps_what_the_registry_does_not_list() {
        let stored = json!({"name": "BotRule-Deny", "effect": "deny", "operations": ["Create", "Delete"], "resources": ["bot", "webhook"], "fullyQualifiedName": "P.BotRule-Deny"});
        let rule = RuleForm::of_rule(&stored);
        assert_eq!((rule.name.as_str(), rule.effect.as_str(), rule.condition.as_str()), ("BotRule-Deny", "deny", ""));
        let html = rule.fields(None);
        assert!(html.contains(r#"value="webhook" checked>"#), "an unlisted resource is offered, ticked: {html}");
        assert!(html.contains(r#"value="bot" checked>"#) && html.contains(r#"value="Delete" checked>"#));
        assert!(!html.contains(r#"value="table" checked>"#));
        assert_eq!(RuleForm::of_rule(&json!({"resources": ["All"]})).resources, ["all"], "the stored All is the form's all");
    }

    #[test]
    fn condition_refusals_point_the_condition_field_at_their_notice() {
        let parse = ApiError::bad_request("Failed to parse - EL1041E: Unexpectedly ran out of input at position 8");
        assert_eq!(condition_refused("rule-error", Some(&parse)), Some("rule-error"));
        assert_eq!(condition_refused("rule-error", Some(&ApiError::bad_request("Rule name a is repeated"))), None);
        assert_eq!(condition_refused("rule-error", None), None);
        let html = RuleForm { condition: "isOwner(".into(), ..Default::default() }.fields(Some("rule-error"));
        assert!(html.contains(r#"value="isOwner(" maxlength="4000" aria-invalid="true" aria-describedby="rule-error condition-help">"#), "{html}");
    }

    #[test]
    fn rules_are_added_replaced_and_removed_by_name() {
        let rules = vec![json!({"name": "a", "effect": "allow"}), json!({"name": "b", "effect": "allow"})];
        let added = rules_with(&rules, "", json!({"name": "c"})).unwrap();
        assert_eq!(added.iter().map(|r| text(r, "name")).collect::<Vec<_>>(), ["a", "b", "c"]);
        let replaced = rules_with(&rules, "a", json!({"name": "a2", "effect": "deny"})).unwrap();
        assert_eq!(replaced[0], json!({"name": "a2", "effect": "deny"}), "in place, renamed");
        assert_eq!(replaced.len(), 2);
        assert_eq!(rules_with(&rules, "zz", json!({})).unwrap_err().message, "The rule zz is no longer in this policy.");
        assert_eq!(rules_without(&rules, "b").unwrap(), vec![json!({"name": "a", "effect": "allow"})]);
        assert!(rules_without(&rules, "nope").is_err(), "removing a rule that is gone says so");
    }
}
