//! `/api/v1/search/query` and `/api/v1/search/fieldQuery` with OpenMetadata's (Elasticsearch)
//! response shape, over ferrometa's own index (`search_terms`): the lower-case words of names,
//! display names, descriptions and column names. A query matches the entities holding every
//! word of `q` (exact words; `*` or an empty `q` matches everything). `fieldQuery` on
//! `fullyQualifiedName` takes `*` for whole FQN parts, as the Python client sends
//! (`service.*.schema.table`).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use ferrometa_catalog::data::ASSET_TYPES;
use ferrometa_catalog::fqn;
use ferrometa_store::{EntityRow, Include};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::data::shown_to;
use crate::state::AppState;

/// Index names (and their short aliases) → entity types.
const INDEXES: &[(&str, &str, &str)] = &[
    ("database_service_search_index", "databaseService", "databaseService"),
    ("database_search_index", "database", "database"),
    ("database_schema_search_index", "databaseSchema", "databaseSchema"),
    ("table_search_index", "table", "table"),
    ("stored_procedure_search_index", "storedProcedure", "storedProcedure"),
];

const MAX_SIZE: i64 = 10_000;

fn index_types(index: Option<&str>) -> ApiResult<Vec<&'static str>> {
    match index.unwrap_or("all") {
        "all" | "dataAsset" | "data_asset_search_index" | "all_search_index" => Ok(ASSET_TYPES.iter().map(|t| t.kind.name).collect()),
        i => INDEXES
            .iter()
            .find(|(name, alias, _)| *name == i || *alias == i)
            .map(|(_, _, t)| vec![*t])
            .ok_or_else(|| ApiError::bad_request(format!("Unknown search index {}", i.chars().take(60).collect::<String>()))),
    }
}

fn index_name(entity_type: &str) -> &'static str {
    INDEXES.iter().find(|(_, _, t)| *t == entity_type).map(|(n, _, _)| *n).unwrap_or("all")
}

fn deleted(raw: Option<bool>) -> Include {
    if raw.unwrap_or(false) { Include::Deleted } else { Include::NonDeleted }
}

/// `{"hits": {"total": {"value": n}, "hits": [{"_source": ...}]}}`, as Elasticsearch answers.
fn hits_body(caller: &Caller, rows: &[EntityRow], total: i64) -> ApiResult<Value> {
    let mut hits = vec![];
    for row in rows {
        let mut source: Value = serde_json::from_str(&row.json).map_err(ApiError::internal)?;
        source = shown_to(caller, source);
        if let Some(obj) = source.as_object_mut() {
            obj.insert("entityType".into(), json!(row.entity_type));
        }
        hits.push(json!({
            "_index": index_name(&row.entity_type),
            "_type": "_doc",
            "_id": row.id,
            "_score": 1.0,
            "_source": source,
            "sort": [row.fqn],
        }));
    }
    Ok(json!({
        "took": 0,
        "timed_out": false,
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": if hits.is_empty() { Value::Null } else { json!(1.0) }, "hits": hits},
        "aggregations": {},
    }))
}

#[derive(Debug, Deserialize, Default)]
pub struct SearchParams {
    q: Option<String>,
    index: Option<String>,
    from: Option<i64>,
    size: Option<i64>,
    deleted: Option<bool>,
}

/// Words of a query: field prefixes (`name:`), quotes, wildcards and operators dropped.
fn query_terms(q: &str) -> Vec<String> {
    let mut terms = vec![];
    for token in q.split_whitespace() {
        let value = token.rsplit_once(':').map(|(_, v)| v).unwrap_or(token);
        if matches!(value, "AND" | "OR" | "NOT" | "&&" | "||") {
            continue;
        }
        for w in value.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            terms.push(w.chars().take(100).collect());
        }
    }
    terms.sort();
    terms.dedup();
    terms.truncate(16);
    terms
}

