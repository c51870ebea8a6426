//! Issue: tokens. Bot tokens (only the current one verifies, on every replica), personal
//! access tokens, key rotation and retirement, configured key files, and the JWKS endpoint.

mod common;

use common::*;
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn only_the_current_bot_token_verifies() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (bot_id, first) = s.ingestion_bot(&admin).await;
    let (status, me) = s.get("/api/v1/users/loggedInUser", Some(&first)).await;
    assert_eq!((status, me["name"].clone(), me["isBot"].clone()), (StatusCode::OK, json!("ingestion-bot"), json!(true)));

    let (status, mechanism) = s.get(&format!("/api/v1/users/auth-mechanism/{bot_id}"), Some(&admin)).await;
    assert_eq!((status, mechanism["authType"].clone(), mechanism["config"]["JWTTokenExpiry"].clone()), (StatusCode::OK, json!("JWT"), json!("Unlimited")));

    for expiry in ["OneHour", "1", "7", "30", "60", "90", "Unlimited"] {
        let (status, body) = s.call(Method::PUT, &format!("/api/v1/users/generateToken/{bot_id}"), Some(&admin), Some(json!({"JWTTokenExpiry": expiry}))).await;
        assert_eq!(status, StatusCode::OK, "{expiry}: {body}");
        assert_eq!(body["JWTTokenExpiry"], json!(expiry));
        assert_eq!(body["JWTTokenExpiresAt"].is_i64(), expiry != "Unlimited", "{body}");
    }
    let (status, body) = s.get("/api/v1/users/loggedInUser", Some(&first)).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!("Not Authorized! The given token does not match the current bot's token!")));
    let (_, current) = s.get(&format!("/api/v1/users/token/{bot_id}"), Some(&admin)).await;
    let current = current["JWTToken"].as_str().unwrap().to_string();
    assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&current)).await.0, StatusCode::OK);

    let (status, _) = s.call(Method::PUT, "/api/v1/users/revokeToken", Some(&admin), Some(json!({"id": bot_id}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&current)).await.0, StatusCode::UNAUTHORIZED, "revoked at the next request");
    let (_, empty) = s.get(&format!("/api/v1/users/token/{bot_id}"), Some(&admin)).await;
    assert_eq!(empty, json!({}));

    let (status, body) = s.call(Method::PUT, &format!("/api/v1/users/generateToken/{bot_id}"), Some(&admin), Some(json!({"JWTTokenExpiry": "forever"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, me) = s.get("/api/v1/users/loggedInUser", Some(&admin)).await;
    let (status, body) = s.get(&format!("/api/v1/users/token/{}", me["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("JWT token is only supported for bot users")));
    s.stop().await;
}

#[tokio::test]
async fn bot_token_revocation_holds_on_another_replica() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else { return };
    let keys = KeyFiles::generate();
    let env = keys.replica_env(&url, &[]);
    let env = borrowed(&env);
    let a = TestServer::start(&env).await;
    let b = TestServer::start(&env).await;
    let admin = a.admin_token().await;
    let (bot_id, token) = a.ingestion_bot(&admin).await;
    let (_, same) = b.ingestion_bot(&admin).await;
    assert_eq!(token, same, "replicas share the stored bot token");
    assert_eq!(b.get("/api/v1/users/loggedInUser", Some(&token)).await.0, StatusCode::OK);
    let (status, _) = a.call(Method::PUT, "/api/v1/users/revokeToken", Some(&admin), Some(json!({"id": bot_id}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b.get("/api/v1/users/loggedInUser", Some(&token)).await.0, StatusCode::UNAUTHORIZED, "replica B refuses at once");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn personal_access_tokens_are_created_listed_used_and_revoked() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (status, pat) = s.call(Method::PUT, "/api/v1/users/security/token", Some(&admin), Some(json!({"tokenName": "ci", "JWTTokenExpiry": "30"}))).await;
    assert_eq!(status, StatusCode::OK, "{pat}");
    assert_eq!((pat["tokenType"].clone(), pat["tokenName"].clone()), (json!("PERSONAL_ACCESS_TOKEN"), json!("ci")));
    let jwt = pat["jwtToken"].as_str().unwrap().to_string();
    assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&jwt)).await.0, StatusCode::OK);
    let (_, list) = s.get("/api/v1/users/security/token", Some(&admin)).await;
    assert_eq!(list["paging"]["total"], json!(1));
    assert!(list["data"][0].get("jwtToken").is_none(), "the token is shown once, at creation");
    let (status, body) = s.call(Method::PUT, "/api/v1/users/security/token", Some(&admin), Some(json!({"tokenName": "x", "JWTTokenExpiry": "Unlimited"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, bot_token) = s.ingestion_bot(&admin).await;
    let (status, body) = s.call(Method::PUT, "/api/v1/users/security/token", Some(&bot_token), Some(json!({"tokenName": "x", "JWTTokenExpiry": "1"}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("Bots cannot have a Personal Access Token.")));

    let (status, remaining) = s.call(Method::PUT, "/api/v1/users/security/token/revoke", Some(&admin), Some(json!({"tokenIds": [pat["token"]]}))).await;
    assert_eq!((status, remaining["paging"]["total"].clone()), (StatusCode::OK, json!(0)));
    let (status, body) = s.get("/api/v1/users/loggedInUser", Some(&jwt)).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::UNAUTHORIZED, json!("Not Authorized! Invalid personal access token!")));
    s.stop().await;
}

#[tokio::test]
async fn rotated_keys_keep_old_tokens_valid_until_retired() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    let old_token = s.admin_token().await;
    let old_kid = server_kid(&s.base).await;
    s.stop().await;

    let (ok, out, err) = cli(&["keys", "rotate"], &[("FERROMETA_DATA_DIR", data)]);
    assert!(ok, "{out}{err}");
    let s = TestServer::start_in(dir.path(), &[]).await;
    let (_, jwks) = s.get("/api/v1/system/config/jwks", None).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 2, "current and previous key are published: {jwks}");
    assert_ne!(kids[0], old_kid, "a new current key signs");
    assert!(kids.contains(&old_kid.as_str()));
    assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&old_token)).await.0, StatusCode::OK, "tokens of the previous key still verify");
    let new_token = s.admin_token().await;
    s.stop().await;

    let (ok, out, err) = cli(&["keys", "retire"], &[("FERROMETA_DATA_DIR", data)]);
    assert!(ok, "{out}{err}");
    let s = TestServer::start_in(dir.path(), &[]).await;
    let (status, body) = s.get("/api/v1/users/loggedInUser", Some(&old_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "retired key: {body}");
    assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&new_token)).await.0, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn configured_openmetadata_key_files_sign_with_the_configured_kid() {
    let keys = KeyFiles::generate();
    for ext in ["der", "pem"] {
        let private = keys.path(&format!("private_key.{ext}"));
        let public = keys.path(&format!("public_key.{ext}"));
        let s = TestServer::start(&[
            ("RSA_PRIVATE_KEY_FILE_PATH", private.as_str()),
            ("RSA_PUBLIC_KEY_FILE_PATH", public.as_str()),
            ("JWT_KEY_ID", "0f5c1f6e-stable-kid"),
            ("JWT_ISSUER", "om.example.com"),
        ])
        .await;
        assert_eq!(server_kid(&s.base).await, "0f5c1f6e-stable-kid");
        assert!(!s.data_dir.join("keys").exists(), "no key is generated when one is configured");
        let token = s.admin_token().await;
        assert_eq!(s.get("/api/v1/users/loggedInUser", Some(&token)).await.0, StatusCode::OK, "{ext}");
        s.stop().await;
    }
}

#[tokio::test]
async fn the_jwks_endpoint_serves_only_public_parameters_with_cache_control() {
    let s = TestServer::start(&[]).await;
    let resp = s.client.get(s.url("/api/v1/system/config/jwks")).send().await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let jwks: serde_json::Value = resp.json().await.unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        let mut names: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"], "{key}");
    }
    s.stop().await;
}

#[tokio::test]
async fn noop_filter_turns_authentication_off_for_development() {
    let s = TestServer::start(&[
        ("AUTHORIZER_REQUEST_FILTER", "org.openmetadata.service.security.NoopFilter"),
        ("AUTHORIZER_CLASS_NAME", "org.openmetadata.service.security.NoopAuthorizer"),
    ])
    .await;
    let (status, body) = s.get("/api/v1/users", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn bots_cli_prints_the_ingestion_bot_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    let admin = s.admin_token().await;
    let (_, token) = s.ingestion_bot(&admin).await;
    let (ok, out, err) = cli(&["bots", "token", "ingestion-bot"], &[("FERROMETA_DATA_DIR", dir.path().to_str().unwrap()), ("AUTHORIZER_ADMIN_PRINCIPALS", "[admin:Adm1n-Passw0rd!]")]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), token);
    s.stop().await;
}
