//! Route handlers, one module per resource, and the one table that declares every endpoint:
//! method, path, who may reach it (public, signed in, live user) and handler. The router and
//! the access check are both built from it, so no endpoint can exist without an access rule;
//! what a live user may do is decided by the catalog's use cases the handlers call.

pub mod audit;
pub mod bots;
pub mod common;
pub mod data;
pub mod lineage;
pub mod permissions;
pub mod profiles;
pub mod quality;
pub mod search;
pub mod system;
pub mod usage;
pub mod users;

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, delete, get, on, patch, post, put};

use ferrometa_catalog::data::AssetType;

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
        endpoint!(GET, "/api/v1/system/config/loginConfig", SignedIn, system::login_config),
        endpoint!(POST, "/api/v1/users/login", Public, users::login),
        endpoint!(POST, "/api/v1/users/refresh", Public, users::refresh),
        endpoint!(POST, "/api/v1/users/signup", Public, users::signup),
        endpoint!(POST, "/api/v1/users/logout", SignedIn, users::logout),
        endpoint!(PUT, "/api/v1/users/changePassword", User, users::change_password),
        endpoint!(GET, "/api/v1/users/loggedInUser", SignedIn, users::logged_in_user),
        endpoint!(GET, "/api/v1/users/loggedInUser/groupTeams", User, users::group_teams),
        endpoint!(GET, "/api/v1/users", User, users::list),
        endpoint!(POST, "/api/v1/users", SignedIn, users::create),
        endpoint!(PUT, "/api/v1/users", User, users::put),
        endpoint!(GET, "/api/v1/users/{id}", User, users::get),
        endpoint!(PATCH, "/api/v1/users/{id}", User, users::patch),
        endpoint!(DELETE, "/api/v1/users/{id}", User, users::delete),
        endpoint!(GET, "/api/v1/users/name/{name}", User, users::get_by_name),
        endpoint!(PUT, "/api/v1/users/restore", User, users::restore),
        endpoint!(GET, "/api/v1/users/{id}/versions", User, users::versions),
        endpoint!(GET, "/api/v1/users/{id}/versions/{version}", User, users::version),
        endpoint!(PUT, "/api/v1/users/generateToken/{id}", User, users::generate_token),
        endpoint!(PUT, "/api/v1/users/revokeToken", User, users::revoke_token),
        endpoint!(GET, "/api/v1/users/token/{id}", User, users::get_token),
        endpoint!(GET, "/api/v1/users/auth-mechanism/{id}", User, users::auth_mechanism),
        endpoint!(GET, "/api/v1/users/security/token", User, users::list_pats),
        endpoint!(PUT, "/api/v1/users/security/token", User, users::create_pat),
        endpoint!(PUT, "/api/v1/users/security/token/revoke", User, users::revoke_pats),
        endpoint!(GET, "/api/v1/bots", User, bots::list),
        endpoint!(POST, "/api/v1/bots", User, bots::create),
        endpoint!(PUT, "/api/v1/bots", User, bots::put),
        endpoint!(GET, "/api/v1/bots/{id}", User, bots::get),
        endpoint!(PATCH, "/api/v1/bots/{id}", User, bots::patch),
        endpoint!(DELETE, "/api/v1/bots/{id}", User, bots::delete),
        endpoint!(GET, "/api/v1/bots/name/{name}", User, bots::get_by_name),
        endpoint!(PUT, "/api/v1/bots/restore", User, bots::restore),
        endpoint!(GET, "/api/v1/bots/{id}/versions", User, bots::versions),
        endpoint!(GET, "/api/v1/bots/{id}/versions/{version}", User, bots::version),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions", User, data::list_test_connections),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/{id}", User, data::test_connection),
        endpoint!(GET, "/api/v1/services/testConnectionDefinitions/name/{name}", User, data::test_connection_by_name),
        endpoint!(PUT, "/api/v1/pipelines/{id}/status", User, data::pipeline_status),
        endpoint!(GET, "/api/v1/search/query", User, search::query),
        endpoint!(GET, "/api/v1/search/fieldQuery", User, search::field_query),
        endpoint!(GET, "/api/v1/permissions", User, permissions::all),
        endpoint!(GET, "/api/v1/permissions/policies", User, permissions::of_policies),
        endpoint!(GET, "/api/v1/permissions/{resource}", User, permissions::of_resource),
        endpoint!(GET, "/api/v1/permissions/{resource}/{id}", User, permissions::of_entity),
        endpoint!(GET, "/api/v1/permissions/{resource}/name/{fqn}", User, permissions::of_entity_by_name),
        endpoint!(GET, "/api/v1/policies/resources", User, permissions::resources),
        endpoint!(GET, "/api/v1/policies/functions", User, permissions::functions),
        endpoint!(GET, "/api/v1/policies/validation/condition/{expression}", User, permissions::validate_condition),
        endpoint!(GET, "/api/v1/system/settings/{name}", User, profiles::setting),
        endpoint!(PUT, "/api/v1/system/settings", User, profiles::put_setting),
        endpoint!(PUT, "/api/v1/tables/{id}/tableProfile", User, profiles::put_table_profile),
        endpoint!(GET, "/api/v1/tables/{id}/tableProfile/latest", User, profiles::latest_table_profile),
        endpoint!(GET, "/api/v1/tables/{id}/tableProfile", User, profiles::table_profiles),
        endpoint!(GET, "/api/v1/tables/{id}/columnProfile", User, profiles::column_profiles),
        endpoint!(GET, "/api/v1/tables/{id}/systemProfile", User, profiles::system_profiles),
        endpoint!(DELETE, "/api/v1/tables/{id}/{kind}/{timestamp}/profile", User, profiles::delete_profile),
        endpoint!(PUT, "/api/v1/tables/{id}/sampleData", User, profiles::put_sample_data),
        endpoint!(GET, "/api/v1/tables/{id}/sampleData", User, profiles::sample_data),
        endpoint!(DELETE, "/api/v1/tables/{id}/sampleData", User, profiles::delete_sample_data),
        endpoint!(PUT, "/api/v1/tables/{id}/dataModel", User, profiles::put_data_model),
        endpoint!(PUT, "/api/v1/tables/{id}/tableProfilerConfig", User, profiles::put_profiler_config),
        endpoint!(GET, "/api/v1/tables/{id}/tableProfilerConfig", User, profiles::profiler_config),
        endpoint!(DELETE, "/api/v1/tables/{id}/tableProfilerConfig", User, profiles::delete_profiler_config),
        endpoint!(PUT, "/api/v1/lineage", User, lineage::add),
        endpoint!(GET, "/api/v1/lineage/getLineageEdge/{from_id}/{to_id}", User, lineage::edge),
        endpoint!(GET, "/api/v1/lineage/{from_type}/{from_id}", User, lineage::of_entity),
        endpoint!(GET, "/api/v1/lineage/{from_type}/name/{from_fqn}", User, lineage::of_entity_by_name),
        endpoint!(PATCH, "/api/v1/lineage/{from_type}/{from_id}/{to_type}/{to_id}", User, lineage::patch),
        endpoint!(DELETE, "/api/v1/lineage/{from_type}/{from_id}/{to_type}/{to_id}", User, lineage::delete),
        endpoint!(DELETE, "/api/v1/lineage/{from_type}/name/{from_fqn}/{to_type}/name/{to_fqn}", User, lineage::delete_by_name),
        endpoint!(DELETE, "/api/v1/lineage/{from_type}/{from_id}/type/{source}", User, lineage::delete_of_source),
        endpoint!(PUT, "/api/v1/dataQuality/testSuites/basic", User, quality::put_basic_suite),
        endpoint!(POST, "/api/v1/dataQuality/testSuites/basic", User, quality::create_basic_suite),
        endpoint!(DELETE, "/api/v1/dataQuality/testSuites/basic/{id}", User, quality::delete_basic_suite),
        endpoint!(PUT, "/api/v1/dataQuality/testSuites/executable", User, quality::put_basic_suite),
        endpoint!(POST, "/api/v1/dataQuality/testSuites/executable", User, quality::create_basic_suite),
        endpoint!(DELETE, "/api/v1/dataQuality/testSuites/executable/{id}", User, quality::delete_basic_suite),
        endpoint!(PUT, "/api/v1/dataQuality/testCases/{id}/testCaseResult", User, quality::put_result),
        endpoint!(GET, "/api/v1/dataQuality/testCases/{id}/testCaseResult", User, quality::results),
        endpoint!(POST, "/api/v1/dataQuality/testCases/testCaseResults/{fqn}", User, quality::put_result),
        endpoint!(GET, "/api/v1/dataQuality/testCases/testCaseResults/{fqn}", User, quality::results),
        endpoint!(POST, "/api/v1/usage/{entity}/{id}", User, usage::set_usage),
        endpoint!(PUT, "/api/v1/usage/{entity}/{id}", User, usage::add_usage),
        endpoint!(GET, "/api/v1/usage/{entity}/{id}", User, usage::usage),
        endpoint!(POST, "/api/v1/usage/compute.percentile/{entity}/{id}", User, usage::compute_percentile),
        endpoint!(PUT, "/api/v1/tables/{id}/joins", User, usage::put_joins),
        endpoint!(PUT, "/api/v1/queries/{id}/usage", User, usage::query_usage),
        endpoint!(PUT, "/api/v1/queries/{id}/users", User, usage::query_users),
        endpoint!(PUT, "/api/v1/queries/{id}/usedBy", User, usage::query_used_by),
        endpoint!(PUT, "/api/v1/domains/{id}/assets/add", User, data::add_domain_assets),
        endpoint!(PUT, "/api/v1/domains/{id}/assets/remove", User, data::remove_domain_assets),
        endpoint!(PUT, "/api/v1/dataProducts/{id}/assets/add", User, data::add_data_product_assets),
        endpoint!(PUT, "/api/v1/dataProducts/{id}/assets/remove", User, data::remove_data_product_assets),
        // Admins only: the use case requires it (a refusal is itself audited).
        endpoint!(GET, "/api/v1/audit/events", User, audit::events),
    ];
    for t in ferrometa_catalog::data::ENTITY_TYPES {
        endpoints.extend(entity_endpoints(t));
    }
    endpoints
}

