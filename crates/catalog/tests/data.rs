//! Data assets (services, databases, schemas, tables, stored procedures) on SQLite and
//! PostgreSQL: FQNs and references, PUT without new versions, column versioning, listing
//! under a container, recursive delete and restore, test-connection seeds.

use ferrometa_catalog::data::{DATABASE_SCHEMAS, DATABASE_SERVICES, DATABASES, STORED_PROCEDURES, TABLES};
use ferrometa_catalog::kinds::{DATABASE_SCHEMA, TABLE, TEST_CONNECTION_DEFINITION};
use ferrometa_catalog::{Actor, Catalog, CatalogError, Listing};
use ferrometa_store::Include;
use ferrometa_store::testing::fresh_stores;
use serde_json::{Value, json};

mod common;
use common::{admin, each_catalog};

fn columns() -> Value {
    json!([
        {"name": "id", "dataType": "INT", "constraint": "PRIMARY_KEY", "ordinalPosition": 1},
        {"name": "name", "dataType": "VARCHAR", "dataLength": 100, "dataTypeDisplay": "VARCHAR(100)", "ordinalPosition": 2},
        {"name": "address", "dataType": "STRUCT", "children": [{"name": "city", "dataType": "STRING"}]}
    ])
}

/// service `svc` > database `shop` > schema `sales.v2` (a dotted name) > tables.
async fn hierarchy(c: &Catalog) -> (Value, Value, Value) {
    let (svc, created) = c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASE_SERVICES, json!({"name": "svc", "serviceType": "SQLite", "connection": {"config": {"type": "SQLite"}}})).await.unwrap();
    assert!(created);
    let (db, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASES, json!({"name": "shop", "service": "svc"})).await.unwrap();
    let (schema, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASE_SCHEMAS, json!({"name": "sales.v2", "database": "svc.shop"})).await.unwrap();
    (svc, db, schema)
}

fn table(name: &str, cols: Value) -> Value {
    json!({"name": name, "databaseSchema": "svc.shop.\"sales.v2\"", "columns": cols, "tableType": "Regular",
           "tableConstraints": [{"constraintType": "PRIMARY_KEY", "columns": ["id"]}]})
}

#[tokio::test]
async fn create_requests_become_entities_with_fqns_and_references() {
    each_catalog(async |c| {
        let (svc, db, schema) = hierarchy(c).await;
        assert_eq!(db["fullyQualifiedName"], json!("svc.shop"));
        assert_eq!((db["service"]["id"].clone(), db["service"]["type"].clone(), db["serviceType"].clone()), (svc["id"].clone(), json!("databaseService"), json!("SQLite")));
        assert_eq!(schema["fullyQualifiedName"], json!("svc.shop.\"sales.v2\""));
        assert_eq!((schema["database"]["id"].clone(), schema["service"]["id"].clone()), (db["id"].clone(), svc["id"].clone()));
        let (t, created) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        assert!(created);
        assert_eq!(t["fullyQualifiedName"], json!("svc.shop.\"sales.v2\".orders"));
        assert_eq!(t["columns"][1]["fullyQualifiedName"], json!("svc.shop.\"sales.v2\".orders.name"));
        assert_eq!(t["columns"][2]["children"][0]["fullyQualifiedName"], json!("svc.shop.\"sales.v2\".orders.address.city"));
        assert_eq!(t["columns"][0]["tags"], json!([]));
        assert_eq!((t["databaseSchema"]["id"].clone(), t["database"]["id"].clone(), t["service"]["id"].clone()), (schema["id"].clone(), db["id"].clone(), svc["id"].clone()));
        assert_eq!(t["serviceType"], json!("SQLite"));
        // Lookups by FQN are case-insensitive.
        assert_eq!(c.get_by_name(&TABLE, "SVC.shop.\"Sales.V2\".ORDERS", Include::NonDeleted).await.unwrap()["id"], t["id"]);

        // POST of an existing FQN: 409; unknown parents: 404; bad shapes: 400.
        assert!(matches!(c.create_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await, Err(CatalogError::AlreadyExists)));
        assert!(matches!(c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASES, json!({"name": "x", "service": "nope"})).await, Err(CatalogError::NotFound(m)) if m == "databaseService instance for nope not found"));
        for bad in [
            json!({"name": "x", "serviceType": "NoSuchDb"}),
            json!({"name": "x"}),
            json!({"name": "", "serviceType": "SQLite"}),
            json!({"name": "x", "serviceType": "SQLite", "surprise": true}),
            json!({"name": "x", "serviceType": "SQLite", "domain": "Finance"}),
            json!(["not", "an", "object"]),
        ] {
            let r = c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASE_SERVICES, bad.clone()).await;
            assert!(matches!(r, Err(CatalogError::BadRequest(_) | CatalogError::NotFound(_))), "{bad}: {r:?}");
        }
        let bad_constraint = json!({"name": "t2", "databaseSchema": "svc.shop.\"sales.v2\"", "columns": columns(), "tableConstraints": [{"constraintType": "UNIQUE", "columns": ["nope"]}]});
        assert!(matches!(c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, bad_constraint).await, Err(CatalogError::BadRequest(m)) if m.contains("Invalid column name found in table constraint")));
        let proc = json!({"name": "p", "databaseSchema": "svc.shop.\"sales.v2\"", "storedProcedureCode": {"language": "SQL", "code": "select 1"}});
        let (p, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &STORED_PROCEDURES, proc).await.unwrap();
        assert_eq!(p["fullyQualifiedName"], json!("svc.shop.\"sales.v2\".p"));
    })
    .await;
}

