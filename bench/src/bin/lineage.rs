//! Issue 16: `GET /api/v1/lineage/table/name/{fqn}?upstreamDepth=3&downstreamDepth=3` on lineage
//! graphs of 10 000 and of 1 000 000 edges (goal: the large graph's latency ≤ 1.25 × the small
//! one's).
//!
//! Each size is a catalog of its own, loaded in-process through the server's own state
//! (`build_state`) and catalog (`put_asset` for the tables): the same neighbourhood around one
//! root table (a binary tree three levels up and three down: 28 tables, 28 edges), and a
//! background of `edges` random edges between other tables, written with the store's
//! `put_lineage_edge` (the insert behind `PUT /api/v1/lineage`). The background never touches
//! the neighbourhood, so both walks return the same answer and only the graph's size differs.
//! In rounds alternating between the sizes, the release server is started on each (CPU 0,
//! `TOKIO_WORKER_THREADS=1`) and this process (CPU 1) reads the root's lineage one request at a
//! time; the figure is the median over the rounds of large / small.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use clap::Parser;
use ferrometa_bench::catalog::*;
use ferrometa_bench::*;
use ferrometa_catalog::Catalog;
use ferrometa_catalog::data::{AssetType, DATABASE_SCHEMAS, DATABASE_SERVICES, DATABASES, TABLES};
use ferrometa_store::LineageEdge;
use serde_json::{Value, json};

const RATIO_GOAL: f64 = 1.25;
/// Levels of the root's neighbourhood upstream and downstream (the depth read).
const DEPTH: usize = 3;

#[derive(Parser)]
#[command(about = "Lineage reads at depth 3 on graphs of 10 000 and 1 000 000 edges (bulk-loaded in-process)")]
struct Args {
    /// The release binary to measure.
    #[arg(long, default_value_os_t = default_binary())]
    binary: PathBuf,
    /// Background edges at the large size.
    #[arg(long, default_value_t = 1_000_000)]
    edges: usize,
    /// Background edges at the small size.
    #[arg(long, default_value_t = 10_000)]
    small: usize,
    /// Tables the background edges join (at both sizes).
    #[arg(long, default_value_t = 5_000)]
    background_tables: usize,
    /// Sequential lineage reads per size and round.
    #[arg(long, default_value_t = 400)]
    reads: usize,
    /// Rounds, each reading both sizes.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Where the SQLite data dirs are made (a tmpfs: the load commits every edge).
    #[arg(long, default_value = "/dev/shm")]
    scratch: PathBuf,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/lineage.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.binary.exists(), "{} does not exist; build it with `cargo build --release -p ferrometa`", args.binary.display());
    ensure!(args.small < args.edges && args.rounds > 0, "--small must be below --edges, --rounds at least 1");
    let pairs = args.background_tables * (args.background_tables - 1);
    ensure!(args.edges <= pairs / 2, "{} background tables cannot hold {} distinct edges", args.background_tables, args.edges);
    let info = RunInfo::collect();
    // SAFETY: single-threaded still; the in-process first start reads the admin password here.
    unsafe { std::env::set_var("FERROMETA_ADMIN_PASSWORD", ADMIN_PASSWORD) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(args, info))
}

async fn put(catalog: &Catalog, t: &'static AssetType, request: Value) -> Result<Value> {
    let admin = catalog.user_by_name(ADMIN_NAME).await?.ok_or_else(|| anyhow!("no user {ADMIN_NAME}"))?;
    let (entity, _) = catalog.put_asset(ferrometa_catalog::Actor::local(&catalog.subject(&admin)?), t, request).await.map_err(|e| anyhow!("put {}: {e}", t.kind.name))?;
    Ok(entity)
}

fn edge(from: &str, to: &str) -> LineageEdge {
    let details = json!({"source": "Manual"}).to_string();
    LineageEdge { from_id: from.into(), from_type: "table".into(), to_id: to.into(), to_type: "table".into(), source: "Manual".into(), details }
}