/// The endpoints of one entity type of the registry (`data::ENTITY_TYPES`), served by the
/// generic handlers of [`data`] under `/api/v1/<collection>`: each for live users, what they
/// may do decided by the catalog's use cases.
pub fn entity_endpoints(t: &'static AssetType) -> Vec<Endpoint> {
    let collection = t.kind.collection;
    let endpoint = |method: Method, suffix: &str, router: MethodRouter<AppState>| Endpoint {
        method,
        path: route(format!("/api/v1/{collection}{suffix}")),
        access: User,
        router,
    };
    let mut endpoints = vec![
        endpoint(Method::GET, "", get(move |s, c, q| data::list(t, s, c, q))),
        endpoint(Method::POST, "", post(move |s, c, b| data::create(t, s, c, b))),
        endpoint(Method::PUT, "", put(move |s, c, b| data::put(t, s, c, b))),
        endpoint(Method::PUT, "/bulk", put(move |s, c, q, b| data::bulk(t, s, c, q, b))),
        endpoint(Method::GET, "/{id}", get(move |s, c, p, q| data::get(t, s, c, p, q))),
        endpoint(Method::PATCH, "/{id}", patch(move |s, c, p, b| data::patch(t, s, c, p, b))),
        endpoint(Method::DELETE, "/{id}", delete(move |s, c, p, q| data::delete(t, s, c, p, q))),
        endpoint(Method::GET, "/name/{fqn}", get(move |s, c, p, q| data::get_by_name(t, s, c, p, q))),
        endpoint(Method::DELETE, "/name/{fqn}", delete(move |s, c, p, q| data::delete_by_name(t, s, c, p, q))),
        endpoint(Method::PUT, "/restore", put(move |s, c, b| data::restore(t, s, c, b))),
        endpoint(Method::GET, "/{id}/versions", get(move |s, c, p| data::versions(t, s, c, p))),
        endpoint(Method::GET, "/{id}/versions/{version}", get(move |s, c, p| data::version(t, s, c, p))),
    ];
    if t.has_field("followers") {
        endpoints.push(endpoint(Method::PUT, "/{id}/followers", put(move |s, c, p, b| data::add_follower(t, s, c, p, b))));
        endpoints.push(endpoint(Method::DELETE, "/{id}/followers/{user_id}", delete(move |s, c, p| data::remove_follower(t, s, c, p))));
    }
    if t.has_field("votes") {
        endpoints.push(endpoint(Method::PUT, "/{id}/vote", put(move |s, c, p, b| data::vote(t, s, c, p, b))));
    }
    endpoints
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
