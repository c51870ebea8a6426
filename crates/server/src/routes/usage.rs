//! The usage workflow's endpoints: daily usage of an entity (`/api/v1/usage/{entity}/{id}`:
//! `POST` sets a day's count, `PUT` adds to it, `GET` reads), the percentile ranks of a day
//! (`/usage/compute.percentile/{entity}/{date}`), a table's joins (`PUT /tables/{id}/joins`)
//! and what a query is linked to (`PUT /queries/{id}/usage`, `/users`, `/usedBy`), over the
//! catalog's use cases.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrometa_catalog::Key;
use ferrometa_catalog::usage::{TableJoins, UsageRequest};
use serde::Deserialize;
use serde_json::Value;

use crate::access::Caller;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::routes::data::shown_to;
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct UsageParams {
    pub date: Option<String>,
    pub days: Option<u32>,
}

pub async fn set_usage(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity, id)): Path<(String, String)>, Body(usage): Body<UsageRequest>) -> ApiResult<(StatusCode, Json<Value>)> {
    let entity = s.catalog.record_usage(caller.actor()?, &entity, &id, usage, false).await?;
    Ok((StatusCode::CREATED, Json(shown_to(&caller, entity))))
}

pub async fn add_usage(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity, id)): Path<(String, String)>, Body(usage): Body<UsageRequest>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.record_usage(caller.actor()?, &entity, &id, usage, true).await?)))
}

pub async fn usage(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity, id)): Path<(String, String)>, Query(q): Query<UsageParams>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.usage(caller.actor()?, &entity, Key::Id(&id), q.date.as_deref(), q.days).await?))
}

pub async fn compute_percentile(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity, date)): Path<(String, String)>) -> ApiResult<StatusCode> {
    s.catalog.compute_percentile(caller.actor()?, &entity, &date).await?;
    Ok(StatusCode::CREATED)
}

pub async fn put_joins(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(joins): Body<TableJoins>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_joins(caller.actor()?, &id, joins).await?)))
}

pub async fn query_usage(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(used_in): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.add_query_usage(caller.actor()?, &id, used_in).await?))
}

pub async fn query_users(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(names): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.add_query_users(caller.actor()?, &id, names).await?))
}

pub async fn query_used_by(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(names): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.add_query_used_by(caller.actor()?, &id, names).await?))
}
