//! Issue 18: kill -9 during a write load. After a restart every write that was answered 2xx is
//! there, intact, on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::binary;
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Writers in parallel, and how many acknowledged writes come before the kill (times
/// `FERROMETA_LONG_TESTS`).
const WRITERS: usize = 4;
const ACKNOWLEDGED_BEFORE_KILL: usize = 40;

fn acknowledged_before_kill() -> usize {
    ACKNOWLEDGED_BEFORE_KILL * common::long_form()
}

fn service(name: &str) -> Value {
    json!({"name": name, "serviceType": "Postgres", "description": format!("written as {name}"),
           "connection": {"config": {"type": "Postgres", "username": "etl", "hostPort": "db:5432"}}})
}

/// Writes services until the server dies; returns the names answered 2xx.
async fn write_until_killed(url: String, token: &str, writer: usize, acknowledged: Arc<Mutex<Vec<String>>>, count: Arc<AtomicUsize>, enough: Arc<tokio::sync::Notify>) {
    for i in 0.. {
        let name = format!("svc_{writer}_{i}");
        let sent = reqwest::Client::new().put(&url).bearer_auth(token).json(&service(&name)).send().await;
        match sent {
            Ok(r) if r.status().is_success() => {
                acknowledged.lock().await.push(name);
                if count.fetch_add(1, Ordering::SeqCst) + 1 >= acknowledged_before_kill() {
                    enough.notify_one();
                }
            }
            Ok(r) => assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "a write during the load"),
            Err(_) => return, // the server is gone
        }
    }
}

async fn acknowledged_writes_survive_kill_9(database: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(binary(), dir.path(), database).await;
    let admin = server.admin_token().await;
    let (acknowledged, count, enough) = (Arc::new(Mutex::new(vec![])), Arc::new(AtomicUsize::new(0)), Arc::new(tokio::sync::Notify::new()));
    let url = server.url("/api/v1/services/databaseServices");
    let writers = (0..WRITERS).map(|w| write_until_killed(url.clone(), &admin, w, acknowledged.clone(), count.clone(), enough.clone()));
    let all_writers = async {
        let mut pinned: Vec<_> = writers.map(Box::pin).collect();
        // Every writer runs at once; each ends when the server is gone.
        let mut remaining = std::future::poll_fn(|cx| {
            pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
            if pinned.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
        });
        tokio::select! {
            _ = &mut remaining => panic!("the writers stopped before the kill"),
            _ = enough.notified() => {}
        }
        (server.kill().await, remaining.await)
    };
    all_writers.await;
    let restarted = TestServer::spawn(binary(), dir.path(), database).await;
    let admin = restarted.admin_token().await;
    let written = acknowledged.lock().await.clone();
    assert!(written.len() >= acknowledged_before_kill());
    for name in written {
        let (status, body) = restarted.call(Method::GET, &format!("/api/v1/services/databaseServices/name/{name}"), Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{name} was answered 2xx before the kill but is gone: {body}");
        assert_eq!(body["description"], json!(format!("written as {name}")), "{name} is not intact: {body}");
    }
    assert!(restarted.stop().await.expect("a process").success());
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_on_sqlite() {
    acknowledged_writes_survive_kill_9(&[]).await;
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_on_postgres() {
    let Some(url) = ferrometa_store::testing::fresh_postgres_url().await else {
        eprintln!("SKIPPED: FERROMETA_TEST_POSTGRES_URL is not set");
        return;
    };
    acknowledged_writes_survive_kill_9(&[("FERROMETA_DATABASE_URL", &url)]).await;
}
