//! Entity endpoints, one generic set of handlers per type: the data assets
//! (`/api/v1/services/databaseServices`, `/api/v1/databases`, `/api/v1/databaseSchemas`,
//! `/api/v1/tables`, `/api/v1/storedProcedures`) and the governance entities (`/api/v1/teams`,
//! `/api/v1/roles`, `/api/v1/policies`, `/api/v1/classifications`, `/api/v1/tags`): create,
//! create-or-update, get by id and name with `fields=`, lists with container filters, JSON
//! Patch, soft/hard/recursive delete, restore, versions. Also the read-only test-connection
//! definitions. Service connections show secrets to bots only (the ingestion bot needs them).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferrometa_catalog::data::{self, AssetType};
use ferrometa_catalog::follows::VoteRequest;
use ferrometa_catalog::quality::EntityLink;
use ferrometa_catalog::secrets;
use ferrometa_catalog::{Key, Listing};
use ferrometa_catalog::EntityKind;
use ferrometa_catalog::domains::AssetsRequest;
use ferrometa_catalog::kinds::{DATA_PRODUCT, DOMAIN, TEST_CONNECTION_DEFINITION};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::routes::common::{Fields, GetParams, ListParams, RestoreRequest, decode_cursor, include, limit, list_of, page_body, read_one};
use crate::state::AppState;

/// Secrets of service connections are for bots (and an unauthenticated development server).
pub fn shown_to(caller: &Caller, mut entity: Value) -> Value {
    if !caller.is_bot() && caller.principal.is_some() {
        secrets::mask_secrets(&mut entity);
    }
    entity
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AssetListParams {
    pub limit: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub include: Option<String>,
    pub fields: Option<String>,
    pub service: Option<String>,
    pub database: Option<String>,
    pub database_schema: Option<String>,
    pub classification: Option<String>,
    /// A tag's parent tag.
    pub parent: Option<String>,
    /// Test cases of a test suite (a basic suite's: those of its table).
    pub test_suite_id: Option<String>,
    /// Test cases of what an entity link names (a table, or a column: its table's).
    pub entity_link: Option<String>,
}

impl AssetListParams {
    /// The container filter this type supports, innermost first (OpenMetadata accepts any
    /// enclosing FQN, e.g. a schema's FQN as `database=`).
    fn container(&self, t: &AssetType) -> Option<String> {
        t.filters.iter().find_map(|(f, _)| match *f {
            "databaseSchema" => self.database_schema.clone(),
            "database" => self.database.clone(),
            "service" => self.service.clone(),
            "classification" => self.classification.clone(),
            "parent" => self.parent.clone(),
            _ => None,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AssetDeleteParams {
    pub hard_delete: Option<bool>,
    pub recursive: Option<bool>,
}

fn status(created: bool) -> StatusCode {
    if created { StatusCode::CREATED } else { StatusCode::OK }
}

pub async fn list(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<AssetListParams>) -> ApiResult<Json<Value>> {
    let after = decode_cursor(q.after.as_deref())?;
    let before = decode_cursor(q.before.as_deref())?;
    let container = match (t.kind.name, &q.test_suite_id, &q.entity_link) {
        ("testCase", Some(suite), _) => Some(s.catalog.suite_table_fqn(suite).await?),
        ("testCase", None, Some(link)) => Some(EntityLink::parse(link)?.table_fqn),
        _ => q.container(t),
    };
    let selection = t.selected_fields(q.fields.as_deref())?;
    let listing = Listing { under: container.as_deref(), include: include(q.include.as_deref())?, limit: limit(q.limit)?, after: after.as_deref(), before: before.as_deref() };
    let mut page = s.catalog.list_assets(caller.actor()?, t, &listing, q.fields.as_deref()).await?;
    page.data = page.data.into_iter().map(|e| shown_to(&caller, selection.apply(e))).collect();
    Ok(Json(page_body(page)))
}

async fn read_asset(t: &'static AssetType, s: &AppState, caller: &Caller, key: Key<'_>, q: GetParams) -> ApiResult<Json<Value>> {
    let selection = t.selected_fields(q.fields.as_deref())?;
    let entity = s.catalog.read(caller.actor()?, t.kind, key, include(q.include.as_deref())?, q.fields.as_deref()).await?;
    Ok(Json(shown_to(caller, selection.apply(entity))))
}

pub async fn get(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_asset(t, &s, &caller, Key::Id(&id), q).await
}

pub async fn get_by_name(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_asset(t, &s, &caller, Key::Fqn(&fqn), q).await
}

pub async fn create(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<Value>) -> ApiResult<impl IntoResponse> {
    let entity = s.catalog.create_asset(caller.actor()?, t, req).await?;
    Ok((StatusCode::CREATED, Json(shown_to(&caller, entity))))
}

pub async fn put(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<Value>) -> ApiResult<impl IntoResponse> {
    let (entity, created) = s.catalog.put_asset(caller.actor()?, t, req).await?;
    Ok((status(created), Json(shown_to(&caller, entity))))
}

pub async fn patch(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(patch): Body<json_patch::Patch>) -> ApiResult<Json<Value>> {
    let entity = s.catalog.patch_asset(caller.actor()?, t, &id, &patch).await?;
    Ok(Json(shown_to(&caller, entity)))
}

pub async fn delete(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<AssetDeleteParams>) -> ApiResult<Json<Value>> {
    let entity = s.catalog.delete_asset(caller.actor()?, t, &id, q.hard_delete.unwrap_or(false), q.recursive.unwrap_or(false)).await?;
    Ok(Json(shown_to(&caller, entity)))
}

pub async fn delete_by_name(
    t: &'static AssetType,
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(fqn): Path<String>,
    Query(q): Query<AssetDeleteParams>,
) -> ApiResult<Json<Value>> {
    let entity = s.catalog.read(caller.actor()?, t.kind, Key::Fqn(&fqn), ferrometa_store::Include::All, None).await?;
    let id = entity["id"].as_str().unwrap_or_default().to_string();
    delete(t, State(s), Extension(caller), Path(id), Query(q)).await
}

pub async fn restore(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RestoreRequest>) -> ApiResult<Json<Value>> {
    let entity = s.catalog.restore_asset(caller.actor()?, t, &req.id).await?;
    Ok(Json(shown_to(&caller, entity)))
}

pub async fn versions(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let mut history = s.catalog.read_versions(caller.actor()?, t.kind, &id).await?;
    if let Some(versions) = history["versions"].as_array_mut() {
        for v in versions.iter_mut() {
            // Each version is a JSON string, as in OpenMetadata's EntityHistory.
            if let Some(text) = v.as_str()
                && let Ok(entity) = serde_json::from_str::<Value>(text)
            {
                *v = json!(shown_to(&caller, entity).to_string());
            }
        }
    }
    Ok(Json(history))
}

pub async fn version(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((id, v)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.read_version(caller.actor()?, t.kind, &id, &v).await?)))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BulkParams {
    /// The 2.0 client sends `async=false`; ferrometa always answers when the batch is done.
    #[serde(rename = "async")]
    pub run_async: Option<bool>,
    pub override_metadata: Option<bool>,
}

/// `PUT /<collection>/bulk` (OpenMetadata 2.0, what its client ingests with): each create
/// request is a create-or-update of its own, in its own transaction and authorized as one
/// PUT; a failure is listed in the `BulkOperationResult` and does not stop the batch.
pub async fn bulk(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(_q): Query<BulkParams>, Body(requests): Body<Vec<Value>>) -> ApiResult<Json<Value>> {
    let actor = caller.actor()?;
    let (mut passed, mut failed) = (vec![], vec![]);
    for request in requests {
        match s.catalog.put_asset(actor, t, request.clone()).await {
            Ok((entity, created)) => passed.push(json!({"request": entity["fullyQualifiedName"], "message": "Success", "status": status(created).as_u16()})),
            Err(e) => {
                let e = ApiError::from(e);
                failed.push(json!({"request": request, "message": e.message, "status": e.status.as_u16()}));
            }
        }
    }
    Ok(Json(data::bulk_result(passed, failed)))
}

/// `PUT /api/v1/pipelines/{fqn}/status` (the path segment is named `id` like its neighbours').
pub async fn pipeline_status(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Body(status): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_pipeline_status(caller.actor()?, &fqn, status).await?)))
}

// --- test connection definitions (seeded at start-up, read-only) ---

const TEST_CONNECTION_FIELDS: Fields = (data::TEST_CONNECTION_DEFINITION_FIELDS, &[]);

pub async fn list_test_connections(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    list_of(&s, &caller, &TEST_CONNECTION_DEFINITION, TEST_CONNECTION_FIELDS, None, q).await
}

pub async fn test_connection(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_one(&s, &caller, &TEST_CONNECTION_DEFINITION, TEST_CONNECTION_FIELDS, Key::Id(&id), q).await
}

/// By `<ServiceType>.testConnectionDefinition` (what the client asks for) or by the bare name.
pub async fn test_connection_by_name(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let fqn = if name.to_lowercase().ends_with(".testconnectiondefinition") { name.clone() } else { format!("{}.testConnectionDefinition", ferrometa_catalog::fqn::quote(&name)) };
    read_one(&s, &caller, &TEST_CONNECTION_DEFINITION, TEST_CONNECTION_FIELDS, Key::Fqn(&fqn), q).await.map_err(|e| match e.status {
        StatusCode::NOT_FOUND => ApiError::not_found(format!("testConnectionDefinition instance for {name} not found")),
        _ => e,
    })
}

// --- followers and votes ---

pub async fn add_follower(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(user_id): Body<String>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.add_follower(caller.actor()?, t, &id, &user_id).await?)))
}

