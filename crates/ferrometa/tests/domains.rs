//! Issue 15: domains (nested) and data products through HTTP — an asset names its domain and
//! data products (by FQN on create, by reference in a patch; a missing one is a 404), a domain's
//! and a data product's `assets` are the assets naming them, `/assets/add` and `/remove` set and
//! clear that on each asset (judged as that change of the asset), and the domain-only role sees
//! only its domain's assets.

mod common;

use common::{person, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn put(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = s.call(Method::PUT, path, Some(token), Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

fn asset_names(holder: &Value) -> Vec<String> {
    let mut names: Vec<String> = holder["assets"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

async fn domains_hold_assets(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(s, &bot, &["orders", "customers"]).await;
    person(s, &admin, "dora", json!({})).await;

    let sales = put(s, &admin, "/api/v1/domains", json!({"name": "Sales", "domainType": "Aggregate", "description": "Selling", "experts": ["dora"]})).await;
    assert_eq!(sales["experts"][0]["name"], json!("dora"), "{sales}");
    let emea = put(s, &admin, "/api/v1/domains", json!({"name": "EMEA", "domainType": "Source-aligned", "description": "Europe", "parent": "Sales"})).await;
    assert_eq!((emea["fullyQualifiedName"].clone(), emea["parent"]["name"].clone()), (json!("Sales.EMEA"), json!("Sales")));
    let product = put(s, &admin, "/api/v1/dataProducts", json!({"name": "Revenue", "description": "Revenue data", "domain": "Sales"})).await;
    assert_eq!(product["domain"]["name"], json!("Sales"), "{product}");

    let created = put(s, &bot, "/api/v1/tables", json!({"name": "invoices", "databaseSchema": "svc.db.sch", "columns": [{"name": "id", "dataType": "INT"}], "domain": "Sales", "dataProducts": ["Revenue"]})).await;
    assert_eq!((created["domain"]["name"].clone(), created["dataProducts"][0]["name"].clone()), (json!("Sales"), json!("Revenue")), "{created}");
    let (status, answer) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(json!({"name": "x", "databaseSchema": "svc.db.sch", "columns": [], "domain": "Nowhere"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    let add = json!({"assets": [{"id": ids["orders"], "type": "table"}, {"id": ids["customers"], "type": "table"}]});
    let (status, result) = s.call(Method::PUT, "/api/v1/domains/Sales/assets/add", Some(&admin), Some(add)).await;
    assert_eq!((status, result["numberOfRowsPassed"].clone()), (StatusCode::OK, json!(2)), "{result}");
    let (_, read) = s.get("/api/v1/domains/name/Sales?fields=assets", Some(&admin)).await;
    assert_eq!(asset_names(&read), ["customers", "invoices", "orders"], "{read}");
    let (_, orders) = s.get(&format!("/api/v1/tables/{}?fields=domain", ids["orders"]), Some(&admin)).await;
    assert_eq!(orders["domain"]["name"], json!("Sales"), "{orders}");

    let remove = json!({"assets": [{"id": ids["customers"], "type": "table"}]});
    let (status, _) = s.call(Method::PUT, "/api/v1/domains/Sales/assets/remove", Some(&admin), Some(remove)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = s.get("/api/v1/domains/name/Sales?fields=assets", Some(&admin)).await;
    assert_eq!(asset_names(&read), ["invoices", "orders"]);
    let (_, product) = s.get("/api/v1/dataProducts/name/Revenue?fields=assets", Some(&admin)).await;
    assert_eq!(asset_names(&product), ["invoices"], "{product}");

    // A patch moves an asset to another domain.
    let emea_ref = json!({"id": emea["id"], "type": "domain"});
    let (status, moved) = s.patch(&format!("/api/v1/tables/{}", ids["orders"]), &admin, json!([{"op": "replace", "path": "/domain", "value": emea_ref}])).await;
    assert_eq!((status, moved["domain"]["fullyQualifiedName"].clone()), (StatusCode::OK, json!("Sales.EMEA")), "{moved}");
    let (_, read) = s.get("/api/v1/domains/name/Sales?fields=assets", Some(&admin)).await;
    assert_eq!(asset_names(&read), ["invoices"]);

    // Only someone who may edit the asset moves it.
    let consumer = common::reader(s, &admin).await;
    let (status, _) = s.call(Method::PUT, "/api/v1/domains/Sales/assets/add", Some(&consumer), Some(json!({"assets": [{"id": ids["customers"], "type": "table"}]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call(Method::PUT, "/api/v1/domains", Some(&admin), Some(json!({"name": "Bad", "domainType": "Sideways", "description": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

on_both_backends!(domains_hold_assets_on_sqlite, domains_hold_assets_on_postgres, domains_hold_assets);
