//! Command line: `serve`, `check-config`, `keys`, `bots`, `admin`, `config-reference`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ferrometa_auth::keys::{self, KeyDir};
use ferrometa_auth::verify::is_own_jwks_url;
use ferrometa_config::{Config, LogFormat, Loaded};
use ferrometa_server::startup;

#[derive(Parser)]
#[command(name = "ferrometa", version, about = "OpenMetadata-compatible metadata catalog with Cognito SSO, basic auth and RS256 bot tokens")]
pub struct Cli {
    /// openmetadata.yaml-style configuration file (environment variables override it).
    #[arg(long, global = true, env = "FERROMETA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API and UI on SERVER_PORT, /healthcheck and /metrics on SERVER_ADMIN_PORT).
    Serve,
    /// Validate the configuration, reach every JWKS URL and the provider's discovery document.
    CheckConfig,
    /// Manage ferrometa's own signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Bot tokens for scripts.
    #[command(subcommand)]
    Bots(BotsCommand),
    /// Administration of users and passwords.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the configuration reference (every key, env var and default) as Markdown.
    ConfigReference,
    /// Ask this host's running server for `/healthcheck` on SERVER_ADMIN_PORT; exit 0 when healthy
    /// (the container image's HEALTHCHECK: the image carries no curl).
    Healthcheck,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new key pair as DER and PEM (like the guide's openssl commands).
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a new current key in the data dir; the old one keeps verifying until retired.
    Rotate,
    /// Stop trusting previous keys (all, or one by kid).
    Retire {
        #[arg(long)]
        kid: Option<String>,
    },
}

#[derive(Subcommand)]
enum BotsCommand {
    /// Print a bot's current token (e.g. for `securityConfig.jwtToken`).
    Token { name: String },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set a user's password: read from stdin when piped, else a random one is printed.
    ResetPassword { name: String },
    /// Remove a user's password (e.g. the default admin after switching to SSO).
    RemovePassword { name: String },
}

fn load(cli: &Cli) -> Result<Loaded, ExitCode> {
    ferrometa_config::load_from_env(cli.config.as_deref()).map_err(|e| {
        eprint!("{e}");
        ExitCode::from(2)
    })
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        let level = config.server.log_level.to_lowercase();
        tracing_subscriber::EnvFilter::new(format!("{level},sqlx=warn,hyper=warn,tower_http=info"))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.server.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(cli: Cli) -> ExitCode {
    if let Command::ConfigReference = cli.command {
        print!("{}", ferrometa_config::keys::reference_markdown());
        return ExitCode::SUCCESS;
    }
    let loaded = match load(&cli) {
        Ok(l) => l,
        Err(code) => return code,
    };
    init_logging(&loaded.config);
    let result = match cli.command {
        Command::Serve => serve(loaded).await,
        Command::CheckConfig => check_config(loaded).await,
        Command::Keys(k) => keys_command(&loaded.config, k),
        Command::Bots(BotsCommand::Token { name }) => bot_token(loaded.config, &name).await,
        Command::Admin(a) => admin(loaded.config, a).await,
        Command::ConfigReference => Ok(()),
        Command::Healthcheck => healthcheck(&loaded.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(loaded: Loaded) -> Result<(), String> {
    for line in loaded.raw.redacted_dump().lines() {
        tracing::debug!(target: "ferrometa::config", "{line}");
    }
    tracing::info!(effective = %loaded.raw.redacted_dump().lines().filter(|l| !l.ends_with("(default)")).collect::<Vec<_>>().join("; "), "configuration (non-default values, secrets redacted)");
    // Installed before the listeners accept: a stop during start-up (a rolling restart, systemd)
    // is kept and honoured as a graceful stop once the server is up.
    let signals = StopSignals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let server = ferrometa_server::start(loaded.config).await.map_err(|e| e.to_string())?;
    let stop = server.stopper();
    tokio::spawn(async move {
        signals.received().await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        let _ = stop.send(true);
    });
    server.wait().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT and SIGTERM, registered with the OS when created (not when first awaited).
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    async fn received(mut self) {
        tokio::select! { _ = self.interrupt.recv() => {}, _ = self.terminate.recv() => {} }
    }
}

/// Prints the effective configuration and checks what the server will need to reach.
async fn check_config(loaded: Loaded) -> Result<(), String> {
    println!("Configuration is valid. Effective values (secrets redacted):\n");
    print!("{}", loaded.raw.redacted_dump());
    let a = &loaded.config.authentication;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| e.to_string())?;
    let mut problems = vec![];
    let mut targets: Vec<(String, &str)> = a.public_key_urls.iter().filter(|u| !is_own_jwks_url(u)).map(|u| (u.clone(), "JWKS")).collect();
    if a.provider.is_sso() {
        let discovery = if a.oidc.discovery_uri.is_empty() { format!("{}/.well-known/openid-configuration", a.authority.trim_end_matches('/')) } else { a.oidc.discovery_uri.clone() };
        targets.push((discovery, "discovery document"));
    }
    println!();
    for url in a.public_key_urls.iter().filter(|u| is_own_jwks_url(u)) {
        println!("ok    {url}: ferrometa's own JWKS, served in-process (never fetched)");
    }
    for (url, what) in targets {
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => println!("ok    {url}: {what} reachable"),
            Ok(r) => problems.push(format!("{url}: {what} answered HTTP {}", r.status())),
            Err(e) => problems.push(format!("{url}: {what} unreachable ({e})")),
        }
    }
    if let ferrometa_config::DatabaseUrl::Postgres(_) = &loaded.config.database {
        match replica_keys(&loaded.config).await {
            Ok(line) => println!("{line}"),
            Err(problem) => problems.push(problem),
        }
    }
    for p in &problems {
        println!("FAIL  {p}");
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("{} problem(s) found", problems.len())) }
}

async fn healthcheck(config: &Config) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{}/healthcheck", config.server.admin_port);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().map_err(|e| e.to_string())?;
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("{url} answered HTTP {}", r.status())),
        Err(e) => Err(format!("{url} unreachable ({e})")),
    }
}

