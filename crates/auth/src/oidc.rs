//! Browser sign-in through the identity provider, run by the server (backend-for-frontend,
//! `decisions.md` §3): discovery, the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, the code exchange (public client, or confidential with `client_secret_basic` /
//! `client_secret_post`), ID-token validation with the request [`Verifier`] plus the nonce,
//! refresh, revocation and the provider's logout URL. No HTTP framework in here; the server
//! turns these values into cookies and redirects.
//!
//! - `redirect_uri` is the configured `callbackUrl`, never derived from a request.
//! - `state`, `nonce` and the PKCE verifier are 256-bit random values, single use, valid for
//!   [`FLOW_TTL_MS`], stored in the database (any replica can finish a flow) and bound to the
//!   browser by a separate random value that only the browser's cookie carries.
//! - Discovery's `issuer` must equal the configured `authority` (ASVS 10.5.3); the document is
//!   cached for [`DISCOVERY_TTL`] and a stale copy is kept while the provider is unreachable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ferrometa_config::{AuthenticationConfig, ClientAuthMethod, ClientType, Provider};
use ferrometa_store::{LoginFlowRow, Store, now_ms};
use serde::Deserialize;

use crate::verify::{TokenKind, VerifiedToken, Verifier, sha256_hex};

/// How long a started sign-in may take (ASVS 10.1.2: ≤ 10 minutes).
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
pub const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How soon a failed refetch is tried again while a cached copy serves.
const DISCOVERY_RETRY: Duration = Duration::from_secs(60);
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The parts of the provider's discovery document that the flow uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// A 256-bit random value, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

/// RFC 7636 S256: `BASE64URL(SHA256(ASCII(code_verifier)))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
}

/// Constant-time comparison for secrets received from the browser.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

/// What the server needs to send the browser to the provider.
#[derive(Debug, Clone)]
pub struct StartedFlow {
    /// Goes into the short-lived flow cookie; binds the callback to this browser.
    pub browser_binding: String,
    pub authorize_url: String,
}

/// Tokens obtained from the provider for one browser session; they never leave the server.
#[derive(Debug, Clone)]
pub struct ProviderTokens {
    pub id_token: String,
    pub refresh_token: Option<String>,
    pub verified: Arc<VerifiedToken>,
}

/// A finished sign-in: tokens plus where the user wanted to go.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub tokens: ProviderTokens,
    pub return_to: String,
}

/// Where to send the browser to end the provider's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderLogout {
    /// Cognito: `GET /logout?client_id=…&logout_uri=…` (no token in the URL).
    Redirect(String),
    /// Generic OIDC RP-initiated logout: a form POST carrying `id_token_hint`, so that the
    /// token is never put in a URL.
    PostForm { action: String, fields: Vec<(String, String)> },
    /// The provider publishes no logout endpoint: only our session ends.
    None,
}

/// Why a callback failed; every variant is shown as a friendly page, never as a redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The provider said no (`error=access_denied`, ...); its code is kept, its text is not shown.
    #[error("the identity provider refused the sign-in ({0})")]
    Provider(String),
    /// Unknown, used or expired `state`, or a browser that did not start this sign-in.
    #[error("this sign-in link is invalid, was already used or has expired")]
    InvalidState,
    #[error("the sign-in response has no authorization code")]
    MissingCode,
    #[error("the identity provider did not accept the authorization code")]
    Exchange(String),
    #[error("the identity provider's ID token was not accepted: {0}")]
    IdToken(String),
    #[error("the identity provider cannot be reached: {0}")]
    Unavailable(String),
}

impl CallbackError {
    /// Short stable code shown to the user and logged with the reference id.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::Provider(_) => "idp_error",
            CallbackError::InvalidState => "invalid_state",
            CallbackError::MissingCode => "missing_code",
            CallbackError::Exchange(_) => "code_exchange_failed",
            CallbackError::IdToken(_) => "invalid_id_token",
            CallbackError::Unavailable(_) => "idp_unavailable",
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error: String,
}

