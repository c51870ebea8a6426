//! Issue 5, at scale: `GET /tables/name/{fqn}` lookups and list pages at 10 000 and at 1 000 000
//! tables (goal: flat).
//!
//! Creating a million tables through HTTP takes hours, so the catalog is bulk-loaded in-process:
//! the server's own state (`ferrometa_server::startup::build_state`, i.e. the first start's keys,
//! migrations and bootstrap, from the same environment the server gets) and its catalog's
//! `put_asset`, the function behind `PUT /api/v1/tables` — so the rows (entity, search document,
//! version, `entity_ancestors`) are exactly the server's, written through the store's own insert
//! functions, by `--load-tasks` concurrent tasks. The server is stopped while loading.
//!
//! Each size is a catalog of its own. In rounds that alternate between them, the release server
//! is started on one (CPU 0, `TOKIO_WORKER_THREADS=1`) and, from this process on CPU 1, name
//! lookups of random tables (p50/p99 one at a time, and lookups/s over concurrent connections) and
//! list pages (`/tables?limit=100`: first page and `after=` pages, and the same under the
//! database) are measured; each figure is the median over the rounds of large / small.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use clap::Parser;
use ferrometa_bench::catalog::*;
use ferrometa_bench::*;
use ferrometa_catalog::Catalog;
use ferrometa_catalog::data::{AssetType, DATABASE_SCHEMAS, DATABASE_SERVICES, DATABASES, TABLES};
use serde_json::Value;

/// A list page at the large size may take this many times as long as at the small size and still
/// count as flat (reported; the goal of the issue is "flat").
const LIST_RATIO_FLAT: f64 = 1.25;

#[derive(Parser)]
#[command(about = "Name lookups and list pages at 10 000 and at 1 000 000 tables (bulk-loaded in-process through the catalog), SQLite and PostgreSQL")]
struct Args {
    /// The release binary to measure.
    #[arg(long, default_value_os_t = default_binary())]
    binary: PathBuf,
    /// Tables at the large size.
    #[arg(long, default_value_t = 1_000_000)]
    tables: usize,
    /// Tables at the small size.
    #[arg(long, default_value_t = 10_000)]
    small: usize,
    /// Tables per schema.
    #[arg(long, default_value_t = 20)]
    tables_per_schema: usize,
    /// Concurrent tasks of the in-process load.
    #[arg(long, default_value_t = 8)]
    load_tasks: usize,
    /// Concurrent connections for lookups/s.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Name lookups per measurement (lookups/s).
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// Sequential lookups per measurement (latency).
    #[arg(long, default_value_t = 1000)]
    sequential_lookups: usize,
    /// List pages walked per list and measurement.
    #[arg(long, default_value_t = 100)]
    pages: usize,
    /// Where the SQLite data dir is made. A tmpfs by default: the loader commits each table
    /// several times (as the server does), and an fsync on this VM's disk costs milliseconds.
    #[arg(long, default_value = "/dev/shm")]
    scratch: PathBuf,
    /// Rounds of reads, each measuring both sizes.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Keep the SQLite catalogs in this directory (one per size) and reuse them when a later
    /// run finds them loaded: loading a million tables takes about an hour.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/scale.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.binary.exists(), "{} does not exist; build it with `cargo build --release -p ferrometa`", args.binary.display());
    ensure!(args.small < args.tables && args.small >= args.tables_per_schema, "--small must be below --tables");
    ensure!(args.rounds > 0, "--rounds must be at least 1");
    ensure!(args.tables % args.tables_per_schema == 0 && args.small % args.tables_per_schema == 0, "sizes must be whole schemas of --tables-per-schema tables");
    let info = RunInfo::collect();
    // The first start's bootstrap reads the admin's password from the process environment (not
    // from the configuration); the in-process first start must set the one the server gets.
    // SAFETY: still single-threaded (no runtime yet), so nothing reads the environment meanwhile.
    unsafe { std::env::set_var("FERROMETA_ADMIN_PASSWORD", ADMIN_PASSWORD) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(args, info))
}

