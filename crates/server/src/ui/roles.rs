//! Roles: the policies each grants, its users and teams. Whoever the catalog lets write roles
//! (administrators: a role write changes what someone may do) creates a role from existing
//! policies, changes a role's policies and description, and deletes roles that are not the
//! system's — through the same use cases as `POST`, `PATCH` and `DELETE /api/v1/roles`.

use axum::extract::Path;
use axum::response::Response;
use ferrometa_catalog::governance::ROLES;
use ferrometa_catalog::kinds::{POLICY, ROLE};
use ferrometa_catalog::policy::Operation;
use serde_json::{Value, json};

use super::form::FormData;
use super::html::{checkboxes, confirmed_button, crumbs, danger_zone, esc, facts, link_list, list_table, see_other, text_area, text_input};
use super::{Viewer, failed, href, ids_of, non_blank, patch_of, provider, references, refusal_notice, status_of, text};
use crate::error::ApiError;

/// What the pages read of a role, as `GET /api/v1/roles?fields=policies,users,teams`.
const FIELDS: &str = "policies,users,teams";

/// Links to the entities a list of references names, on their own pages.
fn reference_links(listed: &Value, collection: &str) -> Vec<(String, String)> {
    listed.as_array().into_iter().flatten().map(|r| (href(collection, text(r, "name")), text(r, "name").to_string())).collect()
}

/// The policies a role may grant, as checkbox choices (id, name).
async fn policy_choices(v: &Viewer) -> Result<Vec<(String, String)>, ApiError> {
    Ok(v.list(&POLICY, None).await?.iter().map(|p| (text(p, "id").to_string(), text(p, "name").to_string())).collect())
}

// ---------------------------------------------------------------------------------------------
// the list
// ---------------------------------------------------------------------------------------------

pub async fn list(v: Viewer) -> Response {
    render_list(&v, &FormData::default(), None).await
}

async fn render_list(v: &Viewer, typed: &FormData, refusal: Option<&ApiError>) -> Response {
    let roles = match v.list(&ROLE, Some(FIELDS)).await {
        Ok(list) => list,
        Err(e) => return failed("Roles", "role_list_failed", e),
    };
    let rows: String = roles.iter().map(role_row).collect();
    let mut body = list_table("roles", &["Role", "Description", "Policies", "Provider"], &rows);
    if v.may_on_type(&ROLE, Operation::Create).await {
        match create_form(v, typed, refusal).await {
            Ok(form) => body.push_str(&form),
            Err(e) => return failed("Roles", "policy_list_failed", e),
        }
    } else {
        // A form this viewer is not offered was posted anyway: the catalog's refusal on top.
        body.insert_str(0, &refusal_notice("role-error", refusal));
    }
    v.render_status(status_of(refusal), "Roles", &body)
}

fn role_row(r: &Value) -> String {
    let name = text(r, "name");
    format!(
        r#"<tr data-role="{n}"><td><a href="{href}">{n}</a></td><td>{d}</td><td>{policies}</td><td>{provider}</td></tr>"#,
        n = esc(name),
        href = esc(&href("roles", name)),
        d = esc(text(r, "description")),
        policies = link_list(&reference_links(&r["policies"], "policies"), "none"),
        provider = esc(provider(r)),
    )
}

async fn create_form(v: &Viewer, typed: &FormData, refusal: Option<&ApiError>) -> Result<String, ApiError> {
    Ok(format!(
        r#"<section aria-labelledby="new-role"><h2 id="new-role">Create a role</h2>{error}
<form method="post" action="/roles" class="stack wide" id="role-create-form">{csrf}{name}{description}{policies}
<button type="submit" id="create-role">Create role</button></form></section>"#,
        error = refusal_notice("role-error", refusal),
        csrf = v.csrf_field(),
        name = text_input("role-name", "name", "Role name", typed.get("name"), true),
        description = text_area("role-description", "description", "Description", typed.get("description")),
        policies = checkboxes("role-policies", "policies", "Policies it grants", &policy_choices(v).await?, &typed.all("policies")),
    ))
}

pub async fn create(v: Viewer, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    let mut request = json!({"name": form.get("name").trim(), "policies": references(&form.all("policies"), POLICY.name)});
    if let Some(description) = non_blank(form.get("description")) {
        request["description"] = json!(description);
    }
    match v.state.catalog.create_asset(v.actor(), &ROLES, request).await {
        Ok(role) => see_other(&href("roles", text(&role, "name"))),
        Err(e) => render_list(&v, &form, Some(&e.into())).await,
    }
}

// ---------------------------------------------------------------------------------------------
// one role
// ---------------------------------------------------------------------------------------------

