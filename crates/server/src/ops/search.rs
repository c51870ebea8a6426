//! Search for `/api/v1/search/query` and `/api/v1/search/fieldQuery` (and the web UI) with OpenMetadata's (Elasticsearch)
//! response shape, over the store's full-text index (SQLite FTS5, PostgreSQL `tsvector`): the
//! words of names, display names, FQNs, descriptions and column names and descriptions. A query
//! matches the entities holding every word of `q`, each as a prefix, best match first (`*` or an
//! empty `q` matches everything, in FQN order). `fieldQuery` on `fullyQualifiedName` takes `*`
//! for whole FQN parts, as the Python client sends (`service.*.schema.table`).

use ferrometa_catalog::data::{ASSET_TYPES, ENTITY_TYPES};
use ferrometa_catalog::fqn;
use ferrometa_catalog::kinds::kind_named;
use ferrometa_catalog::policy::{Operation, Target};
use ferrometa_store::{EntityRow, Include, SearchHit};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ops::query_filter::Filter;
use crate::routes::data::shown_to;
use crate::state::AppState;

/// Users have an index but are not served by the generic entity operations.
const USER_INDEX: (&str, &str) = ("user_search_index", "user");

/// Index names → entity types, from the registry (each type's `search_index`); the client
/// resolves owners through `user_search_index` and `team_search_index`.
fn indexes() -> impl Iterator<Item = (&'static str, &'static str)> {
    ENTITY_TYPES.iter().filter_map(|t| t.search_index.map(|index| (index, t.kind.name))).chain([USER_INDEX])
}

const MAX_SIZE: i64 = 10_000;

/// The types an index searches: by index name or entity type name; every data asset for all.
fn index_types(index: Option<&str>) -> ApiResult<Vec<&'static str>> {
    match index.unwrap_or("all") {
        "all" | "dataAsset" | "data_asset_search_index" | "all_search_index" => Ok(ASSET_TYPES.iter().map(|t| t.kind.name).collect()),
        i => indexes()
            .find(|(name, entity_type)| *name == i || *entity_type == i)
            .map(|(_, t)| vec![t])
            .ok_or_else(|| ApiError::bad_request(format!("Unknown search index {}", i.chars().take(60).collect::<String>()))),
    }
}

fn index_name(entity_type: &str) -> &'static str {
    indexes().find(|(_, t)| *t == entity_type).map_or("all", |(name, _)| name)
}

fn deleted(raw: Option<bool>) -> Include {
    if raw.unwrap_or(false) { Include::Deleted } else { Include::NonDeleted }
}

