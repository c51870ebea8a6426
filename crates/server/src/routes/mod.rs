//! Route handlers, one module per resource, and the one table that declares every endpoint:
//! method, path, required access and handler. The router and the access check are both built
//! from it, so no endpoint can exist without an access rule.

pub mod bots;
pub mod common;
pub mod data;
pub mod search;
pub mod system;
pub mod users;

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, delete, get, on, patch, post, put};

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
    let mut endpoints = vec![
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
        endpoint!(PUT, "/api/v1/bots/restore", Admin, bots::restore),
        endpoint!(GET, "/api/v1/bots/{id}/versions", Authenticated, bots::versions),
        endpoint!(GET, "/api/v1/bots/{id}/versions/{version}", Authenticated, bots::version),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions", Authenticated, data::list_test_connections),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/{id}", Authenticated, data::test_connection),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/name/{name}", Authenticated, data::test_connection_by_name),
        endpoint!(GET, "/api/v1/search/query", Authenticated, search::query),
        endpoint!(GET, "/api/v1/search/fieldQuery", Authenticated, search::field_query),
    ];
    for entity_type in [
        entity_endpoints::<data::DatabaseServices>(Write),
        entity_endpoints::<data::Databases>(Write),
        entity_endpoints::<data::DatabaseSchemas>(Write),
        entity_endpoints::<data::Tables>(Write),
        entity_endpoints::<data::StoredProcedures>(Write),
        entity_endpoints::<data::Teams>(Admin),
        entity_endpoints::<data::Roles>(Admin),
        entity_endpoints::<data::Policies>(Admin),
        // The ingestion bot creates the classifications and tags it finds at the source.
        entity_endpoints::<data::Classifications>(Write),
        entity_endpoints::<data::Tags>(Write),
    ] {
        endpoints.extend(entity_type);
    }
    endpoints
}

/// The endpoints of one entity type served by the generic handlers of [`data`] under
/// `/api/v1/<collection>`: reads for any authenticated caller, writes with `write` access.
pub fn entity_endpoints<T: data::Asset>(write: Access) -> Vec<Endpoint> {
    let collection = T::asset().kind.collection;
    let endpoint = |method: Method, suffix: &str, access: Access, router: MethodRouter<AppState>| Endpoint {
        method,
        path: route(format!("/api/v1/{collection}{suffix}")),
        access,
        router,
    };
    vec![
        endpoint(Method::GET, "", Authenticated, get(data::list::<T>)),
        endpoint(Method::POST, "", write, post(data::create::<T>)),
        endpoint(Method::PUT, "", write, put(data::put::<T>)),
        endpoint(Method::GET, "/{id}", Authenticated, get(data::get::<T>)),
        endpoint(Method::PATCH, "/{id}", write, patch(data::patch::<T>)),
        endpoint(Method::DELETE, "/{id}", write, delete(data::delete::<T>)),
        endpoint(Method::GET, "/name/{fqn}", Authenticated, get(data::get_by_name::<T>)),
        endpoint(Method::DELETE, "/name/{fqn}", write, delete(data::delete_by_name::<T>)),
        endpoint(Method::PUT, "/restore", write, put(data::restore::<T>)),
        endpoint(Method::GET, "/{id}/versions", Authenticated, get(data::versions::<T>)),
        endpoint(Method::GET, "/{id}/versions/{version}", Authenticated, get(data::version::<T>)),
    ]
}

/// Route patterns are `&'static str` (the router and the access table keep them); a pattern
/// built at run time is allocated once per process however often the table is built.
fn route(pattern: String) -> &'static str {
    static ROUTES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut routes = ROUTES.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = routes.get(pattern.as_str()) {
        return known;
    }
    let interned: &'static str = Box::leak(pattern.into_boxed_str());
    routes.insert(interned);
    interned
}
