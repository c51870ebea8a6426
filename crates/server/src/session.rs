//! Browser sessions (backend-for-frontend, `decisions.md` §3): the browser holds only an opaque
//! 256-bit session id in an HttpOnly cookie; the database holds its SHA-256, the bearer token the
//! session stands for (the provider's ID token, or our own basic-auth token), the refresh token
//! (both encrypted with the install's secret key), a CSRF token and the times that bound it.
//!
//! - idle and absolute timeouts (`sessionIdleTimeoutSeconds`, `sessionAbsoluteTimeoutSeconds`);
//! - a new id at every sign-in; logout and user deletion delete the row on every replica;
//! - the bearer token is refreshed `sessionRefreshMarginSeconds` before it expires, once per
//!   session at a time: an in-process lock per session plus a lease in the database for
//!   replicas.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, header};
use ferrometa_auth::oidc::{CallbackError, OidcClient, ProviderLogout, random_secret, same_secret};
use ferrometa_auth::verify::sha256_hex;
use ferrometa_auth::{AuthError, AuthService};
use ferrometa_catalog::Catalog;
use ferrometa_catalog::kinds::USER;
use ferrometa_config::Config;
use ferrometa_store::{Include, Origin, SessionRow, Store, now_ms};

use crate::error::{ApiError, ApiResult};

/// How long one replica may hold a session's refresh lease before another may try.
const REFRESH_LEASE_MS: i64 = 30_000;
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Sso,
    Basic,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Sso => "sso",
            SessionKind::Basic => "basic",
        }
    }

    /// How the session was signed in, as its audit events say.
    fn signed_in_with(self) -> &'static str {
        match self {
            SessionKind::Sso => "browser sso",
            SessionKind::Basic => "browser basic",
        }
    }
}

/// Names and attributes of our cookies: `__Host-` names and `Secure` under https, plain names
/// on http (local development and tests). Decided from configuration, never from the request.
#[derive(Debug, Clone)]
pub struct Cookies {
    pub secure: bool,
    pub session: &'static str,
    pub flow: &'static str,
    pub login: &'static str,
}

impl Cookies {
    pub fn for_config(config: &Config) -> Cookies {
        let secure = public_base_url(config).starts_with("https://");
        if secure {
            Cookies { secure, session: "__Host-fm_session", flow: "__Host-fm_flow", login: "__Host-fm_login" }
        } else {
            Cookies { secure, session: "fm_session", flow: "fm_flow", login: "fm_login" }
        }
    }

    /// `Set-Cookie` value: HttpOnly, SameSite=Lax (the callback is a top-level GET from the
    /// provider), Path=/, Secure under https. `max_age` 0 deletes.
    pub fn set(&self, name: &str, value: &str, max_age_secs: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
    }

    pub fn clear(&self, name: &str) -> String {
        self.set(name, "", 0)
    }
}

/// The public base URL: the origin of `callbackUrl` when set, else `oidcConfiguration.serverUrl`.
pub fn public_base_url(config: &Config) -> String {
    let a = &config.authentication;
    let from = if a.callback_url.is_empty() { &a.oidc.server_url } else { &a.callback_url };
    url::Url::parse(from).ok().map(|u| u.origin().ascii_serialization()).filter(|o| o != "null").unwrap_or_default()
}

/// A cookie's value from the request (first match; values are our own base64url ids).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whose session it is: the user, and the provider's `sub` (SSO) or the user name (basic).
pub struct SessionOwner<'a> {
    pub user_id: &'a str,
    pub user_name: &'a str,
    pub subject: &'a str,
}

/// The tokens a session stands for; they stay on the server.
pub struct SessionTokens<'a> {
    pub bearer: &'a str,
    pub expires_at_ms: i64,
    pub refresh: Option<&'a str>,
}

/// A freshly created session: the cookie value to send, once.
pub struct NewSession {
    pub cookie_value: String,
}

/// A live session, resolved from its cookie.
#[derive(Clone)]
pub struct ActiveSession {
    pub id_hash: String,
    pub kind: SessionKind,
    pub user_id: String,
    pub csrf_token: String,
    /// `Authorization` header value for the bearer token this session stands for.
    pub bearer: String,
}

/// What a logout leaves to do in the browser.
pub struct Ended {
    pub provider_logout: ProviderLogout,
}

