//! Boots the real ferrometa server for integration tests, in-process (fast, one per test) or as
//! a separate process of the built binary (for multi-replica and signal tests). Readiness is
//! read from the server itself (its bound address; `/healthcheck`), never guessed with sleeps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Password of the `admin` principal in every test server.
pub const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!";
pub const ADMIN_EMAIL: &str = "admin@open-metadata.org";
/// Logged when the API accepts requests (bootstrap done).
pub const SERVING_MESSAGE: &str = "ferrometa is serving";
/// Logged when /healthcheck answers, before bootstrap (key generation on a first start).
pub const HEALTH_MESSAGE: &str = "health check is up; finishing start-up";

enum Running {
    InProcess(ferrometa_server::RunningServer),
    Process(tokio::process::Child),
}

pub struct TestServer {
    /// Log lines of a spawned process (empty for in-process servers).
    pub log: Arc<Mutex<Vec<String>>>,
    /// Told of every line added to `log`.
    log_grew: Arc<tokio::sync::Notify>,
    pub base: String,
    pub admin_base: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    running: Option<Running>,
    _dir: Option<tempfile::TempDir>,
}

/// Settings every test server starts from; tests add or override entries.
pub fn base_env(data_dir: &Path) -> BTreeMap<String, String> {
    [
        ("SERVER_HOST", "127.0.0.1".to_string()),
        ("SERVER_PORT", "0".into()),
        ("SERVER_ADMIN_PORT", "0".into()),
        ("FERROMETA_DATA_DIR", data_dir.display().to_string()),
        ("AUTHORIZER_ADMIN_PRINCIPALS", format!("[admin:{ADMIN_PASSWORD}]")),
        ("FERROMETA_SHUTDOWN_GRACE_SECONDS", "5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn merged(data_dir: &Path, env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut all = base_env(data_dir);
    for (k, v) in env {
        all.insert(k.to_string(), v.to_string());
    }
    all
}

impl TestServer {
    /// An in-process server with its own data dir (SQLite unless `env` names a database).
    pub async fn start(env: &[(&str, &str)]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(dir.path(), env).await;
        server._dir = Some(dir);
        server
    }

    /// An in-process server on a fresh PostgreSQL database, when the suite has PostgreSQL.
    pub async fn start_postgres(env: &[(&str, &str)]) -> Option<TestServer> {
        let url = ferrometa_store::testing::fresh_postgres_url().await?;
        let mut all: Vec<(&str, &str)> = env.to_vec();
        all.push(("FERROMETA_DATABASE_URL", &url));
        Some(Self::start(&all).await)
    }

    /// An in-process server over an existing data dir (restart tests).
    pub async fn start_in(data_dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let vars = merged(data_dir, env);
        let config = ferrometa_config::load(None, &|k| vars.get(k).cloned()).unwrap_or_else(|e| panic!("test configuration is invalid: {e}")).config;
        let running = ferrometa_server::start(config).await.unwrap_or_else(|e| panic!("server did not start: {e}"));
        TestServer {
            log: Arc::default(),
            log_grew: Arc::default(),
            base: format!("http://{}", running.api_addr),
            admin_base: format!("http://{}", running.admin_addr),
            client: reqwest::Client::new(),
            data_dir: data_dir.to_path_buf(),
            running: Some(Running::InProcess(running)),
            _dir: None,
        }
    }

    /// The built `ferrometa` binary as a separate process; its addresses are read from its
    /// JSON log line "ferrometa is serving".
    pub async fn spawn(binary: &Path, data_dir: &Path, env: &[(&str, &str)]) -> TestServer {
        Self::spawn_until(binary, data_dir, env, SERVING_MESSAGE).await
    }

    /// Like [`TestServer::spawn`], returning as soon as the log line `message` (one that carries
    /// `api_addr` and `admin_addr`) appears, e.g. [`HEALTH_MESSAGE`], before bootstrap is done.
    pub async fn spawn_until(binary: &Path, data_dir: &Path, env: &[(&str, &str)], message: &str) -> TestServer {
        let vars = merged(data_dir, env);
        let mut child = tokio::process::Command::new(binary)
            .arg("serve")
            .env_clear()
            .envs(&vars)
            .env("FERROMETA_LOG_FORMAT", "json")
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn ferrometa");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(vec![]));
        let (api, admin) = loop {
            let line = lines.next_line().await.expect("read server log").unwrap_or_else(|| panic!("server exited before serving:\n{}", log.lock().unwrap().join("\n")));
            log.lock().unwrap().push(line.clone());
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if v["fields"]["message"] == message {
                break (v["fields"]["api_addr"].as_str().unwrap_or_default().to_string(), v["fields"]["admin_addr"].as_str().unwrap_or_default().to_string());
            }
        };
        // Keep draining the log so the child never blocks on a full pipe.
        let (sink, log_grew) = (log.clone(), Arc::new(tokio::sync::Notify::new()));
        let grew = log_grew.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
                grew.notify_waiters();
            }
        });
        TestServer {
            log,
            log_grew,
            base: format!("http://{api}"),
            admin_base: format!("http://{admin}"),
            client: reqwest::Client::new(),
            data_dir: data_dir.to_path_buf(),
            running: Some(Running::Process(child)),
            _dir: None,
        }
    }

    /// Graceful stop; for a process, SIGTERM and its exit status.
    pub async fn stop(mut self) -> Option<std::process::ExitStatus> {
        match self.running.take()? {
            Running::InProcess(r) => {
                r.shutdown().await;
                None
            }
            Running::Process(mut child) => {
                let pid = child.id().expect("pid") as i32;
                // SAFETY-free: plain `kill` through the shell utility.
                std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("send SIGTERM");
                Some(child.wait().await.expect("wait for server"))
            }
        }
    }

    /// SIGKILL for a spawned process (a crash: nothing is flushed or drained); waits for it.
    pub async fn kill(mut self) {
        if let Some(Running::Process(mut child)) = self.running.take() {
            child.kill().await.expect("kill the server");
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The first log line of a spawned server that contains every one of `needles`, waiting
    /// for it as the log is read (the server writes a line before it answers, but this process
    /// reads the pipe on its own task); `None` when no such line came within `within`.
    pub async fn log_line(&self, needles: &[&str], within: Duration) -> Option<String> {
        let found = || self.log.lock().unwrap().iter().find(|l| needles.iter().all(|n| l.contains(n))).cloned();
        tokio::time::timeout(within, async {
            loop {
                // Registered before looking, so a line added in between still wakes it.
                let grew = self.log_grew.notified();
                tokio::pin!(grew);
                grew.as_mut().enable();
                if let Some(line) = found() {
                    return line;
                }
                grew.await;
            }
        })
        .await
        .ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; returns the status and the body as JSON (text bodies as a JSON string).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Sends an RFC 6902 JSON Patch (`application/json-patch+json`).
    pub async fn patch(&self, path: &str, token: &str, ops: Value) -> (StatusCode, Value) {
        let resp = self.client.patch(self.url(path)).bearer_auth(token).header("content-type", "application/json-patch+json").body(ops.to_string()).send().await.expect("request reaches the server");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(password);
        self.call(Method::POST, "/api/v1/users/login", None, Some(json!({"email": email, "password": b64}))).await
    }

    /// Access token of the bootstrap admin.
    pub async fn admin_token(&self) -> String {
        let (status, body) = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "admin login failed: {body}");
        body["accessToken"].as_str().expect("accessToken").to_string()
    }

    /// The ingestion-bot's user id and current token, read as an admin.
    pub async fn ingestion_bot(&self, admin_token: &str) -> (String, String) {
        let (_, bot) = self.get("/api/v1/bots/name/ingestion-bot", Some(admin_token)).await;
        let id = bot["botUser"]["id"].as_str().expect("bot user id").to_string();
        let (status, token) = self.get(&format!("/api/v1/users/token/{id}"), Some(admin_token)).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        (id, token["JWTToken"].as_str().expect("JWTToken").to_string())
    }
}
