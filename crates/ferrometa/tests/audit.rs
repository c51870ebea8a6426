//! Issue 14: the audit trail. Every kind of event appears after its action with its actor, the
//! client address (127.0.0.1 here) and its outcome; `GET /api/v1/audit/events` filters and
//! pages, and is for admins only; refusals are recorded at most once a minute per actor,
//! operations and resource; no event holds a secret; events are logged too. On SQLite and, when
//! the suite has it, PostgreSQL.

mod common;

use std::time::Duration;

use base64::Engine;
use common::browser::{CLIENT, call, form_sign_in, post_page_form, set_cookie, sign_in, sso_server_on};
use common::{binary, reader};
use ferrometa_auth::fake_idp::FakeIdp;
use ferrometa_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WRONG: &str = "Wr0ng-passw0rd!";
const GHOST: &str = "ghost@open-metadata.org";

/// Runs `test` on a fresh server over SQLite and, when the suite has it, PostgreSQL.
async fn on_each_backend(test: impl AsyncFn(&TestServer)) {
    let sqlite = TestServer::start(&[]).await;
    test(&sqlite).await;
    sqlite.stop().await;
    if let Some(postgres) = TestServer::start_postgres(&[]).await {
        test(&postgres).await;
        postgres.stop().await;
    }
}

/// One page of the trail as an admin reads it with `query`: the events and the next cursor.
async fn page(s: &TestServer, admin: &str, query: &str) -> (Vec<Value>, Option<String>) {
    let (status, body) = s.get(&format!("/api/v1/audit/events?{query}"), Some(admin)).await;
    assert_eq!(status, StatusCode::OK, "reading the audit trail with {query:?}: {body}");
    let events = body["data"].as_array().cloned().expect("a data list");
    (events, body["paging"]["after"].as_str().map(str::to_string))
}

/// Every event `query` selects (one page of at most 1000), newest first.
async fn events(s: &TestServer, admin: &str, query: &str) -> Vec<Value> {
    page(s, admin, &format!("limit=1000&{query}")).await.0
}

/// The newest event of `kind` by `actor` about `target` with `outcome`; it must carry the
/// client address of the test's requests.
fn the_event<'a>(events: &'a [Value], kind: &str, actor: &str, target: &str, outcome: &str) -> &'a Value {
    let found = events.iter().find(|e| e["kind"] == kind && e["actor"] == actor && e["target"] == target && e["outcome"] == outcome);
    let event = found.unwrap_or_else(|| panic!("no {kind} event ({outcome}) by {actor} about {target} in\n{}", serde_json::to_string_pretty(events).unwrap_or_default()));
    assert_eq!(event["clientAddress"], json!("127.0.0.1"), "the TCP peer of the request: {event}");
    assert!(event["id"].is_string() && event["timestamp"].is_i64(), "{event}");
    event
}

fn detail(event: &Value) -> &str {
    event["detail"].as_str().unwrap_or_default()
}

fn token_of(session: &Value) -> String {
    session["accessToken"].as_str().expect("an access token").to_string()
}

