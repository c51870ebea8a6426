//! Issue 6: browser sessions over HTTP, against an in-process OpenID provider
//! (`ferrometa_auth::fake_idp`): the sign-in cookies, the session cookie on the API with its CSRF
//! token, logout at the provider, no redirect loops, single-flight refresh, sessions ending with
//! their user, and the basic-auth form.

mod common;

use common::browser::*;

use ferrometa_auth::fake_idp::{Availability, FakeIdp};
use ferrometa_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_session_cookie_reads_the_api_and_cookie_writes_need_the_csrf_token() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let (cookie, _, header) = sign_in(&s).await;
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/"), "{header}");
    assert!(!header.contains("Secure"), "plain http on loopback: no Secure attribute");
    let id = cookie.split_once('=').unwrap().1;
    assert_eq!(id.len(), 43, "256-bit opaque id");
    assert!(!id.starts_with("eyJ"));

    let (status, me) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!((status, me["name"].clone(), me["isAdmin"].clone()), (StatusCode::OK, json!("alice"), json!(true)), "{me}");

    let pat = json!({"tokenName": "cli", "JWTTokenExpiry": "7"});
    let (status, body) = call(&s, Method::PUT, "/api/v1/users/security/token", &cookie, None, Some(pat.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], json!(403));
    let (status, _) = call(&s, Method::PUT, "/api/v1/users/security/token", &cookie, Some("wrong"), Some(pat.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = csrf_of(&s, &cookie).await;
    let (status, created) = call(&s, Method::PUT, "/api/v1/users/security/token", &cookie, Some(&csrf), Some(pat)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    // A bearer request needs no CSRF token.
    let bearer = created["jwtToken"].as_str().unwrap();
    let (status, _) = s.call(Method::PUT, "/api/v1/users/security/token", Some(bearer), Some(json!({"tokenName": "again", "JWTTokenExpiry": "1"}))).await;
    assert_eq!(status, StatusCode::OK);
    // An unknown session is a 401 with OpenMetadata's error body.
    let (status, body) = call(&s, Method::GET, "/api/v1/users/loggedInUser", "fm_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", None, None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!(401)), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_revokes_the_refresh_token_and_goes_to_cognito_logout() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let (cookie, _, _) = sign_in(&s).await;
    let csrf = csrf_of(&s, &cookie).await;

    let forged = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", "forged")])).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "logout needs the page's CSRF token");
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::OK, "a refused logout keeps the session");

    let out = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let origin = s.base.clone();
    let expected = format!("{}/logout?client_id={CLIENT}&logout_uri={}", idp.issuer, url_encode(&format!("{origin}/signin")));
    assert_eq!(out.headers()[LOCATION].to_str().unwrap(), expected);
    let (_, cleared) = set_cookie(&out, "fm_session").expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(idp.counters().revocations, 1, "the refresh token is revoked at the provider");

    let (status, _) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old cookie is dead");
    let page = http().get(s.url("/profile")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!((page.status(), page.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/signin?next=%2Fprofile"));
    s.stop().await;
}

#[tokio::test]
async fn the_logout_uri_is_configurable() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("FERROMETA_LOGOUT_URI", "https://om.example.com/goodbye")]).await;
    let (cookie, _, _) = sign_in(&s).await;
    let csrf = csrf_of(&s, &cookie).await;
    let out = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.headers()[LOCATION].to_str().unwrap(), format!("{}/logout?client_id={CLIENT}&logout_uri=https%3A%2F%2Fom.example.com%2Fgoodbye", idp.issuer));
    s.stop().await;
}