/// Loading uses every CPU (no server runs then); measuring pins this process to CPU 1.
fn all_cpus() -> Result<()> {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2);
    pin_self_to(&format!("0-{}", n - 1))
}

/// One load: `tables` tables in `elapsed`.
struct Loaded {
    tables: usize,
    elapsed: Duration,
}

/// PUTs through the catalog what `PUT /api/v1/<collection>` would, as the admin.
async fn put(catalog: &Catalog, t: &'static AssetType, request: Value) -> Result<()> {
    let admin = catalog.user_by_name(ADMIN_NAME).await?.ok_or_else(|| anyhow!("no user {ADMIN_NAME}"))?;
    catalog.put_asset(ferrometa_catalog::Actor::local(&catalog.subject(&admin)?), t, request).await.map(drop).map_err(|e| anyhow!("put {}: {e}", t.kind.name))
}

/// Loads `schemas` schemas and their tables, `tasks` at a time; prints progress.
async fn load(catalog: &Catalog, schemas: usize, per_schema: usize, tasks: usize) -> Result<Loaded> {
    let start = Instant::now();
    let c = catalog.clone();
    concurrently(0..schemas, tasks, move |schema| {
        let c = c.clone();
        async move { put(&c, &DATABASE_SCHEMAS, create_schema(schema)).await }
    })
    .await?;
    let (c, total) = (catalog.clone(), schemas * per_schema);
    let step = (total / 20).max(1);
    concurrently(0..total, tasks, move |i| {
        let c = c.clone();
        async move {
            if i.is_multiple_of(step) && i > 0 {
                eprintln!("  loaded {i} of {total} tables ({:.0}/s)", i as f64 / start.elapsed().as_secs_f64());
            }
            put(&c, &TABLES, create_table(i / per_schema, i % per_schema)).await
        }
    })
    .await?;
    Ok(Loaded { tables: total, elapsed: start.elapsed() })
}

/// Reads at one size in one round, with the server started on the loaded data (and stopped afterwards).
struct AtSize {
    reads: Reads,
    /// Spawn → "ferrometa is serving" and the admin's login answered.
    ready: Duration,
    rss_kib: (u64, u64),
}

async fn measure(args: &Args, env: &std::collections::BTreeMap<String, String>, tables: usize) -> Result<AtSize> {
    pin_self(CLIENT_CPU)?;
    let started = Instant::now();
    let (server, api) = start_server(&args.binary, env).await?;
    let ready = started.elapsed();
    let plan = ReadPlan {
        tables_per_schema: args.tables_per_schema,
        connections: args.connections,
        lookups: args.lookups,
        sequential_lookups: args.sequential_lookups,
        pages: args.pages,
        searches: 0,
    };
    // Warm-up: the first requests after a start open connections and fill caches.
    measure_reads(&api, &ReadPlan { lookups: 1000, sequential_lookups: 100, pages: 5, ..plan }, tables / args.tables_per_schema).await?;
    let reads = measure_reads(&api, &plan, tables / args.tables_per_schema).await?;
    for (list, total) in [("/tables", reads.list_total), ("/tables?database=", reads.list_under_total)] {
        ensure!(total == tables as i64, "paging.total of {list} is {total}, but {tables} tables were loaded");
    }
    let rss_kib = rss_kib(server.pid)?;
    server.stop(Duration::from_secs(60))?;
    all_cpus()?;
    Ok(AtSize { reads, ready, rss_kib })
}

/// One catalog of `tables` tables: its own data dir (and PostgreSQL database), loaded once.
struct Catalogued {
    tables: usize,
    env: std::collections::BTreeMap<String, String>,
    /// `None` when `--keep` found the catalog already loaded.
    load: Option<Loaded>,
    /// Kept for its `Drop` (which removes the dir) unless `--keep`.
    _scratch: Option<ScratchDir>,
    data: PathBuf,
}

