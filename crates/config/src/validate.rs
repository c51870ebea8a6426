//! Typed validation: `RawConfig` → `Config`, collecting every problem.

use std::path::PathBuf;

use url::Url;

use crate::load::{ConfigError, Problem, RawConfig};
use crate::model::*;

const A: &str = "authenticationConfiguration";

struct Checker<'a> {
    raw: &'a RawConfig,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem { key: key.into(), message: message.into() });
    }

    fn one_of<T>(&mut self, key: &str, parse: impl Fn(&str) -> Option<T>, allowed: &str, fallback: T) -> T {
        let v = self.raw.str(key);
        parse(v).unwrap_or_else(|| {
            self.fail(key, format!("unknown value \"{v}\"; allowed: {allowed}"));
            fallback
        })
    }

    fn in_range(&mut self, key: &str, min: u64, max: u64) -> u64 {
        let v = self.raw.int(key);
        if v < min || v > max {
            self.fail(key, format!("{v} is out of range; allowed: {min} to {max}"));
        }
        v.clamp(min, max)
    }

    fn http_url(&mut self, key: &str, value: &str) {
        match Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => self.fail(key, format!("\"{value}\" is not an http(s) URL")),
        }
    }

    fn optional_url(&mut self, key: &str) -> String {
        let v = self.raw.str(key).to_string();
        if !v.is_empty() {
            self.http_url(key, &v);
        }
        v
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        Some(self.raw.str(key)).filter(|s| !s.is_empty()).map(PathBuf::from)
    }
}

fn parse_mapping(c: &mut Checker, entries: Vec<String>) -> Option<ClaimsMapping> {
    let key = "authenticationConfiguration.jwtPrincipalClaimsMapping";
    if entries.is_empty() {
        return None;
    }
    let (mut username, mut email) = (None, None);
    for e in &entries {
        match e.split_once(':') {
            Some(("username", claim)) if !claim.is_empty() => username = Some(claim.to_string()),
            Some(("email", claim)) if !claim.is_empty() => email = Some(claim.to_string()),
            _ => c.fail(key, format!("entry \"{e}\" must be username:<claim> or email:<claim>")),
        }
    }
    match (username, email) {
        (Some(username), Some(email)) => Some(ClaimsMapping { username, email }),
        _ => {
            c.fail(key, "Invalid JWT Principal Claims Mapping. Both username and email should be present");
            None
        }
    }
}

fn parse_pairs(c: &mut Checker, key: &str, entries: Vec<String>) -> Vec<(String, String)> {
    entries
        .into_iter()
        .filter_map(|e| match e.split_once(':') {
            Some((g, r)) if !g.is_empty() && !r.is_empty() => Some((g.to_string(), r.to_string())),
            _ => {
                c.fail(key, format!("entry \"{e}\" must be GROUP:ROLE"));
                None
            }
        })
        .collect()
}

fn parse_admins(c: &mut Checker, entries: Vec<String>) -> Vec<AdminPrincipal> {
    let key = "authorizerConfiguration.adminPrincipals";
    entries
        .into_iter()
        .filter_map(|e| {
            let (name, password) = match e.split_once(':') {
                Some((n, p)) => (n.trim(), Some(p.to_string())),
                None => (e.trim(), None),
            };
            if name.is_empty() || name.contains('@') || name.chars().any(char::is_whitespace) {
                c.fail(key, format!("\"{name}\" is not a user name (use the email local part, without @domain)"));
                return None;
            }
            Some(AdminPrincipal { name: name.to_lowercase(), password })
        })
        .collect()
}