/// Other OIDC providers: RP-initiated logout with `id_token_hint` posted by a form (never in a
/// URL), to the discovered `end_session_endpoint`, which the page's CSP allows as form target.
#[tokio::test]
async fn generic_oidc_logout_posts_the_id_token_hint_to_the_end_session_endpoint() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("AUTHENTICATION_PROVIDER", "custom-oidc"), ("CUSTOM_OIDC_AUTHENTICATION_PROVIDER_NAME", "Test IdP")]).await;
    let signin = http().get(s.url("/signin")).send().await.unwrap().text().await.unwrap();
    assert!(signin.contains("Sign in with Test IdP"), "{signin}");
    let (cookie, _, _) = sign_in(&s).await;
    let csrf = csrf_of(&s, &cookie).await;
    let out = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert!(out.headers().get(LOCATION).is_none(), "the ID token is never put in a redirect URL");
    let csp = out.headers()["content-security-policy"].to_str().unwrap().to_string();
    let idp_origin = idp.issuer.trim_end_matches("/pool").to_string();
    assert!(csp.contains(&format!("form-action 'self' {idp_origin}")), "{csp}");
    let page = out.text().await.unwrap();
    assert!(page.contains(&format!(r#"action="{}/logout""#, idp.issuer)) && page.contains("data-autosubmit"), "{page}");
    for field in ["name=\"id_token_hint\" value=\"eyJ", "name=\"post_logout_redirect_uri\"", &format!("name=\"client_id\" value=\"{CLIENT}\"")] {
        assert!(page.contains(field), "missing {field}: {page}");
    }
    assert_eq!(idp.counters().revocations, 1);
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn failed_callbacks_show_an_error_page_and_never_send_the_browser_back() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    idp.set(|b| b.deny = true);
    for _ in 0..3 {
        let c = http();
        let start = c.get(s.url("/login")).send().await.unwrap();
        let (flow, _) = set_cookie(&start, "fm_flow").unwrap();
        let at_idp = c.get(start.headers()[LOCATION].to_str().unwrap()).send().await.unwrap();
        let denied = c.get(at_idp.headers()[LOCATION].to_str().unwrap()).header(COOKIE, &flow).send().await.unwrap();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
        assert!(denied.headers().get(LOCATION).is_none(), "an IdP error must not redirect anywhere");
        let page = denied.text().await.unwrap();
        assert!(page.contains(r#"id="error-code">idp_error<"#) && page.contains("access denied"), "{page}");
        assert!(!page.contains("http-equiv"), "no meta refresh");
    }
    for query in ["code=x&state=forged", "state=", "error=server_error", ""] {
        let r = http().get(s.url(&format!("/callback?{query}"))).send().await.unwrap();
        assert!(matches!(r.status(), StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN), "{query}: {}", r.status());
        assert!(r.headers().get(LOCATION).is_none(), "{query}: redirected");
    }
    let c = idp.counters();
    assert_eq!((c.authorize, c.token_code, c.token_errors), (3, 0, 0), "one provider visit per explicit sign-in, no code exchange: {c:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_session_near_expiry_is_refreshed_once_for_concurrent_requests() {
    let idp = FakeIdp::start(CLIENT).await;
    idp.set(|b| b.id_token_ttl = 30);
    let s = sso_server(&idp, &[]).await;
    let (cookie, _, _) = sign_in(&s).await;
    assert_eq!(idp.counters().token_refresh, 0);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (url, cookie) = (s.url("/api/v1/users/loggedInUser"), cookie.clone());
        calls.spawn(async move { http().get(url).header(COOKIE, cookie).send().await.unwrap().status() });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(idp.counters().token_refresh, 1, "exactly one refresh for ten concurrent requests");
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::OK);
    assert_eq!(idp.counters().token_refresh, 1, "a fresh token is not refreshed again");
    s.stop().await;
}

#[tokio::test]
async fn sessions_sign_in_refresh_and_logout_on_postgresql() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let idp = FakeIdp::start(CLIENT).await;
    idp.set(|b| b.id_token_ttl = 30);
    let s = sso_server_on(&idp, &[], Some(&url)).await;
    let (cookie, _, _) = sign_in(&s).await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (url, cookie) = (s.url("/api/v1/users/loggedInUser"), cookie.clone());
        calls.spawn(async move { http().get(url).header(COOKIE, cookie).send().await.unwrap().status() });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(idp.counters().token_refresh, 1);
    let csrf = csrf_of(&s, &cookie).await;
    let out = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

/// Replicas share sessions through the database: sign in on one, continue and sign out on the
/// other. A replica with another secret key cannot open them and ends them (401, not 500).
#[tokio::test]
async fn any_replica_serves_any_session() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let idp = FakeIdp::start(CLIENT).await;
    let (port_a, port_b, port_c) = (free_port().to_string(), free_port().to_string(), free_port().to_string());
    let callback = format!("http://127.0.0.1:{port_a}/callback");
    let keys = format!("[{}]", idp.jwks_url());
    let env = |port: &str, fernet: &'static str| -> Vec<(String, String)> {
        [
            ("SERVER_PORT", port),
            ("FERROMETA_DATABASE_URL", url.as_str()),
            ("FERNET_KEY", fernet),
            ("AUTHENTICATION_PROVIDER", "aws-cognito"),
            ("AUTHENTICATION_AUTHORITY", idp.issuer.as_str()),
            ("AUTHENTICATION_CLIENT_ID", CLIENT),
            ("AUTHENTICATION_PUBLIC_KEYS", keys.as_str()),
            ("AUTHENTICATION_CALLBACK_URL", callback.as_str()),
            ("AUTHORIZER_ADMIN_PRINCIPALS", "[alice]"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let spawn = |env: Vec<(String, String)>| async move {
        let dir = tempfile::tempdir().unwrap();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        (TestServer::spawn(common::binary(), dir.path(), &pairs).await, dir)
    };
    let (a, _da) = spawn(env(&port_a, "replicas-share-this-key")).await;
    let (b, _db) = spawn(env(&port_b, "replicas-share-this-key")).await;
    let (c, _dc) = spawn(env(&port_c, "another-key")).await;
    let (cookie, _, _) = sign_in(&a).await;
    let (status, me) = call(&b, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!((status, me["name"].clone()), (StatusCode::OK, json!("alice")), "{me}");
    let csrf = csrf_of(&b, &cookie).await;
    let out = http().post(b.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(call(&a, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED, "logout on B ends the session on A");

    let (cookie, _, _) = sign_in(&a).await;
    let (status, body) = call(&c, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(c.log_text().contains("FERNET_KEY"), "the operator is told what to fix");
    for s in [&a, &b, &c] {
        assert!(!s.log_text().contains(cookie.split_once('=').unwrap().1), "a session id reached a log");
    }
    for s in [a, b, c] {
        s.stop().await;
    }
}

#[tokio::test]
async fn an_idle_session_ends_and_sign_out_everywhere_ends_them_all() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let (idle, _, _) = sign_in(&s).await;
    let (first, _, _) = sign_in(&s).await;
    let (second, _, _) = sign_in(&s).await;
    // Pretend the first session was last used two hours ago (idle timeout: 30 minutes).
    let store = ferrometa_store::Store::open_sqlite(&s.data_dir.join("ferrometa.db")).await.unwrap();
    let hash = ferrometa_auth::verify::sha256_hex(idle.split_once('=').unwrap().1.as_bytes());
    store.touch_session(&hash, ferrometa_store::now_ms() - 2 * 3600 * 1000).await.unwrap();
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &idle, None, None).await.0, StatusCode::UNAUTHORIZED, "idle too long");
    assert!(store.session(&hash).await.unwrap().is_none(), "the idle session is deleted");

    let page = http().get(s.url("/profile")).header(COOKIE, &first).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"id="session-count">2 active<"#), "{page}");
    let csrf = csrf_of(&s, &first).await;
    let out = http().post(s.url("/profile/sessions/end")).header(COOKIE, &first).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.headers()[LOCATION].to_str().unwrap(), "/signed-out");
    for c in [&first, &second] {
        assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", c, None, None).await.0, StatusCode::UNAUTHORIZED);
    }
    s.stop().await;
}

#[tokio::test]
async fn an_active_session_ends_at_the_absolute_timeout() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("FERROMETA_SESSION_ABSOLUTE_TIMEOUT_SECONDS", "3600")]).await;
    let (cookie, _, _) = sign_in(&s).await;
    let store = ferrometa_store::Store::open_sqlite(&s.data_dir.join("ferrometa.db")).await.unwrap();
    let hash = ferrometa_auth::verify::sha256_hex(cookie.split_once('=').unwrap().1.as_bytes());
    // Signed in 61 minutes ago and used a second ago: within the idle timeout, past the absolute one.
    let row = store.delete_session(&hash, None).await.unwrap().expect("the session row");
    let now = ferrometa_store::now_ms();
    store.insert_session(&ferrometa_store::SessionRow { created_at: now - 61 * 60 * 1000, last_seen_at: now - 1000, ..row }, None).await.unwrap();
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED, "past the absolute timeout");
    assert!(store.session(&hash).await.unwrap().is_none(), "the expired session is deleted");
    let page = http().get(s.url("/catalog")).header(COOKIE, &cookie).send().await.unwrap();
    assert!(page.headers().get(LOCATION).is_some_and(|l| l.to_str().unwrap().starts_with("/signin")), "pages send the browser to sign in again");
    s.stop().await;
}

#[tokio::test]
async fn sign_in_starts_are_limited_per_client_address() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("FERROMETA_SIGNIN_STARTS_PER_MINUTE", "2")]).await;
    for _ in 0..2 {
        assert_eq!(http().get(s.url("/login")).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    }
    let refused = http().get(s.url("/login")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=31).contains(&retry), "Retry-After {retry}");
    assert!(refused.headers().get(SET_COOKIE).is_none() && refused.headers().get(LOCATION).is_none(), "no flow is started");
    assert!(refused.text().await.unwrap().contains(r#"id="error-code">rate_limited<"#));
    assert_eq!(idp.counters().authorize, 0, "the browser never went to the provider");
    // Signing in is unaffected for a session that already exists, and the API keeps answering.
    assert_eq!(s.get("/api/v1/system/version", None).await.0, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn a_token_endpoint_down_or_hanging_during_a_refresh_keeps_the_session_within_the_bound() {
    for outage in [Availability::Down, Availability::Hanging] {
        let idp = FakeIdp::start(CLIENT).await;
        idp.set(|b| b.id_token_ttl = 30);
        let s = sso_server(&idp, &[("FERROMETA_JWKS_FETCH_TIMEOUT_SECONDS", "1")]).await;
        let (cookie, _, _) = sign_in(&s).await;
        idp.set(|b| b.token_endpoint = outage);
        let started = std::time::Instant::now();
        let (status, body) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
        assert_eq!(status, StatusCode::OK, "{outage:?}: the session's token is still valid: {body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{outage:?}: the refresh held the request {:?} (bound 1 s)", started.elapsed());
        idp.set(|b| b.token_endpoint = Availability::Up);
        assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::OK);
        assert_eq!(idp.counters().token_refresh, 1, "{outage:?}: refreshed once the provider is back");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_refused_refresh_ends_the_session() {
    let idp = FakeIdp::start(CLIENT).await;
    idp.set(|b| b.id_token_ttl = 30);
    let s = sso_server(&idp, &[]).await;
    let (cookie, _, _) = sign_in(&s).await;
    idp.revoke_all_refresh_tokens(); // a global sign-out at the provider
    let (status, body) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(idp.counters().token_errors, 1);
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED, "the session is gone, not retried");
    assert_eq!(idp.counters().token_errors, 1);
    s.stop().await;
}

#[tokio::test]
async fn deleting_a_user_ends_their_browser_sessions() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let (admin_cookie, _, _) = sign_in(&s).await;
    idp.set(|b| {
        b.username = "bob".into();
        b.email = "bob@open-metadata.org".into();
    });
    let (bob_cookie, _, _) = sign_in(&s).await;
    // Signing in again in a browser that holds a session replaces it (no fixation, no leftovers).
    let c = http();
    let start = c.get(s.url("/login")).header(COOKIE, &bob_cookie).send().await.unwrap();
    let (flow, _) = set_cookie(&start, "fm_flow").unwrap();
    let at_idp = c.get(start.headers()[LOCATION].to_str().unwrap()).send().await.unwrap();
    let again = c.get(at_idp.headers()[LOCATION].to_str().unwrap()).header(COOKIE, format!("{flow}; {bob_cookie}")).send().await.unwrap();
    let (new_cookie, _) = set_cookie(&again, "fm_session").unwrap();
    assert_ne!(new_cookie, bob_cookie, "a new session id at every sign-in");
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &bob_cookie, None, None).await.0, StatusCode::UNAUTHORIZED, "the replaced session is gone");
    let bob_cookie = new_cookie;
    let (status, bob) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &bob_cookie, None, None).await;
    assert_eq!((status, bob["name"].clone(), bob["isAdmin"].clone()), (StatusCode::OK, json!("bob"), json!(false)), "self-signup on first sign-in");
    let csrf = csrf_of(&s, &admin_cookie).await;
    let path = format!("/api/v1/users/{}?hardDelete=true", bob["id"].as_str().unwrap());
    let (status, body) = call(&s, Method::DELETE, &path, &admin_cookie, Some(&csrf), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &bob_cookie, None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &admin_cookie, None, None).await.0, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn the_basic_form_signs_in_with_the_login_api_rules() {
    let s = TestServer::start(&[]).await;
    let c = http();
    let signin = c.get(s.url("/signin")).send().await.unwrap();
    let (login_cookie, _) = set_cookie(&signin, "fm_login").expect("login CSRF cookie");
    let html = signin.text().await.unwrap();
    let at = html.find("name=\"login_csrf\" value=\"").unwrap() + 25;
    let login_csrf = html[at..].split('"').next().unwrap().to_string();

    let post = |password: &'static str, token: String, cookie: String| {
        let c = http();
        let url = s.url("/signin");
        async move { c.post(url).header(COOKIE, cookie).header("content-type", FORM).body(form(&[("email", ADMIN_EMAIL), ("password", password), ("login_csrf", token.as_str()), ("next", "/users")])).send().await.unwrap() }
    };
    let missing = post(ADMIN_PASSWORD, String::new(), login_cookie.clone()).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST, "a form without the login token is refused");
    let wrong = post("Wrong-passw0rd!", login_csrf.clone(), login_cookie.clone()).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("You have entered an invalid username or password."));
    let ok = post(ADMIN_PASSWORD, login_csrf, login_cookie).await;
    assert_eq!((ok.status(), ok.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/users"));
    let (cookie, _) = set_cookie(&ok, "fm_session").unwrap();
    let (status, me) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
    assert_eq!((status, me["name"].clone()), (StatusCode::OK, json!("admin")));
    // Logout revokes our own token too; the basic flow ends on the signed-out page.
    let csrf = csrf_of(&s, &cookie).await;
    let out = http().post(s.url("/logout")).header(COOKIE, &cookie).header("content-type", FORM).body(form(&[("csrf", csrf.as_str())])).send().await.unwrap();
    assert_eq!(out.headers()[LOCATION].to_str().unwrap(), "/signed-out");
    assert_eq!(call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await.0, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn pages_carry_security_headers_and_api_errors_stay_json() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let r = http().get(s.url("/signin")).send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("strict-transport-security").is_none(), "no HSTS on plain http");
    let page = http().get(s.url("/users")).send().await.unwrap();
    assert_eq!((page.status(), page.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/signin?next=%2Fusers"));
    let (status, body) = s.get("/api/v1/nothing-here", None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!(404)));
    let (status, body) = s.get("/api/v1/users/loggedInUser", None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!(401)));
    // The UI's auth config stays OpenMetadata-shaped.
    let (_, auth) = s.get("/api/v1/system/config/auth", None).await;
    assert_eq!((auth["provider"].clone(), auth["clientId"].clone(), auth["responseType"].clone()), (json!("aws-cognito"), json!(CLIENT), json!("id_token")));
    s.stop().await;
}

/// Behind TLS (an https callback URL): `__Host-` cookies with `Secure`, and HSTS on pages.
#[tokio::test]
async fn under_https_cookies_are_host_prefixed_and_secure_and_pages_send_hsts() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("AUTHENTICATION_CALLBACK_URL", "https://om.example.com/callback")]).await;
    let start = http().get(s.url("/login")).send().await.unwrap();
    let (_, flow) = set_cookie(&start, "__Host-fm_flow").expect("a __Host- flow cookie");
    assert!(flow.contains("; Secure") && flow.contains("Path=/") && !flow.contains("Domain"), "{flow}");
    let authorize = start.headers()[LOCATION].to_str().unwrap();
    assert!(authorize.contains("redirect_uri=https%3A%2F%2Fom.example.com%2Fcallback"), "{authorize}");
    let page = http().get(s.url("/signin")).send().await.unwrap();
    assert_eq!(page.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    s.stop().await;
}