/// Replicas share the database: is this key pair the one the others sign with?
async fn replica_keys(config: &Config) -> Result<String, String> {
    use ferrometa_server::keycheck::{KeyAgreement, compare};
    if config.jwt.private_key_path.is_none() {
        return Ok("WARN  no configured key pair (RSA_*_KEY_FILE_PATH): each replica would sign with its own generated key; several replicas need one shared pair".into());
    }
    let keys = startup::load_keys(config).map_err(|e| e.to_string())?;
    let store = startup::open_store(config).await.map_err(|e| format!("database: {e}"))?;
    let agreement = compare(&store, &keys).await.map_err(|e| format!("database: {e}"))?;
    match (&agreement, agreement.message()) {
        (KeyAgreement::Conflicts { .. }, Some(message)) => Err(message),
        (_, Some(message)) => Ok(format!("WARN  {message}")),
        (_, None) => Ok(format!("ok    signing key {} (public key SHA-256 {}) agrees with the other replicas", keys.kid, keys.fingerprint())),
    }
}

fn keys_command(config: &Config, command: KeysCommand) -> Result<(), String> {
    let configured = config.jwt.private_key_path.is_some();
    match command {
        KeysCommand::Generate { out } => {
            for path in keys::generate_files(&out).map_err(|e| e.to_string())? {
                println!("wrote {}", path.display());
            }
            println!("Set RSA_PRIVATE_KEY_FILE_PATH and RSA_PUBLIC_KEY_FILE_PATH to the .der files, and JWT_KEY_ID to a new stable id.");
        }
        KeysCommand::Rotate | KeysCommand::Retire { .. } if configured => {
            return Err("the key pair is configured (RSA_*_KEY_FILE_PATH): rotate it by generating new files and changing JWT_KEY_ID; rotate/retire manage generated keys".into());
        }
        KeysCommand::Rotate => {
            let kid = KeyDir::new(&config.data_dir).rotate().map_err(|e| e.to_string())?;
            println!("new current key {kid}; the previous key keeps verifying until `ferrometa keys retire`. Restart the server to use it.");
        }
        KeysCommand::Retire { kid } => {
            let removed = KeyDir::new(&config.data_dir).retire(kid.as_deref()).map_err(|e| e.to_string())?;
            println!("retired {} key(s): {}. Restart the server to stop trusting them.", removed.len(), removed.join(", "));
        }
    }
    Ok(())
}

async fn bot_token(config: Config, name: &str) -> Result<(), String> {
    let state = startup::build_state(config).await.map_err(|e| e.to_string())?;
    let user = state.catalog.user_by_name(name).await.map_err(|e| e.to_string())?.ok_or(format!("no user named {name}"))?;
    if user["isBot"] != serde_json::Value::Bool(true) {
        return Err(format!("{name} is not a bot"));
    }
    let token = state.auth.bot_token(user["id"].as_str().unwrap_or_default()).await.map_err(|e| e.to_string())?;
    match token {
        Some(t) => {
            println!("{}", t.jwt_token);
            Ok(())
        }
        None => Err(format!("{name} has no token; generate one as an admin (PUT /api/v1/users/generateToken/{{id}})")),
    }
}

/// The author of the command line's changes in the audit trail (an operator on the host).
const CLI: ferrometa_store::Origin<'static> = ferrometa_store::Origin { actor: "cli", client: None };

async fn admin(config: Config, command: AdminCommand) -> Result<(), String> {
    let state = startup::build_state(config).await.map_err(|e| e.to_string())?;
    let name = match &command {
        AdminCommand::ResetPassword { name } | AdminCommand::RemovePassword { name } => name.clone(),
    };
    let user = state.catalog.user_by_name(&name).await.map_err(|e| e.to_string())?.ok_or(format!("no user named {name}"))?;
    let id = user["id"].as_str().unwrap_or_default().to_string();
    match command {
        AdminCommand::ResetPassword { .. } => {
            let password = if std::io::stdin().is_terminal() {
                let p = ferrometa_auth::password::random_password();
                println!("{p}");
                p
            } else {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
                line.trim_end_matches(['\r', '\n']).to_string()
            };
            ferrometa_auth::password::check_policy(&password).map_err(|e| e.to_string())?;
            state.auth.set_password(&id, &password, Some(&CLI.event("password.reset", &name))).await.map_err(|e| e.to_string())?;
            state.store.delete_refresh_tokens_of(&id).await.map_err(|e| e.to_string())?;
            eprintln!("password of {name} updated");
        }
        AdminCommand::RemovePassword { .. } => {
            state.store.delete_password_hash(&id, Some(&CLI.event("password.remove", &name))).await.map_err(|e| e.to_string())?;
            state.store.delete_refresh_tokens_of(&id).await.map_err(|e| e.to_string())?;
            eprintln!("password of {name} removed");
        }
    }
    Ok(())
}
