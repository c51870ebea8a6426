//! Bearer token verification (OpenMetadata's JwtFilter, stricter where `decisions.md` §3 says).
//!
//! Order: size → compact form (3 parts; JWE refused) → header (duplicate members, `alg` must be
//! the configured one, no `crit`, no `jku`/`x5u`/`jwk`/`x5c`) → key by `kid` (our keys in-process,
//! then the identity provider's JWKS) → signature → claims (issuer, audience / `client_id`,
//! `token_use`, `exp`/`nbf`/`iat` with leeway). Nothing is read from the claims before the
//! signature is checked. Verified tokens are cached by their hash until `exp` (bounded memory).

use std::sync::Arc;
use std::time::Duration;

use ferrometa_config::{AuthenticationConfig, Provider, RsaAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::claims::{Claims, MAX_TOKEN_BYTES};
use crate::error::{AuthError, Result, UNABLE_TO_DECODE, UNKNOWN_KID};
use crate::jwks::RemoteJwks;
use crate::keys::{KeySet, VerifyingKey};
use crate::principal::ClaimSource;
use crate::tokens::{OwnTokenType, now_secs};

/// Headers that would let a token choose its own key (RFC 8725 §3.10).
const FORBIDDEN_HEADERS: &[&str] = &["jku", "x5u", "jwk", "x5c", "crit"];
const CACHE_TTL: Duration = Duration::from_secs(300);
/// Verified tokens kept (a few KiB each with their claims): bounds the cache to tens of MiB.
const CACHE_CAPACITY: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Own(OwnTokenType),
    /// An identity provider's ID token (or, for non-Cognito providers, any token with `aud`).
    IdpId,
    /// A Cognito access token (`token_use=access`, `client_id`, no `aud`).
    IdpAccess,
}

impl TokenKind {
    pub fn claim_source(self) -> ClaimSource {
        match self {
            TokenKind::Own(_) => ClaimSource::Own,
            TokenKind::IdpId => ClaimSource::IdpId,
            TokenKind::IdpAccess => ClaimSource::IdpAccess,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub claims: Claims,
    pub kind: TokenKind,
    pub issuer: String,
    /// Epoch seconds; `None` only for Unlimited bot tokens.
    pub expires_at: Option<i64>,
    /// `nbf` and `iat` (epoch seconds), kept so that [`Verifier::recheck`] reads no claim.
    pub not_before: Option<i64>,
    pub issued_at: Option<i64>,
    /// SHA-256 of the token, the key for denylists and bot/PAT lookups.
    pub hash: String,
}

/// How identity-provider tokens are checked.
#[derive(Debug, Clone)]
struct IdpProfile {
    cognito: bool,
    issuers: Vec<String>,
    client_id: String,
}

pub struct Verifier {
    own: Arc<KeySet>,
    own_issuer: String,
    algorithm: RsaAlgorithm,
    idp: Option<(IdpProfile, Arc<RemoteJwks>)>,
    leeway: i64,
    cache: moka::sync::Cache<String, Arc<VerifiedToken>>,
}

pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    // One allocation: this runs on every authenticated request.
    let mut hex = String::with_capacity(64);
    for b in d.as_ref() {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 0xf)] as char);
    }
    hex
}

/// Whether a `publicKeyUrls` entry is an OpenMetadata-style own JWKS URL (served in-process).
pub fn is_own_jwks_url(url: &str) -> bool {
    url.split('?').next().unwrap_or(url).trim_end_matches('/').ends_with("/v1/system/config/jwks")
}

fn trim_slash(s: &str) -> &str {
    s.trim_end_matches('/')
}

