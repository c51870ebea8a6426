//! The data catalog pages: database services → databases → schemas → tables (with columns),
//! each with its description, editable by whoever the catalog's policies let edit it (the same
//! use case as the API's PATCH decides). Entities are addressed by kind and fully qualified name:
//! `/catalog/{service|database|schema|table}?fqn=…`.

use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use ferrometa_catalog::data::{self, AssetType};
use ferrometa_catalog::kinds::{BOT, POLICY, ROLE, USER};
use ferrometa_catalog::policy::Operation;
use ferrometa_catalog::{Key, Listing};
use ferrometa_store::Include;
use serde::Deserialize;
use serde_json::{Value, json};

use super::table_tabs;
use super::html::{esc, notice, query_value};
use super::{Viewer, error_page};

/// The first page of live entities, under a container or not.
fn listing(under: Option<&str>) -> Listing<'_> {
    Listing { under, include: Include::NonDeleted, limit: PAGE, after: None, before: None }
}

/// How many children a page lists.
const PAGE: i64 = 200;

/// A catalog page kind: its URL word, asset type, and the kind of its children.
struct Level {
    word: &'static str,
    label: &'static str,
    asset: &'static AssetType,
    child: Option<&'static str>,
}

const LEVELS: &[Level] = &[
    Level { word: "service", label: "Database service", asset: &data::DATABASE_SERVICES, child: Some("database") },
    Level { word: "database", label: "Database", asset: &data::DATABASES, child: Some("schema") },
    Level { word: "schema", label: "Schema", asset: &data::DATABASE_SCHEMAS, child: Some("table") },
    Level { word: "table", label: "Table", asset: &data::TABLES, child: None },
];

fn level(word: &str) -> Option<&'static Level> {
    LEVELS.iter().find(|l| l.word == word)
}

fn level_of_type(entity_type: &str) -> Option<&'static Level> {
    LEVELS.iter().find(|l| l.asset.kind.name == entity_type)
}

