//! Users: everyone sees the list; administrators make users admins (or not) and delete them,
//! e.g. the default `admin` once SSO works (deleting it sticks: it is not re-created).

use axum::extract::{Form, Path};
use axum::response::Response;
use ferrometa_catalog::Listing;
use ferrometa_catalog::kinds::USER;
use ferrometa_store::Include;
use serde::Deserialize;
use serde_json::json;

use super::html::{esc, notice, see_other};
use super::{Viewer, error_page};

pub async fn list(v: Viewer) -> Response {
    render(&v, None).await
}

async fn render(v: &Viewer, message: Option<String>) -> Response {
    let users = match v.state.catalog.read_list(v.actor(), &USER, &Listing { under: None, include: Include::NonDeleted, limit: 1000, after: None, before: None }, None).await {
        Ok(p) => p.data,
        Err(e) => return error_page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Users", "The users could not be read.", "internal", &e.to_string()),
    };
    let mut body = message.map(|m| notice("ok", "users-message", &m)).unwrap_or_default();
    body.push_str(r#"<table class="list" id="users"><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th>"#);
    if v.caller.is_admin() {
        body.push_str(r#"<th scope="col">Actions</th>"#);
    }
    body.push_str("</tr></thead><tbody>");
    for u in users.iter().filter(|u| u["isBot"] != json!(true)) {
        let id = u["id"].as_str().unwrap_or_default();
        let name = u["name"].as_str().unwrap_or_default();
        let is_admin = u["isAdmin"] == json!(true);
        body.push_str(&format!(
            r#"<tr id="user-{n}"><td>{n}</td><td>{email}</td><td>{role}</td>"#,
            n = esc(name),
            email = esc(u["email"].as_str().unwrap_or_default()),
            role = if is_admin { "Administrator" } else { "User" }
        ));
        if v.caller.is_admin() {
            let myself = v.caller.user_id() == Some(id);
            let toggle = if is_admin { "Remove admin" } else { "Make admin" };
            body.push_str("<td class=\"actions\">");
            if !myself {
                body.push_str(&format!(
                    r#"<form method="post" action="/users/{id}/admin">{csrf}<input type="hidden" name="admin" value="{flag}"><button type="submit" aria-label="{toggle} {n}">{toggle}</button></form>
<form method="post" action="/users/{id}/delete" data-confirm="Delete user {n}? Their sessions and tokens end at once.">{csrf}<button type="submit" class="danger" aria-label="Delete {n}">Delete</button></form>"#,
                    id = esc(id),
                    csrf = v.csrf_field(),
                    flag = !is_admin,
                    n = esc(name)
                ));
            } else {
                body.push_str("(you)");
            }
            body.push_str("</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    v.render("Users", &body)
}

#[derive(Deserialize)]
pub struct AdminForm {
    csrf: String,
    admin: bool,
}

pub async fn set_admin(v: Viewer, Path(id): Path<String>, Form(form): Form<AdminForm>) -> Response {
    if let Err(r) = v.check_admin_form(&form.csrf) {
        return r;
    }
    let patch: json_patch::Patch = match serde_json::from_value(json!([{"op": "add", "path": "/isAdmin", "value": form.admin}])) {
        Ok(p) => p,
        Err(e) => return error_page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Users", "The change could not be made.", "internal", &e.to_string()),
    };
    match v.state.catalog.patch_user(v.actor(), &id, &patch).await {
        Ok(user) => {
            let name = user["name"].as_str().unwrap_or_default().to_string();
            render(&v, Some(if form.admin { format!("{name} is now an administrator.") } else { format!("{name} is no longer an administrator.") })).await
        }
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            error_page(e.status, "Users", &e.message, "user_update_failed", "")
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

pub async fn delete(v: Viewer, Path(id): Path<String>, Form(form): Form<DeleteForm>) -> Response {
    if let Err(r) = v.check_admin_form(&form.csrf) {
        return r;
    }
    if v.caller.user_id() == Some(id.as_str()) {
        return error_page(axum::http::StatusCode::BAD_REQUEST, "Users", "You cannot delete yourself while signed in.", "self_delete", "");
    }
    match crate::ops::users::delete(&v.state, &v.caller, &id, true).await {
        Ok(_) => see_other("/users"),
        Err(e) => error_page(e.status, "Users", &e.message, "user_delete_failed", ""),
    }
}