/// Where a catalog of `tables` tables lives: under `--keep` (reused when it was loaded to
/// this size before), else in a fresh scratch dir.
fn data_dir(args: &Args, backend: &str, database_url: Option<&str>, tables: usize) -> Result<(PathBuf, Option<ScratchDir>)> {
    std::fs::create_dir_all(&args.scratch).with_context(|| format!("creating {}", args.scratch.display()))?;
    // A PostgreSQL database is made afresh by each run, so only SQLite's data can be kept.
    match args.keep.as_ref().filter(|_| database_url.is_none()) {
        Some(keep) => {
            let dir = keep.join(format!("{}-{tables}", backend.to_lowercase()));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Ok((dir, None))
        }
        None => {
            let scratch = ScratchDir::new_in(&args.scratch)?;
            Ok((scratch.path().to_path_buf(), Some(scratch)))
        }
    }
}

/// Marks a kept catalog as completely loaded; a load cut short runs again over what it wrote
/// (PUT is idempotent).
const LOADED_MARKER: &str = "bench-loaded";

async fn catalogue(args: &Args, backend: &'static str, database_url: Option<&str>, tables: usize) -> Result<Catalogued> {
    let (data, scratch) = data_dir(args, backend, database_url, tables)?;
    let env = server_env(&data, database_url);
    if data.join(LOADED_MARKER).exists() {
        eprintln!("{backend}: reusing the {tables} tables kept in {}", data.display());
        return Ok(Catalogued { tables, env, load: None, _scratch: scratch, data });
    }
    let config = ferrometa_config::load(None, &|k| env.get(k).cloned()).map_err(|e| anyhow!("configuration: {e}"))?.config;
    all_cpus()?;
    eprintln!("{backend}: first start in-process (keys, migrations, bootstrap), then {tables} tables");
    let state = ferrometa_server::startup::build_state(config).await.map_err(|e| anyhow!("build_state: {e}"))?;
    let catalog = state.catalog.clone();
    put(&catalog, &DATABASE_SERVICES, create_service()).await?;
    put(&catalog, &DATABASES, create_database()).await?;
    let load = load(&catalog, tables / args.tables_per_schema, args.tables_per_schema, args.load_tasks).await?;
    std::fs::write(data.join(LOADED_MARKER), tables.to_string())?;
    Ok(Catalogued { tables, env, load: Some(load), _scratch: scratch, data })
}

/// Everything measured on one backend: per round, the small size and the large one.
struct Run {
    backend: &'static str,
    small: Catalogued,
    large: Catalogued,
    rounds: Vec<(AtSize, AtSize)>,
    /// Bytes of the SQLite data dir at the large size.
    disk: Option<u64>,
}

/// One figure at both sizes: the medians over the rounds, and the median of the rounds' ratios.
struct Compared {
    small: f64,
    large: f64,
    ratio: f64,
}

/// One figure of the reads.
type Figure = fn(&Reads) -> f64;

impl Run {
    fn compare(&self, figure: Figure) -> Compared {
        let at = |large: bool| median(&self.rounds.iter().map(|(s, l)| figure(&if large { l } else { s }.reads)).collect::<Vec<_>>());
        let ratio = median(&self.rounds.iter().map(|(s, l)| figure(&l.reads) / figure(&s.reads)).collect::<Vec<_>>());
        Compared { small: at(false), large: at(true), ratio }
    }
}

async fn run_backend(args: &Args, backend: &'static str, database_urls: Option<(&str, &str)>) -> Result<Run> {
    let small = catalogue(args, backend, database_urls.map(|u| u.0), args.small).await?;
    let large = catalogue(args, backend, database_urls.map(|u| u.1), args.tables).await?;
    // Alternating sizes round by round, so a change of the machine's speed over the run
    // weighs on both sides of each ratio.
    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        eprintln!("{backend}: round {} of {}", round + 1, args.rounds);
        let (first, second) = if round % 2 == 0 { (&small, &large) } else { (&large, &small) };
        let a = measure(args, &first.env, first.tables).await?;
        let b = measure(args, &second.env, second.tables).await?;
        rounds.push(if round % 2 == 0 { (a, b) } else { (b, a) });
    }
    let disk = database_urls.is_none().then(|| disk_usage(&large.data));
    Ok(Run { backend, small, large, rounds, disk })
}

