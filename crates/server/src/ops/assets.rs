//! Deleting an entity of the generic asset types (data assets, teams, roles, policies, tags),
//! with its audit record: the API's `DELETE` and the pages' delete buttons.

use ferrometa_catalog::data::AssetType;
use serde_json::Value;

use crate::access::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn delete(s: &AppState, caller: &Caller, t: &'static AssetType, id: &str, hard: bool, recursive: bool) -> ApiResult<Value> {
    let entity = s.catalog.delete_asset(caller.subject()?, t, id, hard, recursive).await?;
    let target = entity["fullyQualifiedName"].as_str().unwrap_or_default();
    s.store.audit(&caller.name, &format!("{}.{}", t.kind.name, if hard { "hard_delete" } else { "delete" }), target, "").await?;
    Ok(entity)
}