#[tokio::test]
async fn put_without_changes_keeps_the_version_and_columns_version_one_by_one() {
    each_catalog(async |c| {
        hierarchy(c).await;
        let (t, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        let (same, created) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        assert!(!created);
        assert_eq!(same, t, "an identical PUT is no new version");

        // A description given in the catalog survives the next ingestion run.
        let patch: json_patch::Patch = serde_json::from_value(json!([{"op": "add", "path": "/columns/0/description", "value": "the key"}])).unwrap();
        let described = c.patch_asset(Actor::local(&admin(c, "steward").await), &TABLES, t["id"].as_str().unwrap(), &patch).await.unwrap();
        assert_eq!(described["version"], json!(0.2));
        assert_eq!(described["changeDescription"]["fieldsAdded"][0]["name"], json!("columns.id.description"));
        let (rerun, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        assert_eq!(rerun["version"], json!(0.2));
        assert_eq!(rerun["columns"][0]["description"], json!("the key"));

        // Adding a column: minor, named in the change description.
        let mut more = columns();
        more.as_array_mut().unwrap().push(json!({"name": "loyalty", "dataType": "VARCHAR", "dataLength": 10}));
        let (added, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", more.clone())).await.unwrap();
        assert_eq!(added["version"], json!(0.3));
        let fa = &added["changeDescription"]["fieldsAdded"][0];
        assert_eq!(fa["name"], json!("columns"));
        assert!(fa["newValue"].as_str().unwrap().contains("loyalty"));

        // Removing one: major (breaking), named in fieldsDeleted.
        let fewer = json!([{"name": "id", "dataType": "INT", "constraint": "PRIMARY_KEY", "ordinalPosition": 1}, {"name": "loyalty", "dataType": "VARCHAR", "dataLength": 10}]);
        let (removed, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", fewer)).await.unwrap();
        assert_eq!(removed["version"], json!(1.0));
        let fd = &removed["changeDescription"]["fieldsDeleted"][0];
        assert_eq!(fd["name"], json!("columns"));
        assert!(fd["oldValue"].as_str().unwrap().contains("\"name\":\"name\"") && fd["oldValue"].as_str().unwrap().contains("address"));
        assert_eq!(removed["changeDescription"]["previousVersion"], json!(0.3));
        let history = c.versions(&TABLE, t["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(history["versions"].as_array().unwrap().len(), 4);

        // PATCH cannot move or rename, nor add fields outside the schema.
        let id = t["id"].as_str().unwrap();
        for ops in [
            json!([{"op": "replace", "path": "/name", "value": "x"}]),
            json!([{"op": "replace", "path": "/databaseSchema/id", "value": "x"}]),
            json!([{"op": "add", "path": "/surprise", "value": 1}]),
            json!([{"op": "add", "path": "/columns/-", "value": {"name": "bad", "dataType": "NOPE"}}]),
            json!([{"op": "remove", "path": "/columns/9"}]),
        ] {
            let patch: json_patch::Patch = serde_json::from_value(ops.clone()).unwrap();
            assert!(matches!(c.patch_asset(Actor::local(&admin(c, "u").await), &TABLES, id, &patch).await, Err(CatalogError::BadRequest(_))), "{ops}");
        }
        // A PATCH that adds a column computes its FQN.
        let patch: json_patch::Patch = serde_json::from_value(json!([{"op": "add", "path": "/columns/-", "value": {"name": "note", "dataType": "TEXT"}}])).unwrap();
        let patched = c.patch_asset(Actor::local(&admin(c, "bot").await), &TABLES, id, &patch).await.unwrap();
        assert_eq!(patched["columns"][2]["fullyQualifiedName"], json!("svc.shop.\"sales.v2\".orders.note"));
        assert_eq!(patched["version"], json!(1.1));
    })
    .await;
}

#[tokio::test]
async fn lists_under_any_container_page_by_fqn() {
    each_catalog(async |c| {
        hierarchy(c).await;
        c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASE_SCHEMAS, json!({"name": "other", "database": "svc.shop"})).await.unwrap();
        for name in ["c", "a", "b.dot", "d"] {
            c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table(name, columns())).await.unwrap();
        }
        let other = json!({"name": "z", "databaseSchema": "svc.shop.other", "columns": columns()});
        c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, other).await.unwrap();
        // Under the schema, the database (two levels up) and the service, two per page, in FQN
        // order (a quoted part sorts before letters).
        for (container, expected) in [
            ("svc.shop.\"sales.v2\"", vec!["b.dot", "a", "c", "d"]),
            ("svc.shop", vec!["b.dot", "a", "c", "d", "z"]),
            ("SVC", vec!["b.dot", "a", "c", "d", "z"]),
        ] {
            let mut names = vec![];
            let mut after: Option<String> = None;
            loop {
                let page = c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some(container), include: Include::NonDeleted, limit: 2, after: after.as_deref(), before: None }, None).await.unwrap();
                assert_eq!(page.total, expected.len() as i64);
                names.extend(page.data.iter().map(|t| t["name"].as_str().unwrap().to_string()));
                match page.after {
                    Some(a) => after = Some(a),
                    None => break,
                }
            }
            assert_eq!(names, expected, "{container}");
        }
        // Backwards from the end.
        let last = c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some("svc.shop"), include: Include::NonDeleted, limit: 2, after: None, before: Some("svc.shop.other.z~") }, None).await.unwrap();
        assert_eq!(last.data.iter().map(|t| t["name"].as_str().unwrap()).collect::<Vec<_>>(), ["d", "z"]);
        assert!(c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some("nothing.here"), include: Include::NonDeleted, limit: 10, after: None, before: None }, None).await.unwrap().data.is_empty());
        let schemas = c.list_assets(Actor::local(&admin(c, "reader").await), &DATABASE_SCHEMAS, &Listing { under: Some("svc.shop"), include: Include::NonDeleted, limit: 10, after: None, before: None }, None).await.unwrap();
        assert_eq!(schemas.total, 2);
        let all = c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: None, include: Include::NonDeleted, limit: 10, after: None, before: None }, None).await.unwrap();
        assert_eq!(all.total, 5);
    })
    .await;
}

