//! Users: sign-up, creation, deletion (with every credential the user holds), and the roles an
//! identity provider's groups give.

use std::net::IpAddr;

use ferrometa_auth::Principal;
use ferrometa_auth::verify::TokenKind;
use ferrometa_catalog::users::CreateUser;
use ferrometa_store::Origin;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether a sign-in makes its user an admin through `adminPrincipals`: the name is listed, the
/// email is verified and in the principal domain (or `allowedDomains`), and the principal was
/// not deleted on purpose (a deleted admin principal cannot be claimed again).
pub async fn is_admin_principal(s: &AppState, name: &str, email: &str, email_verified: bool) -> ApiResult<bool> {
    let listed = s.config.authorizer.admin_principals.iter().any(|a| a.name == name);
    if !listed || s.auth.rules().check_domain(email, email_verified).is_err() {
        return Ok(false);
    }
    Ok(!crate::startup::was_deleted_admin(s, name).await?)
}

/// POST /users: a signed-in user creates users as its policies allow; a caller without a user
/// signs itself up when self-signup is on (contract §6.2), with an SSO ID token only.
pub async fn create(s: &AppState, caller: &Caller, req: CreateUser) -> ApiResult<Value> {
    if caller.subject.is_some() {
        return Ok(s.catalog.create_user_as(caller.actor()?, &req).await?);
    }
    if !s.config.authentication.enable_self_signup {
        return Err(ApiError::forbidden("Self Signup is not enabled. Please contact your Administrator for assistance with account creation"));
    }
    let principal = caller.principal.clone().filter(|p| p.sso_subject.is_some()).ok_or_else(|| ApiError::unauthorized(format!("Not Authorized! The user {} of this token no longer exists", caller.name)))?;
    if caller.auth.as_ref().is_some_and(|a| a.token.kind == TokenKind::IdpAccess) {
        return Err(ApiError::forbidden("Self Signup needs an ID token: access tokens carry no email. Sign in once with the ID token."));
    }
    if req.name.to_lowercase() != principal.name || req.email.to_lowercase() != principal.email {
        return Err(ApiError::forbidden("Self Signup can only create user for self. Only Admin can create other users."));
    }
    sign_up_self(s, &principal, req, caller.client).await
}

/// Creates the caller's own user from its SSO principal (self-signup, or just-in-time on the
/// first ID token), bound to the token's `(iss, sub)`; an admin only as [`is_admin_principal`]
/// allows. The user is its own creator in the audit trail (`client`: the request's peer).
pub async fn sign_up_self(s: &AppState, principal: &Principal, mut req: CreateUser, client: Option<IpAddr>) -> ApiResult<Value> {
    req.is_admin = Some(is_admin_principal(s, &principal.name, &principal.email, principal.email_verified).await?);
    req.is_bot = Some(false);
    req.roles = None;
    req.teams = None;
    req.email_verified = principal.email_verified;
    let user = s.catalog.create_user(&req, Origin { actor: &principal.name, client }).await?;
    if let Some((iss, sub)) = &principal.sso_subject {
        // Part of the sign-up its `user.create` event records.
        s.store.bind_sso_subject(iss, sub, user["id"].as_str().unwrap_or_default(), None).await?;
    }
    Ok(user)
}

/// DELETE /users/{id}: the user (soft or hard) and, at once, every credential it holds —
/// sessions, refresh tokens, personal access tokens, its bot token, its password — and the
/// access tokens already issued (its credential generation moves on). A deleted admin principal
/// stays deleted. The deletion's `user.delete` event stands for the credentials too.
pub async fn delete(s: &AppState, caller: &Caller, id: &str, hard: bool) -> ApiResult<Value> {
    let deleted = s.catalog.delete_user_as(caller.actor()?, id, hard).await?;
    let name = deleted["name"].as_str().unwrap_or_default().to_string();
    s.auth.revoke_everything(id, &name).await?;
    if hard {
        s.store.unbind_sso_subjects(id).await?;
    }
    crate::startup::remember_deleted_admin(s, &name).await?;
    Ok(deleted)
}

/// With `useRolesFromProvider`, the identity provider's groups decide the user's roles (through
/// `groupRoleMapping`) at each sign-in; role `Admin` makes the user an admin. Admin principals
/// keep their admin flag. The system is the author of the change (`user.admin` in the audit
/// trail when the admin flag flips), from the caller's address.
pub async fn sync_roles_from_provider(s: &AppState, caller: &Caller, user: Value) -> ApiResult<Value> {
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
    let from_access_token = caller.auth.as_ref().is_some_and(|a| a.token.kind == TokenKind::IdpAccess);
    let verified = if from_access_token { user["isEmailVerified"] == json!(true) } else { principal.email_verified };
    let name = user["name"].as_str().unwrap_or_default();
    let admin_principal = is_admin_principal(s, name, user["email"].as_str().unwrap_or_default(), verified).await?;
    let is_admin = admin_principal || mapped.contains(&"Admin");
    Ok(s.catalog.set_user_fields(&user, json!({"roles": roles, "isAdmin": is_admin}), Origin { actor: "system", client: caller.client }).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn state(dir: &std::path::Path) -> AppState {
        let env = [("FERROMETA_DATA_DIR", dir.display().to_string()), ("AUTHORIZER_ADMIN_PRINCIPALS", "[admin]".to_string())];
        let config = ferrometa_config::load(None, &|k| env.iter().find(|(e, _)| *e == k).map(|(_, v)| v.clone())).unwrap().config;
        crate::startup::build_state(config).await.unwrap()
    }

    /// Issue 14, hole 3: admin rights by name need a verified email of the principal domain,
    /// and a deleted admin principal is never claimed again.
    #[tokio::test]
    async fn admin_principals_need_a_verified_email_of_the_domain_and_no_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let s = state(dir.path()).await;
        let admin = |email: &'static str, verified: bool| is_admin_principal(&s, "admin", email, verified);
        assert!(admin("admin@open-metadata.org", true).await.unwrap());
        assert!(!admin("admin@open-metadata.org", false).await.unwrap(), "unverified");
        assert!(!admin("admin@example.com", true).await.unwrap(), "another domain");
        assert!(!is_admin_principal(&s, "mallory", "mallory@open-metadata.org", true).await.unwrap(), "not a principal");
        crate::startup::remember_deleted_admin(&s, "admin").await.unwrap();
        assert!(!admin("admin@open-metadata.org", true).await.unwrap(), "deleted on purpose");
    }
}
