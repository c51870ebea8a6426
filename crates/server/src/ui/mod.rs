//! The web UI: server-rendered HTML embedded in the binary (no front-end build), one module per
//! user flow. Pages need a browser session (see [`crate::session`]); forms carry the session's
//! CSRF token; every response gets the security headers of [`security_headers`].
//!
//! | flow | pages |
//! |---|---|
//! | [`signin`] | `/signin` (provider button or basic form), `/login` → provider, callback, `/logout`, `/signed-out`, error page |
//! | [`home`] | `/` (the signed-in user, search box), `/search` |
//! | [`catalog`] | `/catalog`, `/catalog/{service,database,schema,table}?fqn=…` (descriptions editable by catalog writers) |
//! | [`users`] | `/users` (admins: make admin, delete), `/users/{name}` (admins: roles and teams) |
//! | [`bots`] | `/bots` (generate a token with an expiry, copy once, revoke) |
//! | [`profile`] | `/profile` (roles, teams, effective permissions; personal access tokens: create, copy once, revoke) |
//! | [`roles`] | `/roles`, `/roles/{name}` (admins: create, edit policies and description, delete) |
//! | [`policies`] | `/policies`, `/policies/{name}` (admins: create, add/edit/remove rules, delete) |
//! | [`security`] | `/security` (admin checklist of the deployment guide's production requirements) |
//!
//! What a page offers (a link, a form, a button) comes from the catalog's evaluation for the
//! viewer ([`Viewer::may`], [`Viewer::may_change`]); the write itself is the catalog's use case
//! (or a [`crate::ops`] function) called with the viewer's subject, which decides again.

mod bots;
mod catalog;
mod form;
mod home;
pub mod html;
mod policies;
mod profile;
mod roles;
mod security;
mod signin;
mod table_tabs;
mod users;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use ferrometa_catalog::kinds::{BOT, POLICY, ROLE, USER};
use ferrometa_catalog::policy::Operation;
use ferrometa_catalog::data::AssetType;
use ferrometa_catalog::fqn::quote;
use ferrometa_catalog::{EntityKind, Key, Listing, Subject};
use ferrometa_store::Include;
use serde_json::{Value, json};

use crate::access::{Caller, authenticated_caller};
use crate::error::ApiError;
use crate::session::{ActiveSession, cookie};
use crate::state::AppState;
use html::{Link, Nav, esc, page, respond};

/// The path of the configured `callbackUrl` (OpenMetadata's default `/callback`).
pub fn callback_path(state: &AppState) -> String {
    let configured = url::Url::parse(&state.config.authentication.callback_url).ok().map(|u| u.path().to_string());
    match configured {
        Some(p) if p.len() > 1 && !RESERVED.contains(&p.as_str()) && !p.starts_with("/api/") => p,
        _ => "/callback".into(),
    }
}

const RESERVED: &[&str] = &["/", "/signin", "/login", "/logout", "/signed-out", "/search", "/users", "/bots", "/profile", "/security", "/catalog", "/roles", "/policies"];

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
        .route("/users/{user}", get(users::page))
        .route("/users/{user}/access", post(users::save_access))
        .route("/users/{user}/admin", post(users::set_admin))
        .route("/users/{user}/delete", post(users::delete))
        .route("/roles", get(roles::list).post(roles::create))
        .route("/roles/{name}", get(roles::page))
        .route("/roles/{name}/edit", post(roles::edit))
        .route("/roles/{name}/delete", post(roles::delete))
        .route("/policies", get(policies::list).post(policies::create))
        .route("/policies/{name}", get(policies::page))
        .route("/policies/{name}/rules", post(policies::save_rule))
        .route("/policies/{name}/rules/delete", post(policies::remove_rule))
        .route("/policies/{name}/delete", post(policies::delete))
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

/// The error page of a refused or failed use case: its status and message.
pub fn failed(title: &str, code: &str, e: impl Into<ApiError>) -> Response {
    let e = e.into();
    error_page(e.status, title, &e.message, code, "")
}