pub struct SessionManager {
    config: Arc<Config>,
    store: Store,
    auth: Arc<AuthService>,
    catalog: Catalog,
    oidc: Option<Arc<OidcClient>>,
    pub cookies: Cookies,
    locks: moka::sync::Cache<String, Arc<tokio::sync::Mutex<()>>>,
}

impl SessionManager {
    pub fn new(config: Arc<Config>, store: Store, auth: Arc<AuthService>, catalog: Catalog) -> SessionManager {
        let oidc = OidcClient::new(&config.authentication, store.clone()).map(Arc::new);
        // Discovery is loaded in the background at start: pages name the provider's origins in
        // their CSP `form-action` (the sign-out form redirects there), also right after a restart.
        if let Some(client) = oidc.clone() {
            tokio::spawn(async move {
                if let Err(e) = client.discovery().await {
                    tracing::warn!(error = %e, "identity provider discovery failed at start; retried at the next sign-in");
                }
            });
        }
        let cookies = Cookies::for_config(&config);
        let locks = moka::sync::Cache::builder().max_capacity(100_000).time_to_idle(Duration::from_secs(300)).build();
        SessionManager { config, store, auth, catalog, oidc, cookies, locks }
    }

    pub fn oidc(&self) -> Option<&OidcClient> {
        self.oidc.as_deref()
    }

    fn idle_ms(&self) -> i64 {
        self.config.authentication.session_idle_timeout_secs as i64 * 1000
    }

    fn absolute_ms(&self) -> i64 {
        self.config.authentication.session_absolute_timeout_secs as i64 * 1000
    }

    pub fn absolute_secs(&self) -> i64 {
        self.config.authentication.session_absolute_timeout_secs as i64
    }

    /// Starts a session for a verified sign-in from `client`, stored with its `session.start`
    /// audit event; the id is new at every sign-in (no fixation).
    pub async fn create(&self, kind: SessionKind, owner: SessionOwner<'_>, tokens: SessionTokens<'_>, client: Option<IpAddr>) -> ApiResult<NewSession> {
        let cookie_value = random_secret();
        let now = now_ms();
        let seal = |t: &str| self.auth.secrets().seal(t);
        let row = SessionRow {
            id_hash: sha256_hex(cookie_value.as_bytes()),
            kind: kind.as_str().into(),
            user_id: owner.user_id.into(),
            user_name: owner.user_name.into(),
            subject: owner.subject.into(),
            csrf_token: random_secret(),
            token_ciphertext: seal(tokens.bearer)?,
            token_expires_at: tokens.expires_at_ms,
            refresh_ciphertext: tokens.refresh.map(seal).transpose()?.unwrap_or_default(),
            created_at: now,
            last_seen_at: now,
            refresh_lock_until: 0,
        };
        let started = Origin { actor: owner.user_name, client }.event("session.start", owner.user_name).detail(kind.signed_in_with());
        self.store.insert_session(&row, Some(&started)).await?;
        // Expired sessions of everyone are purged as new ones start.
        let _ = self.store.delete_stale_sessions(now - self.idle_ms(), now - self.absolute_ms()).await;
        Ok(NewSession { cookie_value })
    }

    /// The live session of a cookie value: `None` if unknown, idle too long or too old (then
    /// deleted). Refreshes the bearer token when it is about to expire.
    pub async fn resolve(&self, cookie_value: &str) -> ApiResult<Option<ActiveSession>> {
        let id_hash = sha256_hex(cookie_value.as_bytes());
        let Some(row) = self.store.session(&id_hash).await? else { return Ok(None) };
        let now = now_ms();
        if row.last_seen_at + self.idle_ms() < now || row.created_at + self.absolute_ms() < now {
            self.store.delete_session(&id_hash, None).await?;
            return Ok(None);
        }
        // Activity is recorded at most every minute (or tenth of the idle timeout).
        if now - row.last_seen_at > (self.idle_ms() / 10).min(60_000) {
            self.store.touch_session(&id_hash, now).await?;
        }
        let Ok(token) = self.auth.secrets().open_sealed(&row.token_ciphertext) else {
            // Another replica sealed it with another key: replicas must share FERNET_KEY.
            tracing::warn!(user = %row.user_name, "a browser session was sealed with another secret key (set the same fernetConfiguration.fernetKey / FERNET_KEY on every replica); the session ends");
            self.store.delete_session(&id_hash, None).await?;
            return Ok(None);
        };
        if row.token_expires_at - self.margin_ms() <= now && !row.refresh_ciphertext.is_empty() {
            return match self.refresh(&id_hash).await? {
                Some(refreshed) => {
                    let token = self.auth.secrets().open_sealed(&refreshed.token_ciphertext)?;
                    Ok(Some(active(refreshed, token)))
                }
                None => Ok(None),
            };
        }
        Ok(Some(active(row, token)))
    }