#[tokio::test]
async fn containers_delete_recursively_and_restore_with_their_contents() {
    each_catalog(async |c| {
        let (svc, db, schema) = hierarchy(c).await;
        let (t, _) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        let tid = t["id"].as_str().unwrap();
        let db_id = db["id"].as_str().unwrap();
        assert!(matches!(c.delete_asset(Actor::local(&admin(c, "u").await), &DATABASES, db_id, false, false).await, Err(CatalogError::BadRequest(m)) if m == "database is not empty"));
        let deleted = c.delete_asset(Actor::local(&admin(c, "u").await), &DATABASES, db_id, false, true).await.unwrap();
        assert_eq!(deleted["deleted"], json!(true));
        assert!(matches!(c.get(&TABLE, tid, Include::NonDeleted).await, Err(CatalogError::NotFound(_))));
        assert_eq!(c.get(&DATABASE_SCHEMA, schema["id"].as_str().unwrap(), Include::Deleted).await.unwrap()["deleted"], json!(true));
        // The service holds only deleted things now: a soft delete goes through.
        assert!(c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some("svc"), include: Include::NonDeleted, limit: 10, after: None, before: None }, None).await.unwrap().data.is_empty());
        assert_eq!(c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some("svc"), include: Include::Deleted, limit: 10, after: None, before: None }, None).await.unwrap().total, 1);

        let restored = c.restore_asset(Actor::local(&admin(c, "u").await), &DATABASES, db_id).await.unwrap();
        assert_eq!(restored["deleted"], json!(false));
        let t2 = c.get(&TABLE, tid, Include::NonDeleted).await.unwrap();
        assert_eq!(t2["deleted"], json!(false));

        // A PUT of a soft-deleted table restores it.
        c.delete_asset(Actor::local(&admin(c, "u").await), &TABLES, tid, false, false).await.unwrap();
        let (back, created) = c.put_asset(Actor::local(&admin(c, "bot").await), &TABLES, table("orders", columns())).await.unwrap();
        assert!(!created);
        assert_eq!((back["id"].clone(), back["deleted"].clone()), (t["id"].clone(), json!(false)));

        // Hard and recursive: everything is gone, and the FQNs are free again.
        c.delete_asset(Actor::local(&admin(c, "u").await), &DATABASE_SERVICES, svc["id"].as_str().unwrap(), true, true).await.unwrap();
        assert!(matches!(c.get(&TABLE, tid, Include::All).await, Err(CatalogError::NotFound(_))));
        assert!(c.list_assets(Actor::local(&admin(c, "reader").await), &TABLES, &Listing { under: Some("svc"), include: Include::All, limit: 10, after: None, before: None }, None).await.unwrap().data.is_empty());
        let (_, created) = c.put_asset(Actor::local(&admin(c, "bot").await), &DATABASE_SERVICES, json!({"name": "svc", "serviceType": "Mysql"})).await.unwrap();
        assert!(created);
    })
    .await;
}

