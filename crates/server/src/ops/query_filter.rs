//! The Elasticsearch query subset OpenMetadata's clients send as `query_filter`, parsed once
//! into [`Filter`] and evaluated on each hit's document. Supported: `bool` (`must`, `filter`,
//! `should`, `must_not`, `minimum_should_match` 1), `term`, `terms`, `match`, `match_phrase`,
//! `exists`, `match_all`, and `query_string` of `field:value` terms and words joined by AND.
//! Anything else is refused with a 400 naming it, never silently ignored.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

const SUPPORTED: &str = "bool (must, filter, should, must_not), term, terms, match, match_phrase, exists, match_all, query_string (terms joined by AND)";

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All,
    Bool { must: Vec<Filter>, should: Vec<Filter>, must_not: Vec<Filter> },
    /// Exact value (strings compared without case, as OpenMetadata's keyword normalizer does).
    Term { path: Vec<String>, values: Vec<Value> },
    /// Every word of the text in the field's text.
    Match { path: Vec<String>, words: Vec<String> },
    Exists { path: Vec<String> },
}

fn unsupported(what: &str) -> ApiError {
    ApiError::bad_request(format!("query_filter: unsupported {}; supported: {SUPPORTED}", what.chars().take(80).collect::<String>()))
}

/// A field name as a path into the document (`service.name.keyword` → `service`, `name`).
fn path(field: &str) -> Vec<String> {
    field.trim_end_matches(".keyword").split('.').map(str::to_string).collect()
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The single `{field: value}` of a leaf clause.
fn single(body: &Value, clause: &str) -> ApiResult<(String, Value)> {
    match body.as_object().map(|o| o.iter().collect::<Vec<_>>()).as_deref() {
        Some([(field, value)]) => Ok(((*field).clone(), (*value).clone())),
        _ => Err(ApiError::bad_request(format!("query_filter: {clause} takes one field"))),
    }
}

impl Filter {
    /// Parses a `query_filter` parameter: `{"query": clause}` or a bare clause.
    pub fn parse(raw: &str) -> ApiResult<Filter> {
        let json: Value = serde_json::from_str(raw).map_err(|e| ApiError::bad_request(format!("query_filter is not JSON: {e}")))?;
        let clause = json.get("query").unwrap_or(&json);
        Filter::clause(clause, 0)
    }

    fn clause(v: &Value, depth: usize) -> ApiResult<Filter> {
        if depth > 32 {
            return Err(ApiError::bad_request("query_filter nests too deeply"));
        }
        let Some(obj) = v.as_object().filter(|o| o.len() == 1) else { return Err(ApiError::bad_request("query_filter: each clause is an object with one key")) };
        let (name, body) = obj.iter().next().expect("one key");
        match name.as_str() {
            "match_all" => Ok(Filter::All),
            "bool" => Filter::boolean(body, depth),
            "term" => {
                let (field, value) = single(body, "term")?;
                let value = value.get("value").cloned().unwrap_or(value);
                Ok(Filter::Term { path: path(&field), values: vec![value] })
            }
            "terms" => {
                let (field, values) = single(body, "terms")?;
                let values = values.as_array().cloned().ok_or_else(|| ApiError::bad_request("query_filter: terms takes a list"))?;
                Ok(Filter::Term { path: path(&field), values })
            }
            "match" | "match_phrase" => {
                let (field, value) = single(body, name)?;
                let text = value.get("query").cloned().unwrap_or(value);
                let text = text.as_str().map(str::to_string).unwrap_or_else(|| text.to_string());
                Ok(Filter::Match { path: path(&field), words: words(&text) })
            }
            "exists" => {
                let field = body.get("field").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("query_filter: exists takes a field"))?;
                Ok(Filter::Exists { path: path(field) })
            }
            "query_string" => Filter::query_string(body),
            other => Err(unsupported(&format!("clause {other}"))),
        }
    }

    fn boolean(body: &Value, depth: usize) -> ApiResult<Filter> {
        let obj = body.as_object().ok_or_else(|| ApiError::bad_request("query_filter: bool takes an object"))?;
        let list = |key: &str| -> ApiResult<Vec<Filter>> {
            match obj.get(key) {
                None => Ok(vec![]),
                Some(Value::Array(items)) => items.iter().map(|c| Filter::clause(c, depth + 1)).collect(),
                Some(one) => Ok(vec![Filter::clause(one, depth + 1)?]),
            }
        };
        for key in obj.keys() {
            match key.as_str() {
                "must" | "filter" | "should" | "must_not" | "boost" => {}
                "minimum_should_match" if matches!(obj.get(key), Some(v) if v == 1 || v == "1") => {}
                other => return Err(unsupported(&format!("bool option {other}"))),
            }
        }
        let mut must = list("must")?;
        must.extend(list("filter")?);
        let should = list("should")?;
        // As in Elasticsearch: with must or filter clauses, should clauses only score.
        let should = if must.is_empty() { should } else { vec![] };
        Ok(Filter::Bool { must, should, must_not: list("must_not")? })
    }

    fn query_string(body: &Value) -> ApiResult<Filter> {
        let query = body.get("query").and_then(Value::as_str).ok_or_else(|| ApiError::bad_request("query_filter: query_string takes a query"))?;
        let fields: Vec<String> = match body.get("fields").and_then(Value::as_array) {
            Some(f) => f.iter().filter_map(Value::as_str).map(|f| f.split('^').next().unwrap_or(f).to_string()).collect(),
            None => vec!["name".into(), "displayName".into(), "fullyQualifiedName".into(), "description".into()],
        };
        let mut must = vec![];
        for token in query.split_whitespace().filter(|t| *t != "AND" && *t != "&&") {
            if matches!(token, "OR" | "NOT" | "||") || token.starts_with('-') || token.starts_with('(') {
                return Err(unsupported(&format!("query_string operator {token}")));
            }
            match token.split_once(':') {
                Some((field, value)) => {
                    let value = match value {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        v => Value::String(v.trim_matches('"').to_string()),
                    };
                    must.push(Filter::Term { path: path(field), values: vec![value] });
                }
                None => {
                    let any = fields.iter().map(|f| Filter::Match { path: path(f), words: words(token) }).collect();
                    must.push(Filter::Bool { must: vec![], should: any, must_not: vec![] });
                }
            }
        }
        Ok(Filter::Bool { must, should: vec![], must_not: vec![] })
    }

    /// Whether a document matches.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Filter::All => true,
            Filter::Bool { must, should, must_not } => {
                must.iter().all(|f| f.matches(doc)) && (should.is_empty() || should.iter().any(|f| f.matches(doc))) && !must_not.iter().any(|f| f.matches(doc))
            }
            Filter::Term { path, values } => {
                let found = lookup(doc, path);
                // A missing boolean reads as false, as OpenMetadata indexes `deleted`.
                let found = if found.is_empty() && values.iter().any(|v| v == &Value::Bool(false)) { vec![&Value::Bool(false)] } else { found };
                found.iter().any(|f| values.iter().any(|v| same(f, v)))
            }
            Filter::Match { path, words: wanted } => {
                let text: Vec<String> = lookup(doc, path).iter().flat_map(|v| words(&text_of(v))).collect();
                !wanted.is_empty() && wanted.iter().all(|w| text.iter().any(|t| t.starts_with(w.as_str())))
            }
            Filter::Exists { path } => lookup(doc, path).iter().any(|v| !v.is_null()),
        }
    }
}

