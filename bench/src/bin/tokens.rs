//! Issue 3: per-core throughput of ferrometa's own tokens and of password checks.
//!
//! Run pinned to one CPU (`taskset -c 1`, as `bench/run.sh` does). Baseline in the same run:
//! `openssl speed -seconds N rsa2048`, measured before and after (the mean is used).
//!
//! - verify/s: our RS256 tokens through the real `Verifier`, cache bypassed: N distinct tokens
//!   are minted first, and every pass over them uses a new `Verifier` (the cache is per verifier).
//! - mint/s: `TokenIssuer::mint`.
//! - login/s: `Passwords::verify` against a real Argon2id hash and a bcrypt cost-12 hash; and the
//!   time of a wrong password against that of an unknown user (the dummy hash), which must match.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use ferrometa_auth::keys::KeyDir;
use ferrometa_auth::password::{Passwords, Verdict};
use ferrometa_auth::tokens::{OwnTokenType, Subject, TokenIssuer};
use ferrometa_auth::tokens::jwt_algorithm;
use ferrometa_auth::verify::Verifier;
use ferrometa_bench::*;

const VERIFY_GOAL: f64 = 0.6;
const PASSWORD: &str = "Bench-Passw0rd!";

#[derive(Parser)]
#[command(about = "Per-core token verify/mint and password-check throughput, against `openssl speed rsa2048` in the same run")]
struct Args {
    /// Seconds per measured line.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Seconds per `openssl speed` operation.
    #[arg(long, default_value_t = 3)]
    openssl_seconds: u32,
    /// Distinct tokens minted for the cold-verify passes.
    #[arg(long, default_value_t = 2000)]
    tokens: usize,
    /// Result file.
    #[arg(long, default_value_os_t = repo_root().join("bench/results/tokens.md"))]
    out: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(bench(args))
}

struct Line {
    name: String,
    per_s: f64,
    n: u64,
    secs: f64,
}

impl Line {
    fn new(name: &str, n: u64, elapsed: Duration) -> Line {
        Line { name: name.into(), per_s: n as f64 / elapsed.as_secs_f64(), n, secs: elapsed.as_secs_f64() }
    }
}

