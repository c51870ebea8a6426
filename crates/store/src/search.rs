//! Full-text search over entities. The store keeps the index itself: every write of an entity
//! row (insert, update, delete) rewrites its search document in the same transaction, so the
//! index can never disagree with the entities.
//!
//! - SQLite: an FTS5 table (`search_index`) ranked with weighted BM25.
//! - PostgreSQL: a weighted `tsvector` (`search_documents.document`, GIN index) ranked with
//!   `ts_rank`.
//!
//! Both backends index the same text: the words of an entity's name, display name, fully
//! qualified name, description, and its columns' names and descriptions (nested columns
//! included). Words are split here, in Rust, for indexing and for queries alike, so that the two
//! engines see identical words and a user's query reaches the FTS grammar only as quoted words:
//! no input can be a syntax error. Every word of a query must match, each as a prefix (typing
//! `ord` finds `orders`).

use serde_json::Value;
use sqlx::Row;
use sqlx::AnyConnection;

use crate::entities::{COLUMNS, E_COLUMNS, from_row, include_clause};
use crate::{Backend, EntityRow, Include, Result, Store};

/// One search result: the entity and its relevance (higher is better).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub row: EntityRow,
    pub score: f64,
}

/// Most words of a query that are matched; the rest are ignored.
const MAX_QUERY_WORDS: usize = 16;
/// Longest word of a query, in characters.
const MAX_WORD_CHARS: usize = 100;
/// Most characters of one indexed field: PostgreSQL refuses a `tsvector` over 1 MiB, and a
/// document that long is no better found by its millionth word.
const MAX_FIELD_CHARS: usize = 32 * 1024;

/// Lower-case words: maximal runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// The indexed text of one field: its words, space separated, at most [`MAX_FIELD_CHARS`].
fn field_text<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in texts.into_iter().flat_map(words) {
        if out.len() + word.len() + 1 > MAX_FIELD_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// What is indexed of an entity, one field per FTS column (in `search_index` column order).
#[derive(Debug, PartialEq)]
struct SearchDocument {
    name_key: String,
    name: String,
    display_name: String,
    fqn: String,
    description: String,
    column_names: String,
    column_descriptions: String,
}

impl SearchDocument {
    /// Binds the indexed texts, in the column order both backends' statements use.
    fn bind_texts<'q>(&'q self, q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(&self.name).bind(&self.display_name).bind(&self.fqn).bind(&self.description).bind(&self.column_names).bind(&self.column_descriptions)
    }

    fn of(row: &EntityRow) -> SearchDocument {
        // A row whose JSON does not parse is still found by its FQN.
        let entity: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let name = entity["name"].as_str().unwrap_or_default();
        let (mut column_names, mut column_descriptions) = (vec![], vec![]);
        collect_columns(&entity["columns"], &mut column_names, &mut column_descriptions);
        SearchDocument {
            name_key: name.to_lowercase(),
            name: field_text([name]),
            display_name: field_text([text(&entity["displayName"]).as_str()]),
            fqn: field_text([row.fqn.as_str()]),
            description: field_text([text(&entity["description"]).as_str()]),
            column_names: field_text(column_names.iter().map(String::as_str)),
            column_descriptions: field_text(column_descriptions.iter().map(String::as_str)),
        }
    }
}

/// Names (and display names) and descriptions of columns and their nested children.
fn collect_columns(columns: &Value, names: &mut Vec<String>, descriptions: &mut Vec<String>) {
    for column in columns.as_array().into_iter().flatten() {
        names.extend(["name", "displayName"].iter().filter_map(|f| column[*f].as_str()).map(str::to_string));
        descriptions.extend(column["description"].as_str().map(str::to_string));
        collect_columns(&column["children"], names, descriptions);
    }
}

