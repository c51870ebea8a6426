//! Who may call what: every endpoint's required access is declared in the endpoint table
//! ([`crate::routes::endpoints`]); the middleware enforces it, refusing anything undeclared.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use ferrometa_auth::{Authenticated, Principal};
use ferrometa_auth::verify::TokenKind;
use ferrometa_catalog::kinds::USER;
use ferrometa_catalog::{Actor, Subject};
use ferrometa_store::{Include, Origin};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed (contract §3.1 and the UI's sign-in pages).
    Public,
    /// Valid credentials whose user may not exist yet: an SSO user's first sign-up, asking who
    /// it is, logging out.
    SignedIn,
    /// Valid credentials of a live (existing, not deleted) user; what that user may do is
    /// decided by the use case the endpoint calls (`Catalog::authorize`).
    User,
}

use Access::*;

/// route pattern → method → access, built once from [`crate::routes::endpoints`].
fn table() -> &'static HashMap<&'static str, Vec<(Method, Access)>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<(Method, Access)>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<&'static str, Vec<(Method, Access)>> = HashMap::new();
        for e in crate::routes::endpoints() {
            table.entry(e.path).or_default().push((e.method, e.access));
        }
        table
    })
}

pub fn required(method: &Method, path: &str) -> Option<Access> {
    table().get(path)?.iter().find(|(m, _)| m == method).map(|(_, a)| *a)
}

/// The caller of a request, for handlers: cheap to clone (handlers' extractors clone it). Who
/// it is may be cached and shared between requests; where the request came from is its own.
#[derive(Debug, Clone)]
pub struct Caller {
    data: Arc<CallerData>,
    /// The request's TCP peer, for the audit trail (none outside a connection, e.g. in tests
    /// that call the router directly). Never taken from headers such as `X-Forwarded-For`.
    pub client: Option<IpAddr>,
}

impl std::ops::Deref for Caller {
    type Target = CallerData;
    fn deref(&self) -> &CallerData {
        &self.data
    }
}

#[derive(Debug)]
pub struct CallerData {
    pub name: String,
    pub email: String,
    /// The caller's user entity; `None` before an SSO user's first sign-up.
    pub user: Option<Value>,
    /// The caller as the catalog authorizes it; `Some` exactly when the user is live.
    pub subject: Option<Subject>,
    pub principal: Option<Principal>,
    pub auth: Option<Authenticated>,
}

impl Caller {
    fn new(data: CallerData, client: Option<IpAddr>) -> Caller {
        Caller { data: Arc::new(data), client }
    }

    /// With authentication off (development only): an admin named `anonymous`, made once.
    fn anonymous(catalog: &ferrometa_catalog::Catalog, client: Option<IpAddr>) -> Caller {
        static ANONYMOUS: OnceLock<Caller> = OnceLock::new();
        ANONYMOUS
            .get_or_init(|| {
                let user = json!({"id": "anonymous", "name": "anonymous", "isAdmin": true, "isBot": false});
                Caller::new(CallerData { name: "anonymous".into(), email: String::new(), subject: catalog.subject(&user).ok(), user: Some(user), principal: None, auth: None }, None)
            })
            .at(client)
    }

    /// The same caller, in a request from `client`.
    pub fn at(&self, client: Option<IpAddr>) -> Caller {
        Caller { data: self.data.clone(), client }
    }

    /// The caller as a live user, for what it may do (no request: nothing is recorded).
    pub fn subject(&self) -> ApiResult<&Subject> {
        self.subject.as_ref().ok_or_else(|| ApiError::unauthorized(format!("Not Authorized! There is no user {} here", self.name)))
    }

    /// The caller as a live user acting in this request, for the use cases that act for one.
    pub fn actor(&self) -> ApiResult<Actor<'_>> {
        Ok(Actor::new(self.subject()?, self.client))
    }

    /// The caller as the author of what it changes, live user or not (signing out, signing up).
    pub fn origin(&self) -> Origin<'_> {
        Origin { actor: &self.name, client: self.client }
    }

    pub fn is_admin(&self) -> bool {
        self.subject.as_ref().is_some_and(Subject::is_admin)
    }

    pub fn is_bot(&self) -> bool {
        self.subject.as_ref().is_some_and(Subject::is_bot) || self.principal.as_ref().is_some_and(|p| p.is_bot)
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u["id"].as_str())
    }
}

