//! Issue 18: the server under abuse. Stops during start-up, slow and idle connections, a cap on
//! connections, the body limit, and every rejection in OpenMetadata's `{code, message}` shape.

mod common;

use std::time::Duration;

use common::{binary, server_key, server_kid, session_claims, sign};
use ferrometa_testkit::{HEALTH_MESSAGE, TestServer};
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far more than any bound below: a test that reaches it has found a connection left open.
const PATIENCE: Duration = Duration::from_secs(20);

/// Asserts the answer is OpenMetadata's error body with `status`.
fn assert_om_error(status: StatusCode, body: &Value, expected: StatusCode, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(body["code"], json!(expected.as_u16()), "{what}: not OpenMetadata's error shape: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: no message: {body}");
}

/// Opens a connection and sends the start of a request's headers, never finishing them.
async fn slow_client(base: &str) -> TcpStream {
    let mut c = TcpStream::connect(base.trim_start_matches("http://")).await.expect("connect");
    c.write_all(b"GET /api/v1/system/version HTTP/1.1\r\nHost: ferrometa\r\n").await.expect("send part of the headers");
    c
}

/// Whether the server closed `c` within `PATIENCE` (a read ends, with EOF or a reset).
async fn closed_by_server(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_stop_right_after_start_is_graceful_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    // The health check is up while bootstrap still runs: the stop arrives before the API serves.
    let server = TestServer::spawn_until(binary(), dir.path(), &[], HEALTH_MESSAGE).await;
    let status = server.stop().await.expect("a process");
    assert!(status.success(), "SIGTERM during start-up must end in a graceful exit 0, got {status:?}");
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_the_connection_cap_holds_new_connections_until_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("FERROMETA_HEADER_READ_TIMEOUT_SECONDS", "2"), ("FERROMETA_MAX_CONNECTIONS", "2")];
    let server = TestServer::spawn(binary(), dir.path(), &env).await;
    let mut slow = vec![slow_client(&server.base).await, slow_client(&server.base).await];
    let waiting = tokio::spawn({
        let url = server.url("/api/v1/system/version");
        async move { reqwest::Client::new().get(url).timeout(PATIENCE).send().await.map(|r| r.status()) }
    });
    let line = server.log_line(&["connection limit reached", "max_connections"], PATIENCE).await;
    assert!(line.is_some(), "no log line when the connection cap was reached:\n{}", server.log_text());
    for c in &mut slow {
        assert!(closed_by_server(c).await, "a connection that never finished its headers was still open after {PATIENCE:?}");
    }
    let answered = waiting.await.expect("waiting client");
    assert!(matches!(answered, Ok(StatusCode::OK)), "the queued request must be served once slots free up: {answered:?}");
    assert!(server.stop().await.expect("a process").success());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let server = TestServer::start(&[("FERROMETA_IDLE_TIMEOUT_SECONDS", "1")]).await;
    let mut c = TcpStream::connect(server.base.trim_start_matches("http://")).await.expect("connect");
    c.write_all(b"GET /api/v1/system/version HTTP/1.1\r\nHost: ferrometa\r\n\r\n").await.expect("send a request");
    let mut first = [0u8; 12];
    c.read_exact(&mut first).await.expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200", "the request is answered");
    assert!(closed_by_server(&mut c).await, "an idle keep-alive connection was still open after {PATIENCE:?}");
}

/// service > database > schema `lake.raw.events`, created by the ingestion bot; returns its token.
async fn schema_for_tables(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let containers = [
        ("/api/v1/services/databaseServices", json!({"name": "lake", "serviceType": "Postgres", "connection": {"config": {"type": "Postgres", "username": "u", "hostPort": "db:5432"}}})),
        ("/api/v1/databases", json!({"name": "raw", "service": "lake"})),
        ("/api/v1/databaseSchemas", json!({"name": "events", "database": "lake.raw"})),
    ];
    for (path, body) in containers {
        let (status, answer) = s.call(Method::PUT, path, Some(&bot), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
    }
    bot
}

fn wide_table(columns: usize, description_bytes: usize) -> Value {
    let description = "d".repeat(description_bytes);
    let columns: Vec<Value> = (0..columns)
        .map(|i| json!({"name": format!("column_{i}"), "dataType": "VARCHAR", "dataLength": 255, "dataTypeDisplay": "varchar(255)", "description": description, "ordinalPosition": i + 1}))
        .collect();
    json!({"name": "wide", "databaseSchema": "lake.raw.events", "tableType": "Regular", "columns": columns})
}

#[tokio::test]
async fn a_table_of_two_thousand_described_columns_is_stored_and_a_body_over_the_limit_is_a_json_413() {
    let server = TestServer::start(&[("FERROMETA_MAX_BODY_MB", "4")]).await;
    let bot = schema_for_tables(&server).await;
    let table = wide_table(2000, 1200);
    assert!(table.to_string().len() > 2 * 1024 * 1024, "the table must be larger than axum's default limit");
    let (status, body) = server.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(table)).await;
    assert_eq!(status, StatusCode::CREATED, "a table of 2000 described columns: {}", body.to_string().chars().take(300).collect::<String>());
    assert_eq!(body["columns"].as_array().map(Vec::len), Some(2000));
    let (status, body) = server.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(wide_table(4000, 1200))).await;
    assert_om_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "a body over the limit");
}

#[tokio::test]
async fn paths_queries_and_forms_the_router_refuses_answer_in_openmetadata_json() {
    let server = TestServer::start(&[]).await;
    let admin = server.admin_token().await;
    let (status, body) = server.get("/api/v1/tables/name/%FF%FE", Some(&admin)).await;
    assert_om_error(status, &body, StatusCode::BAD_REQUEST, "invalid UTF-8 in a path");
    let (status, body) = server.get("/api/v1/tables?limit=many", Some(&admin)).await;
    assert_om_error(status, &body, StatusCode::BAD_REQUEST, "a query parameter of the wrong type");
    let (status, body) = server.get("/api/v1/search/query?q=*&index=table_search_index&from=9223372036854775807&size=1", Some(&admin)).await;
    assert_om_error(status, &body, StatusCode::BAD_REQUEST, "from + size overflowing");
    let resp = server.client.post(server.url("/signin")).header("content-type", "application/x-www-form-urlencoded").body("nothing=here").send().await.unwrap();
    let (status, kind) = (resp.status(), resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string());
    assert!(status.is_client_error(), "a sign-in form without its fields: {status}");
    assert!(!kind.starts_with("text/plain"), "a form rejection must be JSON or a page, not axum's plain text ({kind})");
}

#[tokio::test]
async fn numeric_dates_at_the_end_of_the_range_are_judged_without_overflow() {
    let server = TestServer::start(&[]).await;
    let (key, kid) = (server_key(&server.data_dir), server_kid(&server.base).await);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    for (claim, value) in [("exp", i64::MAX), ("nbf", i64::MAX), ("iat", i64::MAX), ("exp", i64::MIN)] {
        let mut claims = session_claims("admin");
        claims[claim] = json!(value);
        let (status, body) = server.get("/api/v1/system/config/loginConfig", Some(&sign(&header, &claims, &key, Algorithm::RS256))).await;
        assert!(status.is_success() || status == StatusCode::UNAUTHORIZED, "{claim} = {value}: {status} {body}");
    }
}
