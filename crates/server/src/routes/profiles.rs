//! The profiler workflow's endpoints: `/api/v1/system/settings`, a table's profiles
//! (`/tableProfile`, `/columnProfile`, `/systemProfile`), sample data and profiler
//! configuration, over the catalog's use cases (which check the data-profile and sample-data
//! operations on the table). The table's `{id}` segment holds an FQN where OpenMetadata's
//! routes take one (the router keeps one parameter name per position).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrometa_catalog::profiles::{CreateTableProfile, ProfileKind, Setting, TableData, TimeRange};
use serde::Deserialize;
use serde_json::Value;

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::routes::data::shown_to;
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RangeParams {
    pub start_ts: Option<i64>,
    pub end_ts: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LatestParams {
    pub include_column_profile: Option<bool>,
}

pub async fn setting(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.read_setting(caller.actor()?, &name).await?))
}

pub async fn put_setting(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(setting): Body<Setting>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.put_setting(caller.actor()?, setting).await?))
}

pub async fn put_table_profile(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(profile): Body<CreateTableProfile>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_table_profile(caller.actor()?, &id, profile).await?)))
}

pub async fn latest_table_profile(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<LatestParams>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.latest_table_profile(caller.actor()?, &fqn, q.include_column_profile.unwrap_or(true)).await?)))
}

async fn profiles(s: &AppState, caller: &Caller, kind: ProfileKind, fqn: &str, q: RangeParams) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.profiles(caller.actor()?, kind, fqn, TimeRange::parse(q.start_ts, q.end_ts)?).await?))
}

pub async fn table_profiles(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<RangeParams>) -> ApiResult<Json<Value>> {
    profiles(&s, &caller, ProfileKind::Table, &fqn, q).await
}

pub async fn column_profiles(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<RangeParams>) -> ApiResult<Json<Value>> {
    profiles(&s, &caller, ProfileKind::Column, &fqn, q).await
}

pub async fn system_profiles(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<RangeParams>) -> ApiResult<Json<Value>> {
    profiles(&s, &caller, ProfileKind::System, &fqn, q).await
}

pub async fn delete_profile(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((fqn, kind, ts)): Path<(String, String, i64)>) -> ApiResult<StatusCode> {
    let kind = match kind.as_str() {
        "table" => ProfileKind::Table,
        "column" => ProfileKind::Column,
        _ => return Err(ApiError::bad_request("entityType must be table or column")),
    };
    s.catalog.delete_profile(caller.actor()?, kind, &fqn, ts).await?;
    Ok(StatusCode::OK)
}

pub async fn put_sample_data(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(data): Body<TableData>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_sample_data(caller.actor()?, &id, data).await?)))
}

pub async fn sample_data(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.sample_data(caller.actor()?, &id).await?)))
}

pub async fn delete_sample_data(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.delete_sample_data(caller.actor()?, &id).await?)))
}

pub async fn put_data_model(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(model): Body<serde_json::Map<String, Value>>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_data_model(caller.actor()?, &id, model).await?)))
}

pub async fn put_profiler_config(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>, Body(config): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.put_profiler_config(caller.actor()?, &id, config).await?)))
}

pub async fn profiler_config(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.profiler_config(caller.actor()?, &id).await?)))
}

pub async fn delete_profiler_config(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(shown_to(&caller, s.catalog.delete_profiler_config(caller.actor()?, &id).await?)))
}
