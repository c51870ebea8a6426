//! Issue 14, holes 3 and 4, with ID tokens of an in-process OpenID provider
//! (`ferrometa_auth::fake_idp`): admin rights through `adminPrincipals` only for a verified email
//! of the principal domain and never for a deleted admin principal; a valid token without a
//! user reaches nothing but sign-up.

use ferrometa_auth::fake_idp::FakeIdp;
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CLIENT: &str = "sso-access-client";

/// A server trusting the provider's tokens, with `admin` and `alice` as admin principals of the
/// domain `open-metadata.org`.
async fn sso_server(idp: &FakeIdp, extra: &[(&str, &str)]) -> TestServer {
    let keys = format!("[{}]", idp.jwks_url());
    let mut env: Vec<(&str, &str)> = vec![
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_AUTHORITY", &idp.issuer),
        ("AUTHENTICATION_CLIENT_ID", CLIENT),
        ("AUTHENTICATION_PUBLIC_KEYS", &keys),
        ("AUTHENTICATION_CALLBACK_URL", "http://localhost:8585/callback"),
        ("AUTHORIZER_ADMIN_PRINCIPALS", "[admin, alice]"),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// An ID token of the provider for this user and email.
fn id_token(idp: &FakeIdp, username: &str, email: &str) -> String {
    idp.set(|b| {
        b.username = username.into();
        b.email = email.into();
    });
    idp.id_token(None, 600)
}

/// The user a token signs up (`POST /users` for itself).
async fn sign_up(s: &TestServer, token: &str, name: &str, email: &str) -> Value {
    let (status, user) = s.call(Method::POST, "/api/v1/users", Some(token), Some(json!({"name": name, "email": email}))).await;
    assert_eq!(status, StatusCode::CREATED, "sign-up of {name}: {user}");
    user
}

#[tokio::test]
async fn admin_principals_need_the_principal_domain_and_stay_deleted() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    // The bootstrap made `admin`; its first sign-in binds it.
    let admin = id_token(&idp, "admin", "admin@open-metadata.org");
    let (status, me) = s.get("/api/v1/users/loggedInUser", Some(&admin)).await;
    assert_eq!((status, me["isAdmin"].clone()), (StatusCode::OK, json!(true)), "{me}");
    let (_, alice) = s.get("/api/v1/users/name/alice", Some(&admin)).await;
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}?hardDelete=true", alice["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "the admin deletes the admin principal alice");
    for email in ["alice@example.com", "alice@open-metadata.org"] {
        let token = id_token(&idp, "alice", email);
        let user = sign_up(&s, &token, "alice", email).await;
        assert_eq!(user["isAdmin"], json!(false), "a deleted admin principal is not claimed again by {email}");
        let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}?hardDelete=true", user["id"].as_str().unwrap()), Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    s.stop().await;
}

#[tokio::test]
async fn a_token_without_a_user_reaches_nothing_but_sign_up() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[("AUTHENTICATION_ENABLE_SELF_SIGNUP", "false")]).await;
    let zoe = id_token(&idp, "zoe", "zoe@open-metadata.org");
    for path in ["/api/v1/tables", "/api/v1/users", "/api/v1/bots", "/api/v1/search/query?q=*", "/api/v1/permissions"] {
        let (status, answer) = s.get(path, Some(&zoe)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {answer}");
        assert_eq!(answer["message"], json!("User zoe is not provisioned and self-signup is disabled. Ask an administrator to create the user."), "{path}");
    }
    let (status, _) = s.call(Method::POST, "/api/v1/users", Some(&zoe), Some(json!({"name": "zoe", "email": "zoe@open-metadata.org"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no self-signup");
    s.stop().await;
    let open = sso_server(&idp, &[]).await;
    let (status, answer) = open.get("/api/v1/tables", Some(&zoe)).await;
    assert_eq!((status, answer["message"].clone()), (StatusCode::FORBIDDEN, json!("User zoe has not signed up yet: sign up first (POST /api/v1/users)")));
    sign_up(&open, &zoe, "zoe", "zoe@open-metadata.org").await;
    let (status, _) = open.get("/api/v1/tables", Some(&zoe)).await;
    assert_eq!(status, StatusCode::OK, "signed up, a data consumer reads");
    open.stop().await;
}

/// A soft-deleted user signing in again at the identity provider is refused as deleted (401, as
/// our own tokens are), rather than sent to a sign-up its name still holds; a restore brings the
/// user back; after a hard delete the identity may sign up again, as a new plain user. (Tokens
/// issued before a deletion are refused by their `iat` already; each step signs in afresh.)
#[tokio::test]
async fn a_soft_deleted_users_idp_token_is_refused_as_deleted() {
    let idp = FakeIdp::start(CLIENT).await;
    let s = sso_server(&idp, &[]).await;
    let admin = id_token(&idp, "admin", "admin@open-metadata.org");
    let zoe = || id_token(&idp, "zoe", "zoe@open-metadata.org");
    let user = sign_up(&s, &zoe(), "zoe", "zoe@open-metadata.org").await;
    let id = user["id"].as_str().unwrap().to_string();
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{id}"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let again = zoe();
    let deleted = json!("Not Authorized! User zoe is deleted");
    for path in ["/api/v1/tables", "/api/v1/users/loggedInUser", "/api/v1/permissions"] {
        let (status, answer) = s.get(path, Some(&again)).await;
        assert_eq!((status, answer["message"].clone()), (StatusCode::UNAUTHORIZED, deleted.clone()), "{path}: {answer}");
    }
    let (status, answer) = s.call(Method::POST, "/api/v1/users", Some(&again), Some(json!({"name": "zoe", "email": "zoe@open-metadata.org"}))).await;
    assert_eq!((status, answer["message"].clone()), (StatusCode::UNAUTHORIZED, deleted), "no sign-up over a deleted user");
    let (status, _) = s.call(Method::PUT, "/api/v1/users/restore", Some(&admin), Some(json!({"id": id}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("/api/v1/tables", Some(&zoe())).await.0, StatusCode::OK, "restored, the same identity reads again");
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{id}?hardDelete=true"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = zoe();
    let (status, answer) = s.get("/api/v1/tables", Some(&fresh)).await;
    assert_eq!((status, answer["message"].clone()), (StatusCode::FORBIDDEN, json!("User zoe has not signed up yet: sign up first (POST /api/v1/users)")));
    let new_user = sign_up(&s, &fresh, "zoe", "zoe@open-metadata.org").await;
    assert!(new_user["id"] != user["id"] && new_user["isAdmin"] == json!(false), "a new plain user: {new_user}");
    s.stop().await;
}