fn parse_database(c: &mut Checker, data_dir: &std::path::Path, env: &dyn Fn(&str) -> Option<String>) -> DatabaseUrl {
    let key = "database.url";
    let mut url = c.raw.str(key).to_string();
    if url.is_empty() {
        url = om_db_env_url(env).unwrap_or_default();
    }
    if url.is_empty() {
        return DatabaseUrl::Sqlite(data_dir.join("ferrometa.db"));
    }
    let url = url.strip_prefix("jdbc:").unwrap_or(&url).to_string();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        return DatabaseUrl::Sqlite(PathBuf::from(path));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return DatabaseUrl::Postgres(with_file_credentials(c.raw, url));
    }
    let scheme = url.split(':').next().unwrap_or("");
    c.fail(key, format!("unsupported database \"{scheme}\"; allowed: sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB (MySQL is not supported)"));
    DatabaseUrl::Sqlite(data_dir.join("ferrometa.db"))
}

/// OpenMetadata's `DB_*` variables, used when no URL is configured.
fn om_db_env_url(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let host = env("DB_HOST").filter(|h| !h.is_empty())?;
    let get = |k: &str, d: &str| env(k).filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_string());
    let scheme = get("DB_SCHEME", "mysql");
    let user = get("DB_USER", "openmetadata_user");
    let pass = get("DB_USER_PASSWORD", "openmetadata_password");
    let port = get("DB_PORT", if scheme.starts_with("postgres") { "5432" } else { "3306" });
    let db = get("OM_DATABASE", "openmetadata_db");
    let params = env("DB_PARAMS").filter(|p| !p.is_empty()).map(|p| format!("?{p}")).unwrap_or_default();
    Some(format!("{scheme}://{user}:{pass}@{host}:{port}/{db}{params}"))
}

/// OpenMetadata keeps the credentials in `database.user` / `database.password`, not in the URL.
fn with_file_credentials(raw: &RawConfig, url: String) -> String {
    match (raw.file_str("database.user"), raw.file_str("database.password")) {
        (Some(user), pass) if !url.contains('@') => {
            let auth = match pass {
                Some(p) => format!("{user}:{p}@"),
                None => format!("{user}@"),
            };
            url.replacen("://", &format!("://{auth}"), 1)
        }
        _ => url,
    }
}

