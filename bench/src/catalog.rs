//! What the catalog benchmarks (`ingest`, `scale`) share: the generated catalog (1 service,
//! 1 database, schemas of tables), a pinned release server with basic auth and the admin's
//! token, the read measurements (name lookups, list pages, search) and a fresh PostgreSQL
//! database for the second backend.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use serde_json::{Value, json};

use crate::{ServerProcess, Table, base_env, http_client, ms, percentile, spawn_server, thousands};

pub const ADMIN_EMAIL: &str = "admin@open-metadata.org";
pub const ADMIN_NAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Bench-admin-passw0rd!";
pub const SERVICE: &str = "bench";
pub const DATABASE: &str = "bench.warehouse";
/// Name lookups/s at the large size against the small one: no degradation.
pub const LOOKUP_RATIO_GOAL: f64 = 0.8;
pub const SERVER_CPU: u32 = 0;
pub const CLIENT_CPU: u32 = 1;
pub const POSTGRES_ENV: &str = "FERROMETA_BENCH_POSTGRES_URL";

/// A schema's name: `s0012`, so that a prefix such as `s012` names ten schemas.
pub fn schema_name(schema: usize) -> String {
    format!("s{schema:04}")
}

pub fn table_name(schema: usize, table: usize) -> String {
    format!("{}_t{table:02}", schema_name(schema))
}

pub fn table_fqn(schema: usize, table: usize) -> String {
    format!("{DATABASE}.{}.{}", schema_name(schema), table_name(schema, table))
}

/// `CreateDatabaseService` of the benchmark's service.
pub fn create_service() -> Value {
    json!({"name": SERVICE, "serviceType": "Postgres", "connection": {"config": {"type": "Postgres", "username": "bench", "hostPort": "db:5432", "database": "warehouse"}}})
}

/// `CreateDatabase` of the benchmark's database.
pub fn create_database() -> Value {
    json!({"name": "warehouse", "service": SERVICE})
}

pub fn create_schema(schema: usize) -> Value {
    json!({"name": schema_name(schema), "database": DATABASE})
}

/// `CreateTable` of a generated table with 4 columns.
pub fn create_table(schema: usize, table: usize) -> Value {
    json!({
        "name": table_name(schema, table),
        "databaseSchema": format!("{DATABASE}.{}", schema_name(schema)),
        "tableType": "Regular",
        "description": format!("Generated table {table} of schema {schema}"),
        "columns": [
            {"name": "id", "dataType": "BIGINT", "constraint": "PRIMARY_KEY", "ordinalPosition": 1},
            {"name": "customer_name", "dataType": "VARCHAR", "dataLength": 64, "dataTypeDisplay": "varchar(64)", "ordinalPosition": 2},
            {"name": "amount", "dataType": "DECIMAL", "precision": 12, "scale": 2, "ordinalPosition": 3, "description": "Amount in the shop's currency"},
            {"name": "created_at", "dataType": "TIMESTAMP", "ordinalPosition": 4}
        ],
        "tableConstraints": [{"constraintType": "PRIMARY_KEY", "columns": ["id"]}],
    })
}

/// The REST API of a running server, with the admin's token.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// Logs in as the admin (basic auth).
    pub async fn login(base: &str) -> Result<Api> {
        let client = http_client();
        let password = base64::engine::general_purpose::STANDARD.encode(ADMIN_PASSWORD);
        let login: Value = client.post(format!("{base}/api/v1/users/login")).json(&json!({"email": ADMIN_EMAIL, "password": password})).send().await?.json().await?;
        let token = login["accessToken"].as_str().with_context(|| format!("admin login: {login}"))?.to_string();
        Ok(Api { client, base: base.to_string(), token })
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", text.chars().take(300).collect::<String>());
        }
        Ok(serde_json::from_str(&text)?)
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
}

