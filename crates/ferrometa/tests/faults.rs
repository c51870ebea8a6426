//! Issue 18: faults of what the server depends on. A PostgreSQL restart under load: requests fail
//! fast with 503 (never 500) and the server recovers by itself.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use ferrometa_testkit::TestServer;
use reqwest::StatusCode;

/// The pool waits 5 s for a connection; twice that is the bound on any answer.
const ANSWER_BOUND: Duration = Duration::from_secs(10);
const PATIENCE: Duration = Duration::from_secs(60);

/// A throwaway PostgreSQL cluster of Debian's `postgresql-common` (never the suite's own).
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

impl Cluster {
    /// `None` (the test then skips, saying why) without PostgreSQL's binaries.
    fn create() -> Option<Cluster> {
        let version = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()?.file_name().into_string().ok()).max_by_key(|v| v.parse::<u32>().unwrap_or(0))?;
        Command::new("pg_createcluster").arg("--version").output().ok()?;
        let port = free_port();
        let name = format!("ferrometa-faults-{}", std::process::id());
        let ok = Command::new("pg_createcluster").args([&version, &name, "-p", &port.to_string(), "--start", "--", "--auth=trust"]).output().ok()?.status.success();
        assert!(ok, "pg_createcluster failed");
        let cluster = Cluster { version, name, port };
        cluster.wait_ready();
        Some(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn ctl(&self, action: &str) {
        let out = Command::new("pg_ctlcluster").args([&self.version, &self.name, action, "-m", "fast"]).output().expect("pg_ctlcluster");
        assert!(out.status.success(), "pg_ctlcluster {action}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while !Command::new("pg_isready").args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"]).status().is_ok_and(|s| s.success()) {
            assert!(started.elapsed() < PATIENCE, "PostgreSQL did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("pg_dropcluster").args(["--stop", &self.version, &self.name]).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Reads tables as the admin until `stop`; every answer's status and how long it took.
async fn load(server: &TestServer, token: &str, stop: &tokio::sync::watch::Receiver<bool>) -> Vec<(StatusCode, Duration)> {
    let mut answers = vec![];
    while !*stop.borrow() {
        let started = Instant::now();
        let (status, _) = server.get("/api/v1/tables?limit=5", Some(token)).await;
        answers.push((status, started.elapsed()));
    }
    answers
}

#[tokio::test]
async fn a_postgres_restart_under_load_answers_503_fast_and_recovers_without_a_restart() {
    let Some(cluster) = Cluster::create() else {
        eprintln!("SKIPPED: PostgreSQL's binaries (postgresql-common) are not installed");
        return;
    };
    let server = TestServer::start(&[("FERROMETA_DATABASE_URL", &cluster.url())]).await;
    let admin = server.admin_token().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (first, second, ()) = tokio::join!(
        load(&server, &admin, &stopped),
        load(&server, &admin, &stopped),
        async {
            cluster.ctl("stop");
            let outage = first_status(&server, &admin, StatusCode::SERVICE_UNAVAILABLE).await;
            assert!(outage, "with PostgreSQL down, requests must be answered 503");
            cluster.ctl("start");
            cluster.wait_ready();
            assert!(first_status(&server, &admin, StatusCode::OK).await, "the server did not recover after PostgreSQL came back");
            let _ = stop.send(true);
        }
    );
    let answers: Vec<_> = first.into_iter().chain(second).collect();
    let unexpected: Vec<_> = answers.iter().filter(|(s, _)| !(s.is_success() || *s == StatusCode::SERVICE_UNAVAILABLE)).collect();
    assert!(unexpected.is_empty(), "answers other than 2xx or 503 during the restart: {unexpected:?}");
    let slowest = answers.iter().map(|(_, d)| *d).max().unwrap_or_default();
    assert!(slowest < ANSWER_BOUND, "an answer took {slowest:?} during the restart (bound {ANSWER_BOUND:?})");
}

/// Whether a read answers `wanted` within `PATIENCE` (asked again after each other answer).
async fn first_status(server: &TestServer, token: &str, wanted: StatusCode) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if server.get("/api/v1/tables?limit=5", Some(token)).await.0 == wanted {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}