/// Callers resolved from identity-provider tokens, keyed by the token itself, each reused for at
/// most `ttl` and only while nothing changed who may do what (the catalog's access
/// generation), bounded in number. A hit costs a hash of the token and two comparisons.
pub struct CallerCache {
    callers: quick_cache::sync::Cache<String, (Caller, Instant, u64)>,
    ttl: Duration,
}

impl CallerCache {
    pub fn new(capacity: usize, ttl: Duration) -> CallerCache {
        CallerCache { callers: quick_cache::sync::Cache::new(capacity), ttl }
    }

    pub fn get(&self, token: &str, generation: u64) -> Option<Caller> {
        self.callers.get(token).filter(|(_, cached_at, g)| cached_at.elapsed() < self.ttl && *g == generation).map(|(caller, _, _)| caller)
    }

    pub fn insert(&self, token: String, caller: Caller, generation: u64) {
        self.callers.insert(token, (caller, Instant::now(), generation));
    }
}

pub async fn enforce(State(state): State<AppState>, matched: Option<MatchedPath>, mut req: Request, next: Next) -> Response {
    let path = matched.as_ref().map(|m| m.as_str()).unwrap_or("");
    let client = crate::extract::client_of(req.extensions());
    let caller = match authorize(&state, req.method(), path, req.headers(), client).await {
        Ok(c) => c,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    if let Some(c) = caller {
        req.extensions_mut().insert(c);
    }
    next.run(req).await
}

async fn authorize(state: &AppState, method: &Method, path: &str, headers: &axum::http::HeaderMap, client: Option<IpAddr>) -> ApiResult<Option<Caller>> {
    let Some(access) = required(method, path) else {
        tracing::error!(%method, path, "endpoint has no entry in the access table");
        return Err(ApiError::forbidden("No access rule is declared for this endpoint"));
    };
    if !state.config.authorizer.authenticate_requests {
        return Ok(Some(Caller::anonymous(&state.catalog, client)));
    }
    if access == Public {
        return Ok(None);
    }
    // A bearer token, or else the browser's session cookie (with its CSRF token on writes).
    let credentials = state.sessions.request_credentials(method, headers).await?;
    let caller = authenticated_caller(state, credentials.as_deref(), client).await?;
    static SUCCESSES: OnceLock<metrics::Counter> = OnceLock::new();
    SUCCESSES.get_or_init(|| metrics::counter!("ferrometa_auth_success_total")).increment(1);
    if access == User {
        live_user(state, &caller)?;
    }
    Ok(Some(caller))
}

/// Only live users act: a valid token whose user does not exist (or no longer does) reaches
/// nothing but sign-up, who-am-I and logout.
pub fn live_user(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if caller.subject.is_some() {
        return Ok(());
    }
    let from_idp = caller.principal.as_ref().is_some_and(|p| p.sso_subject.is_some());
    if !from_idp {
        return Err(ApiError::unauthorized(format!("Not Authorized! The user {} of this token no longer exists", caller.name)));
    }
    if state.config.authentication.enable_self_signup {
        Err(ApiError::forbidden(format!("User {} has not signed up yet: sign up first (POST /api/v1/users)", caller.name)))
    } else {
        Err(ApiError::forbidden(format!("User {} is not provisioned and self-signup is disabled. Ask an administrator to create the user.", caller.name)))
    }
}

/// The caller of an `Authorization` value. A caller resolved from an identity-provider token is
/// reused without verifying the token again (only its times are re-checked): the signature was
/// checked when it was cached, and such tokens carry no revocable state of ours. The cache is
/// keyed by the token itself, hashed with a seeded fast hash: a SHA-256 of it would cost more
/// than the rest of the lookup. Our own tokens are checked against the database every time.
pub async fn authenticated_caller(state: &AppState, authorization: Option<&str>, client: Option<IpAddr>) -> ApiResult<Caller> {
    let token = ferrometa_auth::bearer_token(authorization)?;
    match cached_caller(state, token)? {
        Some(cached) => Ok(cached.at(client)),
        // Boxed: verifying a token and finding its user make a future of several kilobytes,
        // which every request's middleware future would otherwise carry, and a cache hit touch.
        None => Box::pin(resolve_caller(state, authorization, token, client)).await,
    }
}

fn cached_caller(state: &AppState, token: &str) -> ApiResult<Option<Caller>> {
    let Some(cached) = state.callers.get(token, state.catalog.access_generation()) else { return Ok(None) };
    if let Some(auth) = &cached.auth {
        state.auth.verifier().recheck(&auth.token)?;
    }
    Ok(Some(cached))
}

async fn resolve_caller(state: &AppState, authorization: Option<&str>, token: &str, client: Option<IpAddr>) -> ApiResult<Caller> {
    // Read before resolving: a change made while this caller is resolved makes it stale.
    let generation = state.catalog.access_generation();
    let auth = state.auth.authenticate(authorization).await?;
    let from_idp = auth.principal.sso_subject.is_some();
    let caller = caller_of(state, auth, client).await?;
    if from_idp && caller.subject.is_some() {
        state.callers.insert(token.to_string(), caller.clone(), generation);
    }
    Ok(caller)
}

/// Finds the caller's user. SSO users are bound to `(iss, sub)` on their first sign-in with a
/// verified email equal to the user's email; afterwards only that subject reaches the user.
/// `client` is the request's TCP peer (for the audit events of a binding or a sign-up).
pub async fn caller_of(state: &AppState, auth: Authenticated, client: Option<IpAddr>) -> ApiResult<Caller> {
    let p = auth.principal.clone();
    let user = match &p.sso_subject {
        None => state.catalog.user_by_name(&p.name).await?,
        Some((iss, sub)) => sso_user(state, &p, iss, sub, auth.token.kind, client).await?,
    };
    let subject = match &user {
        // NoopAuthorizer: every signed-in user is an admin.
        Some(u) if !state.config.authorizer.enforce_authorization => Some(state.catalog.subject(&with_admin(u))?),
        Some(u) => Some(state.catalog.subject(u)?),
        None => None,
    };
    Ok(Caller::new(CallerData { name: p.name.clone(), email: p.email.clone(), subject, user, principal: Some(p), auth: Some(auth) }, client))
}

fn with_admin(user: &Value) -> Value {
    let mut user = user.clone();
    user["isAdmin"] = json!(true);
    user
}

/// With `jitProvisioning` (and self-signup on), a verified ID token creates its user at once.
async fn just_in_time(state: &AppState, p: &Principal, kind: TokenKind, client: Option<IpAddr>) -> ApiResult<Option<Value>> {
    let authn = &state.config.authentication;
    if !(authn.jit_provisioning && authn.enable_self_signup && kind == TokenKind::IdpId && p.email_verified) {
        return Ok(None);
    }
    let req = ferrometa_catalog::users::CreateUser { name: p.name.clone(), email: p.email.clone(), ..Default::default() };
    match crate::ops::users::sign_up_self(state, p, req, client).await {
        Ok(user) => Ok(Some(user)),
        // A concurrent first request created it; the next request finds the binding.
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => Ok(None),
        Err(e) => Err(e),
    }
}

async fn sso_user(state: &AppState, p: &Principal, iss: &str, sub: &str, kind: TokenKind, client: Option<IpAddr>) -> ApiResult<Option<Value>> {
    if let Some(id) = state.store.sso_subject_user(iss, sub).await? {
        // A soft-deleted user stays bound (a restore brings it back): it is refused as deleted
        // (401, as our own tokens), not sent to a sign-up that its name already holds.
        let user = state.catalog.get(&USER, &id, Include::All).await.ok();
        if kind == TokenKind::IdpAccess {
            check_access_token_domain(state, user.as_ref())?;
        }
        return Ok(user);
    }
    if kind == TokenKind::IdpAccess {
        check_access_token_domain(state, None)?;
    }
    let Some(user) = state.catalog.user_by_name(&p.name).await? else { return just_in_time(state, p, kind, client).await };
    let bindable = kind == TokenKind::IdpId && p.email_verified && user["email"].as_str() == Some(p.email.as_str()) && user["isBot"] != Value::Bool(true);
    if !bindable || !state.store.sso_bindings_of(user["id"].as_str().unwrap_or_default()).await?.is_empty() {
        return Err(ApiError::unauthorized(format!(
            "Not Authorized! The user {} exists but is not linked to this sign-in (a verified email equal to the user's email is needed on first sign-in)",
            p.name
        )));
    }
    let by = Origin { actor: &p.name, client };
    state.store.bind_sso_subject(iss, sub, user["id"].as_str().unwrap_or_default(), Some(&by.event("sso.bind", &p.name).detail(iss))).await?;
    // The binding proved the user's email (verified by the identity provider).
    let user = if user["isEmailVerified"] == Value::Bool(true) { user } else { state.catalog.set_user_fields(&user, json!({"isEmailVerified": true}), Origin { actor: "system", client }).await? };
    Ok(Some(user))
}

/// With principal-domain enforcement, an access token (which carries no email) reaches only a
/// user bound to its subject whose stored email is verified and in the allowed domains.
fn check_access_token_domain(state: &AppState, user: Option<&Value>) -> ApiResult<()> {
    let rules = state.auth.rules();
    if !rules.enforces_domain() {
        return Ok(());
    }
    let Some(user) = user else {
        return Err(ApiError::unauthorized(
            "Not Authorized! An access token carries no email: with principal-domain enforcement it is accepted only after a first sign-in with the ID token",
        ));
    };
    rules.check_domain(user["email"].as_str().unwrap_or_default(), user["isEmailVerified"] == Value::Bool(true))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrometa_auth::claims::Claims;
    use ferrometa_auth::verify::{VerifiedToken, sha256_hex};

    async fn state(dir: &std::path::Path) -> AppState {
        let env = [("FERROMETA_DATA_DIR", dir.display().to_string())];
        let config = ferrometa_config::load(None, &|k| env.iter().find(|(e, _)| *e == k).map(|(_, v)| v.clone())).unwrap().config;
        crate::startup::build_state(config).await.unwrap()
    }

    /// A caller cached for an identity-provider token whose `exp` is `exp`.
    fn cache_caller(state: &AppState, token: &str, exp: i64) {
        let claims = Claims(serde_json::from_value(json!({"exp": exp, "sub": "s-1", "iss": "https://idp"})).unwrap());
        let verified = VerifiedToken { claims, kind: TokenKind::IdpId, issuer: "https://idp".into(), expires_at: Some(exp), not_before: None, issued_at: None, hash: sha256_hex(token.as_bytes()) };
        let principal = Principal { name: "alice".into(), email: "alice@open-metadata.org".into(), is_bot: false, email_verified: true, sso_subject: Some(("https://idp".into(), "s-1".into())), groups: vec![] };
        let auth = Authenticated { principal: principal.clone(), token: Arc::new(verified) };
        let user = json!({"id": "u-1", "name": "alice"});
        let data = CallerData { name: "alice".into(), email: principal.email.clone(), subject: state.catalog.subject(&user).ok(), user: Some(user), principal: Some(principal), auth: Some(auth) };
        state.callers.insert(token.into(), Caller::new(data, None), state.catalog.access_generation());
    }

    #[tokio::test]
    async fn a_cached_caller_is_reused_only_while_its_token_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        let now = ferrometa_auth::tokens::now_secs();
        cache_caller(&state, "fresh-token", now + 600);
        let client = "127.0.0.1".parse().ok();
        let caller = authenticated_caller(&state, Some("Bearer fresh-token"), client).await.expect("cached caller");
        assert_eq!((caller.name.as_str(), caller.client), ("alice", client), "a cached caller takes the address of the request");
        cache_caller(&state, "expired-token", now - 3600);
        let err = authenticated_caller(&state, Some("Bearer expired-token"), None).await.expect_err("expired while cached");
        assert_eq!((err.status, err.message.as_str()), (axum::http::StatusCode::UNAUTHORIZED, "Expired token!"));
        let err = authenticated_caller(&state, Some("Basic abc"), None).await.expect_err("no bearer token");
        assert_eq!(err.status, axum::http::StatusCode::UNAUTHORIZED);
    }

    /// Every request's middleware future holds `authorize`'s. The slow paths (verifying a
    /// token, finding its user, a session cookie) are boxed, so that it stays small: a cache
    /// hit then touches little memory.
    #[tokio::test]
    async fn the_authorization_future_of_every_request_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        let headers = axum::http::HeaderMap::new();
        let size = std::mem::size_of_val(&authorize(&state, &Method::GET, "/api/v1/tables", &headers, None));
        assert!(size <= 512, "authorize's future takes {size} bytes");
    }

    /// A cached caller is reused for its time to live only, and only while nothing changed
    /// who may do what.
    #[tokio::test]
    async fn cached_callers_expire_and_go_stale_with_access_changes() {
        let dir = tempfile::tempdir().unwrap();
        let caller = Caller::anonymous(&state(dir.path()).await.catalog, None);
        let expired = CallerCache::new(10, Duration::ZERO);
        expired.insert("t".into(), caller.clone(), 0);
        assert!(expired.get("t", 0).is_none(), "past its time to live");
        let live = CallerCache::new(10, Duration::from_secs(60));
        live.insert("t".into(), caller, 3);
        assert_eq!(live.get("t", 3).map(|c| c.name.clone()).as_deref(), Some("anonymous"));
        assert!(live.get("other", 3).is_none());
        assert!(live.get("t", 4).is_none(), "stale after a change to users, teams, roles or policies");
    }
}
