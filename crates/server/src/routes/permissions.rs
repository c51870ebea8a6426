//! OpenMetadata's permissions API (`/api/v1/permissions...`) and the policy helpers
//! (`/api/v1/policies/resources`, `/functions`, `/validation/condition/{expression}`): what a
//! caller (or, for admins, any user) may do, computed by the same rules that decide requests.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrometa_catalog::kinds::{POLICY, USER};
use ferrometa_catalog::policy::{self, EntityFacts, FUNCTIONS, Permission, Resource};
use ferrometa_catalog::{Key, Subject};
use ferrometa_store::Include;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct ForUser {
    /// Another user's permissions (admins only).
    user: Option<String>,
}

/// The subject whose permissions are asked: the caller, or for an admin `?user=`.
async fn subject_for(s: &AppState, caller: &Caller, user: Option<&str>) -> ApiResult<Subject> {
    let me = caller.subject()?;
    match user.filter(|u| !u.eq_ignore_ascii_case(me.name())) {
        None => Ok(me.clone()),
        Some(other) => {
            s.catalog.require_admin(caller.actor()?, "permission").await?;
            let user = s.catalog.user_by_name(other).await?.ok_or_else(|| ApiError::not_found(format!("user instance for {other} not found")))?;
            Ok(s.catalog.subject(&user)?)
        }
    }
}

fn resource_named(name: &str) -> ApiResult<Resource> {
    policy::resource(name).ok_or_else(|| ApiError::bad_request(format!("Unknown resource {}", name.chars().take(80).collect::<String>())))
}

fn answer(resource: &Resource, permissions: Vec<Permission>) -> Value {
    json!({"resource": resource.name, "permissions": permissions.iter().map(Permission::to_json).collect::<Vec<_>>()})
}

/// `GET /permissions`: every resource (`all` included), at type level.
pub async fn all(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<ForUser>) -> ApiResult<Json<Value>> {
    let subject = subject_for(&s, &caller, q.user.as_deref()).await?;
    let mut data = vec![];
    for resource in policy::resources() {
        let permissions = s.catalog.permissions(&subject, &resource, None).await?;
        data.push(answer(&resource, permissions));
    }
    Ok(Json(json!({"data": data})))
}

/// `GET /permissions/{resource}`: one resource at type level; 400 for an unknown one.
pub async fn of_resource(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(resource): Path<String>, Query(q): Query<ForUser>) -> ApiResult<Json<Value>> {
    let subject = subject_for(&s, &caller, q.user.as_deref()).await?;
    let resource = resource_named(&resource)?;
    let permissions = s.catalog.permissions(&subject, &resource, None).await?;
    Ok(Json(answer(&resource, permissions)))
}

/// The facts of the entity a permission question names; none when it does not exist (then
/// evaluated as without an entity, as OpenMetadata does).
async fn entity_facts(s: &AppState, resource: &Resource, key: Key<'_>) -> ApiResult<Option<EntityFacts>> {
    let Some(kind) = ferrometa_catalog::kinds::kind_named(resource.name) else { return Ok(None) };
    let found = match key {
        Key::Id(id) => s.catalog.get(kind, id, Include::All).await,
        Key::Fqn(fqn) => s.catalog.get_by_name(kind, fqn, Include::All).await,
    };
    match found {
        Ok(entity) => Ok(Some(s.catalog.facts(kind, &entity))),
        Err(ferrometa_catalog::CatalogError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn of_entity_key(s: &AppState, caller: &Caller, resource: &str, key: Key<'_>, user: Option<&str>) -> ApiResult<Json<Value>> {
    let subject = subject_for(s, caller, user).await?;
    let resource = resource_named(resource)?;
    let facts = entity_facts(s, &resource, key).await?.unwrap_or_default();
    let permissions = s.catalog.permissions(&subject, &resource, Some(facts)).await?;
    Ok(Json(answer(&resource, permissions)))
}

/// `GET /permissions/{resource}/{id}`: on one entity.
pub async fn of_entity(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((resource, id)): Path<(String, String)>, Query(q): Query<ForUser>) -> ApiResult<Json<Value>> {
    of_entity_key(&s, &caller, &resource, Key::Id(&id), q.user.as_deref()).await
}

/// `GET /permissions/{resource}/name/{fqn}`: on one entity.
pub async fn of_entity_by_name(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((resource, fqn)): Path<(String, String)>, Query(q): Query<ForUser>) -> ApiResult<Json<Value>> {
    let fqn = if resource.eq_ignore_ascii_case(USER.name) { fqn.to_lowercase() } else { fqn };
    of_entity_key(&s, &caller, &resource, Key::Fqn(&fqn), q.user.as_deref()).await
}

/// `GET /permissions/policies?ids=..`: the type-level permissions those policies alone give
/// (`ViewAll` on each policy needed).
pub async fn of_policies(State(s): State<AppState>, Extension(caller): Extension<Caller>, PolicyIds(ids): PolicyIds) -> ApiResult<Json<Value>> {
    let subject = caller.subject()?;
    let mut policies = vec![];
    for id in &ids {
        let entity = s.catalog.read(caller.actor()?, &POLICY, Key::Id(id), Include::NonDeleted, Some("*")).await?;
        policies.extend(policy::Policy::compile(&entity));
    }
    let mut data = vec![];
    for resource in policy::resources() {
        data.push(answer(&resource, s.catalog.permissions_of_policies(subject, &policies, &resource)));
    }
    Ok(Json(json!({"data": data})))
}

/// `GET /policies/resources`: every resource and its operations.
pub async fn resources() -> Json<Value> {
    let data: Vec<Value> = policy::resources().iter().map(|r| json!({"name": r.name, "operations": r.operations.iter().map(|o| o.as_str()).collect::<Vec<_>>()})).collect();
    Json(json!({"data": data}))
}

/// `GET /policies/functions`: the condition functions.
pub async fn functions() -> Json<Value> {
    let data: Vec<Value> = FUNCTIONS.iter().map(|f| json!({"name": f.name, "input": f.input, "description": f.description, "examples": f.examples})).collect();
    Json(json!({"data": data}))
}

/// `GET /policies/validation/condition/{expression}`: 204 when valid, 400 with the reason.
pub async fn validate_condition(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(expression): Path<String>) -> ApiResult<StatusCode> {
    s.catalog.validate_condition(caller.actor()?, &expression).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The repeated `ids=` query parameter (`ids=a&ids=b`), which axum's `Query` cannot read into
/// a list.
pub struct PolicyIds(Vec<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PolicyIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let ids = url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).filter(|(k, _)| k == "ids").map(|(_, v)| v.into_owned()).collect();
        Ok(PolicyIds(ids))
    }
}
