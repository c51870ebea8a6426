//! A table page's tabs beside its overview: lineage (a server-rendered graph with depth
//! controls, each neighbour a link to its page), profile (row count over time, null and
//! distinct ratios per column), data quality (each test's latest result and its history) and
//! sample data. Each calls the catalog use case the REST API
//! calls, with the viewer as caller, so a tab shows what the API would answer them (a policy
//! that hides sample rows hides them here too). Templates escape by default (maud).

use std::collections::HashMap;

use ferrometa_catalog::lineage::Depth;
use ferrometa_catalog::profiles::{ProfileKind, TimeRange};
use ferrometa_catalog::{CatalogError, Key};
use maud::{Markup, html};
use serde_json::Value;

use super::Viewer;
use super::html::query_value;

/// The tabs of a table page, by their `tab=` value.
pub const TABS: &[(&str, &str)] = &[("overview", "Overview"), ("lineage", "Lineage"), ("profile", "Profile"), ("quality", "Data quality"), ("sample", "Sample data")];

pub fn tab_bar(fqn: &str, current: &str) -> Markup {
    html! {
        nav.tabs aria-label="Table views" id="table-tabs" {
            @for (tab, label) in TABS {
                @if *tab == current {
                    span aria-current="page" id={ "tab-" (tab) } { (label) }
                } @else {
                    a href={ "/catalog/table?fqn=" (query_value(fqn)) "&tab=" (tab) } id={ "tab-" (tab) } { (label) }
                }
            }
        }
    }
}

/// What a tab says when the use case refuses or fails.
fn refusal(id: &str, e: &CatalogError) -> Markup {
    let text = match e {
        CatalogError::Forbidden(_) => "Your roles and policies do not let you see this.".to_string(),
        other => other.to_string(),
    };
    html! { p.notice.warn id=(id) role="status" { (text) } }
}

const BOX_W: i64 = 190;
const BOX_H: i64 = 36;
const GAP_X: i64 = 70;
const GAP_Y: i64 = 18;

/// The level of each node: upstream nodes left of the table (negative), downstream right.
fn levels(root: &str, lineage: &Value) -> HashMap<String, i64> {
    let mut level = HashMap::from([(root.to_string(), 0)]);
    // Depths are at most 3, so as many passes settle every level.
    for _ in 0..=Depth::MAX {
        for (list, step) in [("upstreamEdges", -1), ("downstreamEdges", 1)] {
            for edge in lineage[list].as_array().into_iter().flatten() {
                let (from, to) = (edge["fromEntity"].as_str().unwrap_or_default(), edge["toEntity"].as_str().unwrap_or_default());
                let (known, other) = if step < 0 { (to, from) } else { (from, to) };
                if let Some(&l) = level.get(known) {
                    level.entry(other.to_string()).or_insert(l + step);
                }
            }
        }
    }
    level
}

fn node_link(node: &Value) -> Option<String> {
    let fqn = node["fullyQualifiedName"].as_str()?;
    (node["type"] == "table").then(|| format!("/catalog/table?fqn={}&tab=lineage", query_value(fqn)))
}

/// The lineage graph as SVG: one column per level, a box per entity, a line per edge.
fn lineage_graph(lineage: &Value) -> Markup {
    let root = lineage["entity"]["id"].as_str().unwrap_or_default();
    let level = levels(root, lineage);
    let nodes: Vec<&Value> = std::iter::once(&lineage["entity"]).chain(lineage["nodes"].as_array().into_iter().flatten()).collect();
    let min = level.values().copied().min().unwrap_or(0);
    let mut rows: HashMap<i64, i64> = HashMap::new();
    let mut place: HashMap<&str, (i64, i64)> = HashMap::new();
    for node in &nodes {
        let id = node["id"].as_str().unwrap_or_default();
        let Some(&l) = level.get(id) else { continue };
        let row = rows.entry(l).or_insert(0);
        place.insert(id, ((l - min) * (BOX_W + GAP_X) + 10, *row * (BOX_H + GAP_Y) + 10));
        *row += 1;
    }
    let width = place.values().map(|(x, _)| x + BOX_W + 10).max().unwrap_or(BOX_W + 20);
    let height = place.values().map(|(_, y)| y + BOX_H + 10).max().unwrap_or(BOX_H + 20);
    let edges: Vec<(i64, i64, i64, i64)> = ["upstreamEdges", "downstreamEdges"]
        .iter()
        .flat_map(|list| lineage[*list].as_array().into_iter().flatten())
        .filter_map(|e| {
            let (fx, fy) = place.get(e["fromEntity"].as_str()?)?;
            let (tx, ty) = place.get(e["toEntity"].as_str()?)?;
            Some((fx + BOX_W, fy + BOX_H / 2, *tx, ty + BOX_H / 2))
        })
        .collect();
    html! {
        svg.lineage id="lineage-graph" role="img" aria-label="Lineage graph" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } {
            @for (x1, y1, x2, y2) in &edges {
                line.edge x1=(x1) y1=(y1) x2=(x2) y2=(y2) {}
            }
            @for node in &nodes {
                @if let Some((x, y)) = place.get(node["id"].as_str().unwrap_or_default()) {
                    @let name = node["displayName"].as_str().or(node["name"].as_str()).unwrap_or_default();
                    @let class = if node["id"].as_str() == Some(root) { "node root" } else { "node" };
                    g class=(class) data-fqn=(node["fullyQualifiedName"].as_str().unwrap_or_default()) {
                        rect x=(x) y=(y) width=(BOX_W) height=(BOX_H) rx="4" {}
                        @match node_link(node) {
                            Some(href) => a href=(href) { text x=(x + 8) y=(y + 22) { (name) } },
                            None => text x=(x + 8) y=(y + 22) { (name) " (" (node["type"].as_str().unwrap_or_default()) ")" },
                        }
                    }
                }
            }
        }
    }
}

