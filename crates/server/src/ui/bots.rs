//! Bots: administrators generate a bot's token with an expiry (shown once, with a copy button)
//! and revoke it; the previous token stops working at once on every replica.

use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::Response;
use ferrometa_catalog::Listing;
use ferrometa_catalog::kinds::BOT;
use ferrometa_store::Include;
use serde::Deserialize;

use super::html::{esc, expiry_select, notice, shown_once, when};
use super::{Viewer, error_page};
use crate::ops::tokens;

pub async fn list(v: Viewer) -> Response {
    render(&v, String::new()).await
}

async fn render(v: &Viewer, top: String) -> Response {
    let bots = match v.state.catalog.read_list(v.actor(), &BOT, &Listing { under: None, include: Include::NonDeleted, limit: 1000, after: None, before: None }, None).await {
        Ok(p) => p.data,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Bots", "The bots could not be read.", "internal", &e.to_string()),
    };
    let mut body = top;
    if !v.caller.is_admin() {
        body.push_str(&notice("info", "bots-readonly", "Only administrators can generate or revoke bot tokens."));
    }
    body.push_str(r#"<table class="list" id="bots"><thead><tr><th scope="col">Bot</th><th scope="col">Description</th><th scope="col">Token</th>"#);
    if v.caller.is_admin() {
        body.push_str(r#"<th scope="col">Actions</th>"#);
    }
    body.push_str("</tr></thead><tbody>");
    for b in &bots {
        let name = b["name"].as_str().unwrap_or_default();
        let user_id = b["botUser"]["id"].as_str().unwrap_or_default();
        let token = if v.caller.is_admin() { v.state.auth.bot_token(user_id).await.ok().flatten() } else { None };
        let status = match &token {
            Some(t) => match t.jwt_token_expires_at {
                Some(at) => format!("Active, expires {}", when(at)),
                None => "Active, never expires (Unlimited)".into(),
            },
            None if v.caller.is_admin() => "No token".into(),
            None => "–".into(),
        };
        body.push_str(&format!(
            r#"<tr id="bot-{n}"><td>{n}</td><td>{d}</td><td class="token-status">{status}</td>"#,
            n = esc(name),
            d = esc(b["description"].as_str().unwrap_or_default()),
            status = esc(&status)
        ));
        if v.caller.is_admin() {
            let sel_id = format!("expiry-{}", esc(name));
            body.push_str(&format!(
                r#"<td class="actions"><form method="post" action="/bots/{uid}/token">{csrf}{select}<button type="submit" class="generate" aria-label="Generate a new token for {n}">Generate new token</button></form>"#,
                uid = esc(user_id),
                csrf = v.csrf_field(),
                select = expiry_select(&sel_id, true),
                n = esc(name)
            ));
            if token.is_some() {
                body.push_str(&format!(
                    r#"<form method="post" action="/bots/{uid}/revoke" data-confirm="Revoke the token of {n}? Ingestion using it stops at once.">{csrf}<button type="submit" class="danger revoke" aria-label="Revoke the token of {n}">Revoke token</button></form>"#,
                    uid = esc(user_id),
                    csrf = v.csrf_field(),
                    n = esc(name)
                ));
            }
            body.push_str("</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    v.render("Bots", &body)
}

#[derive(Deserialize)]
pub struct GenerateForm {
    csrf: String,
    expiry: String,
}

pub async fn generate(v: Viewer, Path(user_id): Path<String>, Form(form): Form<GenerateForm>) -> Response {
    if let Err(r) = v.check_admin_form(&form.csrf) {
        return r;
    }
    let expiry = match tokens::parse_expiry(&form.expiry) {
        Ok(expiry) => expiry,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Bots", "Unknown expiry.", "bad_expiry", &e.message),
    };
    match tokens::generate_bot_token(&v.state, &v.caller, &user_id, expiry).await {
        Ok(mechanism) => render(&v, shown_once("new-bot-token", "New bot token", &mechanism.jwt_token)).await,
        Err(e) => error_page(e.status, "Bots", &e.message, "bot_token_failed", ""),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
}

pub async fn revoke(v: Viewer, Path(user_id): Path<String>, Form(form): Form<RevokeForm>) -> Response {
    if let Err(r) = v.check_admin_form(&form.csrf) {
        return r;
    }
    match tokens::revoke_bot_token(&v.state, &v.caller, &user_id).await {
        Ok(user) => render(&v, notice("ok", "bots-message", &format!("The token of {} is revoked.", user["name"].as_str().unwrap_or_default()))).await,
        Err(e) => error_page(e.status, "Bots", &e.message, "bot_revoke_failed", ""),
    }
}