/// Who may open a place: anyone signed in, whoever may read its type as its page reads it, or
/// administrators (OpenMetadata's `authorizeAdmin`).
enum Gate {
    Anyone,
    May(&'static EntityKind, Operation),
    Admin,
}

/// The places of the navigation bar and the home page, in order.
static PLACES: &[(Link, Gate)] = &[
    (Link { href: "/catalog", label: "Catalog", card: "Browse the data catalog", in_nav: true }, Gate::Anyone),
    (Link { href: "/users", label: "Users", card: "Users", in_nav: true }, Gate::May(&USER, Operation::ViewBasic)),
    (Link { href: "/bots", label: "Bots", card: "Bots and their tokens", in_nav: true }, Gate::May(&BOT, Operation::ViewBasic)),
    // The roles and policies pages read policies and rules, which need `ViewAll`.
    (Link { href: "/roles", label: "Roles", card: "Roles and the policies they grant", in_nav: true }, Gate::May(&ROLE, Operation::ViewAll)),
    (Link { href: "/policies", label: "Policies", card: "Policies and their rules", in_nav: true }, Gate::May(&POLICY, Operation::ViewAll)),
    (Link { href: "/profile", label: "My profile", card: "My profile, permissions and personal access tokens", in_nav: false }, Gate::Anyone),
    (Link { href: "/security", label: "Security checklist", card: "Security checklist", in_nav: true }, Gate::Admin),
];

/// The places a subject may open, as the catalog's evaluation says.
async fn places_for(state: &AppState, subject: &Subject) -> Vec<&'static Link> {
    let mut open = vec![];
    for (link, gate) in PLACES {
        let allowed = match gate {
            Gate::Anyone => true,
            Gate::May(kind, operation) => state.catalog.may(subject, kind, None, *operation).await,
            Gate::Admin => subject.is_admin(),
        };
        if allowed {
            open.push(link);
        }
    }
    open
}

/// The signed-in person behind a page request: their caller (as the API would resolve it),
/// their session, and the places they may open. Without a live session, pages redirect to
/// `/signin?next=<path>`.
pub struct Viewer {
    pub caller: Caller,
    pub session: ActiveSession,
    pub state: AppState,
    pub places: Vec<&'static Link>,
}