fn depth_select(name: &str, label: &str, current: i64) -> Markup {
    html! {
        label for=(name) { (label) }
        select id=(name) name=(name) {
            @for d in 0..=Depth::MAX {
                option value=(d) selected[d == current] { (d) }
            }
        }
    }
}

pub async fn lineage_tab(v: &Viewer, fqn: &str, up: Option<i64>, down: Option<i64>) -> Markup {
    let depths = Depth::parse("upstreamDepth", up).and_then(|u| Ok((u, Depth::parse("downstreamDepth", down)?)));
    let answer = match depths {
        Ok((u, d)) => v.state.catalog.lineage(v.actor(), "table", Key::Fqn(fqn), u, d).await,
        Err(e) => Err(e),
    };
    html! {
        h2 id="lineage-heading" { "Lineage" }
        form.inline method="get" action="/catalog/table" id="lineage-depths" {
            input type="hidden" name="fqn" value=(fqn);
            input type="hidden" name="tab" value="lineage";
            (depth_select("up", "Upstream depth", up.unwrap_or(1)))
            (depth_select("down", "Downstream depth", down.unwrap_or(1)))
            button type="submit" id="show-lineage" { "Show" }
        }
        @match &answer {
            Ok(lineage) if lineage["nodes"].as_array().is_none_or(Vec::is_empty) => p.notice id="no-lineage" { "No lineage within these depths." },
            Ok(lineage) => (lineage_graph(lineage)),
            Err(e) => (refusal("lineage-refused", e)),
        }
    }
}

/// A polyline of values over time (oldest left), scaled to the box.
fn line_chart(id: &str, label: &str, points: &[(i64, f64)]) -> Markup {
    let (w, h) = (480.0, 120.0);
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1.0);
    let step = if points.len() > 1 { w / (points.len() - 1) as f64 } else { 0.0 };
    let coords: Vec<String> = points.iter().enumerate().map(|(i, (_, y))| format!("{:.1},{:.1}", i as f64 * step, h - y / max * (h - 10.0))).collect();
    html! {
        figure id=(id) {
            svg.chart role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } {
                polyline points=(coords.join(" ")) {}
                @for (i, (_, y)) in points.iter().enumerate() {
                    circle cx=(format!("{:.1}", i as f64 * step)) cy=(format!("{:.1}", h - y / max * (h - 10.0))) r="3" { title { (y) } }
                }
            }
            figcaption { (label) ", " (points.len()) " runs, at most " (max) }
        }
    }
}

/// A horizontal bar for a ratio between 0 and 1.
fn ratio_bar(ratio: Option<f64>) -> Markup {
    match ratio {
        Some(r) => html! {
            svg.bar width="100" height="10" role="img" aria-label=(format!("{:.0}%", r * 100.0)) xmlns="http://www.w3.org/2000/svg" {
                rect width=(format!("{:.0}", (r.clamp(0.0, 1.0) * 100.0))) height="10" {}
            }
            " " (format!("{:.0}%", r * 100.0))
        },
        None => html! { "–" },
    }
}

fn null_ratio(profile: &Value) -> Option<f64> {
    profile["nullProportion"].as_f64().or_else(|| {
        let nulls = profile["nullCount"].as_f64()?;
        let total = nulls + profile["valuesCount"].as_f64()?;
        (total > 0.0).then(|| nulls / total)
    })
}

