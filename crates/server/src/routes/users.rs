//! `/api/v1/users/...`: basic-auth sessions, sign-up, the caller, users, bot tokens and
//! personal access tokens (contract §5–§7).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferrometa_auth::{Account, LoginAttempt};
use ferrometa_catalog::Key;
use ferrometa_catalog::fqn::quote;
use ferrometa_catalog::kinds::USER;
use ferrometa_catalog::users::{CreateUser, USER_FIELDS, USER_RELATIONS};
use ferrometa_store::Origin;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Caller, live_user};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, ClientAddr, Query};
use crate::ops;
use crate::routes::common::{DeleteParams, Fields, GetParams, ListParams, RestoreRequest, list_of, read_one};
use crate::state::AppState;

/// The auth service's view of a user entity.
pub fn account_of(user: &Value) -> Account {
    let s = |k: &str| user[k].as_str().unwrap_or_default().to_string();
    let mut roles: Vec<String> = user["roles"].as_array().map(|r| r.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect()).unwrap_or_default();
    let is_admin = user["isAdmin"] == json!(true);
    if is_admin {
        roles.push("Admin".into());
    }
    Account { id: s("id"), name: s("name"), email: s("email"), is_bot: user["isBot"] == json!(true), is_admin, roles }
}

// --- basic auth ---

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
}