pub fn validate(raw: &RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut c = Checker { raw, problems: raw.problems.clone() };

    let provider_key = "authenticationConfiguration.provider";
    let provider = match raw.str(provider_key) {
        p @ ("ldap" | "saml" | "openmetadata") => {
            c.fail(provider_key, format!("\"{p}\" is an OpenMetadata provider that ferrometa does not serve; allowed: {}", Provider::ALLOWED));
            Provider::Basic
        }
        _ => c.one_of(provider_key, Provider::parse, Provider::ALLOWED, Provider::Basic),
    };
    let client_type = c.one_of(
        "authenticationConfiguration.clientType",
        |s| match s {
            "public" => Some(ClientType::Public),
            "confidential" => Some(ClientType::Confidential),
            _ => None,
        },
        "public, confidential",
        ClientType::Public,
    );
    let response_type = c.one_of(
        "authenticationConfiguration.responseType",
        |s| matches!(s, "id_token" | "code").then(|| s.to_string()),
        "id_token, code",
        "id_token".into(),
    );
    let algorithm = c.one_of("authenticationConfiguration.tokenValidationAlgorithm", RsaAlgorithm::parse, "RS256, RS384, RS512", RsaAlgorithm::Rs256);

    let public_key_urls = raw.list("authenticationConfiguration.publicKeyUrls");
    for u in &public_key_urls {
        c.http_url("authenticationConfiguration.publicKeyUrls", u);
    }
    let principal_claims = raw.list("authenticationConfiguration.jwtPrincipalClaims");
    if principal_claims.is_empty() {
        c.fail("authenticationConfiguration.jwtPrincipalClaims", "must name at least one claim, e.g. [email, preferred_username, sub]");
    }
    let claims_mapping = parse_mapping(&mut c, raw.list("authenticationConfiguration.jwtPrincipalClaimsMapping"));

    let authority = raw.str("authenticationConfiguration.authority").to_string();
    let client_id = raw.str("authenticationConfiguration.clientId").to_string();
    let callback_url = c.optional_url("authenticationConfiguration.callbackUrl");
    if provider.is_sso() {
        c.http_url("authenticationConfiguration.authority", &authority);
        if client_id.is_empty() {
            c.fail("authenticationConfiguration.clientId", format!("is required with provider {}", provider.as_str()));
        }
        if public_key_urls.is_empty() {
            c.fail("authenticationConfiguration.publicKeyUrls", format!("must list the identity provider's JWKS URL with provider {}", provider.as_str()));
        }
    }
    let additional_issuers = raw.list("authenticationConfiguration.additionalIssuers");
    for u in &additional_issuers {
        c.http_url("authenticationConfiguration.additionalIssuers", u);
    }
    let logout_uri = c.optional_url("authenticationConfiguration.logoutUri");
    let group_role_mapping = parse_pairs(&mut c, "authenticationConfiguration.groupRoleMapping", raw.list("authenticationConfiguration.groupRoleMapping"));

    let oidc = oidc_config(&mut c, &client_id);
    if provider.is_sso() && client_type == ClientType::Confidential && oidc.secret.is_empty() {
        c.fail("authenticationConfiguration.oidcConfiguration.secret", "is required with clientType confidential");
    }

    let authentication = AuthenticationConfig {
        client_type,
        provider,
        response_type,
        provider_name: raw.str("authenticationConfiguration.providerName").into(),
        public_key_urls,
        algorithm,
        authority,
        client_id,
        callback_url,
        jwt_principal_claims: principal_claims,
        claims_mapping,
        enable_self_signup: raw.bool("authenticationConfiguration.enableSelfSignup"),
        jit_provisioning: raw.bool("authenticationConfiguration.jitProvisioning"),
        leeway_secs: c.in_range("authenticationConfiguration.tokenLeewaySeconds", 0, 300),
        jwks_max_key_age_secs: c.in_range("authenticationConfiguration.jwksMaxKeyAgeSeconds", 1, 86_400),
        jwks_fetch_timeout_secs: c.in_range("authenticationConfiguration.jwksFetchTimeoutSeconds", 1, 5),
        additional_issuers,
        groups_claim: raw.str("authenticationConfiguration.groupsClaim").into(),
        group_role_mapping,
        logout_uri,
        session_idle_timeout_secs: c.in_range("authenticationConfiguration.sessionIdleTimeoutSeconds", 60, 86_400),
        session_absolute_timeout_secs: c.in_range("authenticationConfiguration.sessionAbsoluteTimeoutSeconds", 300, 86_400 * 30),
        session_refresh_margin_secs: c.in_range("authenticationConfiguration.sessionRefreshMarginSeconds", 0, 3600),
        sign_in_starts_per_minute: c.in_range("authenticationConfiguration.signInStartsPerMinute", 1, 10_000) as u32,
        oidc,
    };

    let authorizer = authorizer_config(&mut c);
    let jwt = jwt_config(&mut c);
    let server = server_config(&mut c);
    let login = LoginConfig {
        max_login_fail_attempts: c.in_range("loginConfiguration.maxLoginFailAttempts", 1, 1000) as u32,
        access_block_time_secs: c.in_range("loginConfiguration.accessBlockTime", 1, 86_400 * 30),
        jwt_token_expiry_secs: c.in_range("loginConfiguration.jwtTokenExpiryTime", 60, 86_400 * 30),
    };
    let data_dir = PathBuf::from(raw.str("ferrometa.dataDir"));
    if data_dir.as_os_str().is_empty() {
        c.fail("ferrometa.dataDir", "must not be empty");
    }
    let database = parse_database(&mut c, &data_dir, env);
    let profile_retention_days = c.in_range("ferrometa.profileRetentionDays", 0, 36_500);

    if c.problems.is_empty() {
        let fernet_key = raw.str("fernetConfiguration.fernetKey").to_string();
        Ok(Config { server, data_dir, database, authentication, authorizer, jwt, login, fernet_key, profile_retention_days })
    } else {
        Err(ConfigError { problems: c.problems })
    }
}