async fn send(s: &TestServer, method: Method, path: &str, token: &str, body: Value) -> Value {
    let (status, answer) = s.call(method.clone(), path, Some(token), Some(body)).await;
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

/// Sign-ins (API and form, failed and locked out), sessions (API and browser, sign out
/// everywhere), bot tokens and personal access tokens: each audited, none of their secrets.
#[tokio::test]
async fn sign_ins_sessions_and_tokens_are_audited_without_their_secrets() {
    on_each_backend(async |s| {
        let (status, session) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let admin = token_of(&session);
        for _ in 0..3 {
            assert_eq!(s.login(GHOST, WRONG).await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(s.login(GHOST, WRONG).await.0, StatusCode::UNAUTHORIZED, "locked out");

        let (_, second) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (second_token, second_refresh) = (token_of(&second), second["refreshToken"].as_str().unwrap().to_string());
        send(s, Method::POST, "/api/v1/users/logout", &second_token, json!({"token": second_token, "refreshToken": second_refresh})).await;

        let (bot_id, _) = s.ingestion_bot(&admin).await;
        let bot_token = send(s, Method::PUT, &format!("/api/v1/users/generateToken/{bot_id}"), &admin, json!({"JWTTokenExpiry": "7"})).await;
        send(s, Method::PUT, "/api/v1/users/revokeToken", &admin, json!({"id": bot_id})).await;
        let pat = send(s, Method::PUT, "/api/v1/users/security/token", &admin, json!({"tokenName": "ci", "JWTTokenExpiry": "7"})).await;
        send(s, Method::PUT, "/api/v1/users/security/token/revoke", &admin, json!({"tokenIds": [pat["token"]]})).await;

        let signed_in = form_sign_in(s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let (browser, _) = set_cookie(&signed_in, "fm_session").expect("a browser session");
        assert_eq!(post_page_form(s, "/logout", &browser).await.status(), StatusCode::SEE_OTHER);
        let (first, _) = set_cookie(&form_sign_in(s, ADMIN_EMAIL, ADMIN_PASSWORD).await, "fm_session").expect("a browser session");
        assert_eq!(set_cookie(&form_sign_in(s, ADMIN_EMAIL, WRONG).await, "fm_session"), None);
        assert_eq!(post_page_form(s, "/profile/sessions/end", &first).await.status(), StatusCode::SEE_OTHER);

        let all = events(s, &admin, "").await;
        the_event(&all, "login", ADMIN_EMAIL, "admin", "success");
        let admin_logins: Vec<&str> = all.iter().filter(|e| e["kind"] == "login" && e["actor"] == ADMIN_EMAIL && e["outcome"] == "success").map(detail).collect();
        assert_eq!(admin_logins, ["browser", "browser", "api", "api"], "the email given is the actor");
        let ghost: Vec<&str> = all.iter().filter(|e| e["actor"] == GHOST).map(detail).collect();
        assert_eq!(ghost, ["api: locked out", "api: invalid credentials", "api: invalid credentials", "api: invalid credentials"], "newest first");
        the_event(&all, "login", GHOST, GHOST, "failure");
        assert_eq!(detail(the_event(&all, "session.end", "admin", "admin", "success")), "browser: sign out everywhere");
        let ends: Vec<&str> = all.iter().filter(|e| e["kind"] == "session.end").map(detail).collect();
        assert_eq!(ends, ["browser: sign out everywhere", "browser logout", "api logout"]);
        let starts: Vec<&str> = all.iter().filter(|e| e["kind"] == "session.start").map(detail).collect();
        assert_eq!(starts, ["browser basic", "browser basic", "api basic", "api basic"]);
        let form_logins: Vec<&str> = all.iter().filter(|e| e["kind"] == "login" && e["actor"] == ADMIN_EMAIL).map(|e| e["outcome"].as_str().unwrap()).take(3).collect();
        assert_eq!(form_logins, ["failure", "success", "success"], "the form's sign-ins, newest first");
        assert_eq!(detail(the_event(&all, "login", ADMIN_EMAIL, "admin", "failure")), "browser: invalid credentials");
        assert_eq!(detail(the_event(&all, "token.bot.generate", "admin", "ingestion-bot", "success")), "expiry 7");
        the_event(&all, "token.bot.revoke", "admin", "ingestion-bot", "success");
        assert_eq!(detail(the_event(&all, "token.pat.create", "admin", "admin", "success")), "ci, expiry 7");
        assert_eq!(detail(the_event(&all, "token.pat.revoke", "admin", "admin", "success")), "ci");

        let text = serde_json::to_string(&all).unwrap();
        let b64 = |p: &str| base64::engine::general_purpose::STANDARD.encode(p);
        let secrets = [
            ("the admin's password", ADMIN_PASSWORD.to_string()),
            ("the admin's password in Base64", b64(ADMIN_PASSWORD)),
            ("a wrong password", WRONG.to_string()),
            ("a wrong password in Base64", b64(WRONG)),
            ("an access token", admin.clone()),
            ("a refresh token", second_refresh.clone()),
            ("the bot token", bot_token["JWTToken"].as_str().unwrap().to_string()),
            ("the personal access token", pat["jwtToken"].as_str().unwrap().to_string()),
            ("a session cookie", browser.split_once('=').unwrap().1.to_string()),
        ];
        for (what, secret) in secrets {
            assert!(!secret.is_empty() && !text.contains(&secret), "{what} is in the audit trail");
        }
        assert!(!text.contains("eyJ"), "no JWT of any kind is in the audit trail");
    })
    .await;
}

/// Users (create, admin granted and revoked by PATCH and PUT, update, soft and hard delete,
/// restore) and roles, policies and teams (create, update, delete, restore).
#[tokio::test]
async fn changes_to_users_and_to_who_may_do_what_are_audited() {
    on_each_backend(async |s| {
        let admin = s.admin_token().await;
        let bob = send(s, Method::POST, "/api/v1/users", &admin, json!({"name": "bob", "email": "bob@open-metadata.org"})).await;
        let bob_id = bob["id"].as_str().unwrap().to_string();
        let (status, _) = s.patch(&format!("/api/v1/users/{bob_id}"), &admin, json!([{"op": "add", "path": "/isAdmin", "value": true}])).await;
        assert_eq!(status, StatusCode::OK);
        send(s, Method::PUT, "/api/v1/users", &admin, json!({"name": "bob", "email": "bob@open-metadata.org", "isAdmin": false})).await;
        let (status, _) = s.patch(&format!("/api/v1/users/{bob_id}"), &admin, json!([{"op": "add", "path": "/displayName", "value": "Bob"}])).await;
        assert_eq!(status, StatusCode::OK);
        send(s, Method::DELETE, &format!("/api/v1/users/{bob_id}"), &admin, json!({})).await;
        send(s, Method::PUT, "/api/v1/users/restore", &admin, json!({"id": bob_id})).await;
        send(s, Method::DELETE, &format!("/api/v1/users/{bob_id}?hardDelete=true"), &admin, json!({})).await;

        let rules = json!([{"name": "read", "effect": "allow", "operations": ["ViewAll"], "resources": ["All"]}]);
        let policy = send(s, Method::POST, "/api/v1/policies", &admin, json!({"name": "Readers", "rules": rules})).await;
        let role = send(s, Method::POST, "/api/v1/roles", &admin, json!({"name": "Reader", "policies": ["Readers"]})).await;
        let team = send(s, Method::POST, "/api/v1/teams", &admin, json!({"name": "sales", "teamType": "Group"})).await;
        for (collection, entity) in [("policies", &policy), ("roles", &role), ("teams", &team)] {
            let id = entity["id"].as_str().unwrap();
            let (status, _) = s.patch(&format!("/api/v1/{collection}/{id}"), &admin, json!([{"op": "add", "path": "/description", "value": "changed"}])).await;
            assert_eq!(status, StatusCode::OK, "{collection}");
        }
        for (collection, entity) in [("roles", &role), ("teams", &team), ("policies", &policy)] {
            let id = entity["id"].as_str().unwrap();
            send(s, Method::DELETE, &format!("/api/v1/{collection}/{id}"), &admin, json!({})).await;
            send(s, Method::PUT, &format!("/api/v1/{collection}/restore"), &admin, json!({"id": id})).await;
        }

        let all = events(s, &admin, "").await;
        the_event(&all, "user.create", "admin", "bob", "success");
        assert_eq!(detail(the_event(&all, "user.update", "admin", "bob", "success")), "fields: displayName");
        let admin_changes: Vec<&str> = all.iter().filter(|e| e["kind"] == "user.admin" && e["target"] == "bob").map(detail).collect();
        assert_eq!(admin_changes, ["admin revoked; fields: isAdmin", "admin granted; fields: isAdmin"], "by PUT, then by PATCH");
        let deletions: Vec<&str> = all.iter().filter(|e| e["kind"] == "user.delete" && e["target"] == "bob").map(detail).collect();
        assert_eq!(deletions, ["hard", "soft"]);
        the_event(&all, "user.restore", "admin", "bob", "success");
        for (kind, name) in [("policy", "Readers"), ("role", "Reader"), ("team", "sales")] {
            for action in ["create", "delete", "restore"] {
                the_event(&all, &format!("{kind}.{action}"), "admin", name, "success");
            }
            assert_eq!(detail(the_event(&all, &format!("{kind}.update"), "admin", name, "success")), "fields: description", "{kind}");
            assert_eq!(detail(the_event(&all, &format!("{kind}.delete"), "admin", name, "success")), "soft");
        }
    })
    .await;
}

/// Only admins read the trail; refusals (the audit endpoint's own included) are recorded once
/// a minute per actor, operations and resource, the rest counted in the next window.
#[tokio::test]
async fn the_trail_is_for_admins_and_refusals_are_recorded_once_a_minute() {
    on_each_backend(async |s| {
        let admin = s.admin_token().await;
        let rita = reader(s, &admin).await;
        for _ in 0..50 {
            let (status, body) = s.get("/api/v1/audit/events", Some(&rita)).await;
            assert_eq!((status, body["message"].clone()), (StatusCode::FORBIDDEN, json!("Principal: CatalogPrincipal{name='rita'} is not admin")));
        }
        for _ in 0..3 {
            let (status, _) = s.call(Method::POST, "/api/v1/roles", Some(&rita), Some(json!({"name": "Mine", "policies": ["DataConsumerPolicy"]}))).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        let denials = events(s, &admin, "kind=permission.denied&actor=rita").await;
        assert_eq!(denials.len(), 2, "one per actor, operations and resource within the minute: {denials:#?}");
        let audit = the_event(&denials, "permission.denied", "rita", "audit", "denied");
        assert_eq!(detail(audit), "Principal: CatalogPrincipal{name='rita'} is not admin");
        assert!(detail(the_event(&denials, "permission.denied", "rita", "role", "denied")).contains("rita"));
    })
    .await;
}

/// `actor`, `kind` (exact or a dotted prefix), `startTs`/`endTs`, `limit` and the `after`
/// cursor; bad parameters are 400s.
#[tokio::test]
async fn the_trail_filters_and_pages_newest_first() {
    on_each_backend(async |s| {
        let admin = s.admin_token().await;
        let rita = reader(s, &admin).await;
        assert_eq!(s.login(GHOST, WRONG).await.0, StatusCode::UNAUTHORIZED);
        let pat = send(s, Method::PUT, "/api/v1/users/security/token", &rita, json!({"tokenName": "mine", "JWTTokenExpiry": "1"})).await;
        assert!(pat["jwtToken"].is_string());

        let all = events(s, &admin, "").await;
        let stamps: Vec<i64> = all.iter().map(|e| e["timestamp"].as_i64().unwrap()).collect();
        assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "newest first: {stamps:?}");

        let by_rita = events(s, &admin, "actor=rita").await;
        assert!(!by_rita.is_empty() && by_rita.iter().all(|e| e["actor"] == "rita"), "{by_rita:#?}");
        the_event(&by_rita, "token.pat.create", "rita", "rita", "success");
        let logins = events(s, &admin, "kind=login").await;
        assert_eq!(logins.iter().filter(|e| e["outcome"] == "failure").count(), 1);
        assert!(logins.len() >= 3 && logins.iter().all(|e| e["kind"] == "login"), "{logins:#?}");
        let tokens = events(s, &admin, "kind=token").await;
        assert!(tokens.iter().any(|e| e["kind"] == "token.pat.create") && tokens.iter().all(|e| e["kind"].as_str().unwrap().starts_with("token.")), "{tokens:#?}");
        assert_eq!(events(s, &admin, "kind=token.pat.create").await.len(), 1);
        assert!(events(s, &admin, "kind=tok").await.is_empty(), "a prefix is whole dotted parts");

        let newest = stamps[0];
        let since = events(s, &admin, &format!("startTs={newest}")).await;
        assert!(!since.is_empty() && since.iter().all(|e| e["timestamp"].as_i64().unwrap() >= newest));
        let before = events(s, &admin, &format!("endTs={}", newest - 1)).await;
        assert_eq!(since.len() + before.len(), all.len(), "the bounds split the trail");

        let mut walked = vec![];
        let mut query = "limit=2".to_string();
        loop {
            let (events, after) = page(s, &admin, &query).await;
            assert!(events.len() <= 2);
            walked.extend(events.into_iter().map(|e| e["id"].clone()));
            match after {
                Some(cursor) => query = format!("limit=2&after={cursor}"),
                None => break,
            }
        }
        assert_eq!(walked, all.iter().map(|e| e["id"].clone()).collect::<Vec<_>>(), "pages of 2 walk every event once, in order");
        let (first, _) = page(s, &admin, "").await;
        assert_eq!(first.len(), 10, "10 by default");

        for bad in ["limit=0", "limit=1001", "after=not-a-cursor", "startTs=yesterday", "sort=asc"] {
            let (status, body) = s.get(&format!("/api/v1/audit/events?{bad}"), Some(&admin)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        }
        let (status, _) = s.get("/api/v1/audit/events", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

/// The browser sign-in through the identity provider starts a session and binds an existing
/// user (the admin principal `alice`) or signs a new one up (`carol`); the provider's groups
/// (here: the admin principal list) give back an admin flag the user gave up; signing out ends
/// the session.
#[tokio::test]
async fn provider_sign_in_sign_up_and_group_sync_are_audited() {
    let idp = FakeIdp::start(CLIENT).await;
    let postgres = ferrometa_store::testing::fresh_postgres_url().await;
    for database in [None, postgres.as_deref()] {
        let s = sso_server_on(&idp, &[("AUTHORIZER_USE_ROLES_FROM_PROVIDER", "true")], database).await;
        let (cookie, _, _) = sign_in(&s).await;
        let alice = sso_admin_token(&s, &cookie).await;
        let me = s.get("/api/v1/users/loggedInUser", Some(&alice)).await.1;
        let (status, body) = s.patch(&format!("/api/v1/users/{}", me["id"].as_str().unwrap()), &alice, json!([{"op": "add", "path": "/isAdmin", "value": false}])).await;
        assert_eq!((status, body["isAdmin"].clone()), (StatusCode::OK, json!(false)), "{body}");
        let (status, me) = call(&s, Method::GET, "/api/v1/users/loggedInUser", &cookie, None, None).await;
        assert_eq!((status, me["isAdmin"].clone()), (StatusCode::OK, json!(true)), "an admin principal gets its flag back at the next sign-in check");
        assert_eq!(post_page_form(&s, "/logout", &cookie).await.status(), StatusCode::SEE_OTHER);
        idp.set(|b| (b.username, b.email) = ("carol".into(), "carol@open-metadata.org".into()));
        sign_in(&s).await;
        idp.set(|b| (b.username, b.email) = ("alice".into(), "alice@open-metadata.org".into()));

        let all = events(&s, &alice, "").await;
        assert_eq!(detail(the_event(&all, "sso.bind", "alice", "alice", "success")), idp.issuer);
        assert_eq!(detail(the_event(&all, "session.start", "alice", "alice", "success")), "browser sso");
        assert_eq!(detail(the_event(&all, "user.admin", "alice", "alice", "success")), "admin revoked; fields: isAdmin");
        assert!(detail(the_event(&all, "user.admin", "system", "alice", "success")).starts_with("admin granted"));
        assert_eq!(detail(the_event(&all, "session.end", "alice", "alice", "success")), "browser logout");
        the_event(&all, "user.create", "carol", "carol", "success");
        assert_eq!(detail(the_event(&all, "session.start", "carol", "carol", "success")), "browser sso");
        s.stop().await;
    }
}

/// A personal access token of the SSO admin, made through its browser session (password
/// sign-in is off with a provider).
async fn sso_admin_token(s: &TestServer, cookie: &str) -> String {
    let csrf = common::browser::csrf_of(s, cookie).await;
    let (status, pat) = call(s, Method::PUT, "/api/v1/users/security/token", cookie, Some(&csrf), Some(json!({"tokenName": "audit", "JWTTokenExpiry": "1"}))).await;
    assert_eq!(status, StatusCode::OK, "{pat}");
    pat["jwtToken"].as_str().unwrap().to_string()
}

/// Each event is also a structured log line (target `audit`), without the secrets.
#[tokio::test]
async fn events_are_also_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::spawn(binary(), dir.path(), &[]).await;
    assert_eq!(s.login(GHOST, WRONG).await.0, StatusCode::UNAUTHORIZED);
    let needles = [r#""target":"audit""#, r#""kind":"login""#, r#""outcome":"failure""#, GHOST, r#""client":"127.0.0.1""#];
    let line = s.log_line(&needles, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no audit log line of the failed sign-in:\n{}", s.log_text()));
    assert!(line.contains("invalid credentials"), "{line}");
    assert!(!s.log_text().contains(WRONG), "a password reached the log");
    s.stop().await;
}
