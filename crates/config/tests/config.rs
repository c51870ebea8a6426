//! The guide's configurations, env-over-file precedence and bad-config messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferrometa_config::keys::{KEYS, Kind};
use ferrometa_config::{ClientType, Provider, RsaAlgorithm, Source, load};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Parses a Docker env file (`KEY=value` lines) as `docker compose --env-file` does.
fn env_file(name: &str) -> BTreeMap<String, String> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn env_of(map: BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |k| map.get(k).cloned()
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn docker_env_file_and_bare_metal_yaml_give_the_same_configuration() {
    let from_env = load(None, &env_of(env_file("openmetadata_cognito.env"))).unwrap().config;
    let from_yaml = load(Some(&fixture("openmetadata_cognito.yaml")), &|_| None).unwrap().config;
    assert_eq!(from_env, from_yaml);
    let a = &from_env.authentication;
    assert_eq!(a.provider, Provider::AwsCognito);
    assert_eq!(a.client_type, ClientType::Public);
    assert_eq!(a.algorithm, RsaAlgorithm::Rs256);
    assert_eq!(a.authority, "https://cognito-idp.us-west-1.amazonaws.com/us-west-1_AbCdEf123");
    assert_eq!(a.client_id, "4l1pd0e3example7clientid8");
    assert_eq!(a.public_key_urls.len(), 2);
    assert_eq!(a.jwt_principal_claims, ["email", "preferred_username", "sub"]);
    assert_eq!(from_env.authorizer.admin_principals[0].name, "admin");
    assert_eq!(from_env.authorizer.principal_domain, "open-metadata.org");
}

#[test]
fn openmetadata_style_template_is_substituted_then_parsed() {
    let env = env_of(vars(&[
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_PUBLIC_KEYS", "[http://127.0.0.1:5000/p/.well-known/jwks.json, http://localhost:8585/api/v1/system/config/jwks]"),
        ("AUTHENTICATION_AUTHORITY", "https://cognito-idp.us-east-1.amazonaws.com/p"),
        ("AUTHENTICATION_CLIENT_ID", "abc"),
    ]));
    let loaded = load(Some(&fixture("openmetadata_template.yaml")), &env).unwrap();
    let c = loaded.config;
    assert_eq!(c.authentication.provider, Provider::AwsCognito);
    assert_eq!(c.authentication.public_key_urls[0], "http://127.0.0.1:5000/p/.well-known/jwks.json");
    assert_eq!(c.authorizer.principal_domain, "open-metadata.org");
    assert!(c.authentication.enable_self_signup);
    match c.database {
        ferrometa_config::DatabaseUrl::Postgres(url) => {
            assert_eq!(url, "postgresql://openmetadata_user:openmetadata_password@localhost:5432/openmetadata_db")
        }
        other => panic!("expected the OpenMetadata jdbc:postgresql URL to map to Postgres, got {other:?}"),
    }
}

/// A value of the key's kind, different from its default, that every raw coercion accepts.
fn sample(kind: Kind, n: usize) -> (String, serde_json::Value) {
    match kind {
        Kind::Str | Kind::Secret => (format!("value-{n}"), serde_json::json!(format!("value-{n}"))),
        Kind::Bool => ("true".into(), serde_json::json!(true)),
        Kind::Int => (format!("{}", 1000 + n), serde_json::json!(1000 + n)),
        Kind::List => (format!("[item-{n}, other-{n}]"), serde_json::json!([format!("item-{n}"), format!("other-{n}")])),
    }
}

#[test]
fn every_documented_env_var_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openmetadata.yaml");
    // The file sets every key to a file-specific value.
    let mut yaml = String::new();
    for k in KEYS {
        let mut indent = String::new();
        let parts: Vec<&str> = k.path.split('.').collect();
        for (i, p) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                let v = match k.kind {
                    Kind::Bool => "false".to_string(),
                    Kind::Int => "7".to_string(),
                    Kind::List => "[from-file]".to_string(),
                    _ => "\"from-file\"".to_string(),
                };
                yaml.push_str(&format!("{indent}{p}: {v}\n"));
            } else {
                yaml.push_str(&format!("{indent}{p}:\n"));
            }
            indent.push_str("  ");
        }
        // Each key as its own document fragment would clash; build one tree per key instead.
        std::fs::write(&file, &yaml).unwrap();
        let from_file = ferrometa_config::RawConfig::load(Some(&file), &|_| None).unwrap();
        assert_eq!(from_file.source(k.path), Source::File, "{} not read from the file", k.path);
        if let Some(env) = k.env {
            let (raw, expected) = sample(k.kind, 1);
            let env_lookup = |name: &str| (name == env).then(|| raw.clone());
            let loaded = ferrometa_config::RawConfig::load(Some(&file), &env_lookup).unwrap();
            assert_eq!(loaded.value(k.path), &expected, "{env} did not override {} from the file", k.path);
            assert_eq!(loaded.source(k.path), Source::Env, "{env}: source should be env");
        }
        yaml.clear();
    }
}

