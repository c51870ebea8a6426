//! The authentication service: request authentication (bearer → principal, with the database
//! checks of contract §3.6 so that they hold on every replica), basic-auth sessions, bot tokens
//! and personal access tokens. Account records come from the caller (the catalog owns users).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferrometa_config::Config;
use ferrometa_store::{AuditRecord, BotTokenRow, Origin, Outcome, PatRow, Store, now_ms};
use serde::Serialize;

use crate::error::*;
use crate::keys::KeySet;
use crate::password::{Passwords, Verdict};
use crate::principal::{Principal, PrincipalRules};
use crate::secret::SecretBox;
use crate::tokens::{Minted, OwnTokenType, Subject, TokenExpiry, TokenIssuer};
use crate::tokens::jwt_algorithm;
use crate::verify::{TokenKind, VerifiedToken, Verifier, sha256_hex};

/// What the auth service needs to know about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub is_bot: bool,
    pub is_admin: bool,
    pub roles: Vec<String>,
}

impl Account {
    fn subject(&self, generation: i64) -> Subject<'_> {
        Subject { name: &self.name, email: &self.email, is_bot: self.is_bot, roles: &self.roles, generation }
    }
}

/// A request's verified identity.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub token: Arc<VerifiedToken>,
}

/// OpenMetadata's `JwtResponse`; `expiryDuration` is an absolute epoch-ms time (contract §5.1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct JwtResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expiry_duration: i64,
}

/// OpenMetadata's `JWTAuthMechanism` (note the capitalised keys).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JwtAuthMechanism {
    #[serde(rename = "JWTToken")]
    pub jwt_token: String,
    #[serde(rename = "JWTTokenExpiry")]
    pub jwt_token_expiry: String,
    #[serde(rename = "JWTTokenExpiresAt", skip_serializing_if = "Option::is_none")]
    pub jwt_token_expires_at: Option<i64>,
}

/// OpenMetadata's `PersonalAccessToken`; `jwtToken` only in the response that creates it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PersonalAccessToken {
    pub token: String,
    pub token_name: String,
    pub user_id: String,
    pub token_type: String,
    pub expiry_date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_token: Option<String>,
}

const REFRESH_TOKEN_LIFETIME_MS: i64 = 30 * 86_400 * 1000;

pub struct AuthService {
    config: Arc<Config>,
    store: Store,
    verifier: Verifier,
    rules: PrincipalRules,
    issuer: TokenIssuer,
    passwords: Passwords,
    secrets: SecretBox,
}

fn random_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str> {
    authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError::unauthorized(TOKEN_NOT_PRESENT))
}

impl AuthService {
    pub fn new(config: Arc<Config>, store: Store, keys: Arc<KeySet>, secrets: SecretBox) -> AuthService {
        let authn = &config.authentication;
        let verifier = Verifier::new(authn, keys.clone(), &config.jwt.issuer);
        let issuer = TokenIssuer::new(keys, &config.jwt.issuer, jwt_algorithm(authn.algorithm));
        let rules = PrincipalRules::new(authn, &config.authorizer);
        AuthService { config, store, verifier, rules, issuer, passwords: Passwords::default(), secrets }
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    pub fn rules(&self) -> &PrincipalRules {
        &self.rules
    }

    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Encryption at rest for stored tokens (bot tokens, browser-session tokens).
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// `Authorization: Bearer <token>` → verified principal.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Authenticated> {
        let token = bearer_token(authorization)?;
        let verified = self.verifier.verify(token).await?;
        let principal = self.rules.resolve(&verified.claims, verified.kind.claim_source(), &verified.issuer)?;
        self.check_revocations(&verified, &principal).await?;
        Ok(Authenticated { principal, token: verified })
    }