#[tokio::test]
async fn test_connection_definitions_are_seeded_once() {
    each_catalog(async |c| {
        c.seed_test_connection_definitions().await.unwrap();
        let sqlite = c.get_by_name(&TEST_CONNECTION_DEFINITION, "SQLite.testConnectionDefinition", Include::NonDeleted).await.unwrap();
        let steps: Vec<&str> = sqlite["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(steps, ["CheckAccess", "GetSchemas", "GetTables", "GetViews"]);
        assert_eq!(sqlite["name"], json!("SQLite"));
        c.seed_test_connection_definitions().await.unwrap();
        let again = c.get_by_name(&TEST_CONNECTION_DEFINITION, "SQLite.testConnectionDefinition", Include::NonDeleted).await.unwrap();
        assert_eq!(again, sqlite, "seeding again changes nothing");
        assert!(c.get_by_name(&TEST_CONNECTION_DEFINITION, "Mysql.testConnectionDefinition", Include::NonDeleted).await.is_ok());
    })
    .await;
}

/// Stands in for the server's AES-GCM box: reversible, and no secret survives in clear.
struct Reversing;

impl ferrometa_catalog::SecretCipher for Reversing {
    fn seal(&self, plaintext: &str) -> Result<String, String> {
        Ok(plaintext.chars().rev().collect())
    }
    fn open(&self, sealed: &str) -> Result<String, String> {
        Ok(sealed.chars().rev().collect())
    }
}

#[tokio::test]
async fn connection_secrets_are_stored_sealed_and_read_back_in_clear() {
    for (store, _dir) in fresh_stores().await {
        let c = Catalog::new(store.clone(), "http://localhost:8585/").with_secret_cipher(std::sync::Arc::new(Reversing));
        let service = |password: &str| json!({"name": "vault", "serviceType": "Mysql", "connection": {"config": {"type": "Mysql", "username": "u", "authType": {"password": password}}}});
        let (svc, _) = c.put_asset(Actor::local(&admin(&c, "bot").await), &DATABASE_SERVICES, service("p4ssw0rd")).await.unwrap();
        assert_eq!(svc["connection"]["config"]["authType"]["password"], json!("p4ssw0rd"));
        let (changed, _) = c.put_asset(Actor::local(&admin(&c, "bot").await), &DATABASE_SERVICES, service("n3wpass")).await.unwrap();
        assert_eq!(changed["version"], json!(0.2));
        let raw = store.entity_by_fqn("databaseService", "vault").await.unwrap().unwrap().json;
        assert!(!raw.contains("n3wpass") && !raw.contains("p4ssw0rd") && raw.contains("sealed:"), "{raw}");
        let id = svc["id"].as_str().unwrap();
        for (_, stored) in store.entity_versions(id).await.unwrap() {
            assert!(!stored.contains("p4ssw0rd") && !stored.contains("n3wpass"), "{stored}");
        }
        let read = c.get_by_name(&ferrometa_catalog::kinds::DATABASE_SERVICE, "vault", Include::NonDeleted).await.unwrap();
        assert_eq!((read["connection"]["config"]["authType"]["password"].clone(), read["connection"]["config"]["username"].clone()), (json!("n3wpass"), json!("u")));
        let history = c.versions(&ferrometa_catalog::kinds::DATABASE_SERVICE, id).await.unwrap();
        assert!(history["versions"][1].as_str().unwrap().contains("p4ssw0rd"), "versions read back in clear");
        let (same, _) = c.put_asset(Actor::local(&admin(&c, "bot").await), &DATABASE_SERVICES, service("n3wpass")).await.unwrap();
        assert_eq!(same["version"], json!(0.2), "the same secret again is no change");
    }
}