pub struct OidcClient {
    cognito: bool,
    authority: String,
    discovery_url: String,
    client_id: String,
    /// `Some` for a confidential client.
    secret: Option<(String, ClientAuthMethod)>,
    redirect_uri: String,
    scope: String,
    logout_uri: String,
    store: Store,
    http: reqwest::Client,
    /// The document and when it counts as due for a refetch; read without waiting on a fetch.
    discovery: std::sync::RwLock<Option<(Arc<Discovery>, Instant)>>,
    /// One discovery fetch at a time; requests queued behind it take its outcome.
    flight: crate::flight::SingleFlight,
    last_discovery_error: std::sync::RwLock<Option<CallbackError>>,
}

impl OidcClient {
    /// `None` for basic auth or when no `callbackUrl` is configured (browser sign-in then
    /// explains what is missing).
    pub fn new(config: &AuthenticationConfig, store: Store) -> Option<OidcClient> {
        if !config.provider.is_sso() || config.callback_url.is_empty() {
            return None;
        }
        let discovery_url = if config.oidc.discovery_uri.is_empty() {
            format!("{}/.well-known/openid-configuration", trim_slash(&config.authority))
        } else {
            config.oidc.discovery_uri.clone()
        };
        let secret = (config.client_type == ClientType::Confidential && !config.oidc.secret.is_empty())
            .then(|| (config.oidc.secret.clone(), config.oidc.client_auth_method));
        let client_id = match config.client_type {
            ClientType::Confidential => config.oidc.client_id.clone(),
            ClientType::Public => config.client_id.clone(),
        };
        let logout_uri = if config.logout_uri.is_empty() {
            format!("{}/signin", origin_of(&config.callback_url).unwrap_or_default())
        } else {
            config.logout_uri.clone()
        };
        let scope = if config.oidc.scope.split_whitespace().any(|s| s == "openid") { config.oidc.scope.clone() } else { format!("openid {}", config.oidc.scope) };
        // Discovery, token, userinfo and revocation calls share the bound of a JWKS fetch.
        let timeout = Duration::from_secs(config.jwks_fetch_timeout_secs);
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Some(OidcClient {
            cognito: config.provider == Provider::AwsCognito,
            authority: trim_slash(&config.authority).to_string(),
            discovery_url,
            client_id,
            secret,
            redirect_uri: config.callback_url.clone(),
            scope,
            logout_uri,
            store,
            http,
            discovery: std::sync::RwLock::new(None),
            flight: Default::default(),
            last_discovery_error: Default::default(),
        })
    }

    pub fn discovery_url(&self) -> &str {
        &self.discovery_url
    }

    pub fn logout_uri(&self) -> &str {
        &self.logout_uri
    }