    async fn check_revocations(&self, token: &VerifiedToken, principal: &Principal) -> Result<()> {
        match token.kind {
            TokenKind::Own(OwnTokenType::Bot) => {
                if !principal.is_bot || self.store.bot_token_by_hash(&token.hash).await?.is_none() {
                    return Err(AuthError::unauthorized(BOT_TOKEN_MISMATCH));
                }
            }
            TokenKind::Own(OwnTokenType::PersonalAccess) => {
                if principal.is_bot || !self.store.pat_exists(&token.hash).await? {
                    return Err(AuthError::unauthorized(INVALID_PAT));
                }
            }
            TokenKind::Own(OwnTokenType::OmUser) => {
                if principal.is_bot || self.store.is_token_revoked(&token.hash).await? {
                    return Err(AuthError::unauthorized("Invalid token, used after logout!"));
                }
                let (generation, _) = self.store.credential_generation(&principal.name).await?;
                if token.claims.get("gen").and_then(serde_json::Value::as_i64).unwrap_or(0) != generation {
                    return Err(AuthError::unauthorized(USER_DELETED));
                }
            }
            TokenKind::IdpId | TokenKind::IdpAccess => {
                // Issued before its user was deleted (in an earlier second: `iat` has no finer
                // grain, and a token of the very second of the deletion is too close to tell).
                let (_, revoked_at) = self.store.credential_generation(&principal.name).await?;
                if revoked_at > 0 && token.issued_at.is_some_and(|iat| iat < revoked_at / 1000) {
                    return Err(AuthError::unauthorized(USER_DELETED));
                }
            }
        }
        Ok(())
    }

    // --- basic auth ---

    fn window_ms(&self) -> i64 {
        self.config.login.access_block_time_secs as i64 * 1000
    }

    /// Checks an email/password login (password Base64 as OpenMetadata's UI sends it). Unknown
    /// users, bots and wrong passwords all get the same answer after the same work. Every
    /// attempt is audited (`login`, the email given as actor): a success in the transaction that
    /// clears the failed attempts, a failure (locked out included) on its own.
    pub async fn check_password(&self, attempt: &LoginAttempt<'_>, password_b64: &str, account: Option<&Account>) -> Result<()> {
        let outcome = self.verify_login(attempt, password_b64, account).await;
        if let Err(e) = &outcome {
            self.store.record_audit(&attempt.record(account).outcome(Outcome::Failure).detail(format!("{}: {}", attempt.via, failure_reason(e)))).await?;
        }
        outcome
    }

    async fn verify_login(&self, attempt: &LoginAttempt<'_>, password_b64: &str, account: Option<&Account>) -> Result<()> {
        if self.config.authentication.provider.is_sso() {
            return Err(AuthError::Forbidden(format!(
                "Password login is disabled: this server signs users in with {}. Use the Sign in button.",
                self.config.authentication.provider.as_str()
            )));
        }
        let password = STANDARD
            .decode(password_b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| AuthError::BadRequest("Password needs to be encoded in Base-64.".into()))?;
        let email_key = attempt.email().to_lowercase();
        // Counted before the slow password check, so parallel guesses cannot all get past it.
        let max = i64::from(self.config.login.max_login_fail_attempts);
        if !self.store.claim_login_attempt(&email_key, max, self.window_ms()).await? {
            return Err(AuthError::unauthorized(LOCKED_OUT));
        }
        let account = account.filter(|a| !a.is_bot);
        let stored = match account {
            Some(a) => self.store.password_hash(&a.id).await?,
            None => None,
        };
        match (self.passwords.verify(&password, stored).await?, account) {
            (Verdict::Match { needs_rehash }, Some(a)) => {
                self.store.clear_login_failures(&email_key, Some(&attempt.record(Some(a)).detail(attempt.via))).await?;
                if needs_rehash {
                    self.set_password(&a.id, &password, None).await?;
                }
                Ok(())
            }
            // The claimed attempt stays counted: that is the failure.
            _ => Err(AuthError::unauthorized(INVALID_CREDENTIALS)),
        }
    }

    /// Stores a new Argon2id hash (policy checks are the caller's: imports and bootstrap skip
    /// them), with the audit event of the change (if any).
    pub async fn set_password(&self, user_id: &str, password: &str, audit: Option<&AuditRecord>) -> Result<()> {
        let hash = self.passwords.hash(password).await?;
        self.store.put_password_hash(user_id, &hash, audit).await?;
        Ok(())
    }

    /// Checks a user's current password (change-password with requestType SELF).
    pub async fn password_matches(&self, user_id: &str, password: &str) -> Result<bool> {
        let stored = self.store.password_hash(user_id).await?;
        Ok(matches!(self.passwords.verify(password, stored).await?, Verdict::Match { .. }))
    }

