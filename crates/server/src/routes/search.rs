//! `/api/v1/search/query` and `/api/v1/search/fieldQuery` (see `ops::search`).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::access::Caller;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::ops::search::{self, FieldQueryParams, SearchParams};
use crate::state::AppState;

pub async fn query(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(p): Query<SearchParams>) -> ApiResult<Json<Value>> {
    Ok(Json(search::query(&s, &caller, p).await?))
}

pub async fn field_query(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(p): Query<FieldQueryParams>) -> ApiResult<Json<Value>> {
    Ok(Json(search::field_query(&s, &caller, p).await?))
}
