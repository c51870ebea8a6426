//! Issue 4: throughput of an authenticated request carrying a Cognito-shaped ID token, against the
//! same request with authentication off, in the same run.
//!
//! - An in-process JWKS server (axum on 127.0.0.1:0) publishes a generated RSA key; Cognito-shaped
//!   ID tokens are minted with it by jsonwebtoken.
//! - Two release servers run side by side on CPU 0 (`taskset -c 0`, `TOKIO_WORKER_THREADS=1`) with
//!   the same configuration: "auth on" (`aws-cognito`, this JWKS) and "auth off" (NoopFilter +
//!   NoopAuthorizer). `wrk` runs on CPU 1, the rounds interleaved.
//! - Cold verification: distinct tokens through the real `Verifier` (a new verifier per pass, so
//!   the verified-token cache never hits), against `openssl speed rsa2048` on the same CPU; and
//!   over HTTP with a different token per request.
//! - A breakdown of the authenticated path, measured in-process on CPU 1 with the server's own
//!   state (`build_state`), to show where the per-request time goes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use ferrometa_auth::keys::KeyDir;
use ferrometa_auth::principal::ClaimSource;
use ferrometa_auth::verify::Verifier;
use ferrometa_bench::*;
use ferrometa_catalog::kinds::USER;
use ferrometa_catalog::policy::{Operation, Target};
use ferrometa_store::Include;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const AUTHORITY: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_FerroBench";
const CLIENT_ID: &str = "3n4ferrometabench7client";
const KID: &str = "ferrometa-bench-cognito-1";
const ROUTE: &str = "/api/v1/system/config/loginConfig";
/// The catalog read judged by the policies (issue 14): a table by its FQN.
const TABLE_ROUTE: &str = "/api/v1/tables/name/bench.shop.sales.orders";
/// The reader of the table: a user of the identity provider without admin rights, so its read
/// goes through the policies (the seeded DataConsumer role of the Organization).
const READER_EMAIL: &str = "reader@open-metadata.org";
const READER_SUB: &str = "5f0c6a0e-0000-4000-8000-0000000read1";
const PUBLIC_ROUTE: &str = "/api/v1/system/version";
const NOOP_FILTER: &str = "org.openmetadata.service.security.NoopFilter";
const NOOP_AUTHORIZER: &str = "org.openmetadata.service.security.NoopAuthorizer";
/// The user the main token is for: the bootstrap admin, bound to the token's subject on its
/// first request (the steady state of a signed-in SSO user).
const USER_EMAIL: &str = "admin@open-metadata.org";
const USER_SUB: &str = "5f0c6a0e-0000-4000-8000-00000000beef";
const RATIO_GOAL: f64 = 0.95;
const VERIFY_GOAL: f64 = 0.6;
const SERVER_CPU: u32 = 0;
const CLIENT_CPU: u32 = 1;
const LUA: &str = include_str!("../../lua/distinct_tokens.lua");

#[derive(Parser)]
#[command(about = "Authenticated request throughput (Cognito ID token) against authentication off, same run")]
struct Args {
    /// The release binary to measure.
    #[arg(long, default_value_os_t = default_binary())]
    binary: PathBuf,
    /// Seconds per main wrk run.
    #[arg(long, default_value_t = 6)]
    seconds: u64,
    /// Rounds; each runs every configuration once (the main and public pairs in alternating order).
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Seconds per breakdown wrk run.
    #[arg(long, default_value_t = 3)]
    breakdown_seconds: u64,
    /// wrk connections (one wrk thread).
    #[arg(long, default_value_t = 50)]
    connections: u32,
    /// Distinct tokens for the HTTP run without cache hits (the run stops when they are used up).
    #[arg(long, default_value_t = 60_000)]
    cold_tokens: usize,
    /// Distinct tokens per in-process cold-verify pass.
    #[arg(long, default_value_t = 2000)]
    verify_tokens: usize,
    /// Seconds per in-process measurement.
    #[arg(long, default_value_t = 3)]
    inprocess_seconds: u64,
    /// Seconds per `openssl speed` operation.
    #[arg(long, default_value_t = 3)]
    openssl_seconds: u32,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/auth.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.binary.exists(), "{} does not exist; build it with `cargo build --release -p ferrometa`", args.binary.display());
    let info = RunInfo::collect();

    // Minting is the slow part of the setup (jsonwebtoken parses the private key per signature):
    // it uses every CPU, before anything is measured and before this process is pinned.
    let idp = Idp::generate()?;
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let now = run.as_secs() as i64;
    let main_token = idp.id_token(USER_SUB, USER_EMAIL, "admin", &format!("main-{}", run.as_nanos()), now)?;
    let reader_token = idp.id_token(READER_SUB, READER_EMAIL, "reader", &format!("reader-{}", run.as_nanos()), now)?;
    let unknown_token = idp.id_token("5f0c6a0e-0000-4000-8000-00000000f00d", "not.yet.a.user@example.com", "not.yet.a.user", &format!("unknown-{}", run.as_nanos()), now)?;
    let total = args.cold_tokens + args.verify_tokens;
    eprintln!("minting {total} distinct ID tokens");
    let t = Instant::now();
    let distinct = idp.mint_many(total, &format!("d{}", run.as_nanos()), now)?;
    eprintln!("minted in {:.1} s", t.elapsed().as_secs_f64());
    let (verify_tokens, cold_tokens) = distinct.split_at(args.verify_tokens);

    pin_self(CLIENT_CPU)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let tokens = Tokens { main: main_token, reader: reader_token, unknown: unknown_token };
    runtime.block_on(bench(args, info, idp, tokens, verify_tokens.to_vec(), cold_tokens.to_vec()))
}