    /// Clears failed-login counters for an email (after a password change).
    pub async fn clear_failures(&self, email: &str) -> Result<()> {
        Ok(self.store.clear_login_failures(&email.to_lowercase(), None).await?)
    }

    /// A new basic-auth session: access JWT (`OM_USER`) and a single-use refresh token, stored
    /// with the audit event of the session's start (if any: a refresh continues a session).
    pub async fn issue_session(&self, account: &Account, audit: Option<&AuditRecord>) -> Result<JwtResponse> {
        let lifetime = self.config.login.jwt_token_expiry_secs as i64;
        let (generation, _) = self.store.credential_generation(&account.name).await?;
        let Minted { token, expires_at, .. } = self.issuer.mint(&account.subject(generation), OwnTokenType::OmUser, Some(lifetime))?;
        let refresh = random_token();
        self.store.insert_refresh_token(&sha256_hex(refresh.as_bytes()), &account.id, now_ms() + REFRESH_TOKEN_LIFETIME_MS, audit).await?;
        Ok(JwtResponse {
            access_token: token,
            refresh_token: refresh,
            token_type: "Bearer".into(),
            expiry_duration: expires_at.unwrap_or_default() * 1000,
        })
    }

    /// Consumes a refresh token and returns its user id.
    pub async fn take_refresh_token(&self, refresh_token: &str) -> Result<String> {
        if refresh_token.trim().is_empty() {
            return Err(AuthError::BadRequest("Token Cannot be Null or Empty String".into()));
        }
        match self.store.take_refresh_token(&sha256_hex(refresh_token.as_bytes())).await? {
            Some((user_id, expires_at)) if expires_at > now_ms() => Ok(user_id),
            // The token itself is never echoed (OpenMetadata appends it to this message).
            _ => Err(AuthError::BadRequest("Expired token. Please login again".into())),
        }
    }

    /// Ends a basic-auth session: the access token is denied until it expires (with the audit
    /// event of the session's end, if any), the refresh token (if given) is deleted.
    pub async fn logout(&self, access_token: &str, refresh_token: Option<&str>, audit: Option<&AuditRecord>) -> Result<()> {
        let verified = self.verifier.verify(access_token).await?;
        let until = verified.expires_at.map_or(i64::MAX, |e| e.saturating_mul(1000));
        self.store.revoke_token(&verified.hash, until, audit).await?;
        if let Some(r) = refresh_token.filter(|r| !r.is_empty()) {
            self.store.take_refresh_token(&sha256_hex(r.as_bytes())).await?;
        }
        Ok(())
    }

    /// Ends every credential of a deleted user at once: refresh tokens, personal access
    /// tokens, the bot token, the password, browser sessions, and (through its credential
    /// generation) the access tokens already issued.
    pub async fn revoke_everything(&self, user_id: &str, user_name: &str) -> Result<()> {
        self.store.advance_credential_generation(user_name).await?;
        self.store.delete_refresh_tokens_of(user_id).await?;
        // Recorded by the deletion's own event.
        self.store.delete_pats_of(user_id, None).await?;
        self.store.delete_bot_token(user_id, None).await?;
        self.store.delete_password_hash(user_id, None).await?;
        self.store.delete_sessions_of(user_id, None).await?;
        Ok(())
    }

    // --- bot tokens ---

    /// Mints a new bot token; the previous one stops working at once on every replica. Stored
    /// with the audit event of its generation (if any).
    pub async fn generate_bot_token(&self, bot: &Account, expiry: TokenExpiry, audit: Option<&AuditRecord>) -> Result<JwtAuthMechanism> {
        let minted = self.issuer.mint(&bot.subject(0), OwnTokenType::Bot, expiry.seconds())?;
        self.store
            .put_bot_token(
                &BotTokenRow {
                    user_id: bot.id.clone(),
                    token_hash: sha256_hex(minted.token.as_bytes()),
                    token_ciphertext: self.secrets.seal(&minted.token)?,
                    expiry: expiry.as_str(),
                    expires_at: minted.expires_at.map(|e| e * 1000),
                },
                audit,
            )
            .await?;
        Ok(JwtAuthMechanism { jwt_token: minted.token, jwt_token_expiry: expiry.as_str(), jwt_token_expires_at: minted.expires_at.map(|e| e * 1000) })
    }

