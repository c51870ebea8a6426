//! Issue: tokens. Each item of the JWT attack list (`security-requirements.md` §3b) that applies
//! to ferrometa's own tokens is refused with a 401 in OpenMetadata's shape, never a 500.

mod common;

use common::*;
use ferrometa_testkit::TestServer;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Fixture {
    server: TestServer,
    key: EncodingKey,
    kid: String,
}

async fn fixture() -> Fixture {
    let server = TestServer::start(&[]).await;
    let key = server_key(&server.data_dir);
    let kid = server_kid(&server.base).await;
    Fixture { server, key, kid }
}

impl Fixture {
    fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.kid})
    }

    fn token(&self, claims: &Value) -> String {
        sign(&self.header(), claims, &self.key, Algorithm::RS256)
    }

    async fn status(&self, token: &str) -> (StatusCode, Value) {
        self.server.get("/api/v1/system/config/loginConfig", Some(token)).await
    }

    async fn refused(&self, token: &str, what: &str) -> String {
        let (status, body) = self.status(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: expected 401, got {status} {body}");
        assert_eq!(body["code"], json!(401), "{what}: body {body}");
        body["message"].as_str().unwrap_or_default().to_string()
    }
}

#[tokio::test]
async fn a_correctly_made_session_token_is_accepted() {
    let f = fixture().await;
    // The baseline: everything below differs from this token in exactly one way.
    let (status, body) = f.status(&f.token(&session_claims("admin"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.server.stop().await;
}

#[tokio::test]
async fn unsigned_and_symmetric_algorithms_are_refused() {
    let f = fixture().await;
    let claims = session_claims("admin");
    for alg in ["none", "None", "NONE", ""] {
        let token = format!("{}.{}.", b64(&json!({"alg": alg, "kid": f.kid})), b64(&claims));
        let msg = f.refused(&token, &format!("alg {alg}")).await;
        assert!(msg.contains("not allowed") || msg.contains("decode"), "{msg}");
    }
    // RS256 → HS256 confusion: MAC with the public key, as PEM and as DER.
    let jwks: Value = reqwest::get(f.server.url("/api/v1/system/config/jwks")).await.unwrap().json().await.unwrap();
    let public_pem = std::fs::read(f.server.data_dir.join("keys/public_key.der")).unwrap();
    let pem_text = pem::encode(&pem::Pem::new("PUBLIC KEY", public_pem.clone()));
    for secret in [pem_text.as_bytes().to_vec(), public_pem, jwks.to_string().into_bytes()] {
        let token = sign(&json!({"alg": "HS256", "kid": f.kid}), &claims, &EncodingKey::from_secret(&secret), Algorithm::HS256);
        assert!(f.refused(&token, "HS256 with the public key").await.contains("HS256 is not allowed"));
    }
    // A valid RSA signature under another RSA algorithm than the configured one.
    let token = sign(&json!({"alg": "RS512", "kid": f.kid}), &claims, &f.key, Algorithm::RS512);
    f.refused(&token, "RS512 when RS256 is configured").await;
    f.server.stop().await;
}

#[tokio::test]
async fn headers_that_choose_their_own_key_are_refused() {
    let f = fixture().await;
    let claims = session_claims("admin");
    let attacker_jwk = json!({"kty": "RSA", "n": "xyz", "e": "AQAB"});
    for (name, value) in [("jku", json!("http://127.0.0.1:9/jwks.json")), ("x5u", json!("http://127.0.0.1:9/cert.pem")), ("jwk", attacker_jwk), ("x5c", json!(["MIIB"])), ("crit", json!(["exp"]))] {
        let mut header = f.header();
        header[name] = value;
        let msg = f.refused(&sign(&header, &claims, &f.key, Algorithm::RS256), name).await;
        assert!(msg.contains(name), "{name}: {msg}");
    }
    f.server.stop().await;
}

#[tokio::test]
async fn kid_injection_is_harmless() {
    let f = fixture().await;
    let claims = session_claims("admin");
    for kid in ["../../../../dev/null".to_string(), "' OR 1=1--".into(), "k".repeat(4096), "a\u{0}b\r\nX-Injected: 1".into()] {
        let token = sign(&json!({"alg": "RS256", "kid": kid}), &claims, &f.key, Algorithm::RS256);
        let msg = f.refused(&token, "kid injection").await;
        assert!(!msg.contains("X-Injected"), "attacker text must not be echoed: {msg}");
    }
    f.server.stop().await;
}

#[tokio::test]
async fn time_claims_are_enforced_with_leeway_and_must_be_numbers() {
    let f = fixture().await;
    let now = now();
    let with = |k: &str, v: Value| {
        let mut c = session_claims("admin");
        c[k] = v;
        c
    };
    assert_eq!(f.refused(&f.token(&with("exp", json!(now - 120))), "expired").await, "Expired token!");
    let (status, _) = f.status(&f.token(&with("exp", json!(now - 30)))).await;
    assert_eq!(status, StatusCode::OK, "30 s past exp is inside the 60 s leeway");
    f.refused(&f.token(&with("nbf", json!(now + 600))), "nbf in the future").await;
    f.refused(&f.token(&with("iat", json!(now + 600))), "iat in the future").await;
    for bad in [json!("never"), Value::Null, json!("1e309"), json!([1])] {
        f.refused(&f.token(&with("exp", bad.clone())), &format!("exp {bad}")).await;
    }
    let raw = format!(r#"{{"iss":"open-metadata.org","sub":"admin","email":"admin@open-metadata.org","tokenType":"OM_USER","iat":{now},"exp":1e309}}"#);
    f.refused(&sign_raw(&f.header().to_string(), &raw, &f.key, Algorithm::RS256), "exp 1e309").await;
    let mut no_exp = session_claims("admin");
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(f.refused(&f.token(&no_exp), "session token without exp").await.contains("exp"));
    f.server.stop().await;
}

#[tokio::test]
async fn issuer_type_and_purpose_are_checked() {
    let f = fixture().await;
    let mut wrong_iss = session_claims("admin");
    wrong_iss["iss"] = json!("https://evil.example");
    f.refused(&f.token(&wrong_iss), "wrong iss").await;
    let mut no_type = session_claims("admin");
    no_type.as_object_mut().unwrap().remove("tokenType");
    f.refused(&f.token(&no_type), "missing tokenType").await;
    // A well-signed BOT token that is not the bot's stored token (e.g. a session token
    // relabelled as a bot token) is refused.
    let mut bot = session_claims("ingestion-bot");
    bot["isBot"] = json!(true);
    bot["tokenType"] = json!("BOT");
    assert_eq!(f.refused(&f.token(&bot), "forged bot token").await, "Not Authorized! The given token does not match the current bot's token!");
    let mut session_as_bot = session_claims("ingestion-bot");
    session_as_bot["isBot"] = json!(true);
    f.refused(&f.token(&session_as_bot), "OM_USER token claiming isBot").await;
    let mut pat = session_claims("admin");
    pat["tokenType"] = json!("PERSONAL_ACCESS");
    assert_eq!(f.refused(&f.token(&pat), "unknown PAT").await, "Not Authorized! Invalid personal access token!");
    f.server.stop().await;
}

#[tokio::test]
async fn malformed_oversized_and_encrypted_tokens_are_refused() {
    let f = fixture().await;
    let good = f.token(&session_claims("admin"));
    let parts: Vec<&str> = good.split('.').collect();
    let cases = vec![
        ("JWE (5 parts)", format!("{}.a.b.c.d", parts[0])),
        ("2 parts", format!("{}.{}", parts[0], parts[1])),
        ("garbage", "not-a-token".to_string()),
        ("oversized", format!("{}.{}.{}", parts[0], "A".repeat(20_000), parts[2])),
        ("tampered payload", format!("{}.{}.{}", parts[0], b64(&session_claims("root")), parts[2])),
        ("bad base64", format!("{}.{}!!.{}", parts[0], parts[1], parts[2])),
    ];
    for (what, token) in cases {
        f.refused(&token, what).await;
    }
    let dup = format!(r#"{{"iss":"open-metadata.org","sub":"nobody","sub":"admin","tokenType":"OM_USER","iat":{0},"exp":{1}}}"#, now(), now() + 600);
    f.refused(&sign_raw(&f.header().to_string(), &dup, &f.key, Algorithm::RS256), "duplicate members").await;
    let dup_header = format!(r#"{{"alg":"none","alg":"RS256","kid":"{}"}}"#, f.kid);
    f.refused(&sign_raw(&dup_header, &session_claims("admin").to_string(), &f.key, Algorithm::RS256), "duplicate header members").await;
    for header in ["Basic YWRtaW46YWRtaW4=", "bearer x", "Bearer", "Bearer    "] {
        let resp = f.server.client.get(f.server.url("/api/v1/system/config/loginConfig")).header("authorization", header).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
    }
    f.server.stop().await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_with_our_kid_is_refused() {
    let f = fixture().await;
    let other = KeyFiles::generate();
    let stranger = rsa_key(&std::fs::read(other.path("private_key.der")).unwrap());
    let token = sign(&f.header(), &session_claims("admin"), &stranger, Algorithm::RS256);
    assert!(f.refused(&token, "foreign key").await.contains("Token verification failed"));
    f.server.stop().await;
}

#[tokio::test]
async fn unknown_kid_is_401_and_never_fetched() {
    let f = fixture().await;
    let token = sign(&json!({"alg": "RS256", "kid": "no-such-kid"}), &session_claims("admin"), &f.key, Algorithm::RS256);
    assert!(f.refused(&token, "unknown kid").await.contains("unknown kid"));
    f.server.stop().await;
}
