//! Keys of the identity provider, from every remote `publicKeyUrls` entry.
//!
//! - every usable key cached, also keys without `kid` (so that none shadows another); a token
//!   without `kid` verifies only when exactly one key is published in all sets; loaded in the
//!   background at startup;
//! - unknown `kid`: one refetch of each URL, at most one fetch per URL per 10 s (penalty box);
//! - stale-if-error: cached keys keep verifying while the IdP is unreachable;
//! - a key that left the JWKS stops verifying: a key not confirmed for `max_key_age` triggers a
//!   refetch, and a successful fetch without it drops it;
//! - unusable JWKs (other `kty`, another `alg`, `use` other than `sig`, RSA < 2048 or > 8192
//!   bits) are skipped; all URLs are fetched in parallel, each bounded by the fetch timeout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::{AuthError, Result, UNKNOWN_KID};
use crate::flight::SingleFlight;
use crate::keys::{PublicJwk, VerifyingKey};

pub const PENALTY: Duration = Duration::from_secs(10);
const MAX_JWKS_BYTES: usize = 512 * 1024;

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Clone)]
struct CachedKey {
    key: VerifyingKey,
    confirmed_at: Instant,
}

#[derive(Default)]
struct UrlState {
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
    keys: Vec<CachedKey>,
}

pub struct RemoteJwks {
    urls: Vec<String>,
    algorithm: &'static str,
    client: reqwest::Client,
    max_key_age: Duration,
    state: Mutex<Vec<UrlState>>,
    /// One fetch at a time: a burst of unknown kids makes one request per URL, and requests
    /// that queued behind a fetch (the start-up prefetch too) take its outcome.
    flight: SingleFlight,
}

/// Whether a JWK from a remote set can verify our configured algorithm.
fn usable(raw: &serde_json::Value, algorithm: &str) -> Option<VerifyingKey> {
    let field = |k: &str| raw.get(k).and_then(|v| v.as_str());
    if field("kty") != Some("RSA") || field("alg").is_some_and(|a| a != algorithm) || field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let jwk = PublicJwk {
        kty: "RSA".into(),
        kid: field("kid").unwrap_or("").into(),
        n: field("n")?.into(),
        e: field("e")?.into(),
        alg: algorithm.into(),
        use_: "sig".into(),
    };
    VerifyingKey::from_jwk(jwk).filter(|k| (2048..=8192).contains(&k.bits))
}

impl RemoteJwks {
    pub fn new(urls: Vec<String>, algorithm: &'static str, fetch_timeout: Duration, max_key_age: Duration) -> Arc<RemoteJwks> {
        let client = reqwest::Client::builder()
            .connect_timeout(fetch_timeout)
            .timeout(fetch_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default();
        let state = Mutex::new(urls.iter().map(|_| UrlState::default()).collect());
        Arc::new(RemoteJwks { urls, algorithm, client, max_key_age, state, flight: SingleFlight::default() })
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// Starts loading every URL without blocking startup. This load does not count against
    /// the penalty box, so a rotation right after startup is still picked up on first use.
    pub fn prefetch(self: &Arc<Self>) {
        let this = self.clone();
        tokio::spawn(async move { this.flight.run_or_join(|| this.fetch_due(false)).await });
    }

    fn lookup(&self, kid: Option<&str>) -> Option<CachedKey> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match kid {
            // A key without kid (stored as "") never matches a token's kid, not even "".
            Some(kid) => state.iter().flat_map(|u| &u.keys).find(|c| !c.key.jwk.kid.is_empty() && c.key.jwk.kid == kid).cloned(),
            // No kid: only a single key in all sets is unambiguous (OIDC kid-absent rules).
            None => {
                let mut all = state.iter().flat_map(|u| &u.keys);
                match (all.next(), all.next()) {
                    (Some(only), None) => Some(only.clone()),
                    _ => None,
                }
            }
        }
    }

    fn any_cached(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|u| !u.keys.is_empty())
    }

    /// The key for `kid`, fetching when it is unknown or has not been confirmed for too long.
    pub async fn key(self: &Arc<Self>, kid: Option<&str>) -> Result<VerifyingKey> {
        if let Some(cached) = self.lookup(kid).filter(|c| c.confirmed_at.elapsed() < self.max_key_age) {
            return Ok(cached.key);
        }
        self.flight.run_or_join(|| self.fetch_due(true)).await;
        let fetched_any = self.fetched_recently();
        match self.lookup(kid) {
            Some(k) => Ok(k.key),
            None if kid.is_none() => Err(AuthError::unauthorized("Not Authorized! Token has no kid and the identity provider publishes more than one key")),
            None if !fetched_any && !self.any_cached() => Err(AuthError::KeysUnavailable(
                "Identity provider keys are unavailable: no JWKS URL in publicKeyUrls could be fetched. Try again later.".into(),
            )),
            None => Err(AuthError::unauthorized(UNKNOWN_KID)),
        }
    }

