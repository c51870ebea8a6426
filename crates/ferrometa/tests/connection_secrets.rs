//! Issue 14 (item 5): which connection fields are secrets comes from OpenMetadata's connection
//! schemas, not from key names. A Trino JWT and a Postgres SSL key are masked for everyone but
//! bots and sealed at rest like passwords, and services stored before are re-sealed at start-up.
//! On SQLite and PostgreSQL.

mod common;

use ferrometa_store::{EntityRow, Store, now_ms};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldGwifQ.c2lnbmF0dXJl";
const SSL_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
const MASKED: &str = "*********";

fn trino() -> Value {
    json!({"name": "lakehouse", "serviceType": "Trino",
           "connection": {"config": {"type": "Trino", "username": "etl", "hostPort": "trino:8080", "catalog": "hive", "authType": {"jwt": JWT}}}})
}

fn postgres() -> Value {
    json!({"name": "warehouse", "serviceType": "Postgres",
           "connection": {"config": {"type": "Postgres", "username": "etl", "hostPort": "db:5432", "database": "sales", "authType": {"password": "s3cret"},
                                     "sslMode": "verify-full", "sslConfig": {"sslKey": SSL_KEY}}}})
}

/// Where each service keeps its secrets: (name, JSON pointer within `connection.config`).
const SECRETS: &[(&str, &str)] = &[("lakehouse", "/authType/jwt"), ("warehouse", "/authType/password"), ("warehouse", "/sslConfig/sslKey")];

/// A server's database: SQLite in its data dir, or a fresh PostgreSQL database.
struct Database {
    dir: tempfile::TempDir,
    postgres: Option<String>,
}

impl Database {
    fn sqlite() -> Database {
        Database { dir: tempfile::tempdir().expect("temp dir"), postgres: None }
    }

    async fn postgres() -> Option<Database> {
        let url = ferrometa_store::testing::fresh_postgres_url().await?;
        Some(Database { dir: tempfile::tempdir().expect("temp dir"), postgres: Some(url) })
    }

    async fn store(&self) -> Store {
        match &self.postgres {
            Some(url) => Store::open_postgres(url).await.expect("open postgres"),
            None => Store::open_sqlite(&self.dir.path().join("ferrometa.db")).await.expect("open sqlite"),
        }
    }

    async fn server(&self) -> TestServer {
        let env: Vec<(&str, &str)> = self.postgres.iter().map(|url| ("FERROMETA_DATABASE_URL", url.as_str())).collect();
        TestServer::start_in(self.dir.path(), &env).await
    }
}

async fn service(s: &TestServer, name: &str, token: &str) -> Value {
    let (status, svc) = s.get(&format!("/api/v1/services/databaseServices/name/{name}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{svc}");
    svc
}

fn secret<'a>(svc: &'a Value, pointer: &str) -> &'a Value {
    svc["connection"]["config"].pointer(pointer).unwrap_or(&Value::Null)
}

/// Non-bots see every secret masked and the rest as written; bots see every secret.
async fn assert_shown_to_bots_only(s: &TestServer, admin: &str, others: &[&str], bot: &str) {
    for (name, pointer) in SECRETS {
        for token in others.iter().chain([&admin]) {
            let svc = service(s, name, token).await;
            assert_eq!(secret(&svc, pointer), &json!(MASKED), "{name} {pointer} is shown to a user who is no bot");
            assert_eq!(svc["connection"]["config"]["username"], json!("etl"), "{name}: a field that is no secret is masked");
        }
        let svc = service(s, name, bot).await;
        assert!(secret(&svc, pointer).as_str().is_some_and(|v| v != MASKED && !v.starts_with("sealed:")), "{name} {pointer} is not in clear for the bot: {svc}");
    }
}

/// Every stored row and version of the services: none holds a secret in clear.
async fn assert_sealed_at_rest(db: &Database) {
    let store = db.store().await;
    for name in ["lakehouse", "warehouse"] {
        let row = store.entity_by_fqn("databaseService", name).await.unwrap().expect("the service row");
        let versions = store.entity_versions(&row.id).await.unwrap();
        for json in std::iter::once(&row.json).chain(versions.iter().map(|(_, json)| json)) {
            for clear in [JWT, "BEGIN PRIVATE KEY", "s3cret"] {
                assert!(!json.contains(clear), "{name} holds {clear:?} in clear at rest: {json}");
            }
            assert!(json.contains("sealed:") && json.contains("\"etl\""), "{name}: secrets are not sealed, or the rest is: {json}");
        }
    }
}