/// One loaded catalog: its data dir (removed on drop), server environment and load time.
struct Graph {
    edges: usize,
    env: std::collections::BTreeMap<String, String>,
    load: Duration,
    _scratch: ScratchDir,
}

/// Tables in schema 0 (the neighbourhood: the root is table 0) and schema 1 (the background).
async fn load(args: &Args, edges: usize) -> Result<Graph> {
    std::fs::create_dir_all(&args.scratch)?;
    let scratch = ScratchDir::new_in(&args.scratch)?;
    let env = server_env(scratch.path(), None);
    let config = ferrometa_config::load(None, &|k| env.get(k).cloned()).map_err(|e| anyhow!("configuration: {e}"))?.config;
    let state = ferrometa_server::startup::build_state(config).await.map_err(|e| anyhow!("build_state: {e}"))?;
    let (catalog, store) = (state.catalog.clone(), state.store.clone());
    let started = Instant::now();
    put(&catalog, &DATABASE_SERVICES, create_service()).await?;
    put(&catalog, &DATABASES, create_database()).await?;
    let mut ids: [Vec<String>; 2] = [vec![], vec![]];
    for (schema, count) in [(0, 1 + 2 * ((1 << (DEPTH + 1)) - 2)), (1, args.background_tables)] {
        put(&catalog, &DATABASE_SCHEMAS, create_schema(schema)).await?;
        for table in 0..count {
            let entity = put(&catalog, &TABLES, create_table(schema, table)).await?;
            ids[schema].push(entity["id"].as_str().unwrap_or_default().to_string());
        }
    }
    // The neighbourhood: node k's parents upstream are 2k+1 and 2k+2 (numbered 1..=14 above
    // the root), its children downstream the same numbers offset by 14.
    let (near, half) = (&ids[0], (1 << (DEPTH + 1)) - 2);
    for k in 0..(1 << DEPTH) - 1 {
        for child in [2 * k + 1, 2 * k + 2] {
            let (up_from, up_to) = (&near[child], if k == 0 { &near[0] } else { &near[k] });
            store.put_lineage_edge(&edge(up_from, up_to)).await?;
            let (down_from, down_to) = (if k == 0 { &near[0] } else { &near[k + half] }, &near[child + half]);
            store.put_lineage_edge(&edge(down_from, down_to)).await?;
        }
    }
    let (far, mut rng, mut seen) = (&ids[1], Xorshift(0x9e37_79b9_7f4a_7c15), HashSet::with_capacity(edges));
    while seen.len() < edges {
        let (a, b) = (rng.below(far.len()), rng.below(far.len()));
        if a != b && seen.insert((a, b)) {
            store.put_lineage_edge(&edge(&far[a], &far[b])).await?;
            if seen.len().is_multiple_of(100_000) {
                eprintln!("  {} of {edges} background edges ({:.0}/s)", seen.len(), seen.len() as f64 / started.elapsed().as_secs_f64());
            }
        }
    }
    let load = started.elapsed();
    store.close().await;
    Ok(Graph { edges, env, load, _scratch: scratch })
}

/// Latencies (s) of the root's lineage read at depth 3 both ways; checks the answer's size.
async fn read(args: &Args, graph: &Graph) -> Result<Vec<f64>> {
    pin_self(CLIENT_CPU)?;
    let (server, api) = start_server(&args.binary, &graph.env).await?;
    let path = format!("/api/v1/lineage/table/name/{}?upstreamDepth={DEPTH}&downstreamDepth={DEPTH}", table_fqn(0, 0));
    let answer = api.get(&path).await?;
    let nodes = answer["nodes"].as_array().map_or(0, Vec::len);
    ensure!(nodes == 2 * ((1 << (DEPTH + 1)) - 2), "the root's lineage has {nodes} nodes, expected the whole neighbourhood and nothing else");
    latencies(50, |_| async { api.get(&path).await.map(drop) }).await?;
    let times = latencies(args.reads, |_| async { api.get(&path).await.map(drop) }).await?;
    server.stop(Duration::from_secs(60))?;
    pin_self_to("0-1")?;
    Ok(times)
}

