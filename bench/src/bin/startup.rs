//! Issue 2: time to ready and memory of the release binary.
//!
//! For each of `--runs` rounds, in this order:
//! 1. baseline: this binary re-executed as a trivial axum server (`--baseline-server`: same tokio
//!    runtime, two listeners, a `/healthcheck` and a JSON `/api/v1/system/version`, no state);
//! 2. ferrometa's first start on a fresh data dir (key generation, migrations, bootstrap);
//! 3. ferrometa's warm restart on the same data dir.
//!
//! "Ready" is from exec to the first 200 of `GET /healthcheck` on the admin port, whose address is
//! read from the JSON log line "ferrometa is serving". RSS (`VmRSS`) is read at ready, after one
//! idle second, and after `--requests` keep-alive `GET /api/v1/system/version`. Also measured in
//! the same run: `ferrometa --version` (exec to exit), as a second reference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use ferrometa_bench::*;

const READY_TARGET_MS: f64 = 100.0;
const IDLE_RSS_TARGET_MIB: f64 = 30.0;
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Parser)]
#[command(about = "Start-up time and memory of target/release/ferrometa, against a trivial axum server measured in the same run")]
struct Args {
    /// The release binary to measure.
    #[arg(long, default_value_os_t = default_binary())]
    binary: PathBuf,
    /// Rounds (each: baseline start, ferrometa first start, ferrometa warm restart).
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// Keep-alive GET /api/v1/system/version requests before the second RSS reading.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Concurrent connections for those requests.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/startup.md"))]
    out: PathBuf,
    /// Internal: run as the trivial baseline server.
    #[arg(long, hide = true)]
    baseline_server: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.baseline_server {
        return runtime.block_on(baseline_server());
    }
    runtime.block_on(bench(args))
}

/// The baseline: what any tokio + axum server costs to start and to hold in memory.
async fn baseline_server() -> Result<()> {
    use axum::Json;
    use axum::routing::get;
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64;
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api_router = axum::Router::new().route(
        "/api/v1/system/version",
        get(move || async move { Json(serde_json::json!({"version": "1.6.13", "revision": "baseline", "timestamp": started})) }),
    );
    let admin_router = axum::Router::new().route("/healthcheck", get(|| async { Json(serde_json::json!({"status": "healthy"})) }));
    for message in [HEALTH_MESSAGE, SERVING_MESSAGE] {
        eprintln!("{}", serde_json::json!({"level": "INFO", "fields": {"message": message, "api_addr": api.local_addr()?.to_string(), "admin_addr": admin.local_addr()?.to_string()}}));
    }
    let a = tokio::spawn(async move { axum::serve(api, api_router).await });
    let b = tokio::spawn(async move { axum::serve(admin, admin_router).await });
    let _ = tokio::join!(a, b);
    Ok(())
}

struct Start {
    early_log: Vec<(f64, String)>,
    /// Spawn → the serving log line (bootstrap done, API accepting).
    to_log: f64,
    /// Spawn → first 200 on /healthcheck.
    to_ready: f64,
    /// Spawn → first 200 on the API (`/api/v1/system/version`, asked right after the health check).
    to_api: f64,
    rss_ready_kib: f64,
}

struct Memory {
    idle_kib: f64,
    after_load_kib: f64,
    hwm_kib: f64,
    load_secs: f64,
}

async fn start(program: &Path, args: &[&str], env: &BTreeMap<String, String>, client: &reqwest::Client) -> Result<(ServerProcess, Start)> {
    let server = spawn_server(program, args, env, START_TIMEOUT, HEALTH_MESSAGE)?;
    wait_for_200(client, &format!("http://{}/healthcheck", server.admin_addr), 5000).await?;
    let to_ready = server.spawned_at.elapsed().as_secs_f64();
    let (rss, _) = rss_kib(server.pid)?;
    wait_for_200(client, &format!("http://{}/api/v1/system/version", server.api_addr), 5000).await?;
    let to_api = server.spawned_at.elapsed().as_secs_f64();
    let to_log = server.wait_for_log(SERVING_MESSAGE, START_TIMEOUT)?;
    let early_log = server.log().into_iter().filter(|(at, _)| *at < to_log).map(|(d, m)| (d.as_secs_f64(), m)).collect();
    let s = Start { early_log, to_log: to_log.as_secs_f64(), to_ready, to_api, rss_ready_kib: rss as f64 };
    Ok((server, s))
}