// Page errors are whole responses, returned straight to the browser.
#[allow(clippy::result_large_err)]
impl Viewer {
    pub fn nav(&self) -> Nav<'_> {
        // The profile is the viewer's name at the end of the bar.
        Nav { name: display_name(&self.caller), csrf: &self.session.csrf_token, links: &self.places }
    }

    pub fn render(&self, title: &str, body: &str) -> Response {
        self.render_status(StatusCode::OK, title, body)
    }

    /// A page answering a refused form with the form shown again (4xx).
    pub fn render_status(&self, status: StatusCode, title: &str, body: &str) -> Response {
        respond(status, page(title, Some(&self.nav()), body))
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
    pub fn subject(&self) -> &Subject {
        self.caller.subject.as_ref().unwrap_or_else(|| unreachable!("a viewer is made only for a live user"))
    }

    /// The signed-in person acting in this request, for the catalog's use cases.
    pub fn actor(&self) -> ferrometa_catalog::Actor<'_> {
        ferrometa_catalog::Actor::new(self.subject(), self.caller.client)
    }

    /// Whether this person may do `operation` on an entity: what the catalog's use case would
    /// decide, so a page offers only what the API would allow.
    pub async fn may(&self, kind: &EntityKind, entity: &Value, operation: Operation) -> bool {
        self.state.catalog.may(self.subject(), kind, Some(entity), operation).await
    }

    /// Whether this person may do `operation` on a type (e.g. `Create`), as [`Viewer::may`].
    pub async fn may_on_type(&self, kind: &EntityKind, operation: Operation) -> bool {
        self.state.catalog.may(self.subject(), kind, None, operation).await
    }

    /// Whether this person may change these fields of an entity, as the write would judge it
    /// (a user's roles and teams, or a role's and policy's fields, need an admin).
    pub async fn may_change(&self, kind: &EntityKind, entity: &Value, fields: &[&str]) -> bool {
        self.state.catalog.may_change(self.subject(), kind, entity, fields).await
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

// The catalog's reads as the pages call them, with the viewer's subject.
impl Viewer {
    /// Every live entity of a type without a container (up to [`LIST_LIMIT`]), as
    /// `GET /api/v1/<collection>?fields=…` reads them.
    pub async fn list(&self, kind: &EntityKind, fields: Option<&str>) -> Result<Vec<Value>, ApiError> {
        let listing = Listing { under: None, include: Include::NonDeleted, limit: LIST_LIMIT, after: None, before: None };
        Ok(self.state.catalog.read_list(self.actor(), kind, &listing, fields).await?.data)
    }

    /// A live top-level entity by name, as `GET /api/v1/<collection>/name/{name}?fields=…`.
    pub async fn read_named(&self, kind: &EntityKind, name: &str, fields: Option<&str>) -> Result<Value, ApiError> {
        Ok(self.state.catalog.read(self.actor(), kind, Key::Fqn(&quote(name)), Include::NonDeleted, fields).await?)
    }
}

// Writes the pages share.
impl Viewer {
    /// Deletes a top-level entity by name for good through the same use case as the API's
    /// delete, then shows the list at `back`.
    pub async fn delete_named(&self, t: &'static AssetType, name: &str, back: &str) -> Response {
        let deleted: Result<Value, ApiError> = async {
            let entity = self.read_named(t.kind, name, None).await?;
            Ok(self.state.catalog.delete_asset(self.actor(), t, text(&entity, "id"), true, false).await?)
        }
        .await;
        match deleted {
            Ok(_) => html::see_other(back),
            Err(e) => failed("Not deleted", &format!("{}_delete_failed", t.kind.name), e),
        }
    }
}

/// A refused form's reason, shown above the form (nothing when it was not refused).
pub fn refusal_notice(id: &str, refusal: Option<&ApiError>) -> String {
    refusal.map(|e| html::notice("error", id, &e.message)).unwrap_or_default()
}

/// A page's status: the refusal's (4xx) when it shows a refused form again.
pub fn status_of(refusal: Option<&ApiError>) -> StatusCode {
    refusal.map_or(StatusCode::OK, |e| e.status)
}

/// Most entities a page lists.
pub const LIST_LIMIT: i64 = 1000;

/// A string field of an entity, or `""`.
pub fn text<'a>(entity: &'a Value, field: &str) -> &'a str {
    entity[field].as_str().unwrap_or_default()
}

/// Who provides a role or policy: `system` (seeded) or `user` (OpenMetadata's default).
pub fn provider(entity: &Value) -> &str {
    match text(entity, "provider") {
        "" => "user",
        p => p,
    }
}

/// The page of a named entity: `/roles/{name}`, `/policies/{name}`, `/users/{name}`.
pub fn href(collection: &str, name: &str) -> String {
    format!("/{collection}/{}", html::path_segment(name))
}

/// The trimmed value, unless blank.
pub fn non_blank(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// References by id, as a write takes them (`{"id": …, "type": "role"}`).
pub fn references(ids: &[String], entity_type: &str) -> Value {
    Value::Array(ids.iter().map(|id| json!({"id": id, "type": entity_type})).collect())
}

/// A JSON Patch (RFC 6902) from its operations.
pub fn patch_of(operations: Value) -> Result<json_patch::Patch, ApiError> {
    serde_json::from_value(operations).map_err(ApiError::internal)
}

/// The ids of a list of references.
pub fn ids_of(listed: &Value) -> Vec<String> {
    listed.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_string)).collect()
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
            Ok(caller) => match caller.subject.as_ref() {
                Some(subject) => {
                    let places = places_for(state, subject).await;
                    Ok(Viewer { caller, session, state: state.clone(), places })
                }
                None => Err(error_page(StatusCode::FORBIDDEN, "No user", "Your sign-in is valid but there is no user for it here.", "user_not_provisioned", "")),
            },
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                // The token behind the session no longer verifies (expired, revoked): sign in again.
                let _ = state.sessions.end(value, client, "browser: sign-in no longer valid").await;
                Err(to_signin())
            }
            Err(e) => Err(error_page(e.status, "Something went wrong", "Your session could not be checked.", "session", &e.message)),
        }
    }
}