#[test]
fn env_overrides_file_in_the_typed_configuration() {
    let env = env_of(vars(&[("AUTHENTICATION_CLIENT_ID", "from-env"), ("AUTHORIZER_PRINCIPAL_DOMAIN", "Example.COM"), ("SERVER_PORT", "9999")]));
    let c = load(Some(&fixture("openmetadata_cognito.yaml")), &env).unwrap().config;
    assert_eq!(c.authentication.client_id, "from-env");
    assert_eq!(c.authorizer.principal_domain, "example.com");
    assert_eq!(c.server.port, 9999);
}

#[test]
fn no_configuration_at_all_is_valid_basic_auth_with_sqlite() {
    let c = load(None, &|_| None).unwrap().config;
    assert_eq!(c.authentication.provider, Provider::Basic);
    assert_eq!((c.server.port, c.server.admin_port), (8585, 8586));
    assert_eq!(c.server.om_version, "1.6.13");
    assert_eq!(c.database, ferrometa_config::DatabaseUrl::Sqlite(PathBuf::from("./data/ferrometa.db")));
    assert!(c.jwt.private_key_path.is_none(), "no key is configured by default: one is generated per install");
}

#[test]
fn om_db_env_vars_build_a_postgres_url() {
    let env = env_of(vars(&[("DB_SCHEME", "postgresql"), ("DB_HOST", "pg"), ("DB_USER", "om"), ("DB_USER_PASSWORD", "pw"), ("OM_DATABASE", "meta")]));
    let c = load(None, &env).unwrap().config;
    assert_eq!(c.database, ferrometa_config::DatabaseUrl::Postgres("postgresql://om:pw@pg:5432/meta".into()));
}

