//! Signing in and out.
//!
//! - SSO: `/signin` shows one button; `/login` starts the code flow (state, nonce and PKCE kept
//!   server-side, a flow cookie binds it to this browser) and sends the browser to the provider;
//!   the callback finishes it, creates a session and redirects to where the user was going.
//!   Every callback failure (including the provider's `error=access_denied`) ends on an error
//!   page with a reference id: nothing redirects back to the provider by itself (no loops).
//! - Basic: `/signin` shows an email and password form checked server-side exactly like
//!   `POST /api/v1/users/login` (same messages, lockout and timing).
//! - `/logout` deletes the session, revokes the refresh token and sends the browser to the
//!   provider's logout (Cognito: `/logout?client_id=…&logout_uri=…`).

use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use ferrometa_auth::oidc::{CallbackError, CallbackParams, ProviderLogout, random_secret, safe_return_to, same_secret};
use ferrometa_auth::LoginAttempt;
use ferrometa_catalog::users::CreateUser;
use ferrometa_store::Origin;
use serde::Deserialize;

use super::html::{esc, notice, page, query_value, respond, see_other};
use super::error_page;
use crate::access::caller_of;
use crate::extract::ClientAddr;
use crate::session::{SessionKind, SessionOwner, SessionTokens, cookie};
use crate::state::AppState;

/// A short-lived, non-secret marker that makes the sign-in page say "you signed out".
const SIGNED_OUT_COOKIE: &str = "fm_signed_out";

#[derive(Deserialize, Default)]
pub struct SigninQuery {
    next: Option<String>,
}

fn provider_label(state: &AppState) -> String {
    let a = &state.config.authentication;
    match a.provider {
        ferrometa_config::Provider::AwsCognito => "Amazon Cognito".into(),
        ferrometa_config::Provider::Google => "Google".into(),
        ferrometa_config::Provider::Okta => "Okta".into(),
        ferrometa_config::Provider::Azure => "Microsoft Entra ID".into(),
        ferrometa_config::Provider::Auth0 => "Auth0".into(),
        ferrometa_config::Provider::CustomOidc if !a.provider_name.is_empty() => a.provider_name.clone(),
        _ => "your identity provider".into(),
    }
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> bool {
    match cookie(headers, state.sessions.cookies.session) {
        Some(v) => matches!(state.sessions.resolve(v).await, Ok(Some(_))),
        None => false,
    }
}

/// The sign-in page: the provider button, or the basic form (with a fresh login CSRF token).
/// A failed attempt: the message, and the email to keep in the form.
struct Failure<'a> {
    message: &'a str,
    email: &'a str,
    status: StatusCode,
}