pub async fn page(v: Viewer, Path(name): Path<String>) -> Response {
    render_page(&v, &name, None, None).await
}

async fn render_page(v: &Viewer, name: &str, typed: Option<&FormData>, refusal: Option<&ApiError>) -> Response {
    let role = match v.read_named(&ROLE, name, Some(FIELDS)).await {
        Ok(r) => r,
        Err(e) => return failed("Role", "role_not_found", e),
    };
    let name = text(&role, "name");
    let mut body = crumbs(&[("/roles", "Roles")], name);
    body.push_str(&facts(
        "role",
        &[
            ("Name", esc(name)),
            ("Display name", esc(text(&role, "displayName"))),
            ("Description", esc(text(&role, "description"))),
            ("Provider", esc(provider(&role))),
        ],
    ));
    body.push_str(&format!(
        r#"<h2 id="policies-heading">Policies</h2><p id="role-policies-list">{}</p>
<h2 id="users-heading">Users</h2><p id="role-users">{}</p>
<h2 id="teams-heading">Teams (default role of)</h2><p id="role-teams">{}</p>"#,
        link_list(&reference_links(&role["policies"], "policies"), "none"),
        link_list(&reference_links(&role["users"], "users"), "none"),
        team_names(&role["teams"]),
    ));
    if v.may_change(&ROLE, &role, &["description", "policies"]).await {
        match edit_form(v, &role, typed, refusal).await {
            Ok(form) => body.push_str(&form),
            Err(e) => return failed("Role", "policy_list_failed", e),
        }
    } else {
        body.insert_str(0, &refusal_notice("role-edit-error", refusal));
    }
    if v.may(&ROLE, &role, Operation::Delete).await && role["allowDelete"] != json!(false) {
        let question = format!("Delete the role {name}? Its users and teams lose the policies it grants.");
        body.push_str(&danger_zone(&confirmed_button(&format!("{}/delete", href("roles", name)), &v.csrf_field(), &[], "delete-role", "Delete role", &question)));
    }
    v.render_status(status_of(refusal), &format!("Role: {name}"), &body)
}

/// Teams have no page of their own yet: their names.
fn team_names(listed: &Value) -> String {
    let names: Vec<String> = listed.as_array().into_iter().flatten().map(|t| esc(text(t, "name"))).collect();
    if names.is_empty() { r#"<span class="muted">none</span>"#.to_string() } else { names.join(", ") }
}

/// The form of a role's description and policies: what was typed when it was refused, else
/// what is stored.
async fn edit_form(v: &Viewer, role: &Value, typed: Option<&FormData>, refusal: Option<&ApiError>) -> Result<String, ApiError> {
    let (description, checked) = match typed {
        Some(form) => (form.get("description").to_string(), form.all("policies")),
        None => (text(role, "description").to_string(), ids_of(&role["policies"])),
    };
    Ok(format!(
        r#"<section aria-labelledby="edit-role"><h2 id="edit-role">Edit the role</h2>{error}
<form method="post" action="{action}" class="stack wide" id="role-edit-form">{csrf}{description}{policies}
<button type="submit" id="save-role">Save role</button></form></section>"#,
        error = refusal_notice("role-edit-error", refusal),
        action = esc(&format!("{}/edit", href("roles", text(role, "name")))),
        csrf = v.csrf_field(),
        description = text_area("role-description", "description", "Description", &description),
        policies = checkboxes("role-policies", "policies", "Policies it grants", &policy_choices(v).await?, &checked),
    ))
}

pub async fn edit(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    match save(&v, &name, &form).await {
        Ok(()) => see_other(&href("roles", &name)),
        Err(e) => render_page(&v, &name, Some(&form), Some(&e)).await,
    }
}

/// A role's description and policies through the use case of `PATCH /api/v1/roles/{id}`.
async fn save(v: &Viewer, name: &str, form: &FormData) -> Result<(), ApiError> {
    let role = v.read_named(&ROLE, name, None).await?;
    // `add` sets a member whether or not the role has it yet (RFC 6902 §4.1).
    let patch = patch_of(json!([
        {"op": "add", "path": "/description", "value": form.get("description").trim()},
        {"op": "add", "path": "/policies", "value": references(&form.all("policies"), POLICY.name)},
    ]))?;
    v.state.catalog.patch_asset(v.actor(), &ROLES, text(&role, "id"), &patch).await?;
    Ok(())
}

/// Deletes a role for good (as OpenMetadata's UI does).
pub async fn delete(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    v.delete_named(&ROLES, &name, "/roles").await
}
