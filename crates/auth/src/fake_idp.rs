//! An in-process OpenID provider for tests (feature `testing`): discovery, JWKS, an authorize
//! endpoint that signs the user in at once, a token endpoint that enforces PKCE S256, refresh,
//! revocation and a Cognito-style `/logout`. Claims are Cognito-shaped (`token_use`,
//! `cognito:username`). Counters let tests assert how often each endpoint was called.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::keys::{KeyDir, KeySet};
use crate::oidc::pkce_challenge;
use crate::tokens::now_secs;

/// What the provider does; tests change it between requests.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Lifetime of ID tokens from the authorization code.
    pub id_token_ttl: i64,
    /// Lifetime of ID tokens from a refresh.
    pub refreshed_id_token_ttl: i64,
    /// Replaces the nonce of the next ID tokens (a provider that echoes the wrong one).
    pub nonce_override: Option<String>,
    /// Answer `error=access_denied` instead of a code.
    pub deny: bool,
    /// The user that signs in.
    pub username: String,
    pub email: String,
    /// The issuer named in the discovery document (default: the real one).
    pub discovery_issuer: Option<String>,
    /// Answer the discovery document with 503 (a provider outage).
    pub discovery_down: bool,
    /// What the token endpoint does.
    pub token_endpoint: Availability,
}

/// An endpoint that answers, answers 503, or accepts the request and never answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Up,
    Down,
    Hanging,
}

#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub discovery: usize,
    pub authorize: usize,
    pub token_code: usize,
    pub token_refresh: usize,
    pub token_errors: usize,
    pub revocations: usize,
    pub logouts: usize,
}

struct Pending {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    behaviour: Behaviour,
    counters: Counters,
    codes: HashMap<String, Pending>,
    refresh_tokens: HashMap<String, String>,
    seq: u64,
}

#[derive(Clone)]
pub struct FakeIdp {
    pub issuer: String,
    pub client_id: String,
    keys: Arc<KeySet>,
    inner: Arc<Mutex<Inner>>,
    _dir: Arc<tempfile::TempDir>,
}

impl FakeIdp {
    /// Starts on 127.0.0.1 (any free port) for one client id.
    pub async fn start(client_id: &str) -> FakeIdp {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Arc::new(KeyDir::new(dir.path()).load_or_generate().expect("provider keys"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake provider");
        let issuer = format!("http://{}/pool", listener.local_addr().expect("addr"));
        let behaviour = Behaviour {
            id_token_ttl: 3600,
            refreshed_id_token_ttl: 3600,
            nonce_override: None,
            deny: false,
            username: "alice".into(),
            email: "alice@open-metadata.org".into(),
            discovery_issuer: None,
            discovery_down: false,
            token_endpoint: Availability::Up,
        };
        let inner = Arc::new(Mutex::new(Inner { behaviour, counters: Counters::default(), codes: HashMap::new(), refresh_tokens: HashMap::new(), seq: 0 }));
        let idp = FakeIdp { issuer, client_id: client_id.into(), keys, inner, _dir: Arc::new(dir) };
        let app = Router::new()
            .route("/pool/.well-known/openid-configuration", get(discovery))
            .route("/pool/.well-known/jwks.json", get(jwks))
            .route("/pool/oauth2/authorize", get(authorize))
            .route("/pool/oauth2/token", post(token))
            .route("/pool/oauth2/revoke", post(revoke))
            .route("/pool/logout", get(logout))
            .with_state(idp.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        idp
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer)
    }

    pub fn counters(&self) -> Counters {
        self.inner.lock().unwrap().counters.clone()
    }

    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.inner.lock().unwrap().behaviour);
    }

    /// Forgets every refresh token (like Cognito's global sign-out).
    pub fn revoke_all_refresh_tokens(&self) {
        self.inner.lock().unwrap().refresh_tokens.clear();
    }

    /// An ID token of this provider, as the token endpoint would issue it.
    pub fn id_token(&self, nonce: Option<&str>, ttl: i64) -> String {
        let b = self.inner.lock().unwrap().behaviour.clone();
        let now = now_secs();
        let mut claims = json!({
            "iss": self.issuer, "aud": self.client_id, "sub": format!("sub-{}", b.username), "token_use": "id",
            "cognito:username": b.username, "email": b.email, "email_verified": true, "name": "Test User",
            "iat": now, "auth_time": now, "exp": now + ttl,
        });
        if let Some(n) = b.nonce_override.as_deref().or(nonce) {
            claims["nonce"] = json!(n);
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.keys.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.keys.signing).expect("sign")
    }
}

