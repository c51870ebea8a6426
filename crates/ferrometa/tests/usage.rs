//! Issue 16: what the usage workflow writes, through HTTP with real tokens — queries named by
//! their checksum with the tables they were used in, their users and runners; daily usage
//! summarised on the table and ranked by `compute.percentile`; a table's joins added up over 30
//! days. Writes need `EditUsage` / `EditAll` (a Data Consumer has neither), usage reads
//! `ViewUsage`; bad input is a 400 in OpenMetadata's shape.

mod common;

use common::{person, reader, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn message(answer: &Value) -> String {
    answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string())
}

/// Today (UTC) as OpenMetadata writes a day.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

async fn usage_is_summarised_and_ranked(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(s, &bot, &["orders", "customers", "items"]).await;
    let day = today();
    for (table, count) in [("orders", 10), ("customers", 4), ("items", 1)] {
        let (status, answer) = s.call(Method::POST, &format!("/api/v1/usage/table/{}", ids[table]), Some(&bot), Some(json!({"date": day, "count": count}))).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let (status, added) = s.call(Method::PUT, &format!("/api/v1/usage/table/{}", ids["items"]), Some(&bot), Some(json!({"date": day, "count": 2}))).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let (status, _) = s.call(Method::POST, &format!("/api/v1/usage/compute.percentile/table/{day}"), Some(&bot), None).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, orders) = s.get("/api/v1/tables/name/svc.db.sch.orders?fields=usageSummary", Some(&admin)).await;
    let summary = &orders["usageSummary"];
    assert_eq!((summary["date"].clone(), summary["dailyStats"]["count"].clone(), summary["dailyStats"]["percentileRank"].clone()), (json!(day), json!(10), json!(100.0)), "{orders}");
    assert_eq!((summary["weeklyStats"]["count"].clone(), summary["monthlyStats"]["count"].clone()), (json!(10), json!(10)));
    assert_eq!(orders["version"], json!(0.1), "usage is no version of the table");
    let (_, items) = s.get("/api/v1/tables/name/svc.db.sch.items?fields=usageSummary", Some(&admin)).await;
    assert_eq!((items["usageSummary"]["dailyStats"]["count"].clone(), items["usageSummary"]["dailyStats"]["percentileRank"].clone()), (json!(3), json!(0.0)), "PUT adds to the day: {items}");
    let (_, read) = s.get(&format!("/api/v1/usage/table/{}?date={day}&days=7", ids["customers"]), Some(&admin)).await;
    assert_eq!((read["entity"]["name"].clone(), read["usage"][0]["dailyStats"]["count"].clone()), (json!("customers"), json!(4)), "{read}");
}

on_both_backends!(usage_is_summarised_and_ranked_on_sqlite, usage_is_summarised_and_ranked_on_postgres, usage_is_summarised_and_ranked);