    /// The cached document, if one was fetched (for the CSP and the security checklist).
    pub fn cached_discovery(&self) -> Option<Arc<Discovery>> {
        self.discovery.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(d, _)| d.clone())
    }

    fn fresh_discovery(&self) -> Option<Arc<Discovery>> {
        self.discovery.read().unwrap_or_else(|e| e.into_inner()).as_ref().filter(|(_, due)| Instant::now() < *due).map(|(d, _)| d.clone())
    }

    /// The discovery document: cached for an hour; while the provider cannot be reached the
    /// cached copy is used and the fetch retried at most once a minute; a document whose issuer
    /// is not the authority is refused.
    pub async fn discovery(&self) -> std::result::Result<Arc<Discovery>, CallbackError> {
        if let Some(d) = self.fresh_discovery() {
            return Ok(d);
        }
        // A request that queued behind a fetch takes its outcome: none waits for two.
        self.flight.run_or_join(|| self.refresh_discovery()).await;
        match self.cached_discovery() {
            Some(d) => Ok(d),
            None => Err(self.last_discovery_error.read().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_else(|| CallbackError::Unavailable(format!("discovery document {}: not fetched yet", self.discovery_url)))),
        }
    }

    /// Fetches the document into the cache; on failure the stale copy stays, retried later.
    async fn refresh_discovery(&self) {
        let fetched = self.fetch_discovery().await;
        let mut cache = self.discovery.write().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Ok(d) => *cache = Some((Arc::new(d), Instant::now() + DISCOVERY_TTL)),
            Err(e) => {
                tracing::warn!(error = %e, stale_copy = cache.is_some(), "discovery fetch failed");
                if let Some((stale, _)) = cache.take() {
                    *cache = Some((stale, Instant::now() + DISCOVERY_RETRY));
                }
                *self.last_discovery_error.write().unwrap_or_else(|e| e.into_inner()) = Some(e);
            }
        }
    }

    async fn fetch_discovery(&self) -> std::result::Result<Discovery, CallbackError> {
        let unavailable = |e: String| CallbackError::Unavailable(format!("discovery document {}: {e}", self.discovery_url));
        let response = self.http.get(&self.discovery_url).send().await.map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let body = read_limited(response).await.map_err(unavailable)?;
        let doc: Discovery = serde_json::from_slice(&body).map_err(|e| unavailable(format!("not a discovery document: {e}")))?;
        check_discovery(&doc, &self.authority).map_err(unavailable)?;
        Ok(doc)
    }

    /// Creates the single-use state, nonce and PKCE verifier (stored server-side) and the
    /// provider URL to send the browser to.
    pub async fn start(&self, return_to: &str) -> std::result::Result<StartedFlow, CallbackError> {
        let discovery = self.discovery().await?;
        let (state, nonce, verifier, browser_binding) = (random_secret(), random_secret(), random_secret(), random_secret());
        let now = now_ms();
        self.store
            .insert_login_flow(&LoginFlowRow {
                state_hash: sha256_hex(state.as_bytes()),
                browser_hash: sha256_hex(browser_binding.as_bytes()),
                nonce: nonce.clone(),
                code_verifier: verifier.clone(),
                return_to: safe_return_to(return_to).to_string(),
                expires_at: now + FLOW_TTL_MS,
            })
            .await
            .map_err(|e| CallbackError::Unavailable(format!("database: {e}")))?;
        // Abandoned flows are purged as new ones start.
        let _ = self.store.delete_expired_login_flows(now).await;
        let mut url = url::Url::parse(&discovery.authorization_endpoint).map_err(|e| CallbackError::Unavailable(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(StartedFlow { browser_binding, authorize_url: url.to_string() })
    }

    /// Completes a sign-in from the callback's query parameters and the browser's flow cookie.
    /// The flow is consumed first, so a replayed or failed callback can never be retried.
    pub async fn finish(
        &self,
        verifier: &Verifier,
        params: &CallbackParams,
        browser_binding: Option<&str>,
    ) -> std::result::Result<SignedIn, CallbackError> {
        let flow = match params.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512) {
            Some(state) => self.store.take_login_flow(&sha256_hex(state.as_bytes())).await.map_err(|e| CallbackError::Unavailable(format!("database: {e}")))?,
            None => None,
        };
        if let Some(error) = params.error.as_deref().filter(|e| !e.is_empty()) {
            return Err(CallbackError::Provider(error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect()));
        }
        let flow = flow.ok_or(CallbackError::InvalidState)?;
        let bound = browser_binding.is_some_and(|b| same_secret(&sha256_hex(b.as_bytes()), &flow.browser_hash));
        if !bound || flow.expires_at < now_ms() {
            return Err(CallbackError::InvalidState);
        }
        let discovery = self.discovery().await?;
        // RFC 9207: when the provider names itself in the response, it must be ours.
        if let Some(iss) = params.iss.as_deref()
            && trim_slash(iss) != trim_slash(&discovery.issuer)
        {
            return Err(CallbackError::InvalidState);
        }
        let code = params.code.as_deref().filter(|c| !c.is_empty()).ok_or(CallbackError::MissingCode)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", flow.code_verifier.as_str()),
        ];
        let tokens = self.token_request(&discovery, &form).await?;
        let id_token = tokens.id_token.ok_or_else(|| CallbackError::IdToken("the token response has no id_token".into()))?;
        let verified = self.check_id_token(verifier, &id_token, Some(&flow.nonce), None).await?;
        Ok(SignedIn { tokens: ProviderTokens { id_token, refresh_token: tokens.refresh_token, verified }, return_to: flow.return_to })
    }

    /// Validates an ID token with the request verifier (signature, issuer, audience, times,
    /// `token_use`), then the nonce of this flow, or for a refreshed token the subject it
    /// replaces (OIDC Core §12.2).
    pub async fn check_id_token(
        &self,
        verifier: &Verifier,
        id_token: &str,
        nonce: Option<&str>,
        same_subject_as: Option<&str>,
    ) -> std::result::Result<Arc<VerifiedToken>, CallbackError> {
        let verified = verifier.verify(id_token).await.map_err(|e| CallbackError::IdToken(e.to_string()))?;
        if verified.kind != TokenKind::IdpId {
            return Err(CallbackError::IdToken("the token is not an ID token".into()));
        }
        let got_nonce = verified.claims.str("nonce");
        match nonce {
            Some(expected) if !got_nonce.is_some_and(|n| same_secret(n, expected)) => return Err(CallbackError::IdToken("nonce does not match this sign-in".into())),
            None if got_nonce.is_some_and(|_| same_subject_as.is_none()) => return Err(CallbackError::IdToken("unexpected nonce".into())),
            _ => {}
        }
        if let Some(sub) = same_subject_as
            && verified.claims.as_text("sub").as_deref() != Some(sub)
        {
            return Err(CallbackError::IdToken("the refreshed ID token names another subject".into()));
        }
        Ok(verified)
    }

    /// A new ID token from the refresh token. The provider may rotate the refresh token.
    pub async fn refresh(&self, verifier: &Verifier, refresh_token: &str, subject: &str) -> std::result::Result<ProviderTokens, CallbackError> {
        let discovery = self.discovery().await?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        let tokens = self.token_request(&discovery, &form).await?;
        let id_token = tokens.id_token.ok_or_else(|| CallbackError::IdToken("the refresh response has no id_token".into()))?;
        let verified = self.check_id_token(verifier, &id_token, None, Some(subject)).await?;
        Ok(ProviderTokens { id_token, refresh_token: tokens.refresh_token.or_else(|| Some(refresh_token.to_string())), verified })
    }

    /// Revokes a refresh token at the provider (Cognito `/oauth2/revoke`, RFC 7009).
    pub async fn revoke(&self, refresh_token: &str) -> std::result::Result<(), CallbackError> {
        let discovery = self.discovery().await?;
        let endpoint = match (&discovery.revocation_endpoint, self.cognito) {
            (Some(e), _) => e.clone(),
            (None, true) => format!("{}/oauth2/revoke", origin_of(&discovery.token_endpoint).unwrap_or_default()),
            (None, false) => return Ok(()),
        };
        let form = [("token", refresh_token), ("token_type_hint", "refresh_token")];
        let response = self.client_request(&endpoint, &form).send().await.map_err(|e| CallbackError::Unavailable(e.to_string()))?;
        if response.status().is_success() { Ok(()) } else { Err(CallbackError::Exchange(format!("revocation answered HTTP {}", response.status()))) }
    }

    /// Where the browser goes to end the provider's session.
    pub async fn logout(&self, id_token_hint: Option<&str>) -> ProviderLogout {
        let Ok(discovery) = self.discovery().await else { return ProviderLogout::None };
        logout_for(&discovery, self.cognito, &self.client_id, &self.logout_uri, id_token_hint)
    }

    /// Origins the browser is sent to by our forms and redirects (for CSP `form-action`).
    pub fn provider_origins(&self) -> Vec<String> {
        let Some(d) = self.cached_discovery() else { return vec![] };
        let mut origins: Vec<String> = [Some(&d.authorization_endpoint), d.end_session_endpoint.as_ref()].into_iter().flatten().filter_map(|u| origin_of(u)).collect();
        origins.dedup();
        origins
    }

    /// Whether a URL of the provider answers 2xx (for the security checklist).
    pub async fn probe(&self, url: &str) -> std::result::Result<(), String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", response.status())) }
    }

    fn client_request(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(form.iter().copied());
        let mut request = self.http.post(endpoint).header("content-type", "application/x-www-form-urlencoded").header("accept", "application/json");
        match &self.secret {
            Some((secret, ClientAuthMethod::ClientSecretBasic)) => {
                // RFC 6749 §2.3.1: form-encode id and secret, then Basic.
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let credentials = STANDARD.encode(format!("{}:{}", enc(&self.client_id), enc(secret)));
                request = request.header("authorization", format!("Basic {credentials}"));
                body.append_pair("client_id", &self.client_id);
            }
            Some((secret, ClientAuthMethod::ClientSecretPost)) => {
                body.append_pair("client_id", &self.client_id).append_pair("client_secret", secret);
            }
            None => {
                body.append_pair("client_id", &self.client_id);
            }
        }
        request.body(body.finish())
    }

    async fn token_request(&self, discovery: &Discovery, form: &[(&str, &str)]) -> std::result::Result<TokenResponse, CallbackError> {
        let response = self.client_request(&discovery.token_endpoint, form).send().await.map_err(|e| CallbackError::Unavailable(format!("token endpoint: {e}")))?;
        let status = response.status();
        let body = read_limited(response).await.map_err(CallbackError::Unavailable)?;
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            // The provider is down or overloaded, which says nothing about the grant.
            return Err(CallbackError::Unavailable(format!("token endpoint: HTTP {status}")));
        }
        if !status.is_success() {
            // Only the provider's error code is kept: descriptions may echo request values.
            let code = serde_json::from_slice::<ErrorResponse>(&body).map(|e| e.error).unwrap_or_default();
            let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            return Err(CallbackError::Exchange(format!("HTTP {status} {code}")));
        }
        serde_json::from_slice(&body).map_err(|e| CallbackError::Exchange(format!("token response is not JSON: {e}")))
    }
}

