//! Issue: Cognito SSO. The identity provider's keys through a real JWKS server on loopback:
//! rotation picked up on first use, outage tolerated with cached keys, a storm of unknown kids
//! bounded to one fetch per URL per 10 s, bounded waits on a JWKS that never answers, decoys
//! skipped, and issuer variants judged exactly.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use common::*;
use ferrometa_auth::keys::PublicJwk;
use ferrometa_testkit::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

const AUTHORITY: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
const CLIENT: &str = "test-client-id";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Serve,
    Fail,
    Hang,
    /// 200 with a body that is not a JWKS document.
    Garbage,
}

/// A JWKS endpoint whose keys and behaviour a test controls, counting fetches.
struct FakeIdp {
    url: String,
    keys: Mutex<Vec<Value>>,
    mode: Mutex<Mode>,
    fetches: AtomicUsize,
}

struct IdpKey {
    encoding: EncodingKey,
    jwk: PublicJwk,
}

fn idp_key(kid: &str) -> IdpKey {
    let dir = tempfile::tempdir().unwrap();
    ferrometa_auth::keys::generate_files(dir.path()).unwrap();
    let p = |n: &str| dir.path().join(n);
    let set = ferrometa_auth::keys::load_configured(&p("private_key.der"), &p("public_key.der"), kid).unwrap();
    IdpKey { encoding: rsa_key(&std::fs::read(p("private_key.der")).unwrap()), jwk: set.jwks().remove(0) }
}

impl FakeIdp {
    async fn start(keys: Vec<Value>) -> Arc<FakeIdp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/us-east-1_TestPool/.well-known/jwks.json", listener.local_addr().unwrap());
        let idp = Arc::new(FakeIdp { url, keys: Mutex::new(keys), mode: Mutex::new(Mode::Serve), fetches: AtomicUsize::new(0) });
        let state = idp.clone();
        let app = Router::new().route(
            "/us-east-1_TestPool/.well-known/jwks.json",
            get(move || {
                let idp = state.clone();
                async move {
                    idp.fetches.fetch_add(1, Ordering::SeqCst);
                    let mode = *idp.mode.lock().await;
                    match mode {
                        Mode::Serve => (StatusCode::OK, axum::Json(json!({"keys": *idp.keys.lock().await}))),
                        Mode::Fail => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({}))),
                        Mode::Hang => std::future::pending().await,
                        Mode::Garbage => (StatusCode::OK, axum::Json(json!({"keys": "\u{0}<html>not keys", "n": [1, 2]}))),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        idp
    }

    /// The server loads the JWKS in the background at startup; this waits for that load.
    async fn wait_for_fetches(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.fetches() < n {
            assert!(Instant::now() < deadline, "the server never fetched the JWKS");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn set(&self, mode: Mode) {
        *self.mode.lock().await = mode;
    }
}

fn id_claims(iss: &str) -> Value {
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    let now = now();
    // A distinct jti per token, so that each is verified afresh (no verified-token cache hit).
    json!({"jti": SERIAL.fetch_add(1, Ordering::SeqCst), "iss": iss, "aud": CLIENT, "token_use": "id", "sub": "0e4b-sub", "email": "alice@open-metadata.org",
        "email_verified": true, "cognito:username": "alice", "iat": now, "auth_time": now, "exp": now + 3600})
}

fn id_token(key: &IdpKey, kid: &str, iss: &str) -> String {
    sign(&json!({"alg": "RS256", "kid": kid}), &id_claims(iss), &key.encoding, Algorithm::RS256)
}

fn kidless_id_token(key: &IdpKey) -> String {
    sign(&json!({"alg": "RS256"}), &id_claims(AUTHORITY), &key.encoding, Algorithm::RS256)
}

fn kidless_jwk(key: &IdpKey) -> Value {
    let mut jwk = serde_json::to_value(&key.jwk).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

async fn ferrometa_for(idp: &FakeIdp, extra: &[(&str, &str)]) -> TestServer {
    let keys = format!("[{}, http://localhost:8585/api/v1/system/config/jwks]", idp.url);
    let mut env = vec![
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_AUTHORITY", AUTHORITY),
        ("AUTHENTICATION_CLIENT_ID", CLIENT),
        ("AUTHENTICATION_CALLBACK_URL", "http://localhost:8585/callback"),
        ("AUTHENTICATION_PUBLIC_KEYS", keys.as_str()),
    ];
    env.extend_from_slice(extra);
    TestServer::start(&env).await
}

/// Status of an authenticated request (an endpoint that needs no user row).
async fn status(s: &TestServer, token: &str) -> (StatusCode, Value) {
    s.get("/api/v1/system/config/loginConfig", Some(token)).await
}

#[tokio::test]
async fn a_rotated_idp_key_is_picked_up_on_first_use() {
    let (a, b) = (idp_key("key-a"), idp_key("key-b"));
    let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
    let s = ferrometa_for(&idp, &[]).await;
    idp.wait_for_fetches(1).await;
    assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK);
    idp.keys.lock().await.push(serde_json::to_value(&b.jwk).unwrap());
    let (code, body) = status(&s, &id_token(&b, "key-b", AUTHORITY)).await;
    assert_eq!(code, StatusCode::OK, "new kid after rotation: {body}");
    s.stop().await;
}

/// An outage of the JWKS endpoint: errors, or 200 with a body that is not a JWKS document.
const OUTAGES: [Mode; 2] = [Mode::Fail, Mode::Garbage];

#[tokio::test]
async fn cached_keys_keep_working_while_the_idp_is_down_and_nothing_is_a_500() {
    for outage in OUTAGES {
        let a = idp_key("key-a");
        let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
        let s = ferrometa_for(&idp, &[]).await;
        assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK);
        idp.set(outage).await;
        let fresh = id_token(&a, "key-a", AUTHORITY);
        assert_eq!(status(&s, &fresh).await.0, StatusCode::OK, "a cached key verifies during the outage");
        let (code, body) = status(&s, &id_token(&a, "key-unknown", AUTHORITY)).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "unknown kid during an outage with cached keys: {body}");
        s.stop().await;
    }
}

#[tokio::test]
async fn no_reachable_jwks_and_no_cached_key_is_a_503() {
    for outage in OUTAGES {
        let a = idp_key("key-a");
        let idp = FakeIdp::start(vec![]).await;
        idp.set(outage).await;
        let s = ferrometa_for(&idp, &[]).await;
        let (code, body) = status(&s, &id_token(&a, "key-a", AUTHORITY)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], json!(503));
        s.stop().await;
    }
}

#[tokio::test]
async fn a_jwks_that_never_answers_does_not_hold_requests_past_the_bound() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![]).await;
    idp.set(Mode::Hang).await;
    let s = ferrometa_for(&idp, &[("FERROMETA_JWKS_FETCH_TIMEOUT_SECONDS", "1")]).await;
    let started = Instant::now();
    let (code, _) = status(&s, &id_token(&a, "key-a", AUTHORITY)).await;
    assert!(code == StatusCode::SERVICE_UNAVAILABLE || code == StatusCode::UNAUTHORIZED, "{code}");
    // The configured fetch timeout (1 s) bounds the wait; allow generous scheduling slack.
    assert!(started.elapsed() < Duration::from_secs(4), "answer took {:?}", started.elapsed());
    s.stop().await;
}