async fn queries_and_joins(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(s, &bot, &["orders", "customers"]).await;
    person(s, &admin, "quinn", json!({})).await;

    let sql = "select id from orders";
    let (status, query) = s.call(Method::PUT, "/api/v1/queries", Some(&bot), Some(json!({"query": sql, "service": "svc", "dialect": "mysql", "users": ["quinn"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{query}");
    let name = query["name"].as_str().unwrap().to_string();
    // md5("select id from orders"), as OpenMetadata's client computes it to find the query.
    assert_eq!((name.as_str(), query["checksum"].clone(), query["service"]["name"].clone()), ("60062a176bcb94f8ed044a71240ee985", json!(name), json!("svc")), "{query}");
    assert!(query.get("deleted").is_none() && query.get("dialect").is_none(), "only the fields of OpenMetadata's Query: {query}");
    let id = query["id"].as_str().unwrap();
    let used_in = json!([{"id": ids["orders"], "type": "table"}]);
    for _ in 0..2 {
        let (status, answer) = s.call(Method::PUT, &format!("/api/v1/queries/{id}/usage"), Some(&bot), Some(used_in.clone())).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, answer) = s.call(Method::PUT, &format!("/api/v1/queries/{id}/usedBy"), Some(&bot), Some(json!(["airflow"]))).await;
    assert_eq!(answer["usedBy"], json!(["airflow"]));
    let (_, read) = s.get(&format!("/api/v1/queries/name/{name}?fields=queryUsedIn,users"), Some(&admin)).await;
    assert_eq!(read["queryUsedIn"].as_array().map(Vec::len), Some(1), "once, however often it is reported: {read}");
    assert_eq!((read["queryUsedIn"][0]["name"].clone(), read["users"][0]["name"].clone()), (json!("orders"), json!("quinn")));

    let joins = json!({"startDate": today(), "dayCount": 1, "columnJoins": [{"columnName": "id", "joinedWith": [{"fullyQualifiedName": "svc.db.sch.customers.id", "joinCount": 2}]}], "directTableJoins": []});
    for _ in 0..2 {
        let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{}/joins", ids["orders"]), Some(&bot), Some(joins.clone())).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, orders) = s.get("/api/v1/tables/name/svc.db.sch.orders?fields=joins", Some(&admin)).await;
    assert_eq!(orders["joins"]["columnJoins"][0]["joinedWith"][0]["joinCount"], json!(2), "a day reported twice counts once: {orders}");
    assert_eq!(orders["joins"]["dayCount"], json!(30));
}

on_both_backends!(queries_and_joins_on_sqlite, queries_and_joins_on_postgres, queries_and_joins);

#[tokio::test]
async fn consumers_cannot_write_usage_and_bad_input_is_a_400() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(&s, &bot, &["orders"]).await;
    let consumer = reader(&s, &admin).await;
    let orders = &ids["orders"];
    let day = today();

    let (status, answer) = s.call(Method::POST, &format!("/api/v1/usage/table/{orders}"), Some(&consumer), Some(json!({"date": day, "count": 1}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(message(&answer).contains("EditUsage"), "{answer}");
    let (status, _) = s.call(Method::POST, &format!("/api/v1/usage/compute.percentile/table/{day}"), Some(&consumer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "ranking is for admins and bots");
    let (status, _) = s.get(&format!("/api/v1/usage/table/{orders}"), Some(&consumer)).await;
    assert_eq!(status, StatusCode::OK, "but reads usage (ViewAll)");
    let (status, _) = s.call(Method::PUT, "/api/v1/queries", Some(&consumer), Some(json!({"query": "select 1", "service": "svc"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "and creates no query");

    let cases = [
        (format!("/api/v1/usage/table/{orders}"), json!({"date": "03/12/2026", "count": 1}), "date must be a day as YYYY-MM-DD"),
        (format!("/api/v1/usage/table/{orders}"), json!({"date": day, "count": -1}), "count"),
        (format!("/api/v1/usage/pipeline/{orders}"), json!({"date": day, "count": 1}), "Usage is not kept for entity type pipeline"),
        ("/api/v1/usage/compute.percentile/table/tomorrow".to_string(), json!(null), "date must be a day"),
    ];
    for (path, body, expected) in cases {
        let body = if body.is_null() { None } else { Some(body) };
        let (status, answer) = s.call(Method::POST, &path, Some(&bot), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        assert!(message(&answer).contains(expected), "{path}: {answer}");
    }
    let bad_joins = [
        (json!({"columnJoins": [{"columnName": "nope", "joinedWith": []}]}), "Invalid column name nope"),
        (json!({"columnJoins": [{"columnName": "id", "joinedWith": [{"fullyQualifiedName": "svc.db.sch.orders.nope", "joinCount": 1}]}]}), "Invalid column name svc.db.sch.orders.nope"),
        (json!({"columnJoins": [], "surprise": 1}), "surprise"),
    ];
    for (body, expected) in bad_joins {
        let (status, answer) = s.call(Method::PUT, &format!("/api/v1/tables/{orders}/joins"), Some(&bot), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(message(&answer).contains(expected), "{body}: {answer}");
    }
    let (status, answer) = s.call(Method::PUT, "/api/v1/queries", Some(&bot), Some(json!({"query": "select 1", "service": "nope"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}