fn oidc_config(c: &mut Checker, client_id: &str) -> OidcConfig {
    let o = |k: &str| format!("{A}.oidcConfiguration.{k}");
    let raw = c.raw;
    let client_auth_method = c.one_of(
        &o("clientAuthenticationMethod"),
        |s| match s {
            "client_secret_basic" => Some(ClientAuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(ClientAuthMethod::ClientSecretPost),
            _ => None,
        },
        "client_secret_basic, client_secret_post",
        ClientAuthMethod::ClientSecretPost,
    );
    if raw.str(&o("responseType")) != "code" {
        c.fail(&o("responseType"), format!("unknown value \"{}\"; allowed: code", raw.str(&o("responseType"))));
    }
    let discovery_uri = c.optional_url(&o("discoveryUri"));
    let callback_url = c.optional_url(&o("callbackUrl"));
    let server_url = c.optional_url(&o("serverUrl"));
    let id = raw.str(&o("id"));
    OidcConfig {
        client_id: if id.is_empty() { client_id.to_string() } else { id.to_string() },
        provider_type: raw.str(&o("type")).into(),
        secret: raw.str(&o("secret")).into(),
        scope: raw.str(&o("scope")).into(),
        discovery_uri,
        use_nonce: raw.bool(&o("useNonce")),
        preferred_jws_algorithm: raw.str(&o("preferredJwsAlgorithm")).into(),
        disable_pkce: raw.bool(&o("disablePkce")),
        callback_url,
        server_url,
        client_auth_method,
        tenant: raw.str(&o("tenant")).into(),
        token_validity_secs: raw.int(&o("tokenValidity")),
    }
}

fn authorizer_config(c: &mut Checker) -> AuthorizerConfig {
    let raw = c.raw;
    let enforce_authorization = c.one_of(
        "authorizerConfiguration.className",
        |s| match s {
            "org.openmetadata.service.security.DefaultAuthorizer" => Some(true),
            "org.openmetadata.service.security.NoopAuthorizer" => Some(false),
            _ => None,
        },
        "org.openmetadata.service.security.DefaultAuthorizer, org.openmetadata.service.security.NoopAuthorizer",
        true,
    );
    let authenticate_requests = c.one_of(
        "authorizerConfiguration.containerRequestFilter",
        |s| match s {
            "org.openmetadata.service.security.JwtFilter" => Some(true),
            "org.openmetadata.service.security.NoopFilter" => Some(false),
            _ => None,
        },
        "org.openmetadata.service.security.JwtFilter, org.openmetadata.service.security.NoopFilter",
        true,
    );
    if !authenticate_requests && enforce_authorization {
        c.fail("authorizerConfiguration.containerRequestFilter", "NoopFilter needs AUTHORIZER_CLASS_NAME=org.openmetadata.service.security.NoopAuthorizer (every request would be anonymous and refused)");
    }
    let principal_domain = match raw.str("authorizerConfiguration.principalDomain") {
        "" => "openmetadata.org".to_string(),
        d => d.to_lowercase(),
    };
    let lower = |v: Vec<String>| v.into_iter().map(|d| d.to_lowercase()).collect::<Vec<_>>();
    let admin_principals = parse_admins(c, raw.list("authorizerConfiguration.adminPrincipals"));
    AuthorizerConfig {
        enforce_authorization,
        authenticate_requests,
        admin_principals,
        allowed_registration_domains: lower(raw.list("authorizerConfiguration.allowedEmailRegistrationDomains")),
        principal_domain,
        enforce_principal_domain: raw.bool("authorizerConfiguration.enforcePrincipalDomain"),
        use_roles_from_provider: raw.bool("authorizerConfiguration.useRolesFromProvider"),
        allowed_domains: lower(raw.list("authorizerConfiguration.allowedDomains")),
        access_cache_secs: c.in_range("authorizerConfiguration.accessCacheSeconds", 0, 60),
    }
}

fn jwt_config(c: &mut Checker) -> JwtTokenConfig {
    let public_key_path = c.path("jwtTokenConfiguration.rsapublicKeyFilePath");
    let private_key_path = c.path("jwtTokenConfiguration.rsaprivateKeyFilePath");
    if public_key_path.is_some() != private_key_path.is_some() {
        let missing = if public_key_path.is_none() { "jwtTokenConfiguration.rsapublicKeyFilePath" } else { "jwtTokenConfiguration.rsaprivateKeyFilePath" };
        c.fail(missing, "set both key paths, or neither (a key pair is then generated in the data dir)");
    }
    for (key, path) in [("jwtTokenConfiguration.rsapublicKeyFilePath", &public_key_path), ("jwtTokenConfiguration.rsaprivateKeyFilePath", &private_key_path)] {
        if let Some(p) = path
            && !p.is_file()
        {
            c.fail(key, format!("file {} does not exist or is not readable", p.display()));
        }
    }
    let issuer = c.raw.str("jwtTokenConfiguration.jwtissuer").to_string();
    if issuer.is_empty() {
        c.fail("jwtTokenConfiguration.jwtissuer", "must not be empty");
    }
    let key_id = c.raw.str("jwtTokenConfiguration.keyId").to_string();
    if key_id.is_empty() || key_id.len() > 200 {
        c.fail("jwtTokenConfiguration.keyId", "must be 1 to 200 characters");
    }
    JwtTokenConfig { public_key_path, private_key_path, issuer, key_id }
}

fn server_config(c: &mut Checker) -> ServerConfig {
    // 0 = any free port (tests); the bound port is logged at startup.
    let port = c.in_range("server.port", 0, 65_535) as u16;
    let admin_port = c.in_range("server.adminPort", 0, 65_535) as u16;
    if port == admin_port && port != 0 {
        c.fail("server.adminPort", format!("must differ from server.port (SERVER_PORT), both are {port}"));
    }
    let om_version = c.raw.str("server.omVersion").to_string();
    let parts: Vec<&str> = om_version.split(['.', '-']).collect();
    if parts.len() < 3 || !parts[..3].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        c.fail("server.omVersion", format!("\"{om_version}\" is not a version such as 1.6.13"));
    }
    let log_format = c.one_of(
        "server.logFormat",
        |s| match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        },
        "text, json",
        LogFormat::Text,
    );
    let log_level = c.one_of(
        "server.logLevel",
        |s| {
            let up = s.to_ascii_uppercase();
            matches!(up.as_str(), "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "OFF").then_some(up)
        },
        "TRACE, DEBUG, INFO, WARN, ERROR, OFF",
        "INFO".into(),
    );
    let host = c.raw.str("server.host").to_string();
    if host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
        c.fail("server.host", format!("\"{host}\" is not an IP address"));
    }
    ServerConfig {
        host,
        port,
        admin_port,
        om_version,
        shutdown_grace_secs: c.in_range("server.shutdownGraceSeconds", 0, 600),
        limits: ListenerLimits {
            max_body_bytes: c.in_range("server.maxBodyMegabytes", 1, 512) as usize * 1024 * 1024,
            header_read_timeout_secs: c.in_range("server.headerReadTimeoutSeconds", 1, 300),
            idle_timeout_secs: c.in_range("server.idleTimeoutSeconds", 1, 3600),
            max_connections: c.in_range("server.maxConnections", 1, 100_000) as usize,
        },
        shutdown_drain_secs: c.in_range("server.shutdownDrainSeconds", 0, 300),
        log_format,
        log_level,
    }
}
