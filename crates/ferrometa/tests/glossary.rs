//! Issue 15: glossaries and glossary terms through HTTP — a term's FQN under its glossary and
//! parent term, related terms and reviewers as references, synonyms, a term as a tag label of
//! source `Glossary` on a table (a missing one refused), list filters, recursive delete; a Data
//! Consumer creates none.

mod common;

use common::{person, reader, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn put(s: &TestServer, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = s.call(Method::PUT, path, Some(token), Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {answer}");
    answer
}

async fn glossary_terms_label_assets(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(s, &bot, &["orders"]).await;
    let steward = person(s, &admin, "gina", json!({})).await;

    let glossary = put(s, &admin, "/api/v1/glossaries", json!({"name": "Business", "description": "Terms of the business", "reviewers": [{"id": steward.id, "type": "user"}]})).await;
    assert_eq!((glossary["fullyQualifiedName"].clone(), glossary["reviewers"][0]["name"].clone()), (json!("Business"), json!("gina")), "{glossary}");
    let revenue = put(s, &admin, "/api/v1/glossaryTerms", json!({"glossary": "Business", "name": "Revenue", "description": "Money in", "synonyms": ["Income"]})).await;
    assert_eq!((revenue["fullyQualifiedName"].clone(), revenue["glossary"]["name"].clone(), revenue["synonyms"].clone()), (json!("Business.Revenue"), json!("Business"), json!(["Income"])));
    let net = put(s, &admin, "/api/v1/glossaryTerms", json!({"glossary": "Business", "parent": "Business.Revenue", "name": "Net revenue", "description": "After costs", "relatedTerms": ["Business.Revenue"]})).await;
    assert_eq!(net["fullyQualifiedName"], json!("Business.Revenue.Net revenue"), "{net}");
    assert_eq!((net["parent"]["name"].clone(), net["relatedTerms"][0]["fullyQualifiedName"].clone()), (json!("Revenue"), json!("Business.Revenue")));
    let (status, wrong) = s.call(Method::PUT, "/api/v1/glossaryTerms", Some(&admin), Some(json!({"glossary": "Other", "parent": "Business.Revenue", "name": "x", "description": "x"}))).await;
    assert_eq!((status, wrong["message"].clone()), (StatusCode::BAD_REQUEST, json!("parent Business.Revenue is not in the glossary Other")));

    let (_, under) = s.get("/api/v1/glossaryTerms?glossary=Business", Some(&admin)).await;
    assert_eq!(under["paging"]["total"], json!(2), "{under}");
    let (_, children) = s.get("/api/v1/glossaryTerms?parent=Business.Revenue", Some(&admin)).await;
    assert_eq!(children["data"][0]["name"], json!("Net revenue"), "{children}");

    let label = json!([{"op": "add", "path": "/tags/0", "value": {"tagFQN": "Business.Revenue", "source": "Glossary", "labelType": "Manual", "state": "Confirmed"}}]);
    let (status, table) = s.patch(&format!("/api/v1/tables/{}", ids["orders"]), &admin, label).await;
    assert_eq!(status, StatusCode::OK, "{table}");
    assert_eq!((table["tags"][0]["tagFQN"].clone(), table["tags"][0]["name"].clone(), table["tags"][0]["description"].clone()), (json!("Business.Revenue"), json!("Revenue"), json!("Money in")));
    let missing = json!([{"op": "add", "path": "/tags/1", "value": {"tagFQN": "Business.Nothing", "source": "Glossary", "labelType": "Manual", "state": "Confirmed"}}]);
    let (status, answer) = s.patch(&format!("/api/v1/tables/{}", ids["orders"]), &admin, missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer["message"].as_str().unwrap_or_default().contains("glossaryTerm instance for Business.Nothing not found"), "{answer}");

    let id = glossary["id"].as_str().unwrap();
    assert_eq!(s.call(Method::DELETE, &format!("/api/v1/glossaries/{id}"), Some(&admin), None).await.0, StatusCode::BAD_REQUEST, "not empty");
    assert_eq!(s.call(Method::DELETE, &format!("/api/v1/glossaries/{id}?recursive=true&hardDelete=true"), Some(&admin), None).await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/glossaryTerms/name/Business.Revenue", Some(&admin)).await.0, StatusCode::NOT_FOUND);
    let (_, table) = s.get(&format!("/api/v1/tables/{}?fields=tags", ids["orders"]), Some(&admin)).await;
    assert_eq!(table["tags"], json!([]), "a deleted term labels nothing: {table}");

    let consumer = reader(s, &admin).await;
    let (status, _) = s.call(Method::PUT, "/api/v1/glossaries", Some(&consumer), Some(json!({"name": "Mine", "description": "x"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a Data Consumer creates no glossary");
}

on_both_backends!(glossary_terms_label_assets_on_sqlite, glossary_terms_label_assets_on_postgres, glossary_terms_label_assets);