async fn memory(server: &ServerProcess, client: &reqwest::Client, requests: usize, concurrency: usize) -> Result<Memory> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle, _) = rss_kib(server.pid)?;
    let took = load(client, &format!("http://{}/api/v1/system/version", server.api_addr), requests, concurrency).await?;
    let (after, hwm) = rss_kib(server.pid)?;
    Ok(Memory { idle_kib: idle as f64, after_load_kib: after as f64, hwm_kib: hwm as f64, load_secs: took.as_secs_f64() })
}

fn version_time(binary: &Path) -> Result<f64> {
    let t = Instant::now();
    let out = std::process::Command::new(binary).arg("--version").env_clear().output().context("ferrometa --version")?;
    let took = t.elapsed().as_secs_f64();
    anyhow::ensure!(out.status.success(), "ferrometa --version failed");
    Ok(took)
}

/// Where the start-up time goes: median arrival (after exec) of each log message before the
/// serving line, in order of first appearance.
fn phases(name: &str, starts: &[Start]) -> String {
    let mut order: Vec<String> = vec![];
    for s in starts {
        for (_, m) in &s.early_log {
            if !order.contains(m) {
                order.push(m.clone());
            }
        }
    }
    let mut text = format!("\n### Log messages before \"{SERVING_MESSAGE}\" ({name}, median arrival after exec)\n\n");
    let mut t = Table::new(&["message", "after exec", "seen in rounds"]);
    for m in &order {
        let at: Vec<f64> = starts.iter().filter_map(|s| s.early_log.iter().find(|(_, x)| x == m).map(|(d, _)| *d)).collect();
        let shown: String = m.chars().take(110).collect::<String>().replace('|', "\\|");
        t.row(&[format!("{shown}{}", if m.chars().count() > 110 { "…" } else { "" }), ms(median(&at)), at.len().to_string()]);
    }
    t.row(&[format!("**{SERVING_MESSAGE}**"), ms(median(&starts.iter().map(|s| s.to_log).collect::<Vec<_>>())), starts.len().to_string()]);
    t.row(&["**first 200 on /healthcheck**".into(), ms(median(&starts.iter().map(|s| s.to_ready).collect::<Vec<_>>())), starts.len().to_string()]);
    t.row(&["**first 200 on /api/v1/system/version**".into(), ms(median(&starts.iter().map(|s| s.to_api).collect::<Vec<_>>())), starts.len().to_string()]);
    text.push_str(&t.render());
    text
}

fn col<T>(v: &[T], f: impl Fn(&T) -> f64) -> Vec<f64> {
    v.iter().map(f).collect()
}

