//! Home (who is signed in, a search box, where to go next) and search across the catalog.

use axum::extract::Query;
use axum::response::Response;
use ferrometa_catalog::{EntityKind, Listing};
use ferrometa_catalog::kinds::{BOT, POLICY, ROLE, USER};
use ferrometa_store::Include;
use serde::Deserialize;
use serde_json::Value;

use super::html::{esc, notice, path_segment};
use super::{Viewer, catalog, display_name};

/// Most entities of one type scanned by the UI's search.
const SEARCH_SCAN: i64 = 1000;

fn search_form(q: &str) -> String {
    format!(
        r#"<form method="get" action="/search" role="search" class="search">
<label for="q">Search the catalog</label>
<input id="q" name="q" type="search" value="{}" placeholder="tables, users, bots, roles…">
<button type="submit" id="search-submit">Search</button>
</form>"#,
        esc(q)
    )
}

pub async fn home(v: Viewer) -> Response {
    let user = v.caller.user.clone().unwrap_or_default();
    let name = display_name(&v.caller).to_string();
    let mut body = format!(
        r#"<p class="welcome" id="welcome">Welcome, <strong id="user-name">{name}</strong>.</p>
<p class="muted">Signed in as <span id="user-email">{email}</span>{admin}.</p>
{search}
<section aria-labelledby="next-steps"><h2 id="next-steps">Where to next</h2>
<ul class="cards" id="places">"#,
        name = esc(&name),
        email = esc(user["email"].as_str().unwrap_or_default()),
        admin = if v.caller.is_admin() { " (administrator)" } else { "" },
        search = search_form("")
    );
    // The places the viewer may open, as the navigation bar lists them.
    for place in &v.places {
        body.push_str(&format!(r#"<li><a href="{}">{}</a></li>"#, place.href, esc(place.card)));
    }
    body.push_str("</ul></section>");
    v.render("Home", &body)
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn matches(entity: &Value, needle: &str) -> bool {
    ["name", "displayName", "email", "description", "fullyQualifiedName"]
        .iter()
        .filter_map(|k| entity[*k].as_str())
        .any(|text| text.to_lowercase().contains(needle))
}

pub async fn search(v: Viewer, Query(q): Query<SearchQuery>) -> Response {
    let needle = q.q.trim().to_lowercase();
    let mut body = search_form(q.q.trim());
    if needle.is_empty() {
        return v.render("Search", &body);
    }
    let mut hits: Vec<(String, String, String)> = vec![];
    let kinds: [&EntityKind; 4] = [&USER, &BOT, &ROLE, &POLICY];
    for kind in kinds {
        let listing = Listing { under: None, include: Include::NonDeleted, limit: SEARCH_SCAN, after: None, before: None };
        if let Ok(page) = v.state.catalog.read_list(v.actor(), kind, &listing, None).await {
            for e in page.data.iter().filter(|e| matches(e, &needle)) {
                let name = e["name"].as_str().unwrap_or_default();
                let label = match e["displayName"].as_str().filter(|d| !d.is_empty() && *d != name) {
                    Some(d) => format!("{d} ({name})"),
                    None => name.to_string(),
                };
                let link = match kind.name {
                    "user" => format!("/users/{}", path_segment(name)),
                    "role" => format!("/roles/{}", path_segment(name)),
                    "policy" => format!("/policies/{}", path_segment(name)),
                    _ => "/bots".to_string(),
                };
                hits.push((kind.name.to_string(), label, link));
            }
        }
    }
    hits.extend(catalog::search(&v, &needle).await);
    if hits.is_empty() {
        body.push_str(&notice("info", "no-results", &format!("Nothing matches \u{201c}{}\u{201d}.", q.q.trim())));
    } else {
        body.push_str(&format!(r#"<p id="result-count">{} result(s)</p><table class="list" id="results"><thead><tr><th scope="col">Type</th><th scope="col">Name</th></tr></thead><tbody>"#, hits.len()));
        for (kind, label, link) in hits {
            let name = if link.is_empty() { esc(&label) } else { format!(r#"<a href="{}">{}</a>"#, esc(&link), esc(&label)) };
            body.push_str(&format!("<tr><td>{}</td><td>{name}</td></tr>", esc(&kind)));
        }
        body.push_str("</tbody></table>");
    }
    v.render("Search", &body)
}
