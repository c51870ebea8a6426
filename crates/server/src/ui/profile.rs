//! My profile: who I am, my roles and teams, what I may do on each kind of resource (the
//! permissions API's answer), and my personal access tokens (create with an expiry, shown
//! once, revoke).

use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::Response;
use ferrometa_auth::PersonalAccessToken;
use ferrometa_catalog::policy::{self, Access, Permission};
use serde::Deserialize;
use serde_json::Value;

use super::html::{esc, expiry_select, facts, link_list, list_table, notice, shown_once, when};
use super::{Viewer, display_name, error_page, href, text};
use crate::ops::tokens;

pub async fn page(v: Viewer) -> Response {
    render(&v, String::new()).await
}

async fn render(v: &Viewer, top: String) -> Response {
    let user = v.caller.user.clone().unwrap_or_default();
    let tokens = match tokens::list_pats(&v.state, &v.caller, None).await {
        Ok(list) => list,
        Err(e) => return error_page(e.status, "Profile", &e.message, "pat_list_failed", ""),
    };
    let sign_in = match v.session.kind {
        crate::session::SessionKind::Sso => "your identity provider",
        crate::session::SessionKind::Basic => "email and password",
    };
    let mut body = top;
    body.push_str(&format!(
        r#"<dl class="facts" id="profile">
<dt>Name</dt><dd id="profile-name">{name}</dd>
<dt>User name</dt><dd>{uname}</dd>
<dt>Email</dt><dd>{email}</dd>
<dt>Administrator</dt><dd>{admin}</dd>
<dt>Signed in with</dt><dd>{sign_in}</dd>
<dt>Browser sessions</dt><dd id="session-count">{sessions} active</dd>
</dl>
<form method="post" action="/profile/sessions/end" id="end-sessions-form">{csrf}<button type="submit" id="end-sessions">Sign out everywhere</button></form>
{access}
<h2 id="pats">Personal access tokens</h2>
<p>Use a personal access token as <code>Authorization: Bearer …</code> for scripts that act as you.</p>"#,
        name = esc(display_name(&v.caller)),
        uname = esc(user["name"].as_str().unwrap_or_default()),
        email = esc(user["email"].as_str().unwrap_or_default()),
        admin = if v.caller.is_admin() { "yes" } else { "no" },
        sessions = v.state.store.count_sessions_of(&v.session.user_id).await.unwrap_or(1),
        csrf = v.csrf_field(),
        access = access(v, &user).await,
    ));
    if tokens.is_empty() {
        body.push_str(&notice("info", "no-pats", "You have no personal access tokens."));
    } else {
        body.push_str(r#"<table class="list" id="pat-list"><thead><tr><th scope="col">Name</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead><tbody>"#);
        for t in &tokens {
            body.push_str(&pat_row(v, t));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(&format!(
        r#"<h3 id="new-pat">Create a token</h3>
<form method="post" action="/profile/tokens" class="stack" id="pat-form">{csrf}
<label for="token-name">Token name</label>
<input id="token-name" name="name" required maxlength="128">
{select}
<button type="submit" id="create-pat">Create token</button>
</form>"#,
        csrf = v.csrf_field(),
        select = expiry_select("pat-expiry", false)
    ));
    v.render("My profile", &body)
}

/// The resources whose permissions the profile shows.
const RESOURCES: &[&str] = &["all", "table", "databaseService", "database", "databaseSchema", "user", "team", "role", "policy", "tag", "classification", "bot"];

/// My roles (direct and from my teams), my teams, and what I may do on each resource, from
/// the same rules that decide every request (`GET /api/v1/permissions/{resource}`).
async fn access(v: &Viewer, user: &Value) -> String {
    let direct: Vec<String> = user["roles"].as_array().into_iter().flatten().map(|r| text(r, "name").to_string()).collect();
    let every = v.state.catalog.role_names(v.subject()).await.unwrap_or_default();
    let role_links = |names: &[String]| -> Vec<(String, String)> { names.iter().map(|r| (href("roles", r), r.clone())).collect() };
    let inherited: Vec<String> = every.into_iter().filter(|r| !direct.contains(r)).collect();
    let teams: Vec<&str> = user["teams"].as_array().into_iter().flatten().map(|t| text(t, "name")).collect();
    let mut out = String::from(r#"<h2 id="access-heading">Roles and teams</h2>"#);
    out.push_str(&facts(
        "my-access",
        &[
            ("Teams", esc(&teams.join(", "))),
            ("Roles", link_list(&role_links(&direct), "none")),
            ("Inherited roles (from teams)", link_list(&role_links(&inherited), "none")),
        ],
    ));
    out.push_str(r#"<h2 id="permissions-heading">What I may do</h2><p class="muted">Each operation's access on a resource in general (conditions are judged on each entity), and the policy and rule that set it.</p>"#);
    for name in RESOURCES {
        out.push_str(&permissions_of(v, name).await);
    }
    out
}

async fn permissions_of(v: &Viewer, name: &str) -> String {
    let Some(resource) = policy::resource(name) else { return String::new() };
    match v.state.catalog.permissions(v.subject(), &resource, None).await {
        Ok(permissions) => permission_table(v, name, &permissions),
        Err(e) => notice("error", &format!("perm-{name}-error"), &crate::error::ApiError::from(e).message),
    }
}

fn permission_table(v: &Viewer, resource: &str, permissions: &[Permission]) -> String {
    let count = |access: Access| permissions.iter().filter(|p| p.access == access).count();
    let summary = format!(
        "{resource}: {} allowed, {} conditionally allowed, {} denied, {} not allowed",
        count(Access::Allow),
        count(Access::ConditionalAllow),
        count(Access::Deny) + count(Access::ConditionalDeny),
        count(Access::NotAllow)
    );
    let rows: String = permissions.iter().map(|p| permission_row(v, p)).collect();
    format!(
        r#"<details class="permissions" id="perm-{id}"><summary>{summary}</summary>{table}</details>"#,
        id = esc(resource),
        summary = esc(&summary),
        table = list_table(&format!("perm-table-{}", esc(resource)), &["Operation", "Access", "Policy", "Rule", "Role"], &rows)
    )
}

fn permission_row(v: &Viewer, p: &Permission) -> String {
    let access = p.access.as_str();
    let class = match p.access {
        Access::Allow => "ok",
        Access::ConditionalAllow => "warn",
        Access::Deny | Access::ConditionalDeny => "fail",
        Access::NotAllow => "info",
    };
    let (policy, rule, role) = match &p.source {
        Some(s) => (
            link_list(&[(href("policies", &s.policy), s.policy.clone())], ""),
            esc(s.rule["name"].as_str().unwrap_or_default()),
            s.role.as_ref().map(|r| link_list(&[(href("roles", r), r.clone())], "")).unwrap_or_else(|| r#"<span class="muted">a team's policy</span>"#.into()),
        ),
        // Admins are allowed everything without a rule.
        None if v.subject().is_admin() => (r#"<span class="muted">administrator</span>"#.into(), String::new(), String::new()),
        None => (String::new(), String::new(), String::new()),
    };
    format!(
        r#"<tr data-operation="{op}" data-access="{access}"><td>{op}</td><td><span class="badge {class}">{access}</span></td><td>{policy}</td><td>{rule}</td><td>{role}</td></tr>"#,
        op = p.operation.as_str()
    )
}

fn pat_row(v: &Viewer, t: &PersonalAccessToken) -> String {
    let t = serde_json::to_value(t).unwrap_or_default();
    let name = t["tokenName"].as_str().unwrap_or_default();
    format!(
        r#"<tr><td>{n}</td><td>{exp}</td><td><form method="post" action="/profile/tokens/revoke">{csrf}<input type="hidden" name="id" value="{id}"><button type="submit" class="danger" aria-label="Revoke token {n}">Revoke</button></form></td></tr>"#,
        n = esc(name),
        exp = esc(&when(t["expiryDate"].as_i64().unwrap_or_default())),
        csrf = v.csrf_field(),
        id = esc(t["token"].as_str().unwrap_or_default())
    )
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    name: String,
    expiry: String,
}

pub async fn create(v: Viewer, Form(form): Form<CreateForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    let created = match tokens::parse_expiry(&form.expiry) {
        Ok(expiry) => tokens::create_pat(&v.state, &v.caller, &form.name, expiry).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(pat) => render(&v, shown_once("new-pat-token", &format!("New token \u{201c}{}\u{201d}", form.name.trim()), pat.jwt_token.as_deref().unwrap_or_default())).await,
        Err(e) => render(&v, notice("error", "pat-error", &e.message)).await,
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    id: String,
}

pub async fn revoke(v: Viewer, Form(form): Form<RevokeForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    match tokens::revoke_pats(&v.state, &v.caller, None, &[form.id], false).await {
        Ok(_) => render(&v, notice("ok", "pat-message", "The token is revoked.")).await,
        Err(e) => error_page(e.status, "Profile", &e.message, "pat_revoke_failed", ""),
    }
}

#[derive(Deserialize)]
pub struct EndSessionsForm {
    csrf: String,
}

/// Ends every browser session of the signed-in user, this one included (ASVS 7.5.2).
pub async fn end_sessions(v: Viewer, Form(form): Form<EndSessionsForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    let ended = v.caller.origin().event("session.end", &v.caller.name).detail("browser: sign out everywhere");
    match v.state.store.delete_sessions_of(&v.session.user_id, Some(&ended)).await {
        Ok(_) => {
            let mut response = super::html::see_other("/signed-out");
            let cookies = &v.state.sessions.cookies;
            if let Ok(c) = cookies.clear(cookies.session).parse() {
                response.headers_mut().append(axum::http::header::SET_COOKIE, c);
            }
            response
        }
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, "Profile", "Your sessions could not be ended.", "internal", &e.to_string()),
    }
}