/// The environment of a benchmarked catalog server: [`base_env`], one tokio worker, basic auth
/// with the admin's password, and PostgreSQL when `database_url` is given. An in-process
/// [`ferrometa_config::Config`] loaded from the same map is the server's configuration.
pub fn server_env(data_dir: &Path, database_url: Option<&str>) -> BTreeMap<String, String> {
    let mut env = base_env(data_dir);
    env.insert("TOKIO_WORKER_THREADS".into(), "1".into());
    env.insert("FERROMETA_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into());
    if let Some(url) = database_url {
        env.insert("FERROMETA_DATABASE_URL".into(), url.into());
    }
    env
}

/// Starts the release server on [`SERVER_CPU`] (`taskset`) and logs in as the admin.
pub async fn start_server(binary: &Path, env: &BTreeMap<String, String>) -> Result<(ServerProcess, Arc<Api>)> {
    let binary = binary.display().to_string();
    let server = spawn_server(Path::new("taskset"), &["-c", &SERVER_CPU.to_string(), &binary, "serve"], env, Duration::from_secs(120), crate::SERVING_MESSAGE)?;
    let api = Api::login(&format!("http://{}", server.api_addr)).await?;
    Ok((server, Arc::new(api)))
}

/// Runs `op(i)` for i in `range` over `concurrency` tasks; returns the wall time.
pub async fn concurrently<F, Fut>(range: std::ops::Range<usize>, concurrency: usize, op: F) -> Result<Duration>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(range.start));
    let op = Arc::new(op);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, op, end) = (next.clone(), op.clone(), range.end);
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<_, anyhow::Error>(());
                }
                op(i).await?;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(start.elapsed())
}

/// A small deterministic generator (xorshift), so that every run looks up the same tables.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Latency (s) of `n` calls of `op`, one at a time.
pub async fn latencies<F, Fut>(n: usize, mut op: F) -> Result<Vec<f64>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i).await?;
        out.push(start.elapsed().as_secs_f64());
    }
    Ok(out)
}

/// Latencies of one list: its first page (requested again and again) and the pages after it,
/// walked by cursor from the start (again from the start if the list ends first).
pub struct ListTimes {
    pub first: Vec<f64>,
    pub after: Vec<f64>,
    /// `paging.total` of the first page.
    pub total: i64,
}

pub async fn list_pages(api: &Api, path: &str, pages: usize) -> Result<ListTimes> {
    let first = latencies(pages.clamp(1, 20), |_| async move { api.get(path).await.map(drop) }).await?;
    let mut after: Option<String> = None;
    let mut times = vec![];
    let mut total = -1;
    for _ in 0..pages + 1 {
        let url = match &after {
            Some(a) => format!("{path}&after={a}"),
            None => path.to_string(),
        };
        let start = Instant::now();
        let page = api.get(&url).await?;
        if after.is_some() {
            times.push(start.elapsed().as_secs_f64());
        } else {
            total = page["paging"]["total"].as_i64().unwrap_or(-1);
        }
        ensure!(page["data"].as_array().is_some_and(|d| !d.is_empty()), "{url}: empty page");
        after = page["paging"]["after"].as_str().map(str::to_string);
    }
    Ok(ListTimes { first, after: times, total })
}

/// How much of each read is measured.
pub struct ReadPlan {
    pub tables_per_schema: usize,
    /// Concurrent connections of the lookups/s measurement.
    pub connections: usize,
    pub lookups: usize,
    /// Sequential lookups for the latency.
    pub sequential_lookups: usize,
    /// Pages walked per list.
    pub pages: usize,
    /// Searches per kind; 0 skips search.
    pub searches: usize,
}

/// (p50, p99) in seconds.
pub type P50P99 = (f64, f64);

fn p50_p99(v: &[f64]) -> P50P99 {
    (percentile(v, 50.0), percentile(v, 99.0))
}

