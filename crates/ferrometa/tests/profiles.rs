//! Issue 16: what the profiler workflow writes and reads, through HTTP with real tokens — the
//! settings it asks for (admins and bots only), table, column and system profiles over time,
//! sample data and profiler configuration, each judged by the data-profile and sample-data
//! operations of the seeded policies; bad input is a 400 in OpenMetadata's shape.

mod common;

use common::{person, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: &str = "svc.db.sch.orders";

fn profile(ts: i64, rows: i64, email_nulls: i64) -> Value {
    json!({
        "tableProfile": {"timestamp": ts, "rowCount": rows, "columnCount": 2},
        "columnProfile": [{"name": "email", "timestamp": ts, "nullCount": email_nulls, "valuesCount": rows - email_nulls}],
        "systemProfile": [{"timestamp": ts, "operation": "INSERT", "rowsAffected": rows}, {"timestamp": ts, "operation": "DELETE", "rowsAffected": 0}],
    })
}

fn message(answer: &Value) -> String {
    answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string())
}

#[tokio::test]
async fn profiles_are_kept_over_time_and_read_by_range_and_latest() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let id = shop_tables(&s, &bot, &["orders"]).await["orders"].clone();
    for (ts, rows, nulls) in [(1_000, 10, 1), (2_000, 12, 2), (3_000, 15, 0)] {
        let (status, table) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfile"), Some(&bot), Some(profile(ts, rows, nulls))).await;
        assert_eq!(status, StatusCode::OK, "{table}");
        assert_eq!(table["profile"]["rowCount"], json!(rows), "the answer carries the latest profile");
    }
    let (status, latest) = s.get(&format!("/api/v1/tables/{T}/tableProfile/latest"), Some(&bot)).await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    let email = latest["columns"].as_array().unwrap().iter().find(|c| c["name"] == "email").unwrap();
    assert_eq!((latest["profile"]["rowCount"].clone(), email["profile"]["nullCount"].clone()), (json!(15), json!(0)));

    let (_, range) = s.get(&format!("/api/v1/tables/{T}/tableProfile?startTs=1500&endTs=3000"), Some(&bot)).await;
    let rows: Vec<Value> = range["data"].as_array().unwrap().iter().map(|p| p["rowCount"].clone()).collect();
    assert_eq!((rows, range["paging"]["total"].clone()), (vec![json!(15), json!(12)], json!(2)), "newest first, within the range");
    let (_, columns) = s.get(&format!("/api/v1/tables/{T}.email/columnProfile?startTs=0&endTs=1500"), Some(&bot)).await;
    assert_eq!(columns["data"][0]["nullCount"], json!(1), "a column's series by its FQN: {columns}");
    let (_, system) = s.get(&format!("/api/v1/tables/{T}/systemProfile?startTs=3000&endTs=3000"), Some(&bot)).await;
    assert_eq!(system["paging"]["total"], json!(2), "one system profile per operation: {system}");

    let (status, answer) = s.get(&format!("/api/v1/tables/{T}/tableProfile?startTs=5"), Some(&bot)).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "startTs and endTs are required (epoch milliseconds)".to_string()));
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfile"), Some(&bot), Some(json!({"tableProfile": {"rowCount": 1}}))).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "tableProfile: timestamp is required (epoch milliseconds)".to_string()));
    let unknown = json!({"tableProfile": {"timestamp": 1}, "columnProfile": [{"name": "nope", "timestamp": 1}]});
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfile"), Some(&bot), Some(unknown)).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "Invalid column name nope".to_string()));

    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{T}/table/3000/profile"), Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, latest) = s.get(&format!("/api/v1/tables/{T}/tableProfile/latest"), Some(&bot)).await;
    assert_eq!(latest["profile"]["rowCount"], json!(12), "the deleted run is gone");

    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{id}?hardDelete=true"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    shop_tables(&s, &bot, &["orders"]).await;
    let (_, fresh) = s.get(&format!("/api/v1/tables/{T}/tableProfile/latest"), Some(&bot)).await;
    let (_, columns) = s.get(&format!("/api/v1/tables/{T}.email/columnProfile?startTs=0&endTs=9000"), Some(&bot)).await;
    assert_eq!((fresh.get("profile").cloned(), columns["paging"]["total"].clone()), (None, json!(0)), "a hard delete takes the table's and its columns' series");
    s.stop().await;
}

