//! Pieces shared by the entity routes: list parameters, `include`, paging bodies.

use axum::Json;
use ferrometa_catalog::data::select_fields;
use ferrometa_catalog::{EntityKind, Key, Listing, Page};
use ferrometa_store::Include;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct ListParams {
    /// Users only: bots (`true`) or people (`false`).
    #[serde(rename = "isBot")]
    pub is_bot: Option<bool>,
    pub limit: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub include: Option<String>,
    pub fields: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct GetParams {
    pub include: Option<String>,
    pub fields: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeleteParams {
    pub hard_delete: Option<bool>,
    #[allow(dead_code)]
    pub recursive: Option<bool>,
}

/// The body of every `PUT .../restore`.
#[derive(Deserialize)]
pub struct RestoreRequest {
    pub id: String,
}

pub fn include(raw: Option<&str>) -> ApiResult<Include> {
    match raw.unwrap_or("non-deleted") {
        "non-deleted" => Ok(Include::NonDeleted),
        "deleted" => Ok(Include::Deleted),
        "all" => Ok(Include::All),
        other => Err(ApiError::bad_request(format!("include must be one of non-deleted, deleted, all; got {}", other.chars().take(40).collect::<String>()))),
    }
}

/// Limit of a list request: OpenMetadata's default 10, at most 1 000 000.
pub fn limit(raw: Option<i64>) -> ApiResult<i64> {
    match raw.unwrap_or(10) {
        l @ 0..=1_000_000 => Ok(l),
        _ => Err(ApiError::bad_request("limit must be between 0 and 1000000")),
    }
}

/// Cursors are opaque to clients: base64 of the FQN key.
pub fn encode_cursor(key: Option<String>) -> Option<String> {
    use base64::Engine;
    key.map(|k| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k))
}

pub fn decode_cursor(raw: Option<&str>) -> ApiResult<Option<String>> {
    use base64::Engine;
    raw.map(|c| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::bad_request("before/after is not a cursor returned by this server"))
    })
    .transpose()
}

/// `{"data": [...], "paging": {"before", "after", "total"}}`.
pub fn page_body(page: Page) -> Value {
    let mut paging = json!({"total": page.total});
    if let Some(b) = encode_cursor(page.before) {
        paging["before"] = json!(b);
    }
    if let Some(a) = encode_cursor(page.after) {
        paging["after"] = json!(a);
    }
    json!({"data": page.data, "paging": paging})
}

/// The fields of an entity type: all of them (what `fields=` may name) and the relations a
/// response carries only when `fields=` names them.
pub type Fields = (&'static [&'static str], &'static [&'static str]);

/// An entity as a get endpoint answers it for `fields=`.
pub fn with_fields((known, optional): Fields, requested: Option<&str>, entity: Value) -> ApiResult<Value> {
    Ok(select_fields(known, optional, requested)?.apply(entity))
}

/// A list endpoint of any entity type without containers, for the caller; `flag` names the
/// boolean field `isBot=` filters on, for the types that have it.
pub async fn list_of(s: &AppState, caller: &Caller, kind: &EntityKind, (known, optional): Fields, flag: Option<&'static str>, q: ListParams) -> ApiResult<Json<Value>> {
    let selection = select_fields(known, optional, q.fields.as_deref())?;
    let after = decode_cursor(q.after.as_deref())?;
    let before = decode_cursor(q.before.as_deref())?;
    let listing = Listing { under: None, include: include(q.include.as_deref())?, limit: limit(q.limit)?, after: after.as_deref(), before: before.as_deref() };
    let flag = flag.zip(q.is_bot);
    let mut page = s.catalog.read_list_flagged(caller.actor()?, kind, &listing, q.fields.as_deref(), flag).await?;
    page.data = page.data.into_iter().map(|e| selection.apply(e)).collect();
    Ok(Json(page_body(page)))
}

/// A get endpoint (by id or name) of any entity type, for the caller.
pub async fn read_one(s: &AppState, caller: &Caller, kind: &EntityKind, fields: Fields, key: Key<'_>, q: GetParams) -> ApiResult<Json<Value>> {
    select_fields(fields.0, fields.1, q.fields.as_deref())?;
    let entity = s.catalog.read(caller.actor()?, kind, key, include(q.include.as_deref())?, q.fields.as_deref()).await?;
    Ok(Json(with_fields(fields, q.fields.as_deref(), entity)?))
}
