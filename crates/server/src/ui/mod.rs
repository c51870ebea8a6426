//! The web UI: server-rendered HTML embedded in the binary (no front-end build), one module per
//! user flow. Pages need a browser session (see [`crate::session`]); forms carry the session's
//! CSRF token; every response gets the security headers of [`security_headers`].
//!
//! | flow | pages |
//! |---|---|
//! | [`signin`] | `/signin` (provider button or basic form), `/login` → provider, callback, `/logout`, `/signed-out`, error page |
//! | [`home`] | `/` (the signed-in user, search box), `/search` |
//! | [`catalog`] | `/catalog`, `/catalog/{service,database,schema,table}?fqn=…` (descriptions editable by catalog writers) |
//! | [`users`] | `/users` (admins: make admin, delete) |
//! | [`bots`] | `/bots` (generate a token with an expiry, copy once, revoke) |
//! | [`profile`] | `/profile` (personal access tokens: create, copy once, revoke) |
//! | [`security`] | `/security` (admin checklist of the deployment guide's production requirements) |

mod bots;
mod catalog;
mod home;
pub mod html;
mod profile;
mod security;
mod signin;
mod users;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::access::{Caller, authenticated_caller};
use crate::session::{ActiveSession, cookie};
use crate::state::AppState;
use html::{Nav, esc, page, respond};

/// The path of the configured `callbackUrl` (OpenMetadata's default `/callback`).
pub fn callback_path(state: &AppState) -> String {
    let configured = url::Url::parse(&state.config.authentication.callback_url).ok().map(|u| u.path().to_string());
    match configured {
        Some(p) if p.len() > 1 && !RESERVED.contains(&p.as_str()) && !p.starts_with("/api/") => p,
        _ => "/callback".into(),
    }
}

const RESERVED: &[&str] = &["/", "/signin", "/login", "/logout", "/signed-out", "/search", "/users", "/bots", "/profile", "/security", "/catalog"];

