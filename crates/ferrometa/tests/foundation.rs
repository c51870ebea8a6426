//! Issue: foundation. The real server starts with no configuration, answers the public
//! endpoints in OpenMetadata's shapes, reports errors as JSON, and shuts down cleanly.

use std::path::Path;

use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferrometa"))
}

#[tokio::test]
async fn starts_with_no_configuration_and_answers_version_config_and_healthcheck() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(binary(), dir.path(), &[]).await;
    let (status, version) = server.get("/api/v1/system/version", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["version"], json!("1.6.13"));
    assert!(version["timestamp"].is_i64() && version["revision"].is_string(), "{version}");

    let (status, auth) = server.get("/api/v1/system/config/auth", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(auth["provider"], json!("basic"));
    assert_eq!(auth["responseType"], json!("id_token"));
    assert_eq!(auth["publicKeyUrls"], json!([]), "JWKS URLs are not exposed to the UI");
    assert_eq!(auth["jwtPrincipalClaims"], json!(["email", "preferred_username", "sub"]));
    assert!(auth.get("oidcConfiguration").is_none());

    let (_, authorizer) = server.get("/api/v1/system/config/authorizer", None).await;
    assert_eq!(authorizer, json!({"principalDomain": "open-metadata.org"}));

    let health = server.client.get(format!("{}/healthcheck", server.admin_base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let status = server.stop().await.expect("process exit status");
    assert!(status.success(), "SIGTERM must end the server with exit 0, got {status}");
}

/// A first start answers /healthcheck before its RSA key exists; API requests sent from then on
/// wait for bootstrap and are answered (a login mints a token with the new key), never refused.
#[tokio::test]
async fn first_start_answers_health_before_key_generation_and_queues_api_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn_until(binary(), dir.path(), &[], ferrometa_testkit::HEALTH_MESSAGE).await;
    let health = server.client.get(format!("{}/healthcheck", server.admin_base)).send().await.expect("health check reachable");
    assert_eq!(health.status(), StatusCode::OK, "health answers once the store is migrated");
    let (status, body) = server.login(ferrometa_testkit::ADMIN_EMAIL, ferrometa_testkit::ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "a login sent during bootstrap is answered: {body}");
    let log = server.log_text();
    let at = |m: &str| log.find(m).unwrap_or_else(|| panic!("log lacks {m:?}:\n{log}"));
    assert!(at(ferrometa_testkit::HEALTH_MESSAGE) < at(ferrometa_testkit::SERVING_MESSAGE), "health comes first:\n{log}");
    assert!(log.contains("generated a new RSA key pair"), "a first start generates its key:\n{log}");
    assert!(server.stop().await.expect("exit status").success());
}

#[tokio::test]
async fn default_admin_gets_a_random_password_in_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // No AUTHORIZER_ADMIN_PRINCIPALS password: the default `admin` is bootstrapped.
    let server = TestServer::start_in(dir.path(), &[("AUTHORIZER_ADMIN_PRINCIPALS", "[admin]")]).await;
    let file = dir.path().join("initial-admin-password");
    let password = std::fs::read_to_string(&file).expect("initial-admin-password written").trim().to_string();
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_ne!(password, "admin", "no shared default password");
    let (status, _) = server.login("admin@open-metadata.org", &password).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.login("admin@open-metadata.org", "admin").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "OpenMetadata's admin/admin does not work");
    server.stop().await;
}

#[tokio::test]
async fn errors_are_openmetadata_json_with_the_right_status() {
    let server = TestServer::start(&[]).await;
    let (status, body) = server.get("/api/v1/no/such/thing", None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!(404)));
    let (status, body) = server.call(Method::DELETE, "/api/v1/system/version", None, None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::METHOD_NOT_ALLOWED, json!(405)));
    let (status, body) = server.get("/api/v1/users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"code": 401, "message": "Not Authorized! Token not present"}));
    let raw = server.client.post(server.url("/api/v1/users/login")).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["code"], json!(400));
    let raw = server.client.post(server.url("/api/v1/users/login")).body("x").send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = server.get("/api/v1/users?limit=-5", Some(&server.admin_token().await)).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn responses_carry_a_request_id_and_metrics_count_routes() {
    let server = TestServer::start(&[]).await;
    let resp = server.client.get(server.url("/api/v1/system/version")).send().await.unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    let metrics = server.client.get(format!("{}/metrics", server.admin_base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ferrometa_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/system/version\""), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn every_protected_endpoint_refuses_a_request_without_a_token() {
    use ferrometa_server::access::Access;
    let server = TestServer::start(&[]).await;
    let endpoints = ferrometa_server::routes::endpoints();
    let mut seen = std::collections::HashSet::new();
    for e in endpoints {
        assert!(seen.insert((e.method.clone(), e.path)), "{} {} declared twice", e.method, e.path);
        if e.access == Access::Public {
            continue;
        }
        let path = e.path.replace("{id}", "00000000-0000-0000-0000-000000000000").replace("{name}", "x").replace("{version}", "0.1");
        let (status, body) = server.call(e.method.clone(), &path, None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {path} answered {body} without a token", e.method);
    }
    server.stop().await;
}

#[test]
fn check_config_lists_every_problem_and_exits_non_zero() {
    let out = std::process::Command::new(binary())
        .arg("check-config")
        .env_clear()
        .env("AUTHENTICATION_PROVIDER", "cognito")
        .env("SERVER_PORT", "eighty")
        .env("AUTHENTICATION_PUBLIC_KEYS", "[not a url]")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for fragment in ["authenticationConfiguration.provider (AUTHENTICATION_PROVIDER)", "server.port (SERVER_PORT)", "authenticationConfiguration.publicKeyUrls (AUTHENTICATION_PUBLIC_KEYS)"] {
        assert!(err.contains(fragment), "missing {fragment} in:\n{err}");
    }
}

#[test]
fn check_config_prints_a_redacted_effective_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(binary())
        .arg("check-config")
        .env_clear()
        .env("FERROMETA_DATA_DIR", dir.path())
        .env("OIDC_CLIENT_SECRET", "very-secret-value")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("authenticationConfiguration.oidcConfiguration.secret = *** (env)"), "{stdout}");
    assert!(!stdout.contains("very-secret-value"));
    assert!(stdout.contains("served in-process"), "own JWKS URL is recognised: {stdout}");
}
