//! `/api/v1/bots`.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferrometa_catalog::Key;
use ferrometa_catalog::fqn::quote;
use ferrometa_catalog::kinds::BOT;
use ferrometa_catalog::users::{BOT_FIELDS, CreateBot};
use serde_json::Value;

use crate::access::Caller;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::routes::common::{DeleteParams, Fields, GetParams, ListParams, RestoreRequest, list_of, read_one};
use crate::state::AppState;

const FIELDS: Fields = (BOT_FIELDS, &[]);

pub async fn list(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(q): Query<ListParams>) -> ApiResult<Json<Value>> {
    list_of(&s, &caller, &BOT, FIELDS, None, q).await
}

pub async fn get(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_one(&s, &caller, &BOT, FIELDS, Key::Id(&id), q).await
}

pub async fn get_by_name(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>, Query(q): Query<GetParams>) -> ApiResult<Json<Value>> {
    read_one(&s, &caller, &BOT, FIELDS, Key::Fqn(&quote(&name)), q).await
}

pub async fn create(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateBot>) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(s.catalog.create_bot_as(caller.actor()?, &req).await?)))
}

/// Create-or-update by name; only description and display name change on an existing bot.
pub async fn put(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<CreateBot>) -> ApiResult<impl IntoResponse> {
    let (bot, created) = s.catalog.put_bot(caller.actor()?, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(bot)))
}

pub async fn patch(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(patch): Body<json_patch::Patch>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.patch_bot(caller.actor()?, &id, &patch).await?))
}

pub async fn delete(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Query(q): Query<DeleteParams>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.delete_bot_as(caller.actor()?, &id, q.hard_delete.unwrap_or(false)).await?))
}

/// Restores a soft-deleted bot (OpenMetadata's `PUT /bots/restore`); its bot user is restored
/// separately through `/users/restore`, as it was deleted separately.
pub async fn restore(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(req): Body<RestoreRequest>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.restore_bot_as(caller.actor()?, &req.id).await?))
}

pub async fn versions(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.read_versions(caller.actor()?, &BOT, &id).await?))
}

pub async fn version(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((id, v)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.read_version(caller.actor()?, &BOT, &id, &v).await?))
}
