//! Route handlers, one module per resource, and the one table that declares every endpoint:
//! method, path, required access and handler. The router and the access check are both built
//! from it, so no endpoint can exist without an access rule.

pub mod bots;
pub mod common;
pub mod system;
pub mod users;

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::access::Access::{self, *};
use crate::state::AppState;

pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub router: MethodRouter<AppState>,
}

macro_rules! endpoint {
    ($method:ident, $path:literal, $access:expr, $handler:expr) => {
        Endpoint { method: Method::$method, path: $path, access: $access, router: on(MethodFilter::$method, $handler) }
    };
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(GET, "/api/v1/system/version", Public, system::version),
        endpoint!(GET, "/api/v1/system/config/auth", Public, system::auth_config),
        endpoint!(GET, "/api/v1/system/config/authorizer", Public, system::authorizer_config),
        endpoint!(GET, "/api/v1/system/config/jwks", Public, system::jwks),
        endpoint!(GET, "/api/v1/system/config/customUiThemePreference", Public, system::ui_theme),
        endpoint!(GET, "/api/v1/system/config/loginConfig", Authenticated, system::login_config),
        endpoint!(POST, "/api/v1/users/login", Public, users::login),
        endpoint!(POST, "/api/v1/users/refresh", Public, users::refresh),
        endpoint!(POST, "/api/v1/users/signup", Public, users::signup),
        endpoint!(POST, "/api/v1/users/logout", Authenticated, users::logout),
        endpoint!(PUT, "/api/v1/users/changePassword", Authenticated, users::change_password),
        endpoint!(GET, "/api/v1/users/loggedInUser", Authenticated, users::logged_in_user),
        endpoint!(GET, "/api/v1/users/loggedInUser/groupTeams", Authenticated, users::group_teams),
        endpoint!(GET, "/api/v1/users", Authenticated, users::list),
        endpoint!(POST, "/api/v1/users", Authenticated, users::create),
        endpoint!(PUT, "/api/v1/users", Admin, users::put),
        endpoint!(GET, "/api/v1/users/{id}", Authenticated, users::get),
        endpoint!(PATCH, "/api/v1/users/{id}", Authenticated, users::patch),
        endpoint!(DELETE, "/api/v1/users/{id}", Admin, users::delete),
        endpoint!(GET, "/api/v1/users/name/{name}", Authenticated, users::get_by_name),
        endpoint!(PUT, "/api/v1/users/restore", Admin, users::restore),
        endpoint!(GET, "/api/v1/users/{id}/versions", Authenticated, users::versions),
        endpoint!(GET, "/api/v1/users/{id}/versions/{version}", Authenticated, users::version),
        endpoint!(PUT, "/api/v1/users/generateToken/{id}", Admin, users::generate_token),
        endpoint!(PUT, "/api/v1/users/revokeToken", Admin, users::revoke_token),
        endpoint!(GET, "/api/v1/users/token/{id}", Admin, users::get_token),
        endpoint!(GET, "/api/v1/users/auth-mechanism/{id}", Admin, users::auth_mechanism),
        endpoint!(GET, "/api/v1/users/security/token", Authenticated, users::list_pats),
        endpoint!(PUT, "/api/v1/users/security/token", Authenticated, users::create_pat),
        endpoint!(PUT, "/api/v1/users/security/token/revoke", Authenticated, users::revoke_pats),
        endpoint!(GET, "/api/v1/bots", Authenticated, bots::list),
        endpoint!(POST, "/api/v1/bots", Admin, bots::create),
        endpoint!(PUT, "/api/v1/bots", Admin, bots::put),
        endpoint!(GET, "/api/v1/bots/{id}", Authenticated, bots::get),
        endpoint!(PATCH, "/api/v1/bots/{id}", Admin, bots::patch),
        endpoint!(DELETE, "/api/v1/bots/{id}", Admin, bots::delete),
        endpoint!(GET, "/api/v1/bots/name/{name}", Authenticated, bots::get_by_name),
        endpoint!(GET, "/api/v1/roles", Authenticated, bots::list_roles),
        endpoint!(GET, "/api/v1/roles/name/{name}", Authenticated, bots::role_by_name),
    ]
}
