//! Issue 16: OpenMetadata's lineage API through HTTP with real tokens — edges with column
//! lineage written by the ingestion bot, depth-bounded reads both ways, the edge read and
//! patched, deletes by ids, by names and by source, `EditLineage` on both ends, hidden nodes
//! left out, and deleted entities cutting the graph.

mod common;

use common::{person, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SCHEMA: &str = "svc.db.sch";

/// A server with the ingestion bot's tables `raw` → `clean` → `report` (no edges yet).
struct Shop {
    s: TestServer,
    admin: String,
    bot: String,
    ids: std::collections::HashMap<&'static str, String>,
}

impl Shop {
    async fn start() -> Shop {
        let s = TestServer::start(&[]).await;
        let admin = s.admin_token().await;
        let (_, bot) = s.ingestion_bot(&admin).await;
        let ids = shop_tables(&s, &bot, &["raw", "clean", "report"]).await;
        Shop { s, admin, bot, ids }
    }

    fn reference(&self, table: &str) -> Value {
        json!({"id": self.ids[table], "type": "table"})
    }

    fn edge(&self, from: &str, to: &str, details: Value) -> Value {
        json!({"edge": {"fromEntity": self.reference(from), "toEntity": self.reference(to), "lineageDetails": details}})
    }

    async fn put(&self, token: &str, from: &str, to: &str, details: Value) -> (StatusCode, Value) {
        self.s.call(Method::PUT, "/api/v1/lineage", Some(token), Some(self.edge(from, to, details))).await
    }

    async fn lineage(&self, token: &str, table: &str, up: i64, down: i64) -> (StatusCode, Value) {
        self.s.get(&format!("/api/v1/lineage/table/name/{SCHEMA}.{table}?upstreamDepth={up}&downstreamDepth={down}"), Some(token)).await
    }

    /// The tables of a lineage answer's nodes and edges, by name.
    fn shape(&self, lineage: &Value) -> Shape {
        let name_of = |id: &Value| self.ids.iter().find(|(_, v)| json!(v) == *id).map(|(k, _)| k.to_string()).unwrap_or_else(|| id.to_string());
        let mut nodes: Vec<String> = lineage["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_string()).collect();
        nodes.sort();
        // Edges come in no particular order.
        let edges = |list: &str| {
            let mut pairs = lineage[list].as_array().unwrap().iter().map(|e| (name_of(&e["fromEntity"]), name_of(&e["toEntity"]))).collect::<Vec<_>>();
            pairs.sort();
            pairs
        };
        (nodes, edges("upstreamEdges"), edges("downstreamEdges"))
    }

    fn column(&self, table: &str, column: &str) -> String {
        format!("{SCHEMA}.{table}.{column}")
    }
}

/// Node names, upstream edges and downstream edges of a lineage answer, by table name.
type Shape = (Vec<String>, Vec<(String, String)>, Vec<(String, String)>);

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn edges_with_column_lineage_are_walked_to_the_asked_depth() {
    let shop = Shop::start().await;
    let (s, bot) = (&shop.s, shop.bot.as_str());
    let columns = json!([{"fromColumns": [shop.column("raw", "email")], "toColumn": shop.column("clean", "email"), "function": "lower"}]);
    let (status, answer) = shop.put(bot, "raw", "clean", json!({"sqlQuery": "insert into clean select id, lower(email) from raw", "columnsLineage": columns, "source": "QueryLineage"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(shop.put(bot, "clean", "report", json!(null)).await.0, StatusCode::OK);

    let (status, lineage) = shop.lineage(bot, "clean", 1, 1).await;
    assert_eq!(status, StatusCode::OK, "{lineage}");
    assert_eq!(lineage["entity"]["fullyQualifiedName"], json!(format!("{SCHEMA}.clean")));
    assert_eq!(shop.shape(&lineage), (names(&["raw", "report"]), pairs(&[("raw", "clean")]), pairs(&[("clean", "report")])));
    let upstream = &lineage["upstreamEdges"][0]["lineageDetails"];
    assert_eq!((upstream["columnsLineage"].clone(), upstream["source"].clone(), upstream["createdBy"].clone()), (columns, json!("QueryLineage"), json!("ingestion-bot")));
    assert_eq!(lineage["downstreamEdges"][0]["lineageDetails"]["source"], json!("Manual"), "details default to a manual edge");

    let (_, from_raw) = shop.lineage(bot, "raw", 0, 2).await;
    assert_eq!(shop.shape(&from_raw), (names(&["clean", "report"]), pairs(&[]), pairs(&[("clean", "report"), ("raw", "clean")])), "two steps down");
    let (_, one) = s.get(&format!("/api/v1/lineage/table/{}?downstreamDepth=1&upstreamDepth=0", shop.ids["raw"]), Some(bot)).await;
    assert_eq!(shop.shape(&one), (names(&["clean"]), pairs(&[]), pairs(&[("raw", "clean")])), "one step, by id");
    let (status, too_deep) = shop.lineage(bot, "raw", 4, 1).await;
    assert_eq!((status, too_deep["message"].clone()), (StatusCode::BAD_REQUEST, json!("query param upstreamDepth must be less than or equal to 3")));
    let (status, unknown) = s.get("/api/v1/lineage/unicorn/name/x", Some(bot)).await;
    assert_eq!((status, unknown["message"].clone()), (StatusCode::NOT_FOUND, json!("Entity type unicorn not found")));
    shop.s.stop().await;
}

#[tokio::test]
async fn an_edge_is_read_patched_and_its_columns_checked() {
    let shop = Shop::start().await;
    let (s, bot) = (&shop.s, shop.bot.as_str());
    assert_eq!(shop.put(bot, "raw", "clean", json!({"sqlQuery": "q1"})).await.0, StatusCode::OK);
    let edge_path = format!("/api/v1/lineage/getLineageEdge/{}/{}", shop.ids["raw"], shop.ids["clean"]);
    let (status, edge) = s.get(&edge_path, Some(bot)).await;
    assert_eq!((status, edge["edge"]["sqlQuery"].clone(), edge["edge"]["columnsLineage"].clone()), (StatusCode::OK, json!("q1"), json!([])), "{edge}");
    let created_at = edge["edge"]["createdAt"].clone();

    let patch_path = format!("/api/v1/lineage/table/{}/table/{}", shop.ids["raw"], shop.ids["clean"]);
    let mapping = json!({"fromColumns": [shop.column("raw", "id")], "toColumn": shop.column("clean", "id")});
    let (status, patched) = s.patch(&patch_path, bot, json!([{"op": "add", "path": "/columnsLineage/0", "value": mapping}])).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (_, edge) = s.get(&edge_path, Some(bot)).await;
    assert_eq!((edge["edge"]["columnsLineage"].clone(), edge["edge"]["sqlQuery"].clone(), edge["edge"]["createdAt"].clone()), (json!([mapping]), json!("q1"), created_at), "patched, the rest kept");

    let wrong = json!({"fromColumns": [shop.column("raw", "nope")], "toColumn": shop.column("clean", "id")});
    let (status, refused) = s.patch(&patch_path, bot, json!([{"op": "add", "path": "/columnsLineage/-", "value": wrong}])).await;
    assert_eq!((status, refused["message"].clone()), (StatusCode::BAD_REQUEST, json!(format!("Invalid fully qualified column name {}", shop.column("raw", "nope")))));
    let (status, refused) = shop.put(bot, "raw", "clean", json!({"columnsLineage": [{"fromColumns": [shop.column("raw", "id")], "toColumn": shop.column("report", "id")}]})).await;
    assert_eq!((status, refused["message"].clone()), (StatusCode::BAD_REQUEST, json!(format!("Invalid fully qualified column name {}", shop.column("report", "id")))), "a column of another table");
    let (status, refused) = shop.put(bot, "raw", "clean", json!({"source": "Telepathy"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown source: {refused}");
    let (status, refused) = s.call(Method::PUT, "/api/v1/lineage", Some(bot), Some(json!({"edge": {"fromEntity": shop.reference("raw")}}))).await;
    assert_eq!((status, refused["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "an edge without its downstream end: {refused}");
    let ghost = json!({"edge": {"fromEntity": shop.reference("raw"), "toEntity": {"id": uuid_like(), "type": "table"}}});
    assert_eq!(s.call(Method::PUT, "/api/v1/lineage", Some(bot), Some(ghost)).await.0, StatusCode::NOT_FOUND, "an end that does not exist");
    let (status, missing) = s.get(&format!("/api/v1/lineage/getLineageEdge/{}/{}", shop.ids["clean"], shop.ids["raw"]), Some(bot)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "edges have a direction: {missing}");
    shop.s.stop().await;
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}

#[tokio::test]
async fn edges_are_deleted_by_ids_names_source_and_with_their_entities() {
    let shop = Shop::start().await;
    let (s, bot) = (&shop.s, shop.bot.as_str());
    assert_eq!(shop.put(bot, "raw", "clean", json!({"source": "ViewLineage"})).await.0, StatusCode::OK);
    assert_eq!(shop.put(bot, "clean", "report", json!(null)).await.0, StatusCode::OK);
    assert_eq!(shop.put(bot, "raw", "report", json!(null)).await.0, StatusCode::OK);

    let by_source = format!("/api/v1/lineage/table/{}/type/ViewLineage", shop.ids["clean"]);
    assert_eq!(s.call(Method::DELETE, &by_source, Some(bot), None).await.0, StatusCode::OK);
    let (_, lineage) = shop.lineage(bot, "clean", 1, 1).await;
    assert_eq!(shop.shape(&lineage), (names(&["report"]), pairs(&[]), pairs(&[("clean", "report")])), "only the ViewLineage edge went");

    let by_name = format!("/api/v1/lineage/table/name/{SCHEMA}.clean/table/name/{SCHEMA}.report");
    assert_eq!(s.call(Method::DELETE, &by_name, Some(bot), None).await.0, StatusCode::OK);
    let (status, again) = s.call(Method::DELETE, &by_name, Some(bot), None).await;
    assert_eq!((status, again["message"].clone()), (StatusCode::NOT_FOUND, json!("Lineage edge not found")));

    // A soft-deleted table leaves the graph; restored, it is back; hard-deleted, its edges go.
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{}", shop.ids["report"]), Some(&shop.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, lineage) = shop.lineage(bot, "raw", 0, 1).await;
    assert_eq!(shop.shape(&lineage), (names(&[]), pairs(&[]), pairs(&[])), "nothing reaches a deleted table");
    let (status, _) = s.call(Method::PUT, "/api/v1/tables/restore", Some(&shop.admin), Some(json!({"id": shop.ids["report"]}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, lineage) = shop.lineage(bot, "raw", 0, 1).await;
    assert_eq!(shop.shape(&lineage), (names(&["report"]), pairs(&[]), pairs(&[("raw", "report")])), "restored");
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{}?hardDelete=true", shop.ids["report"]), Some(&shop.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get(&format!("/api/v1/lineage/getLineageEdge/{}/{}", shop.ids["raw"], shop.ids["report"]), Some(bot)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a hard delete takes the table's edges");
    shop.s.stop().await;
}

#[tokio::test]
async fn editing_lineage_needs_edit_lineage_on_both_ends_and_hidden_nodes_stay_hidden() {
    let shop = Shop::start().await;
    let (s, admin) = (&shop.s, shop.admin.as_str());
    let consumer = person(s, admin, "carol", json!({})).await;
    let (status, refused) = shop.put(&consumer.token, "raw", "clean", json!(null)).await;
    let message = "Principal: CatalogPrincipal{name='carol'} operations [EditLineage] not allowed";
    assert_eq!((status, refused["message"].clone()), (StatusCode::FORBIDDEN, json!(message)), "a data consumer");

    let (_, steward_role) = s.get("/api/v1/roles/name/DataSteward", Some(admin)).await;
    let steward = person(s, admin, "stella", json!({"roles": [steward_role["id"]]})).await;
    assert_eq!(shop.put(&steward.token, "raw", "clean", json!(null)).await.0, StatusCode::OK, "a data steward");

    // An owner of one end only may not link it to a table it cannot edit.
    let owner = person(s, admin, "otto", json!({})).await;
    let owners = json!([{"op": "add", "path": "/owners", "value": [{"id": owner.id, "type": "user"}]}]);
    assert_eq!(s.patch(&format!("/api/v1/tables/{}", shop.ids["report"]), admin, owners).await.0, StatusCode::OK);
    let (status, refused) = shop.put(&owner.token, "clean", "report", json!(null)).await;
    assert_eq!((status, refused["message"].clone()), (StatusCode::FORBIDDEN, json!("Principal: CatalogPrincipal{name='otto'} operations [EditLineage] not allowed")), "owner of the downstream end only");
    assert_eq!(shop.put(&steward.token, "clean", "report", json!(null)).await.0, StatusCode::OK);
    let delete = format!("/api/v1/lineage/table/{}/table/{}", shop.ids["clean"], shop.ids["report"]);
    assert_eq!(s.call(Method::DELETE, &delete, Some(&consumer.token), None).await.0, StatusCode::FORBIDDEN, "a consumer deletes no edge");

    // A table its policies hide from a reader is not among the nodes, nor its edges.
    for (path, body) in [("/api/v1/classifications", json!({"name": "PII", "description": "d"})), ("/api/v1/tags", json!({"name": "Sensitive", "description": "d", "classification": "PII"}))] {
        let (status, answer) = s.call(Method::PUT, path, Some(admin), Some(body)).await;
        assert!(status.is_success(), "{path}: {answer}");
    }
    let tag = json!([{"op": "add", "path": "/tags", "value": [{"tagFQN": "PII.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]}]);
    assert_eq!(s.patch(&format!("/api/v1/tables/{}", shop.ids["report"]), admin, tag).await.0, StatusCode::OK);
    let (status, _) = s.call(Method::POST, "/api/v1/policies", Some(admin), Some(json!({"name": "NoPii", "rules": [{"name": "hide-pii", "effect": "deny", "operations": ["ViewAll"], "resources": ["table"], "condition": "matchAnyTag('PII.Sensitive') && !isOwner()"}]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, fence) = s.call(Method::POST, "/api/v1/roles", Some(admin), Some(json!({"name": "PiiFence", "policies": ["NoPii"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{fence}");
    let fenced = person(s, admin, "fenced", json!({"roles": [fence["id"]]})).await;
    let (status, lineage) = shop.lineage(&fenced.token, "clean", 1, 1).await;
    assert_eq!(status, StatusCode::OK, "{lineage}");
    assert_eq!(shop.shape(&lineage), (names(&["raw"]), pairs(&[("raw", "clean")]), pairs(&[])), "the PII table is left out");
    let (_, seen) = shop.lineage(&consumer.token, "clean", 1, 1).await;
    assert_eq!(shop.shape(&seen), (names(&["raw", "report"]), pairs(&[("raw", "clean")]), pairs(&[("clean", "report")])), "others see it");
    let (status, _) = shop.lineage(&fenced.token, "report", 1, 1).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor is its own lineage readable");
    shop.s.stop().await;
}