#[tokio::test]
async fn an_issuer_mismatch_in_discovery_shows_an_error_instead_of_redirecting() {
    let idp = FakeIdp::start(CLIENT).await;
    idp.set(|b| b.discovery_issuer = Some("https://evil.example/pool".into()));
    let s = sso_server(&idp, &[]).await;
    let r = http().get(s.url("/login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.headers().get(LOCATION).is_none());
    assert!(r.text().await.unwrap().contains(r#"id="error-code">idp_unavailable<"#));
    assert_eq!(idp.counters().authorize, 0);
    s.stop().await;
}

/// A page as a browser gets it: status and body.
async fn get_page(s: &TestServer, path: &str, cookie: &str) -> (StatusCode, String) {
    let r = http().get(s.url(path)).header(COOKIE, cookie).send().await.unwrap();
    let status = r.status();
    assert_eq!(r.headers()["cache-control"], "no-store", "{path} must not be cached");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path} without the CSP");
    (status, r.text().await.unwrap())
}

/// A page form posted as a browser posts it: status, `Location` and body.
async fn post_form(s: &TestServer, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = http().post(s.url(path)).header(COOKIE, cookie).header("content-type", FORM).body(form(fields)).send().await.unwrap();
    let location = r.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

/// Issue 14: the roles and policies pages offer forms only to whom the catalog lets write, and
/// the catalog refuses a form all the same when someone else posts it; forms need the session's
/// CSRF token; a refused condition comes back with OpenMetadata's message and the input; names
/// with any character round-trip through the page paths.
#[tokio::test]
async fn the_access_pages_offer_what_the_catalog_allows_and_it_decides_again() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let (admin, _, _) = sign_in(&s).await;
    idp.set(|b| {
        b.username = "bob".into();
        b.email = "bob@open-metadata.org".into();
    });
    let (bob, _, _) = sign_in(&s).await;
    let (admin_csrf, bob_csrf) = (csrf_of(&s, &admin).await, csrf_of(&s, &bob).await);

    for path in ["/roles", "/roles/DataConsumer", "/policies", "/policies/OrganizationPolicy", "/users/bob", "/profile"] {
        let (status, page) = get_page(&s, path, &admin).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(page.contains(&format!(r#"name="csrf" value="{admin_csrf}""#)), "{path}: forms carry the CSRF token");
    }
    let (_, page) = get_page(&s, "/policies/OrganizationPolicy", &admin).await;
    assert!(page.contains(r#"id="rule-form""#) && !page.contains(r#"id="delete-policy""#), "admins edit rules; system policies stay");
    let (_, page) = get_page(&s, "/policies/OrganizationPolicy", &bob).await;
    assert!(!page.contains("<form method=\"post\" action=\"/policies"), "bob gets no policy forms: {page}");
    let (_, page) = get_page(&s, "/users/bob", &bob).await;
    assert!(!page.contains(r#"id="user-access-form""#), "bob may not choose his own roles");

    // Without the session's CSRF token nothing is written.
    let role = [("name", "a/b c?"), ("description", "odd name"), ("policies", "")];
    let (status, _, _) = post_form(&s, "/roles", &admin, &[&[("csrf", "forged")][..], &role].concat()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a form without the CSRF token");
    // Bob's own form is refused by the catalog, not by the page.
    let (_, policy) = call(&s, Method::GET, "/api/v1/policies/name/DataConsumerPolicy", &admin, None, None).await;
    let policy_id = policy["id"].as_str().expect("the seeded policy");
    let with_policy = [("name", "a/b c?"), ("description", "odd name"), ("policies", policy_id)];
    let (status, _, page) = post_form(&s, "/roles", &bob, &[&[("csrf", bob_csrf.as_str())][..], &with_policy].concat()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(page.contains("Principal: CatalogPrincipal{name=&#39;bob&#39;} operations [Create] not allowed"), "the catalog's refusal is shown: {page}");

    // A role with an odd name: created, shown at its encoded path.
    let (status, location, page) = post_form(&s, "/roles", &admin, &[&[("csrf", admin_csrf.as_str())][..], &with_policy].concat()).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/roles/a%2Fb%20c%3F"), "{page}");
    let (status, page) = get_page(&s, &location, &admin).await;
    assert!(status == StatusCode::OK && page.contains("DataConsumerPolicy") && page.contains(r#"id="delete-role""#), "{page}");

    // A condition that does not parse: OpenMetadata's message, and what was typed.
    let rule = [("csrf", admin_csrf.as_str()), ("name", "P1"), ("rule_name", "r1"), ("effect", "allow"), ("operations", "ViewAll"), ("resources", "table"), ("condition", "isOwner(")];
    let (status, _, page) = post_form(&s, "/policies", &admin, &rule).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("Failed to parse - EL1041E: Unexpectedly ran out of input at position 8"), "{page}");
    assert!(page.contains(r#"value="isOwner(""#) && page.contains(r#"value="P1""#) && page.contains(r#"value="ViewAll" checked"#), "the input is kept: {page}");
    assert_eq!(get_page(&s, "/policies/P1", &admin).await.0, StatusCode::NOT_FOUND, "a refused policy is not created");
    s.stop().await;
}