pub async fn query(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(p): Query<SearchParams>) -> ApiResult<Json<Value>> {
    let types = index_types(p.index.as_deref())?;
    let terms = query_terms(p.q.as_deref().unwrap_or(""));
    let (from, size) = (p.from.unwrap_or(0), p.size.unwrap_or(10));
    if from < 0 || !(0..=MAX_SIZE).contains(&size) || from + size > MAX_SIZE {
        return Err(ApiError::bad_request(format!("from must be at least 0 and from + size at most {MAX_SIZE}")));
    }
    let (rows, total) = s.store.search(&types, &terms, deleted(p.deleted), from, size).await?;
    Ok(Json(hits_body(&caller, &rows, total)?))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct FieldQueryParams {
    field_name: String,
    field_value: String,
    index: Option<String>,
    from: Option<i64>,
    size: Option<i64>,
    deleted: Option<bool>,
}

/// Whether an FQN matches a pattern whose parts are names or `*`.
fn fqn_matches(pattern: &[String], fqn_value: &str) -> bool {
    let parts = fqn::split(fqn_value);
    parts.len() == pattern.len() && pattern.iter().zip(&parts).all(|(p, v)| p == "*" || p.to_lowercase() == v.to_lowercase())
}

pub async fn field_query(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(p): Query<FieldQueryParams>) -> ApiResult<Json<Value>> {
    let types = index_types(p.index.as_deref())?;
    let (from, size) = (p.from.unwrap_or(0).max(0) as usize, p.size.unwrap_or(10).clamp(0, MAX_SIZE) as usize);
    let include = deleted(p.deleted);
    let visible = |r: &EntityRow| match include {
        Include::NonDeleted => !r.deleted,
        Include::Deleted => r.deleted,
        Include::All => true,
    };
    const CANDIDATES: i64 = 1000;
    let mut rows: Vec<EntityRow> = vec![];
    match p.field_name.trim_end_matches(".keyword") {
        "name" => {
            for t in &types {
                rows.extend(s.store.entities_with_term(t, &format!("=name:{}", p.field_value.to_lowercase()), CANDIDATES).await?);
            }
        }
        "fullyQualifiedName" => {
            let pattern = fqn::split(&p.field_value);
            let last = pattern.last().cloned().unwrap_or_default();
            if last != "*" && !last.is_empty() {
                for t in &types {
                    let candidates = s.store.entities_with_term(t, &format!("=name:{}", last.to_lowercase()), CANDIDATES).await?;
                    rows.extend(candidates.into_iter().filter(|r| fqn_matches(&pattern, &r.fqn)));
                }
            } else {
                // The literal leading parts name a container: walk what is under it.
                let literal: Vec<&str> = pattern.iter().take_while(|p| p.as_str() != "*").map(String::as_str).collect();
                if literal.is_empty() {
                    return Err(ApiError::bad_request("fieldValue needs a name or a leading FQN part that is not *"));
                }
                let container = fqn::build(&literal);
                for t in &types {
                    let page = s.store.list_entities_under(t, &container, Include::All, CANDIDATES, None, None).await?;
                    rows.extend(page.rows.into_iter().filter(|r| fqn_matches(&pattern, &r.fqn)));
                }
            }
        }
        other => return Err(ApiError::bad_request(format!("fieldName must be name or fullyQualifiedName, got {}", other.chars().take(60).collect::<String>()))),
    }
    rows.retain(|r| visible(r));
    rows.sort_by_key(|r| r.fqn.to_lowercase());
    let total = rows.len() as i64;
    let page: Vec<EntityRow> = rows.into_iter().skip(from).take(size).collect();
    Ok(Json(hits_body(&caller, &page, total)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_words_and_patterns_match_parts() {
        assert_eq!(query_terms("name:Order_Items AND price*"), ["items", "order", "price"]);
        assert!(query_terms("*").is_empty());
        let pattern = fqn::split("svc.*.main.orders");
        assert!(fqn_matches(&pattern, "svc.db.main.orders"));
        assert!(fqn_matches(&pattern, "SVC.\"d.b\".main.Orders"));
        assert!(!fqn_matches(&pattern, "svc.db.other.orders"));
        assert!(!fqn_matches(&pattern, "svc.db.main"));
    }
}