pub fn link(word: &str, fqn: &str, text: &str) -> String {
    format!(r#"<a href="/catalog/{word}?fqn={}">{}</a>"#, esc(&query_value(fqn)), esc(text))
}

fn label_of(e: &Value) -> String {
    let name = e["name"].as_str().unwrap_or_default();
    match e["displayName"].as_str().filter(|d| !d.is_empty() && *d != name) {
        Some(d) => format!("{d} ({name})"),
        None => name.to_string(),
    }
}

pub async fn index(v: Viewer) -> Response {
    let services = match v.state.catalog.list_assets(v.actor(), &data::DATABASE_SERVICES, &listing(None), None).await {
        Ok(p) => p.data,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Data catalog", "The catalog could not be read.", "internal", &e.to_string()),
    };
    let mut body = String::new();
    if services.is_empty() {
        body.push_str(&notice("info", "catalog-empty", "No data assets yet: database services, databases, schemas and tables appear here once ingestion has written them."));
    } else {
        body.push_str(r#"<h2 id="services">Database services</h2><table class="list" id="service-list"><thead><tr><th scope="col">Service</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>"#);
        for s in &services {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                link("service", s["fullyQualifiedName"].as_str().unwrap_or_default(), &label_of(s)),
                esc(s["serviceType"].as_str().unwrap_or_default()),
                esc(s["description"].as_str().unwrap_or_default())
            ));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(r#"<h2 id="entities">People and automation</h2><table class="list"><thead><tr><th scope="col">Entity type</th><th scope="col">Count</th><th scope="col">Examples</th></tr></thead><tbody>"#);
    for (kind, link) in [(&USER, "/users"), (&BOT, "/bots"), (&ROLE, "/roles"), (&POLICY, "/policies")] {
        let Ok(page) = v.state.catalog.read_list(v.actor(), kind, &Listing { limit: 5, ..listing(None) }, None).await else { continue };
        let examples: Vec<String> = page.data.iter().filter_map(|e| e["name"].as_str()).map(esc).collect();
        let label = format!(r#"<a href="{link}">{}</a>"#, esc(kind.collection));
        body.push_str(&format!("<tr><td>{label}</td><td>{}</td><td>{}</td></tr>", page.total, examples.join(", ")));
    }
    body.push_str("</tbody></table>");
    v.render("Data catalog", &body)
}

#[derive(Deserialize, Default)]
pub struct FqnQuery {
    #[serde(default)]
    fqn: String,
    /// A table page's tab (`overview`, `lineage`, `profile`, `sample`).
    tab: Option<String>,
    /// Lineage depths (`tab=lineage`).
    up: Option<i64>,
    down: Option<i64>,
}

pub async fn entity(v: Viewer, Path(word): Path<String>, Query(q): Query<FqnQuery>) -> Response {
    render_entity(&v, &word, &q, String::new()).await
}

async fn render_entity(v: &Viewer, word: &str, q: &FqnQuery, top: String) -> Response {
    let fqn = q.fqn.as_str();
    let Some(l) = level(word) else {
        return error_page(StatusCode::NOT_FOUND, "Not found", "There is no such catalog page.", "not_found", "");
    };
    let e = match v.state.catalog.read(v.actor(), l.asset.kind, Key::Fqn(fqn), Include::NonDeleted, None).await {
        Ok(e) => crate::routes::data::shown_to(&v.caller, e),
        Err(_) => return error_page(StatusCode::NOT_FOUND, "Not found", &format!("No {} named {fqn}.", l.label.to_lowercase()), "not_found", ""),
    };
    let mut body = top;
    // Breadcrumbs from the references OpenMetadata keeps on every asset.
    let mut crumbs = vec![r#"<a href="/catalog">Catalog</a>"#.to_string()];
    for (field, w) in [("service", "service"), ("database", "database"), ("databaseSchema", "schema")] {
        if let Some(r) = e.get(field).filter(|r| r.is_object()) {
            crumbs.push(link(w, r["fullyQualifiedName"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default()));
        }
    }
    crumbs.push(format!(r#"<span aria-current="page">{}</span>"#, esc(e["name"].as_str().unwrap_or_default())));
    body.push_str(&format!(r#"<nav aria-label="Breadcrumb" class="crumbs">{}</nav>"#, crumbs.join(" › ")));
    body.push_str(&format!(
        r#"<dl class="facts" id="entity"><dt>{label}</dt><dd id="entity-name">{name}</dd><dt>Fully qualified name</dt><dd><code>{fqn}</code></dd>{extra}</dl>"#,
        label = esc(l.label),
        name = esc(&label_of(&e)),
        fqn = esc(e["fullyQualifiedName"].as_str().unwrap_or_default()),
        extra = [("serviceType", "Service type"), ("tableType", "Table type")]
            .iter()
            .filter_map(|(k, label)| e[*k].as_str().map(|x| format!("<dt>{label}</dt><dd>{}</dd>", esc(x))))
            .collect::<String>()
    ));
    if word == "table" {
        let tab = q.tab.as_deref().filter(|t| table_tabs::TABS.iter().any(|(name, _)| name == t)).unwrap_or("overview");
        body.push_str(&table_tabs::tab_bar(fqn, tab).into_string());
        let shown = match tab {
            "lineage" => Some(table_tabs::lineage_tab(v, fqn, q.up, q.down).await),
            "profile" => Some(table_tabs::profile_tab(v, fqn).await),
            "quality" => Some(table_tabs::quality_tab(v, fqn).await),
            "sample" => Some(table_tabs::sample_tab(v, e["id"].as_str().unwrap_or_default()).await),
            _ => None,
        };
        if let Some(markup) = shown {
            body.push_str(&markup.into_string());
            return v.render(&format!("{}: {}", l.label, e["name"].as_str().unwrap_or_default()), &body);
        }
    }
    let description = e["description"].as_str().unwrap_or_default();
    body.push_str(r#"<h2 id="description-heading">Description</h2>"#);
    body.push_str(&format!(r#"<p id="description">{}</p>"#, if description.is_empty() { "<em>No description.</em>".to_string() } else { esc(description) }));
    if v.may(l.asset.kind, &e, Operation::EditDescription).await {
        body.push_str(&format!(
            r#"<form method="post" action="/catalog/{word}/description" class="stack" id="description-form">{csrf}
<input type="hidden" name="fqn" value="{fqn}">
<label for="description-input">Edit the description</label>
<textarea id="description-input" name="description" rows="4">{description}</textarea>
<button type="submit" id="save-description">Save description</button>
</form>"#,
            csrf = v.csrf_field(),
            fqn = esc(fqn),
            description = esc(description)
        ));
    }
    if word == "table" {
        body.push_str(&columns(&e));
    }
    if let Some(child) = l.child.and_then(level) {
        let children = v.state.catalog.list_assets(v.actor(), child.asset, &listing(Some(fqn)), None).await.map(|p| p.data).unwrap_or_default();
        body.push_str(&format!(r#"<h2 id="children">{}s</h2>"#, esc(child.label)));
        if children.is_empty() {
            body.push_str(&notice("info", "no-children", "None yet."));
        } else {
            body.push_str(r#"<table class="list" id="child-list"><thead><tr><th scope="col">Name</th><th scope="col">Description</th></tr></thead><tbody>"#);
            for c in &children {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    link(child.word, c["fullyQualifiedName"].as_str().unwrap_or_default(), &label_of(c)),
                    esc(c["description"].as_str().unwrap_or_default())
                ));
            }
            body.push_str("</tbody></table>");
        }
    }
    v.render(&format!("{}: {}", l.label, e["name"].as_str().unwrap_or_default()), &body)
}

fn columns(table: &Value) -> String {
    let cols = table["columns"].as_array().cloned().unwrap_or_default();
    let mut out = String::from(r#"<h2 id="columns">Columns</h2><table class="list" id="column-list"><thead><tr><th scope="col">Column</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>"#);
    for c in &cols {
        let data_type = c["dataTypeDisplay"].as_str().or(c["dataType"].as_str()).unwrap_or_default();
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(c["name"].as_str().unwrap_or_default()),
            esc(data_type),
            esc(c["description"].as_str().unwrap_or_default())
        ));
    }
    out.push_str("</tbody></table>");
    out
}

#[derive(Deserialize)]
pub struct DescriptionForm {
    csrf: String,
    fqn: String,
    description: String,
}

/// Saves a description through the same JSON Patch handler as `PATCH /api/v1/<assets>/{id}`.
pub async fn save_description(v: Viewer, Path(word): Path<String>, Form(form): Form<DescriptionForm>) -> Response {
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    let Some(l) = level(&word) else {
        return error_page(StatusCode::NOT_FOUND, "Not found", "There is no such catalog page.", "not_found", "");
    };
    let Ok(e) = v.state.catalog.read(v.actor(), l.asset.kind, Key::Fqn(&form.fqn), Include::NonDeleted, None).await else {
        return error_page(StatusCode::NOT_FOUND, "Not found", "That entity no longer exists.", "not_found", "");
    };
    let id = e["id"].as_str().unwrap_or_default().to_string();
    let patch: json_patch::Patch = match serde_json::from_value(json!([{"op": "add", "path": "/description", "value": form.description.trim()}])) {
        Ok(p) => p,
        Err(err) => return error_page(StatusCode::BAD_REQUEST, "Catalog", "Bad request.", "bad_request", &err.to_string()),
    };
    match v.state.catalog.patch_asset(v.actor(), l.asset, &id, &patch).await {
        Ok(_) => render_entity(&v, &word, &FqnQuery { fqn: form.fqn.clone(), tab: None, up: None, down: None }, notice("ok", "description-saved", "Description saved.")).await,
        Err(err) => {
            let err = crate::error::ApiError::from(err);
            error_page(err.status, "Catalog", &err.message, "patch_failed", "")
        }
    }
}

/// Catalog search hits for the search page: (type, label, link).
pub async fn search(v: &Viewer, needle: &str) -> Vec<(String, String, String)> {
    let params = match serde_json::from_value(json!({"q": needle, "index": "all", "size": 50})) {
        Ok(p) => p,
        Err(_) => return vec![],
    };
    let Ok(found) = crate::ops::search::query(&v.state, &v.caller, params).await else { return vec![] };
    found["hits"]["hits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|h| {
            let source = &h["_source"];
            let entity_type = source["entityType"].as_str()?;
            let fqn = source["fullyQualifiedName"].as_str().unwrap_or_default();
            let href = match level_of_type(entity_type) {
                Some(l) => format!("/catalog/{}?fqn={}", l.word, query_value(fqn)),
                None => String::new(),
            };
            Some((entity_type.to_string(), format!("{} — {fqn}", label_of(source)), href))
        })
        .collect()
}