async fn render_signin(state: &AppState, headers: &HeaderMap, next: &str, failure: Option<Failure<'_>>) -> Response {
    let status = failure.as_ref().map_or(StatusCode::OK, |f| f.status);
    let email = failure.as_ref().map_or("", |f| f.email);
    let next = safe_return_to(next);
    let mut set_cookies = vec![];
    let mut body = String::new();
    if cookie(headers, SIGNED_OUT_COOKIE).is_some() {
        body.push_str(&notice("ok", "signed-out-notice", "You have signed out."));
        set_cookies.push(format!("{SIGNED_OUT_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"));
    }
    if let Some(f) = &failure {
        body.push_str(&notice("error", "signin-error", f.message));
    }
    if state.config.authentication.provider.is_sso() {
        if state.sessions.oidc().is_some() {
            body.push_str(&format!(
                r#"<p>Sign in with your organisation's account.</p>
<p><a class="button primary" id="signin" href="/login?next={next}">Sign in with {label}</a></p>"#,
                next = esc(&query_value(next)),
                label = esc(&provider_label(state))
            ));
        } else {
            body.push_str(&notice("error", "signin-unconfigured", "Browser sign-in is not configured: set authenticationConfiguration.callbackUrl (AUTHENTICATION_CALLBACK_URL) to this server's /callback URL."));
        }
    } else {
        // Login CSRF: a double-submit value in a cookie and in the form.
        let login_token = random_secret();
        set_cookies.push(state.sessions.cookies.set(state.sessions.cookies.login, &login_token, 1800));
        body.push_str(&format!(
            r#"<form method="post" action="/signin" class="stack" id="basic-form">
<input type="hidden" name="login_csrf" value="{login_token}">
<input type="hidden" name="next" value="{next}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus value="{email}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary" id="basic-signin">Sign in</button>
</form>"#,
            next = esc(next),
            email = esc(email)
        ));
    }
    let mut response = respond(status, page("Sign in", None, &body));
    for c in set_cookies {
        if let Ok(v) = c.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<SigninQuery>) -> Response {
    if signed_in(&state, &headers).await {
        return see_other(safe_return_to(q.next.as_deref().unwrap_or("/")));
    }
    render_signin(&state, &headers, q.next.as_deref().unwrap_or("/"), None).await
}

/// Starts the provider sign-in.
pub async fn start(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Query(q): Query<SigninQuery>) -> Response {
    let Some(oidc) = state.sessions.oidc() else {
        return error_page(StatusCode::NOT_FOUND, "Sign-in unavailable", "This server does not sign in through an identity provider.", "no_provider", "");
    };
    if let Err(wait) = state.sign_in_limiter.check(peer.ip()) {
        metrics::counter!("ferrometa_signin_rate_limited_total").increment(1);
        let seconds = wait.as_secs() + 1;
        let mut response = error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts",
            &format!("Too many sign-ins were started from your network address. Try again in {seconds} seconds."),
            "rate_limited",
            "",
        );
        response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        return response;
    }
    match oidc.start(q.next.as_deref().unwrap_or("/")).await {
        Ok(flow) => {
            let mut response = see_other(&flow.authorize_url);
            let flow_cookie = state.sessions.cookies.set(state.sessions.cookies.flow, &flow.browser_binding, ferrometa_auth::oidc::FLOW_TTL_MS / 1000);
            if let Ok(v) = flow_cookie.parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => error_page(StatusCode::BAD_GATEWAY, "Sign-in unavailable", "The identity provider cannot be reached right now. Try again in a moment.", e.code(), &e.to_string()),
    }
}

/// The provider's redirect back to us.
pub async fn callback(State(state): State<AppState>, ClientAddr(client): ClientAddr, headers: HeaderMap, Query(params): Query<CallbackParams>) -> Response {
    let (mut response, flow_used) = finish_callback(&state, &headers, &params, client).await;
    // The flow cookie goes with the flow it binds; a callback with a state of no flow of ours
    // (forged, replayed) leaves it, so that it cannot break a sign-in in progress.
    if flow_used && let Ok(v) = state.sessions.cookies.clear(state.sessions.cookies.flow).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn finish_callback(state: &AppState, headers: &HeaderMap, params: &CallbackParams, client: Option<IpAddr>) -> (Response, bool) {
    let Some(oidc) = state.sessions.oidc() else {
        return (error_page(StatusCode::NOT_FOUND, "Sign-in failed", "This server does not sign in through an identity provider.", "no_provider", ""), false);
    };
    let binding = cookie(headers, state.sessions.cookies.flow);
    match oidc.finish(state.auth.verifier(), params, binding).await {
        Ok(signed_in) => {
            state.sessions.discard(cookie(headers, state.sessions.cookies.session)).await;
            (signed_in_response(state, signed_in, client).await, true)
        }
        Err(e) => (callback_error(&e), e != CallbackError::InvalidState),
    }
}

async fn signed_in_response(state: &AppState, signed_in: ferrometa_auth::oidc::SignedIn, client: Option<IpAddr>) -> Response {
    metrics::counter!("ferrometa_browser_signin_total", "result" => "ok").increment(1);
    let bearer = format!("Bearer {}", signed_in.tokens.id_token);
    let auth = match state.auth.authenticate(Some(&bearer)).await {
        Ok(a) => a,
        Err(e) => return error_page(StatusCode::FORBIDDEN, "Sign-in refused", &e.to_string(), "not_authorized", ""),
    };
    let principal = auth.principal.clone();
    let caller = match caller_of(state, auth, client).await {
        Ok(c) => c,
        Err(e) => return error_page(e.status, "Sign-in refused", &e.message, "not_authorized", ""),
    };
    // OpenMetadata's first-login sign-up step, done for the user when self-signup is on.
    let display_name: Option<String> = signed_in.tokens.verified.claims.str("name").filter(|n| !n.trim().is_empty()).map(|n| n.chars().take(128).collect());
    let user = match caller.user.clone() {
        // A user created before its first sign-in (e.g. an admin principal) takes its name from the provider.
        Some(u) if u["displayName"].as_str().is_none_or(str::is_empty) && display_name.is_some() => {
            state.catalog.set_user_fields(&u, serde_json::json!({"displayName": display_name}), Origin { actor: "system", client }).await.unwrap_or(u)
        }
        Some(u) => u,
        None if state.config.authentication.enable_self_signup => {
            let req = CreateUser { name: principal.name.clone(), email: principal.email.clone(), display_name, ..Default::default() };
            match crate::ops::users::sign_up_self(state, &principal, req, client).await {
                Ok(u) => u,
                Err(e) => return error_page(e.status, "Sign-up failed", &e.message, "signup_failed", ""),
            }
        }
        None => {
            return error_page(
                StatusCode::FORBIDDEN,
                "No access yet",
                &format!("You signed in as {}, but there is no user for you here and self-signup is off. Ask an administrator to create your user.", principal.name),
                "user_not_provisioned",
                "",
            );
        }
    };
    let user_id = user["id"].as_str().unwrap_or_default().to_string();
    let user_name = user["name"].as_str().unwrap_or_default().to_string();
    let subject = principal.sso_subject.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
    let expires_ms = signed_in.tokens.verified.expires_at.unwrap_or_default().saturating_mul(1000);
    let session = match state
        .sessions
        .create(
            SessionKind::Sso,
            SessionOwner { user_id: &user_id, user_name: &user_name, subject: &subject },
            SessionTokens { bearer: &signed_in.tokens.id_token, expires_at_ms: expires_ms, refresh: signed_in.tokens.refresh_token.as_deref() },
            client,
        )
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(e.status, "Sign-in failed", "Your session could not be created.", "session", &e.message),
    };
    let _ = crate::ops::users::sync_roles_from_provider(state, &caller, user).await;
    with_session_cookie(state, see_other(safe_return_to(&signed_in.return_to)), &session.cookie_value)
}

fn with_session_cookie(state: &AppState, mut response: Response, value: &str) -> Response {
    let c = state.sessions.cookies.set(state.sessions.cookies.session, value, state.sessions.absolute_secs());
    if let Ok(v) = c.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn callback_error(e: &CallbackError) -> Response {
    metrics::counter!("ferrometa_browser_signin_total", "result" => e.code()).increment(1);
    let (status, message) = match e {
        CallbackError::Provider(code) if code == "access_denied" => (StatusCode::FORBIDDEN, "The identity provider did not allow this sign-in (access denied)."),
        CallbackError::Provider(_) => (StatusCode::BAD_REQUEST, "The identity provider reported an error during sign-in."),
        CallbackError::InvalidState => (StatusCode::BAD_REQUEST, "This sign-in link is invalid, was already used or has expired. Start again from the sign-in page."),
        CallbackError::MissingCode => (StatusCode::BAD_REQUEST, "The sign-in response was incomplete."),
        CallbackError::Exchange(_) => (StatusCode::BAD_GATEWAY, "The identity provider did not accept the sign-in."),
        CallbackError::IdToken(_) => (StatusCode::BAD_GATEWAY, "The identity provider's answer could not be verified."),
        CallbackError::Unavailable(_) => (StatusCode::BAD_GATEWAY, "The identity provider cannot be reached right now."),
    };
    error_page(status, "Sign-in failed", message, e.code(), &e.to_string())
}

#[derive(Deserialize)]
pub struct BasicLoginForm {
    email: String,
    password: String,
    #[serde(default)]
    login_csrf: String,
    #[serde(default)]
    next: String,
}

/// The basic-auth form: the same checks (and `login` events) as `POST /api/v1/users/login`,
/// then a session.
pub async fn basic_login(State(state): State<AppState>, ClientAddr(client): ClientAddr, headers: HeaderMap, Form(form): Form<BasicLoginForm>) -> Response {
    if state.config.authentication.provider.is_sso() {
        return error_page(StatusCode::FORBIDDEN, "Password sign-in is off", "This server signs users in through its identity provider.", "password_login_disabled", "");
    }
    let expected = cookie(&headers, state.sessions.cookies.login).unwrap_or_default();
    if expected.is_empty() || !same_secret(expected, &form.login_csrf) {
        return render_signin(&state, &headers, &form.next, Some(Failure { message: "The sign-in form expired. Please try again.", email: &form.email, status: StatusCode::BAD_REQUEST })).await;
    }
    let user = match state.catalog.user_by_email(&form.email).await {
        Ok(u) => u,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Please try again.", "internal", &e.to_string()),
    };
    let account = user.as_ref().map(crate::routes::users::account_of);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&form.password);
    if let Err(e) = state.auth.check_password(&LoginAttempt { email: &form.email, client, via: "browser" }, &b64, account.as_ref()).await {
        let status = match e {
            ferrometa_auth::AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ferrometa_auth::AuthError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        };
        return render_signin(&state, &headers, &form.next, Some(Failure { message: &e.to_string(), email: &form.email, status })).await;
    }
    let Some(account) = account else {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Please try again.", "internal", "login matched without an account");
    };
    state.sessions.discard(cookie(&headers, state.sessions.cookies.session)).await;
    // The browser session below records the start.
    let issued = match state.auth.issue_session(&account, None).await {
        Ok(t) => t,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Sign-in failed", "Please try again.", "internal", &e.to_string()),
    };
    let session = match state
        .sessions
        .create(
            SessionKind::Basic,
            SessionOwner { user_id: &account.id, user_name: &account.name, subject: &account.name },
            SessionTokens { bearer: &issued.access_token, expires_at_ms: issued.expiry_duration, refresh: Some(&issued.refresh_token) },
            client,
        )
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(e.status, "Sign-in failed", "Your session could not be created.", "session", &e.message),
    };
    let mut response = with_session_cookie(&state, see_other(safe_return_to(&form.next)), &session.cookie_value);
    if let Ok(v) = state.sessions.cookies.clear(state.sessions.cookies.login).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session here and at the provider.
pub async fn logout(State(state): State<AppState>, ClientAddr(client): ClientAddr, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    let cookies = state.sessions.cookies.clone();
    let mut provider_logout = ProviderLogout::None;
    if let Some(value) = cookie(&headers, cookies.session) {
        // Only the page's own form may end the session (no logout CSRF); an unknown or expired
        // session just loses its cookie.
        if let Ok(Some(session)) = state.sessions.resolve(value).await
            && !same_secret(&form.csrf, &session.csrf_token)
        {
            return error_page(StatusCode::FORBIDDEN, "Request refused", "This sign-out was not sent from a page of this session.", "csrf", "logout without the session's CSRF token");
        }
        match state.sessions.end(value, client, "browser logout").await {
            Ok(ended) => provider_logout = ended.provider_logout,
            Err(e) => return error_page(e.status, "Sign-out failed", "Please try again.", "logout", &e.message),
        }
    }
    let mut response = match provider_logout {
        ProviderLogout::Redirect(url) => see_other(&url),
        ProviderLogout::PostForm { action, fields } => {
            let inputs: String = fields.iter().map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, esc(k), esc(v))).collect();
            let body = format!(
                r#"<p>Signing you out of your identity provider…</p>
<form method="post" action="{}" data-autosubmit id="provider-logout">{inputs}<button type="submit">Continue</button></form>"#,
                esc(&action)
            );
            respond(StatusCode::OK, page("Signing out", None, &body))
        }
        ProviderLogout::None => see_other("/signed-out"),
    };
    let h = response.headers_mut();
    for c in [cookies.clear(cookies.session), format!("{SIGNED_OUT_COOKIE}=1; Path=/; Max-Age=300; SameSite=Lax")] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

pub async fn signed_out() -> Response {
    let body = format!(
        "{}<p><a class=\"button primary\" href=\"/signin\" id=\"signin-again\">Sign in again</a></p>",
        notice("ok", "signed-out-notice", "You have signed out. Your session has ended on this server.")
    );
    let mut response = respond(StatusCode::OK, page("Signed out", None, &body));
    if let Ok(v) = format!("{SIGNED_OUT_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax").parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
