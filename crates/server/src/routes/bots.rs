//! `/api/v1/bots`.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferrometa_catalog::kinds::BOT;
use ferrometa_catalog::users::{BOT_FIELDS, CreateBot};
use serde_json::Value;

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::routes::common::{DeleteParams, Fields, GetParams, ListParams, RestoreRequest, include, list_of, with_fields};
use crate::state::AppState;

const FIELDS: Fields = (BOT_FIELDS, &[]);

pub async fn list(State(s): State<AppState>, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    list_of(&s, &BOT, FIELDS, q).await
}

pub async fn get(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let bot = s.catalog.get(&BOT, &id, include(q.include.as_deref())?).await?;
    Ok(Json(with_fields(FIELDS, q.fields.as_deref(), bot)?))
}

pub async fn get_by_name(State(s): State<AppState>, Path(name): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    let bot = s.catalog.get_by_name(&BOT, &ferrometa_catalog::fqn::quote(&name), include(q.include.as_deref())?).await?;
    Ok(Json(with_fields(FIELDS, q.fields.as_deref(), bot)?))
}

pub async fn create(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateBot>) -> ApiResult<impl IntoResponse> {
    let bot = s.catalog.create_bot(&req, &caller.name).await?;
    s.store.audit(&caller.name, "bot.create", &req.name, "").await?;
    Ok((StatusCode::CREATED, Json(bot)))
}

/// Create-or-update by name; only description and display name change on an existing bot.
pub async fn put(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateBot>) -> ApiResult<impl IntoResponse> {
    match s.catalog.get_by_name(&BOT, &ferrometa_catalog::fqn::quote(&req.name), ferrometa_store::Include::NonDeleted).await {
        Ok(existing) => {
            let fields = serde_json::json!({"description": req.description, "displayName": req.display_name});
            let mut new = existing.as_object().cloned().unwrap_or_default();
            for (k, v) in fields.as_object().cloned().unwrap_or_default().into_iter().filter(|(_, v)| !v.is_null()) {
                new.insert(k, v);
            }
            Ok((StatusCode::OK, Json(s.catalog.update(&BOT, &existing, new, None, &caller.name).await?)))
        }
        Err(ferrometa_catalog::CatalogError::NotFound(_)) => Ok((StatusCode::CREATED, Json(s.catalog.create_bot(&req, &caller.name).await?))),
        Err(e) => Err(e.into()),
    }
}

pub async fn patch(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(patch): Body<json_patch::Patch>) -> ApiResult<Json<Value>> {
    let touches_user = patch.0.iter().any(|op| serde_json::to_value(op).ok().and_then(|v| v["path"].as_str().map(|p| p.starts_with("/botUser") || p.starts_with("/provider"))).unwrap_or(false));
    if touches_user {
        return Err(ApiError::bad_request("botUser and provider of a bot cannot be changed"));
    }
    Ok(Json(s.catalog.patch(&BOT, &id, &patch, &caller.name).await?))
}

pub async fn delete(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<DeleteParams>) -> ApiResult<Json<Value>> {
    let bot = s.catalog.get(&BOT, &id, ferrometa_store::Include::All).await?;
    let name = bot["name"].as_str().unwrap_or_default();
    if bot["provider"] == "system" {
        return Err(ApiError::bad_request(format!("System bot {name} cannot be deleted.")));
    }
    let deleted = s.catalog.delete(&BOT, &id, q.hard_delete.unwrap_or(false), &caller.name).await?;
    s.store.audit(&caller.name, "bot.delete", name, "").await?;
    Ok(Json(deleted))
}

/// Restores a soft-deleted bot (OpenMetadata's `PUT /bots/restore`); its bot user is restored
/// separately through `/users/restore`, as it was deleted separately.
pub async fn restore(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RestoreRequest>) -> ApiResult<Json<Value>> {
    let bot = s.catalog.restore(&BOT, &req.id, &caller.name).await?;
    s.store.audit(&caller.name, "bot.restore", bot["name"].as_str().unwrap_or_default(), "").await?;
    Ok(Json(bot))
}

pub async fn versions(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.versions(&BOT, &id).await?))
}

pub async fn version(State(s): State<AppState>, Path((id, v)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.version(&BOT, &id, &v).await?))
}