/// Query parameters of the callback.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

async fn read_limited(response: reqwest::Response) -> std::result::Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|l| l as usize > MAX_RESPONSE_BYTES) {
        return Err("response too large".into());
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_RESPONSE_BYTES {
        return Err("response too large".into());
    }
    Ok(body.to_vec())
}

/// Discovery checks: exact issuer, https endpoints unless the provider itself is on http
/// loopback (tests), S256 when the provider lists its PKCE methods.
pub fn check_discovery(doc: &Discovery, authority: &str) -> std::result::Result<(), String> {
    if trim_slash(&doc.issuer) != trim_slash(authority) {
        return Err(format!("issuer \"{}\" is not the configured authority \"{}\"", doc.issuer.chars().take(200).collect::<String>(), trim_slash(authority)));
    }
    if !doc.code_challenge_methods_supported.is_empty() && !doc.code_challenge_methods_supported.iter().any(|m| m == "S256") {
        return Err("the provider does not support PKCE S256".into());
    }
    for endpoint in [&doc.authorization_endpoint, &doc.token_endpoint] {
        let u = url::Url::parse(endpoint).map_err(|_| format!("\"{endpoint}\" is not a URL"))?;
        if u.scheme() != "https" && !(u.scheme() == "http" && issuer_is_plain_http(authority)) {
            return Err(format!("endpoint {endpoint} is not https"));
        }
    }
    Ok(())
}

