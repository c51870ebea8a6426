//! Minting ferrometa's own RS256 tokens: bot tokens, basic-auth sessions and personal access
//! tokens, with OpenMetadata's claims (contract §4.1) plus `nbf` and `jti`.

use std::sync::Arc;

use ferrometa_config::RsaAlgorithm;
use jsonwebtoken::{Algorithm, Header};
use serde_json::json;

use crate::error::{AuthError, Result};
use crate::keys::KeySet;

/// OpenMetadata's `ServiceTokenType`, the `tokenType` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnTokenType {
    Bot,
    OmUser,
    PersonalAccess,
}

impl OwnTokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "BOT",
            Self::OmUser => "OM_USER",
            Self::PersonalAccess => "PERSONAL_ACCESS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "BOT" => Self::Bot,
            "OM_USER" => Self::OmUser,
            "PERSONAL_ACCESS" => Self::PersonalAccess,
            _ => return None,
        })
    }
}

/// OpenMetadata's `JWTTokenExpiry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    OneHour,
    Days(u32),
    Unlimited,
}

impl TokenExpiry {
    pub const ALLOWED: &'static str = "OneHour, 1, 7, 30, 60, 90, Unlimited";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OneHour" => Self::OneHour,
            "1" => Self::Days(1),
            "7" => Self::Days(7),
            "30" => Self::Days(30),
            "60" => Self::Days(60),
            "90" => Self::Days(90),
            "Unlimited" => Self::Unlimited,
            _ => return None,
        })
    }

    pub fn as_str(self) -> String {
        match self {
            Self::OneHour => "OneHour".into(),
            Self::Days(d) => d.to_string(),
            Self::Unlimited => "Unlimited".into(),
        }
    }

    /// Lifetime in seconds; `None` for Unlimited.
    pub fn seconds(self) -> Option<i64> {
        match self {
            Self::OneHour => Some(3600),
            Self::Days(d) => Some(d as i64 * 86_400),
            Self::Unlimited => None,
        }
    }
}

/// Whom a token is for.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub is_bot: bool,
    pub roles: &'a [String],
    /// The user's credential generation (see `Store::credential_generation`).
    pub generation: i64,
}

#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub issued_at: i64,
    /// Epoch seconds, `None` when the token never expires.
    pub expires_at: Option<i64>,
}

/// Signs tokens with the current key of the key set.
#[derive(Clone)]
pub struct TokenIssuer {
    keys: Arc<KeySet>,
    issuer: String,
    algorithm: Algorithm,
}

/// Our tokens carry `nbf` 30 s before `iat` to absorb small clock differences between replicas.
const NBF_SKEW_SECS: i64 = 30;

pub fn now_secs() -> i64 {
    (ferrometa_store::now_ms() / 1000) as i64
}

impl TokenIssuer {
    /// `algorithm` is `tokenValidationAlgorithm`: our tokens are signed with what we verify.
    pub fn new(keys: Arc<KeySet>, issuer: impl Into<String>, algorithm: Algorithm) -> TokenIssuer {
        TokenIssuer { keys, issuer: issuer.into(), algorithm }
    }

    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn mint(&self, subject: &Subject, token_type: OwnTokenType, lifetime_secs: Option<i64>) -> Result<Minted> {
        let now = now_secs();
        let expires_at = lifetime_secs.map(|l| now + l);
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject.name,
            "email": subject.email,
            "isBot": subject.is_bot,
            "tokenType": token_type.as_str(),
            "roles": subject.roles,
            "iat": now,
            "nbf": now - NBF_SKEW_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
            "gen": subject.generation,
        });
        if let Some(exp) = expires_at {
            claims["exp"] = json!(exp);
        }
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.keys.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.keys.signing).map_err(|e| AuthError::Internal(format!("cannot sign token: {e}")))?;
        Ok(Minted { token, issued_at: now, expires_at })
    }
}

/// The signing algorithm for `tokenValidationAlgorithm`.
pub fn jwt_algorithm(a: RsaAlgorithm) -> Algorithm {
    match a {
        RsaAlgorithm::Rs256 => Algorithm::RS256,
        RsaAlgorithm::Rs384 => Algorithm::RS384,
        RsaAlgorithm::Rs512 => Algorithm::RS512,
    }
}
