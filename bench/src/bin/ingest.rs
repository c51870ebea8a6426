//! Issue 5: catalog ingest and read costs as the catalog grows, against `GET /api/v1/system/version`
//! on the same server in the same run.
//!
//! - One release server on CPU 0 (`taskset -c 0`, `TOKIO_WORKER_THREADS=1`), this process on
//!   CPU 1; SQLite, and PostgreSQL too when `FERROMETA_BENCH_POSTGRES_URL` names a server (a
//!   fresh database is created in it and dropped afterwards).
//! - Through the REST API with the admin's token, over concurrent keep-alive connections:
//!   1 service, 1 database, `schemas` schemas of `tables_per_schema` tables with a few columns.
//! - Once the catalog holds the first checkpoint's tables (10 000 by default) and again when it
//!   holds all of them (40 000): name lookups/s (`GET /tables/name/{fqn}` of random tables),
//!   list-page latency (`/tables?limit=100&after=…` and `/tables?database=…&limit=100&after=…`,
//!   walking the cursors) and search latency (`/search/query`) for an exact table name, a prefix
//!   shared by 200 tables, and a column name every table has.
//! - Lookups at the large size against the small one show whether name lookups stay O(log n).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;
use clap::Parser;
use ferrometa_bench::*;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "admin@open-metadata.org";
const ADMIN_PASSWORD: &str = "Bench-admin-passw0rd!";
const SERVICE: &str = "bench";
const DATABASE: &str = "bench.warehouse";
const LOOKUP_RATIO_GOAL: f64 = 0.8;
const SERVER_CPU: u32 = 0;
const CLIENT_CPU: u32 = 1;
const POSTGRES_ENV: &str = "FERROMETA_BENCH_POSTGRES_URL";

#[derive(Parser)]
#[command(about = "Catalog ingest, name lookups, list pages and search as the catalog grows, against GET /system/version in the same run")]
struct Args {
    /// The release binary to measure.
    #[arg(long, default_value_os_t = default_binary())]
    binary: PathBuf,
    /// Schemas in the database.
    #[arg(long, default_value_t = 2000)]
    schemas: usize,
    /// Tables per schema.
    #[arg(long, default_value_t = 20)]
    tables_per_schema: usize,
    /// Tables at which the first set of read measurements is taken.
    #[arg(long, default_value_t = 10_000)]
    checkpoint: usize,
    /// Concurrent connections for creating and looking up.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Name lookups per measurement.
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// `system/version` requests for the baseline.
    #[arg(long, default_value_t = 40_000)]
    baseline_requests: usize,
    /// List pages walked per measurement (each list).
    #[arg(long, default_value_t = 100)]
    pages: usize,
    /// Search queries per kind and measurement.
    #[arg(long, default_value_t = 200)]
    searches: usize,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/ingest.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.binary.exists(), "{} does not exist; build it with `cargo build --release -p ferrometa`", args.binary.display());
    ensure!(args.checkpoint < args.schemas * args.tables_per_schema, "the checkpoint must come before the last table");
    let info = RunInfo::collect();
    pin_self(CLIENT_CPU)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(bench(args, info))
}

/// A table's name: schema and table number, so that a prefix such as `s012` names the 200
/// tables of ten schemas.
fn schema_name(schema: usize) -> String {
    format!("s{schema:04}")
}

fn table_fqn(schema: usize, table: usize) -> String {
    format!("{DATABASE}.{}.{}", schema_name(schema), table_name(schema, table))
}

fn table_name(schema: usize, table: usize) -> String {
    format!("{}_t{table:02}", schema_name(schema))
}

