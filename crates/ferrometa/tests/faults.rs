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
            for _ in 0..common::long_form() {
                cluster.ctl("stop");
                let outage = first_status(&server, &admin, StatusCode::SERVICE_UNAVAILABLE).await;
                assert!(outage, "with PostgreSQL down, requests must be answered 503");
                cluster.ctl("start");
                cluster.wait_ready();
                assert!(first_status(&server, &admin, StatusCode::OK).await, "the server did not recover after PostgreSQL came back");
            }
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

/// A tmpfs mounted on a temp dir (root only), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir.path()).output().ok()?.status.success();
        ok.then_some(SmallDisk { dir })
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount").args(["-o", &format!("remount,{options}")]).arg(self.dir.path()).output().expect("mount");
        assert!(out.status.success(), "remount {options}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).output();
    }
}

fn big_service(name: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "serviceType": "Postgres", "description": "x".repeat(256 * 1024),
                       "connection": {"config": {"type": "Postgres", "username": "etl", "hostPort": "db:5432"}}})
}

async fn put_service(server: &TestServer, token: &str, name: &str) -> StatusCode {
    server.call(reqwest::Method::PUT, "/api/v1/services/databaseServices", Some(token), Some(big_service(name))).await.0
}

#[tokio::test]
async fn a_full_then_read_only_sqlite_data_directory_answers_503_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount("8m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root");
        return;
    };
    let server = TestServer::start_in(disk.dir.path(), &[]).await;
    let admin = server.admin_token().await;
    let mut written = vec![];
    let full = loop {
        let name = format!("svc_{}", written.len());
        match put_service(&server, &admin, &name).await {
            s if s.is_success() => written.push(name),
            s => break s,
        }
        assert!(written.len() < 200, "8 MiB never filled up");
    };
    assert_eq!(full, StatusCode::SERVICE_UNAVAILABLE, "a full data directory");
    disk.remount("size=64m");
    assert!(first_write(&server, &admin, "after_full").await, "writes must succeed again once there is room");
    written.push("after_full".into());
    server.stop().await;
    disk.remount("ro");
    let (started, log) = serve_briefly(disk.dir.path()).await;
    assert!(!started, "ferrometa must refuse to start on a read-only data directory:\n{log}");
    assert!(log.to_lowercase().contains("read-only"), "the start-up error must say the data directory is read-only:\n{log}");
    disk.remount("rw");
    let restarted = TestServer::start_in(disk.dir.path(), &[]).await;
    let admin = restarted.admin_token().await;
    for name in &written {
        let (status, body) = restarted.get(&format!("/api/v1/services/databaseServices/name/{name}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{name} was acknowledged but is gone: {body}");
        assert_eq!(body["description"].as_str().map(str::len), Some(256 * 1024), "{name} is not intact");
    }
    restarted.stop().await;
}

/// Whether a write succeeds within `PATIENCE` (SQLite may need a moment to give up a bad state).
async fn first_write(server: &TestServer, token: &str, name: &str) -> bool {
    let started = Instant::now();
    while started.elapsed() < PATIENCE {
        if put_service(server, token, name).await.is_success() {
            return true;
        }
        tokio::task::yield_now().await;
    }
    false
}

/// Runs `ferrometa serve` on `data_dir`; whether it came up (it is then stopped) and its log.
async fn serve_briefly(data_dir: &std::path::Path) -> (bool, String) {
    let mut child = tokio::process::Command::new(common::binary())
        .arg("serve")
        .env_clear()
        .envs(ferrometa_testkit::base_env(data_dir))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ferrometa");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    let read = tokio::time::timeout(PATIENCE, async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut buf).await {
            log.push_str(&String::from_utf8_lossy(&buf[..n]));
            if log.contains(ferrometa_testkit::SERVING_MESSAGE) {
                return true;
            }
        }
        false
    })
    .await;
    let started = read.unwrap_or(true);
    let _ = child.kill().await;
    (started, log)
}