/// Env vars, the key label expected in the message, and a fragment of the message.
type BadCase = (&'static [(&'static str, &'static str)], &'static str, &'static str);

const BAD: &[BadCase] = &[
    (&[("AUTHENTICATION_PROVIDER", "cognito")], "authenticationConfiguration.provider (AUTHENTICATION_PROVIDER)", "unknown value \"cognito\"; allowed: basic, aws-cognito"),
    (&[("AUTHENTICATION_PROVIDER", "saml")], "authenticationConfiguration.provider (AUTHENTICATION_PROVIDER)", "does not serve"),
    (&[("AUTHENTICATION_CLIENT_TYPE", "secret")], "authenticationConfiguration.clientType (AUTHENTICATION_CLIENT_TYPE)", "allowed: public, confidential"),
    (&[("AUTHENTICATION_RESPONSE_TYPE", "token")], "authenticationConfiguration.responseType (AUTHENTICATION_RESPONSE_TYPE)", "allowed: id_token, code"),
    (&[("AUTHENTICATION_PUBLIC_KEYS", "[not-a-url, http://ok/jwks]")], "authenticationConfiguration.publicKeyUrls (AUTHENTICATION_PUBLIC_KEYS)", "\"not-a-url\" is not an http(s) URL"),
    (&[("AUTHENTICATION_TOKEN_VALIDATION_ALGORITHM", "HS256")], "authenticationConfiguration.tokenValidationAlgorithm (AUTHENTICATION_TOKEN_VALIDATION_ALGORITHM)", "allowed: RS256, RS384, RS512"),
    (&[("AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING", "[username:preferred_username]")], "authenticationConfiguration.jwtPrincipalClaimsMapping (AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING)", "Invalid JWT Principal Claims Mapping. Both username and email should be present"),
    (&[("AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING", "[user=sub, email:email]")], "authenticationConfiguration.jwtPrincipalClaimsMapping (AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING)", "must be username:<claim> or email:<claim>"),
    (&[("AUTHENTICATION_JWT_PRINCIPAL_CLAIMS", "[]")], "authenticationConfiguration.jwtPrincipalClaims (AUTHENTICATION_JWT_PRINCIPAL_CLAIMS)", "at least one claim"),
    (&[("AUTHORIZER_CLASS_NAME", "org.example.MyAuthorizer")], "authorizerConfiguration.className (AUTHORIZER_CLASS_NAME)", "unknown value \"org.example.MyAuthorizer\""),
    (&[("AUTHORIZER_REQUEST_FILTER", "org.openmetadata.service.security.CatalogOpenIdAuthorizationRequestFilter")], "authorizerConfiguration.containerRequestFilter (AUTHORIZER_REQUEST_FILTER)", "allowed: org.openmetadata.service.security.JwtFilter"),
    (&[("AUTHORIZER_REQUEST_FILTER", "org.openmetadata.service.security.NoopFilter")], "authorizerConfiguration.containerRequestFilter (AUTHORIZER_REQUEST_FILTER)", "NoopFilter needs"),
    (&[("AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN", "yes")], "authorizerConfiguration.enforcePrincipalDomain (AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN)", "expected true or false, got \"yes\""),
    (&[("AUTHORIZER_ADMIN_PRINCIPALS", "[admin@open-metadata.org]")], "authorizerConfiguration.adminPrincipals (AUTHORIZER_ADMIN_PRINCIPALS)", "is not a user name"),
    (&[("SERVER_PORT", "eighty")], "server.port (SERVER_PORT)", "expected a whole number, got \"eighty\""),
    (&[("SERVER_PORT", "70000")], "server.port (SERVER_PORT)", "70000 is out of range; allowed: 0 to 65535"),
    (&[("SERVER_ADMIN_PORT", "8585")], "server.adminPort (SERVER_ADMIN_PORT)", "must differ from server.port"),
    (&[("FERROMETA_TOKEN_LEEWAY_SECONDS", "900")], "authenticationConfiguration.tokenLeewaySeconds (FERROMETA_TOKEN_LEEWAY_SECONDS)", "allowed: 0 to 300"),
    (&[("FERROMETA_DATABASE_URL", "mysql://u:p@h/db")], "database.url (FERROMETA_DATABASE_URL)", "unsupported database \"mysql\""),
    (&[("RSA_PRIVATE_KEY_FILE_PATH", "/nonexistent/private_key.der")], "jwtTokenConfiguration.rsapublicKeyFilePath (RSA_PUBLIC_KEY_FILE_PATH)", "set both key paths, or neither"),
    (&[("RSA_PRIVATE_KEY_FILE_PATH", "/nonexistent/private_key.der"), ("RSA_PUBLIC_KEY_FILE_PATH", "/nonexistent/public_key.der")], "jwtTokenConfiguration.rsaprivateKeyFilePath (RSA_PRIVATE_KEY_FILE_PATH)", "does not exist"),
    (&[("JWT_KEY_ID", "\"\"")], "jwtTokenConfiguration.keyId (JWT_KEY_ID)", "must be 1 to 200 characters"),
    (&[("AUTHENTICATION_PROVIDER", "aws-cognito"), ("AUTHENTICATION_AUTHORITY", "cognito-idp.us-east-1.amazonaws.com/pool")], "authenticationConfiguration.authority (AUTHENTICATION_AUTHORITY)", "is not an http(s) URL"),
    (&[("AUTHENTICATION_PROVIDER", "aws-cognito"), ("AUTHENTICATION_AUTHORITY", "https://cognito-idp.us-east-1.amazonaws.com/p")], "authenticationConfiguration.clientId (AUTHENTICATION_CLIENT_ID)", "is required with provider aws-cognito"),
    (&[("AUTHENTICATION_PROVIDER", "aws-cognito"), ("AUTHENTICATION_AUTHORITY", "https://c/p"), ("AUTHENTICATION_CLIENT_ID", "x"), ("AUTHENTICATION_CLIENT_TYPE", "confidential")], "authenticationConfiguration.oidcConfiguration.secret (OIDC_CLIENT_SECRET)", "is required with clientType confidential"),
    (&[("OIDC_CLIENT_AUTH_METHOD", "private_key_jwt")], "authenticationConfiguration.oidcConfiguration.clientAuthenticationMethod (OIDC_CLIENT_AUTH_METHOD)", "allowed: client_secret_basic, client_secret_post"),
    (&[("FERROMETA_OM_VERSION", "latest")], "server.omVersion (FERROMETA_OM_VERSION)", "is not a version such as 1.6.13"),
    (&[("FERROMETA_LOG_FORMAT", "xml")], "server.logFormat (FERROMETA_LOG_FORMAT)", "allowed: text, json"),
    (&[("FERROMETA_GROUP_ROLE_MAPPING", "[admins]")], "authenticationConfiguration.groupRoleMapping (FERROMETA_GROUP_ROLE_MAPPING)", "must be GROUP:ROLE"),
    (&[("OM_MAX_FAILED_LOGIN_ATTEMPTS", "0")], "loginConfiguration.maxLoginFailAttempts (OM_MAX_FAILED_LOGIN_ATTEMPTS)", "out of range"),
];

#[test]
fn each_bad_configuration_names_key_env_var_and_what_is_allowed() {
    assert!(BAD.len() >= 15);
    for (pairs, label, fragment) in BAD {
        let err = load(None, &env_of(vars(pairs))).expect_err(&format!("{pairs:?} should be refused"));
        let text = err.to_string();
        let line = text
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{pairs:?}: no problem names {label}:\n{text}"));
        assert!(line.contains(fragment), "{pairs:?}: expected \"{fragment}\" in \"{line}\"");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let env = env_of(vars(&[("AUTHENTICATION_PROVIDER", "nope"), ("SERVER_PORT", "x"), ("AUTHORIZER_CLASS_NAME", "y"), ("FERROMETA_LOG_FORMAT", "z")]));
    let err = load(None, &env).unwrap_err();
    assert_eq!(err.problems.len(), 4, "{err}");
}

#[test]
fn bad_yaml_file_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "authenticationConfiguration: [unclosed\n").unwrap();
    let err = load(Some(&file), &|_| None).unwrap_err();
    assert!(err.to_string().contains("not valid YAML"), "{err}");
    let err = load(Some(&dir.path().join("missing.yaml")), &|_| None).unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn the_readme_lists_every_key() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    assert!(
        readme.contains(&ferrometa_config::keys::reference_markdown()),
        "README.md's configuration reference is stale: paste the output of `ferrometa config-reference`"
    );
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

#[test]
fn shipped_deployment_files_load_into_the_same_cognito_setup() {
    // Key files only need to exist for validation.
    let keys = tempfile::tempdir().unwrap();
    let (public, private) = (keys.path().join("public_key.der"), keys.path().join("private_key.der"));
    std::fs::write(&public, b"x").unwrap();
    std::fs::write(&private, b"x").unwrap();
    let key_paths = |mut vars: BTreeMap<String, String>| {
        vars.insert("RSA_PUBLIC_KEY_FILE_PATH".into(), public.display().to_string());
        vars.insert("RSA_PRIVATE_KEY_FILE_PATH".into(), private.display().to_string());
        vars
    };

    let docker: BTreeMap<String, String> = std::fs::read_to_string(repo_file("deploy/docker/openmetadata_cognito.env"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap())
        .collect();
    let from_docker = load(None, &env_of(key_paths(docker))).unwrap_or_else(|e| panic!("docker env file: {e}")).config;

    let from_bare_metal = load(Some(&repo_file("deploy/bare-metal/openmetadata.yaml")), &|_| None).unwrap_or_else(|e| panic!("bare-metal yaml: {e}")).config;

    // The kustomize base's ConfigMap with the Cognito overlay's patch merged over it (as kustomize does).
    let config_map_data = |rel: &str| -> BTreeMap<String, String> {
        let doc: yaml_serde::Value = yaml_serde::from_str(&std::fs::read_to_string(repo_file(rel)).unwrap()).unwrap();
        doc["data"].as_mapping().unwrap().iter().map(|(k, v)| (k.as_str().unwrap().to_string(), v.as_str().unwrap().to_string())).collect()
    };
    let mut k8s = config_map_data("deploy/kubernetes/base/configmap.yaml");
    k8s.extend(config_map_data("deploy/kubernetes/overlays/cognito/cognito.yaml"));
    let from_k8s = load(None, &env_of(key_paths(k8s))).unwrap_or_else(|e| panic!("kubernetes config map: {e}")).config;

    for c in [&from_docker, &from_bare_metal, &from_k8s] {
        assert_eq!(c.authentication.provider, Provider::AwsCognito);
        assert_eq!(c.authentication.authority, "https://cognito-idp.us-west-1.amazonaws.com/us-west-1_XXXXXXXXX");
        assert_eq!(c.authentication.public_key_urls.len(), 2);
        assert_eq!(c.authorizer.admin_principals[0].name, "admin");
    }
}
