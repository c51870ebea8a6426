//! Issue: basic auth. Sessions, refresh, logout, lockout shared by replicas, bcrypt import,
//! password changes, sign-up, and the default admin's lifecycle.

mod common;

use base64::Engine;
use common::*;
use ferrometa_testkit::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

const INVALID: &str = "You have entered an invalid username or password.";
const LOCKED: &str = "Failed Login Attempts Exceeded. Use Forgot Password or retry after some time.";

#[tokio::test]
async fn login_call_refresh_logout_then_the_old_token_is_refused() {
    let s = TestServer::start(&[]).await;
    let (status, session) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["tokenType"], json!("Bearer"));
    let expiry = session["expiryDuration"].as_i64().unwrap();
    assert!(expiry > now() * 1000 && expiry <= (now() + 3600) * 1000 + 1000, "expiryDuration is an absolute epoch-ms time: {expiry}");
    let access = session["accessToken"].as_str().unwrap();
    let (status, me) = s.get("/api/v1/users/loggedInUser", Some(access)).await;
    assert_eq!((status, me["name"].clone(), me["isAdmin"].clone()), (StatusCode::OK, json!("admin"), json!(true)));

    let refresh = session["refreshToken"].as_str().unwrap();
    let (status, renewed) = s.call(Method::POST, "/api/v1/users/refresh", None, Some(json!({"refreshToken": refresh}))).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_ne!(renewed["refreshToken"], session["refreshToken"], "refresh tokens rotate");
    let (status, body) = s.call(Method::POST, "/api/v1/users/refresh", None, Some(json!({"refreshToken": refresh}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("Expired token. Please login again")), "a used refresh token is gone");
    assert!(!body.to_string().contains(refresh), "the token is never echoed");

    let new_access = renewed["accessToken"].as_str().unwrap();
    let new_refresh = renewed["refreshToken"].as_str().unwrap();
    let (status, text) = s.call(Method::POST, "/api/v1/users/logout", Some(new_access), Some(json!({"token": new_access, "refreshToken": new_refresh}))).await;
    assert_eq!((status, text), (StatusCode::OK, json!("Logout Successful")));
    let (status, body) = s.get("/api/v1/users/loggedInUser", Some(new_access)).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!("Invalid token, used after logout!")));
    let (status, _) = s.call(Method::POST, "/api/v1/users/refresh", None, Some(json!({"refreshToken": new_refresh}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "logout deletes the refresh token");
    s.stop().await;
}

#[tokio::test]
async fn unknown_user_wrong_password_and_bot_look_the_same() {
    let s = TestServer::start(&[]).await;
    for (email, password) in [(ADMIN_EMAIL, "Wrong-passw0rd!"), ("nobody@open-metadata.org", "Wrong-passw0rd!"), ("ingestion-bot@open-metadata.org", "Wrong-passw0rd!")] {
        let (status, body) = s.login(email, password).await;
        assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"code": 401, "message": INVALID})), "{email}");
    }
    let (status, body) = s.call(Method::POST, "/api/v1/users/login", None, Some(json!({"email": ADMIN_EMAIL, "password": "%%%not base64%%%"}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("Password needs to be encoded in Base-64.")));
    let (status, _) = s.call(Method::POST, "/api/v1/users/login", None, Some(json!({"email": ADMIN_EMAIL, "password": "x", "extra": 1}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "LoginRequest has no other fields");
    s.stop().await;
}

#[tokio::test]
async fn three_failures_lock_the_account_even_for_the_right_password() {
    let s = TestServer::start(&[]).await;
    for _ in 0..3 {
        assert_eq!(s.login(ADMIN_EMAIL, "Wrong-passw0rd!").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!(LOCKED)));
    s.stop().await;
}

/// Sends `n` wrong-password logins for the admin at once, spread over `servers`; returns the
/// answers. Each request runs on its own task, so all of them are in flight together.
async fn parallel_wrong_logins(servers: &[&TestServer], n: usize) -> Vec<(StatusCode, serde_json::Value)> {
    let b64 = base64::engine::general_purpose::STANDARD.encode("Wrong-passw0rd!");
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..n {
        let server = servers[i % servers.len()];
        let request = server.client.post(server.url("/api/v1/users/login")).json(&json!({"email": ADMIN_EMAIL, "password": b64}));
        logins.spawn(async move {
            let response = request.send().await.expect("login request reaches the server");
            (response.status(), response.json().await.expect("login answers JSON"))
        });
    }
    logins.join_all().await
}

/// 20 parallel wrong logins: only `maxLoginFailAttempts` (3) are checked against the password,
/// the others are refused as locked, and then so is the right password.
async fn assert_a_burst_of_wrong_logins_is_evaluated_three_times(servers: &[&TestServer]) {
    let answers = parallel_wrong_logins(servers, 20).await;
    let evaluated = answers.iter().filter(|(_, body)| body["message"] == json!(INVALID)).count();
    let locked = answers.iter().filter(|(_, body)| body["message"] == json!(LOCKED)).count();
    assert_eq!((evaluated, locked), (3, 17), "20 parallel wrong logins with a limit of 3: {answers:?}");
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::UNAUTHORIZED), "every refused login is a 401: {answers:?}");
    for server in servers {
        let (status, body) = server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!(LOCKED)), "the right password during the block on {}", server.base);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_logins_cannot_race_past_the_lockout() {
    let s = TestServer::start(&[]).await;
    assert_a_burst_of_wrong_logins_is_evaluated_three_times(&[&s]).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_logins_on_two_replicas_of_one_postgres_cannot_race_past_the_lockout() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let env = [("FERROMETA_DATABASE_URL", url.as_str())];
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestServer::start_in(da.path(), &env).await;
    let b = TestServer::start_in(db.path(), &env).await;
    assert_a_burst_of_wrong_logins_is_evaluated_three_times(&[&a, &b]).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn lockout_is_shared_by_two_server_processes_on_one_postgres() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let keys = KeyFiles::generate();
    let (private, public) = (keys.path("private_key.der"), keys.path("public_key.der"));
    let env = [("FERROMETA_DATABASE_URL", url.as_str()), ("JWT_KEY_ID", "shared"), ("RSA_PRIVATE_KEY_FILE_PATH", &private), ("RSA_PUBLIC_KEY_FILE_PATH", &public)];
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = TestServer::spawn(binary(), da.path(), &env).await;
    let b = TestServer::spawn(binary(), db.path(), &env).await;
    assert_eq!(a.login(ADMIN_EMAIL, "Wrong-passw0rd!").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(b.login(ADMIN_EMAIL, "Wrong-passw0rd!").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(a.login(ADMIN_EMAIL, "Wrong-passw0rd!").await.0, StatusCode::UNAUTHORIZED);
    for server in [&a, &b] {
        let (status, body) = server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!(LOCKED)), "replica {}", server.base);
    }
    assert!(a.stop().await.unwrap().success());
    assert!(b.stop().await.unwrap().success());
}

