//! Typed, validated configuration. Every value here has passed validation, so the rest of the
//! program never re-checks a provider name or a URL.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Basic,
    AwsCognito,
    Google,
    Okta,
    Azure,
    Auth0,
    CustomOidc,
}

impl Provider {
    pub const ALLOWED: &'static str = "basic, aws-cognito, google, okta, azure, auth0, custom-oidc";

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "basic" => Self::Basic,
            "aws-cognito" => Self::AwsCognito,
            "google" => Self::Google,
            "okta" => Self::Okta,
            "azure" => Self::Azure,
            "auth0" => Self::Auth0,
            "custom-oidc" => Self::CustomOidc,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::AwsCognito => "aws-cognito",
            Self::Google => "google",
            Self::Okta => "okta",
            Self::Azure => "azure",
            Self::Auth0 => "auth0",
            Self::CustomOidc => "custom-oidc",
        }
    }

    /// Any provider other than `basic` signs people in through an OIDC identity provider.
    pub fn is_sso(self) -> bool {
        self != Self::Basic
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Public,
    Confidential,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaAlgorithm {
    Rs256,
    Rs384,
    Rs512,
}

impl RsaAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

/// `username:<claim>` / `email:<claim>` mapping; both present or the mapping is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsMapping {
    pub username: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub name: String,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    pub max_body_bytes: usize,
    pub header_read_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub max_connections: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub admin_port: u16,
    pub om_version: String,
    pub shutdown_grace_secs: u64,
    /// Listener limits: request body, header read, keep-alive idle, open connections.
    pub limits: ListenerLimits,
    pub shutdown_drain_secs: u64,
    pub log_format: LogFormat,
    pub log_level: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OidcConfig {
    pub client_id: String,
    pub provider_type: String,
    pub secret: String,
    pub scope: String,
    pub discovery_uri: String,
    pub use_nonce: bool,
    pub preferred_jws_algorithm: String,
    pub disable_pkce: bool,
    pub callback_url: String,
    pub server_url: String,
    pub client_auth_method: ClientAuthMethod,
    pub tenant: String,
    pub token_validity_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticationConfig {
    pub client_type: ClientType,
    pub provider: Provider,
    pub response_type: String,
    pub provider_name: String,
    pub public_key_urls: Vec<String>,
    pub algorithm: RsaAlgorithm,
    pub authority: String,
    pub client_id: String,
    pub callback_url: String,
    pub jwt_principal_claims: Vec<String>,
    pub claims_mapping: Option<ClaimsMapping>,
    pub enable_self_signup: bool,
    /// Create SSO users on their first valid ID token (needs `enable_self_signup`).
    pub jit_provisioning: bool,
    pub leeway_secs: u64,
    pub jwks_max_key_age_secs: u64,
    pub jwks_fetch_timeout_secs: u64,
    pub additional_issuers: Vec<String>,
    pub groups_claim: String,
    /// (group, role) pairs.
    pub group_role_mapping: Vec<(String, String)>,
    pub logout_uri: String,
    /// Browser sessions: idle and absolute timeouts, and how early the ID token is refreshed.
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    pub session_refresh_margin_secs: u64,
    /// Provider sign-ins one client address may start per minute.
    pub sign_in_starts_per_minute: u32,
    pub oidc: OidcConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerConfig {
    /// `false` with OpenMetadata's NoopAuthorizer: every caller may do everything.
    pub enforce_authorization: bool,
    /// `false` with NoopFilter: no authentication, every request runs as `anonymous`.
    pub authenticate_requests: bool,
    pub admin_principals: Vec<AdminPrincipal>,
    pub allowed_registration_domains: Vec<String>,
    pub principal_domain: String,
    pub enforce_principal_domain: bool,
    pub use_roles_from_provider: bool,
    pub allowed_domains: Vec<String>,
    /// How long callers and the governance (roles, teams, policies) are reused per replica.
    pub access_cache_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JwtTokenConfig {
    pub public_key_path: Option<PathBuf>,
    pub private_key_path: Option<PathBuf>,
    pub issuer: String,
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoginConfig {
    pub max_login_fail_attempts: u32,
    pub access_block_time_secs: u64,
    pub jwt_token_expiry_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub authentication: AuthenticationConfig,
    pub authorizer: AuthorizerConfig,
    pub jwt: JwtTokenConfig,
    pub login: LoginConfig,
    /// Key material for encrypting stored bot tokens; empty = generated per install.
    pub fernet_key: String,
    /// Days profiles are kept (0: forever).
    pub profile_retention_days: u64,
}
