//! Credentials kept by the auth service for catalog users: bot tokens (admins only, as
//! OpenMetadata's `authorizeAdmin`) and personal access tokens (the caller's own; an admin's
//! for anyone). Each creation and revocation is audited (`token.bot.*`, `token.pat.*`) in the
//! transaction that stores it; the events name tokens, never hold them.

use ferrometa_auth::{JwtAuthMechanism, PersonalAccessToken, TokenExpiry};
use ferrometa_catalog::kinds::USER;
use ferrometa_store::Include;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::users::account_of;
use crate::state::AppState;

pub fn parse_expiry(raw: &str) -> ApiResult<TokenExpiry> {
    TokenExpiry::parse(raw).ok_or_else(|| ApiError::bad_request(format!("JWTTokenExpiry must be one of {}", TokenExpiry::ALLOWED)))
}

/// A bot's user, for an admin.
async fn bot_user(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Value> {
    s.catalog.require_admin(caller.actor()?, "bot").await?;
    let user = s.catalog.get(&USER, id, Include::NonDeleted).await?;
    if user["isBot"] != json!(true) {
        return Err(ApiError::bad_request("JWT token is only supported for bot users"));
    }
    Ok(user)
}

/// A new token for a bot; the previous one stops working at once.
pub async fn generate_bot_token(s: &AppState, caller: &Caller, id: &str, expiry: TokenExpiry) -> ApiResult<JwtAuthMechanism> {
    let bot = account_of(&bot_user(s, caller, id).await?);
    let event = caller.origin().event("token.bot.generate", &bot.name).detail(format!("expiry {}", expiry.as_str()));
    Ok(s.auth.generate_bot_token(&bot, expiry, Some(&event)).await?)
}

pub async fn revoke_bot_token(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Value> {
    s.catalog.require_admin(caller.actor()?, "bot").await?;
    let user = s.catalog.get(&USER, id, Include::NonDeleted).await?;
    if user["isBot"] != json!(true) {
        return Err(ApiError::bad_request("Revoke Token can only be applied to Bot Users."));
    }
    s.auth.revoke_bot_token(id, &caller.origin().event("token.bot.revoke", user["name"].as_str().unwrap_or_default())).await?;
    Ok(user)
}

/// The current token of a bot, if it has one.
pub async fn bot_token(s: &AppState, caller: &Caller, id: &str) -> ApiResult<Option<JwtAuthMechanism>> {
    bot_user(s, caller, id).await?;
    Ok(s.auth.bot_token(id).await?)
}

/// The user whose personal access tokens are meant: the caller, or (admins only) `username`.
async fn pat_owner(s: &AppState, caller: &Caller, username: Option<&str>) -> ApiResult<Value> {
    caller.subject()?;
    match username.filter(|u| !u.eq_ignore_ascii_case(&caller.name)) {
        Some(other) => {
            s.catalog.require_admin(caller.actor()?, "user").await?;
            s.catalog.user_by_name(other).await?.ok_or_else(|| ApiError::not_found(format!("user instance for {other} not found")))
        }
        None => caller.user.clone().ok_or_else(|| ApiError::not_found(format!("user instance for {} not found", caller.name))),
    }
}

pub async fn list_pats(s: &AppState, caller: &Caller, username: Option<&str>) -> ApiResult<Vec<PersonalAccessToken>> {
    let owner = pat_owner(s, caller, username).await?;
    Ok(s.auth.list_pats(owner["id"].as_str().unwrap_or_default()).await?)
}

pub async fn create_pat(s: &AppState, caller: &Caller, name: &str, expiry: TokenExpiry) -> ApiResult<PersonalAccessToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ApiError::bad_request("tokenName must be 1 to 128 characters"));
    }
    let owner = account_of(&pat_owner(s, caller, None).await?);
    let event = caller.origin().event("token.pat.create", &owner.name).detail(format!("{name}, expiry {}", expiry.as_str()));
    Ok(s.auth.create_pat(&owner, name, expiry, &event).await?)
}

/// Revokes the given tokens (or all), each with its own event; returns those left.
pub async fn revoke_pats(s: &AppState, caller: &Caller, username: Option<&str>, ids: &[String], all: bool) -> ApiResult<Vec<PersonalAccessToken>> {
    let owner = pat_owner(s, caller, username).await?;
    let owner_name = owner["name"].as_str().unwrap_or_default();
    let event = |pat: Option<&PersonalAccessToken>| caller.origin().event("token.pat.revoke", owner_name).detail(pat.map_or("all tokens", |p| p.token_name.as_str()));
    Ok(s.auth.revoke_pats(owner["id"].as_str().unwrap_or_default(), ids, all, event).await?)
}