struct Idp {
    encoding: EncodingKey,
    jwk: Value,
}

impl Idp {
    fn generate() -> Result<Idp> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| anyhow!("RSA key generation: {e:?}"))?;
        let pkcs8 = pair.as_der().map_err(|e| anyhow!("PKCS#8: {e:?}"))?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())?;
        let public = pair.public_key();
        let jwk = json!({
            "kty": "RSA", "kid": KID, "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        Ok(Idp { encoding, jwk })
    }

    /// A Cognito user-pool ID token (claims as Cognito issues them).
    fn id_token(&self, sub: &str, email: &str, username: &str, jti: &str, now: i64) -> Result<String> {
        let claims = json!({
            "sub": sub,
            "email_verified": true,
            "iss": AUTHORITY,
            "cognito:username": username,
            "origin_jti": jti,
            "aud": CLIENT_ID,
            "event_id": jti,
            "token_use": "id",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": jti,
            "email": email,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(KID.into());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    /// `n` tokens for the same user, each with its own `jti` (so each is a distinct token).
    fn mint_many(&self, n: usize, prefix: &str, now: i64) -> Result<Vec<String>> {
        let threads = std::thread::available_parallelism().map(|p| p.get()).unwrap_or(1).max(1);
        let chunk = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || -> Result<Vec<String>> {
                        (t * chunk..((t + 1) * chunk).min(n)).map(|i| self.id_token(USER_SUB, USER_EMAIL, "admin", &format!("{prefix}-{i:08}"), now)).collect()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(n);
            for h in handles {
                all.extend(h.join().map_err(|_| anyhow!("minting thread panicked"))??);
            }
            Ok(all)
        })
    }
}

/// The in-process identity provider's JWKS endpoint; counts fetches.
async fn jwks_server(jwk: Value) -> Result<(String, Arc<AtomicU64>)> {
    let fetches = Arc::new(AtomicU64::new(0));
    let counter = fetches.clone();
    let body = json!({"keys": [jwk]});
    let router = axum::Router::new().route(
        "/us-east-1_FerroBench/.well-known/jwks.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/us-east-1_FerroBench/.well-known/jwks.json", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((url, fetches))
}

fn server_env(data_dir: &Path, jwks_url: &str, auth_on: bool) -> BTreeMap<String, String> {
    let mut env = base_env(data_dir);
    for (k, v) in [
        ("AUTHENTICATION_PROVIDER", "aws-cognito".to_string()),
        ("AUTHENTICATION_AUTHORITY", AUTHORITY.into()),
        ("AUTHENTICATION_CLIENT_ID", CLIENT_ID.into()),
        ("AUTHENTICATION_PUBLIC_KEYS", format!("[{jwks_url}]")),
        ("TOKIO_WORKER_THREADS", "1".into()),
    ] {
        env.insert(k.into(), v);
    }
    if !auth_on {
        env.insert("AUTHORIZER_REQUEST_FILTER".into(), NOOP_FILTER.into());
        env.insert("AUTHORIZER_CLASS_NAME".into(), NOOP_AUTHORIZER.into());
    }
    env
}

#[derive(Debug, Clone, Default)]
struct WrkRun {
    label: String,
    command: String,
    requests: u64,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non2xx: u64,
    socket_errors: String,
    /// Server CPU time (user + system) per request, µs.
    cpu_us: f64,
}

fn parse_latency(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = v.split_at(split);
    let num: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => num / 1000.0,
        "ms" => num,
        "s" => num * 1000.0,
        "m" => num * 60_000.0,
        _ => return None,
    })
}

fn parse_wrk(label: &str, command: String, out: &str) -> Result<WrkRun> {
    let mut run = WrkRun { label: label.into(), command, ..Default::default() };
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => run.p50_ms = parse_latency(v).unwrap_or(f64::NAN),
            ["99%", v] => run.p99_ms = parse_latency(v).unwrap_or(f64::NAN),
            ["Requests/sec:", v] => run.rps = v.parse().unwrap_or(f64::NAN),
            [n, "requests", "in", d, ..] => {
                run.requests = n.parse().unwrap_or(0);
                run.seconds = d.trim_end_matches(',').trim_end_matches('s').parse().unwrap_or(f64::NAN);
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => run.non2xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => run.socket_errors = rest.join(" "),
            ["DISTINCT_TOKENS", r, s, b] => {
                let val = |w: &str| w.split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default();
                run.requests = val(r).parse().unwrap_or(0);
                run.seconds = val(s).parse().unwrap_or(f64::NAN);
                run.non2xx = val(b).parse().unwrap_or(0);
                run.rps = run.requests as f64 / run.seconds;
            }
            _ => {}
        }
    }
    ensure!(run.rps.is_finite() && run.rps > 0.0, "cannot parse wrk output:\n{out}");
    Ok(run)
}

struct Wrk {
    connections: u32,
}

