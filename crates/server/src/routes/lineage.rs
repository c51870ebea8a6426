//! `/api/v1/lineage`: OpenMetadata's lineage API over the catalog's lineage use cases (which
//! check `EditLineage` / `ViewBasic` on the entities of each edge). Path parameters keep one
//! name per position across these routes, as the router requires.

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferrometa_catalog::Key;
use ferrometa_catalog::lineage::{AddLineage, Depth, Source};
use serde::Deserialize;
use serde_json::Value;

use crate::access::Caller;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DepthParams {
    pub upstream_depth: Option<i64>,
    pub downstream_depth: Option<i64>,
}

impl DepthParams {
    fn depths(&self) -> ApiResult<(Depth, Depth)> {
        Ok((Depth::parse("upstreamDepth", self.upstream_depth)?, Depth::parse("downstreamDepth", self.downstream_depth)?))
    }
}

pub async fn add(State(s): State<AppState>, Extension(caller): Extension<Caller>, Body(request): Body<AddLineage>) -> ApiResult<StatusCode> {
    s.catalog.add_lineage(caller.actor()?, request).await?;
    Ok(StatusCode::OK)
}

pub async fn of_entity(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity_type, id)): Path<(String, String)>, Query(q): Query<DepthParams>) -> ApiResult<Json<Value>> {
    let (up, down) = q.depths()?;
    Ok(Json(s.catalog.lineage(caller.actor()?, &entity_type, Key::Id(&id), up, down).await?))
}

pub async fn of_entity_by_name(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity_type, fqn)): Path<(String, String)>, Query(q): Query<DepthParams>) -> ApiResult<Json<Value>> {
    let (up, down) = q.depths()?;
    Ok(Json(s.catalog.lineage(caller.actor()?, &entity_type, Key::Fqn(&fqn), up, down).await?))
}

pub async fn edge(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((from_id, to_id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.lineage_edge(caller.actor()?, &from_id, &to_id).await?))
}

pub async fn patch(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
    Body(patch): Body<json_patch::Patch>,
) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.patch_lineage(caller.actor()?, (&from_type, &from_id), (&to_type, &to_id), &patch).await?))
}

pub async fn delete(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>) -> ApiResult<StatusCode> {
    s.catalog.delete_lineage(caller.actor()?, (&from_type, Key::Id(&from_id)), (&to_type, Key::Id(&to_id))).await?;
    Ok(StatusCode::OK)
}

pub async fn delete_by_name(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((from_type, from_fqn, to_type, to_fqn)): Path<(String, String, String, String)>,
) -> ApiResult<StatusCode> {
    s.catalog.delete_lineage(caller.actor()?, (&from_type, Key::Fqn(&from_fqn)), (&to_type, Key::Fqn(&to_fqn))).await?;
    Ok(StatusCode::OK)
}

pub async fn delete_of_source(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path((entity_type, id, source)): Path<(String, String, String)>) -> ApiResult<StatusCode> {
    s.catalog.delete_lineage_of_source(caller.actor()?, &entity_type, &id, Source::parse(&source)?).await?;
    Ok(StatusCode::OK)
}
