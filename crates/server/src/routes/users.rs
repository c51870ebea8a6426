//! `/api/v1/users/...`: basic-auth sessions, sign-up, the caller, users, bot tokens and
//! personal access tokens (contract §5–§7).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferrometa_auth::{Account, TokenExpiry};
use ferrometa_catalog::kinds::USER;
use ferrometa_catalog::users::{CreateUser, USER_FIELDS, USER_RELATIONS};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::routes::common::{DeleteParams, Fields, GetParams, ListParams, RestoreRequest, include, list_of, with_fields};
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

pub async fn login(State(s): State<AppState>, Body(req): Body<LoginRequest>) -> ApiResult<impl IntoResponse> {
    let user = s.catalog.user_by_email(&req.email).await?;
    let account = user.as_ref().map(account_of);
    s.auth.check_password(&req.email, &req.password, account.as_ref()).await?;
    let account = account.ok_or_else(|| ApiError::internal("login matched without an account"))?;
    s.store.audit(&account.name, "login", &account.name, "basic").await?;
    Ok(Json(s.auth.issue_session(&account).await?))
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
    Ok(Json(s.auth.issue_session(&account).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    token: String,
    refresh_token: Option<String>,
}

pub async fn logout(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<LogoutRequest>) -> ApiResult<impl IntoResponse> {
    s.auth.logout(&req.token, req.refresh_token.as_deref()).await?;
    s.store.audit(&caller.name, "logout", &caller.name, "").await?;
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

pub async fn signup(State(s): State<AppState>, Body(req): Body<RegistrationRequest>) -> ApiResult<impl IntoResponse> {
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
    let user = s.catalog.create_user(&create, "system").await?;
    s.auth.set_password(user["id"].as_str().unwrap_or_default(), &req.password).await?;
    s.store.audit(&create.name, "signup", &create.name, "basic").await?;
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
            caller.require_admin()?;
            let name = req.username.as_deref().unwrap_or_default();
            s.catalog.user_by_name(name).await?.ok_or_else(|| ApiError::not_found(format!("user instance for {name} not found")))?
        }
        other => return Err(ApiError::bad_request(format!("requestType must be SELF or USER, got {}", other.chars().take(20).collect::<String>()))),
    };
    let account = account_of(&target);
    if account.is_bot {
        return Err(ApiError::bad_request("Bots cannot have a password"));
    }
    s.auth.set_password(&account.id, &req.new_password).await?;
    s.auth.clear_failures(&account.email).await?;
    // Other sessions end: their refresh tokens are gone.
    s.store.delete_refresh_tokens_of(&account.id).await?;
    s.store.audit(&caller.name, "password.change", &account.name, "").await?;
    Ok("Password Updated Successfully")
}

// --- the caller ---

pub async fn logged_in_user(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult<Json<Value>> {
    match caller.user.clone() {
        Some(u) => Ok(Json(sync_roles_from_provider(&s, &caller, u).await?)),
        None if s.config.authentication.enable_self_signup => Err(ApiError::not_found(format!("user instance for {} not found", caller.name))),
        None => Err(ApiError::forbidden(format!(
            "User {} is not provisioned and self-signup is disabled. Ask an administrator to create the user.",
            caller.name
        ))),
    }
}

/// With `useRolesFromProvider`, the identity provider's groups decide the user's roles (through
/// `groupRoleMapping`) at each sign-in; role `Admin` makes the user an admin. Admin principals
/// keep their admin flag.
pub(crate) async fn sync_roles_from_provider(s: &AppState, caller: &Caller, user: Value) -> ApiResult<Value> {
    let cfg = &s.config;
    let Some(principal) = caller.principal.as_ref().filter(|p| p.sso_subject.is_some()) else { return Ok(user) };
    if !cfg.authorizer.use_roles_from_provider || user["isBot"] == json!(true) {
        return Ok(user);
    }
    let mapped: Vec<&str> = cfg.authentication.group_role_mapping.iter().filter(|(g, _)| principal.groups.contains(g)).map(|(_, r)| r.as_str()).collect();
    let mut roles = vec![];
    for role in mapped.iter().filter(|r| **r != "Admin") {
        match s.catalog.get_by_name(&ferrometa_catalog::kinds::ROLE, &ferrometa_catalog::fqn::quote(role), ferrometa_store::Include::NonDeleted).await {
            Ok(r) => roles.push(s.catalog.reference(&ferrometa_catalog::kinds::ROLE, &r)),
            Err(_) => tracing::warn!(role, "groupRoleMapping names a role that does not exist; skipped"),
        }
    }
    // Admin principals name users: judge the user bound to this token's iss+sub. An ID token
    // vouches for the email itself; an access token has none, so the user's verified flag counts.
    let from_access_token = caller.auth.as_ref().is_some_and(|a| a.token.kind == ferrometa_auth::verify::TokenKind::IdpAccess);
    let verified = if from_access_token { user["isEmailVerified"] == json!(true) } else { principal.email_verified };
    let admin_principal = verified && cfg.authorizer.admin_principals.iter().any(|a| user["name"].as_str() == Some(a.name.as_str()));
    let is_admin = admin_principal || mapped.contains(&"Admin");
    let updated = s.catalog.set_user_fields(&user, json!({"roles": roles, "isAdmin": is_admin}), "system").await?;
    if updated != user {
        s.forget_callers();
        s.store.audit("system", "roles.sync", &principal.name, &mapped.join(",")).await?;
    }
    Ok(updated)
}

pub async fn group_teams() -> Json<Value> {
    Json(json!([]))
}

// --- users ---

const FIELDS: Fields = (USER_FIELDS, USER_RELATIONS);

pub async fn list(State(s): State<AppState>, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    list_of(&s, &USER, FIELDS, q).await
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let user = s.catalog.get(&USER, &id, include(q.include.as_deref())?).await?;
    Ok(Json(with_fields(FIELDS, q.fields.as_deref(), user)?))
}

pub async fn get_by_name(State(s): State<AppState>, Path(name): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let user = s.catalog.get_by_name(&USER, &name.to_lowercase(), include(q.include.as_deref())?).await?;
    Ok(Json(with_fields(FIELDS, q.fields.as_deref(), user)?))
}

/// Admins create any user; a caller without a user creates itself when self-signup is on
/// (contract §6.2), with admin rights only for an `adminPrincipals` name with a verified email.
pub async fn create(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateUser>) -> ApiResult<impl IntoResponse> {
    if caller.is_admin {
        let user = s.catalog.create_user(&req, &caller.name).await?;
        s.store.audit(&caller.name, "user.create", &req.name, "").await?;
        return Ok((StatusCode::CREATED, Json(user)));
    }
    if caller.user.is_some() {
        return Err(ApiError::not_admin(&caller.name));
    }
    if !s.config.authentication.enable_self_signup {
        return Err(ApiError::forbidden("Self Signup is not enabled. Please contact your Administrator for assistance with account creation"));
    }
    let principal = caller.principal.clone().ok_or_else(|| ApiError::forbidden("Self Signup needs a signed-in user"))?;
    if caller.auth.as_ref().is_some_and(|a| a.token.kind == ferrometa_auth::verify::TokenKind::IdpAccess) {
        return Err(ApiError::forbidden("Self Signup needs an ID token: access tokens carry no email. Sign in once with the ID token."));
    }
    if req.name.to_lowercase() != principal.name || req.email.to_lowercase() != principal.email {
        return Err(ApiError::forbidden("Self Signup can only create user for self. Only Admin can create other users."));
    }
    let user = sign_up_self(&s, &principal, req).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Creates the caller's own user from its SSO principal (self-signup, or just-in-time on the
/// first ID token): admin only for an `adminPrincipals` name with a verified email, bound to the
/// token's `(iss, sub)`.
pub async fn sign_up_self(s: &AppState, principal: &ferrometa_auth::Principal, mut req: CreateUser) -> ApiResult<Value> {
    let admin_names = &s.config.authorizer.admin_principals;
    req.is_admin = Some(principal.email_verified && admin_names.iter().any(|a| a.name == principal.name));
    req.is_bot = Some(false);
    req.roles = None;
    req.teams = None;
    req.email_verified = principal.email_verified;
    let user = s.catalog.create_user(&req, &principal.name).await?;
    if let Some((iss, sub)) = &principal.sso_subject {
        s.store.bind_sso_subject(iss, sub, user["id"].as_str().unwrap_or_default()).await?;
    }
    s.store.audit(&principal.name, "user.signup", &principal.name, "sso").await?;
    Ok(user)
}

/// Admins create or update a user by name (OpenMetadata's `PUT /users`).
pub async fn put(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateUser>) -> ApiResult<impl IntoResponse> {
    let (user, created) = s.catalog.create_or_update_user(&req, &caller.name).await?;
    s.forget_callers();
    s.store.audit(&caller.name, if created { "user.create" } else { "user.update" }, &req.name, "").await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(user)))
}

/// Fields only an admin may change on a user.
/// Teams too: a team's default roles are its users' roles.
const ADMIN_ONLY_FIELDS: &[&str] = &["/isAdmin", "/isBot", "/email", "/roles", "/teams", "/isEmailVerified"];

pub async fn patch(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(patch): Body<json_patch::Patch>) -> ApiResult<Json<Value>> {
    let is_self = caller.user_id() == Some(id.as_str());
    if !caller.is_admin {
        if !is_self {
            return Err(ApiError::not_admin(&caller.name));
        }
        let touches_admin_field = patch.0.iter().any(|op| {
            let path = serde_json::to_value(op).ok().and_then(|v| v["path"].as_str().map(str::to_string)).unwrap_or_default();
            ADMIN_ONLY_FIELDS.iter().any(|f| path == *f || path.starts_with(&format!("{f}/")))
        });
        if touches_admin_field {
            return Err(ApiError::not_admin(&caller.name));
        }
    }
    let user = s.catalog.patch(&USER, &id, &patch, &caller.name).await?;
    s.forget_callers();
    s.store.audit(&caller.name, "user.patch", user["name"].as_str().unwrap_or_default(), "").await?;
    Ok(Json(user))
}

/// Deleting a user ends all its sessions and tokens; a deleted admin principal stays deleted.
pub async fn delete(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<DeleteParams>) -> ApiResult<Json<Value>> {
    let user = s.catalog.get(&USER, &id, ferrometa_store::Include::All).await?;
    let name = user["name"].as_str().unwrap_or_default().to_string();
    if user["isBot"] == json!(true) && crate::startup::SYSTEM_BOTS.contains(&name.as_str()) {
        return Err(ApiError::bad_request(format!("System bot user {name} cannot be deleted.")));
    }
    let hard = q.hard_delete.unwrap_or(false);
    let deleted = s.catalog.delete(&USER, &id, hard, &caller.name).await?;
    s.forget_callers();
    s.auth.revoke_everything(&id).await?;
    if hard {
        s.store.unbind_sso_subjects(&id).await?;
    }
    crate::startup::remember_deleted_admin(&s, &name).await?;
    s.store.audit(&caller.name, if hard { "user.hard_delete" } else { "user.delete" }, &name, "").await?;
    Ok(Json(deleted))
}

pub async fn restore(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RestoreRequest>) -> ApiResult<Json<Value>> {
    let user = s.catalog.restore(&USER, &req.id, &caller.name).await?;
    s.forget_callers();
    Ok(Json(user))
}

pub async fn versions(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.versions(&USER, &id).await?))
}