/// A password sign-in: a `login` event (success or failure) and, on success, a basic-auth
/// session whose start is a `session.start` event.
pub async fn login(State(s): State<AppState>, ClientAddr(client): ClientAddr, Body(req): Body<LoginRequest>) -> ApiResult<impl IntoResponse> {
    let user = s.catalog.user_by_email(&req.email).await?;
    let account = user.as_ref().map(account_of);
    s.auth.check_password(&LoginAttempt { email: &req.email, client, via: "api" }, &req.password, account.as_ref()).await?;
    let account = account.ok_or_else(|| ApiError::internal("login matched without an account"))?;
    let started = Origin { actor: &account.name, client }.event("session.start", &account.name).detail("api basic");
    Ok(Json(s.auth.issue_session(&account, Some(&started)).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    refresh_token: String,
}

pub async fn refresh(State(s): State<AppState>, Body(req): Body<RefreshRequest>) -> ApiResult<impl IntoResponse> {
    let user_id = s.auth.take_refresh_token(&req.refresh_token).await?;
    let user = s.catalog.get(&USER, &user_id, ferrometa_store::Include::NonDeleted).await.map_err(|_| ApiError::bad_request("Expired token. Please login again"))?;
    let account = account_of(&user);
    if account.is_bot {
        return Err(ApiError::bad_request("User are only allowed to login"));
    }
    // A refresh continues the session its token belongs to.
    Ok(Json(s.auth.issue_session(&account, None).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    token: String,
    refresh_token: Option<String>,
}

pub async fn logout(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<LogoutRequest>) -> ApiResult<impl IntoResponse> {
    let ended = caller.origin().event("session.end", &caller.name).detail("api logout");
    s.auth.logout(&req.token, req.refresh_token.as_deref(), Some(&ended)).await?;
    Ok("Logout Successful")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationRequest {
    first_name: String,
    last_name: String,
    email: String,
    password: String,
}

/// Basic-auth self-registration; the new user is the author of its `user.create` event.
pub async fn signup(State(s): State<AppState>, ClientAddr(client): ClientAddr, Body(req): Body<RegistrationRequest>) -> ApiResult<impl IntoResponse> {
    let cfg = &s.config;
    if !cfg.authentication.enable_self_signup || cfg.authentication.provider.is_sso() {
        return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, "Self Signup is not enabled. Please contact your Administrator for assistance with account creation"));
    }
    let email = ferrometa_catalog::email::Email::parse(&req.email)?;
    let domains = &cfg.authorizer.allowed_registration_domains;
    if !domains.iter().any(|d| d == "all" || d == email.domain()) {
        return Err(ApiError::bad_request("Email with the given domain is not allowed. Contact Administrator"));
    }
    ferrometa_auth::password::check_policy(&req.password)?;
    if s.catalog.user_by_email(email.as_str()).await?.is_some() {
        return Err(ApiError::bad_request("User with Email Already Exists"));
    }
    let name = free_user_name(&s, email.local_part()).await?;
    let create = CreateUser { name, email: email.as_str().into(), display_name: Some(format!("{} {}", req.first_name, req.last_name).trim().to_string()), ..Default::default() };
    let user = s.catalog.create_user(&create, Origin { actor: &create.name, client }).await?;
    s.auth.set_password(user["id"].as_str().unwrap_or_default(), &req.password, None).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// `name`, or `name1`, `name2`, ... when taken (OpenMetadata de-duplicates the same way).
async fn free_user_name(s: &AppState, base: &str) -> ApiResult<String> {
    for i in 0..1000 {
        let candidate = if i == 0 { base.to_string() } else { format!("{base}{i}") };
        if s.catalog.user_by_name(&candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(ApiError::bad_request("No free user name for this email"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    username: Option<String>,
    old_password: Option<String>,
    new_password: String,
    confirm_password: String,
    request_type: Option<String>,
}

pub async fn change_password(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<ChangePasswordRequest>) -> ApiResult<impl IntoResponse> {
    if req.new_password != req.confirm_password {
        return Err(ApiError::bad_request("Password and Confirm Password should match"));
    }
    ferrometa_auth::password::check_policy(&req.new_password)?;
    let target = match req.request_type.as_deref().unwrap_or("SELF") {
        "SELF" => {
            let user = caller.user.clone().ok_or_else(|| ApiError::not_found(format!("user instance for {} not found", caller.name)))?;
            let id = user["id"].as_str().unwrap_or_default().to_string();
            if !s.auth.password_matches(&id, req.old_password.as_deref().unwrap_or_default()).await? {
                return Err(ApiError::bad_request("Old Password is not correct"));
            }
            user
        }
        "USER" => {
            s.catalog.require_admin(caller.actor()?, "user").await?;
            let name = req.username.as_deref().unwrap_or_default();
            s.catalog.user_by_name(name).await?.ok_or_else(|| ApiError::not_found(format!("user instance for {name} not found")))?
        }
        other => return Err(ApiError::bad_request(format!("requestType must be SELF or USER, got {}", other.chars().take(20).collect::<String>()))),
    };
    let account = account_of(&target);
    if account.is_bot {
        return Err(ApiError::bad_request("Bots cannot have a password"));
    }
    s.auth.set_password(&account.id, &req.new_password, Some(&caller.origin().event("password.change", &account.name))).await?;
    s.auth.clear_failures(&account.email).await?;
    // Other sessions end: their refresh tokens are gone.
    s.store.delete_refresh_tokens_of(&account.id).await?;
    Ok("Password Updated Successfully")
}

// --- the caller ---

pub async fn logged_in_user(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    match caller.user.clone() {
        Some(u) => Ok(Json(ops::users::sync_roles_from_provider(&s, &caller, u).await?)),
        None if caller.principal.as_ref().is_some_and(|p| p.sso_subject.is_some()) && s.config.authentication.enable_self_signup => {
            Err(ApiError::not_found(format!("user instance for {} not found", caller.name)))
        }
        None => Err(live_user(&s, &caller).expect_err("a caller without a user is not live")),
    }
}

pub async fn group_teams() -> Json<Value> {
    Json(json!([]))
}

// --- users ---

const FIELDS: Fields = (USER_FIELDS, USER_RELATIONS);

pub async fn list(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    list_of(&s, &caller, &USER, FIELDS, Some("isBot"), q).await
}

pub async fn get(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_one(&s, &caller, &USER, FIELDS, Key::Id(&id), q).await
}

/// By name; a name with dots is quoted, as OpenMetadata builds a user's FQN.
pub async fn get_by_name(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let fqn = quote(name.trim_matches('"').to_lowercase().as_str());
    read_one(&s, &caller, &USER, FIELDS, Key::Fqn(&fqn), q).await
}

pub async fn create(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateUser>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(ops::users::create(&s, &caller, req).await?)))
}

/// OpenMetadata's `PUT /users`: create or update by name.
pub async fn put(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateUser>) -> ApiResult<impl IntoResponse> {
    let (user, created) = s.catalog.put_user(caller.actor()?, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(user)))
}

pub async fn patch(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(patch): Body<json_patch::Patch>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.patch_user(caller.actor()?, &id, &patch).await?))
}

pub async fn delete(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<DeleteParams>) -> ApiResult<Json<Value>> {
    Ok(Json(ops::users::delete(&s, &caller, &id, q.hard_delete.unwrap_or(false)).await?))
}

pub async fn restore(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RestoreRequest>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.restore_user_as(caller.actor()?, &req.id).await?))
}

pub async fn versions(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.read_versions(caller.actor()?, &USER, &id).await?))
}