/// The query's words, each a prefix, all required, in FTS5's grammar: `"w1"* "w2"*`. Words hold
/// only letters and digits; doubling `"` anyway keeps the quoting correct by construction.
fn fts5_query(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{}\"*", w.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

/// The same in PostgreSQL's `to_tsquery` grammar: `'w1':* & 'w2':*`.
fn tsquery(words: &[String]) -> String {
    words.iter().map(|w| format!("'{}':*", w.replace('\\', "\\\\").replace('\'', "''"))).collect::<Vec<_>>().join(" & ")
}

/// Column weights of `bm25()` in `search_index` column order: a name outranks a column name,
/// which outranks the FQN (which holds the containers' names), which outranks descriptions.
const SQLITE_RANK: &str = "bm25(search_index, 10.0, 10.0, 2.0, 1.0, 4.0, 1.0)";

/// `ts_rank`'s default weights are D 0.1, C 0.2, B 0.4, A 1.0; the fields get the letters that
/// give the same order as [`SQLITE_RANK`].
const POSTGRES_DOCUMENT: &str = "setweight(to_tsvector('simple', $4), 'A') || setweight(to_tsvector('simple', $5), 'A') || \
     setweight(to_tsvector('simple', $6), 'C') || setweight(to_tsvector('simple', $7), 'D') || \
     setweight(to_tsvector('simple', $8), 'B') || setweight(to_tsvector('simple', $9), 'D')";

/// Writes (or rewrites) the search document of an entity row.
pub(crate) async fn index_entity(conn: &mut AnyConnection, backend: Backend, row: &EntityRow) -> Result<()> {
    let d = SearchDocument::of(row);
    match backend {
        Backend::Sqlite => {
            let doc: i64 = sqlx::query(
                "INSERT INTO search_documents (id, entity_type, name_key) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET entity_type = excluded.entity_type, name_key = excluded.name_key RETURNING doc",
            )
            .bind(&row.id)
            .bind(&row.entity_type)
            .bind(&d.name_key)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
            let insert = sqlx::query(
                "INSERT OR REPLACE INTO search_index (rowid, name, display_name, fqn, description, column_names, column_descriptions) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(doc);
            d.bind_texts(insert).execute(&mut *conn).await?;
        }
        Backend::Postgres => {
            let sql = format!(
                "INSERT INTO search_documents (id, entity_type, name_key, document) VALUES ($1, $2, $3, {POSTGRES_DOCUMENT}) \
                 ON CONFLICT (id) DO UPDATE SET entity_type = excluded.entity_type, name_key = excluded.name_key, document = excluded.document"
            );
            let upsert = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&row.id).bind(&row.entity_type).bind(&d.name_key);
            d.bind_texts(upsert).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Removes the search document of an entity.
pub(crate) async fn unindex_entity(conn: &mut AnyConnection, backend: Backend, id: &str) -> Result<()> {
    let doc = sqlx::query(match backend {
        Backend::Sqlite => "DELETE FROM search_documents WHERE id = $1 RETURNING doc",
        Backend::Postgres => "DELETE FROM search_documents WHERE id = $1 RETURNING 0",
    })
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let (Backend::Sqlite, Some(doc)) = (backend, doc) {
        sqlx::query("DELETE FROM search_index WHERE rowid = $1").bind(doc.try_get::<i64, _>(0)?).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Indexes every existing entity (the data migration of the search index), in id order, a
/// batch at a time so that memory stays bounded whatever the catalog's size.
pub(crate) async fn index_all(conn: &mut AnyConnection, backend: Backend) -> Result<()> {
    const BATCH: i64 = 500;
    let mut after = String::new();
    loop {
        let sql = format!("SELECT {} FROM entities WHERE id > $1 ORDER BY id LIMIT $2", COLUMNS);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&after).bind(BATCH).fetch_all(&mut *conn).await?;
        let rows = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        for row in &rows {
            index_entity(conn, backend, row).await?;
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == BATCH => after = last.id.clone(),
            _ => return Ok(()),
        }
    }
}

impl Store {
    /// Entities of the given types matching every word of `text` (each as a prefix), best
    /// first (ties in FQN order), skipping `from`, at most `limit`; and how many match. Text
    /// without words (empty, `*`) matches every entity of the types, in FQN order.
    pub async fn search(&self, entity_types: &[&str], text: &str, include: Include, from: i64, limit: i64) -> Result<(Vec<SearchHit>, i64)> {
        if entity_types.is_empty() {
            return Ok((vec![], 0));
        }
        let words: Vec<String> = words(text).map(|w| w.chars().take(MAX_WORD_CHARS).collect()).take(MAX_QUERY_WORDS).collect();
        let mut binds: Vec<String> = vec![];
        let mut bind = |v: String| {
            binds.push(v);
            format!("${}", binds.len())
        };
        let (source, score, order) = match (words.is_empty(), self.backend()) {
            (true, _) => ("entities e WHERE".to_string(), "CAST(0 AS DOUBLE PRECISION)".to_string(), "e.fqn_key"),
            (false, Backend::Sqlite) => (
                // CROSS JOIN fixes SQLite's join order: the full-text match drives the join.
                // Left to choose, the planner may walk every entity of the types and run the
                // match once per row.
                format!(
                    "search_index CROSS JOIN search_documents d CROSS JOIN entities e \
                     WHERE search_index MATCH {} AND d.doc = search_index.rowid AND e.id = d.id AND",
                    bind(fts5_query(&words))
                ),
                format!("-{SQLITE_RANK}"),
                "score DESC, e.fqn_key",
            ),
            (false, Backend::Postgres) => (
                format!("search_documents d JOIN entities e ON e.id = d.id CROSS JOIN to_tsquery('simple', {}) q WHERE d.document @@ q AND", bind(tsquery(&words))),
                "ts_rank(d.document, q)::float8".to_string(),
                "score DESC, e.fqn_key",
            ),
        };
        let types = entity_types.iter().map(|t| bind(t.to_string())).collect::<Vec<_>>().join(", ");
        let filter = format!("e.entity_type IN ({types}){}", include_clause(include).replace("deleted", "e.deleted"));
        let with_binds = |sql: String| binds.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, b| q.bind(b.clone()));
        let total: i64 = with_binds(format!("SELECT COUNT(*) FROM {source} {filter}")).fetch_one(self.pool()).await?.try_get(0)?;
        let page = format!(
            "SELECT {E_COLUMNS}, {score} AS score FROM {source} {filter} ORDER BY {order} LIMIT {} OFFSET {}",
            limit.clamp(0, 10_000),
            from.clamp(0, 10_000)
        );
        let rows = with_binds(page).fetch_all(self.pool()).await?;
        let hits = rows.iter().map(|r| Ok(SearchHit { row: from_row(r)?, score: r.try_get("score")? })).collect::<Result<Vec<_>>>()?;
        Ok((hits, total))
    }

    /// The entities of a type with this name (case-insensitive), in FQN order, at most `limit`.
    pub async fn entities_named(&self, entity_type: &str, name: &str, limit: i64) -> Result<Vec<EntityRow>> {
        let sql = format!(
            "SELECT {E_COLUMNS} FROM search_documents d JOIN entities e ON e.id = d.id WHERE d.entity_type = $1 AND d.name_key = $2 ORDER BY e.fqn_key LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(entity_type).bind(name.to_lowercase()).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_hold_the_words_of_names_descriptions_and_columns() {
        let row = EntityRow {
            id: "1".into(),
            entity_type: "table".into(),
            fqn: "svc.db.\"s.x\".Order_Items".into(),
            secondary_key: None,
            parent_fqn: None,
            deleted: false,
            updated_at: 0,
            json: serde_json::json!({
                "name": "Order_Items", "displayName": "Order items", "description": "Lines of an order.",
                "columns": [{"name": "unit_price", "description": "Price, in €", "children": [{"name": "Currency"}]}],
            })
            .to_string(),
        };
        let d = SearchDocument::of(&row);
        assert_eq!(d.name_key, "order_items");
        assert_eq!((d.name.as_str(), d.display_name.as_str(), d.fqn.as_str()), ("order items", "order items", "svc db s x order items"));
        assert_eq!((d.description.as_str(), d.column_names.as_str(), d.column_descriptions.as_str()), ("lines of an order", "unit price currency", "price in"));
    }

    #[test]
    fn query_words_are_quoted_prefixes() {
        let w: Vec<String> = words("Order-items: \"x*").collect();
        assert_eq!(w, ["order", "items", "x"]);
        assert_eq!(fts5_query(&w), r#""order"* "items"* "x"*"#);
        assert_eq!(tsquery(&w), "'order':* & 'items':* & 'x':*");
        assert_eq!(fts5_query(&["a\"b".to_string()]), r#""a""b"*"#);
        assert_eq!(tsquery(&["a'b\\".to_string()]), r"'a''b\\':*");
    }
}