    fn margin_ms(&self) -> i64 {
        self.config.authentication.session_refresh_margin_secs as i64 * 1000
    }

    /// Single-flight refresh: one caller per session in this process (the others wait and then
    /// see the new token) and one replica at a time (a lease row in the database). Returns the
    /// current row, or `None` when the session had to end (the provider refused the refresh).
    async fn refresh(&self, id_hash: &str) -> ApiResult<Option<SessionRow>> {
        let lock = self.locks.get_with(id_hash.to_string(), || Arc::new(tokio::sync::Mutex::new(())));
        let _guard = lock.lock().await;
        let Some(row) = self.store.session(id_hash).await? else { return Ok(None) };
        let now = now_ms();
        if row.token_expires_at - self.margin_ms() > now {
            return Ok(Some(row)); // refreshed while this request waited
        }
        if !self.store.claim_session_refresh(id_hash, now, now + REFRESH_LEASE_MS).await? {
            return Ok(Some(row)); // another replica is refreshing; the current token still counts
        }
        let refresh_token = self.auth.secrets().open_sealed(&row.refresh_ciphertext)?;
        let outcome = match row.kind.as_str() {
            "basic" => self.refresh_basic(&row, &refresh_token).await,
            _ => self.refresh_sso(&row, &refresh_token).await,
        };
        match outcome {
            Ok((token, expires_at_ms, refresh)) => {
                let sealed = self.auth.secrets().seal(&token)?;
                let sealed_refresh = self.auth.secrets().seal(&refresh)?;
                self.store.update_session_tokens(id_hash, &sealed, expires_at_ms, &sealed_refresh).await?;
                metrics::counter!("ferrometa_session_refresh_total", "result" => "ok").increment(1);
                Ok(self.store.session(id_hash).await?)
            }
            Err(Refusal::Unavailable(e)) => {
                // The provider is down: keep the session while its token is still valid.
                tracing::warn!(error = %e, "session refresh failed; keeping the current token until it expires");
                metrics::counter!("ferrometa_session_refresh_total", "result" => "unavailable").increment(1);
                self.store.release_session_refresh(id_hash).await?;
                Ok(Some(row))
            }
            Err(Refusal::Refused(e)) => {
                tracing::info!(user = %row.user_name, reason = %e, "session refresh refused; the session ends");
                metrics::counter!("ferrometa_session_refresh_total", "result" => "refused").increment(1);
                self.store.delete_session(id_hash, None).await?;
                Ok(None)
            }
        }
    }

    async fn refresh_sso(&self, row: &SessionRow, refresh_token: &str) -> Result<(String, i64, String), Refusal> {
        let oidc = self.oidc.as_ref().ok_or_else(|| Refusal::Refused("browser sign-in is not configured".into()))?;
        match oidc.refresh(self.auth.verifier(), refresh_token, &row.subject).await {
            Ok(t) => {
                let exp = t.verified.expires_at.unwrap_or_default().saturating_mul(1000);
                Ok((t.id_token, exp, t.refresh_token.unwrap_or_else(|| refresh_token.to_string())))
            }
            Err(e @ CallbackError::Unavailable(_)) => Err(Refusal::Unavailable(e.to_string())),
            Err(e) => Err(Refusal::Refused(e.to_string())),
        }
    }

