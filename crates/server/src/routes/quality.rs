//! Data-quality endpoints beyond the generic ones of test definitions, suites and cases: a
//! table's basic suite (`/testSuites/basic`, and `/executable` as the 1.6 client names it) and
//! test case results (`PUT /testCases/{fqn}/testCaseResult` of the 1.6 client,
//! `POST /testCases/testCaseResults/{fqn}` of the 2.0 client, and their reads by time range).
//! The test case's `{id}` segment holds its FQN where OpenMetadata's routes take one (the
//! router keeps one parameter name per position).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use ferrometa_catalog::profiles::TimeRange;
use ferrometa_catalog::quality::TEST_SUITES;
use serde_json::{Map, Value};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::routes::data::{self, AssetDeleteParams};
use crate::routes::profiles::RangeParams;
use crate::state::AppState;

/// A basic suite's create request must name its table.
fn basic_request(request: &Value) -> ApiResult<()> {
    match ["basicEntityReference", "executableEntityReference"].iter().any(|f| request.get(*f).is_some_and(Value::is_string)) {
        true => Ok(()),
        false => Err(ApiError::bad_request("basicEntityReference must be the FQN of the table the suite tests")),
    }
}

pub async fn put_basic_suite(s: State<AppState>, caller: Extension<Caller>, Body(request): Body<Value>) -> ApiResult<impl IntoResponse> {
    basic_request(&request)?;
    data::put(&TEST_SUITES, s, caller, Body(request)).await
}

pub async fn create_basic_suite(s: State<AppState>, caller: Extension<Caller>, Body(request): Body<Value>) -> ApiResult<impl IntoResponse> {
    basic_request(&request)?;
    data::create(&TEST_SUITES, s, caller, Body(request)).await
}

pub async fn delete_basic_suite(s: State<AppState>, caller: Extension<Caller>, id: Path<String>, q: Query<AssetDeleteParams>) -> ApiResult<Json<Value>> {
    data::delete(&TEST_SUITES, s, caller, id, q).await
}

pub async fn put_result(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Body(result): Body<Map<String, Value>>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.put_test_case_result(caller.actor()?, &fqn, result).await?))
}

pub async fn results(State(s): State<AppState>, Extension(caller): Extension<Caller>, Path(fqn): Path<String>, Query(q): Query<RangeParams>) -> ApiResult<Json<Value>> {
    Ok(Json(s.catalog.test_case_results(caller.actor()?, &fqn, TimeRange::parse(q.start_ts, q.end_ts)?).await?))
}