async fn bench(args: Args, info: RunInfo) -> Result<()> {
    eprintln!("loading {} and {} background edges", args.small, args.edges);
    let small = load(&args, args.small).await?;
    let large = load(&args, args.edges).await?;
    let mut rounds = vec![];
    for round in 0..args.rounds {
        eprintln!("round {} of {}", round + 1, args.rounds);
        let (s, l) = if round % 2 == 0 {
            let s = read(&args, &small).await?;
            (s, read(&args, &large).await?)
        } else {
            let l = read(&args, &large).await?;
            (read(&args, &small).await?, l)
        };
        rounds.push((s, l));
    }
    write_report(&args.out, &report(&args, &info, &small, &large, &rounds))
}

fn report(args: &Args, info: &RunInfo, small: &Graph, large: &Graph, rounds: &[(Vec<f64>, Vec<f64>)]) -> String {
    let mut text = info.header("Lineage reads on graphs of 10 000 and 1 000 000 edges (issue 16)");
    text.push_str(&format!(
        "- Graphs: the same neighbourhood of the root table (a binary tree {DEPTH} levels up and {DEPTH} down: 28 tables, 28 edges) and {} or {} random background edges between {} other tables, each size a SQLite catalog of its own under `{}`; loaded in-process (`build_state`, `Catalog::put_asset` for the tables, `Store::put_lineage_edge` for the edges)\n\
         - Reads: {} rounds alternating the sizes, the release server `{}` on CPU {SERVER_CPU} (`TOKIO_WORKER_THREADS=1`), basic auth, the admin's token; this process on CPU {CLIENT_CPU}; after 50 warm-up reads, {} sequential `GET /api/v1/lineage/table/name/<root>?upstreamDepth={DEPTH}&downstreamDepth={DEPTH}` (each answer checked to hold the 28 neighbours and nothing else)\n\n",
        thousands(small.edges as f64),
        thousands(large.edges as f64),
        thousands(args.background_tables as f64),
        args.scratch.display(),
        args.rounds,
        args.binary.display(),
        args.reads,
    ));
    let p = |times: &[f64], q: f64| percentile(times, q);
    let ratio = median(&rounds.iter().map(|(s, l)| p(l, 50.0) / p(s, 50.0)).collect::<Vec<_>>());
    let mut t = Table::new(&["metric", "measured (1 M edges)", "baseline (10 k edges, same rounds)", "ratio (median of the rounds)", "goal", "result"]);
    let at = |large: bool, q: f64| median(&rounds.iter().map(|(s, l)| p(if large { l } else { s }, q)).collect::<Vec<_>>());
    t.row(&["lineage read p50, depth 3 both ways".into(), ms(at(true, 50.0)), ms(at(false, 50.0)), format!("{ratio:.2}"), format!("≤ {RATIO_GOAL}"), verdict(ratio <= RATIO_GOAL).into()]);
    let ratio99 = median(&rounds.iter().map(|(s, l)| p(l, 99.0) / p(s, 99.0)).collect::<Vec<_>>());
    t.row(&["lineage read p99".into(), ms(at(true, 99.0)), ms(at(false, 99.0)), format!("{ratio99:.2}"), "reported".into(), "–".into()]);
    text.push_str("## Summary\n\n");
    text.push_str(&t.render());
    text.push_str("\n## Rounds\n\n");
    let mut t = Table::new(&["round", "10 k edges p50 / p99", "1 M edges p50 / p99"]);
    for (i, (s, l)) in rounds.iter().enumerate() {
        t.row(&[format!("{}", i + 1), format!("{} / {}", ms(p(s, 50.0)), ms(p(s, 99.0))), format!("{} / {}", ms(p(l, 50.0)), ms(p(l, 99.0)))]);
    }
    text.push_str(&t.render());
    text.push_str(&format!(
        "\nLoad: {} edges in {:.1} s, {} edges in {:.1} s (tables included).\n",
        thousands(small.edges as f64),
        small.load.as_secs_f64(),
        thousands(large.edges as f64),
        large.load.as_secs_f64()
    ));
    text
}
