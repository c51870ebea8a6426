//! ferrometa's HTTP layer: the API (and later the UI) on `SERVER_PORT`, `/healthcheck` and
//! `/metrics` on `SERVER_ADMIN_PORT`, graceful shutdown.

pub mod access;
pub mod error;
pub mod extract;
mod listener;
pub mod keycheck;
pub mod ops;
pub mod ratelimit;
pub mod routes;
pub mod session;
pub mod startup;
pub mod state;
mod telemetry;
pub mod ui;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use ferrometa_config::Config;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::ApiError;
pub use crate::startup::StartupError;
use crate::state::AppState;

pub fn api_router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, axum::routing::MethodRouter<AppState>)> = vec![];
    for e in routes::endpoints() {
        match by_path.iter_mut().find(|(p, _)| *p == e.path) {
            Some((_, r)) => *r = std::mem::take(r).merge(e.router),
            None => by_path.push((e.path, e.router)),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| router.route(path, methods))
        .route_layer(from_fn_with_state(state.clone(), access::enforce))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("No resource at {}", uri.path().chars().take(200).collect::<String>()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "HTTP method not allowed for this resource")
}

/// A running server: its bound addresses and a handle to stop it.
pub struct RunningServer {
    pub api_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Hears other replicas' access changes (PostgreSQL); stopped with the server.
    listener: Option<tokio::task::JoinHandle<()>>,
    /// Closed once the listeners are done, so nothing holds the database after a stop.
    store: ferrometa_store::Store,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits for both listeners.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.wait().await;
    }

    /// Resolves once a shutdown has been requested and both listeners have finished.
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        if let Some(listener) = self.listener {
            listener.abort();
        }
        self.store.close().await;
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

async fn bind(host: &str, port: u16) -> Result<TcpListener, StartupError> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr).await.map_err(|source| StartupError::Bind { addr, source })
}

/// Boots everything and starts both listeners (port 0 picks a free port, for tests).
pub async fn start(config: Config) -> Result<RunningServer, StartupError> {
    let metrics = telemetry::metrics_handle();
    let limits = listener::Limits::new(&config.server.limits, Duration::from_secs(config.server.shutdown_drain_secs), Duration::from_secs(config.server.shutdown_grace_secs));
    let max_body = config.server.limits.max_body_bytes;
    let api_listener = bind(&config.server.host, config.server.port).await?;
    let admin_listener = bind(&config.server.host, config.server.admin_port).await?;
    let api_addr = api_listener.local_addr().map_err(|source| StartupError::Bind { addr: "api".into(), source })?;
    let admin_addr = admin_listener.local_addr().map_err(|source| StartupError::Bind { addr: "admin".into(), source })?;
    startup::create_data_dir(&config)?;
    let loading_keys = startup::spawn_load_keys(&config);
    let store = startup::open_store(&config).await?;
    // /healthcheck answers as soon as the store is migrated. The API listener is bound but accepts
    // only after bootstrap (key generation on a first start), so early requests wait in the
    // listen backlog instead of being refused.
    let (stop, stopped) = watch::channel(false);
    let admin_task = serve(admin_listener, telemetry::admin_router(store.clone(), metrics, stopped.clone()), stopped.clone(), limits);
    tracing::info!(%api_addr, %admin_addr, "health check is up; finishing start-up");
    let state = match bootstrap(config, store, loading_keys).await {
        Ok(state) => state,
        Err(e) => {
            let _ = stop.send(true);
            let _ = admin_task.await;
            return Err(e);
        }
    };
    // The API under /api and the web UI (its own pages and security headers) on one port.
    let api = telemetry::layers(api_router(state.clone()).merge(ui::router(state.clone())), max_body);
    let heard = state.catalog.clone();
    let listener = state.store.listen_for_access_changes(move || heard.access_changed_elsewhere()).await?;
    let tasks = vec![serve(api_listener, api, stopped, limits), admin_task];
    tracing::info!(%api_addr, %admin_addr, provider = state.config.authentication.provider.as_str(), "ferrometa is serving");
    Ok(RunningServer { api_addr, admin_addr, stop, tasks, listener, store: state.store.clone() })
}

async fn bootstrap(config: Config, store: ferrometa_store::Store, loading_keys: tokio::task::JoinHandle<Result<ferrometa_auth::keys::KeySet, StartupError>>) -> Result<AppState, StartupError> {
    let keys = startup::join_keys(loading_keys).await?;
    keycheck::at_startup(&store, &keys).await?;
    let state = startup::assemble_state(config, store, keys).await?;
    if !state.config.authorizer.authenticate_requests {
        tracing::warn!("AUTHENTICATION IS OFF (NoopFilter + NoopAuthorizer): every request runs as an anonymous admin. Never use this outside local development.");
    }
    Ok(state)
}

fn serve(listener: TcpListener, app: Router, stopped: watch::Receiver<bool>, limits: listener::Limits) -> tokio::task::JoinHandle<()> {
    tokio::spawn(listener::run(listener, app, stopped, limits))
}
