//! Connection secrets at rest on SQLite and PostgreSQL: the start-up task that re-seals the
//! service rows (and their versions) stored when key names chose the secrets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrometa_catalog::kinds::DATABASE_SERVICE;
use ferrometa_catalog::{Catalog, SecretCipher};
use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{EntityRow, Include, Store, now_ms};
use serde_json::{Value, json};

/// Stands in for the server's AES-GCM box: reversible, and a fresh ciphertext at every call
/// (so a row sealed twice differs).
#[derive(Default)]
struct Numbered(AtomicUsize);

impl SecretCipher for Numbered {
    fn seal(&self, plaintext: &str) -> Result<String, String> {
        Ok(format!("{}.{}", self.0.fetch_add(1, Ordering::Relaxed), plaintext.chars().rev().collect::<String>()))
    }
    fn open(&self, sealed: &str) -> Result<String, String> {
        let (_, reversed) = sealed.split_once('.').ok_or("not a ciphertext")?;
        Ok(reversed.chars().rev().collect())
    }
}

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJldGwifQ.c2lnbmF0dXJl";
const SSL_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const FLAG: &str = "connection_secrets.sealed_by";

/// A service as versions before the schemas stored it: secrets whose key names did not look
/// secret (a JWT, an SSL key) in clear, and an AWS access key id, whose did, sealed.
fn legacy_service(cipher: &Numbered) -> Value {
    let sealed_id = format!("sealed:{}", cipher.seal(ACCESS_KEY_ID).unwrap());
    json!({"id": "svc-1", "name": "lake", "fullyQualifiedName": "lake", "serviceType": "Postgres", "version": 0.2, "deleted": false,
           "connection": {"config": {"type": "Postgres", "username": "etl", "hostPort": "db:5432", "sslConfig": {"sslKey": SSL_KEY},
               "authType": {"awsConfig": {"awsAccessKeyId": sealed_id, "awsRegion": "eu-west-1"}}}},
           "changeDescription": {"fieldsUpdated": [{"name": "connection",
               "oldValue": json!({"config": {"type": "Trino", "username": "etl", "authType": {"jwt": JWT}}}).to_string(),
               "newValue": "{}"}], "fieldsAdded": [], "fieldsDeleted": [], "previousVersion": 0.1}})
}

/// Writes the legacy service straight through the store, as the old code left it: the row and
/// its two versions.
async fn store_legacy(store: &Store, cipher: &Numbered) -> EntityRow {
    let entity = legacy_service(cipher);
    let row = |json: &Value| EntityRow {
        id: "svc-1".into(),
        entity_type: DATABASE_SERVICE.name.into(),
        fqn: "lake".into(),
        secondary_key: None,
        parent_fqn: None,
        deleted: false,
        updated_at: now_ms(),
        json: json.to_string(),
    };
    let mut first = entity.clone();
    first["connection"] = json!({"config": {"type": "Trino", "username": "etl", "hostPort": "trino:8080", "authType": {"jwt": JWT}}});
    store.insert_entity(&row(&first), "0.1", &[], None).await.unwrap();
    store.update_entity(&row(&entity), "0.2", None).await.unwrap();
    row(&entity)
}

/// The stored row and versions, as text.
async fn stored(store: &Store) -> (String, Vec<(String, String)>) {
    let row = store.entity_by_id(DATABASE_SERVICE.name, "svc-1").await.unwrap().expect("the service row");
    (row.json, store.entity_versions("svc-1").await.unwrap())
}

#[tokio::test]
async fn rows_stored_by_key_name_rules_are_resealed_once_at_start_up() {
    for (store, _dir) in fresh_stores().await {
        let cipher = Arc::new(Numbered::default());
        store_legacy(&store, &cipher).await;
        // Two replicas starting together.
        let replicas = [0, 1].map(|_| Catalog::new(store.clone(), "http://localhost:8585/").with_secret_cipher(cipher.clone()));
        let (a, b) = tokio::join!(replicas[0].reseal_connection_secrets(), replicas[1].reseal_connection_secrets());
        a.unwrap();
        b.unwrap();

        let (row, versions) = stored(&store).await;
        let at_rest: Vec<&str> = std::iter::once(row.as_str()).chain(versions.iter().map(|(_, json)| json.as_str())).collect();
        assert_eq!(at_rest.len(), 3, "the row and its two versions");
        for json in &at_rest {
            assert!(!json.contains("BEGIN PRIVATE KEY") && !json.contains(JWT), "a secret is still in clear at rest: {json}");
            assert!(json.contains("sealed:"), "nothing is sealed: {json}");
        }
        let entity: Value = serde_json::from_str(&row).unwrap();
        let aws = &entity["connection"]["config"]["authType"]["awsConfig"];
        assert_eq!(aws["awsAccessKeyId"], json!(ACCESS_KEY_ID), "an access key id is no secret: stored in clear");
        assert!(entity["connection"]["config"]["sslConfig"]["sslKey"].as_str().unwrap().starts_with("sealed:"), "{entity}");
        assert_eq!(entity["connection"]["config"]["username"], json!("etl"), "what is no secret is untouched");

        let read = replicas[0].get_by_name(&DATABASE_SERVICE, "lake", Include::All).await.unwrap();
        assert_eq!(read["connection"]["config"]["sslConfig"]["sslKey"], json!(SSL_KEY), "the re-sealed key reads back in clear");
        assert_eq!(read["version"], json!(0.2), "re-sealing makes no new version");
        let history = replicas[0].versions(&DATABASE_SERVICE, "svc-1").await.unwrap();
        assert!(history["versions"][1].as_str().unwrap().contains(JWT), "the first version reads back in clear: {history}");
        assert!(store.get_setting(FLAG).await.unwrap().is_some(), "the task records that it ran");

        // A later start (or an older flag) finds nothing to re-seal: every row stays as it is.
        store.put_setting(FLAG, "an older client").await.unwrap();
        replicas[1].reseal_connection_secrets().await.unwrap();
        assert_eq!(stored(&store).await, (row, versions), "a row already sealed as the schemas say was rewritten");
    }
}

#[tokio::test]
async fn without_a_cipher_nothing_is_resealed() {
    for (store, _dir) in fresh_stores().await {
        let legacy = store_legacy(&store, &Numbered::default()).await;
        Catalog::new(store.clone(), "http://localhost:8585/").reseal_connection_secrets().await.unwrap();
        assert_eq!(stored(&store).await.0, legacy.json, "a catalog without a cipher stores secrets as given");
        assert_eq!(store.get_setting(FLAG).await.unwrap(), None, "a later start with a cipher must still re-seal");
    }
}
