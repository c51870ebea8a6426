//! Shared helpers of ferrometa's benchmarks: the machine description, `openssl speed` as the
//! same-run reference for RSA, statistics, spawning the release binary and reading its bound
//! addresses from its JSON log, RSS from `/proc`, and the Markdown result files.
//!
//! Every benchmark reports ratios against a baseline measured in the same run, so that results
//! from different machines (or a busy machine) stay comparable. Nothing here is a test: the
//! benchmarks are run by hand with `bench/run.sh`.

pub mod catalog;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, mpsc};

/// The repository root (the parent of `bench/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ has a parent").to_path_buf()
}

/// The default release binary of the server.
pub fn default_binary() -> PathBuf {
    repo_root().join("target/release/ferrometa")
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Date, machine, source revision: the header of every result file.
pub struct RunInfo {
    pub date: String,
    pub nproc: String,
    pub cpu_model: String,
    pub kernel: String,
    pub revision: String,
    pub invocation: String,
    pub cpus_allowed: String,
    pub loadavg: String,
}

impl RunInfo {
    pub fn collect() -> RunInfo {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let root = repo_root();
        let root = root.to_string_lossy();
        let sha = command_output("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
        let dirty = std::process::Command::new("git")
            .args(["-C", &root, "status", "--porcelain", "--", "crates", "Cargo.toml", "Cargo.lock"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        let dirty_files: Vec<&str> = dirty.lines().filter_map(|l| l.get(3..)).collect();
        let revision = match dirty_files.len() {
            0 => format!("`{sha}` (clean)"),
            n => {
                let shown: Vec<String> = dirty_files.iter().take(8).map(|f| format!("`{f}`")).collect();
                let more = if n > 8 { format!(" and {} more", n - 8) } else { String::new() };
                format!("`{sha}` plus uncommitted changes in {n} path(s): {}{more}", shown.join(", "))
            }
        };
        let invocation = std::env::var("BENCH_INVOCATION").unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
        let cpus_allowed = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(|v| v.trim().to_string()))
            .unwrap_or_default();
        RunInfo {
            date: command_output("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]),
            nproc: command_output("nproc", &[]),
            cpu_model,
            kernel: command_output("uname", &["-sr"]),
            revision,
            invocation,
            cpus_allowed,
            loadavg: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        }
    }

    pub fn header(&self, title: &str) -> String {
        format!(
            "# {title}\n\n\
             - Date: {}\n\
             - Machine: `nproc` = {}, CPU: {}, kernel: {}\n\
             - Source: {}\n\
             - Command: `{}` (benchmark process allowed on CPUs {})\n\
             - Load average at the start (1, 5, 15 min): {}\n",
            self.date, self.nproc, self.cpu_model, self.kernel, self.revision, self.invocation, self.cpus_allowed, self.loadavg
        )
    }
}

/// A scratch directory under the system temp dir, removed on drop. (Not the `tempfile` crate: it
/// would turn on a feature of a crate the server also uses, and change the server binary when
/// both are built together.)
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new() -> Result<ScratchDir> {
        ScratchDir::new_in(&std::env::temp_dir())
    }

    /// A scratch directory under `parent` (e.g. `/dev/shm`, a tmpfs).
    pub fn new_in(parent: &Path) -> Result<ScratchDir> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = parent.join(format!("ferrometa-bench-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl speed -seconds N rsa2048`: RSA-2048 sign/s and verify/s on the calling CPUs.
#[derive(Debug, Clone)]
pub struct OpensslRsa {
    pub sign_per_s: f64,
    pub verify_per_s: f64,
    pub version: String,
    pub line: String,
}

pub fn parse_openssl_rsa2048(output: &str) -> Option<(f64, f64, String)> {
    let line = output.lines().find(|l| l.trim_start().starts_with("rsa 2048 bits"))?;
    let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse::<f64>().ok()).collect();
    // "rsa 2048 bits 0.000584s 0.000017s 1712.3 58823.5": the last two are sign/s and verify/s.
    match nums[..] {
        [.., sign, verify] if nums.len() >= 3 => Some((sign, verify, line.trim().to_string())),
        _ => None,
    }
}

pub fn openssl_speed_rsa2048(seconds: u32) -> Result<OpensslRsa> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "rsa2048"])
        .stdin(Stdio::null())
        .output()
        .context("running `openssl speed` (is openssl installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (sign_per_s, verify_per_s, line) = parse_openssl_rsa2048(&text).ok_or_else(|| anyhow!("cannot parse `openssl speed` output:\n{text}"))?;
    Ok(OpensslRsa { sign_per_s, verify_per_s, version: command_output("openssl", &["version"]), line })
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile of unsorted values (`p` in 0..=100).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Counts calls of `op` for at least `min` (and at least `min_iters` calls): operations/s.
pub fn rate(min: Duration, min_iters: u64, mut op: impl FnMut()) -> (f64, u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    while n < min_iters || start.elapsed() < min {
        op();
        n += 1;
    }
    let elapsed = start.elapsed();
    (n as f64 / elapsed.as_secs_f64(), n, elapsed)
}

/// The steps of one uncached `Verifier::verify`, each timed alone with the verifier's own
/// functions (µs per call), so that a cold verification can be attributed. The key lookup and the
/// cache insert are not here (the caller measures the lookup; the insert is in the remainder).
pub fn verify_steps(token: &str, key: &ferrometa_auth::keys::VerifyingKey, min: Duration) -> Vec<(&'static str, f64)> {
    use base64::Engine as _;
    use ferrometa_auth::claims::Claims;
    use std::hint::black_box;
    let us = |(per_s, _, _): (f64, u64, Duration)| 1e6 / per_s;
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let message = &token[..header.len() + 1 + payload.len()];
    vec![
        (
            "split into segments, decode and parse the header (`Claims::parse_segment`)",
            us(rate(min, 10, || {
                let parts: Vec<&str> = black_box(token).split('.').collect();
                black_box(Claims::parse_segment(parts[0]));
            })),
        ),
        ("SHA-256 of the token as hex (`verify::sha256_hex`, the cache key)", us(rate(min, 10, || drop(black_box(ferrometa_auth::verify::sha256_hex(black_box(token).as_bytes())))))),
        ("clone of the `VerifyingKey` returned by the key lookup (JWK strings, `Arc` of the parsed keys)", us(rate(min, 10, || drop(black_box(key.clone()))))),
        (
            "signature: base64 of the signature, RSA check with the key parsed once (`VerifyingKey::verifies`)",
            us(rate(min, 10, || {
                let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(black_box(signature)).expect("base64url signature");
                assert!(key.verifies(ferrometa_config::RsaAlgorithm::Rs256, message.as_bytes(), &sig));
            })),
        ),
        ("decode and parse the claims (`Claims::parse_segment`)", us(rate(min, 10, || drop(black_box(Claims::parse_segment(black_box(payload))))))),
    ]
}

/// Markdown for [`verify_steps`] against a measured cold verification (µs).
pub fn steps_table(cold_us: f64, steps: &[(&str, f64)]) -> String {
    let mut t = Table::new(&["step of one uncached `Verifier::verify`, timed alone", "µs", "share"]);
    let mut sum = 0.0;
    for (name, us) in steps {
        sum += us;
        t.row(&[name.to_string(), format!("{us:.2}"), format!("{:.0}%", 100.0 * us / cold_us)]);
    }
    t.row(&["rest: claim checks, cache insert (moka), `Arc`, result plumbing (cold verify − steps)".into(), format!("{:.2}", cold_us - sum), format!("{:.0}%", 100.0 * (cold_us - sum) / cold_us)]);
    t.row(&["**cold verify, measured**".into(), format!("**{cold_us:.2}**"), "100%".into()]);
    format!("\nWhere the time of one cold verification goes (each step timed alone, 1 s each):\n\n{}", t.render())
}

/// (VmRSS, VmHWM) of a process in KiB.
pub fn rss_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system, all threads) a process has used so far, in seconds. Unlike a rate,
/// it does not count time the process waited for a CPU, so it is robust to other load.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| command_output("getconf", &["CLK_TCK"]).parse().unwrap_or(100.0));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| anyhow!("unexpected /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).and_then(|v| v.parse().ok()).ok_or_else(|| anyhow!("no utime"))?;
    let stime: f64 = fields.get(12).and_then(|v| v.parse().ok()).ok_or_else(|| anyhow!("no stime"))?;
    Ok((utime + stime) / ticks)
}

/// Pins every thread of this process to one CPU (with `taskset`, which the image has).
pub fn pin_self(cpu: u32) -> Result<()> {
    pin_self_to(&cpu.to_string())
}

/// Lets every thread of this process (and the threads it starts later) run on `cpus`, a
/// `taskset` list such as `0-1`.
pub fn pin_self_to(cpus: &str) -> Result<()> {
    // `taskset -a` walks the threads one by one and fails when one exits during the walk (a
    // worker of a pool just closed); the walk is retried, and a thread that is gone needs no pin.
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let status = Command::new("taskset")
            .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .context("running taskset")?;
        if status.success() {
            return Ok(());
        }
    }
    bail!("taskset -a -p -c {cpus} failed {ATTEMPTS} times")
}

/// Disk space used under `path` in bytes (`du -sb`), 0 when unknown.
pub fn disk_usage(path: &Path) -> u64 {
    command_output("du", &["-sb", &path.display().to_string()]).split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A server process (ferrometa or a baseline) whose bound addresses came from its JSON log.
/// Killed (SIGKILL) if dropped while running.
pub struct ServerProcess {
    child: Option<Child>,
    pub pid: u32,
    pub api_addr: String,
    pub admin_addr: String,
    pub spawned_at: Instant,
    /// Every log message (the first 100) with its arrival time after spawn, filled as it comes.
    log: Arc<Mutex<Vec<(Duration, String)>>>,
}

pub const SERVING_MESSAGE: &str = "ferrometa is serving";
/// Logged once the store is open and /healthcheck answers; the API follows after bootstrap.
pub const HEALTH_MESSAGE: &str = "health check is up; finishing start-up";

/// The environment every benchmarked server starts from (loopback, free ports, JSON log).
pub fn base_env(data_dir: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (k, v) in [("SERVER_HOST", "127.0.0.1"), ("SERVER_PORT", "0"), ("SERVER_ADMIN_PORT", "0"), ("FERROMETA_LOG_FORMAT", "json")] {
        env.insert(k.to_string(), v.to_string());
    }
    env.insert("FERROMETA_DATA_DIR".into(), data_dir.display().to_string());
    env.insert("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
    env
}

/// Spawns `program args…` with exactly `env`, and waits (at most `timeout`) for the log line
/// `until`, which carries `api_addr` and `admin_addr`. Blocking on purpose (std::process, a
/// log-reader thread): the benchmark crate then needs no tokio feature that the server lacks, so
/// that building both together changes nothing in the server binary.
pub fn spawn_server(program: &Path, args: &[&str], env: &BTreeMap<String, String>, timeout: Duration, until: &'static str) -> Result<ServerProcess> {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().envs(env).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let spawned_at = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("spawning {}", program.display()))?;
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Arc::new(Mutex::new(vec![]));
    let (tx, rx) = mpsc::channel::<Result<(String, String), Vec<String>>>();
    let reader_log = log.clone();
    std::thread::spawn(move || {
        let mut seen = vec![];
        let mut found = false;
        // Keeps draining the log to the end, so that the server never blocks on a full pipe.
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let at = spawned_at.elapsed();
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && let Some(m) = v["fields"]["message"].as_str()
            {
                let mut log = reader_log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() < 100 {
                    log.push((at, m.to_string()));
                }
                if m == until && !found {
                    found = true;
                    let addr = |k: &str| v["fields"][k].as_str().unwrap_or_default().to_string();
                    let _ = tx.send(Ok((addr("api_addr"), addr("admin_addr"))));
                }
            }
            if seen.len() < 50 {
                seen.push(line);
            }
        }
        if !found {
            let _ = tx.send(Err(seen));
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok((api_addr, admin_addr))) => Ok(ServerProcess { child: Some(child), pid, api_addr, admin_addr, spawned_at, log }),
        Ok(Err(log)) => {
            let _ = child.kill();
            bail!("{} exited before logging {until:?}; its log:\n{}", program.display(), log.join("\n"))
        }
        Err(_) => {
            let _ = child.kill();
            bail!("{} did not log {until:?} within {timeout:?}", program.display())
        }
    }
}

impl ServerProcess {
    /// Log messages so far, with their arrival after spawn.
    pub fn log(&self) -> Vec<(Duration, String)> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (polling, at most `timeout`) until `message` has been logged; its arrival time.
    pub fn wait_for_log(&self, message: &str, timeout: Duration) -> Result<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((at, _)) = self.log().into_iter().find(|(_, m)| m == message) {
                return Ok(at);
            }
            ensure!(Instant::now() < deadline, "no {message:?} in the log within {timeout:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    /// SIGTERM, then wait (SIGKILL after `grace`). Returns how long the graceful stop took.
    pub fn stop(mut self, grace: Duration) -> Result<Duration> {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        while start.elapsed() < grace {
            if child.try_wait()?.is_some() {
                return Ok(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("server {} did not stop within {grace:?} after SIGTERM; killed", self.pid)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP client that never uses a proxy (all traffic is to 127.0.0.1).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().pool_max_idle_per_host(256).build().expect("reqwest client")
}

/// GETs `url` until it answers 200 (at most `attempts` tries, 1 ms apart).
pub async fn wait_for_200(client: &reqwest::Client, url: &str, attempts: u32) -> Result<u32> {
    for attempt in 1..=attempts {
        if let Ok(r) = client.get(url).send().await
            && r.status() == reqwest::StatusCode::OK
        {
            let _ = r.bytes().await;
            return Ok(attempt);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("{url} did not answer 200 after {attempts} attempts")
}

/// `n` GETs of `url` over `concurrency` keep-alive connections; fails on any non-200.
pub async fn load(client: &reqwest::Client, url: &str, n: usize, concurrency: usize) -> Result<Duration> {
    let start = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, next) = (client.clone(), url.to_string(), next.clone());
        tasks.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                let r = client.get(&url).send().await?;
                if r.status() != reqwest::StatusCode::OK {
                    bail!("{url} answered {}", r.status());
                }
                r.bytes().await?;
            }
            Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(start.elapsed())
}

/// 12345678.9 → "12,345,679".
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let s = format!("{:.0}", v.round());
    let (sign, digits) = s.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", &s));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

pub fn ms(d: f64) -> String {
    format!("{:.1} ms", d * 1000.0)
}

pub fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

pub fn verdict(pass: bool) -> &'static str {
    if pass { "**pass**" } else { "**MISS**" }
}

/// A Markdown table.
pub struct Table {
    text: String,
}

impl Table {
    pub fn new(columns: &[&str]) -> Table {
        let mut text = format!("| {} |\n", columns.join(" | "));
        let _ = writeln!(text, "|{}", "---|".repeat(columns.len()));
        Table { text }
    }

    pub fn row(&mut self, cells: &[String]) {
        let _ = writeln!(self.text, "| {} |", cells.join(" | "));
    }

    pub fn render(&self) -> String {
        self.text.clone()
    }
}

/// Writes a result file atomically (via `NAME.tmp`) and prints it.
pub fn write_report(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)?;
    println!("{text}");
    eprintln!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssl_3_speed_output() {
        let out = "Doing 2048 bits private rsa's for 3s: 12000 2048 bits private RSA's in 3.00s\n\
                   version: 3.0.19\n                  sign    verify    sign/s verify/s\n\
                   rsa 2048 bits 0.000725s 0.000021s   1379.0  47183.3\n";
        let (s, v, _) = parse_openssl_rsa2048(out).unwrap();
        assert_eq!((s, v), (1379.0, 47183.3));
    }

    #[test]
    fn statistics() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