fn create_table(schema: usize, table: usize) -> Value {
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

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value> {
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

    async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
}

/// Runs `op(i)` for i in `range` over `concurrency` tasks; returns the wall time.
async fn concurrently<F, Fut>(range: std::ops::Range<usize>, concurrency: usize, op: F) -> Result<Duration>
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
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Read costs at one catalog size.
struct Reads {
    tables: usize,
    lookups_per_s: f64,
    lookup_p50: f64,
    lookup_p99: f64,
    list_p50: f64,
    list_p99: f64,
    list_under_p50: f64,
    list_under_p99: f64,
    /// (label, p50, p99, hits of the first query) per kind of search.
    searches: Vec<(&'static str, f64, f64, i64)>,
}

/// The `q` of the i-th search of one kind.
type QueryText<'a> = Box<dyn Fn(usize) -> String + 'a>;

async fn latencies<F, Fut>(n: usize, mut op: F) -> Result<Vec<f64>>
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

/// Walks `pages` pages of a list from its start (again from the start if it ends first).
async fn list_pages(api: &Arc<Api>, path: &str, pages: usize) -> Result<Vec<f64>> {
    let mut after: Option<String> = None;
    let mut out = vec![];
    for _ in 0..pages {
        let url = match &after {
            Some(a) => format!("{path}&after={a}"),
            None => path.to_string(),
        };
        let start = Instant::now();
        let page = api.get(&url).await?;
        out.push(start.elapsed().as_secs_f64());
        ensure!(page["data"].as_array().is_some_and(|d| !d.is_empty()), "{url}: empty page");
        after = page["paging"]["after"].as_str().map(str::to_string);
    }
    Ok(out)
}

async fn measure_reads(api: &Arc<Api>, args: &Args, schemas_done: usize) -> Result<Reads> {
    let tables = schemas_done * args.tables_per_schema;
    eprintln!("reads at {tables} tables");
    let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
    let targets: Arc<Vec<String>> = Arc::new((0..args.lookups).map(|_| table_fqn(rng.below(schemas_done), rng.below(args.tables_per_schema))).collect());
    let single = latencies(500, |i| {
        let (api, fqn) = (api.clone(), targets[i].clone());
        async move { api.get(&format!("/api/v1/tables/name/{fqn}")).await.map(drop) }
    })
    .await?;
    let (a, t) = (api.clone(), targets.clone());
    let wall = concurrently(0..args.lookups, args.connections, move |i| {
        let (api, fqn) = (a.clone(), t[i].clone());
        async move { api.get(&format!("/api/v1/tables/name/{fqn}")).await.map(drop) }
    })
    .await?;
    let list = list_pages(api, "/api/v1/tables?limit=100", args.pages).await?;
    let list_under = list_pages(api, &format!("/api/v1/tables?database={DATABASE}&limit=100"), args.pages).await?;
    let mut searches = vec![];
    let kinds: [(&'static str, QueryText); 3] = [
        ("exact table name", Box::new(|i| table_name((i * 7919) % schemas_done, i % args.tables_per_schema))),
        ("prefix of 10 schemas (`s012`)", Box::new(|i| schema_name((i * 7919) % schemas_done)[..4].to_string())),
        ("a column name of every table (`amount`)", Box::new(|_| "amount".to_string())),
    ];
    for (label, q) in kinds {
        let search_path = |q: String| format!("/api/v1/search/query?q={q}&index=table_search_index&size=10");
        let first_total = api.get(&search_path(q(0))).await?["hits"]["total"]["value"].as_i64().unwrap_or(-1);
        let times = latencies(args.searches, |i| {
            let (api, path) = (api.clone(), search_path(q(i)));
            async move { api.get(&path).await.map(drop) }
        })
        .await?;
        searches.push((label, percentile(&times, 50.0), percentile(&times, 99.0), first_total));
    }
    Ok(Reads {
        tables,
        lookups_per_s: args.lookups as f64 / wall.as_secs_f64(),
        lookup_p50: percentile(&single, 50.0),
        lookup_p99: percentile(&single, 99.0),
        list_p50: percentile(&list, 50.0),
        list_p99: percentile(&list, 99.0),
        list_under_p50: percentile(&list_under, 50.0),
        list_under_p99: percentile(&list_under, 99.0),
        searches,
    })
}

/// Everything measured on one backend.
struct Run {
    backend: &'static str,
    version_per_s: f64,
    tables_per_s: f64,
    create_wall: Duration,
    tables: usize,
    small: Reads,
    large: Reads,
    rss_kib: (u64, u64),
}

async fn run_backend(args: &Args, backend: &'static str, database_url: Option<&str>) -> Result<Run> {
    let data = ScratchDir::new()?;
    let mut env: BTreeMap<String, String> = base_env(data.path());
    env.insert("TOKIO_WORKER_THREADS".into(), "1".into());
    env.insert("FERROMETA_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into());
    if let Some(url) = database_url {
        env.insert("FERROMETA_DATABASE_URL".into(), url.into());
    }
    let taskset = PathBuf::from("taskset");
    let binary = args.binary.display().to_string();
    let server = spawn_server(&taskset, &["-c", &SERVER_CPU.to_string(), &binary, "serve"], &env, Duration::from_secs(60), SERVING_MESSAGE)?;
    let client = http_client();
    let base = format!("http://{}", server.api_addr);
    let password = base64::engine::general_purpose::STANDARD.encode(ADMIN_PASSWORD);
    let login: Value = client.post(format!("{base}/api/v1/users/login")).json(&json!({"email": ADMIN_EMAIL, "password": password})).send().await?.json().await?;
    let token = login["accessToken"].as_str().context("admin login")?.to_string();
    let api = Arc::new(Api { client: client.clone(), base: base.clone(), token });

    eprintln!("{backend}: baseline");
    load(&client, &format!("{base}/api/v1/system/version"), args.baseline_requests / 10, args.connections).await?;
    let version_wall = load(&client, &format!("{base}/api/v1/system/version"), args.baseline_requests, args.connections).await?;
    let version_per_s = args.baseline_requests as f64 / version_wall.as_secs_f64();

    api.put("/api/v1/services/databaseServices", &json!({"name": SERVICE, "serviceType": "Postgres", "connection": {"config": {"type": "Postgres", "username": "bench", "hostPort": "db:5432", "database": "warehouse"}}}))
        .await?;
    api.put("/api/v1/databases", &json!({"name": "warehouse", "service": SERVICE})).await?;
    let checkpoint_schemas = args.checkpoint.div_ceil(args.tables_per_schema);
    let mut create_wall = Duration::ZERO;
    let mut small = None;
    for (from, to) in [(0, checkpoint_schemas), (checkpoint_schemas, args.schemas)] {
        eprintln!("{backend}: creating schemas {from}..{to}");
        let (a, per_schema) = (api.clone(), args.tables_per_schema);
        create_wall += concurrently(from..to, args.connections, move |schema| {
            let api = a.clone();
            async move { api.put("/api/v1/databaseSchemas", &json!({"name": schema_name(schema), "database": DATABASE})).await.map(drop) }
        })
        .await?;
        let a = api.clone();
        create_wall += concurrently(from * per_schema..to * per_schema, args.connections, move |i| {
            let api = a.clone();
            async move { api.put("/api/v1/tables", &create_table(i / per_schema, i % per_schema)).await.map(drop) }
        })
        .await?;
        if small.is_none() {
            small = Some(measure_reads(&api, args, to).await?);
        }
    }
    let large = measure_reads(&api, args, args.schemas).await?;
    let tables = args.schemas * args.tables_per_schema;
    let rss_kib = rss_kib(server.pid)?;
    server.stop(Duration::from_secs(30))?;
    Ok(Run { backend, version_per_s, tables_per_s: tables as f64 / create_wall.as_secs_f64(), create_wall, tables, small: small.expect("measured at the checkpoint"), large, rss_kib })
}

/// A fresh database in the PostgreSQL server of `admin_url`; dropped by [`drop_postgres`].
async fn fresh_postgres(admin_url: &str) -> Result<(String, String)> {
    sqlx::any::install_default_drivers();
    let name = format!("ferrometa_bench_{}", std::process::id());
    let admin = sqlx::AnyPool::connect(admin_url).await.context("connecting to FERROMETA_BENCH_POSTGRES_URL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await?;
    admin.close().await;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin_url);
    Ok((format!("{base}/{name}"), name))
}

async fn drop_postgres(admin_url: &str, name: &str) -> Result<()> {
    let admin = sqlx::AnyPool::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await?;
    Ok(())
}

async fn bench(args: Args, info: RunInfo) -> Result<()> {
    let mut runs = vec![run_backend(&args, "SQLite", None).await?];
    if let Ok(admin_url) = std::env::var(POSTGRES_ENV) {
        let (url, name) = fresh_postgres(&admin_url).await?;
        let run = run_backend(&args, "PostgreSQL", Some(&url)).await;
        drop_postgres(&admin_url, &name).await?;
        runs.push(run?);
    }
    write_report(&args.out, &report(&args, &info, &runs))
}

fn report(args: &Args, info: &RunInfo, runs: &[Run]) -> String {
    let mut text = info.header("Catalog ingest, name lookups, list pages and search as the catalog grows (issue 5)");
    let backends = runs.iter().map(|r| r.backend).collect::<Vec<_>>().join(" and ");
    text.push_str(&format!(
        "- Binary: `{}`; the server on CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`, `TOKIO_WORKER_THREADS=1`), basic auth, the admin's token on every request; backends: {backends}{}\n\
         - Load: this process on CPU {CLIENT_CPU}, {} keep-alive connections; 1 service, 1 database, {} schemas × {} tables of 4 columns, created with `PUT` (schemas first, then tables)\n\
         - Reads measured at {} tables and at {} tables: {} name lookups of random tables over {} connections (latency: 500 sequential lookups), {} pages of 100 of each list walked from the start, {} searches of each kind one at a time\n\
         - Baseline: `GET /api/v1/system/version` on the same server, {} requests over {} connections\n\n",
        args.binary.display(),
        if runs.len() == 1 { format!(" (PostgreSQL when `{POSTGRES_ENV}` is set)") } else { String::new() },
        args.connections,
        args.schemas,
        args.tables_per_schema,
        runs[0].small.tables,
        runs[0].large.tables,
        args.lookups,
        args.connections,
        args.pages,
        args.searches,
        args.baseline_requests,
        args.connections,
    ));
    text.push_str("## Summary\n\n");
    let mut t = Table::new(&["backend", "metric", "value", "baseline (same run)", "ratio", "goal", "result"]);
    for r in runs {
        let ratio = r.large.lookups_per_s / r.small.lookups_per_s;
        t.row(&[
            r.backend.into(),
            format!("name lookups/s at {} tables vs at {} tables", thousands(r.large.tables as f64), thousands(r.small.tables as f64)),
            format!("{} vs {}", thousands(r.large.lookups_per_s), thousands(r.small.lookups_per_s)),
            format!("`system/version`: {} req/s", thousands(r.version_per_s)),
            format!("{ratio:.2} (lookups at {}: {:.2} of the baseline)", thousands(r.large.tables as f64), r.large.lookups_per_s / r.version_per_s),
            format!("≥ {LOOKUP_RATIO_GOAL}"),
            verdict(ratio >= LOOKUP_RATIO_GOAL).to_string(),
        ]);
        t.row(&[
            r.backend.into(),
            "tables created/s (`PUT /api/v1/tables`)".into(),
            format!("{} ({} tables in {:.1} s)", thousands(r.tables_per_s), thousands(r.tables as f64), r.create_wall.as_secs_f64()),
            format!("`system/version`: {} req/s", thousands(r.version_per_s)),
            format!("{:.3}", r.tables_per_s / r.version_per_s),
            "none (reported)".into(),
            "–".into(),
        ]);
        let list_ratio = r.large.list_p50 / r.small.list_p50;
        t.row(&[
            r.backend.into(),
            "list page p50, `/tables?limit=100&after=`".into(),
            format!("{} at {} vs {} at {}", ms(r.large.list_p50), thousands(r.large.tables as f64), ms(r.small.list_p50), thousands(r.small.tables as f64)),
            "–".into(),
            format!("{list_ratio:.2} (time at large / at small)"),
            "none (reported)".into(),
            "–".into(),
        ]);
    }
    text.push_str(&t.render());
    text.push_str("\n## Reads at each size\n\n");
    let mut t = Table::new(&["backend", "tables", "lookups/s", "lookup p50 / p99", "list page p50 / p99", "list page under the database p50 / p99"]);
    for r in runs {
        for reads in [&r.small, &r.large] {
            t.row(&[
                r.backend.into(),
                thousands(reads.tables as f64),
                thousands(reads.lookups_per_s),
                format!("{} / {}", ms(reads.lookup_p50), ms(reads.lookup_p99)),
                format!("{} / {}", ms(reads.list_p50), ms(reads.list_p99)),
                format!("{} / {}", ms(reads.list_under_p50), ms(reads.list_under_p99)),
            ]);
        }
    }
    text.push_str(&t.render());
    text.push_str("\n## Search latency (`/api/v1/search/query?index=table_search_index&size=10`)\n\n");
    let mut t = Table::new(&["backend", "tables", "query", "hits (total)", "p50", "p99"]);
    for r in runs {
        for reads in [&r.small, &r.large] {
            for (label, p50, p99, total) in &reads.searches {
                t.row(&[r.backend.into(), thousands(reads.tables as f64), label.to_string(), thousands(*total as f64), ms(*p50), ms(*p99)]);
            }
        }
    }
    text.push_str(&t.render());
    text.push('\n');
    for r in runs {
        text.push_str(&format!("{} server RSS after the run: {} (peak {}).\n", r.backend, mib(r.rss_kib.0 as f64), mib(r.rss_kib.1 as f64)));
    }
    text
}
