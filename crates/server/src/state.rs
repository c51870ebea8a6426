//! Shared application state.

use std::sync::Arc;

use ferrometa_auth::AuthService;
use ferrometa_auth::keys::KeySet;
use ferrometa_catalog::Catalog;
use ferrometa_config::Config;
use ferrometa_store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub catalog: Catalog,
    pub auth: Arc<AuthService>,
    pub keys: Arc<KeySet>,
    pub started_at_ms: i64,
    /// Callers resolved from identity-provider tokens, by token (see `access::authenticated_caller`).
    pub callers: Arc<crate::access::CallerCache>,
    /// Browser sessions and the provider sign-in (see `session`).
    pub sessions: Arc<crate::session::SessionManager>,
    /// Provider sign-in starts per client address (see `ratelimit`).
    pub sign_in_limiter: Arc<crate::ratelimit::SignInLimiter>,
}

impl AppState {
    pub fn started_at_ms(&self) -> i64 {
        self.started_at_ms
    }

}