async fn bench(args: Args, info: RunInfo) -> Result<()> {
    let mut runs = vec![run_backend(&args, "SQLite", None).await?];
    if let Ok(admin_url) = std::env::var(POSTGRES_ENV) {
        let (small, large) = (fresh_postgres(&admin_url).await?, fresh_postgres(&admin_url).await?);
        // The load commits every entity several times, as the server does; the measured reads commit nothing.
        let admin = sqlx::AnyPool::connect(&admin_url).await?;
        for name in [&small.1, &large.1] {
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} SET synchronous_commit = off"))).execute(&admin).await?;
        }
        admin.close().await;
        let run = run_backend(&args, "PostgreSQL", Some((&small.0, &large.0))).await;
        for name in [&small.1, &large.1] {
            drop_postgres(&admin_url, name).await?;
        }
        runs.push(run?);
    }
    write_report(&args.out, &report(&args, &info, &runs))
}

/// One summary row: a figure at the small and the large size, its goal and verdict (if judged).
fn ratio_row(t: &mut Table, backend: &str, what: &str, Compared { small, large, ratio }: Compared, tables: (usize, usize), (goal, pass): (&str, Option<bool>), unit: fn(f64) -> String) {
    t.row(&[
        backend.into(),
        what.into(),
        format!("{} at {}", unit(large), thousands(tables.1 as f64)),
        format!("{} at {}", unit(small), thousands(tables.0 as f64)),
        format!("{ratio:.2}"),
        goal.into(),
        pass.map(|p| verdict(p).to_string()).unwrap_or_else(|| "–".into()),
    ]);
}

