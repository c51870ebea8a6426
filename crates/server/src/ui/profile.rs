//! My profile: who I am, and my personal access tokens (create with an expiry, shown once,
//! revoke).

use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::Response;
use ferrometa_auth::PersonalAccessToken;
use serde::Deserialize;

use super::html::{esc, expiry_select, notice, shown_once, when};
use super::{Viewer, display_name, error_page};
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
<h2 id="pats">Personal access tokens</h2>
<p>Use a personal access token as <code>Authorization: Bearer …</code> for scripts that act as you.</p>"#,
        name = esc(display_name(&v.caller)),
        uname = esc(user["name"].as_str().unwrap_or_default()),
        email = esc(user["email"].as_str().unwrap_or_default()),
        admin = if v.caller.is_admin() { "yes" } else { "no" },
        sessions = v.state.store.count_sessions_of(&v.session.user_id).await.unwrap_or(1),
        csrf = v.csrf_field(),
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