/// `{"hits": {"total": {"value": n}, "hits": [{"_source": ...}]}}`, as Elasticsearch answers.
fn hits_body(s: &AppState, caller: &Caller, found: &[SearchHit], total: Total, sort: Sort) -> ApiResult<Value> {
    let mut hits = vec![];
    for SearchHit { row, score } in found {
        // Through the catalog, which opens sealed connection secrets, then masked as in a GET.
        let mut source = shown_to(caller, s.catalog.entity_of(row)?);
        if let Some(obj) = source.as_object_mut() {
            obj.insert("entityType".into(), json!(row.entity_type));
        }
        hits.push(json!({
            "_index": index_name(&row.entity_type),
            "_type": "_doc",
            "_id": row.id,
            "_score": score,
            "_source": source,
            "sort": sort.values(*score, &row.fqn),
        }));
    }
    let max_score = found.iter().map(|h| h.score).reduce(f64::max);
    Ok(json!({
        "took": 0,
        "timed_out": false,
        "hits": {"total": {"value": total.value, "relation": if total.exact { "eq" } else { "gte" }}, "max_score": max_score, "hits": hits},
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
    /// Elasticsearch query DSL (the subset of [`Filter`]) that every hit must match.
    query_filter: Option<String>,
    /// `fullyQualifiedName` (or `name`) for a stable order the clients page with `search_after`.
    sort_field: Option<String>,
    sort_order: Option<String>,
    /// The `sort` values of the last hit of the previous page, joined by commas.
    search_after: Option<String>,
}

/// How many hits match: exact, or at least this many when a scan stopped early.
#[derive(Debug, Clone, Copy)]
struct Total {
    value: i64,
    exact: bool,
}

/// The order of hits and the `sort` values each hit carries (strings, as the clients join them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// Best first, ties in FQN order: `[score, fqn]`.
    Relevance,
    /// By FQN (case-insensitive): `[fqn]`.
    Fqn { descending: bool },
}

impl Sort {
    fn parse(field: Option<&str>, order: Option<&str>) -> ApiResult<Sort> {
        let descending = match order.unwrap_or("asc") {
            "asc" => false,
            "desc" => true,
            other => return Err(ApiError::bad_request(format!("sort_order must be asc or desc, got {}", other.chars().take(20).collect::<String>()))),
        };
        match field.map(|f| f.trim_end_matches(".keyword")) {
            None | Some("_score") => Ok(Sort::Relevance),
            Some("fullyQualifiedName" | "name" | "displayName") => Ok(Sort::Fqn { descending }),
            Some(other) => Err(ApiError::bad_request(format!("sort_field must be _score or fullyQualifiedName, got {}", other.chars().take(60).collect::<String>()))),
        }
    }

    fn values(self, score: f64, fqn: &str) -> Value {
        match self {
            Sort::Relevance => json!([score.to_string(), fqn]),
            Sort::Fqn { .. } => json!([fqn]),
        }
    }

    /// The FQN a `search_after` value names (the last of its comma-joined values for relevance;
    /// the whole of it for FQN order, since FQNs may hold commas).
    fn after_fqn(self, after: &str) -> String {
        match self {
            Sort::Relevance => after.split_once(',').map_or(after, |(_, fqn)| fqn).to_string(),
            Sort::Fqn { .. } => after.to_string(),
        }
    }
}

/// An OpenMetadata (Lucene) query string as plain text for the store: field prefixes (`name:`)
/// and boolean operators dropped. The store takes only the words of what remains, so wildcards,
/// quotes and brackets need no handling here.
fn plain_text(q: &str) -> String {
    q.split_whitespace()
        .map(|token| token.rsplit_once(':').map_or(token, |(_, value)| value))
        .filter(|token| !matches!(*token, "AND" | "OR" | "NOT" | "&&" | "||"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The searched types the caller may view (at type level; rows are not filtered one by one,
/// as in OpenMetadata's search without its optional RBAC). One index the caller may not view is
/// refused; from all of them, those it may not view are left out.
async fn viewable(s: &AppState, caller: &Caller, types: Vec<&'static str>) -> ApiResult<Vec<&'static str>> {
    let subject = caller.subject()?;
    if let [only] = types.as_slice() {
        s.catalog.authorize(caller.actor()?, &[Operation::ViewBasic], &Target::of_type(only)).await?;
        return Ok(types);
    }
    let mut allowed = vec![];
    for t in types {
        if let Some(kind) = kind_named(t)
            && s.catalog.may(subject, kind, None, Operation::ViewBasic).await
        {
            allowed.push(t);
        }
    }
    Ok(allowed)
}

pub async fn query(s: &AppState, caller: &Caller, p: SearchParams) -> ApiResult<Value> {
    let types = viewable(s, caller, index_types(p.index.as_deref())?).await?;
    let (from, size) = (p.from.unwrap_or(0), p.size.unwrap_or(10));
    if from < 0 || !(0..=MAX_SIZE).contains(&size) || from.checked_add(size).is_none_or(|end| end > MAX_SIZE) {
        return Err(ApiError::bad_request(format!("from must be at least 0 and from + size at most {MAX_SIZE}")));
    }
    let sort = Sort::parse(p.sort_field.as_deref(), p.sort_order.as_deref())?;
    let filter = p.query_filter.as_deref().map(Filter::parse).transpose()?;
    let text = plain_text(p.q.as_deref().unwrap_or(""));
    if filter.is_none() && sort == Sort::Relevance && p.search_after.is_none() {
        let (hits, total) = s.store.search(&types, &text, deleted(p.deleted), from, size).await?;
        return hits_body(s, caller, &hits, Total { value: total, exact: true }, sort);
    }
    // Filtered or paged by `search_after`: the matching hits in order, from the store's best
    // MAX_SIZE candidates, then the page.
    let (candidates, _) = s.store.search(&types, &text, deleted(p.deleted), 0, MAX_SIZE).await?;
    let mut hits = vec![];
    for hit in candidates {
        if filter.as_ref().is_none_or(|f| s.catalog.entity_of(&hit.row).is_ok_and(|doc| f.matches(&doc))) {
            hits.push(hit);
        }
    }
    if let Sort::Fqn { descending } = sort {
        hits.sort_by_key(|h| h.row.fqn.to_lowercase());
        if descending {
            hits.reverse();
        }
    }
    let total = Total { value: hits.len() as i64, exact: hits.len() < MAX_SIZE as usize };
    let start = match p.search_after.as_deref().map(|a| sort.after_fqn(a).to_lowercase()) {
        Some(after) => hits.iter().position(|h| h.row.fqn.to_lowercase() == after).map_or_else(|| past(&hits, &after, sort), |i| i + 1),
        None => from as usize,
    };
    let page: Vec<SearchHit> = hits.into_iter().skip(start).take(size as usize).collect();
    hits_body(s, caller, &page, total, sort)
}

/// Where a page after an FQN that is no longer among the hits starts: the first hit past it in
/// FQN order (in relevance order nothing is known of it, so the end).
fn past(hits: &[SearchHit], after: &str, sort: Sort) -> usize {
    match sort {
        Sort::Fqn { descending: false } => hits.iter().position(|h| h.row.fqn.to_lowercase().as_str() > after).unwrap_or(hits.len()),
        Sort::Fqn { descending: true } => hits.iter().position(|h| h.row.fqn.to_lowercase().as_str() < after).unwrap_or(hits.len()),
        Sort::Relevance => hits.len(),
    }
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

pub async fn field_query(s: &AppState, caller: &Caller, p: FieldQueryParams) -> ApiResult<Value> {
    let types = viewable(s, caller, index_types(p.index.as_deref())?).await?;
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
                rows.extend(s.store.entities_named(t, &p.field_value, CANDIDATES).await?);
            }
        }
        "fullyQualifiedName" => {
            let pattern = fqn::split(&p.field_value);
            let last = pattern.last().cloned().unwrap_or_default();
            if last != "*" && !last.is_empty() {
                for t in &types {
                    let candidates = s.store.entities_named(t, &last, CANDIDATES).await?;
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
    // An exact field match has no degrees of relevance.
    let page: Vec<SearchHit> = rows.into_iter().skip(from).take(size).map(|row| SearchHit { row, score: 1.0 }).collect();
    hits_body(s, caller, &page, Total { value: total, exact: true }, Sort::Relevance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_plain_text_and_patterns_match_parts() {
        assert_eq!(plain_text("name:Order_Items AND price* OR  (x"), "Order_Items price* (x");
        assert_eq!(plain_text("*"), "*");
        let pattern = fqn::split("svc.*.main.orders");
        assert!(fqn_matches(&pattern, "svc.db.main.orders"));
        assert!(fqn_matches(&pattern, "SVC.\"d.b\".main.Orders"));
        assert!(!fqn_matches(&pattern, "svc.db.other.orders"));
        assert!(!fqn_matches(&pattern, "svc.db.main"));
    }
}
