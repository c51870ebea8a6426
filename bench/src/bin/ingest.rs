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

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, ensure};
use clap::Parser;
use ferrometa_bench::catalog::*;
use ferrometa_bench::*;

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

impl Args {
    fn plan(&self) -> ReadPlan {
        ReadPlan {
            tables_per_schema: self.tables_per_schema,
            connections: self.connections,
            lookups: self.lookups,
            sequential_lookups: 500,
            pages: self.pages,
            searches: self.searches,
        }
    }
}

async fn run_backend(args: &Args, backend: &'static str, database_url: Option<&str>) -> Result<Run> {
    let data = ScratchDir::new()?;
    let (server, api) = start_server(&args.binary, &server_env(data.path(), database_url)).await?;
    let (client, base) = (&api.client, &api.base);

    eprintln!("{backend}: baseline");
    load(client, &format!("{base}/api/v1/system/version"), args.baseline_requests / 10, args.connections).await?;
    let version_wall = load(client, &format!("{base}/api/v1/system/version"), args.baseline_requests, args.connections).await?;
    let version_per_s = args.baseline_requests as f64 / version_wall.as_secs_f64();

    api.put("/api/v1/services/databaseServices", &create_service()).await?;
    api.put("/api/v1/databases", &create_database()).await?;
    let checkpoint_schemas = args.checkpoint.div_ceil(args.tables_per_schema);
    let mut create_wall = Duration::ZERO;
    let mut small = None;
    let plan = args.plan();
    for (from, to) in [(0, checkpoint_schemas), (checkpoint_schemas, args.schemas)] {
        eprintln!("{backend}: creating schemas {from}..{to}");
        let (a, per_schema) = (api.clone(), args.tables_per_schema);
        create_wall += concurrently(from..to, args.connections, move |schema| {
            let api = a.clone();
            async move { api.put("/api/v1/databaseSchemas", &create_schema(schema)).await.map(drop) }
        })
        .await?;
        let a = api.clone();
        create_wall += concurrently(from * per_schema..to * per_schema, args.connections, move |i| {
            let api = a.clone();
            async move { api.put("/api/v1/tables", &create_table(i / per_schema, i % per_schema)).await.map(drop) }
        })
        .await?;
        if small.is_none() {
            small = Some(measure_reads(&api, &plan, to).await?);
        }
    }
    let large = measure_reads(&api, &plan, args.schemas).await?;
    let tables = args.schemas * args.tables_per_schema;
    let rss_kib = rss_kib(server.pid)?;
    server.stop(Duration::from_secs(30))?;
    Ok(Run { backend, version_per_s, tables_per_s: tables as f64 / create_wall.as_secs_f64(), create_wall, tables, small: small.expect("measured at the checkpoint"), large, rss_kib })
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
        let list_ratio = r.large.list.0 / r.small.list.0;
        t.row(&[
            r.backend.into(),
            "list page p50, `/tables?limit=100&after=`".into(),
            format!("{} at {} vs {} at {}", ms(r.large.list.0), thousands(r.large.tables as f64), ms(r.small.list.0), thousands(r.small.tables as f64)),
            "–".into(),
            format!("{list_ratio:.2} (time at large / at small)"),
            "none (reported)".into(),
            "–".into(),
        ]);
    }
    text.push_str(&t.render());
    text.push_str("\n## Reads at each size\n\n");
    let rows: Vec<(&str, &Reads)> = runs.iter().flat_map(|r| [(r.backend, &r.small), (r.backend, &r.large)]).collect();
    text.push_str(&reads_table(&rows));
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
