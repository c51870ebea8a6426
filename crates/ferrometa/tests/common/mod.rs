//! Fixtures shared by the integration tests: the built binary, and hand-made JWTs signed with
//! a server's own private key (for the attack list of `security-requirements.md` §3b).

#![allow(dead_code)]

pub mod browser;

/// Two tests of one scenario: on SQLite, and on PostgreSQL when the suite has it.
#[macro_export]
macro_rules! on_both_backends {
    ($sqlite:ident, $postgres:ident, $scenario:path) => {
        #[tokio::test]
        async fn $sqlite() {
            let s = ferrometa_testkit::TestServer::start(&[]).await;
            $scenario(&s).await;
            s.stop().await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(s) = ferrometa_testkit::TestServer::start_postgres(&[]).await else { return };
            $scenario(&s).await;
            s.stop().await;
        }
    };
}

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// How much longer the fault and durability tests run: `FERROMETA_LONG_TESTS=N` (default 1, the
/// short form CI runs) multiplies their load and their outages.
pub fn long_form() -> usize {
    std::env::var("FERROMETA_LONG_TESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferrometa"))
}

/// Runs a CLI command of the binary with the given env; returns (success, stdout, stderr).
pub fn cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = std::process::Command::new(binary()).args(args).env_clear().envs(env.iter().copied()).output().expect("run ferrometa");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

pub fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The signing key of a server's generated key pair (`<data dir>/keys/private_key.der`).
pub fn server_key(data_dir: &Path) -> EncodingKey {
    let der = std::fs::read(data_dir.join("keys/private_key.der")).expect("server private key");
    rsa_key(&der)
}

pub fn rsa_key(pkcs8_der: &[u8]) -> EncodingKey {
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8_der.to_vec()));
    EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa key")
}

/// The kid the server publishes first in its JWKS.
pub async fn server_kid(base: &str) -> String {
    let jwks: Value = reqwest::get(format!("{base}/api/v1/system/config/jwks")).await.unwrap().json().await.unwrap();
    jwks["keys"][0]["kid"].as_str().unwrap().to_string()
}

/// A compact JWS from raw header and payload JSON text (so duplicate members can be sent).
pub fn sign_raw(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{sig}")
}

pub fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), key, alg)
}

/// Claims of a valid ferrometa session token for `name`.
pub fn session_claims(name: &str) -> Value {
    let now = now();
    json!({"iss": "open-metadata.org", "sub": name, "email": format!("{name}@open-metadata.org"), "isBot": false,
           "tokenType": "OM_USER", "iat": now, "nbf": now - 30, "exp": now + 600, "roles": []})
}

/// A key pair written by `ferrometa keys generate` (as an operator would), shared by replicas.
pub struct KeyFiles {
    pub dir: tempfile::TempDir,
}