async fn secrets_named_by_the_schemas_are_for_bots_only(db: Database) {
    let s = db.server().await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let rita = common::reader(&s, &admin).await;
    for request in [trino(), postgres()] {
        let (status, body) = s.call(Method::PUT, "/api/v1/services/databaseServices", Some(&admin), Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_shown_to_bots_only(&s, &admin, &[&rita], &bot).await;
    let (_, listed) = s.get("/api/v1/services/databaseServices?limit=10", Some(&rita)).await;
    let listed = listed["data"].as_array().expect("a list");
    assert!(listed.iter().all(|svc| !svc.to_string().contains(JWT) && !svc.to_string().contains("PRIVATE KEY")), "a list shows secrets: {listed:?}");

    // Sending the masked JWT back keeps it; no new version.
    let shown = service(&s, "lakehouse", &admin).await;
    let update = json!({"name": "lakehouse", "serviceType": "Trino", "connection": shown["connection"].clone()});
    let (status, same) = s.call(Method::PUT, "/api/v1/services/databaseServices", Some(&admin), Some(update)).await;
    assert_eq!((status, same["version"].clone()), (StatusCode::OK, json!(0.1)), "{same}");
    assert_eq!(secret(&service(&s, "lakehouse", &bot).await, "/authType/jwt"), &json!(JWT), "the masked JWT sent back replaced the stored one");
    assert_sealed_at_rest(&db).await;
    s.stop().await;
}

#[tokio::test]
async fn a_trino_jwt_and_a_postgres_ssl_key_are_for_bots_only() {
    secrets_named_by_the_schemas_are_for_bots_only(Database::sqlite()).await;
}

#[tokio::test]
async fn a_trino_jwt_and_a_postgres_ssl_key_are_for_bots_only_on_postgres() {
    let Some(db) = Database::postgres().await else { return };
    secrets_named_by_the_schemas_are_for_bots_only(db).await;
}

/// Writes a service the way earlier versions left it, straight through the store: the JWT and
/// the SSL key in clear (their names did not look secret), and a password in clear too (as rows
/// from before encryption at rest hold it).
async fn store_legacy(store: &Store, request: Value, id: &str) {
    let mut entity = request;
    let name = entity["name"].as_str().unwrap_or_default().to_string();
    entity["id"] = json!(id);
    entity["fullyQualifiedName"] = json!(name);
    entity["version"] = json!(0.1);
    entity["updatedAt"] = json!(now_ms());
    entity["updatedBy"] = json!("admin");
    entity["deleted"] = json!(false);
    entity["href"] = json!(format!("http://localhost:8585/api/v1/services/databaseServices/{id}"));
    let row = EntityRow { id: id.into(), entity_type: "databaseService".into(), fqn: name, secondary_key: None, parent_fqn: None, deleted: false, updated_at: now_ms(), json: entity.to_string() };
    store.insert_entity(&row, "0.1", &[], None).await.expect("store a legacy service");
}

async fn services_stored_in_clear_are_resealed_at_start_up(db: Database) {
    let store = db.store().await;
    store_legacy(&store, trino(), "5a4f3c2e-0000-4000-8000-000000000001").await;
    store_legacy(&store, postgres(), "5a4f3c2e-0000-4000-8000-000000000002").await;
    let raw = store.entity_by_fqn("databaseService", "lakehouse").await.unwrap().expect("legacy row").json;
    assert!(raw.contains(JWT), "the legacy row must start with the JWT in clear: {raw}");
    drop(store);

    let s = db.server().await;
    assert_sealed_at_rest(&db).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    assert_shown_to_bots_only(&s, &admin, &[], &bot).await;
    assert_eq!(secret(&service(&s, "warehouse", &bot).await, "/sslConfig/sslKey"), &json!(SSL_KEY), "the re-sealed SSL key reads back unchanged");
    s.stop().await;
}

#[tokio::test]
async fn services_stored_in_clear_are_resealed_at_start_up_on_sqlite() {
    services_stored_in_clear_are_resealed_at_start_up(Database::sqlite()).await;
}

#[tokio::test]
async fn services_stored_in_clear_are_resealed_at_start_up_on_postgres() {
    let Some(db) = Database::postgres().await else { return };
    services_stored_in_clear_are_resealed_at_start_up(db).await;
}
