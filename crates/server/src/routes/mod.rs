//! Route handlers, one module per resource, and the one table that declares every endpoint:
//! method, path, required access and handler. The router and the access check are both built
//! from it, so no endpoint can exist without an access rule.

pub mod bots;
pub mod common;
pub mod data;
pub mod search;
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
        endpoint!(GET, "/api/v1/services/databaseServices", Authenticated, data::list::<data::DatabaseServices>),
        endpoint!(POST, "/api/v1/services/databaseServices", Write, data::create::<data::DatabaseServices>),
        endpoint!(PUT, "/api/v1/services/databaseServices", Write, data::put::<data::DatabaseServices>),
        endpoint!(GET, "/api/v1/services/databaseServices/{id}", Authenticated, data::get::<data::DatabaseServices>),
        endpoint!(PATCH, "/api/v1/services/databaseServices/{id}", Write, data::patch::<data::DatabaseServices>),
        endpoint!(DELETE, "/api/v1/services/databaseServices/{id}", Write, data::delete::<data::DatabaseServices>),
        endpoint!(GET, "/api/v1/services/databaseServices/name/{fqn}", Authenticated, data::get_by_name::<data::DatabaseServices>),
        endpoint!(DELETE, "/api/v1/services/databaseServices/name/{fqn}", Write, data::delete_by_name::<data::DatabaseServices>),
        endpoint!(PUT, "/api/v1/services/databaseServices/restore", Write, data::restore::<data::DatabaseServices>),
        endpoint!(GET, "/api/v1/services/databaseServices/{id}/versions", Authenticated, data::versions::<data::DatabaseServices>),
        endpoint!(GET, "/api/v1/services/databaseServices/{id}/versions/{version}", Authenticated, data::version::<data::DatabaseServices>),
        endpoint!(GET, "/api/v1/databases", Authenticated, data::list::<data::Databases>),
        endpoint!(POST, "/api/v1/databases", Write, data::create::<data::Databases>),
        endpoint!(PUT, "/api/v1/databases", Write, data::put::<data::Databases>),
        endpoint!(GET, "/api/v1/databases/{id}", Authenticated, data::get::<data::Databases>),
        endpoint!(PATCH, "/api/v1/databases/{id}", Write, data::patch::<data::Databases>),
        endpoint!(DELETE, "/api/v1/databases/{id}", Write, data::delete::<data::Databases>),
        endpoint!(GET, "/api/v1/databases/name/{fqn}", Authenticated, data::get_by_name::<data::Databases>),
        endpoint!(DELETE, "/api/v1/databases/name/{fqn}", Write, data::delete_by_name::<data::Databases>),
        endpoint!(PUT, "/api/v1/databases/restore", Write, data::restore::<data::Databases>),
        endpoint!(GET, "/api/v1/databases/{id}/versions", Authenticated, data::versions::<data::Databases>),
        endpoint!(GET, "/api/v1/databases/{id}/versions/{version}", Authenticated, data::version::<data::Databases>),
        endpoint!(GET, "/api/v1/databaseSchemas", Authenticated, data::list::<data::DatabaseSchemas>),
        endpoint!(POST, "/api/v1/databaseSchemas", Write, data::create::<data::DatabaseSchemas>),
        endpoint!(PUT, "/api/v1/databaseSchemas", Write, data::put::<data::DatabaseSchemas>),
        endpoint!(GET, "/api/v1/databaseSchemas/{id}", Authenticated, data::get::<data::DatabaseSchemas>),
        endpoint!(PATCH, "/api/v1/databaseSchemas/{id}", Write, data::patch::<data::DatabaseSchemas>),
        endpoint!(DELETE, "/api/v1/databaseSchemas/{id}", Write, data::delete::<data::DatabaseSchemas>),
        endpoint!(GET, "/api/v1/databaseSchemas/name/{fqn}", Authenticated, data::get_by_name::<data::DatabaseSchemas>),
        endpoint!(DELETE, "/api/v1/databaseSchemas/name/{fqn}", Write, data::delete_by_name::<data::DatabaseSchemas>),
        endpoint!(PUT, "/api/v1/databaseSchemas/restore", Write, data::restore::<data::DatabaseSchemas>),
        endpoint!(GET, "/api/v1/databaseSchemas/{id}/versions", Authenticated, data::versions::<data::DatabaseSchemas>),
        endpoint!(GET, "/api/v1/databaseSchemas/{id}/versions/{version}", Authenticated, data::version::<data::DatabaseSchemas>),
        endpoint!(GET, "/api/v1/tables", Authenticated, data::list::<data::Tables>),
        endpoint!(POST, "/api/v1/tables", Write, data::create::<data::Tables>),
        endpoint!(PUT, "/api/v1/tables", Write, data::put::<data::Tables>),
        endpoint!(GET, "/api/v1/tables/{id}", Authenticated, data::get::<data::Tables>),
        endpoint!(PATCH, "/api/v1/tables/{id}", Write, data::patch::<data::Tables>),
        endpoint!(DELETE, "/api/v1/tables/{id}", Write, data::delete::<data::Tables>),
        endpoint!(GET, "/api/v1/tables/name/{fqn}", Authenticated, data::get_by_name::<data::Tables>),
        endpoint!(DELETE, "/api/v1/tables/name/{fqn}", Write, data::delete_by_name::<data::Tables>),
        endpoint!(PUT, "/api/v1/tables/restore", Write, data::restore::<data::Tables>),
        endpoint!(GET, "/api/v1/tables/{id}/versions", Authenticated, data::versions::<data::Tables>),
        endpoint!(GET, "/api/v1/tables/{id}/versions/{version}", Authenticated, data::version::<data::Tables>),
        endpoint!(GET, "/api/v1/storedProcedures", Authenticated, data::list::<data::StoredProcedures>),
        endpoint!(POST, "/api/v1/storedProcedures", Write, data::create::<data::StoredProcedures>),
        endpoint!(PUT, "/api/v1/storedProcedures", Write, data::put::<data::StoredProcedures>),
        endpoint!(GET, "/api/v1/storedProcedures/{id}", Authenticated, data::get::<data::StoredProcedures>),
        endpoint!(PATCH, "/api/v1/storedProcedures/{id}", Write, data::patch::<data::StoredProcedures>),
        endpoint!(DELETE, "/api/v1/storedProcedures/{id}", Write, data::delete::<data::StoredProcedures>),
        endpoint!(GET, "/api/v1/storedProcedures/name/{fqn}", Authenticated, data::get_by_name::<data::StoredProcedures>),
        endpoint!(DELETE, "/api/v1/storedProcedures/name/{fqn}", Write, data::delete_by_name::<data::StoredProcedures>),
        endpoint!(PUT, "/api/v1/storedProcedures/restore", Write, data::restore::<data::StoredProcedures>),
        endpoint!(GET, "/api/v1/storedProcedures/{id}/versions", Authenticated, data::versions::<data::StoredProcedures>),
        endpoint!(GET, "/api/v1/storedProcedures/{id}/versions/{version}", Authenticated, data::version::<data::StoredProcedures>),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions", Authenticated, data::list_test_connections),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/{id}", Authenticated, data::test_connection),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/name/{name}", Authenticated, data::test_connection_by_name),
        endpoint!(GET, "/api/v1/search/query", Authenticated, search::query),
        endpoint!(GET, "/api/v1/search/fieldQuery", Authenticated, search::field_query),
    ]
}