impl Wrk {
    /// `taskset -c 1 wrk -t1 -cN -dS --latency [-H auth] [-s script] url [-- arg]`.
    fn run(&self, label: &str, server_pid: u32, url: &str, token: Option<(&str, &str)>, seconds: u64, script: Option<(&Path, &Path)>) -> Result<WrkRun> {
        eprintln!("wrk: {label}");
        let mut args: Vec<String> = vec!["-c".into(), CLIENT_CPU.to_string(), "wrk".into(), "-t1".into(), format!("-c{}", self.connections), format!("-d{seconds}s"), "--latency".into()];
        let mut shown = args.clone();
        if let Some((name, token)) = token {
            args.extend(["-H".into(), format!("Authorization: Bearer {token}")]);
            shown.extend(["-H".into(), format!("\"Authorization: Bearer ${name}\"")]);
        }
        if let Some((lua, _)) = script {
            args.extend(["-s".into(), lua.display().to_string()]);
            shown.extend(["-s".into(), "bench/lua/distinct_tokens.lua".into()]);
        }
        args.push(url.into());
        let path = url.splitn(4, '/').nth(3).unwrap_or_default();
        shown.push(format!("http://127.0.0.1:$PORT/{path}"));
        if let Some((_, file)) = script {
            args.extend(["--".into(), file.display().to_string()]);
            shown.extend(["--".into(), "$TOKENS_FILE".into()]);
        }
        let cpu_before = cpu_seconds(server_pid)?;
        let out = std::process::Command::new("taskset").args(&args).output().context("running wrk (apt-get install -y wrk)")?;
        let cpu = cpu_seconds(server_pid)? - cpu_before;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        ensure!(out.status.success(), "wrk failed: {}\n{text}", String::from_utf8_lossy(&out.stderr));
        let mut run = parse_wrk(label, format!("taskset {}", shown.join(" ")), &text)?;
        run.cpu_us = cpu * 1e6 / run.requests.max(1) as f64;
        eprintln!("  {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} µs server CPU/request, non-2xx {}", run.rps, run.p50_ms, run.p99_ms, run.cpu_us, run.non2xx);
        Ok(run)
    }
}