#[tokio::test]
async fn a_request_behind_the_startup_prefetch_of_a_hanging_jwks_waits_one_fetch_timeout_at_most() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![]).await;
    idp.set(Mode::Hang).await;
    let timeout = Duration::from_secs(2);
    let s = ferrometa_for(&idp, &[("FERROMETA_JWKS_FETCH_TIMEOUT_SECONDS", "2")]).await;
    let started = Instant::now();
    let (code, body) = status(&s, &id_token(&a, "key-a", AUTHORITY)).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The prefetch started with the server; the request joins it instead of fetching again
    // (which would add a second timeout to what is left of the first).
    assert!(started.elapsed() < timeout * 5 / 4, "the first request waited {:?}: more than one fetch timeout", started.elapsed());
    s.stop().await;
}

#[tokio::test]
async fn a_storm_of_random_kids_makes_at_most_one_fetch_per_url_per_window() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
    let s = Arc::new(ferrometa_for(&idp, &[]).await);
    assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK);
    let before = idp.fetches();
    let started = Instant::now();
    // The kid is looked up before any signature work, so one signed token with 10 000
    // different headers is enough.
    let template = id_token(&a, "key-a", AUTHORITY);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..50 {
        let s = s.clone();
        let token_base = (0..200).map(|i| with_kid(&template, &format!("random-{worker}-{i}"))).collect::<Vec<_>>();
        tasks.spawn(async move {
            for t in token_base {
                let (code, _) = status(&s, &t).await;
                assert_eq!(code, StatusCode::UNAUTHORIZED);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let windows = started.elapsed().as_secs() / 10 + 1;
    let extra = idp.fetches() - before;
    assert!(extra as u64 <= windows, "{extra} fetches for 10 000 unknown kids over {:?}", started.elapsed());
    assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK, "valid cached kids still verify");
    Arc::try_unwrap(s).ok().unwrap().stop().await;
}

#[tokio::test]
async fn a_token_without_kid_verifies_only_when_the_idp_publishes_exactly_one_key() {
    let (a, b) = (idp_key("unused-a"), idp_key("unused-b"));
    let single = FakeIdp::start(vec![kidless_jwk(&a)]).await;
    let s = ferrometa_for(&single, &[]).await;
    let (code, body) = status(&s, &kidless_id_token(&a)).await;
    assert_eq!(code, StatusCode::OK, "a kid-less token with the only published key must verify: {body}");
    s.stop().await;

    let two = FakeIdp::start(vec![kidless_jwk(&a), kidless_jwk(&b)]).await;
    let s = ferrometa_for(&two, &[]).await;
    for (name, key) in [("first", &a), ("second", &b)] {
        let (code, body) = status(&s, &kidless_id_token(key)).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "a kid-less token signed by the {name} of two kid-less keys must be a 401: {body}");
        assert!(body["message"].as_str().unwrap_or_default().contains("no kid"), "the 401 must say the token has no kid: {body}");
    }
    s.stop().await;
}

fn with_kid(token: &str, kid: &str) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64(&json!({"alg": "RS256", "kid": kid})))
}