fn report(args: &Args, info: &RunInfo, runs: &[Run]) -> String {
    let mut text = info.header("Name lookups and list pages at 10 000 and at 1 000 000 tables (issue 5, scale)");
    let reduced = if args.tables < 1_000_000 { format!(" **(reduced-size run: {} tables, not the 1 000 000 of the issue)**", thousands(args.tables as f64)) } else { String::new() };
    text.push_str(&format!(
        "- Sizes: {} and {} tables{reduced}, {} per schema, 1 service, 1 database, each size a catalog of its own; backends: {}{}\n\
         - Load: in-process through the server's own state and catalog (`build_state` from the server's environment, then `Catalog::put_asset` — what `PUT /api/v1/tables` runs — as `{ADMIN_NAME}`), {} concurrent tasks on all CPUs, server stopped; SQLite data dirs under `{}`; PostgreSQL databases created with `synchronous_commit = off`{}\n\
         - Reads: {} rounds, each starting the release server `{}` on the small catalog and on the large one in turn (small first in odd rounds, large first in even ones), on CPU {SERVER_CPU} (`taskset`, `TOKIO_WORKER_THREADS=1`), basic auth, the admin's token; this process on CPU {CLIENT_CPU}. After a warm-up: {} sequential name lookups of random tables (latency), {} over {} keep-alive connections (lookups/s), each list's first page 20 times and {} `after=` pages of 100 walked from the start\n\n",
        thousands(args.small as f64),
        thousands(args.tables as f64),
        args.tables_per_schema,
        runs.iter().map(|r| r.backend).collect::<Vec<_>>().join(" and "),
        if runs.len() == 1 { format!(" (PostgreSQL when `{POSTGRES_ENV}` is set)") } else { String::new() },
        args.load_tasks,
        args.scratch.display(),
        args.keep.as_ref().map(|k| format!("; SQLite catalogs kept in `{}` and reused when already loaded", k.display())).unwrap_or_default(),
        args.rounds,
        args.binary.display(),
        args.sequential_lookups,
        args.lookups,
        args.connections,
        args.pages,
    ));
    text.push_str("## Summary\n\n");
    let mut t = Table::new(&["backend", "metric", "measured (large, median of the rounds)", "baseline (small, same rounds)", "ratio large / small (median of the rounds' ratios)", "goal", "result"]);
    let per_s = |v: f64| format!("{}/s", thousands(v));
    for r in runs {
        let sizes = (r.small.tables, r.large.tables);
        let lookups = r.compare(|x| x.lookups_per_s);
        let pass = lookups.ratio >= LOOKUP_RATIO_GOAL;
        ratio_row(&mut t, r.backend, "name lookups/s (`GET /tables/name/{fqn}`)", lookups, sizes, (&format!("≥ {LOOKUP_RATIO_GOAL} (flat)"), Some(pass)), per_s);
        ratio_row(&mut t, r.backend, "name lookup p99 (one at a time)", r.compare(|x| x.lookup.1), sizes, ("flat (reported)", None), ms);
        let goal = format!("flat (≤ {LIST_RATIO_FLAT})");
        let lists: [(&str, Figure); 4] = [
            ("list first page p50 (`/tables?limit=100`)", |x| x.list_first.0),
            ("list `after=` page p50", |x| x.list.0),
            ("under the database: first page p50 (`?database=`)", |x| x.list_under_first.0),
            ("under the database: `after=` page p50", |x| x.list_under.0),
        ];
        for (what, figure) in lists {
            let compared = r.compare(figure);
            let pass = compared.ratio <= LIST_RATIO_FLAT;
            ratio_row(&mut t, r.backend, what, compared, sizes, (&goal, Some(pass)), ms);
        }
    }
    text.push_str(&t.render());
    text.push_str("\n## Reads in each round\n\n");
    let labels: Vec<Vec<String>> = runs.iter().map(|r| (1..=r.rounds.len()).map(|n| format!("{}, round {n}", r.backend)).collect()).collect();
    let rows: Vec<(&str, &Reads)> = runs
        .iter()
        .zip(&labels)
        .flat_map(|(r, labels)| r.rounds.iter().zip(labels).flat_map(|((s, l), label)| [(label.as_str(), &s.reads), (label.as_str(), &l.reads)]))
        .collect();
    text.push_str(&reads_table(&rows));
    text.push_str("\n## Load and server\n\n");
    let mut t = Table::new(&["backend", "load", "tables/s (in-process)", "spawn → serving and the admin logged in (median)", "server RSS after the reads, largest of the rounds (peak)"]);
    for r in runs {
        for (catalog, large) in [(&r.small, false), (&r.large, true)] {
            let at: Vec<&AtSize> = r.rounds.iter().map(|(s, l)| if large { l } else { s }).collect();
            let load = catalog.load.as_ref();
            t.row(&[
                r.backend.into(),
                load.map_or_else(|| format!("{} tables, kept from an earlier run", thousands(catalog.tables as f64)), |l| format!("{} tables in {:.1} s", thousands(l.tables as f64), l.elapsed.as_secs_f64())),
                load.map_or_else(|| "–".into(), |l| thousands(l.tables as f64 / l.elapsed.as_secs_f64())),
                format!("{} at {} tables", ms(median(&at.iter().map(|a| a.ready.as_secs_f64()).collect::<Vec<_>>())), thousands(catalog.tables as f64)),
                format!("{} ({})", mib(at.iter().map(|a| a.rss_kib.0).max().unwrap_or(0) as f64), mib(at.iter().map(|a| a.rss_kib.1).max().unwrap_or(0) as f64)),
            ]);
        }
    }
    text.push_str(&t.render());
    for r in runs {
        if let Some(bytes) = r.disk {
            text.push_str(&format!("\n{} data dir at {} tables: {:.2} GiB.\n", r.backend, thousands(args.tables as f64), bytes as f64 / (1u64 << 30) as f64));
        }
    }
    text.push_str(&format!(
        "\nA list is flat when a page at the large size takes at most {LIST_RATIO_FLAT} × as long as at the small size; name lookups when lookups/s keep ≥ {LOOKUP_RATIO_GOAL} of the small size's (as in `ingest`). `paging.total` of each first page is checked against the number of tables loaded.\n"
    ));
    text
}