/// Average time of one call of `f`, in µs (at least `min` long, at least 10 calls).
async fn per_call<F, Fut>(min: Duration, mut f: F) -> Result<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    for _ in 0..10 {
        f().await?;
    }
    let start = Instant::now();
    let mut n = 0u64;
    while n < 10 || start.elapsed() < min {
        f().await?;
        n += 1;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// The ID tokens of the runs: the admin principal's, a data consumer's, and one of a user not
/// yet in the catalog.
struct Tokens {
    main: String,
    reader: String,
    unknown: String,
}

/// A table as the ingestion client writes it: 20 columns of mixed types, some described.
fn create_table() -> Value {
    let columns: Vec<Value> = (0..20)
        .map(|i| {
            let (data_type, extra) = match i % 4 {
                0 => ("BIGINT", json!({})),
                1 => ("VARCHAR", json!({"dataLength": 255, "dataTypeDisplay": "varchar(255)"})),
                2 => ("TIMESTAMP", json!({})),
                _ => ("DECIMAL", json!({"precision": 12, "scale": 2, "dataTypeDisplay": "decimal(12,2)"})),
            };
            let mut c = json!({"name": format!("column_{i}"), "dataType": data_type, "description": format!("Column {i} of the orders."), "ordinalPosition": i + 1});
            for (k, v) in extra.as_object().into_iter().flatten() {
                c[k] = v.clone();
            }
            c
        })
        .collect();
    json!({"name": "orders", "databaseSchema": "bench.shop.sales", "tableType": "Regular", "columns": columns, "description": "Orders of the shop."})
}

/// The table of [`TABLE_ROUTE`] and its containers, written through the API (`token`: an
/// admin's, or none for the server with authentication off); with a reader token, that reader
/// signs up (a data consumer).
async fn load_table(base: &str, token: Option<&str>, reader: Option<&str>) -> Result<()> {
    let client = http_client();
    let send = |method: reqwest::Method, path: &str, body: Value, bearer: Option<&str>| {
        let mut req = client.request(method, format!("{base}{path}")).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for (path, body) in [
        ("/api/v1/services/databaseServices", json!({"name": "bench", "serviceType": "Mysql"})),
        ("/api/v1/databases", json!({"name": "shop", "service": "bench"})),
        ("/api/v1/databaseSchemas", json!({"name": "sales", "database": "bench.shop"})),
        ("/api/v1/tables", create_table()),
    ] {
        let resp = send(reqwest::Method::PUT, path, body, token).await?;
        ensure!(resp.status().is_success(), "PUT {path}: {}", resp.status());
    }
    if let Some(reader) = reader {
        let resp = send(reqwest::Method::POST, "/api/v1/users", json!({"name": "reader", "email": READER_EMAIL}), Some(reader)).await?;
        ensure!(resp.status().as_u16() == 201, "the reader's sign-up: {}", resp.status());
        let me: Value = client.get(format!("{base}/api/v1/users/loggedInUser")).bearer_auth(reader).send().await?.json().await?;
        ensure!(me["isAdmin"] == json!(false), "the reader must not be an admin (its reads would skip the policies)");
    }
    Ok(())
}

struct Breakdown {
    cached_caller: f64,
    verify_hit: f64,
    resolve: f64,
    authenticate: f64,
    sso_lookup: f64,
    user_get: f64,
    caller_of: f64,
    caller_of_unknown: f64,
    user_by_name: f64,
    /// `Catalog::authorize` of a data consumer's `ViewBasic` on a table (the seeded policies).
    authorize: f64,
}

async fn breakdown(config: ferrometa_config::Config, main_token: &str, unknown_token: &str, min: Duration) -> Result<Breakdown> {
    let state = ferrometa_server::startup::build_state(config).await.map_err(|e| anyhow!("build_state: {e}"))?;
    let reader = ferrometa_catalog::users::CreateUser { name: "reader".into(), email: READER_EMAIL.into(), ..Default::default() };
    let reader = state.catalog.subject(&state.catalog.create_user(&reader, ferrometa_store::Origin::SYSTEM).await?)?;
    let table = json!({"id": "t", "name": "orders", "owners": [{"id": "u", "type": "user", "name": "owner"}], "tags": [], "columns": create_table()["columns"]});
    let target = Target::entity("table", state.catalog.facts(&ferrometa_catalog::kinds::TABLE, &table));
    let bearer = format!("Bearer {main_token}");
    let unknown_bearer = format!("Bearer {unknown_token}");
    let auth = state.auth.authenticate(Some(&bearer)).await?;
    let caller = ferrometa_server::access::caller_of(&state, auth.clone(), None).await.map_err(|e| anyhow!("caller_of: {e:?}"))?;
    let user_id = caller.user_id().ok_or_else(|| anyhow!("the token's user was not bound"))?.to_string();
    let unknown = state.auth.authenticate(Some(&unknown_bearer)).await?;
    let (iss, sub) = auth.principal.sso_subject.clone().ok_or_else(|| anyhow!("no SSO subject"))?;
    let (s, a, u) = (&state, &auth, &unknown);
    let (main_token, bearer, iss, sub, user_id) = (main_token, bearer.as_str(), iss.as_str(), sub.as_str(), user_id.as_str());
    let name = a.principal.name.as_str();
    let (reader, target) = (&reader, &target);
    Ok(Breakdown {
        authorize: per_call(min, move || async move { s.catalog.authorize(ferrometa_catalog::audit::Actor::local(reader), &[Operation::ViewBasic], target).await.map_err(|e| anyhow!("{e:?}")) }).await?,
        cached_caller: per_call(min, move || async move { ferrometa_server::access::authenticated_caller(s, Some(bearer), None).await.map(drop).map_err(|e| anyhow!("{e:?}")) }).await?,
        verify_hit: per_call(min, move || async move { s.auth.verifier().verify(main_token).await.map(drop).map_err(Into::into) }).await?,
        resolve: per_call(min, move || async move { s.auth.rules().resolve(&a.token.claims, ClaimSource::IdpId, &a.token.issuer).map(drop).map_err(Into::into) }).await?,
        authenticate: per_call(min, move || async move { s.auth.authenticate(Some(bearer)).await.map(drop).map_err(Into::into) }).await?,
        sso_lookup: per_call(min, move || async move {
            ensure!(s.store.sso_subject_user(iss, sub).await?.is_some(), "binding missing");
            Ok(())
        })
        .await?,
        user_get: per_call(min, move || async move { s.catalog.get(&USER, user_id, Include::NonDeleted).await.map(drop).map_err(|e| anyhow!("{e:?}")) }).await?,
        user_by_name: per_call(min, move || async move { s.catalog.user_by_name(name).await.map(drop).map_err(|e| anyhow!("{e:?}")) }).await?,
        caller_of: per_call(min, move || async move { ferrometa_server::access::caller_of(s, a.clone(), None).await.map(drop).map_err(|e| anyhow!("{e:?}")) }).await?,
        caller_of_unknown: per_call(min, move || async move { ferrometa_server::access::caller_of(s, u.clone(), None).await.map(drop).map_err(|e| anyhow!("{e:?}")) }).await?,
    })
}

async fn start_server(binary: &Path, env: &BTreeMap<String, String>) -> Result<ServerProcess> {
    let binary = binary.display().to_string();
    let server = spawn_server(Path::new("taskset"), &["-c", &SERVER_CPU.to_string(), &binary, "serve"], env, Duration::from_secs(60), SERVING_MESSAGE)?;
    wait_for_200(&http_client(), &format!("http://{}/healthcheck", server.admin_addr), 5000).await?;
    Ok(server)
}

async fn status_of(url: &str, token: Option<&str>) -> Result<u16> {
    let mut req = http_client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Ok(req.send().await?.status().as_u16())
}

#[allow(clippy::too_many_arguments)]
async fn bench(args: Args, info: RunInfo, idp: Idp, tokens: Tokens, verify_tokens: Vec<String>, cold_tokens: Vec<String>) -> Result<()> {
    let Tokens { main: main_token, reader: reader_token, unknown: unknown_token } = tokens;
    let (jwks_url, jwks_fetches) = jwks_server(idp.jwk.clone()).await?;
    let scratch = ScratchDir::new()?;
    let min = Duration::from_secs(args.inprocess_seconds);

    // --- in-process, on CPU 1 (this process is pinned) ---
    eprintln!("openssl speed");
    let ossl = openssl_speed_rsa2048(args.openssl_seconds)?;

    let inproc_dir = scratch.path().join("inprocess");
    let env = server_env(&inproc_dir, &jwks_url, true);
    let config = ferrometa_config::load(None, &|k| env.get(k).cloned()).map_err(|e| anyhow!("{e}"))?.config;
    std::fs::create_dir_all(&inproc_dir)?;
    let own_keys = Arc::new(KeyDir::new(&inproc_dir.join("verifier")).load_or_generate()?);

    eprintln!("in-process cold verify of ID tokens");
    let (mut n, mut spent, mut passes) = (0u64, Duration::ZERO, 0u32);
    while spent < min {
        let verifier = Verifier::new(&config.authentication, own_keys.clone(), &config.jwt.issuer);
        // Loads the JWKS (one fetch) before the timed part.
        verifier.remote_jwks().ok_or_else(|| anyhow!("no IdP keys configured"))?.key(Some(KID)).await?;
        let t = Instant::now();
        for token in &verify_tokens {
            let v = verifier.verify(token).await?;
            debug_assert_eq!(v.kind, ferrometa_auth::verify::TokenKind::IdpId);
        }
        spent += t.elapsed();
        n += verify_tokens.len() as u64;
        passes += 1;
    }
    let cold_verify = n as f64 / spent.as_secs_f64();

    eprintln!("in-process cold verify, step by step");
    let verifier = Verifier::new(&config.authentication, own_keys.clone(), &config.jwt.issuer);
    let jwks = verifier.remote_jwks().ok_or_else(|| anyhow!("no IdP keys configured"))?.clone();
    let idp_key = jwks.key(Some(KID)).await?;
    let j = &jwks;
    let lookup = per_call(Duration::from_secs(1), move || async move { j.key(Some(KID)).await.map(drop).map_err(Into::into) }).await?;
    let mut steps = vec![("key lookup by `kid` in the IdP key cache (`RemoteJwks::key`: mutex, clone)", lookup)];
    steps.extend(verify_steps(&verify_tokens[0], &idp_key, Duration::from_secs(1)));

    eprintln!("in-process breakdown of the authenticated path");
    let parts = breakdown(config.clone(), &main_token, &unknown_token, min).await?;

    // --- the two servers on CPU 0, wrk on CPU 1 ---
    let on = start_server(&args.binary, &server_env(&scratch.path().join("auth-on"), &jwks_url, true)).await?;
    let off = start_server(&args.binary, &server_env(&scratch.path().join("auth-off"), &jwks_url, false)).await?;
    let on_url = format!("http://{}{ROUTE}", on.api_addr);
    let off_url = format!("http://{}{ROUTE}", off.api_addr);
    ensure!(status_of(&on_url, None).await? == 401, "auth-on server accepted a request without a token");
    ensure!(status_of(&on_url, Some(&main_token)).await? == 200, "auth-on server refused the ID token");
    ensure!(status_of(&on_url, Some(&unknown_token)).await? == 200, "auth-on server refused the unknown user's ID token");
    ensure!(status_of(&off_url, None).await? == 200, "auth-off server wants a token");
    load_table(&format!("http://{}", on.api_addr), Some(&main_token), Some(&reader_token)).await?;
    load_table(&format!("http://{}", off.api_addr), None, None).await?;
    let on_table = format!("http://{}{TABLE_ROUTE}", on.api_addr);
    let off_table = format!("http://{}{TABLE_ROUTE}", off.api_addr);
    ensure!(status_of(&on_table, Some(&reader_token)).await? == 200, "the reader cannot read the table");

    let wrk = Wrk { connections: args.connections };
    let tok = Some(("ID_TOKEN", main_token.as_str()));
    let reader_tok = Some(("READER_ID_TOKEN", reader_token.as_str()));
    let unknown_tok = Some(("UNKNOWN_USER_ID_TOKEN", unknown_token.as_str()));
    wrk.run("warm-up, auth off", off.pid, &off_url, tok, 2, None)?;
    wrk.run("warm-up, auth on", on.pid, &on_url, tok, 2, None)?;
    wrk.run("warm-up, auth off, table", off.pid, &off_table, reader_tok, 2, None)?;
    wrk.run("warm-up, auth on, table", on.pid, &on_table, reader_tok, 2, None)?;
    // Every configuration once per round, so that drift of the machine hits all of them alike.
    let off_public = format!("http://{}{PUBLIC_ROUTE}", off.api_addr);
    let on_public = format!("http://{}{PUBLIC_ROUTE}", on.api_addr);
    let d = args.breakdown_seconds;
    // (label, server pid, URL, token header, seconds)
    type Config<'a> = (String, u32, &'a str, Option<(&'a str, &'a str)>, u64);
    let configs: [Config; 7] = [
        (format!("auth off, {TABLE_ROUTE}"), off.pid, &off_table, reader_tok, args.seconds),
        (format!("auth on, {TABLE_ROUTE}, a data consumer's ID token (policies evaluated)"), on.pid, &on_table, reader_tok, args.seconds),
        (format!("auth off, {ROUTE}"), off.pid, &off_url, tok, args.seconds),
        (format!("auth on, {ROUTE}, ID token"), on.pid, &on_url, tok, args.seconds),
        (format!("auth off, {PUBLIC_ROUTE} (public route)"), off.pid, &off_public, tok, d),
        (format!("auth on, {PUBLIC_ROUTE} (public route)"), on.pid, &on_public, tok, d),
        (format!("auth on, {ROUTE}, ID token of a user not yet in the catalog"), on.pid, &on_url, unknown_tok, d),
    ];
    let mut runs: Vec<Vec<WrkRun>> = vec![vec![]; configs.len()];
    // Each pair swaps its order every round (off, on / on, off): on this VM identical servers
    // differ by up to 10% from one run to the next, and a fixed order would turn slow drift of
    // the machine into a bias against whichever configuration always runs second. The goal
    // pairs run in rounds of their own, before the breakdown runs, which load one server only
    // (a user not yet in the catalog reads the database on every request) and would otherwise
    // weigh on the next pair's first run.
    let goal_rounds: [[usize; 4]; 2] = [[0, 1, 2, 3], [1, 0, 3, 2]];
    let breakdown_rounds: [[usize; 3]; 2] = [[4, 5, 6], [5, 4, 6]];
    let schedule = (1..=args.rounds).map(|r| (r, &goal_rounds[(r + 1) % 2][..])).chain((1..=args.rounds).map(|r| (r, &breakdown_rounds[(r + 1) % 2][..])));
    for (round, order) in schedule {
        for &i in order {
            let (label, pid, url, token, secs) = &configs[i];
            runs[i].push(wrk.run(&format!("round {round}: {label}"), *pid, url, *token, *secs, None)?);
        }
    }

    let lua = scratch.path().join("distinct_tokens.lua");
    std::fs::write(&lua, LUA)?;
    let tokens_file = scratch.path().join("tokens.txt");
    std::fs::write(&tokens_file, cold_tokens.join("\n"))?;
    let cold_http = wrk.run(&format!("auth on, {ROUTE}, a distinct ID token per request (cache never hits)"), on.pid, &on_url, None, args.seconds.max(5), Some((&lua, &tokens_file)))?;
    let (on_rss, on_hwm) = rss_kib(on.pid)?;
    let (off_rss, off_hwm) = rss_kib(off.pid)?;
    on.stop(Duration::from_secs(40))?;
    off.stop(Duration::from_secs(40))?;

    for r in runs.iter().flatten().chain([&cold_http]) {
        ensure!(r.non2xx == 0, "{}: {} non-2xx responses", r.label, r.non2xx);
    }

    // --- report ---
    let med = |v: &[WrkRun], f: fn(&WrkRun) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (table_offs, table_ons, offs, ons, public_off, public_on, unknown) = (&runs[0], &runs[1], &runs[2], &runs[3], &runs[4], &runs[5], &runs[6]);
    let off_rps = med(offs, |r| r.rps);
    let on_rps = med(ons, |r| r.rps);
    // Goals are judged on the median of the per-round ratios (each pair ran back to back).
    let ratios = |on: &[WrkRun], off: &[WrkRun]| -> Vec<f64> { on.iter().zip(off.iter()).map(|(a, b)| a.rps / b.rps).collect() };

    let verify_ratio = cold_verify / ossl.verify_per_s;
    let mut text = info.header("Authenticated request throughput with a Cognito ID token, and policy evaluation on a catalog read (issues 4 and 14)");
    text.push_str(&format!(
        "- Binary: `{}`; two servers on CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`, `TOKIO_WORKER_THREADS=1`), same configuration (`AUTHENTICATION_PROVIDER=aws-cognito`, in-process JWKS on 127.0.0.1), the baseline adding `AUTHORIZER_REQUEST_FILTER={NOOP_FILTER}` and `AUTHORIZER_CLASS_NAME={NOOP_AUTHORIZER}`\n\
         - Load: `wrk` 1 thread, {} connections, on CPU {CLIENT_CPU}; {} rounds of the two goal pairs (table read, `loginConfig`), then as many rounds of the breakdown runs (public route pair, a user not yet in the catalog), each pair in alternating order (auth off first in odd rounds, auth on first in even rounds; {} s for the goal pairs, {} s for the others), after a 2 s warm-up of each server\n\
         - Token: Cognito-shaped ID token (RS256, 2048-bit key, `kid` from the JWKS, `token_use: id`, `aud` = client id, `email_verified: true`, {} bytes) of `{USER_EMAIL}`, bound to its subject by its first request; both servers get the same `Authorization` header\n\
         - Catalog read: `GET {TABLE_ROUTE}` of a table of 20 columns (service, database and schema written through the API on both servers) with the ID token of `{READER_EMAIL}`, a user signed up through the API without admin rights: its read is judged by the seeded policies (the Organization's DataConsumer role and OrganizationPolicy: `ViewBasic` on the table, its owners read for `isOwner()`); the baseline reads the same table with authentication and authorization off\n\
         - Server CPU per request: user + system time of the server process (`/proc/<pid>/stat`) during the run ÷ requests; unlike req/s it does not count time the server waited for its CPU, so it is the steadier figure when the machine is shared\n\
         - In-process figures: this process pinned to CPU {CLIENT_CPU}; `openssl speed -seconds {} rsa2048` ({}) on the same CPU\n\n",
        args.binary.display(),
        args.connections,
        args.rounds,
        args.seconds,
        d,
        main_token.len(),
        args.openssl_seconds,
        ossl.version
    ));
    text.push_str("## Summary\n\n");
    let mut t = Table::new(&["metric", "auth on", "baseline (same run)", "ratio", "goal", "result"]);
    // The goal rows of one pair: req/s (median of the per-round ratios) and server CPU.
    let mut pair_rows = |what: String, on: &[WrkRun], off: &[WrkRun]| {
        let round_ratios = ratios(on, off);
        let ratio = median(&round_ratios);
        let cpu_ratio = med(off, |r| r.cpu_us) / med(on, |r| r.cpu_us);
        t.row(&[
            format!("req/s, {what}; median of {} rounds, ratio = median of the per-round ratios", args.rounds),
            thousands(med(on, |r| r.rps)),
            format!("auth off: {}", thousands(med(off, |r| r.rps))),
            format!("{ratio:.3} (rounds: {})", round_ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(", ")),
            format!("≥ {RATIO_GOAL}"),
            verdict(ratio >= RATIO_GOAL).to_string(),
        ]);
        t.row(&[
            "same, as server CPU per request (auth off ÷ auth on)".into(),
            format!("{:.1} µs", med(on, |r| r.cpu_us)),
            format!("{:.1} µs", med(off, |r| r.cpu_us)),
            format!("{cpu_ratio:.3}"),
            format!("≥ {RATIO_GOAL}"),
            verdict(cpu_ratio >= RATIO_GOAL).to_string(),
        ]);
    };
    pair_rows(format!("`GET {TABLE_ROUTE}` by a data consumer (token verified, caller cached, policies evaluated)"), table_ons, table_offs);
    pair_rows(format!("`GET {ROUTE}` with the ID token (verified-token cache warm)"), ons, offs);
    t.row(&[
        "latency p50 / p99 (medians)".into(),
        format!("{:.2} / {:.2} ms", med(ons, |r| r.p50_ms), med(ons, |r| r.p99_ms)),
        format!("{:.2} / {:.2} ms", med(offs, |r| r.p50_ms), med(offs, |r| r.p99_ms)),
        format!("{:.2} / {:.2}", med(ons, |r| r.p50_ms) / med(offs, |r| r.p50_ms), med(ons, |r| r.p99_ms) / med(offs, |r| r.p99_ms)),
        "none (reported)".into(),
        "–".into(),
    ]);
    t.row(&[
        "cold verifications/s: distinct ID tokens through the real `Verifier` (IdP JWKS, cache bypassed), one CPU".into(),
        thousands(cold_verify),
        format!("openssl rsa2048 verify/s: {}", thousands(ossl.verify_per_s)),
        format!("{verify_ratio:.2}"),
        format!("≥ {VERIFY_GOAL}"),
        verdict(verify_ratio >= VERIFY_GOAL).to_string(),
    ]);
    t.row(&[
        "req/s over HTTP with a distinct ID token per request (every request verifies RS256)".into(),
        thousands(cold_http.rps),
        format!("openssl rsa2048 verify/s: {}", thousands(ossl.verify_per_s)),
        format!("{:.2}", cold_http.rps / ossl.verify_per_s),
        "none (reported)".into(),
        "–".into(),
    ]);
    text.push_str(&t.render());

    text.push_str("\n## Raw figures (wrk)\n\n");
    let mut t = Table::new(&["run", "requests", "seconds", "req/s", "server CPU/request", "p50", "p99", "non-2xx", "socket errors"]);
    let mut in_order: Vec<&WrkRun> = vec![];
    for round in 0..args.rounds {
        in_order.extend(runs.iter().map(|v| &v[round]));
    }
    in_order.push(&cold_http);
    for r in &in_order {
        t.row(&[
            r.label.clone(),
            r.requests.to_string(),
            format!("{:.2}", r.seconds),
            thousands(r.rps),
            format!("{:.1} µs", r.cpu_us),
            format!("{:.2} ms", r.p50_ms),
            format!("{:.2} ms", r.p99_ms),
            r.non2xx.to_string(),
            if r.socket_errors.is_empty() { "none".into() } else { r.socket_errors.clone() },
        ]);
    }
    text.push_str(&t.render());
    text.push_str(&format!(
        "\nThe distinct-token run stops when its {} tokens are used up; its rate is timed by the script from the first request to the last response (wrk's own Requests/sec divides by the whole `-d`). Its latency columns are wrk's.\n\n\
         `openssl speed`: `{}`. JWKS fetches served: {} (one per server start and per in-process verifier). Server RSS after all runs: auth on {} (peak {}; it holds the verified-token and caller caches filled by the distinct-token run), auth off {} (peak {}).\n",
        cold_tokens.len(),
        ossl.line,
        jwks_fetches.load(Ordering::Relaxed),
        mib(on_rss as f64),
        mib(on_hwm as f64),
        mib(off_rss as f64),
        mib(off_hwm as f64)
    ));
    text.push_str("\nCommands (tokens and ports elided):\n\n```\n");
    let mut seen = std::collections::BTreeSet::new();
    for r in &in_order {
        if seen.insert(r.command.clone()) {
            text.push_str(&format!("{}\n", r.command));
        }
    }
    text.push_str("```\n");

    // --- where the time goes ---
    let cpu = |v: &[WrkRun]| med(v, |r| r.cpu_us);
    let us = |rps: f64| 1e6 / rps;
    let overhead = cpu(ons) - cpu(offs);
    text.push_str("\n## Where the time goes\n\n");
    text.push_str(&format!(
        "Per request on the server (medians over the rounds); CPU is measured, 1/(req/s) is the wall time of its one CPU per request:\n\n\
         | per request on the server | CPU µs | 1/(req/s) µs |\n|---|---|---|\n\
         | auth off, `{ROUTE}` | {:.1} | {:.1} |\n\
         | auth on, same route, same ID token (cache hit) | {:.1} | {:.1} |\n\
         | **authentication overhead** (difference) | **{:.1}** ({:.0}% of auth off) | {:.1} |\n\
         | public route `{PUBLIC_ROUTE}`: auth off | {:.1} | {:.1} |\n\
         | public route: auth on (the auth layer on a route that needs no token) | {:.1} | {:.1} |\n\
         | auth on, user not yet in the catalog (binding and user looked up on every request) | {:.1} | {:.1} |\n\
         | auth on, distinct token per request (RS256 verify, caller resolved from SQLite, two cache inserts) | {:.1} | {:.1} |\n\
         | ⇒ a never-seen token adds (distinct − cached) | {:.1} | {:.1} |\n\
         | `{TABLE_ROUTE}`: auth off | {:.1} | {:.1} |\n\
         | same, auth on, a data consumer (token, caller cache, policies) | {:.1} | {:.1} |\n\
         | ⇒ authentication and authorization of a catalog read (difference) | {:.1} | {:.1} |\n\n",
        cpu(offs), us(off_rps),
        cpu(ons), us(on_rps),
        overhead, 100.0 * overhead / cpu(offs), us(on_rps) - us(off_rps),
        cpu(public_off), us(med(public_off, |r| r.rps)),
        cpu(public_on), us(med(public_on, |r| r.rps)),
        cpu(unknown), us(med(unknown, |r| r.rps)),
        cold_http.cpu_us, us(cold_http.rps),
        cold_http.cpu_us - cpu(ons), us(cold_http.rps) - us(on_rps),
        cpu(table_offs), us(med(table_offs, |r| r.rps)),
        cpu(table_ons), us(med(table_ons, |r| r.rps)),
        cpu(table_ons) - cpu(table_offs), us(med(table_ons, |r| r.rps)) - us(med(table_offs, |r| r.rps)),
    ));
    text.push_str(&format!(
        "The same steps measured in-process (this process on CPU {CLIENT_CPU}, the server's own `AppState` from `ferrometa_server::startup::build_state` with the same configuration and a fresh SQLite database), µs per call:\n\n\
         | step of the authenticated path (`access::enforce` → `authorize`) | µs | share of the measured overhead |\n|---|---|---|\n\
         | **`access::authenticated_caller` with a cached caller** (what a repeated token costs: one cache lookup keyed by the token, `exp`/`nbf`/`iat` re-checked) | **{:.1}** | **{:.0}%** |\n\
         | on a caller-cache miss (first request, or 5 s later): `AuthService::authenticate` (bearer → principal), of which: | {:.1} | {:.0}% |\n\
         | · `Verifier::verify`, cache hit (SHA-256 of the token, moka lookup, time checks) | {:.1} | {:.0}% |\n\
         | · `PrincipalRules::resolve` | {:.1} | {:.0}% |\n\
         | and `access::caller_of` (the caller's user; `authenticated_caller` caches the result by token) | {:.1} | {:.0}% |\n\
         | sum on a caller-cache miss: authenticate + caller_of | {:.1} | {:.0}% |\n\
         | not per request, for comparison: on a caller-cache miss, `Store::sso_subject_user` (SQLite: binding of (iss, sub)) | {:.1} | |\n\
         | · and `Catalog::get` of the bound user (SQLite) | {:.1} | |\n\
         | `caller_of` for a user not yet in the catalog (never cached: binding miss + `user_by_name` miss) | {:.1} | |\n\
         | `Catalog::user_by_name` | {:.1} | |\n\
         | `Catalog::authorize`: a data consumer's `ViewBasic` on a table with an owner (seeded policies, governance snapshot warm) | {:.1} | |\n\n",
        parts.cached_caller,
        100.0 * parts.cached_caller / overhead,
        parts.authenticate,
        100.0 * parts.authenticate / overhead,
        parts.verify_hit,
        100.0 * parts.verify_hit / overhead,
        parts.resolve,
        100.0 * parts.resolve / overhead,
        parts.caller_of,
        100.0 * parts.caller_of / overhead,
        parts.authenticate + parts.caller_of,
        100.0 * (parts.authenticate + parts.caller_of) / overhead,
        parts.sso_lookup,
        parts.user_get,
        parts.caller_of_unknown,
        parts.user_by_name,
        parts.authorize,
    ));
    text.push_str(&format!(
        "A never-seen token misses both the verified-token cache and the caller cache. Expected extra server time from the in-process figures: cold verify {:.1} µs + `sso_subject_user` {:.1} µs + `Catalog::get` {:.1} µs = {:.1} µs; measured over HTTP (server CPU, distinct − cached): {:.1} µs.\n\n",
        1e6 / cold_verify,
        parts.sso_lookup,
        parts.user_get,
        1e6 / cold_verify + parts.sso_lookup + parts.user_get,
        cold_http.cpu_us - cpu(ons)
    ));
    text.push_str(&steps_table(1e6 / cold_verify, &steps));
    text.push_str(&format!(
        "\nIn-process cold verification: {passes} passes of {} distinct tokens, each pass with a new `Verifier` (JWKS fetched before the timed part), {:.1} µs per token.\n",
        verify_tokens.len(),
        1e6 / cold_verify
    ));
    write_report(&args.out, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let out = "Running 10s test @ http://127.0.0.1:1/\n  1 threads and 50 connections\n  Latency Distribution\n     50%  440.00us\n     75%  500.00us\n     90%  600.00us\n     99%    1.92ms\n  1081690 requests in 10.00s, 50.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec: 108169.00\nTransfer/sec:      5.00MB\n";
        let r = parse_wrk("x", String::new(), out).unwrap();
        assert_eq!(r.requests, 1081690);
        assert_eq!(r.seconds, 10.0);
        assert_eq!(r.rps, 108169.0);
        assert!((r.p50_ms - 0.44).abs() < 1e-9);
        assert!((r.p99_ms - 1.92).abs() < 1e-9);
        assert_eq!(r.non2xx, 3);
        let lua = "  1 requests in 5.00s\nRequests/sec: 1.0\nDISTINCT_TOKENS responses=60000 seconds=3.000000 non200=0\n";
        let r = parse_wrk("y", String::new(), lua).unwrap();
        assert_eq!((r.requests, r.rps as u64), (60000, 20000));
    }
}
