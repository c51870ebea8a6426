//! Authentication errors. Messages are OpenMetadata's where the contract names one; the HTTP
//! layer maps each variant to a status in one place.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 401: no usable credentials or a token that fails a check. The text is safe to show.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 with the contract's `Expired token!` text.
    #[error("Expired token!")]
    Expired,
    /// 503: no signing key can be obtained because every JWKS URL is unreachable.
    #[error("{0}")]
    KeysUnavailable(String),
    /// 400 (basic auth): bad request body, e.g. a password that is not Base64.
    #[error("{0}")]
    BadRequest(String),
    /// 403: authenticated but not allowed (e.g. unverified email outside the domain).
    #[error("{0}")]
    Forbidden(String),
    /// 503: the database cannot be reached right now.
    #[error("{0}")]
    StoreUnavailable(String),
    /// 500: the server itself is broken (key files, database). Never caused by a client.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, AuthError>;

impl AuthError {
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        AuthError::Unauthorized(msg.into())
    }

    /// Short machine-readable reason, used as a metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Unauthorized(_) => "invalid_token",
            AuthError::Expired => "expired",
            AuthError::KeysUnavailable(_) => "jwks_unavailable",
            AuthError::BadRequest(_) => "bad_request",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::StoreUnavailable(_) => "store_unavailable",
            AuthError::Internal(_) => "internal",
        }
    }
}

impl From<ferrometa_store::StoreError> for AuthError {
    fn from(e: ferrometa_store::StoreError) -> Self {
        tracing::error!(error = %e, "store error during authentication");
        if e.is_unavailable() {
            return AuthError::StoreUnavailable(crate::error::DATABASE_UNAVAILABLE.into());
        }
        AuthError::Internal("Internal error while checking credentials".into())
    }
}

pub const DATABASE_UNAVAILABLE: &str = "The database is unavailable; try again shortly.";
pub const TOKEN_NOT_PRESENT: &str = "Not Authorized! Token not present";
pub const UNABLE_TO_DECODE: &str = "Not Authorized! Unable to decode the token.";
pub const INVALID_CREDENTIALS: &str = "You have entered an invalid username or password.";
pub const LOCKED_OUT: &str = "Failed Login Attempts Exceeded. Use Forgot Password or retry after some time.";
pub const BOT_TOKEN_MISMATCH: &str = "Not Authorized! The given token does not match the current bot's token!";
pub const INVALID_PAT: &str = "Not Authorized! Invalid personal access token!";
/// A token issued before its user was deleted.
pub const USER_DELETED: &str = "Not Authorized! The user of this token was deleted; sign in again";
pub const UNKNOWN_KID: &str = "Token signing key not found in configured public keys (unknown kid)";