#[tokio::test]
async fn decoy_keys_in_the_jwks_are_skipped() {
    let a = idp_key("key-a");
    let decoys = vec![
        json!({"kty": "EC", "crv": "P-999", "kid": "ec", "x": "AA", "y": "AA"}),
        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "pq", "pub": "AA"}),
        json!({"kty": "RSA", "alg": "RS999", "kid": "odd", "n": a.jwk.n, "e": a.jwk.e}),
        json!({"kty": "RSA", "kid": "weak", "n": "AQAB", "e": "AQAB"}),
        serde_json::to_value(&a.jwk).unwrap(),
    ];
    let idp = FakeIdp::start(decoys).await;
    let s = ferrometa_for(&idp, &[]).await;
    assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK);
    assert_eq!(status(&s, &id_token(&a, "weak", AUTHORITY)).await.0, StatusCode::UNAUTHORIZED, "a 16-bit RSA key is never used");
    s.stop().await;
}

#[tokio::test]
async fn issuer_variants_are_judged_exactly() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
    let multi = "https://issuer.cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
    let s = ferrometa_for(&idp, &[("FERROMETA_ADDITIONAL_ISSUERS", multi)]).await;
    let ok = [format!("{AUTHORITY}/"), AUTHORITY.to_string(), multi.to_string()];
    for iss in ok {
        assert_eq!(status(&s, &id_token(&a, "key-a", &iss)).await.0, StatusCode::OK, "{iss}");
    }
    let bad = [AUTHORITY.replace("https://", "http://"), AUTHORITY.replace("TestPool", "OtherPool"), "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_TestPool".into()];
    for iss in bad {
        let (code, body) = status(&s, &id_token(&a, "key-a", &iss)).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{iss}");
        assert!(body["message"].as_str().unwrap().contains("issuer"), "{body}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_stops_verifying_within_the_max_age() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
    let s = ferrometa_for(&idp, &[("FERROMETA_JWKS_MAX_KEY_AGE_SECONDS", "1")]).await;
    idp.wait_for_fetches(1).await;
    assert_eq!(status(&s, &id_token(&a, "key-a", AUTHORITY)).await.0, StatusCode::OK);
    idp.keys.lock().await.clear();
    // Poll with fresh tokens: within the 1 s maximum age (plus scheduling slack) the removed
    // key must stop verifying.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, body) = status(&s, &id_token(&a, "key-a", AUTHORITY)).await;
        if code == StatusCode::UNAUTHORIZED {
            assert!(body["message"].as_str().unwrap().contains("unknown kid"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "a key removed from the JWKS was still trusted after 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn just_in_time_provisioning_creates_the_user_on_the_first_id_token() {
    let a = idp_key("key-a");
    let idp = FakeIdp::start(vec![serde_json::to_value(&a.jwk).unwrap()]).await;
    let off = ferrometa_for(&idp, &[]).await;
    let (code, _) = off.get("/api/v1/users/loggedInUser", Some(&id_token(&a, "key-a", AUTHORITY))).await;
    assert_eq!(code, StatusCode::NOT_FOUND, "off by default: the UI's sign-up step creates the user");
    off.stop().await;
    let on = ferrometa_for(&idp, &[("FERROMETA_JIT_PROVISIONING", "true")]).await;
    let (code, me) = on.get("/api/v1/users/loggedInUser", Some(&id_token(&a, "key-a", AUTHORITY))).await;
    assert_eq!((code, me["name"].clone(), me["isEmailVerified"].clone(), me["isAdmin"].clone()), (StatusCode::OK, json!("alice"), json!(true), json!(false)), "{me}");
    on.stop().await;
}