pub async fn version(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((id, v)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.read_version(caller.actor()?, &USER, &id, &v).await?))
}

// --- bot tokens ---

#[derive(Deserialize)]
pub struct GenerateTokenRequest {
    #[serde(rename = "JWTTokenExpiry")]
    pub expiry: String,
}

fn json_of<T: serde::Serialize>(value: T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or_default())
}

pub async fn generate_token(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(req): Body<GenerateTokenRequest>) -> ApiResult<Json<Value>> {
    let expiry = ops::tokens::parse_expiry(&req.expiry)?;
    Ok(json_of(ops::tokens::generate_bot_token(&s, &caller, &id, expiry).await?))
}

#[derive(Deserialize)]
pub struct RevokeTokenRequest {
    pub id: String,
}

pub async fn revoke_token(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RevokeTokenRequest>) -> ApiResult<Json<Value>> {
    Ok(Json(ops::tokens::revoke_bot_token(&s, &caller, &req.id).await?))
}

pub async fn get_token(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(ops::tokens::bot_token(&s, &caller, &id).await?.map(json_of).unwrap_or_else(|| Json(json!({}))))
}

pub async fn auth_mechanism(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let config = ops::tokens::bot_token(&s, &caller, &id).await?.map(|m| serde_json::to_value(m).unwrap_or_default()).unwrap_or_else(|| json!({}));
    Ok(Json(json!({"authType": "JWT", "config": config})))
}

// --- personal access tokens ---

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PatParams {
    username: Option<String>,
    remove_all: Option<bool>,
}

fn pat_list(tokens: Vec<ferrometa_auth::PersonalAccessToken>) -> Json<Value> {
    let total = tokens.len();
    Json(json!({"data": tokens, "paging": {"total": total}}))
}

pub async fn list_pats(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<PatParams>) -> ApiResult<Json<Value>> {
    Ok(pat_list(ops::tokens::list_pats(&s, &caller, q.username.as_deref()).await?))
}

#[derive(Deserialize)]
pub struct CreatePatRequest {
    #[serde(rename = "tokenName")]
    token_name: String,
    #[serde(rename = "JWTTokenExpiry")]
    expiry: String,
}

pub async fn create_pat(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreatePatRequest>) -> ApiResult<Json<Value>> {
    let expiry = ops::tokens::parse_expiry(&req.expiry)?;
    Ok(json_of(ops::tokens::create_pat(&s, &caller, &req.token_name, expiry).await?))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RevokePatRequest {
    #[serde(default)]
    token_ids: Vec<String>,
}

pub async fn revoke_pats(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<PatParams>, Body(req): Body<RevokePatRequest>) -> ApiResult<Json<Value>> {
    Ok(pat_list(ops::tokens::revoke_pats(&s, &caller, q.username.as_deref(), &req.token_ids, q.remove_all.unwrap_or(false)).await?))
}
