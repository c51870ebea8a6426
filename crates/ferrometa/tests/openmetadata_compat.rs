//! Issue 15: what the official client relies on in endpoints that exist. Boolean strings on
//! create bodies, OpenMetadata 1.6's seeded classifications and tags, requested list fields
//! answered as `[]` when empty, the user and team search indexes, dotted user names and the
//! `isBot` filter.

mod common;

use common::{create_table, hierarchy};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn booleans_and_seeded_tags(s: &TestServer) {
    let admin = s.admin_token().await;
    // The 1.6 client sends `mutuallyExclusive: "false"` (OpenMetadata reads it as a boolean).
    let create = json!({"name": "dbt_tags", "description": "from dbt", "mutuallyExclusive": "false"});
    let (status, c) = s.call(Method::PUT, "/api/v1/classifications", Some(&admin), Some(create)).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["mutuallyExclusive"], json!(false));
    let create = json!({"name": "gold", "description": "x", "classification": "dbt_tags", "mutuallyExclusive": "TRUE"});
    let (status, t) = s.call(Method::PUT, "/api/v1/tags", Some(&admin), Some(create)).await;
    assert_eq!((status, t["mutuallyExclusive"].clone()), (StatusCode::CREATED, json!(true)), "{t}");
    let create = json!({"name": "odd", "description": "x", "mutuallyExclusive": "maybe"});
    let answer = s.call(Method::PUT, "/api/v1/classifications", Some(&admin), Some(create)).await;
    assert_eq!(answer, (StatusCode::BAD_REQUEST, json!({"code": 400, "message": "mutuallyExclusive must be a boolean"})));

    // OpenMetadata 1.6's classifications are there on a new install, system-provided.
    for (fqn, classification) in [("PII.Sensitive", "PII"), ("PII.None", "PII"), ("Tier.Tier1", "Tier"), ("Tier.Tier5", "Tier"), ("PersonalData.SpecialCategory", "PersonalData"), ("Certification.Gold", "Certification")] {
        let (status, tag) = s.get(&format!("/api/v1/tags/name/{fqn}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{fqn}: {tag}");
        assert_eq!((tag["classification"]["name"].clone(), tag["provider"].clone()), (json!(classification), json!("system")), "{fqn}");
    }
    let (_, pii) = s.get("/api/v1/classifications/name/PII", Some(&admin)).await;
    assert_eq!((pii["mutuallyExclusive"].clone(), pii["provider"].clone()), (json!(true), json!("system")), "{pii}");
    let (_, tiers) = s.get("/api/v1/tags?parent=Tier", Some(&admin)).await;
    assert_eq!(tiers["paging"]["total"], json!(5), "{tiers}");

    // An asset carrying them ingests.
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(s, &bot).await;
    let mut table = create_table("people");
    table["tags"] = json!([{"tagFQN": "Tier.Tier1", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]);
    table["columns"][1]["tags"] = json!([{"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Automated", "state": "Suggested"}]);
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(table)).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["columns"][1]["tags"][0]["name"], json!("Sensitive"));
}

on_both_backends!(boolean_strings_and_seeded_classifications, boolean_strings_and_seeded_classifications_on_postgres, booleans_and_seeded_tags);

#[tokio::test]
async fn seeding_twice_keeps_one_of_each() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    let admin = s.admin_token().await;
    let (_, before) = s.get("/api/v1/tags?limit=100", Some(&admin)).await;
    s.stop().await;
    let s = TestServer::start_in(dir.path(), &[]).await;
    let admin = s.admin_token().await;
    let (_, after) = s.get("/api/v1/tags?limit=100", Some(&admin)).await;
    assert_eq!(after["paging"]["total"], before["paging"]["total"]);
    assert_eq!(after["paging"]["total"], json!(13), "PII 3, PersonalData 2, Tier 5, Certification 3");
    s.stop().await;
}