async fn bench(args: Args) -> Result<()> {
    anyhow::ensure!(args.binary.exists(), "{} does not exist; build it with `cargo build --release -p ferrometa`", args.binary.display());
    anyhow::ensure!(args.runs >= 5, "--runs must be at least 5");
    let info = RunInfo::collect();
    let me = std::env::current_exe()?;
    let version_line = std::process::Command::new(&args.binary).arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())?;

    let mut baseline: Vec<Start> = vec![];
    let mut baseline_mem: Vec<Memory> = vec![];
    let mut first: Vec<Start> = vec![];
    let mut warm: Vec<Start> = vec![];
    let mut warm_mem: Vec<Memory> = vec![];
    let mut stops: Vec<f64> = vec![];
    let mut version: Vec<f64> = vec![];
    for round in 1..=args.runs {
        eprintln!("round {round}/{}", args.runs);
        version.push(version_time(&args.binary)?);

        // Fresh client per measured start: connection set-up is part of "ready".
        let scratch = ScratchDir::new()?;
        let (server, s) = start(&me, &["--baseline-server"], &base_env(scratch.path()), &http_client()).await?;
        baseline_mem.push(memory(&server, &http_client(), args.requests, args.concurrency).await?);
        baseline.push(s);
        server.stop(Duration::from_secs(10))?;

        let data = ScratchDir::new()?;
        let env = base_env(data.path());
        let (server, s) = start(&args.binary, &["serve"], &env, &http_client()).await?;
        first.push(s);
        stops.push(server.stop(Duration::from_secs(40))?.as_secs_f64());

        let (server, s) = start(&args.binary, &["serve"], &env, &http_client()).await?;
        warm_mem.push(memory(&server, &http_client(), args.requests, args.concurrency).await?);
        warm.push(s);
        stops.push(server.stop(Duration::from_secs(40))?.as_secs_f64());
    }

    let m = |v: Vec<f64>| median(&v);
    let base_ready = m(col(&baseline, |s| s.to_ready));
    let first_ready = m(col(&first, |s| s.to_ready));
    let warm_ready = m(col(&warm, |s| s.to_ready));
    let base_api = m(col(&baseline, |s| s.to_api));
    let first_api = m(col(&first, |s| s.to_api));
    let warm_api = m(col(&warm, |s| s.to_api));
    let version_med = m(version.clone());
    let base_idle = m(col(&baseline_mem, |x| x.idle_kib));
    let warm_idle = m(col(&warm_mem, |x| x.idle_kib));
    let warm_ready_rss = m(col(&warm, |s| s.rss_ready_kib));
    let first_ready_rss = m(col(&first, |s| s.rss_ready_kib));
    let base_after = m(col(&baseline_mem, |x| x.after_load_kib));
    let warm_after = m(col(&warm_mem, |x| x.after_load_kib));
    let idle_for_target = warm_idle.max(warm_ready_rss);

    let mut text = info.header("Start-up time and memory (issue 2)");
    text.push_str(&format!(
        "- Binary: `{}` (`{version_line}`), {} rounds, {} × `GET /api/v1/system/version` over {} keep-alive connections for the RSS after load\n\
         - Baseline (same run, interleaved): a trivial tokio + axum server (this benchmark binary re-executed with `--baseline-server`: two listeners on 127.0.0.1:0, `/healthcheck` and a JSON `/api/v1/system/version`, no state), and `ferrometa --version` (exec to exit)\n\n",
        args.binary.display(),
        args.runs,
        args.requests,
        args.concurrency
    ));

    text.push_str("## Summary (medians)\n\n");
    let mut t = Table::new(&["metric", "ferrometa", "baseline: trivial axum server", "ratio", "goal", "result"]);
    let ready_row = |name: &str, v: f64| {
        vec![name.to_string(), ms(v), ms(base_ready), format!("{:.2}×", v / base_ready), format!("≤ {READY_TARGET_MS:.0} ms"), verdict(v * 1000.0 <= READY_TARGET_MS).to_string()]
    };
    t.row(&ready_row("ready, warm restart (exec → first 200 on /healthcheck)", warm_ready));
    t.row(&ready_row("ready, first start (exec → first 200 on /healthcheck; migrations done, key generation under way)", first_ready));
    let api_row = |name: &str, v: f64| vec![name.to_string(), ms(v), ms(base_api), format!("{:.2}×", v / base_api), "none (reported)".into(), "–".into()];
    t.row(&api_row("API answers, warm restart (first 200 on /api/v1/system/version)", warm_api));
    t.row(&api_row("API answers, first start (after RSA key generation and bootstrap)", first_api));
    t.row(&[
        "idle RSS (warm, max of at-ready and 1 s later)".into(),
        mib(idle_for_target),
        mib(base_idle),
        format!("{:.2}×", idle_for_target / base_idle),
        format!("≤ {IDLE_RSS_TARGET_MIB:.0} MiB"),
        verdict(idle_for_target / 1024.0 <= IDLE_RSS_TARGET_MIB).to_string(),
    ]);
    t.row(&[
        format!("RSS after {} requests", args.requests),
        mib(warm_after),
        mib(base_after),
        format!("{:.2}×", warm_after / base_after),
        "none (reported)".into(),
        "–".into(),
    ]);
    text.push_str(&t.render());
    text.push_str(&format!(
        "\nSecond reference: `ferrometa --version` takes {} median (exec to exit); warm ready is {:.1}× that.\n",
        ms(version_med),
        warm_ready / version_med
    ));

    text.push_str("\n## Raw figures (every round)\n\n");
    let mut t = Table::new(&[
        "round",
        "baseline ready",
        "first start: ready / API / log line",
        "warm: ready / API / log line",
        "`--version`",
        "RSS at ready: baseline / first / warm",
        "RSS idle 1 s: baseline / warm",
        "RSS after load: baseline / warm",
        "VmHWM: baseline / warm",
        "load time: baseline / warm",
    ]);
    for i in 0..args.runs {
        let (b, f, w, bm, wm) = (&baseline[i], &first[i], &warm[i], &baseline_mem[i], &warm_mem[i]);
        t.row(&[
            (i + 1).to_string(),
            ms(b.to_ready),
            format!("{} / {} / {}", ms(f.to_ready), ms(f.to_api), ms(f.to_log)),
            format!("{} / {} / {}", ms(w.to_ready), ms(w.to_api), ms(w.to_log)),
            ms(version[i]),
            format!("{} / {} / {}", mib(b.rss_ready_kib), mib(f.rss_ready_kib), mib(w.rss_ready_kib)),
            format!("{} / {}", mib(bm.idle_kib), mib(wm.idle_kib)),
            format!("{} / {}", mib(bm.after_load_kib), mib(wm.after_load_kib)),
            format!("{} / {}", mib(bm.hwm_kib), mib(wm.hwm_kib)),
            format!("{} / {}", ms(bm.load_secs), ms(wm.load_secs)),
        ]);
    }
    text.push_str(&t.render());
    text.push_str(&format!(
        "\nOther medians: first-start RSS at ready {}; warm RSS at ready {}; graceful stop after SIGTERM {}.\n",
        mib(first_ready_rss),
        mib(warm_ready_rss),
        ms(median(&stops))
    ));

    text.push_str(&phases("first start", &first));
    text.push_str(&phases("warm restart", &warm));

    text.push_str(&format!(
        "\n## Method\n\n\
         - Each start: spawn with a cleared environment plus `SERVER_HOST=127.0.0.1 SERVER_PORT=0 SERVER_ADMIN_PORT=0 FERROMETA_LOG_FORMAT=json FERROMETA_DATA_DIR=<temp dir>` (defaults otherwise: basic auth, SQLite in the data dir); \
         read stderr until the JSON line with `fields.message == \"{HEALTH_MESSAGE}\"` (logged once the store is open and migrated; it carries both addresses); then `GET /healthcheck` on its `admin_addr` (new client, 1 ms between attempts) until 200. Ready = spawn → that 200. Then `GET /api/v1/system/version` until 200 (API answers): the API listener is bound from the start but accepts only once bootstrap is done (a first start generates the RSA key pair, which `openssl genrsa 2048` shows takes 0.1–0.5 s on this machine), so a request sent earlier waits in the listen backlog and is answered then, never refused. The \"{SERVING_MESSAGE}\" line marks that moment in the log.\n\
         - First start uses a new temp dir each round; the warm restart reuses it after a SIGTERM stop. The page cache is not dropped, so \"cold\" means a new process, not a cold disk.\n\
         - RSS is `VmRSS` from `/proc/<pid>/status` at ready, 1 s later (idle), and after the requests; `VmHWM` is the peak. The idle target is checked against the larger of the first two.\n\
         - Not pinned: server and client share the {} CPUs; the baseline runs under the same conditions, interleaved round by round.\n",
        info.nproc
    ));
    write_report(&args.out, &text)
}