pub async fn version(State(s): State<AppState>, Path((id, v)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.version(&USER, &id, &v).await?))
}

// --- bot tokens ---

async fn bot_user(s: &AppState, id: &str) -> ApiResult<Value> {
    let user = s.catalog.get(&USER, id, ferrometa_store::Include::NonDeleted).await?;
    if user["isBot"] != json!(true) {
        return Err(ApiError::bad_request("JWT token is only supported for bot users"));
    }
    Ok(user)
}

#[derive(Deserialize)]
pub struct GenerateTokenRequest {
    #[serde(rename = "JWTTokenExpiry")]
    expiry: String,
}

pub fn parse_expiry(raw: &str) -> ApiResult<TokenExpiry> {
    TokenExpiry::parse(raw).ok_or_else(|| ApiError::bad_request(format!("JWTTokenExpiry must be one of {}", TokenExpiry::ALLOWED)))
}

pub async fn generate_token(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(req): Body<GenerateTokenRequest>) -> ApiResult<Json<Value>> {
    let expiry = parse_expiry(&req.expiry)?;
    let bot = account_of(&bot_user(&s, &id).await?);
    let mechanism = s.auth.generate_bot_token(&bot, expiry).await?;
    s.store.audit(&caller.name, "bot_token.generate", &bot.name, &expiry.as_str()).await?;
    Ok(Json(serde_json::to_value(mechanism).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct RevokeTokenRequest {
    id: String,
}

pub async fn revoke_token(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RevokeTokenRequest>) -> ApiResult<Json<Value>> {
    let user = s.catalog.get(&USER, &req.id, ferrometa_store::Include::NonDeleted).await?;
    if user["isBot"] != json!(true) {
        return Err(ApiError::bad_request("Revoke Token can only be applied to Bot Users."));
    }
    s.auth.revoke_bot_token(&req.id).await?;
    s.store.audit(&caller.name, "bot_token.revoke", user["name"].as_str().unwrap_or_default(), "").await?;
    Ok(Json(user))
}

pub async fn get_token(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    bot_user(&s, &id).await?;
    Ok(Json(s.auth.bot_token(&id).await?.map(|m| serde_json::to_value(m).unwrap_or_default()).unwrap_or_else(|| json!({}))))
}

pub async fn auth_mechanism(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    bot_user(&s, &id).await?;
    let config = s.auth.bot_token(&id).await?.map(|m| serde_json::to_value(m).unwrap_or_default()).unwrap_or_else(|| json!({}));
    Ok(Json(json!({"authType": "JWT", "config": config})))
}

// --- personal access tokens ---

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PatParams {
    username: Option<String>,
    remove_all: Option<bool>,
}

/// The user whose PATs are meant: the caller, or (admins only) `?username=`.
async fn pat_owner(s: &AppState, caller: &Caller, username: Option<&str>) -> ApiResult<Value> {
    match username.filter(|u| !u.eq_ignore_ascii_case(&caller.name)) {
        Some(other) => {
            caller.require_admin()?;
            s.catalog.user_by_name(other).await?.ok_or_else(|| ApiError::not_found(format!("user instance for {other} not found")))
        }
        None => caller.user.clone().ok_or_else(|| ApiError::not_found(format!("user instance for {} not found", caller.name))),
    }
}

fn pat_list(tokens: Vec<ferrometa_auth::PersonalAccessToken>) -> Value {
    let total = tokens.len();
    json!({"data": tokens, "paging": {"total": total}})
}

pub async fn list_pats(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<PatParams>) -> ApiResult<Json<Value>> {
    let owner = pat_owner(&s, &caller, q.username.as_deref()).await?;
    Ok(Json(pat_list(s.auth.list_pats(owner["id"].as_str().unwrap_or_default()).await?)))
}

#[derive(Deserialize)]
pub struct CreatePatRequest {
    #[serde(rename = "tokenName")]
    token_name: String,
    #[serde(rename = "JWTTokenExpiry")]
    expiry: String,
}

pub async fn create_pat(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreatePatRequest>) -> ApiResult<Json<Value>> {
    let expiry = parse_expiry(&req.expiry)?;
    let name = req.token_name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ApiError::bad_request("tokenName must be 1 to 128 characters"));
    }
    let owner = account_of(&pat_owner(&s, &caller, None).await?);
    let pat = s.auth.create_pat(&owner, name, expiry).await?;
    s.store.audit(&caller.name, "pat.create", &owner.name, name).await?;
    Ok(Json(serde_json::to_value(pat).unwrap_or_default()))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RevokePatRequest {
    #[serde(default)]
    token_ids: Vec<String>,
}

pub async fn revoke_pats(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<PatParams>, Body(req): Body<RevokePatRequest>) -> ApiResult<Json<Value>> {
    let owner = pat_owner(&s, &caller, q.username.as_deref()).await?;
    let remaining = s.auth.revoke_pats(owner["id"].as_str().unwrap_or_default(), &req.token_ids, q.remove_all.unwrap_or(false)).await?;
    s.store.audit(&caller.name, "pat.revoke", owner["name"].as_str().unwrap_or_default(), "").await?;
    Ok(Json(pat_list(remaining)))
}
