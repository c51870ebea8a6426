//! The table of every configuration key: its YAML path, its environment variable, its default and
//! its kind. It is the single source of truth for loading, env overrides, validation messages,
//! redaction and the configuration reference in the README (`ferrometa config-reference`).

/// How a raw value (from YAML or from an environment variable) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// A secret string: shown as `***` in dumps.
    Secret,
    Bool,
    Int,
    /// A list of strings; env values are YAML flow lists (`[a, b]`) or a single item.
    List,
}

#[derive(Debug)]
pub struct Key {
    /// Dotted YAML path, e.g. `authenticationConfiguration.provider`.
    pub path: &'static str,
    /// Environment variable that overrides the file, or `None` when the key has none.
    pub env: Option<&'static str>,
    /// Default as YAML text (`""` for an empty string, `[]` for an empty list).
    pub default: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

const fn key(path: &'static str, env: &'static str, default: &'static str, kind: Kind, doc: &'static str) -> Key {
    Key { path, env: Some(env), default, kind, doc }
}

use Kind::*;

pub const AUTH: &str = "authenticationConfiguration";
pub const AUTHZ: &str = "authorizerConfiguration";

/// Every key ferrometa reads. OpenMetadata's keys keep their names, env vars and defaults
/// (contract §1); ferrometa's own keys use the `FERROMETA_` prefix.
pub static KEYS: &[Key] = &[
    // --- server (Dropwizard listener settings in OpenMetadata) ---
    key("server.host", "SERVER_HOST", "0.0.0.0", Str, "Address the API/UI and admin listeners bind to."),
    key("server.port", "SERVER_PORT", "8585", Int, "API and UI port (API under /api); 0 picks a free port."),
    key("server.adminPort", "SERVER_ADMIN_PORT", "8586", Int, "Admin port: /healthcheck and /metrics."),
    key("server.omVersion", "FERROMETA_OM_VERSION", "1.6.13", Str, "OpenMetadata version reported by /api/v1/system/version; openmetadata-ingestion needs equal major.minor."),
    key("server.shutdownGraceSeconds", "FERROMETA_SHUTDOWN_GRACE_SECONDS", "30", Int, "How long in-flight requests may run after SIGTERM."),
    key("server.maxBodyMegabytes", "FERROMETA_MAX_BODY_MB", "32", Int, "Largest request body in MiB (a table of thousands of described columns fits); larger bodies get 413 (1 to 512)."),
    key("server.headerReadTimeoutSeconds", "FERROMETA_HEADER_READ_TIMEOUT_SECONDS", "30", Int, "A connection that has not sent a request's complete headers within this long is closed (1 to 300)."),
    key("server.idleTimeoutSeconds", "FERROMETA_IDLE_TIMEOUT_SECONDS", "60", Int, "A keep-alive connection with no request for this long is closed (1 to 3600)."),
    key("server.maxConnections", "FERROMETA_MAX_CONNECTIONS", "512", Int, "Open connections per listener; more wait in the listen backlog, logged once a minute (1 to 100000)."),
    key("server.shutdownDrainSeconds", "FERROMETA_SHUTDOWN_DRAIN_SECONDS", "0", Int, "After SIGTERM, /readiness answers 503 this long while the listeners still serve, so a load balancer stops routing here before connections close (Kubernetes: longer than the readiness probe's period × failureThreshold)."),
    key("server.logFormat", "FERROMETA_LOG_FORMAT", "text", Str, "Log format: text or json."),
    key("server.logLevel", "LOG_LEVEL", "INFO", Str, "Log level: TRACE, DEBUG, INFO, WARN, ERROR."),
    // --- storage ---
    key("ferrometa.dataDir", "FERROMETA_DATA_DIR", "./data", Str, "Directory for the embedded database, generated keys and the initial admin password."),
    key("ferrometa.profileRetentionDays", "FERROMETA_PROFILE_RETENTION_DAYS", "0", Int, "Table, column and system profiles older than this many days are dropped when a newer one of the same table or column arrives (0 keeps them all; at most 36500)."),
    key("database.url", "FERROMETA_DATABASE_URL", "", Secret, "sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB. Empty: SQLite in the data dir. OpenMetadata's DB_* variables are used when this is empty."),
    // --- authenticationConfiguration (contract §1.1) ---
    key("authenticationConfiguration.clientType", "AUTHENTICATION_CLIENT_TYPE", "public", Str, "public (PKCE, no secret) or confidential (adds oidcConfiguration.secret)."),
    key("authenticationConfiguration.provider", "AUTHENTICATION_PROVIDER", "basic", Str, "basic, aws-cognito, google, okta, azure, auth0, custom-oidc (ldap, saml, openmetadata are recognised but not served)."),
    key("authenticationConfiguration.responseType", "AUTHENTICATION_RESPONSE_TYPE", "id_token", Str, "id_token or code (a UI hint in OpenMetadata; the server always runs the code flow)."),
    key("authenticationConfiguration.providerName", "CUSTOM_OIDC_AUTHENTICATION_PROVIDER_NAME", "\"\"", Str, "Display name for custom-oidc."),
    key("authenticationConfiguration.publicKeyUrls", "AUTHENTICATION_PUBLIC_KEYS", "[http://localhost:8585/api/v1/system/config/jwks]", List, "JWKS URLs trusted for bearer tokens. Our own JWKS URL is recognised and served in-process."),
    key("authenticationConfiguration.tokenValidationAlgorithm", "AUTHENTICATION_TOKEN_VALIDATION_ALGORITHM", "RS256", Str, "RS256, RS384 or RS512; taken from config, never from a token header."),
    key("authenticationConfiguration.authority", "AUTHENTICATION_AUTHORITY", "https://accounts.google.com", Str, "OIDC issuer; for Cognito https://cognito-idp.REGION.amazonaws.com/POOL_ID. Tokens must carry exactly this iss."),
    key("authenticationConfiguration.clientId", "AUTHENTICATION_CLIENT_ID", "\"\"", Str, "OIDC client id: ID tokens need aud = clientId, Cognito access tokens client_id = clientId."),
    key("authenticationConfiguration.callbackUrl", "AUTHENTICATION_CALLBACK_URL", "\"\"", Str, "redirect_uri registered with the IdP, e.g. http://localhost:8585/callback."),
    key("authenticationConfiguration.jwtPrincipalClaims", "AUTHENTICATION_JWT_PRINCIPAL_CLAIMS", "[email, preferred_username, sub]", List, "Claims tried in order for the principal; the first present wins."),
    key("authenticationConfiguration.jwtPrincipalClaimsMapping", "AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING", "[]", List, "username:CLAIM and email:CLAIM; both or none."),
    key("authenticationConfiguration.enableSelfSignup", "AUTHENTICATION_ENABLE_SELF_SIGNUP", "true", Bool, "Unknown SSO users may create their own user; basic-auth signup allowed."),
    key("authenticationConfiguration.jitProvisioning", "FERROMETA_JIT_PROVISIONING", "false", Bool, "Create an SSO user on its first valid ID token instead of the UI's sign-up step (needs enableSelfSignup)."),
    key("authenticationConfiguration.tokenLeewaySeconds", "FERROMETA_TOKEN_LEEWAY_SECONDS", "60", Int, "Clock-skew leeway for exp/nbf/iat, 0 to 300 seconds."),
    key("authenticationConfiguration.jwksMaxKeyAgeSeconds", "FERROMETA_JWKS_MAX_KEY_AGE_SECONDS", "3600", Int, "A key that left the IdP's JWKS stops verifying after at most this many seconds."),
    key("authenticationConfiguration.jwksFetchTimeoutSeconds", "FERROMETA_JWKS_FETCH_TIMEOUT_SECONDS", "5", Int, "Upper bound on one call to the identity provider (JWKS, discovery, token, revocation), 1 to 5 seconds."),
    key("authenticationConfiguration.additionalIssuers", "FERROMETA_ADDITIONAL_ISSUERS", "[]", List, "Further accepted issuers, e.g. Cognito's multi-region https://issuer.cognito-idp.REGION.amazonaws.com/POOL_ID."),
    key("authenticationConfiguration.groupsClaim", "FERROMETA_GROUPS_CLAIM", "cognito:groups", Str, "Claim read for group to role mapping (with authorizerConfiguration.useRolesFromProvider)."),
    key("authenticationConfiguration.groupRoleMapping", "FERROMETA_GROUP_ROLE_MAPPING", "[]", List, "GROUP:ROLE entries; role Admin makes the user an admin."),
    key("authenticationConfiguration.logoutUri", "FERROMETA_LOGOUT_URI", "\"\"", Str, "Where the IdP sends the browser after logout; default: /signin on the callbackUrl origin."),
    key("authenticationConfiguration.sessionIdleTimeoutSeconds", "FERROMETA_SESSION_IDLE_TIMEOUT_SECONDS", "1800", Int, "A browser session unused for this long ends (60 to 86400)."),
    key("authenticationConfiguration.sessionAbsoluteTimeoutSeconds", "FERROMETA_SESSION_ABSOLUTE_TIMEOUT_SECONDS", "43200", Int, "A browser session ends this long after sign-in, however active (300 to 2592000)."),
    key("authenticationConfiguration.signInStartsPerMinute", "FERROMETA_SIGNIN_STARTS_PER_MINUTE", "30", Int, "Provider sign-ins one client address may start per minute (each stores a pending flow until the callback); more get 429 (1 to 10000)."),
    key("authenticationConfiguration.sessionRefreshMarginSeconds", "FERROMETA_SESSION_REFRESH_MARGIN_SECONDS", "60", Int, "A session's ID token is refreshed this long before it expires (0 to 3600)."),
    // --- oidcConfiguration (contract §1.2) ---
    key("authenticationConfiguration.oidcConfiguration.id", "OIDC_CLIENT_ID", "\"\"", Str, "Confidential client id (defaults to clientId)."),
    key("authenticationConfiguration.oidcConfiguration.type", "OIDC_TYPE", "\"\"", Str, "Provider type hint (google, azure, ...)."),
    key("authenticationConfiguration.oidcConfiguration.secret", "OIDC_CLIENT_SECRET", "\"\"", Secret, "Client secret of a confidential client."),
    key("authenticationConfiguration.oidcConfiguration.scope", "OIDC_SCOPE", "openid email profile", Str, "Scopes requested at sign-in."),
    key("authenticationConfiguration.oidcConfiguration.discoveryUri", "OIDC_DISCOVERY_URI", "\"\"", Str, "Discovery document; default AUTHORITY/.well-known/openid-configuration."),
    key("authenticationConfiguration.oidcConfiguration.useNonce", "OIDC_USE_NONCE", "true", Bool, "Send and check a nonce (always on in ferrometa's browser flow)."),
    key("authenticationConfiguration.oidcConfiguration.preferredJwsAlgorithm", "OIDC_PREFERRED_JWS", "RS256", Str, "Expected ID token algorithm."),
    key("authenticationConfiguration.oidcConfiguration.responseType", "OIDC_RESPONSE_TYPE", "code", Str, "Only code is supported."),
    key("authenticationConfiguration.oidcConfiguration.disablePkce", "OIDC_DISABLE_PKCE", "true", Bool, "Accepted for compatibility; ferrometa always uses PKCE S256."),
    key("authenticationConfiguration.oidcConfiguration.callbackUrl", "OIDC_CALLBACK", "http://localhost:8585/callback", Str, "Callback of the confidential client."),
    key("authenticationConfiguration.oidcConfiguration.serverUrl", "OIDC_SERVER_URL", "http://localhost:8585", Str, "Public URL of this server."),
    key("authenticationConfiguration.oidcConfiguration.clientAuthenticationMethod", "OIDC_CLIENT_AUTH_METHOD", "client_secret_post", Str, "client_secret_basic or client_secret_post."),
    key("authenticationConfiguration.oidcConfiguration.tenant", "OIDC_TENANT", "\"\"", Str, "Azure tenant."),
    key("authenticationConfiguration.oidcConfiguration.maxClockSkew", "OIDC_MAX_CLOCK_SKEW", "\"\"", Str, "Accepted for compatibility; see tokenLeewaySeconds."),
    key("authenticationConfiguration.oidcConfiguration.tokenValidity", "OIDC_OM_REFRESH_TOKEN_VALIDITY", "3600", Int, "Session token validity in seconds."),
    // --- authorizerConfiguration (contract §1.3) ---
    key("authorizerConfiguration.className", "AUTHORIZER_CLASS_NAME", "org.openmetadata.service.security.DefaultAuthorizer", Str, "DefaultAuthorizer or NoopAuthorizer."),
    key("authorizerConfiguration.containerRequestFilter", "AUTHORIZER_REQUEST_FILTER", "org.openmetadata.service.security.JwtFilter", Str, "JwtFilter or NoopFilter (authentication off, development only)."),
    key("authorizerConfiguration.adminPrincipals", "AUTHORIZER_ADMIN_PRINCIPALS", "[admin]", List, "User names (email local parts) made admin; NAME:PASSWORD sets a basic-auth password."),
    key("authorizerConfiguration.allowedEmailRegistrationDomains", "AUTHORIZER_ALLOWED_REGISTRATION_DOMAIN", "[all]", List, "Domains allowed for basic-auth self registration; all = any."),
    key("authorizerConfiguration.principalDomain", "AUTHORIZER_PRINCIPAL_DOMAIN", "open-metadata.org", Str, "Domain appended to principals without @."),
    key("authorizerConfiguration.enforcePrincipalDomain", "AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN", "false", Bool, "Only verified emails of principalDomain (or allowedDomains) may sign in."),
    key("authorizerConfiguration.enableSecureSocketConnection", "AUTHORIZER_ENABLE_SECURE_SOCKET", "false", Bool, "Accepted for compatibility."),
    key("authorizerConfiguration.useRolesFromProvider", "AUTHORIZER_USE_ROLES_FROM_PROVIDER", "false", Bool, "Sync roles from the token's roles/groups claim on each login."),
    key("authorizerConfiguration.allowedDomains", "AUTHORIZER_ALLOWED_DOMAINS", "[]", List, "Allowed email domains (1.7+); replaces principalDomain for enforcement when non-empty."),
    key("authorizerConfiguration.accessCacheSeconds", "FERROMETA_ACCESS_CACHE_SECONDS", "5", Int, "Callers of identity-provider tokens and the roles, teams and policies are reused this long per replica (0 to 60); a change applies at once on its replica and, through PostgreSQL notifications, on the others, at the latest after this long."),
    Key { path: "authorizerConfiguration.botPrincipals", env: None, default: "[]", kind: List, doc: "Deprecated in OpenMetadata; accepted and ignored." },
    Key { path: "authorizerConfiguration.testPrincipals", env: None, default: "[]", kind: List, doc: "Test only in OpenMetadata; accepted and ignored." },
    key("authorizerConfiguration.ingestionPrincipals", "AUTHORIZER_INGESTION_PRINCIPALS", "[ingestion-bot]", List, "Legacy; accepted and ignored."),
    // --- jwtTokenConfiguration (contract §1.4) ---
    key("jwtTokenConfiguration.rsapublicKeyFilePath", "RSA_PUBLIC_KEY_FILE_PATH", "\"\"", Str, "X.509 SPKI public key (DER or PEM). Empty with an empty private path: a key pair is generated in the data dir."),
    key("jwtTokenConfiguration.rsaprivateKeyFilePath", "RSA_PRIVATE_KEY_FILE_PATH", "\"\"", Str, "PKCS#8 private key (DER or PEM)."),
    key("jwtTokenConfiguration.jwtissuer", "JWT_ISSUER", "open-metadata.org", Str, "iss of every token ferrometa mints."),
    key("jwtTokenConfiguration.keyId", "JWT_KEY_ID", "Gb389a-9f76-gdjs-a92j-0242bk94356", Str, "kid of the configured key pair; keep it stable."),
    key("fernetConfiguration.fernetKey", "FERNET_KEY", "\"\"", Secret, "Key that encrypts stored bot tokens; share it between replicas. Empty: generated in the data dir."),
    // --- login configuration (contract §1.5) ---
    key("loginConfiguration.maxLoginFailAttempts", "OM_MAX_FAILED_LOGIN_ATTEMPTS", "3", Int, "Failed basic-auth logins before the account is blocked."),
    key("loginConfiguration.accessBlockTime", "OM_LOGIN_ACCESS_BLOCK_TIME", "600", Int, "Seconds an account stays blocked."),
    key("loginConfiguration.jwtTokenExpiryTime", "OM_JWT_EXPIRY_TIME", "3600", Int, "Lifetime of basic-auth access tokens in seconds."),
];

pub fn find(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.path == path)
}

/// `path (ENV_VAR)` as used in every validation message.
pub fn label(path: &str) -> String {
    match find(path).and_then(|k| k.env) {
        Some(env) => format!("{path} ({env})"),
        None => path.to_string(),
    }
}

/// Markdown table of every key, for the README's configuration reference.
pub fn reference_markdown() -> String {
    let mut out = String::from("| key | env var | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            k.path,
            k.env.map(|e| format!("`{e}`")).unwrap_or_else(|| "–".into()),
            k.default,
            k.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_env_vars_are_unique() {
        let mut paths: Vec<_> = KEYS.iter().map(|k| k.path).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), KEYS.len(), "duplicate key path in KEYS");
        let mut envs: Vec<_> = KEYS.iter().filter_map(|k| k.env).collect();
        let n = envs.len();
        envs.sort();
        envs.dedup();
        assert_eq!(envs.len(), n, "duplicate env var in KEYS");
    }

    #[test]
    fn every_default_is_valid_yaml() {
        for k in KEYS {
            yaml_serde::from_str::<yaml_serde::Value>(k.default)
                .unwrap_or_else(|e| panic!("default of {} is not YAML: {e}", k.path));
        }
    }
}