fn text_of(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

fn same(found: &Value, wanted: &Value) -> bool {
    match (found, wanted) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Bool(a), Value::String(b)) | (Value::String(b), Value::Bool(a)) => b.eq_ignore_ascii_case(&a.to_string()),
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => a.to_string() == *b,
        (a, b) => a == b,
    }
}

/// The values at a path, arrays flattened at every step (as Elasticsearch indexes them).
fn lookup<'a>(doc: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let mut current = vec![doc];
    for key in path {
        current = current
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().filter_map(|i| i.as_object().and_then(|o: &Map<String, Value>| o.get(key))).collect::<Vec<_>>(),
                Value::Object(o) => o.get(key).into_iter().collect(),
                _ => vec![],
            })
            .flat_map(|v| match v {
                Value::Array(items) if items.iter().all(|i| !i.is_object()) => items.iter().collect(),
                other => vec![other],
            })
            .collect();
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn views_of(service: &str) -> String {
        json!({"query": {"bool": {"must": [
            {"bool": {"should": [{"term": {"service.name.keyword": service}}]}},
            {"bool": {"must": [{"bool": {"should": [{"term": {"tableType": "View"}}, {"term": {"tableType": "MaterializedView"}}]}}]}},
            {"bool": {"should": [{"term": {"deleted": false}}]}},
            {"bool": {"should": [{"exists": {"field": "schemaDefinition"}}]}},
        ]}}})
        .to_string()
    }

    #[test]
    fn the_clients_view_lineage_filter_selects_views_of_a_service() {
        let f = Filter::parse(&views_of("shop")).unwrap();
        let view = json!({"service": {"name": "shop"}, "tableType": "View", "deleted": false, "schemaDefinition": "select 1"});
        assert!(f.matches(&view));
        assert!(!f.matches(&json!({"service": {"name": "shop"}, "tableType": "Regular", "deleted": false, "schemaDefinition": "x"})), "a regular table is not a view");
        assert!(!f.matches(&json!({"service": {"name": "other"}, "tableType": "View", "schemaDefinition": "x"})));
        assert!(!f.matches(&json!({"service": {"name": "shop"}, "tableType": "View"})), "no schemaDefinition");
    }

    #[test]
    fn the_clients_user_lookup_is_a_query_string_of_and_terms() {
        let f = Filter::parse(&json!({"query": {"query_string": {"query": "Ada AND isBot:false", "fields": ["name", "displayName"]}}}).to_string()).unwrap();
        assert!(f.matches(&json!({"name": "ada.lovelace", "isBot": false})));
        assert!(!f.matches(&json!({"name": "ada", "isBot": true})));
        assert!(!f.matches(&json!({"name": "bob", "displayName": "Bob", "isBot": false})));
    }

    #[test]
    fn arrays_flatten_and_missing_reads_as_absent() {
        let f = Filter::parse(r#"{"term": {"tags.tagFQN": "PII.Sensitive"}}"#).unwrap();
        assert!(f.matches(&json!({"tags": [{"tagFQN": "Tier.Tier1"}, {"tagFQN": "pii.sensitive"}]})));
        let not_processed = Filter::parse(r#"{"bool": {"should": [{"term": {"processedLineage": false}}, {"bool": {"must_not": {"exists": {"field": "processedLineage"}}}}]}}"#).unwrap();
        assert!(not_processed.matches(&json!({})) && not_processed.matches(&json!({"processedLineage": false})) && !not_processed.matches(&json!({"processedLineage": true})));
    }

    #[test]
    fn anything_else_is_refused_by_name() {
        for (raw, named) in [
            (r#"{"query": {"fuzzy": {"name": "x"}}}"#, "clause fuzzy"),
            (r#"{"bool": {"must": [], "minimum_should_match": 2}}"#, "bool option minimum_should_match"),
            (r#"{"query_string": {"query": "a OR b"}}"#, "query_string operator OR"),
        ] {
            let e = Filter::parse(raw).unwrap_err();
            assert!(e.message.contains(named), "{raw}: {}", e.message);
        }
        assert!(Filter::parse("not json").is_err());
        assert!(Filter::parse(&"{\"bool\": {\"must\": [".repeat(40)).is_err());
    }
}