fn issuer_is_plain_http(authority: &str) -> bool {
    authority.starts_with("http://")
}

/// Only same-origin relative paths are kept as the post-login destination (no open redirect).
pub fn safe_return_to(raw: &str) -> &str {
    let ok = raw.starts_with('/') && !raw.starts_with("//") && !raw.starts_with("/\\") && raw.len() <= 512 && !raw.chars().any(|c| c.is_control() || c == '\\');
    if ok { raw } else { "/" }
}

fn logout_for(d: &Discovery, cognito: bool, client_id: &str, logout_uri: &str, id_token_hint: Option<&str>) -> ProviderLogout {
    if cognito {
        let endpoint = d.end_session_endpoint.clone().unwrap_or_else(|| format!("{}/logout", origin_of(&d.authorization_endpoint).unwrap_or_default()));
        let Ok(mut url) = url::Url::parse(&endpoint) else { return ProviderLogout::None };
        url.query_pairs_mut().append_pair("client_id", client_id).append_pair("logout_uri", logout_uri);
        return ProviderLogout::Redirect(url.to_string());
    }
    let Some(endpoint) = d.end_session_endpoint.clone() else { return ProviderLogout::None };
    let mut fields = vec![("client_id".to_string(), client_id.to_string()), ("post_logout_redirect_uri".to_string(), logout_uri.to_string())];
    if let Some(hint) = id_token_hint {
        fields.push(("id_token_hint".to_string(), hint.to_string()));
    }
    ProviderLogout::PostForm { action: endpoint, fields }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_idp::FakeIdp;
    use crate::keys::KeyDir;

    /// A client and verifier configured for a fake provider, over a fresh SQLite store.
    async fn client_for(idp: &FakeIdp, dir: &std::path::Path) -> (OidcClient, Verifier) {
        let env: std::collections::HashMap<&str, String> = [
            ("AUTHENTICATION_PROVIDER", "aws-cognito".to_string()),
            ("AUTHENTICATION_AUTHORITY", idp.issuer.clone()),
            ("AUTHENTICATION_CLIENT_ID", idp.client_id.clone()),
            ("AUTHENTICATION_PUBLIC_KEYS", format!("[{}]", idp.jwks_url())),
            ("AUTHENTICATION_CALLBACK_URL", "http://127.0.0.1:8585/callback".to_string()),
        ]
        .into_iter()
        .collect();
        let config = ferrometa_config::load(None, &|k| env.get(k).cloned()).unwrap().config;
        let store = Store::open_sqlite(&dir.join("t.db")).await.unwrap();
        let own = Arc::new(KeyDir::new(&dir.join("own")).load_or_generate().unwrap());
        let verifier = Verifier::new(&config.authentication, own, "open-metadata.org");
        (OidcClient::new(&config.authentication, store).unwrap(), verifier)
    }

    /// Follows the fake provider's authorize redirect: the callback's query parameters.
    async fn authorize(flow: &StartedFlow) -> CallbackParams {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = http.get(&flow.authorize_url).send().await.unwrap();
        let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let q: std::collections::HashMap<String, String> = location.query_pairs().into_owned().collect();
        CallbackParams { code: q.get("code").cloned(), state: q.get("state").cloned(), error: q.get("error").cloned(), iss: None }
    }

    #[tokio::test]
    async fn state_is_single_use_and_bound_to_the_browser_that_started_the_flow() {
        let idp = FakeIdp::start("client-1").await;
        let dir = tempfile::tempdir().unwrap();
        let (client, verifier) = client_for(&idp, dir.path()).await;
        let flow = client.start("/users").await.unwrap();
        let params = authorize(&flow).await;
        // another browser (no or another binding) cannot use this state, and spends it
        let other = client.start("/").await.unwrap();
        let other_params = authorize(&other).await;
        assert_eq!(client.finish(&verifier, &other_params, None).await.unwrap_err(), CallbackError::InvalidState);
        assert_eq!(client.finish(&verifier, &other_params, Some(&other.browser_binding)).await.unwrap_err(), CallbackError::InvalidState, "spent by the failed attempt");
        assert_eq!(client.finish(&verifier, &params, Some(&other.browser_binding)).await.unwrap_err(), CallbackError::InvalidState, "wrong browser");
        // the wrong-browser attempt spent the first flow too
        let flow = client.start("/users").await.unwrap();
        let params = authorize(&flow).await;
        let tampered = CallbackParams { state: Some(random_secret()), ..params.clone() };
        assert_eq!(client.finish(&verifier, &tampered, Some(&flow.browser_binding)).await.unwrap_err(), CallbackError::InvalidState);
        let signed_in = client.finish(&verifier, &params, Some(&flow.browser_binding)).await.expect("the genuine callback");
        assert_eq!(signed_in.return_to, "/users");
        assert_eq!(signed_in.tokens.verified.claims.str("cognito:username"), Some("alice"));
        assert!(signed_in.tokens.refresh_token.is_some());
        assert_eq!(client.finish(&verifier, &params, Some(&flow.browser_binding)).await.unwrap_err(), CallbackError::InvalidState, "replay");
        assert_eq!(idp.counters().token_code, 1, "refused callbacks never reach the token endpoint");
    }

    #[tokio::test]
    async fn an_id_token_with_another_nonce_is_refused() {
        let idp = FakeIdp::start("client-1").await;
        let dir = tempfile::tempdir().unwrap();
        let (client, verifier) = client_for(&idp, dir.path()).await;
        idp.set(|b| b.nonce_override = Some("not-the-nonce".into()));
        let flow = client.start("/").await.unwrap();
        let params = authorize(&flow).await;
        let err = client.finish(&verifier, &params, Some(&flow.browser_binding)).await.unwrap_err();
        assert_eq!(err, CallbackError::IdToken("nonce does not match this sign-in".into()));
        // and a token without any nonce is refused as well
        let token = idp.id_token(None, 600);
        assert!(client.check_id_token(&verifier, &token, Some("expected"), None).await.is_err());
    }

    #[tokio::test]
    async fn while_the_provider_is_down_the_cached_discovery_serves_and_is_retried_once_a_minute() {
        let idp = FakeIdp::start("client-1").await;
        let dir = tempfile::tempdir().unwrap();
        let (client, _) = client_for(&idp, dir.path()).await;
        let first = client.discovery().await.expect("provider up");
        assert_eq!(idp.counters().discovery, 1);
        idp.set(|b| b.discovery_down = true);
        // The hour is over: the next sign-in refetches, fails, and keeps the cached copy.
        client.discovery.write().unwrap().as_mut().unwrap().1 = Instant::now();
        let stale = client.start("/").await.expect("sign-in starts from the cached discovery");
        assert!(stale.authorize_url.starts_with(&first.authorization_endpoint), "{}", stale.authorize_url);
        assert_eq!(idp.counters().discovery, 2, "one refetch was tried");
        for _ in 0..3 {
            client.start("/").await.expect("still served from the cache");
        }
        assert_eq!(idp.counters().discovery, 2, "no refetch before the retry minute is over");
        // After the retry minute, a recovered provider's document is fetched again.
        idp.set(|b| b.discovery_down = false);
        client.discovery.write().unwrap().as_mut().unwrap().1 = Instant::now();
        client.discovery().await.unwrap();
        assert_eq!(idp.counters().discovery, 3);
    }

    #[tokio::test]
    async fn without_a_cached_copy_a_provider_outage_is_an_error_not_a_redirect() {
        let idp = FakeIdp::start("client-1").await;
        idp.set(|b| b.discovery_down = true);
        let dir = tempfile::tempdir().unwrap();
        let (client, _) = client_for(&idp, dir.path()).await;
        assert!(matches!(client.start("/").await, Err(CallbackError::Unavailable(_))));
        assert_eq!(idp.counters().authorize, 0);
    }

    #[tokio::test]
    async fn discovery_with_another_issuer_stops_the_sign_in_before_the_provider() {
        let idp = FakeIdp::start("client-1").await;
        let dir = tempfile::tempdir().unwrap();
        let (client, _) = client_for(&idp, dir.path()).await;
        idp.set(|b| b.discovery_issuer = Some("http://127.0.0.1:1/other-pool".into()));
        let err = client.start("/").await.unwrap_err();
        assert!(matches!(&err, CallbackError::Unavailable(m) if m.contains("is not the configured authority")), "{err:?}");
        assert_eq!(idp.counters().authorize, 0);
    }

    #[tokio::test]
    async fn refresh_keeps_the_subject_and_revocation_reaches_the_provider() {
        let idp = FakeIdp::start("client-1").await;
        let dir = tempfile::tempdir().unwrap();
        let (client, verifier) = client_for(&idp, dir.path()).await;
        let flow = client.start("/").await.unwrap();
        let signed_in = client.finish(&verifier, &authorize(&flow).await, Some(&flow.browser_binding)).await.unwrap();
        let refresh = signed_in.tokens.refresh_token.unwrap();
        let again = client.refresh(&verifier, &refresh, "sub-alice").await.unwrap();
        assert_eq!(again.refresh_token.as_deref(), Some(refresh.as_str()), "Cognito does not rotate refresh tokens");
        assert!(matches!(client.refresh(&verifier, &refresh, "sub-bob").await, Err(CallbackError::IdToken(_))), "another subject");
        client.revoke(&refresh).await.unwrap();
        assert_eq!(idp.counters().revocations, 1);
        assert!(matches!(client.refresh(&verifier, &refresh, "sub-alice").await, Err(CallbackError::Exchange(_))));
    }

    fn doc(issuer: &str) -> Discovery {
        Discovery {
            issuer: issuer.into(),
            authorization_endpoint: format!("{issuer}/oauth2/authorize"),
            token_endpoint: format!("{issuer}/oauth2/token"),
            userinfo_endpoint: None,
            end_session_endpoint: None,
            revocation_endpoint: None,
            jwks_uri: None,
            code_challenge_methods_supported: vec!["S256".into()],
        }
    }

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn secrets_are_256_bit_random_and_url_safe() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes in unpadded base64url");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(same_secret(&a, &a.clone()) && !same_secret(&a, &b) && !same_secret(&a, "short"));
    }

    #[test]
    fn discovery_issuer_must_match_the_authority_exactly() {
        let authority = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool";
        assert!(check_discovery(&doc(authority), authority).is_ok());
        assert!(check_discovery(&doc(&format!("{authority}/")), authority).is_ok(), "a trailing slash is not a different issuer");
        for other in ["https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool", "https://evil.example/us-east-1_Pool"] {
            let err = check_discovery(&doc(other), authority).unwrap_err();
            assert!(err.contains("is not the configured authority"), "{other}: {err}");
        }
    }

    #[test]
    fn discovery_without_s256_or_with_plain_http_endpoints_is_refused() {
        let authority = "https://idp.example";
        let mut d = doc(authority);
        d.code_challenge_methods_supported = vec!["plain".into()];
        assert!(check_discovery(&d, authority).unwrap_err().contains("S256"));
        let mut d = doc(authority);
        d.token_endpoint = "http://idp.example/token".into();
        assert!(check_discovery(&d, authority).unwrap_err().contains("not https"));
        // a provider on plain http (the local stand-in) may use http endpoints
        assert!(check_discovery(&doc("http://127.0.0.1:9090/pool"), "http://127.0.0.1:9090/pool").is_ok());
    }

    #[test]
    fn return_to_is_kept_only_for_same_origin_paths() {
        assert_eq!(safe_return_to("/users?x=1"), "/users?x=1");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "", "/a\nb"] {
            assert_eq!(safe_return_to(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn cognito_logout_uses_client_id_and_logout_uri_and_no_token() {
        let mut d = doc("https://cognito-idp.us-east-1.amazonaws.com/pool");
        d.authorization_endpoint = "https://mydomain.auth.us-east-1.amazoncognito.com/oauth2/authorize".into();
        let out = logout_for(&d, true, "client1", "https://om.example/signin", Some("eyJ.secret.token"));
        assert_eq!(out, ProviderLogout::Redirect("https://mydomain.auth.us-east-1.amazoncognito.com/logout?client_id=client1&logout_uri=https%3A%2F%2Fom.example%2Fsignin".into()));
        d.end_session_endpoint = Some("https://mydomain.auth.us-east-1.amazoncognito.com/logout".into());
        assert!(matches!(logout_for(&d, true, "c", "https://x/signin", None), ProviderLogout::Redirect(u) if u.starts_with("https://mydomain.auth.us-east-1.amazoncognito.com/logout?client_id=c&")));
    }

    #[test]
    fn generic_logout_posts_the_id_token_hint_instead_of_putting_it_in_a_url() {
        let mut d = doc("https://idp.example");
        assert_eq!(logout_for(&d, false, "c", "https://om/signin", Some("t")), ProviderLogout::None);
        d.end_session_endpoint = Some("https://idp.example/end".into());
        match logout_for(&d, false, "c", "https://om/signin", Some("t")) {
            ProviderLogout::PostForm { action, fields } => {
                assert_eq!(action, "https://idp.example/end");
                assert!(fields.contains(&("id_token_hint".into(), "t".into())));
                assert!(fields.contains(&("post_logout_redirect_uri".into(), "https://om/signin".into())));
            }
            other => panic!("{other:?}"),
        }
    }
}