pub async fn profile_tab(v: &Viewer, fqn: &str) -> Markup {
    let now = ferrometa_store::now_ms();
    let catalog = &v.state.catalog;
    let runs = match TimeRange::parse(Some(now - 30 * 86_400_000), Some(now)) {
        Ok(range) => catalog.profiles(v.actor(), ProfileKind::Table, fqn, range).await,
        Err(e) => Err(e),
    };
    let latest = catalog.latest_table_profile(v.actor(), fqn, true).await;
    html! {
        h2 id="profile-heading" { "Profile" }
        @match (&runs, &latest) {
            (Ok(runs), Ok(table)) => {
                @let mut points: Vec<(i64, f64)> = runs["data"].as_array().into_iter().flatten().filter_map(|p| Some((p["timestamp"].as_i64()?, p["rowCount"].as_f64()?))).collect();
                @if points.is_empty() {
                    p.notice id="no-profile" { "Not profiled in the last 30 days." }
                } @else {
                    ({ points.sort_by_key(|p| p.0); line_chart("row-count-chart", "Row count over the last 30 days", &points) })
                }
                table.list id="column-profile" {
                    thead { tr { th scope="col" { "Column" } th scope="col" { "Null ratio" } th scope="col" { "Distinct ratio" } } }
                    tbody {
                        @for c in table["columns"].as_array().into_iter().flatten() {
                            tr {
                                td { (c["name"].as_str().unwrap_or_default()) }
                                td { (ratio_bar(null_ratio(&c["profile"]))) }
                                td { (ratio_bar(c["profile"]["distinctProportion"].as_f64())) }
                            }
                        }
                    }
                }
            }
            (Err(e), _) | (_, Err(e)) => (refusal("profile-refused", e)),
        }
    }
}

/// The last 30 days of a table's test results: per test case its latest status, then every
/// run, newest first.
pub async fn quality_tab(v: &Viewer, fqn: &str) -> Markup {
    let now = ferrometa_store::now_ms();
    let answer = match TimeRange::parse(Some(now - 30 * 86_400_000), Some(now)) {
        Ok(range) => v.state.catalog.table_quality(v.actor(), fqn, range).await,
        Err(e) => Err(e),
    };
    html! {
        h2 id="quality-heading" { "Data quality" }
        @match &answer {
            Ok(cases) if cases.is_empty() => p.notice id="no-tests" { "No tests on this table." },
            Ok(cases) => {
                table.list id="test-results" {
                    thead { tr { th scope="col" { "Test" } th scope="col" { "Definition" } th scope="col" { "Latest" } th scope="col" { "History (newest first)" } } }
                    tbody {
                        @for (case, runs) in cases {
                            @let status = |r: &Value| r["testCaseStatus"].as_str().unwrap_or("–").to_string();
                            tr data-test=(case["name"].as_str().unwrap_or_default()) {
                                td { (case["name"].as_str().unwrap_or_default()) }
                                td { (case["testDefinition"]["name"].as_str().unwrap_or_default()) }
                                td.status { (runs.first().map(status).unwrap_or_else(|| "not run".to_string())) }
                                td.history {
                                    @for run in runs {
                                        span class={ "run " (status(run).to_lowercase()) } title=(run["result"].as_str().unwrap_or_default()) { (status(run)) } " "
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => (refusal("quality-refused", e)),
        }
    }
}

pub async fn sample_tab(v: &Viewer, table_id: &str) -> Markup {
    let answer = v.state.catalog.sample_data(v.actor(), table_id).await;
    html! {
        h2 id="sample-heading" { "Sample data" }
        @match &answer {
            Ok(table) if table["sampleData"].is_null() => p.notice id="no-sample" { "No sample data." },
            Ok(table) => {
                table.list id="sample-rows" {
                    thead { tr { @for c in table["sampleData"]["columns"].as_array().into_iter().flatten() { th scope="col" { (c.as_str().unwrap_or_default()) } } } }
                    tbody {
                        @for row in table["sampleData"]["rows"].as_array().into_iter().flatten() {
                            tr { @for cell in row.as_array().into_iter().flatten() { td { (cell_text(cell)) } } }
                        }
                    }
                }
            }
            Err(e) => (refusal("sample-refused", e)),
        }
    }
}

fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_put_upstream_left_and_downstream_right() {
        let lineage = json!({
            "entity": {"id": "c"},
            "upstreamEdges": [{"fromEntity": "b", "toEntity": "c"}, {"fromEntity": "a", "toEntity": "b"}],
            "downstreamEdges": [{"fromEntity": "c", "toEntity": "d"}],
        });
        let l = levels("c", &lineage);
        assert_eq!((l["a"], l["b"], l["c"], l["d"]), (-2, -1, 0, 1));
    }

    #[test]
    fn names_in_the_graph_are_escaped() {
        let lineage = json!({"entity": {"id": "c", "name": "<script>x</script>", "type": "table", "fullyQualifiedName": "s.d.x.c"}, "nodes": [], "upstreamEdges": [], "downstreamEdges": []});
        let svg = lineage_graph(&lineage).into_string();
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"), "{svg}");
    }
}