pub fn router(state: AppState) -> Router {
    let callback = callback_path(&state);
    Router::new()
        .route("/", get(home::home))
        .route("/search", get(home::search))
        .route("/signin", get(signin::show).post(signin::basic_login))
        .route("/login", get(signin::start))
        .route(&callback, get(signin::callback))
        .route("/logout", post(signin::logout))
        .route("/signed-out", get(signin::signed_out))
        .route("/catalog", get(catalog::index))
        .route("/catalog/{kind}", get(catalog::entity))
        .route("/catalog/{kind}/description", post(catalog::save_description))
        .route("/users", get(users::list))
        .route("/users/{id}/admin", post(users::set_admin))
        .route("/users/{id}/delete", post(users::delete))
        .route("/bots", get(bots::list))
        .route("/bots/{id}/token", post(bots::generate))
        .route("/bots/{id}/revoke", post(bots::revoke))
        .route("/profile", get(profile::page))
        .route("/profile/tokens", post(profile::create))
        .route("/profile/tokens/revoke", post(profile::revoke))
        .route("/profile/sessions/end", post(profile::end_sessions))
        .route("/security", get(security::page))
        .route("/ui/app.css", get(|| asset("text/css; charset=utf-8", include_str!("assets/app.css"))))
        .route("/ui/app.js", get(|| asset("text/javascript; charset=utf-8", include_str!("assets/app.js"))))
        .layer(from_fn_with_state(state.clone(), security_headers))
        .with_state(state)
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// CSP (no inline script or style; forms only to us and to the provider), no framing, no
/// referrer (callback URLs carry the provider's code), HSTS under https, and no caching of
/// pages (the back button after logout must not show them).
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/ui/");
    let mut response = next.run(req).await;
    let mut form_action = "'self'".to_string();
    if let Some(oidc) = state.sessions.oidc() {
        for origin in oidc.provider_origins() {
            form_action.push(' ');
            form_action.push_str(&origin);
        }
    }
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.sessions.cookies.secure {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A friendly error page with a reference id that is also logged (never a redirect).
pub fn error_page(status: StatusCode, title: &str, message: &str, code: &str, detail: &str) -> Response {
    let reference = uuid::Uuid::new_v4();
    if status.is_server_error() {
        tracing::error!(%reference, code, detail, "page error");
    } else {
        tracing::warn!(%reference, code, detail, "page error");
    }
    let body = format!(
        r#"<div class="error-page" id="error">
<p class="notice error" role="alert">{message}</p>
<p>Reason: <code id="error-code">{code}</code> · Reference: <code id="error-reference">{reference}</code></p>
<p>If this keeps happening, tell your administrator the reference above.</p>
<p><a class="button" href="/signin" id="try-again">Back to sign-in</a> <a href="/">Home</a></p>
</div>"#,
        message = esc(message),
        code = esc(code)
    );
    respond(status, page(title, None, &body))
}

/// The signed-in person behind a page request: their caller (as the API would resolve it) and
/// their session. Without a live session, pages redirect to `/signin?next=<path>`.
pub struct Viewer {
    pub caller: Caller,
    pub session: ActiveSession,
    pub state: AppState,
}

// Page errors are whole responses, returned straight to the browser.
#[allow(clippy::result_large_err)]
impl Viewer {
    pub fn nav(&self) -> Nav<'_> {
        Nav { name: display_name(&self.caller), is_admin: self.caller.is_admin(), csrf: &self.session.csrf_token }
    }

    pub fn render(&self, title: &str, body: &str) -> Response {
        respond(StatusCode::OK, page(title, Some(&self.nav()), body))
    }

    /// Forms of signed-in pages carry the session's CSRF token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if ferrometa_auth::oidc::same_secret(sent, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(error_page(StatusCode::FORBIDDEN, "Request refused", "This form was not sent from a page of this session. Reload the page and try again.", "csrf", "form without the session's CSRF token"))
        }
    }

    /// The signed-in person as the catalog authorizes them (a viewer is always a live user).
    pub fn subject(&self) -> &ferrometa_catalog::Subject {
        self.caller.subject.as_ref().unwrap_or_else(|| unreachable!("a viewer is made only for a live user"))
    }

    /// The signed-in person acting in this request, for the catalog's use cases.
    pub fn actor(&self) -> ferrometa_catalog::Actor<'_> {
        ferrometa_catalog::Actor::new(self.subject(), self.caller.client)
    }

    /// Whether this person may do `operation` on an entity: what the catalog's use case would
    /// decide, so a page offers only what the API would allow.
    pub async fn may(&self, kind: &ferrometa_catalog::EntityKind, entity: &serde_json::Value, operation: ferrometa_catalog::policy::Operation) -> bool {
        self.state.catalog.may(self.subject(), kind, Some(entity), operation).await
    }

    pub fn require_admin(&self) -> Result<(), Response> {
        if self.caller.is_admin() {
            Ok(())
        } else {
            Err(respond(StatusCode::FORBIDDEN, page("Administrators only", Some(&self.nav()), &html::notice("error", "forbidden", "Only administrators can open this page."))))
        }
    }

    /// An administrator's form: the session's CSRF token and admin rights.
    pub fn check_admin_form(&self, sent_csrf: &str) -> Result<(), Response> {
        self.check_csrf(sent_csrf)?;
        self.require_admin()
    }

    pub fn csrf_field(&self) -> String {
        format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(&self.session.csrf_token))
    }
}

pub fn display_name(caller: &Caller) -> &str {
    caller.user.as_ref().and_then(|u| u["displayName"].as_str()).filter(|d| !d.is_empty()).unwrap_or(&caller.name)
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let to_signin = || {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let location = if next == "/" { "/signin".to_string() } else { format!("/signin?next={}", html::query_value(next)) };
            html::see_other(&location)
        };
        let Some(value) = cookie(&parts.headers, state.sessions.cookies.session) else { return Err(to_signin()) };
        let session = match state.sessions.resolve(value).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_signin()),
            Err(e) => return Err(error_page(e.status, "Something went wrong", "Your session could not be checked.", "session", &e.message)),
        };
        let client = crate::extract::client_of(&parts.extensions);
        match authenticated_caller(state, Some(&session.bearer), client).await {
            Ok(caller) if caller.subject.is_some() => Ok(Viewer { caller, session, state: state.clone() }),
            Ok(_) => Err(error_page(StatusCode::FORBIDDEN, "No user", "Your sign-in is valid but there is no user for it here.", "user_not_provisioned", "")),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                // The token behind the session no longer verifies (expired, revoked): sign in again.
                let _ = state.sessions.end(value, client, "browser: sign-in no longer valid").await;
                Err(to_signin())
            }
            Err(e) => Err(error_page(e.status, "Something went wrong", "Your session could not be checked.", "session", &e.message)),
        }
    }
}