#[tokio::test]
async fn openmetadata_bcrypt_hashes_log_in_and_are_rehashed_to_argon2id() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (status, user) = s.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"name": "imported", "email": "imported@open-metadata.org"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().unwrap();
    // What OpenMetadata stores: BCrypt "2a", cost 12.
    let om_hash = bcrypt::hash("Imp0rted-pass!", 12).unwrap().replacen("$2b$", "$2a$", 1);
    let store = ferrometa_store::Store::open_sqlite(&s.data_dir.join("ferrometa.db")).await.unwrap();
    store.put_password_hash(id, &om_hash, None).await.unwrap();
    assert_eq!(s.login("imported@open-metadata.org", "Imp0rted-pass!").await.0, StatusCode::OK);
    let rehashed = store.password_hash(id).await.unwrap().unwrap();
    assert!(rehashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "re-hashed on login: {rehashed}");
    assert_eq!(s.login("imported@open-metadata.org", "Imp0rted-pass!").await.0, StatusCode::OK, "the new hash verifies");
    s.stop().await;
}

#[tokio::test]
async fn change_password_checks_and_ends_other_sessions() {
    let s = TestServer::start(&[]).await;
    let (_, session) = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = session["accessToken"].as_str().unwrap();
    let change = |old: &str, new: &str, confirm: &str| json!({"oldPassword": old, "newPassword": new, "confirmPassword": confirm, "requestType": "SELF"});
    let cases = [
        (change("nope", "N3w-passw0rd!", "N3w-passw0rd!"), "Old Password is not correct"),
        (change(ADMIN_PASSWORD, "N3w-passw0rd!", "other"), "Password and Confirm Password should match"),
        (change(ADMIN_PASSWORD, "short", "short"), "Password must be of minimum 8 characters, with one special, one Upper, one lower case character, and one Digit."),
    ];
    for (body, message) in cases {
        let (status, resp) = s.call(Method::PUT, "/api/v1/users/changePassword", Some(token), Some(body)).await;
        assert_eq!((status, resp["message"].clone()), (StatusCode::BAD_REQUEST, json!(message)));
    }
    let (status, text) = s.call(Method::PUT, "/api/v1/users/changePassword", Some(token), Some(change(ADMIN_PASSWORD, "N3w-passw0rd!", "N3w-passw0rd!"))).await;
    assert_eq!((status, text), (StatusCode::OK, json!("Password Updated Successfully")));
    assert_eq!(s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.login(ADMIN_EMAIL, "N3w-passw0rd!").await.0, StatusCode::OK);
    let (status, _) = s.call(Method::POST, "/api/v1/users/refresh", None, Some(json!({"refreshToken": session["refreshToken"]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "sessions from before the change cannot be refreshed");
    s.stop().await;
}

#[tokio::test]
async fn signup_follows_the_switch_domains_and_policy() {
    let s = TestServer::start(&[("AUTHORIZER_ALLOWED_REGISTRATION_DOMAIN", "[example.com]")]).await;
    let req = |email: &str, pw: &str| json!({"firstName": "Ann", "lastName": "Lee", "email": email, "password": pw});
    let (status, user) = s.call(Method::POST, "/api/v1/users/signup", None, Some(req("Ann@Example.com", "Sign-up-0k!"))).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!((user["name"].clone(), user["isAdmin"].clone(), user["displayName"].clone()), (json!("ann"), json!(false), json!("Ann Lee")));
    assert_eq!(s.login("ann@example.com", "Sign-up-0k!").await.0, StatusCode::OK);
    let cases = [
        (req("ann@example.com", "Sign-up-0k!"), StatusCode::BAD_REQUEST, "User with Email Already Exists"),
        (req("bob@other.org", "Sign-up-0k!"), StatusCode::BAD_REQUEST, "Email with the given domain is not allowed. Contact Administrator"),
        (req("bob@example.com", "weak"), StatusCode::BAD_REQUEST, "Password must be of minimum 8 characters, with one special, one Upper, one lower case character, and one Digit."),
    ];
    for (body, status, message) in cases {
        let (got, resp) = s.call(Method::POST, "/api/v1/users/signup", None, Some(body)).await;
        assert_eq!((got, resp["message"].clone()), (status, json!(message)));
    }
    s.stop().await;
    let closed = TestServer::start(&[("AUTHENTICATION_ENABLE_SELF_SIGNUP", "false")]).await;
    let (status, body) = closed.call(Method::POST, "/api/v1/users/signup", None, Some(req("c@x.org", "Sign-up-0k!"))).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    closed.stop().await;
}

#[tokio::test]
async fn a_deleted_default_admin_is_not_recreated_and_users_need_admin_rights() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("AUTHORIZER_ADMIN_PRINCIPALS", "[admin:Adm1n-Passw0rd!, root:R00t-passw0rd!]")];
    let s = TestServer::start_in(dir.path(), &env).await;
    let (_, root) = s.login("root@open-metadata.org", "R00t-passw0rd!").await;
    let root = root["accessToken"].as_str().unwrap().to_string();
    let admin_token = s.admin_token().await;
    let (_, plain) = s.call(Method::POST, "/api/v1/users", Some(&root), Some(json!({"name": "plain", "email": "plain@open-metadata.org"}))).await;
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/users/{}", plain["id"].as_str().unwrap()), Some(&admin_token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, admin) = s.get("/api/v1/users/name/admin", Some(&root)).await;
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}?hardDelete=true", admin["id"].as_str().unwrap()), Some(&root), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get("/api/v1/users/loggedInUser", Some(&admin_token)).await;
    assert_ne!(status, StatusCode::OK, "the deleted admin's session ends");
    s.stop().await;
    let again = TestServer::start_in(dir.path(), &env).await;
    assert_eq!(again.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.0, StatusCode::UNAUTHORIZED, "deleting the default admin sticks");
    let (status, _) = again.get("/api/v1/users/name/admin", Some(&root)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    again.stop().await;
}

#[tokio::test]
async fn non_admins_cannot_reach_admin_endpoints_or_promote_themselves() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, user) = s.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"name": "dan", "email": "dan@open-metadata.org"}))).await;
    let id = user["id"].as_str().unwrap();
    let store = ferrometa_store::Store::open_sqlite(&s.data_dir.join("ferrometa.db")).await.unwrap();
    let _ = store; // passwords are set through the API below
    let (status, _) = s.call(Method::PUT, "/api/v1/users/changePassword", Some(&admin), Some(json!({"username": "dan", "newPassword": "D4n-passw0rd!", "confirmPassword": "D4n-passw0rd!", "requestType": "USER"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, session) = s.login("dan@open-metadata.org", "D4n-passw0rd!").await;
    let dan = session["accessToken"].as_str().unwrap();
    let (_, erin) = s.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"name": "erin", "email": "erin@open-metadata.org"}))).await;
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/users/{}", erin["id"].as_str().unwrap()), Some(dan), None).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::FORBIDDEN, json!("Principal: CatalogPrincipal{name='dan'} operations [Delete] not allowed")), "only admins delete other users");
    let promote = json!([{"op": "replace", "path": "/isAdmin", "value": true}]);
    let resp = s.client.patch(s.url(&format!("/api/v1/users/{id}"))).bearer_auth(dan).header("content-type", "application/json-patch+json").body(promote.to_string()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let describe = json!([{"op": "add", "path": "/description", "value": "hello"}]);
    let resp = s.client.patch(s.url(&format!("/api/v1/users/{id}"))).bearer_auth(dan).header("content-type", "application/json-patch+json").body(describe.to_string()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "users edit their own description");
    s.stop().await;
}

#[tokio::test]
async fn with_sso_the_server_warns_about_every_user_that_still_holds_a_password() {
    let dir = tempfile::tempdir().unwrap();
    TestServer::start_in(dir.path(), &[]).await.stop().await;
    let sso = [
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_AUTHORITY", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool"),
        ("AUTHENTICATION_CLIENT_ID", "client"),
        ("AUTHENTICATION_PUBLIC_KEYS", "[http://127.0.0.1:9/us-east-1_Pool/.well-known/jwks.json]"),
    ];
    let server = TestServer::spawn(binary(), dir.path(), &sso).await;
    let warned = server.log_text().lines().any(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        v["level"] == "WARN" && v["fields"]["user"] == "admin" && v["fields"]["message"].as_str().unwrap_or_default().contains("still holds a password")
    });
    assert!(warned, "no startup warning naming admin:\n{}", server.log_text());
    let (status, body) = server.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "password login is off with SSO: {body}");
    assert!(server.stop().await.unwrap().success());
}