    async fn refresh_basic(&self, row: &SessionRow, refresh_token: &str) -> Result<(String, i64, String), Refusal> {
        let refused = |e: &dyn std::fmt::Display| Refusal::Refused(e.to_string());
        let user_id = self.auth.take_refresh_token(refresh_token).await.map_err(|e| refused(&e))?;
        if user_id != row.user_id {
            return Err(Refusal::Refused("refresh token of another user".into()));
        }
        let user = self.catalog.get(&USER, &user_id, Include::NonDeleted).await.map_err(|e| refused(&e))?;
        let session = self.auth.issue_session(&crate::routes::users::account_of(&user), None).await.map_err(|e| match e {
            AuthError::Internal(m) | AuthError::StoreUnavailable(m) => Refusal::Unavailable(m),
            other => refused(&other),
        })?;
        Ok((session.access_token, session.expiry_duration, session.refresh_token))
    }

    /// Forgets the session a browser held before signing in again (it is replaced, never reused).
    pub async fn discard(&self, cookie_value: Option<&str>) {
        if let Some(v) = cookie_value {
            let _ = self.store.delete_session(&sha256_hex(v.as_bytes()), None).await;
        }
    }

    /// Ends a session: deletes it (every replica stops accepting it at once) with its
    /// `session.end` audit event (`client`, `why`), revokes its refresh token (at the provider,
    /// or ours) and says where the browser goes next.
    pub async fn end(&self, cookie_value: &str, client: Option<IpAddr>, why: &str) -> ApiResult<Ended> {
        let id_hash = sha256_hex(cookie_value.as_bytes());
        // Read first: the event names the session's user.
        let user = self.store.session(&id_hash).await?.map(|row| row.user_name);
        let ended = user.as_deref().map(|name| Origin { actor: name, client }.event("session.end", name).detail(why));
        let Some(row) = self.store.delete_session(&id_hash, ended.as_ref()).await? else {
            return Ok(Ended { provider_logout: ProviderLogout::None });
        };
        let token = self.auth.secrets().open_sealed(&row.token_ciphertext).unwrap_or_default();
        let refresh = (!row.refresh_ciphertext.is_empty()).then(|| self.auth.secrets().open_sealed(&row.refresh_ciphertext).ok()).flatten();
        if row.kind == "basic" {
            // Recorded above, with the session.
            if let Err(e) = self.auth.logout(&token, refresh.as_deref(), None).await {
                tracing::debug!(error = %e, "basic-auth token was already invalid at logout");
            }
            return Ok(Ended { provider_logout: ProviderLogout::None });
        }
        let Some(oidc) = &self.oidc else { return Ok(Ended { provider_logout: ProviderLogout::None }) };
        if let Some(refresh) = refresh
            && let Err(e) = oidc.revoke(&refresh).await
        {
            tracing::warn!(error = %e, "could not revoke the provider's refresh token at logout");
        }
        Ok(Ended { provider_logout: oidc.logout(Some(&token)).await })
    }

    /// The `Authorization` value of a request: its own header, or the session cookie's bearer
    /// token. State-changing requests that use the cookie must carry the session's CSRF token
    /// in `X-CSRF-Token`; bearer requests need none.
    pub async fn request_credentials<'h>(&self, method: &Method, headers: &'h HeaderMap) -> ApiResult<Option<Cow<'h, str>>> {
        if let Some(h) = headers.get(header::AUTHORIZATION) {
            return Ok(h.to_str().ok().map(Cow::Borrowed));
        }
        // Boxed, so that requests with a bearer token do not carry the session lookup's future.
        Box::pin(self.cookie_credentials(method, headers)).await
    }

    async fn cookie_credentials<'h>(&self, method: &Method, headers: &'h HeaderMap) -> ApiResult<Option<Cow<'h, str>>> {
        let Some(cookie_value) = cookie(headers, self.cookies.session) else { return Ok(None) };
        let Some(session) = self.resolve(cookie_value).await? else {
            return Err(ApiError::unauthorized("Not Authorized! The session has ended. Sign in again."));
        };
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::forbidden("Missing or wrong X-CSRF-Token header for a request authenticated by the session cookie"));
            }
        }
        Ok(Some(Cow::Owned(session.bearer)))
    }
}

fn active(row: SessionRow, token: String) -> ActiveSession {
    let kind = if row.kind == "basic" { SessionKind::Basic } else { SessionKind::Sso };
    ActiveSession { id_hash: row.id_hash, kind, user_id: row.user_id, csrf_token: row.csrf_token, bearer: format!("Bearer {token}") }
}

enum Refusal {
    Unavailable(String),
    Refused(String),
}