#[tokio::test]
async fn sample_data_and_profiler_config_follow_their_operations() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let id = shop_tables(&s, &bot, &["orders"]).await["orders"].clone();
    let sample = json!({"columns": ["id", "email"], "rows": [[1, "a@x.org"], [2, null]]});
    let (status, table) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/sampleData"), Some(&bot), Some(sample.clone())).await;
    assert_eq!((status, table["sampleData"].clone()), (StatusCode::OK, sample.clone()), "{table}");
    let (_, read) = s.get(&format!("/api/v1/tables/{id}/sampleData"), Some(&bot)).await;
    assert_eq!(read["sampleData"], sample);
    let (_, plain) = s.get(&format!("/api/v1/tables/{id}"), Some(&bot)).await;
    assert_eq!(plain.get("sampleData"), None, "not part of the table's own document");
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/sampleData"), Some(&bot), Some(json!({"columns": ["id"], "rows": [[1, 2]]}))).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "sampleData: row 0 has 2 values for 1 columns".to_string()));

    let config = json!({"profileSample": 50.0, "profileSampleType": "PERCENTAGE", "excludeColumns": ["email"]});
    let (status, table) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfilerConfig"), Some(&bot), Some(config.clone())).await;
    assert_eq!((status, table["tableProfilerConfig"].clone()), (StatusCode::OK, config.clone()), "{table}");
    let (_, read) = s.get(&format!("/api/v1/tables/{id}/tableProfilerConfig"), Some(&bot)).await;
    assert_eq!(read["tableProfilerConfig"], config);
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfilerConfig"), Some(&bot), Some(json!({"includeColumns": [{"columnName": "nope"}]}))).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "Invalid column name nope".to_string()));

    // A data consumer reads sample data and profiles (DataConsumer has ViewAll) but writes none.
    let consumer = person(&s, &admin, "carol", json!({})).await;
    assert_eq!(s.get(&format!("/api/v1/tables/{id}/sampleData"), Some(&consumer.token)).await.0, StatusCode::OK);
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/sampleData"), Some(&consumer.token), Some(sample.clone())).await;
    assert_eq!((status, message(&answer)), (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='carol'} operations [EditSampleData] not allowed".to_string()));
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfile"), Some(&consumer.token), Some(profile(1, 1, 0))).await;
    assert_eq!((status, message(&answer)), (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='carol'} operations [EditDataProfile] not allowed".to_string()));

    // A policy that denies ViewSampleData hides the rows, not the table.
    let (status, _) = s.call(Method::POST, "/api/v1/policies", Some(&admin), Some(json!({"name": "NoSamples", "rules": [{"name": "no-samples", "effect": "deny", "operations": ["ViewSampleData"], "resources": ["table"]}]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, role) = s.call(Method::POST, "/api/v1/roles", Some(&admin), Some(json!({"name": "NoSamples", "policies": ["NoSamples"]}))).await;
    let fenced = person(&s, &admin, "fenced", json!({"roles": [role["id"]]})).await;
    assert_eq!(s.get(&format!("/api/v1/tables/{id}/sampleData"), Some(&fenced.token)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&format!("/api/v1/tables/{id}"), Some(&fenced.token)).await.0, StatusCode::OK);
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{id}/sampleData"), Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = s.get(&format!("/api/v1/tables/{id}/sampleData"), Some(&bot)).await;
    assert_eq!(read.get("sampleData"), None, "deleted");
    s.stop().await;
}

#[tokio::test]
async fn settings_are_read_by_admins_and_bots_and_written_by_admins() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let (status, setting) = s.get("/api/v1/system/settings/profilerConfiguration", Some(&bot)).await;
    assert_eq!((status, setting), (StatusCode::OK, json!({"config_type": "profilerConfiguration", "config_value": {"metricConfiguration": []}})));
    let consumer = person(&s, &admin, "carol", json!({})).await;
    let (status, answer) = s.get("/api/v1/system/settings/profilerConfiguration", Some(&consumer.token)).await;
    assert_eq!((status, message(&answer)), (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='carol'} is not admin".to_string()));

    let value = json!({"metricConfiguration": [{"dataType": "INT", "metrics": ["mean", "max"], "disabled": false}]});
    let put = json!({"config_type": "profilerConfiguration", "config_value": value});
    assert_eq!(s.call(Method::PUT, "/api/v1/system/settings", Some(&bot), Some(put.clone())).await.0, StatusCode::FORBIDDEN, "bots read, admins write");
    assert_eq!(s.call(Method::PUT, "/api/v1/system/settings", Some(&admin), Some(put)).await.0, StatusCode::OK);
    let (_, setting) = s.get("/api/v1/system/settings/profilerConfiguration", Some(&bot)).await;
    assert_eq!(setting["config_value"], value);
    let (status, _) = s.call(Method::PUT, "/api/v1/system/settings", Some(&admin), Some(json!({"config_type": "profilerConfiguration", "config_value": {"metrics": 1}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "checked against the schema");
    let (status, answer) = s.get("/api/v1/system/settings/noSuchSetting", Some(&admin)).await;
    assert_eq!((status, message(&answer)), (StatusCode::NOT_FOUND, "Setting noSuchSetting not found".to_string()));
    s.stop().await;
}

#[tokio::test]
async fn profiles_older_than_the_retention_go_when_newer_ones_arrive() {
    let s = TestServer::start(&[("FERROMETA_PROFILE_RETENTION_DAYS", "1")]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let id = shop_tables(&s, &bot, &["orders"]).await["orders"].clone();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for ts in [now - 3 * 86_400_000, now] {
        let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/tableProfile"), Some(&bot), Some(profile(ts, 1, 0))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, range) = s.get(&format!("/api/v1/tables/{T}/tableProfile?startTs=0&endTs={now}"), Some(&bot)).await;
    assert_eq!(range["data"].as_array().unwrap().iter().map(|p| p["timestamp"].clone()).collect::<Vec<_>>(), vec![json!(now)], "the three-day-old run is gone");
    s.stop().await;
}

#[tokio::test]
async fn a_dbt_data_model_is_a_new_version_and_keeps_its_sql() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let id = shop_tables(&s, &bot, &["orders"]).await["orders"].clone();
    let model = json!({"modelType": "DBT", "resourceType": "model", "sql": "select 1", "rawSql": "select {{ x }}", "path": "models/orders.sql", "columns": [{"name": "id", "dataType": "INT"}]});
    let (status, table) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/dataModel"), Some(&bot), Some(model)).await;
    assert_eq!((status, table["dataModel"]["sql"].clone(), table["version"].clone()), (StatusCode::OK, json!("select 1"), json!(0.2)), "{table}");
    let (_, table) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/dataModel"), Some(&bot), Some(json!({"modelType": "DBT", "sql": "", "description": "d"}))).await;
    assert_eq!((table["dataModel"]["sql"].clone(), table["dataModel"]["rawSql"].clone()), (json!("select 1"), json!("select {{ x }}")), "blank SQL keeps the stored SQL");
    let consumer = person(&s, &admin, "carol", json!({})).await;
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{id}/dataModel"), Some(&consumer.token), Some(json!({"modelType": "DBT"}))).await;
    assert_eq!((status, message(&answer)), (StatusCode::FORBIDDEN, "Principal: CatalogPrincipal{name='carol'} operations [EditAll] not allowed".to_string()));
    s.stop().await;
}