impl Verifier {
    pub fn new(config: &AuthenticationConfig, own: Arc<KeySet>, own_issuer: &str) -> Verifier {
        let remote_urls: Vec<String> = config.public_key_urls.iter().filter(|u| !is_own_jwks_url(u)).cloned().collect();
        let idp = (config.provider.is_sso() && !remote_urls.is_empty()).then(|| {
            let mut issuers = vec![trim_slash(&config.authority).to_string()];
            issuers.extend(config.additional_issuers.iter().map(|i| trim_slash(i).to_string()));
            let profile = IdpProfile { cognito: config.provider == Provider::AwsCognito, issuers, client_id: config.client_id.clone() };
            let jwks = RemoteJwks::new(
                remote_urls,
                config.algorithm.as_str(),
                Duration::from_secs(config.jwks_fetch_timeout_secs),
                Duration::from_secs(config.jwks_max_key_age_secs),
            );
            (profile, jwks)
        });
        Verifier {
            own,
            own_issuer: own_issuer.to_string(),
            algorithm: config.algorithm,
            idp,
            leeway: config.leeway_secs as i64,
            // A verified token is not re-checked against the JWKS while cached, so the cache
            // never outlives the time a removed IdP key may keep verifying.
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL.min(Duration::from_secs(config.jwks_max_key_age_secs)))
                .build(),
        }
    }

    pub fn remote_jwks(&self) -> Option<&Arc<RemoteJwks>> {
        self.idp.as_ref().map(|(_, j)| j)
    }

    /// Verifies a bearer token completely; never panics, never does network work for a token
    /// whose header is already unacceptable.
    pub async fn verify(&self, token: &str) -> Result<Arc<VerifiedToken>> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::unauthorized("Not Authorized! Token is too large."));
        }
        let hash = sha256_hex(token.as_bytes());
        if let Some(hit) = self.cache.get(&hash) {
            self.recheck(&hit)?;
            return Ok(hit);
        }
        let verified = Arc::new(self.verify_uncached(token, hash.clone()).await?);
        self.cache.insert(hash, verified.clone());
        Ok(verified)
    }

    /// Checks the times of an already verified token again: it may have expired since.
    pub fn recheck(&self, token: &VerifiedToken) -> Result<()> {
        self.judge_times(token.expires_at, token.not_before, token.issued_at, true)
    }

    async fn verify_uncached(&self, token: &str, hash: String) -> Result<VerifiedToken> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 5 {
            return Err(AuthError::unauthorized("Not Authorized! Encrypted tokens (JWE) are not accepted."));
        }
        let [header_b64, payload_b64, signature] = parts[..] else {
            return Err(AuthError::unauthorized(UNABLE_TO_DECODE));
        };
        let header = Claims::parse_segment(header_b64).ok_or_else(|| AuthError::unauthorized(UNABLE_TO_DECODE))?;
        self.check_header(&header)?;
        let kid = match header.get("kid") {
            None => None,
            Some(serde_json::Value::String(k)) if k.len() <= 256 && !k.chars().any(char::is_control) => Some(k.as_str()),
            Some(_) => return Err(AuthError::unauthorized(UNKNOWN_KID)),
        };
        let (key, own) = self.find_key(kid).await?;
        let message = &token[..header_b64.len() + 1 + payload_b64.len()];
        let valid = URL_SAFE_NO_PAD.decode(signature).is_ok_and(|sig| key.verifies(self.algorithm, message.as_bytes(), &sig));
        if !valid {
            return Err(AuthError::unauthorized("Not Authorized! Token verification failed. Public key mismatch."));
        }
        let claims = Claims::parse_segment(payload_b64).ok_or_else(|| AuthError::unauthorized(UNABLE_TO_DECODE))?;
        let (kind, issuer) = if own { self.check_own(&claims)? } else { self.check_idp(&claims)? };
        let unlimited_bot = kind == TokenKind::Own(OwnTokenType::Bot) && claims.get("exp").is_none();
        let bad = |c: &str| AuthError::unauthorized(format!("Not Authorized! Token claim {c} is not a number"));
        let expires_at = claims.numeric_date("exp").map_err(|_| bad("exp"))?;
        let not_before = claims.numeric_date("nbf").map_err(|_| bad("nbf"))?;
        let issued_at = claims.numeric_date("iat").map_err(|_| bad("iat"))?;
        self.judge_times(expires_at, not_before, issued_at, unlimited_bot)?;
        Ok(VerifiedToken { claims, kind, issuer, expires_at, not_before, issued_at, hash })
    }

    fn check_header(&self, header: &Claims) -> Result<()> {
        match header.str("alg") {
            Some(alg) if alg == self.algorithm.as_str() => {}
            Some(alg) => return Err(AuthError::unauthorized(format!("Not Authorized! Token algorithm {} is not allowed; expected {}", printable(alg), self.algorithm.as_str()))),
            None => return Err(AuthError::unauthorized(UNABLE_TO_DECODE)),
        }
        if let Some(h) = FORBIDDEN_HEADERS.iter().find(|h| header.0.contains_key(**h)) {
            return Err(AuthError::unauthorized(format!("Not Authorized! Token header \"{h}\" is not accepted.")));
        }
        Ok(())
    }

    /// Our keys first (in-process), then the identity provider's.
    async fn find_key(&self, kid: Option<&str>) -> Result<(VerifyingKey, bool)> {
        if let Some(k) = kid.and_then(|k| self.own.find(k)) {
            return Ok((k.clone(), true));
        }
        match &self.idp {
            Some((_, jwks)) => jwks.key(kid).await.map(|k| (k, false)),
            None => Err(AuthError::unauthorized(UNKNOWN_KID)),
        }
    }

    fn check_own(&self, claims: &Claims) -> Result<(TokenKind, String)> {
        if claims.str("iss") != Some(self.own_issuer.as_str()) {
            return Err(AuthError::unauthorized("Not Authorized! Token issuer does not match jwtTokenConfiguration.jwtissuer"));
        }
        let token_type = claims
            .str("tokenType")
            .and_then(OwnTokenType::parse)
            .ok_or_else(|| AuthError::unauthorized("Not Authorized! Token has no valid tokenType claim"))?;
        Ok((TokenKind::Own(token_type), self.own_issuer.clone()))
    }

    fn check_idp(&self, claims: &Claims) -> Result<(TokenKind, String)> {
        let Some((profile, _)) = &self.idp else { return Err(AuthError::unauthorized(UNKNOWN_KID)) };
        let iss = claims.str("iss").unwrap_or("");
        if !profile.issuers.iter().any(|i| i == trim_slash(iss)) {
            return Err(AuthError::unauthorized(format!(
                "Not Authorized! Token issuer \"{}\" is not the configured authority {}",
                printable(iss),
                profile.issuers[0]
            )));
        }
        if claims.as_text("sub").is_none() {
            return Err(AuthError::unauthorized("Not Authorized! Token has no sub claim"));
        }
        let token_use = claims.get("token_use").map(|v| v.as_str().unwrap_or("?"));
        let kind = match (token_use, profile.cognito) {
            (Some("id"), _) => TokenKind::IdpId,
            (Some("access"), _) => TokenKind::IdpAccess,
            (None, false) => TokenKind::IdpId,
            (None, true) => return Err(AuthError::unauthorized("Not Authorized! Cognito token has no token_use claim")),
            (Some(other), _) => return Err(AuthError::unauthorized(format!("Not Authorized! token_use \"{}\" is not accepted", printable(other)))),
        };
        match kind {
            TokenKind::IdpAccess => {
                if claims.str("client_id") != Some(profile.client_id.as_str()) {
                    return Err(AuthError::unauthorized("Not Authorized! Access token client_id does not match the configured clientId"));
                }
            }
            _ => {
                let aud_ok = match claims.get("aud") {
                    Some(serde_json::Value::String(a)) => *a == profile.client_id,
                    Some(serde_json::Value::Array(a)) => a.len() == 1 && a[0].as_str() == Some(profile.client_id.as_str()),
                    _ => false,
                };
                if !aud_ok {
                    return Err(AuthError::unauthorized("Not Authorized! Token audience (aud) does not match the configured clientId"));
                }
                if claims.get("iat").is_none() {
                    return Err(AuthError::unauthorized("Not Authorized! ID token has no iat claim"));
                }
            }
        }
        Ok((kind, trim_slash(iss).to_string()))
    }

    /// `exp`, `nbf` and `iat` against the clock, with the leeway; no `exp` only when allowed.
    fn judge_times(&self, exp: Option<i64>, nbf: Option<i64>, iat: Option<i64>, may_be_unlimited: bool) -> Result<()> {
        let now = now_secs();
        match exp {
            Some(exp) if exp.saturating_add(self.leeway) < now => return Err(AuthError::Expired),
            None if !may_be_unlimited => return Err(AuthError::unauthorized("Not Authorized! Token has no exp claim")),
            _ => {}
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::unauthorized("Not Authorized! Token is not valid yet (nbf)"));
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(self.leeway)) {
            return Err(AuthError::unauthorized("Not Authorized! Token was issued in the future (iat)"));
        }
        Ok(())
    }
}

/// Attacker-controlled text shown in a message: bounded and without control characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}