pub async fn remove_follower(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((id, user_id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.remove_follower(caller.actor()?, t, &id, &user_id).await?)))
}

pub async fn vote(t: &'static AssetType, State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(vote): Body<VoteRequest>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.vote(caller.actor()?, t, &id, vote.updated_vote_type).await?)))
}

// --- a domain's and a data product's assets (the `{id}` segment is its name) ---

async fn change_assets(s: &AppState, caller: &Caller, holder: &'static EntityKind, name: &str, request: AssetsRequest, add: bool) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.change_assets(caller.actor()?, holder, name, request, add).await?))
}

pub async fn add_domain_assets(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Body(request): Body<AssetsRequest>) -> ApiResult<Json<Value>> {
    change_assets(&s, &caller, &DOMAIN, &name, request, true).await
}

pub async fn remove_domain_assets(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Body(request): Body<AssetsRequest>) -> ApiResult<Json<Value>> {
    change_assets(&s, &caller, &DOMAIN, &name, request, false).await
}

pub async fn add_data_product_assets(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Body(request): Body<AssetsRequest>) -> ApiResult<Json<Value>> {
    change_assets(&s, &caller, &DATA_PRODUCT, &name, request, true).await
}

pub async fn remove_data_product_assets(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Body(request): Body<AssetsRequest>) -> ApiResult<Json<Value>> {
    change_assets(&s, &caller, &DATA_PRODUCT, &name, request, false).await
}