async fn bench(args: Args) -> Result<()> {
    let info = RunInfo::collect();
    if info.cpus_allowed.contains(['-', ',']) {
        eprintln!("warning: not pinned to one CPU (allowed: {}); run with `taskset -c 1`", info.cpus_allowed);
    }
    let min = Duration::from_secs(args.seconds);
    eprintln!("openssl speed (before)");
    let ossl_before = openssl_speed_rsa2048(args.openssl_seconds)?;

    let dir = ScratchDir::new()?;
    let data_dir = dir.path().display().to_string();
    let config = ferrometa_config::load(None, &|k| (k == "FERROMETA_DATA_DIR").then(|| data_dir.clone()))?.config;
    let keys = Arc::new(KeyDir::new(dir.path()).load_or_generate()?);
    let issuer = TokenIssuer::new(keys.clone(), &config.jwt.issuer, jwt_algorithm(config.authentication.algorithm));
    let roles: Vec<String> = vec![];
    let subject = Subject { name: "bench-user", email: "bench-user@open-metadata.org", is_bot: false, roles: &roles, generation: 0 };

    eprintln!("minting {} tokens", args.tokens);
    let tokens: Vec<String> = (0..args.tokens).map(|_| issuer.mint(&subject, OwnTokenType::OmUser, Some(3600)).map(|m| m.token)).collect::<Result<_, _>>()?;
    let token_bytes = tokens[0].len();

    eprintln!("verify, cache bypassed");
    let (mut n, mut spent, mut passes) = (0u64, Duration::ZERO, 0u32);
    while spent < min {
        let verifier = Verifier::new(&config.authentication, keys.clone(), &config.jwt.issuer);
        let t = Instant::now();
        for token in &tokens {
            verifier.verify(token).await?;
        }
        spent += t.elapsed();
        n += tokens.len() as u64;
        passes += 1;
        drop(verifier);
    }
    let cold = Line::new("`Verifier::verify`, distinct tokens (cache bypassed)", n, spent);

    eprintln!("verify, cache hit");
    let verifier = Verifier::new(&config.authentication, keys.clone(), &config.jwt.issuer);
    verifier.verify(&tokens[0]).await?;
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < min {
        for _ in 0..1000 {
            verifier.verify(&tokens[0]).await?;
        }
        n += 1000;
    }
    let cached = Line::new("`Verifier::verify`, same token (cache hit)", n, t.elapsed());

    eprintln!("raw RSA verify");
    let (signing_input, signature) = tokens[0].rsplit_once('.').expect("compact JWS");
    let signature = URL_SAFE_NO_PAD.decode(signature)?;
    let jwk = &keys.verifying[0].jwk;
    let (n_bytes, e_bytes) = (URL_SAFE_NO_PAD.decode(&jwk.n)?, URL_SAFE_NO_PAD.decode(&jwk.e)?);
    let components = RsaPublicKeyComponents { n: n_bytes.as_slice(), e: e_bytes.as_slice() };
    let (_, n, el) = rate(min, 1, || components.verify(&signature::RSA_PKCS1_2048_8192_SHA256, signing_input.as_bytes(), &signature).expect("valid signature"));
    let raw_components = Line::new("raw aws-lc-rs `RsaPublicKeyComponents::verify` (key re-imported per call, as `jsonwebtoken::crypto::verify` does)", n, el);
    let spki = std::fs::read(dir.path().join("keys/public_key.der"))?;
    let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &spki).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (_, n, el) = rate(min, 1, || parsed.verify_sig(signing_input.as_bytes(), &signature).expect("valid signature"));
    let raw_parsed = Line::new("raw aws-lc-rs `ParsedPublicKey::verify_sig` (key parsed once, as `Verifier` does)", n, el);

    eprintln!("verify, step by step");
    let step_min = Duration::from_secs(1);
    let kid = keys.kid.clone();
    let (per_s, _, _) = rate(step_min, 10, || {
        std::hint::black_box(keys.find(std::hint::black_box(&kid)));
    });
    let mut steps = vec![("key lookup by `kid` among our keys (`KeySet::find`)", 1e6 / per_s)];
    steps.extend(verify_steps(&tokens[0], &keys.verifying[0], step_min));

    eprintln!("mint");
    let (_, n, el) = rate(min, 1, || {
        issuer.mint(&subject, OwnTokenType::OmUser, Some(3600)).expect("mint");
    });
    let mint = Line::new("`TokenIssuer::mint` (RS256 sign)", n, el);

    eprintln!("login: Argon2id");
    let passwords = Passwords::default();
    let argon_hash = passwords.hash(PASSWORD).await?;
    let bcrypt_hash = bcrypt::hash(PASSWORD, 12)?;
    let mut logins = vec![];
    let argon_name = argon_hash.split('$').take(4).collect::<Vec<_>>().join("$");
    // (line, password tried, stored hash, whether it should match, minimum iterations)
    let cases: [(String, &str, Option<String>, bool, u64); 4] = [
        (format!("`Passwords::verify`, Argon2id (`{argon_name}`)"), PASSWORD, Some(argon_hash.clone()), true, 20),
        ("`Passwords::verify`, bcrypt cost 12 (`$2b$12$`)".to_string(), PASSWORD, Some(bcrypt_hash.clone()), true, 5),
        ("`Passwords::verify`, wrong password for a known user (Argon2id)".to_string(), "Wrong-Passw0rd!", Some(argon_hash.clone()), false, 20),
        ("`Passwords::verify`, unknown user (no stored hash: the dummy Argon2id hash is checked)".to_string(), PASSWORD, None, false, 20),
    ];
    for (name, password, stored, should_match, min_iters) in cases {
        eprintln!("login: {name}");
        let t = Instant::now();
        let mut n = 0u64;
        while n < min_iters || t.elapsed() < min {
            let verdict = passwords.verify(password, stored.clone()).await?;
            anyhow::ensure!(matches!(verdict, Verdict::Match { .. }) == should_match, "{name}: unexpected verdict");
            n += 1;
        }
        logins.push(Line::new(&name, n, t.elapsed()));
    }

    eprintln!("openssl speed (after)");
    let ossl_after = openssl_speed_rsa2048(args.openssl_seconds)?;
    let ossl_verify = (ossl_before.verify_per_s + ossl_after.verify_per_s) / 2.0;
    let ossl_sign = (ossl_before.sign_per_s + ossl_after.sign_per_s) / 2.0;

    let mut text = info.header("Token and password throughput per core (issue 3)");
    text.push_str(&format!(
        "- Baseline (same run): `openssl speed -seconds {} rsa2048` ({}), run before and after the measurements; ratios use the mean\n\
         - {} s per line; {} distinct tokens of {} bytes (`OM_USER`, RS256, 2048-bit generated key); one CPU\n\n",
        args.openssl_seconds, ossl_before.version, args.seconds, args.tokens, token_bytes
    ));
    text.push_str("## Summary\n\n");
    let mut t = Table::new(&["metric", "ferrometa", "baseline (same run)", "ratio", "goal", "result"]);
    let ratio = cold.per_s / ossl_verify;
    t.row(&[
        "RS256 verify/s of our tokens (real `Verifier`, cache bypassed)".into(),
        format!("{}/s ({:.1} µs)", thousands(cold.per_s), 1e6 / cold.per_s),
        format!("openssl verify: {}/s", thousands(ossl_verify)),
        format!("{ratio:.2}"),
        format!("≥ {VERIFY_GOAL}"),
        verdict(ratio >= VERIFY_GOAL).to_string(),
    ]);
    t.row(&[
        "mint/s (`TokenIssuer::mint`)".into(),
        format!("{}/s ({:.0} µs)", thousands(mint.per_s), 1e6 / mint.per_s),
        format!("openssl sign: {}/s", thousands(ossl_sign)),
        format!("{:.2}", mint.per_s / ossl_sign),
        "none (reported)".into(),
        "–".into(),
    ]);
    t.row(&[
        "login/s, Argon2id (m=19 MiB, t=2, p=1)".into(),
        format!("{:.1}/s ({:.1} ms)", logins[0].per_s, 1e3 / logins[0].per_s),
        format!("bcrypt cost 12: {:.2}/s ({:.0} ms)", logins[1].per_s, 1e3 / logins[1].per_s),
        format!("{:.2}", logins[0].per_s / logins[1].per_s),
        "none (reported)".into(),
        "–".into(),
    ]);
    let (wrong, unknown) = (1e3 / logins[2].per_s, 1e3 / logins[3].per_s);
    t.row(&[
        "login check time: unknown user vs wrong password of a known user".into(),
        format!("{unknown:.1} ms"),
        format!("wrong password: {wrong:.1} ms"),
        format!("{:.2}", unknown / wrong),
        "similar (no user enumeration by timing)".into(),
        verdict((0.8..=1.25).contains(&(unknown / wrong))).to_string(),
    ]);
    text.push_str(&t.render());

    text.push_str("\n## Raw figures\n\n");
    let mut t = Table::new(&["operation", "ops/s", "µs/op", "ops", "seconds", "vs openssl verify"]);
    for l in [&cold, &cached, &raw_components, &raw_parsed, &mint] {
        t.row(&[l.name.clone(), thousands(l.per_s), format!("{:.2}", 1e6 / l.per_s), l.n.to_string(), format!("{:.2}", l.secs), format!("{:.2}", l.per_s / ossl_verify)]);
    }
    for l in &logins {
        t.row(&[l.name.clone(), format!("{:.2}", l.per_s), format!("{:.0}", 1e6 / l.per_s), l.n.to_string(), format!("{:.2}", l.secs), "–".into()]);
    }
    text.push_str(&t.render());
    text.push_str(&format!(
        "\n`openssl speed` lines (sign/s, verify/s are the last two columns):\n\n```\nbefore: {}\nafter:  {}\n```\n",
        ossl_before.line, ossl_after.line
    ));
    text.push_str(&format!(
        "\nCold verification ran {passes} passes of {} tokens, each pass with a new `Verifier` built from the default configuration (the verified-token cache lives in the verifier, so every call is a miss: split, header checks, key by `kid`, RSA verify, claims parse and checks, SHA-256 of the token, cache insert). Verifier construction is outside the timed part.\n",
        args.tokens
    ));
    text.push_str(&steps_table(1e6 / cold.per_s, &steps));
    text.push_str(&format!(
        "\nIn short: one cold verify: {:.1} µs in total, of which {:.1} µs is the RSA check with the key parsed once (what `Verifier` does since keys are parsed when loaded; re-importing the key per call, as `jsonwebtoken::crypto::verify` does, costs {:.1} µs) and {:.1} µs the rest (JSON, base64, SHA-256, cache insert). A cache hit costs {:.2} µs.\n",
        1e6 / cold.per_s,
        1e6 / raw_parsed.per_s,
        1e6 / raw_components.per_s,
        1e6 / cold.per_s - 1e6 / raw_parsed.per_s,
        1e6 / cached.per_s
    ));
    write_report(&args.out, &text)
}
