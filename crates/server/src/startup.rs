//! Start-up: open the store, load or generate keys, and bootstrap the admins and system bots
//! (contract §6.1, with ferrometa's safer defaults from `decisions.md` §3).

use std::io::IsTerminal;
use std::sync::Arc;

use ferrometa_auth::keys::{self, KeyDir, KeySet};
use ferrometa_auth::password::random_password;
use ferrometa_auth::secret::SecretBox;
use ferrometa_auth::{AuthService, TokenExpiry};
use ferrometa_catalog::{Catalog, CatalogError, SecretCipher};
use ferrometa_catalog::kinds::{BOT, USER};
use ferrometa_catalog::users::{CreateBot, CreateUser};
use ferrometa_config::{AdminPrincipal, Config, DatabaseUrl, Provider};
use ferrometa_store::{Include, Origin, Store};
use serde_json::json;

use crate::routes::users::account_of;
use crate::state::AppState;

const DEFAULT_ADMIN: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Store(#[from] ferrometa_store::StoreError),
    #[error("signing keys: {0}")]
    Keys(#[from] keys::KeyError),
    #[error("bootstrap: {0}")]
    Catalog(#[from] ferrometa_catalog::CatalogError),
    #[error("bootstrap: {0}")]
    Auth(#[from] ferrometa_auth::AuthError),
    #[error("signing keys: {0}")]
    KeyConflict(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

pub async fn open_store(config: &Config) -> Result<Store, StartupError> {
    Ok(match &config.database {
        DatabaseUrl::Sqlite(path) => Store::open_sqlite(path).await?,
        DatabaseUrl::Postgres(url) => Store::open_postgres(url).await?,
    })
}

pub fn load_keys(config: &Config) -> Result<KeySet, StartupError> {
    Ok(match (&config.jwt.private_key_path, &config.jwt.public_key_path) {
        (Some(private), Some(public)) => keys::load_configured(private, public, &config.jwt.key_id)?,
        _ => KeyDir::new(&config.data_dir).load_or_generate()?,
    })
}

/// Public URL used in `href`s: the OIDC `serverUrl` when configured, else the listener.
fn base_url(config: &Config) -> String {
    let configured = &config.authentication.oidc.server_url;
    if !configured.is_empty() && configured != "http://localhost:8585" {
        return configured.clone();
    }
    let host = match config.server.host.as_str() {
        "0.0.0.0" | "::" => "localhost",
        h => h,
    };
    format!("http://{host}:{}", config.server.port)
}

pub fn create_data_dir(config: &Config) -> Result<(), StartupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| keys::KeyError::Write { path: config.data_dir.display().to_string(), source })?;
    Ok(())
}

/// Loads (or, on a first start, generates) the signing keys on a blocking thread: generating an
/// RSA key takes 0.1–0.5 s, which then overlaps opening the store.
pub fn spawn_load_keys(config: &Config) -> tokio::task::JoinHandle<Result<KeySet, StartupError>> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || load_keys(&config))
}

pub async fn join_keys(loading: tokio::task::JoinHandle<Result<KeySet, StartupError>>) -> Result<KeySet, StartupError> {
    loading.await.map_err(|_| StartupError::Keys(keys::KeyError::Generate))?
}

/// Opens everything from the configuration alone (the CLI's admin commands, benchmarks).
pub async fn build_state(config: Config) -> Result<AppState, StartupError> {
    create_data_dir(&config)?;
    let loading = spawn_load_keys(&config);
    let store = open_store(&config).await?;
    assemble_state(config, store, join_keys(loading).await?).await
}

/// Wires the services together and bootstraps admins and system bots.
pub async fn assemble_state(config: Config, store: Store, keys: KeySet) -> Result<AppState, StartupError> {
    let config = Arc::new(config);
    let keys = Arc::new(keys);
    let secrets = SecretBox::open(&config.fernet_key, &config.data_dir)?;
    let auth = Arc::new(AuthService::new(config.clone(), store.clone(), keys.clone(), secrets));
    if let Some(jwks) = auth.verifier().remote_jwks() {
        jwks.prefetch();
    }
    let connection_secrets = ConnectionSecrets(auth.clone());
    // Callers and governance are reused this long; changes clear them at once on this replica
    // and, through PostgreSQL notifications, on the others.
    let access_ttl = std::time::Duration::from_secs(config.authorizer.access_cache_secs);
    let catalog = Catalog::new(store.clone(), &base_url(&config)).with_secret_cipher(Arc::new(connection_secrets)).with_access_cache_ttl(access_ttl).with_profile_retention(std::time::Duration::from_secs(config.profile_retention_days * 86_400));
    let callers = Arc::new(crate::access::CallerCache::new(10_000, access_ttl));
    let sessions = Arc::new(crate::session::SessionManager::new(config.clone(), store.clone(), auth.clone(), catalog.clone()));
    let sign_in_limiter = Arc::new(crate::ratelimit::SignInLimiter::new(config.authentication.sign_in_starts_per_minute));
    let state = AppState { config, store, catalog, auth, keys, started_at_ms: ferrometa_store::now_ms(), callers, sessions, sign_in_limiter };
    bootstrap(&state).await?;
    Ok(state)
}

/// Service connection secrets are stored encrypted with the install's secret key, the same
/// `SecretBox` that seals bot tokens and session tokens.
struct ConnectionSecrets(Arc<AuthService>);

impl SecretCipher for ConnectionSecrets {
    fn seal(&self, plaintext: &str) -> Result<String, String> {
        self.0.secrets().seal(plaintext).map_err(|e| e.to_string())
    }

    fn open(&self, sealed: &str) -> Result<String, String> {
        self.0.secrets().open_sealed(sealed).map_err(|e| e.to_string())
    }
}

fn deleted_admin_setting(name: &str) -> String {
    format!("deleted-admin:{name}")
}

/// A deleted admin principal is not re-created at the next start, and no sign-in claims it.
pub async fn remember_deleted_admin(state: &AppState, name: &str) -> Result<(), ferrometa_store::StoreError> {
    if state.config.authorizer.admin_principals.iter().any(|a| a.name == name) {
        state.store.put_setting(&deleted_admin_setting(name), "true").await?;
    }
    Ok(())
}

/// Whether this admin principal was deleted on purpose.
pub async fn was_deleted_admin(state: &AppState, name: &str) -> Result<bool, ferrometa_store::StoreError> {
    Ok(state.store.get_setting(&deleted_admin_setting(name)).await?.is_some())
}

async fn bootstrap(state: &AppState) -> Result<(), StartupError> {
    // Before anything reads a user's roles: they come from the relationships from now on.
    state.catalog.backfill_relations().await?;
    // Before anything reads a service: its secrets are sealed where the schemas say.
    state.catalog.reseal_connection_secrets().await?;
    state.catalog.ensure_organization().await?;
    state.catalog.seed_access().await?;
    state.catalog.seed_classifications().await?;
    for admin in &state.config.authorizer.admin_principals {
        bootstrap_admin(state, admin).await?;
    }
    for bot in ferrometa_catalog::users::SYSTEM_BOTS {
        bootstrap_bot(state, bot).await?;
    }
    state.catalog.seed_test_connection_definitions().await?;
    state.catalog.seed_test_definitions(&state.config.server.om_version).await?;
    warn_about_passwords(state).await
}

async fn bootstrap_admin(state: &AppState, admin: &AdminPrincipal) -> Result<(), StartupError> {
    if was_deleted_admin(state, &admin.name).await? {
        tracing::info!(admin = %admin.name, "admin principal was deleted on purpose; not re-creating it");
        return Ok(());
    }
    let user = match state.catalog.user_by_name(&admin.name).await? {
        Some(u) if u["isAdmin"] == json!(true) => u,
        Some(u) if u["isBot"] == json!(true) => {
            tracing::error!(admin = %admin.name, "a bot user cannot be made an admin");
            return Ok(());
        }
        Some(u) => state.catalog.set_user_fields(&u, json!({"isAdmin": true}), Origin::SYSTEM).await?,
        None => {
            let email = format!("{}@{}", admin.name, state.config.authorizer.principal_domain);
            let req = CreateUser { name: admin.name.clone(), email, is_admin: Some(true), email_verified: true, ..Default::default() };
            created_or_existing_user(state, state.catalog.create_user(&req, Origin::SYSTEM).await, &admin.name).await?
        }
    };
    let id = user["id"].as_str().unwrap_or_default();
    if state.config.authentication.provider != Provider::Basic {
        return Ok(());
    }
    if state.store.password_hash(id).await?.is_some() {
        return Ok(());
    }
    let password = match (&admin.password, admin.name.as_str()) {
        (Some(p), _) => p.clone(),
        (None, DEFAULT_ADMIN) => initial_admin_password(state)?,
        (None, _) => {
            tracing::warn!(admin = %admin.name, "admin principal has no password; set one with `ferrometa admin reset-password`");
            return Ok(());
        }
    };
    state.auth.set_password(id, &password, None).await?;
    Ok(())
}

/// `FERROMETA_ADMIN_PASSWORD`, or a random one written to a 0600 file. The password itself never
/// goes to the log; it is shown on the terminal only when stderr is one.
fn initial_admin_password(state: &AppState) -> Result<String, StartupError> {
    if let Some(p) = std::env::var("FERROMETA_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty()) {
        tracing::info!("default admin password taken from FERROMETA_ADMIN_PASSWORD");
        return Ok(p);
    }
    let password = random_password();
    let path = state.config.data_dir.join("initial-admin-password");
    keys::write_private(&path, format!("{password}\n").as_bytes())?;
    let email = format!("{DEFAULT_ADMIN}@{}", state.config.authorizer.principal_domain);
    tracing::warn!(user = %email, file = %path.display(), "created the default admin with a random password, written to the file (mode 0600)");
    if std::io::stderr().is_terminal() {
        eprintln!("\n  Default admin: {email}\n  Password:      {password}\n  (also in {})\n", path.display());
    }
    Ok(password)
}

async fn bootstrap_bot(state: &AppState, name: &str) -> Result<(), StartupError> {
    let user = match state.catalog.user_by_name(name).await? {
        Some(u) => u,
        None => {
            let role = state.catalog.get_by_name(&ferrometa_catalog::kinds::ROLE, "IngestionBotRole", Include::All).await?;
            let req = CreateUser {
                name: name.into(),
                email: format!("{name}@{}", state.config.authorizer.principal_domain),
                display_name: Some("IngestionBot".into()),
                is_bot: Some(true),
                roles: Some(vec![role["id"].as_str().unwrap_or_default().to_string()]),
                ..Default::default()
            };
            created_or_existing_user(state, state.catalog.create_user(&req, Origin::SYSTEM).await, name).await?
        }
    };
    if state.catalog.get_by_name(&BOT, name, Include::All).await.is_err() {
        let req = CreateBot {
            name: name.into(),
            bot_user: name.into(),
            display_name: Some("IngestionBot".into()),
            description: Some("Bot used for ingesting metadata.".into()),
            provider: Some("system".into()),
        };
        match state.catalog.create_bot(&req, Origin::SYSTEM).await {
            Ok(_) | Err(CatalogError::AlreadyExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let id = user["id"].as_str().unwrap_or_default();
    if state.store.bot_token(id).await?.is_none() {
        state.auth.generate_bot_token(&account_of(&user), TokenExpiry::Unlimited, Some(&Origin::SYSTEM.event("token.bot.generate", name).detail("expiry Unlimited"))).await?;
        tracing::info!(bot = name, "generated a token for the system bot");
    }
    Ok(())
}

/// Replicas starting together race to bootstrap: losing the race means the user exists.
async fn created_or_existing_user(state: &AppState, created: Result<serde_json::Value, CatalogError>, name: &str) -> Result<serde_json::Value, StartupError> {
    match created {
        Ok(u) => Ok(u),
        Err(CatalogError::AlreadyExists) => Ok(state.catalog.user_by_name(name).await?.ok_or(CatalogError::AlreadyExists)?),
        Err(e) => Err(e.into()),
    }
}

/// With SSO, passwords are useless and dangerous: name every user that still holds one.
async fn warn_about_passwords(state: &AppState) -> Result<(), StartupError> {
    if !state.config.authentication.provider.is_sso() {
        return Ok(());
    }
    for id in state.store.users_with_passwords().await? {
        let name = match state.catalog.get(&USER, &id, Include::All).await {
            Ok(u) => u["name"].as_str().unwrap_or_default().to_string(),
            Err(_) => id.clone(),
        };
        tracing::warn!(user = %name, "user still holds a password although password login is off with SSO; delete the default admin (OpenMetadata's guide) or run `ferrometa admin remove-password {name}`");
    }
    Ok(())
}