impl KeyFiles {
    pub fn generate() -> KeyFiles {
        let dir = tempfile::tempdir().unwrap();
        let (ok, _, err) = cli(&["keys", "generate", "--out", dir.path().to_str().unwrap()], &[]);
        assert!(ok, "keys generate failed: {err}");
        KeyFiles { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// What replicas of one PostgreSQL database share: the database, this key pair and the
    /// secret key, plus `extra`.
    pub fn replica_env(&self, database_url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = vec![
            ("FERROMETA_DATABASE_URL".to_string(), database_url.to_string()),
            ("RSA_PRIVATE_KEY_FILE_PATH".to_string(), self.path("private_key.der")),
            ("RSA_PUBLIC_KEY_FILE_PATH".to_string(), self.path("public_key.der")),
            ("FERNET_KEY".to_string(), "shared-secret-between-replicas".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }
}

/// `(&str, &str)` pairs of owned settings, as `TestServer::start` takes them.
pub fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A user signed in with a password: id, name and access token.
pub struct Person {
    pub id: String,
    pub name: String,
    pub token: String,
}

/// Creates the user `name` as the admin (with the `extra` fields of `CreateUser`: teams, roles,
/// ...), gives it a password and signs it in.
pub async fn person(s: &ferrometa_testkit::TestServer, admin: &str, name: &str, extra: Value) -> Person {
    use reqwest::{Method, StatusCode};
    let mut create = json!({"name": name, "email": format!("{name}@open-metadata.org")});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        create[k] = v;
    }
    let (status, user) = s.call(Method::POST, "/api/v1/users", Some(admin), Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "create {name}: {user}");
    let password = format!("{}-Passw0rd!", name.to_uppercase());
    let body = json!({"username": name, "newPassword": password, "confirmPassword": password, "requestType": "USER"});
    let (status, answer) = s.call(Method::PUT, "/api/v1/users/changePassword", Some(admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "password of {name}: {answer}");
    let (status, session) = s.login(&format!("{name}@open-metadata.org"), &password).await;
    assert_eq!(status, StatusCode::OK, "login of {name}: {session}");
    Person { id: user["id"].as_str().unwrap().to_string(), name: name.to_string(), token: session["accessToken"].as_str().unwrap().to_string() }
}

/// A user without admin rights (`rita`), signed in with a password; returns her access token.
pub async fn reader(s: &ferrometa_testkit::TestServer, admin: &str) -> String {
    person(s, admin, "rita", json!({})).await.token
}

/// The schema `svc.db.sch` (service, database, schema written by `writer`, e.g. the ingestion
/// bot) with tables of two columns (`id` INT, `email` VARCHAR); returns each table's id.
pub async fn shop_tables(s: &ferrometa_testkit::TestServer, writer: &str, tables: &[&'static str]) -> std::collections::HashMap<&'static str, String> {
    use reqwest::{Method, StatusCode};
    for (path, body) in [
        ("/api/v1/services/databaseServices", json!({"name": "svc", "serviceType": "Mysql"})),
        ("/api/v1/databases", json!({"name": "db", "service": "svc"})),
        ("/api/v1/databaseSchemas", json!({"name": "sch", "database": "svc.db"})),
    ] {
        let (status, answer) = s.call(Method::PUT, path, Some(writer), Some(body)).await;
        assert!(status.is_success(), "{path}: {answer}");
    }
    let mut ids = std::collections::HashMap::new();
    for name in tables {
        let columns = json!([{"name": "id", "dataType": "INT"}, {"name": "email", "dataType": "VARCHAR", "dataLength": 64}]);
        let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(writer), Some(json!({"name": name, "databaseSchema": "svc.db.sch", "columns": columns}))).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {t}");
        ids.insert(*name, t["id"].as_str().unwrap().to_string());
    }
    ids
}

/// `CreateTable` of a table in the schema of [`hierarchy`].
pub fn create_table(name: &str) -> Value {
    json!({
        "name": name,
        "databaseSchema": "warehouse.sales.public",
        "tableType": "Regular",
        "description": "Orders of the shop",
        "columns": [
            {"name": "id", "dataType": "BIGINT", "constraint": "PRIMARY_KEY", "ordinalPosition": 1},
            {"name": "customer_name", "dataType": "VARCHAR", "dataLength": 64, "dataTypeDisplay": "varchar(64)", "ordinalPosition": 2},
            {"name": "payload", "dataType": "JSON", "ordinalPosition": 3}
        ],
        "tableConstraints": [{"constraintType": "PRIMARY_KEY", "columns": ["id"]}],
        "sourceHash": "abc123"
    })
}

/// service `warehouse` > database `sales` > schema `public`, created by the ingestion bot.
pub async fn hierarchy(s: &ferrometa_testkit::TestServer, bot: &str) -> (Value, Value, Value) {
    let svc = json!({"name": "warehouse", "serviceType": "Postgres",
                     "connection": {"config": {"type": "Postgres", "username": "etl", "authType": {"password": "s3cret"}, "hostPort": "db:5432", "database": "sales"}}});
    use reqwest::{Method, StatusCode};
    let (status, svc) = s.call(Method::PUT, "/api/v1/services/databaseServices", Some(bot), Some(svc)).await;
    assert_eq!(status, StatusCode::CREATED, "{svc}");
    let (status, db) = s.call(Method::PUT, "/api/v1/databases", Some(bot), Some(json!({"name": "sales", "service": "warehouse"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{db}");
    let (status, schema) = s.call(Method::PUT, "/api/v1/databaseSchemas", Some(bot), Some(json!({"name": "public", "database": "warehouse.sales"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{schema}");
    (svc, db, schema)
}