async fn discovery(State(idp): State<FakeIdp>) -> Response {
    let issuer = {
        let mut inner = idp.inner.lock().unwrap();
        inner.counters.discovery += 1;
        if inner.behaviour.discovery_down {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        inner.behaviour.discovery_issuer.clone().unwrap_or_else(|| idp.issuer.clone())
    };
    let base = &idp.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "end_session_endpoint": format!("{base}/logout"),
        "jwks_uri": idp.jwks_url(),
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(idp): State<FakeIdp>) -> Json<Value> {
    Json(json!({"keys": idp.keys.jwks()}))
}

async fn authorize(State(idp): State<FakeIdp>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = idp.inner.lock().unwrap();
    inner.counters.authorize += 1;
    let redirect_uri = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let location = if inner.behaviour.deny {
        format!("{redirect_uri}?error=access_denied&state={state}")
    } else {
        inner.seq += 1;
        let code = format!("code-{}", inner.seq);
        let pending = Pending { nonce: q.get("nonce").cloned().unwrap_or_default(), challenge: q.get("code_challenge").cloned().unwrap_or_default(), redirect_uri: redirect_uri.clone() };
        inner.codes.insert(code.clone(), pending);
        format!("{redirect_uri}?code={code}&state={state}")
    };
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn token_error(idp: &FakeIdp, error: &str) -> Response {
    idp.inner.lock().unwrap().counters.token_errors += 1;
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

async fn token(State(idp): State<FakeIdp>, headers: HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    let availability = idp.inner.lock().unwrap().behaviour.token_endpoint;
    match availability {
        Availability::Up => {}
        Availability::Down => return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response(),
        Availability::Hanging => std::future::pending::<()>().await,
    }
    let basic_client = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).is_some_and(|h| h.starts_with("Basic "));
    if f.get("client_id") != Some(&idp.client_id) && !basic_client {
        return token_error(&idp, "invalid_client");
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = f.get("code").cloned().unwrap_or_default();
            let Some(pending) = idp.inner.lock().unwrap().codes.remove(&code) else { return token_error(&idp, "invalid_grant") };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            if verifier.is_empty() || pkce_challenge(&verifier) != pending.challenge || f.get("redirect_uri") != Some(&pending.redirect_uri) {
                return token_error(&idp, "invalid_grant");
            }
            let ttl = idp.inner.lock().unwrap().behaviour.id_token_ttl;
            let id_token = idp.id_token(Some(&pending.nonce), ttl);
            let refresh = {
                let mut inner = idp.inner.lock().unwrap();
                inner.counters.token_code += 1;
                inner.seq += 1;
                let r = format!("refresh-{}", inner.seq);
                inner.refresh_tokens.insert(r.clone(), code);
                r
            };
            Json(json!({"id_token": id_token, "access_token": "opaque", "refresh_token": refresh, "token_type": "Bearer", "expires_in": ttl})).into_response()
        }
        Some("refresh_token") => {
            let known = idp.inner.lock().unwrap().refresh_tokens.contains_key(f.get("refresh_token").map(String::as_str).unwrap_or_default());
            if !known {
                return token_error(&idp, "invalid_grant");
            }
            let ttl = {
                let mut inner = idp.inner.lock().unwrap();
                inner.counters.token_refresh += 1;
                inner.behaviour.refreshed_id_token_ttl
            };
            Json(json!({"id_token": idp.id_token(None, ttl), "access_token": "opaque", "token_type": "Bearer", "expires_in": ttl})).into_response()
        }
        _ => token_error(&idp, "unsupported_grant_type"),
    }
}

async fn revoke(State(idp): State<FakeIdp>, Form(f): Form<HashMap<String, String>>) -> StatusCode {
    let mut inner = idp.inner.lock().unwrap();
    inner.counters.revocations += 1;
    if let Some(t) = f.get("token") {
        inner.refresh_tokens.remove(t);
    }
    StatusCode::OK
}

async fn logout(State(idp): State<FakeIdp>) -> StatusCode {
    idp.inner.lock().unwrap().counters.logouts += 1;
    StatusCode::OK
}