    /// Deletes a bot's token, with the audit event of the revocation (recorded only when the
    /// bot had a token).
    pub async fn revoke_bot_token(&self, bot_user_id: &str, audit: &AuditRecord) -> Result<()> {
        self.store.delete_bot_token(bot_user_id, Some(audit)).await?;
        Ok(())
    }

    pub async fn bot_token(&self, bot_user_id: &str) -> Result<Option<JwtAuthMechanism>> {
        let Some(row) = self.store.bot_token(bot_user_id).await? else { return Ok(None) };
        Ok(Some(JwtAuthMechanism { jwt_token: self.secrets.open_sealed(&row.token_ciphertext)?, jwt_token_expiry: row.expiry, jwt_token_expires_at: row.expires_at }))
    }

    // --- personal access tokens ---

    /// Mints a personal access token, stored with the audit event of its creation.
    pub async fn create_pat(&self, user: &Account, name: &str, expiry: TokenExpiry, audit: &AuditRecord) -> Result<PersonalAccessToken> {
        if user.is_bot {
            return Err(AuthError::BadRequest("Bots cannot have a Personal Access Token.".into()));
        }
        // A PAT always expires: Unlimited is for bot tokens only.
        let lifetime = expiry.seconds().ok_or_else(|| AuthError::BadRequest("Personal access tokens cannot be Unlimited; choose OneHour, 1, 7, 30, 60 or 90".into()))?;
        let minted = self.issuer.mint(&user.subject(0), OwnTokenType::PersonalAccess, Some(lifetime))?;
        let row = PatRow {
            id: random_token(),
            user_id: user.id.clone(),
            token_name: name.to_string(),
            token_hash: sha256_hex(minted.token.as_bytes()),
            expires_at: minted.expires_at.unwrap_or_default() * 1000,
            created_at: now_ms(),
        };
        self.store.insert_pat(&row, Some(audit)).await?;
        Ok(PersonalAccessToken { jwt_token: Some(minted.token), ..pat_view(row) })
    }

    pub async fn list_pats(&self, user_id: &str) -> Result<Vec<PersonalAccessToken>> {
        Ok(self.store.pats_of(user_id).await?.into_iter().map(pat_view).collect())
    }

    /// Revokes the given PATs (or all), each with the audit event `audit` makes of it (`None`
    /// for all of them), and returns the remaining ones.
    pub async fn revoke_pats(&self, user_id: &str, ids: &[String], all: bool, audit: impl Fn(Option<&PersonalAccessToken>) -> AuditRecord) -> Result<Vec<PersonalAccessToken>> {
        if all {
            self.store.delete_pats_of(user_id, Some(&audit(None))).await?;
        } else {
            let existing = self.list_pats(user_id).await?;
            for pat in existing.iter().filter(|p| ids.contains(&p.token)) {
                self.store.delete_pat(user_id, &pat.token, Some(&audit(Some(pat)))).await?;
            }
        }
        self.list_pats(user_id).await
    }
}

/// A password sign-in as the audit trail records it: the email given (never the password), the
/// client address, and the way it came (`api`, `browser`).
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub email: &'a str,
    pub client: Option<std::net::IpAddr>,
    pub via: &'a str,
}

impl LoginAttempt<'_> {
    fn email(&self) -> &str {
        self.email.trim()
    }

    /// A `login` event by the email given, about the user it names (when there is one).
    fn record(&self, account: Option<&Account>) -> AuditRecord {
        let target = account.map_or(self.email(), |a| a.name.as_str());
        Origin { actor: self.email(), client: self.client }.event("login", target)
    }
}

/// Why a sign-in failed, in words that tell nothing secret (never the password).
fn failure_reason(e: &AuthError) -> &'static str {
    match e {
        AuthError::Unauthorized(m) if m == LOCKED_OUT => "locked out",
        AuthError::Unauthorized(_) => "invalid credentials",
        AuthError::BadRequest(_) => "malformed password",
        AuthError::Forbidden(_) => "password login disabled",
        _ => "error",
    }
}

fn pat_view(row: PatRow) -> PersonalAccessToken {
    PersonalAccessToken {
        token: row.id,
        token_name: row.token_name,
        user_id: row.user_id,
        token_type: "PERSONAL_ACCESS_TOKEN".into(),
        expiry_date: row.expires_at,
        jwt_token: None,
    }
}