#[tokio::test]
async fn requested_list_fields_are_empty_lists() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(&s, &bot).await;
    let (_, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table("plain"))).await;
    let id = t["id"].as_str().unwrap();
    let (_, read) = s.get(&format!("/api/v1/tables/{id}?fields=tags,owners,followers"), Some(&admin)).await;
    assert_eq!((read["tags"].clone(), read["owners"].clone(), read["followers"].clone()), (json!([]), json!([]), json!([])), "{read}");
    assert!(read.get("dataProducts").is_none(), "not asked for: {read}");
    let (_, all) = s.get("/api/v1/tables/name/warehouse.sales.public.plain?fields=*", Some(&admin)).await;
    assert_eq!(all["dataProducts"], json!([]));
    let (_, listed) = s.get("/api/v1/tables?fields=tags&database=warehouse.sales", Some(&admin)).await;
    assert_eq!(listed["data"][0]["tags"], json!([]));
    // The client's `patch_tags` on an untagged entity: `add /tags/0`.
    let add = json!([{"op": "add", "path": "/tags/0", "value": {"tagFQN": "PII.NonSensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}}]);
    let (status, patched) = s.patch(&format!("/api/v1/tables/{id}"), &bot, add).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["tags"][0]["tagFQN"], json!("PII.NonSensitive"));
    s.stop().await;
}

fn names(page: &Value) -> Vec<String> {
    let hits = page["hits"]["hits"].as_array().or(page["data"].as_array()).cloned().unwrap_or_default();
    hits.iter().map(|h| h.get("_source").unwrap_or(h)["name"].as_str().unwrap_or_default().to_string()).collect()
}

on_both_backends!(users_by_dotted_name_by_bot_flag_and_by_search, users_by_dotted_name_by_bot_flag_and_by_search_on_postgres, users_and_search);

async fn users_and_search(s: &TestServer) {
    let admin = s.admin_token().await;
    let (status, john) = s.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"name": "john.doe", "email": "john.doe@example.com"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{john}");
    assert_eq!(john["fullyQualifiedName"], json!("\"john.doe\""));
    for path in ["/api/v1/users/name/john.doe", "/api/v1/users/name/%22john.doe%22"] {
        let (status, found) = s.get(path, Some(&admin)).await;
        assert_eq!((status, found["id"].clone()), (StatusCode::OK, john["id"].clone()), "{path}: {found}");
    }

    let (_, bots) = s.get("/api/v1/users?isBot=true&limit=100", Some(&admin)).await;
    assert!(names(&bots).contains(&"ingestion-bot".to_string()), "{bots}");
    assert!(bots["data"].as_array().unwrap().iter().all(|u| u["isBot"] == json!(true)), "{bots}");
    assert_eq!(bots["paging"]["total"], json!(bots["data"].as_array().unwrap().len()));
    let (_, people) = s.get("/api/v1/users?isBot=false&limit=1", Some(&admin)).await;
    assert_eq!(people["paging"]["total"], json!(2), "admin and john.doe: {people}");
    let after = people["paging"]["after"].as_str().expect("a second page");
    let (_, second) = s.get(&format!("/api/v1/users?isBot=false&limit=1&after={after}"), Some(&admin)).await;
    let mut both = [names(&people), names(&second)].concat();
    both.sort();
    assert_eq!(both, ["admin", "john.doe"]);
    let answer = s.get("/api/v1/users?isBot=perhaps", Some(&admin)).await;
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(answer.1["code"], json!(400));

    // The client resolves owners through these indexes.
    let (status, found) = s.get("/api/v1/search/query?q=john&index=user_search_index", Some(&admin)).await;
    assert_eq!((status, names(&found)), (StatusCode::OK, vec!["john.doe".to_string()]), "{found}");
    assert_eq!(found["hits"]["hits"][0]["_index"], json!("user_search_index"));
    let (status, teams) = s.get("/api/v1/search/query?q=Organization&index=team_search_index", Some(&admin)).await;
    assert_eq!((status, names(&teams)), (StatusCode::OK, vec!["Organization".to_string()]), "{teams}");
}

/// `PUT /<collection>/bulk` (what the 2.0 client ingests with): each request on its own, the
/// failures listed without stopping the batch, a re-run changing no version.
async fn bulk_round_trip(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(s, &bot).await;
    let path = "/api/v1/tables/bulk?async=false&overrideMetadata=false";
    let batch = json!([create_table("a"), create_table("b"), {"name": "broken", "databaseSchema": "warehouse.sales.nope", "columns": []}, {"name": 7}]);
    let (status, result) = s.call(Method::PUT, path, Some(&bot), Some(batch.clone())).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["status"], json!("partialSuccess"));
    assert_eq!((result["numberOfRowsProcessed"].clone(), result["numberOfRowsPassed"].clone(), result["numberOfRowsFailed"].clone()), (json!(4), json!(2), json!(2)));
    assert_eq!(result["successRequest"][0], json!({"request": "warehouse.sales.public.a", "message": "Success", "status": 201}));
    assert_eq!(result["failedRequest"][0]["status"], json!(404), "{result}");
    assert_eq!(result["failedRequest"][1]["message"], json!("[columns must not be null]"));
    let (_, a) = s.get("/api/v1/tables/name/warehouse.sales.public.a", Some(&admin)).await;
    assert_eq!(a["version"], json!(0.1));

    let (_, again) = s.call(Method::PUT, path, Some(&bot), Some(json!([create_table("a"), create_table("b")]))).await;
    assert_eq!((again["status"].clone(), again["successRequest"][1]["status"].clone()), (json!("success"), json!(200)));
    let (_, a) = s.get("/api/v1/tables/name/warehouse.sales.public.a", Some(&admin)).await;
    assert_eq!(a["version"], json!(0.1), "an unchanged re-run is no new version");
    // The client's `sourceHash` is its own bookkeeping: stored, never a version of its own.
    let mut rehashed = create_table("a");
    rehashed["sourceHash"] = json!("def456");
    let (_, again) = s.call(Method::PUT, path, Some(&bot), Some(json!([rehashed]))).await;
    assert_eq!(again["status"], json!("success"));
    let (_, a) = s.get("/api/v1/tables/name/warehouse.sales.public.a", Some(&admin)).await;
    assert_eq!((a["version"].clone(), a["sourceHash"].clone()), (json!(0.1), json!("def456")));

    // Each request is authorized as a PUT of its own: a reader may write none of them.
    let rita = common::reader(s, &admin).await;
    let (status, refused) = s.call(Method::PUT, path, Some(&rita), Some(json!([create_table("c")]))).await;
    assert_eq!((status, refused["status"].clone(), refused["failedRequest"][0]["status"].clone()), (StatusCode::OK, json!("failure"), json!(403)));
    let answer = s.call(Method::PUT, path, Some(&bot), Some(json!({"not": "a list"}))).await;
    assert_eq!((answer.0, answer.1["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)));
}

on_both_backends!(bulk_create_or_update, bulk_create_or_update_on_postgres, bulk_round_trip);
