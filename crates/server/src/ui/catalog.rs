//! The data catalog pages: service → database → schema → table.
//!
//! Hook: the catalog entities (database services, databases, schemas, tables) are being added
//! in `ferrometa_catalog::data` / `routes::data`. Until they exist in this build, the page lists
//! what the catalog holds today (users, bots, roles) and [`search`] finds nothing more; when
//! they land, `index` lists services and the nested pages follow their `fullyQualifiedName`s.

use axum::response::Response;
use ferrometa_catalog::kinds::{BOT, ROLE, USER};
use ferrometa_store::Include;

use super::Viewer;
use super::html::{esc, notice};

pub async fn index(v: Viewer) -> Response {
    let mut body = notice("info", "catalog-empty", "No data assets yet: database services, databases, schemas and tables appear here once ingestion has written them.");
    body.push_str(r#"<h2 id="entities">What the catalog holds</h2><table class="list"><thead><tr><th scope="col">Entity type</th><th scope="col">Count</th><th scope="col">Examples</th></tr></thead><tbody>"#);
    for (kind, link) in [(&USER, "/users"), (&BOT, "/bots"), (&ROLE, "")] {
        let Ok(page) = v.state.catalog.list(kind, None, Include::NonDeleted, 5, None, None).await else { continue };
        let examples: Vec<String> = page.data.iter().filter_map(|e| e["name"].as_str()).map(esc).collect();
        let label = if link.is_empty() { esc(kind.collection) } else { format!(r#"<a href="{link}">{}</a>"#, esc(kind.collection)) };
        body.push_str(&format!("<tr><td>{label}</td><td>{}</td><td>{}</td></tr>", page.total, examples.join(", ")));
    }
    body.push_str("</tbody></table>");
    v.render("Data catalog", &body)
}

/// Catalog search hits beyond users, bots and roles: (type, label, link).
pub async fn search(_v: &Viewer, _needle: &str) -> Vec<(String, String, String)> {
    vec![]
}
