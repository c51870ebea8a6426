//! Issue 16: `/api/v1/search/query` as the official clients page it — `query_filter` (the
//! Elasticsearch subset they send), `sort_field`, `sort_order` and `search_after`, with `sort`
//! values as strings — so every paging loop of theirs ends, and what is not supported is a 400.

mod common;

use common::browser::url_encode;
use common::shop_tables;
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn views_filter(service: &str) -> String {
    let filter = json!({"query": {"bool": {"must": [
        {"bool": {"should": [{"term": {"service.name.keyword": service}}]}},
        {"bool": {"should": [{"term": {"tableType": "View"}}, {"term": {"tableType": "MaterializedView"}}]}},
        {"bool": {"should": [{"term": {"deleted": false}}]}},
    ]}}});
    url_encode(&filter.to_string())
}

fn fqns(answer: &Value) -> Vec<String> {
    answer["hits"]["hits"].as_array().unwrap().iter().map(|h| h["_source"]["fullyQualifiedName"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_clients_paging_loop_over_a_filtered_index_ends_with_every_hit_once() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    shop_tables(&s, &bot, &["t0"]).await;
    let mut views = vec![];
    for i in 0..7 {
        let (name, table_type) = if i % 2 == 0 { (format!("v{i}"), "View") } else { (format!("r{i}"), "Regular") };
        let body = json!({"name": name, "databaseSchema": "svc.db.sch", "tableType": table_type, "columns": [{"name": "id", "dataType": "INT"}]});
        let (status, answer) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        if table_type == "View" {
            views.push(format!("svc.db.sch.{name}"));
        }
    }
    // The client's loop (`_paginate_es_internal`): size 2, FQN order, the last hit's sort values
    // joined by commas as the next `search_after`, until a page comes back empty.
    let filtered = format!("/api/v1/search/query?q=&deleted=false&query_filter={}&index=table_search_index&sort_field=fullyQualifiedName", views_filter("svc"));
    let base = format!("{filtered}&size=2");
    let (mut seen, mut after, mut pages) = (vec![], None::<String>, 0);
    loop {
        let path = match &after {
            Some(a) => format!("{base}&search_after={}", url_encode(a)),
            None => base.clone(),
        };
        let (status, answer) = s.get(&path, Some(&bot)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let hits = answer["hits"]["hits"].as_array().unwrap();
        let Some(last) = hits.last() else { break };
        assert!(last["sort"].as_array().unwrap().iter().all(Value::is_string), "sort values are strings: {last}");
        after = Some(last["sort"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(","));
        seen.extend(fqns(&answer));
        pages += 1;
        assert!(pages <= 10, "the loop must end");
    }
    assert_eq!(seen, views, "every view once, in FQN order, no regular table");

    let (status, desc) = s.get(&format!("{filtered}&sort_order=desc&size=10"), Some(&bot)).await;
    assert_eq!(status, StatusCode::OK, "{desc}");
    assert_eq!(fqns(&desc), views.iter().rev().cloned().collect::<Vec<_>>(), "descending");
    let (_, other) = s.get(&format!("/api/v1/search/query?q=&query_filter={}&index=table_search_index", views_filter("nope")), Some(&bot)).await;
    assert_eq!(other["hits"]["total"]["value"], json!(0), "another service's views");
    let (_, relevance) = s.get("/api/v1/search/query?q=v2&index=table_search_index", Some(&bot)).await;
    assert!(relevance["hits"]["hits"][0]["sort"].as_array().unwrap().iter().all(Value::is_string), "relevance sort values are strings too: {relevance}");

    let fuzzy = url_encode(r#"{"query": {"fuzzy": {"name": "v"}}}"#);
    let (status, refused) = s.get(&format!("/api/v1/search/query?q=&query_filter={fuzzy}"), Some(&bot)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["message"].as_str().unwrap().starts_with("query_filter: unsupported clause fuzzy; supported: bool"), "{refused}");
    let (status, _) = s.get("/api/v1/search/query?q=&sort_field=updatedAt", Some(&bot)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unsupported sort field");
    s.stop().await;
}