/// Read costs at one catalog size.
pub struct Reads {
    pub tables: usize,
    pub lookups_per_s: f64,
    pub lookup: P50P99,
    pub list_first: P50P99,
    pub list: P50P99,
    pub list_total: i64,
    pub list_under_first: P50P99,
    pub list_under: P50P99,
    pub list_under_total: i64,
    /// (label, p50, p99, hits of the first query) per kind of search.
    pub searches: Vec<(&'static str, f64, f64, i64)>,
}

/// The `q` of the i-th search of one kind.
type QueryText<'a> = Box<dyn Fn(usize) -> String + 'a>;

/// Name lookups of random tables among the first `schemas_done` schemas, both lists, searches.
pub async fn measure_reads(api: &Arc<Api>, plan: &ReadPlan, schemas_done: usize) -> Result<Reads> {
    let tables = schemas_done * plan.tables_per_schema;
    eprintln!("reads at {tables} tables");
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let targets: Arc<Vec<String>> = Arc::new((0..plan.lookups.max(plan.sequential_lookups)).map(|_| table_fqn(rng.below(schemas_done), rng.below(plan.tables_per_schema))).collect());
    let single = latencies(plan.sequential_lookups, |i| {
        let (api, fqn) = (api.clone(), targets[i].clone());
        async move { api.get(&format!("/api/v1/tables/name/{fqn}")).await.map(drop) }
    })
    .await?;
    let (a, t) = (api.clone(), targets.clone());
    let wall = concurrently(0..plan.lookups, plan.connections, move |i| {
        let (api, fqn) = (a.clone(), t[i].clone());
        async move { api.get(&format!("/api/v1/tables/name/{fqn}")).await.map(drop) }
    })
    .await?;
    let list = list_pages(api, "/api/v1/tables?limit=100", plan.pages).await?;
    let list_under = list_pages(api, &format!("/api/v1/tables?database={DATABASE}&limit=100"), plan.pages).await?;
    let mut searches = vec![];
    let kinds: [(&'static str, QueryText); 3] = [
        ("exact table name", Box::new(|i| table_name((i * 7919) % schemas_done, i % plan.tables_per_schema))),
        ("prefix of 10 schemas (`s012`)", Box::new(|i| schema_name((i * 7919) % schemas_done)[..4].to_string())),
        ("a column name of every table (`amount`)", Box::new(|_| "amount".to_string())),
    ];
    for (label, q) in kinds.into_iter().filter(|_| plan.searches > 0) {
        let search_path = |q: String| format!("/api/v1/search/query?q={q}&index=table_search_index&size=10");
        let first_total = api.get(&search_path(q(0))).await?["hits"]["total"]["value"].as_i64().unwrap_or(-1);
        let times = latencies(plan.searches, |i| {
            let (api, path) = (api.clone(), search_path(q(i)));
            async move { api.get(&path).await.map(drop) }
        })
        .await?;
        searches.push((label, percentile(&times, 50.0), percentile(&times, 99.0), first_total));
    }
    Ok(Reads {
        tables,
        lookups_per_s: plan.lookups as f64 / wall.as_secs_f64(),
        lookup: p50_p99(&single),
        list_first: p50_p99(&list.first),
        list: p50_p99(&list.after),
        list_total: list.total,
        list_under_first: p50_p99(&list_under.first),
        list_under: p50_p99(&list_under.after),
        list_under_total: list_under.total,
        searches,
    })
}

fn pair((p50, p99): P50P99) -> String {
    format!("{} / {}", ms(p50), ms(p99))
}

/// The "reads at each size" table: one row per (backend, size).
pub fn reads_table(rows: &[(&str, &Reads)]) -> String {
    let mut t = Table::new(&[
        "backend",
        "tables",
        "lookups/s",
        "lookup p50 / p99",
        "list first page p50 / p99",
        "list `after=` page p50 / p99",
        "under the database: first page",
        "under the database: `after=` page",
        "`paging.total` (list / under)",
    ]);
    for (backend, r) in rows {
        t.row(&[
            backend.to_string(),
            thousands(r.tables as f64),
            thousands(r.lookups_per_s),
            pair(r.lookup),
            pair(r.list_first),
            pair(r.list),
            pair(r.list_under_first),
            pair(r.list_under),
            format!("{} / {}", thousands(r.list_total as f64), thousands(r.list_under_total as f64)),
        ]);
    }
    t.render()
}

/// A fresh database in the PostgreSQL server of `admin_url` (URL, name); drop it with
/// [`drop_postgres`].
pub async fn fresh_postgres(admin_url: &str) -> Result<(String, String)> {
    sqlx::any::install_default_drivers();
    // Unique per call: a bench may hold several databases at once (one per catalog size).
    static CREATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("ferrometa_bench_{}_{n}", std::process::id());
    let admin = sqlx::AnyPool::connect(admin_url).await.with_context(|| format!("connecting to {POSTGRES_ENV}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await?;
    admin.close().await;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
    Ok((format!("{base}/{name}"), name))
}

pub async fn drop_postgres(admin_url: &str, name: &str) -> Result<()> {
    let admin = sqlx::AnyPool::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await?;
    Ok(())
}
