//! Users: everyone sees the list and each user's page (roles, direct and inherited, and
//! teams); whoever the catalog lets change them (administrators) makes users admins (or not),
//! deletes them (e.g. the default `admin` once SSO works: deleting it sticks), and chooses a
//! user's roles and teams — through the same use cases as `PATCH` and `DELETE /api/v1/users`.

use axum::extract::{Form, Path};
use axum::response::Response;
use ferrometa_catalog::governance::ORGANIZATION;
use ferrometa_catalog::kinds::{ROLE, TEAM, USER};
use ferrometa_catalog::policy::Operation;
use serde::Deserialize;
use serde_json::{Value, json};

use super::form::FormData;
use super::html::{checkboxes, crumbs, esc, facts, link_list, list_table, notice, see_other};
use super::{Viewer, error_page, failed, href, ids_of, patch_of, references, refusal_notice, status_of, text};
use crate::error::ApiError;

pub async fn list(v: Viewer) -> Response {
    render(&v, None).await
}

async fn render(v: &Viewer, message: Option<String>) -> Response {
    let users = match v.list(&USER, None).await {
        Ok(list) => list,
        Err(e) => return failed("Users", "user_list_failed", e),
    };
    let mut rows = vec![];
    for u in users.iter().filter(|u| u["isBot"] != json!(true)) {
        rows.push((u, actions(v, u).await));
    }
    // An actions column only when this viewer may act on someone else.
    let with_actions = rows.iter().any(|(_, a)| !a.is_empty());
    let html: String = rows
        .iter()
        .map(|(u, a)| match (with_actions, is_viewer(v, u)) {
            (false, _) => format!("{}</tr>", user_cells(u)),
            (true, true) => format!(r#"{}<td class="actions">(you)</td></tr>"#, user_cells(u)),
            (true, false) => format!(r#"{}<td class="actions">{a}</td></tr>"#, user_cells(u)),
        })
        .collect();
    let mut headers = vec!["Name", "Email", "Role"];
    if with_actions {
        headers.push("Actions");
    }
    let mut body = message.map(|m| notice("ok", "users-message", &m)).unwrap_or_default();
    body.push_str(&list_table("users", &headers, &html));
    v.render("Users", &body)
}

/// A user's row up to its actions (the row is left open).
fn user_cells(u: &Value) -> String {
    let name = text(u, "name");
    format!(
        r#"<tr id="user-{n}"><td><a href="{href}">{n}</a></td><td>{email}</td><td>{role}</td>"#,
        n = esc(name),
        href = esc(&href("users", name)),
        email = esc(text(u, "email")),
        role = if u["isAdmin"] == json!(true) { "Administrator" } else { "User" }
    )
}

fn is_viewer(v: &Viewer, u: &Value) -> bool {
    v.caller.user_id() == Some(text(u, "id"))
}

/// The buttons the viewer may use on a user: the admin flag and deletion (none on themselves).
async fn actions(v: &Viewer, u: &Value) -> String {
    let id = text(u, "id");
    if is_viewer(v, u) {
        return String::new();
    }
    let name = esc(text(u, "name"));
    let mut out = String::new();
    if v.may_change(&USER, u, &["isAdmin"]).await {
        let is_admin = u["isAdmin"] == json!(true);
        let toggle = if is_admin { "Remove admin" } else { "Make admin" };
        out.push_str(&format!(
            r#"<form method="post" action="/users/{id}/admin">{csrf}<input type="hidden" name="admin" value="{flag}"><button type="submit" aria-label="{toggle} {name}">{toggle}</button></form>"#,
            id = esc(id),
            csrf = v.csrf_field(),
            flag = !is_admin,
        ));
    }
    if v.may(&USER, u, Operation::Delete).await {
        out.push_str(&format!(
            r#"<form method="post" action="/users/{id}/delete" data-confirm="Delete user {name}? Their sessions and tokens end at once.">{csrf}<button type="submit" class="danger" aria-label="Delete {name}">Delete</button></form>"#,
            id = esc(id),
            csrf = v.csrf_field(),
        ));
    }
    out
}

#[derive(Deserialize)]
pub struct AdminForm {
    csrf: String,
    admin: bool,
}

pub async fn set_admin(v: Viewer, Path(id): Path<String>, Form(form): Form<AdminForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    let patch = match patch_of(json!([{"op": "add", "path": "/isAdmin", "value": form.admin}])) {
        Ok(p) => p,
        Err(e) => return failed("Users", "internal", e),
    };
    match v.state.catalog.patch_user(v.actor(), &id, &patch).await {
        Ok(user) => {
            let name = text(&user, "name");
            render(&v, Some(if form.admin { format!("{name} is now an administrator.") } else { format!("{name} is no longer an administrator.") })).await
        }
        Err(e) => failed("Users", "user_update_failed", e),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

pub async fn delete(v: Viewer, Path(id): Path<String>, Form(form): Form<DeleteForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    if v.caller.user_id() == Some(id.as_str()) {
        return error_page(axum::http::StatusCode::BAD_REQUEST, "Users", "You cannot delete yourself while signed in.", "self_delete", "");
    }
    match crate::ops::users::delete(&v.state, &v.caller, &id, true).await {
        Ok(_) => see_other("/users"),
        Err(e) => failed("Users", "user_delete_failed", e),
    }
}

// ---------------------------------------------------------------------------------------------
// one user: roles and teams
// ---------------------------------------------------------------------------------------------

pub async fn page(v: Viewer, Path(name): Path<String>) -> Response {
    render_user(&v, &name, None, None).await
}

/// User names are kept in lower case (as OpenMetadata keeps them).
async fn read_user(v: &Viewer, name: &str) -> Result<Value, ApiError> {
    v.read_named(&USER, &name.to_lowercase(), Some("roles,teams")).await
}

async fn render_user(v: &Viewer, name: &str, typed: Option<&FormData>, refusal: Option<&ApiError>) -> Response {
    let user = match read_user(v, name).await {
        Ok(u) => u,
        Err(e) => return failed("User", "user_not_found", e),
    };
    let name = text(&user, "name");
    let direct = names_of(&user["roles"]);
    let inherited: Vec<(String, String)> = inherited_roles(v, &user).await.into_iter().filter(|r| !direct.contains(r)).map(|r| (href("roles", &r), r)).collect();
    let mut body = crumbs(&[("/users", "Users")], name);
    body.push_str(&facts(
        "user",
        &[
            ("Name", esc(name)),
            ("Display name", esc(text(&user, "displayName"))),
            ("Email", esc(text(&user, "email"))),
            ("Administrator", if user["isAdmin"] == json!(true) { "yes" } else { "no" }.to_string()),
            ("Teams", esc(&names_of(&user["teams"]).join(", "))),
            ("Roles", link_list(&direct.iter().map(|r| (href("roles", r), r.clone())).collect::<Vec<_>>(), "none")),
            ("Inherited roles (from teams)", link_list(&inherited, "none")),
        ],
    ));
    if v.may_change(&USER, &user, &["roles", "teams"]).await {
        match access_form(v, &user, typed, refusal).await {
            Ok(form) => body.push_str(&form),
            Err(e) => return failed("User", "role_list_failed", e),
        }
    } else {
        // A form this viewer is not offered was posted anyway: the catalog's refusal on top.
        body.insert_str(0, &refusal_notice("access-error", refusal));
    }
    v.render_status(status_of(refusal), &format!("User: {name}"), &body)
}

fn names_of(listed: &Value) -> Vec<String> {
    listed.as_array().into_iter().flatten().map(|r| text(r, "name").to_string()).collect()
}

/// Every role the user holds, directly and through its teams (none for a user that cannot
/// act, e.g. deleted).
async fn inherited_roles(v: &Viewer, user: &Value) -> Vec<String> {
    let Ok(subject) = v.state.catalog.subject(user) else { return vec![] };
    v.state.catalog.role_names(&subject).await.unwrap_or_default()
}

/// Teams a user can be put in: all but the Organization, which holds everyone in no team.
async fn team_choices(v: &Viewer) -> Result<Vec<(String, String)>, ApiError> {
    let teams = v.list(&TEAM, None).await?;
    Ok(teams.iter().filter(|t| text(t, "teamType") != ORGANIZATION).map(|t| (text(t, "id").to_string(), text(t, "name").to_string())).collect())
}

async fn role_choices(v: &Viewer) -> Result<Vec<(String, String)>, ApiError> {
    Ok(v.list(&ROLE, None).await?.iter().map(|r| (text(r, "id").to_string(), text(r, "name").to_string())).collect())
}

/// The user's current teams among the choices (the Organization shown for no team is none).
fn chosen_teams(user: &Value, choices: &[(String, String)]) -> Vec<String> {
    ids_of(&user["teams"]).into_iter().filter(|id| choices.iter().any(|(c, _)| c == id)).collect()
}

async fn access_form(v: &Viewer, user: &Value, typed: Option<&FormData>, refusal: Option<&ApiError>) -> Result<String, ApiError> {
    let (roles, teams) = (role_choices(v).await?, team_choices(v).await?);
    let (checked_roles, checked_teams) = match typed {
        Some(form) => (form.all("roles"), form.all("teams")),
        None => (ids_of(&user["roles"]), chosen_teams(user, &teams)),
    };
    let teams_html = if teams.is_empty() {
        notice("info", "no-teams", "There are no teams besides the Organization yet.")
    } else {
        checkboxes("user-teams", "teams", "Teams", &teams, &checked_teams)
    };
    Ok(format!(
        r#"<section aria-labelledby="access-heading"><h2 id="access-heading">Roles and teams</h2>{error}
<form method="post" action="{action}" class="stack wide" id="user-access-form">{csrf}{roles}{teams}
<button type="submit" id="save-access">Save roles and teams</button></form></section>"#,
        error = refusal_notice("access-error", refusal),
        action = esc(&format!("{}/access", href("users", text(user, "name")))),
        csrf = v.csrf_field(),
        roles = checkboxes("user-roles", "roles", "Roles", &roles, &checked_roles),
        teams = teams_html,
    ))
}

pub async fn save_access(v: Viewer, Path(name): Path<String>, form: FormData) -> Response {
    if let Err(r) = v.check_csrf(form.csrf()) {
        return r;
    }
    match save(&v, &name, &form).await {
        Ok(()) => see_other(&href("users", &name.to_lowercase())),
        Err(e) => render_user(&v, &name, Some(&form), Some(&e)).await,
    }
}

/// The user's roles and teams through the use case of `PATCH /api/v1/users/{id}`.
async fn save(v: &Viewer, name: &str, form: &FormData) -> Result<(), ApiError> {
    let user = read_user(v, name).await?;
    let teams = team_choices(v).await?;
    let operations = access_patch(&ids_of(&user["roles"]), &chosen_teams(&user, &teams), &form.all("roles"), &form.all("teams"));
    if operations.is_empty() {
        return Ok(());
    }
    v.state.catalog.patch_user(v.actor(), text(&user, "id"), &patch_of(Value::Array(operations))?).await?;
    Ok(())
}

/// The JSON Patch setting a user's roles and teams to the chosen ids: only the lists that
/// change (an unchanged list is no new version), as references.
fn access_patch(roles: &[String], teams: &[String], chosen_roles: &[String], chosen_teams: &[String]) -> Vec<Value> {
    let same = |a: &[String], b: &[String]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
    let mut operations = vec![];
    // `add` sets a member whether or not the user has it yet (RFC 6902 §4.1).
    if !same(roles, chosen_roles) {
        operations.push(json!({"op": "add", "path": "/roles", "value": references(chosen_roles, ROLE.name)}));
    }
    if !same(teams, chosen_teams) {
        operations.push(json!({"op": "add", "path": "/teams", "value": references(chosen_teams, TEAM.name)}));
    }
    operations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_changed_lists_are_patched_as_references() {
        assert!(access_patch(&ids(&["r1", "r2"]), &ids(&["t1"]), &ids(&["r2", "r1"]), &ids(&["t1"])).is_empty(), "order does not matter");
        assert_eq!(
            access_patch(&ids(&["r1"]), &ids(&["t1"]), &ids(&["r1", "r2"]), &ids(&["t1"])),
            vec![json!({"op": "add", "path": "/roles", "value": [{"id": "r1", "type": "role"}, {"id": "r2", "type": "role"}]})]
        );
        assert_eq!(
            access_patch(&ids(&["r1"]), &ids(&["t1"]), &ids(&["r1"]), &[]),
            vec![json!({"op": "add", "path": "/teams", "value": []})],
            "leaving every team"
        );
    }

    #[test]
    fn the_organization_shown_for_no_team_is_no_choice() {
        let user = json!({"teams": [{"id": "org", "name": "Organization"}, {"id": "t1", "name": "eng"}]});
        assert_eq!(chosen_teams(&user, &[("t1".into(), "eng".into()), ("t2".into(), "ops".into())]), ["t1"]);
    }
}