    /// Whether any fetch succeeded within the penalty window (so that a refused refetch is not
    /// mistaken for an outage).
    fn fetched_recently(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.iter().any(|u| u.last_success.is_some_and(|t| t.elapsed() < PENALTY))
    }

    /// Fetches the due URLs in parallel (run through `flight`, one fetch at a time).
    async fn fetch_due(self: &Arc<Self>, penalty: bool) {
        let due: Vec<usize> = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            (0..self.urls.len())
                .filter(|&i| {
                    if !penalty {
                        return true;
                    }
                    let due = state[i].last_attempt.is_none_or(|t| now.duration_since(t) >= PENALTY);
                    if due {
                        state[i].last_attempt = Some(now);
                    }
                    due
                })
                .collect()
        };
        let mut tasks = tokio::task::JoinSet::new();
        for i in due {
            let this = self.clone();
            tasks.spawn(async move { (i, this.fetch(i).await) });
        }
        while let Some(Ok((i, result))) = tasks.join_next().await {
            self.store_result(i, result);
        }
    }

    fn store_result(&self, i: usize, result: std::result::Result<Vec<VerifyingKey>, String>) {
        let url = &self.urls[i];
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(keys) => {
                metrics::counter!("ferrometa_jwks_fetch_total", "url" => url.clone(), "result" => "ok").increment(1);
                let now = Instant::now();
                state[i].last_success = Some(now);
                state[i].keys = keys.into_iter().map(|key| CachedKey { key, confirmed_at: now }).collect();
            }
            Err(e) => {
                metrics::counter!("ferrometa_jwks_fetch_total", "url" => url.clone(), "result" => "error").increment(1);
                tracing::warn!(url = %url, error = %e, "JWKS fetch failed; cached keys stay in use");
            }
        }
    }

    async fn fetch(&self, i: usize) -> std::result::Result<Vec<VerifyingKey>, String> {
        let response = self.client.get(&self.urls[i]).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|l| l as usize > MAX_JWKS_BYTES) {
            return Err("JWKS document too large".into());
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("JWKS document too large".into());
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        Ok(set.keys.iter().filter_map(|k| usable(k, self.algorithm)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rsa_jwk(bits: usize) -> serde_json::Value {
        distinct_jwk(bits, 0xC5)
    }

    /// A syntactically valid modulus of the given size (value irrelevant for the size policy);
    /// `fill` tells keys apart.
    fn distinct_jwk(bits: usize, fill: u8) -> serde_json::Value {
        let n = vec![fill; bits / 8];
        use base64::Engine;
        json!({"kty": "RSA", "kid": format!("k{bits}"), "n": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n), "e": "AQAB"})
    }

    fn without_kid(mut jwk: serde_json::Value) -> serde_json::Value {
        jwk.as_object_mut().expect("a JWK is an object").remove("kid");
        jwk
    }

    fn with_kid(mut jwk: serde_json::Value, kid: &str) -> serde_json::Value {
        jwk["kid"] = json!(kid);
        jwk
    }

    /// Serves `{"keys": keys}` on 127.0.0.1; the socket is bound before this returns, so the
    /// first fetch is queued rather than refused.
    async fn serve_jwks(keys: Vec<serde_json::Value>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind JWKS server");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("JWKS server address"));
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let keys = keys.clone();
                async move { axum::Json(json!({"keys": keys})) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn jwks_of(sets: Vec<Vec<serde_json::Value>>) -> Arc<RemoteJwks> {
        let mut urls = Vec::new();
        for keys in sets {
            urls.push(serve_jwks(keys).await);
        }
        RemoteJwks::new(urls, "RS256", Duration::from_secs(5), Duration::from_secs(3600))
    }

    fn modulus(jwk: &serde_json::Value) -> &str {
        jwk["n"].as_str().expect("n")
    }

    fn refused_as_ambiguous(result: Result<VerifyingKey>) -> bool {
        matches!(result, Err(AuthError::Unauthorized(m)) if m.contains("no kid"))
    }

    #[tokio::test]
    async fn two_keys_without_kid_are_both_kept_and_a_token_without_kid_is_refused() {
        let (a, b) = (without_kid(distinct_jwk(2048, 0xC5)), without_kid(distinct_jwk(2048, 0xC7)));
        let jwks = jwks_of(vec![vec![a, b]]).await;
        let result = jwks.key(None).await;
        assert!(refused_as_ambiguous(result.clone()), "a kid-less token against two kid-less keys must be a 401, got {:?}", result.map(|k| k.jwk.n));
        let across_sets = jwks_of(vec![vec![without_kid(distinct_jwk(2048, 0xC5))], vec![without_kid(distinct_jwk(2048, 0xC7))]]).await;
        assert!(refused_as_ambiguous(across_sets.key(None).await), "one kid-less key in each of two sets is two keys");
        assert!(matches!(jwks.key(Some("")).await, Err(AuthError::Unauthorized(_))), "an empty kid must not pick a kid-less key");
    }

    #[tokio::test]
    async fn a_single_key_without_kid_verifies_a_token_without_kid() {
        let only = without_kid(distinct_jwk(2048, 0xC5));
        let jwks = jwks_of(vec![vec![only.clone()]]).await;
        let key = jwks.key(None).await.unwrap_or_else(|e| panic!("the only published key must verify kid-less tokens: {e}"));
        assert_eq!(key.jwk.n, modulus(&only), "the kid-less token got another key than the only one published");
    }

    #[tokio::test]
    async fn keys_with_distinct_kids_are_found_by_kid_but_not_for_a_token_without_kid() {
        let (a, b) = (with_kid(distinct_jwk(2048, 0xC5), "a"), with_kid(distinct_jwk(2048, 0xC7), "b"));
        let jwks = jwks_of(vec![vec![a.clone(), b.clone(), without_kid(distinct_jwk(2048, 0xC9))]]).await;
        for (kid, jwk) in [("a", &a), ("b", &b)] {
            let key = jwks.key(Some(kid)).await.unwrap_or_else(|e| panic!("kid {kid} must be found: {e}"));
            assert_eq!(key.jwk.n, modulus(jwk), "kid {kid} returned another key");
        }
        assert!(refused_as_ambiguous(jwks.key(None).await), "three published keys leave a kid-less token ambiguous");
    }

    /// A JWKS endpoint that accepts connections and never answers.
    async fn hanging_jwks() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind hanging server");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("address"));
        let held = tokio::spawn(async move {
            let mut open = vec![];
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        (url, held)
    }

    #[tokio::test]
    async fn a_request_behind_the_startup_prefetch_of_a_hanging_jwks_waits_one_fetch_timeout_at_most() {
        let (url, _held) = hanging_jwks().await;
        let timeout = Duration::from_secs(2);
        let jwks = RemoteJwks::new(vec![url], "RS256", timeout, Duration::from_secs(3600));
        let started = Instant::now();
        jwks.prefetch();
        tokio::task::yield_now().await;
        let result = jwks.key(Some("any")).await;
        let waited = started.elapsed();
        assert!(matches!(result, Err(AuthError::KeysUnavailable(_))), "no key could be fetched: 503, got {:?}", result.map(|k| k.jwk.kid));
        assert!(waited < timeout * 3 / 2, "the request waited {waited:?}, more than one fetch timeout ({timeout:?}) plus slack");
    }

    #[test]
    fn decoy_and_out_of_policy_keys_are_skipped() {
        assert!(usable(&rsa_jwk(2048), "RS256").is_some());
        assert!(usable(&rsa_jwk(1024), "RS256").is_none(), "weak keys are skipped");
        assert!(usable(&rsa_jwk(16384), "RS256").is_none(), "huge keys are skipped");
        let mut other_alg = rsa_jwk(2048);
        other_alg["alg"] = json!("RS512");
        assert!(usable(&other_alg, "RS256").is_none());
        let mut enc = rsa_jwk(2048);
        enc["use"] = json!("enc");
        assert!(usable(&enc, "RS256").is_none());
        assert!(usable(&json!({"kty": "EC", "crv": "P-999", "x": "a", "y": "b"}), "RS256").is_none());
        assert!(usable(&json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": "abc"}), "RS256").is_none());
        assert!(usable(&json!({"kty": "RSA", "kid": "no-n", "e": "AQAB"}), "RS256").is_none());
    }
}
