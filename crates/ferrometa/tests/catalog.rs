//! Issue 5: the data catalog over HTTP. Database services, databases, schemas and tables with
//! OpenMetadata's endpoints and shapes: PUT 201/200 without new versions, POST 409, lists with
//! container filters and cursors, JSON Patch, versions, soft/hard/recursive delete, restore,
//! test-connection definitions, search, secrets, access (reads for users, writes for admins and
//! bots) and OpenMetadata-shaped errors.

mod common;

use common::{create_table, hierarchy};

use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn crud_round_trip(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let (svc, db, schema) = hierarchy(s, &bot).await;
    assert_eq!(db["service"]["fullyQualifiedName"], json!("warehouse"));
    assert_eq!(schema["fullyQualifiedName"], json!("warehouse.sales.public"));

    // PUT creates (201), then answers 200 with the same version when nothing changed.
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table("orders"))).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!((t["fullyQualifiedName"].clone(), t["version"].clone(), t["sourceHash"].clone()), (json!("warehouse.sales.public.orders"), json!(0.1), json!("abc123")));
    assert_eq!(t["columns"][1]["fullyQualifiedName"], json!("warehouse.sales.public.orders.customer_name"));
    let (status, again) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table("orders"))).await;
    assert_eq!((status, again.clone()), (StatusCode::OK, t.clone()));
    let (status, dup) = s.call(Method::POST, "/api/v1/tables", Some(&bot), Some(create_table("orders"))).await;
    assert_eq!((status, dup), (StatusCode::CONFLICT, json!({"code": 409, "message": "Entity already exists"})));
    let id = t["id"].as_str().unwrap();

    // Reads: by id, by FQN (percent-encoded, any case), with fields= and include=.
    let (status, by_id) = s.get(&format!("/api/v1/tables/{id}?fields=columns,tableConstraints,tags,owners&include=non-deleted"), Some(&admin)).await;
    let mut with_lists = t.clone();
    (with_lists["tags"], with_lists["owners"]) = (json!([]), json!([]));
    assert_eq!((status, by_id), (StatusCode::OK, with_lists), "requested lists, empty");
    let (status, by_name) = s.get("/api/v1/tables/name/Warehouse.Sales.Public.ORDERS?fields=*", Some(&admin)).await;
    assert_eq!((status, by_name["id"].clone()), (StatusCode::OK, t["id"].clone()));

    // More tables, walked two at a time under each container.
    for name in ["customers", "items", "returns"] {
        let (status, _) = s.call(Method::POST, "/api/v1/tables", Some(&bot), Some(create_table(name))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    for filter in ["databaseSchema=warehouse.sales.public", "database=warehouse.sales", "database=warehouse.sales.public", "service=warehouse"] {
        let mut names = vec![];
        let mut after: Option<String> = None;
        loop {
            let path = format!("/api/v1/tables?{filter}&limit=2{}", after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default());
            let (status, page) = s.get(&path, Some(&admin)).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["paging"]["total"], json!(4));
            names.extend(page["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()));
            match page["paging"]["after"].as_str() {
                Some(a) => after = Some(a.to_string()),
                None => {
                    // And back from the last page.
                    let before = page["paging"]["before"].as_str().unwrap();
                    let (_, prev) = s.get(&format!("/api/v1/tables?{filter}&limit=2&before={before}"), Some(&admin)).await;
                    let prev: Vec<&str> = prev["data"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
                    assert_eq!(prev, ["customers", "items"]);
                    break;
                }
            }
        }
        assert_eq!(names, ["customers", "items", "orders", "returns"], "{filter}");
    }
    let (_, dbs) = s.get("/api/v1/databases?service=warehouse", Some(&admin)).await;
    assert_eq!(dbs["data"][0]["id"], db["id"]);
    let (_, none) = s.get("/api/v1/tables?databaseSchema=warehouse.sales.nope", Some(&admin)).await;
    assert_eq!(none["paging"]["total"], json!(0));

    // PATCH (application/json-patch+json): a new column is a minor version naming it.
    let ops = json!([{"op": "add", "path": "/columns/-", "value": {"name": "loyalty_tier", "dataType": "VARCHAR", "dataLength": 10}},
                     {"op": "replace", "path": "/sourceHash", "value": "def456"}]);
    let (status, patched) = s.patch(&format!("/api/v1/tables/{id}"), &bot, ops).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["version"], json!(0.2));
    assert_eq!(patched["columns"][3]["fullyQualifiedName"], json!("warehouse.sales.public.orders.loyalty_tier"));
    let added = &patched["changeDescription"]["fieldsAdded"][0];
    assert!(added["name"] == json!("columns") && added["newValue"].as_str().unwrap().contains("loyalty_tier"), "{patched}");
    // Removing a column by PUT: a major version naming it.
    let (status, major) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table("orders"))).await;
    assert_eq!((status, major["version"].clone()), (StatusCode::OK, json!(1.0)));
    assert!(major["changeDescription"]["fieldsDeleted"][0]["oldValue"].as_str().unwrap().contains("loyalty_tier"));
    let (status, history) = s.get(&format!("/api/v1/tables/{id}/versions"), Some(&admin)).await;
    assert_eq!((status, history["entityType"].clone(), history["versions"].as_array().unwrap().len()), (StatusCode::OK, json!("table"), 3));
    let (status, v1) = s.get(&format!("/api/v1/tables/{id}/versions/0.1"), Some(&admin)).await;
    assert_eq!((status, v1["version"].clone(), v1["columns"].as_array().unwrap().len()), (StatusCode::OK, json!(0.1), 3));
    let (status, _) = s.get(&format!("/api/v1/tables/{id}/versions/7.5"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting a schema with tables needs recursive=true; OpenMetadata's words otherwise.
    let schema_id = schema["id"].as_str().unwrap();
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/databaseSchemas/{schema_id}"), Some(&bot), None).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"code": 400, "message": "databaseSchema is not empty"})));
    let (status, gone) = s.call(Method::DELETE, &format!("/api/v1/databaseSchemas/{schema_id}?recursive=true&hardDelete=false"), Some(&bot), None).await;
    assert_eq!((status, gone["deleted"].clone()), (StatusCode::OK, json!(true)));
    let (status, _) = s.get(&format!("/api/v1/tables/{id}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, soft) = s.get(&format!("/api/v1/tables/{id}?include=deleted"), Some(&admin)).await;
    assert_eq!((status, soft["deleted"].clone()), (StatusCode::OK, json!(true)));
    let (_, deleted_list) = s.get("/api/v1/tables?database=warehouse.sales&include=deleted", Some(&admin)).await;
    assert_eq!(deleted_list["paging"]["total"], json!(4));
    let (status, restored) = s.call(Method::PUT, "/api/v1/databaseSchemas/restore", Some(&bot), Some(json!({"id": schema_id}))).await;
    assert_eq!((status, restored["deleted"].clone()), (StatusCode::OK, json!(false)));
    let (status, back) = s.get(&format!("/api/v1/tables/{id}"), Some(&admin)).await;
    assert_eq!((status, back["deleted"].clone()), (StatusCode::OK, json!(false)));

    // Hard delete of the whole service, by name.
    let (status, _) = s.call(Method::DELETE, "/api/v1/services/databaseServices/name/warehouse?hardDelete=true&recursive=true", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get(&format!("/api/v1/tables/{id}?include=all"), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get(&format!("/api/v1/services/databaseServices/{}?include=all", svc["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tables_round_trip_through_every_endpoint() {
    let s = TestServer::start(&[]).await;
    crud_round_trip(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn tables_round_trip_on_postgres() {
    let Some(s) = TestServer::start_postgres(&[]).await else { return };
    crud_round_trip(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn users_read_the_catalog_admins_and_bots_write_it() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(&s, &bot).await;
    let rita = common::reader(&s, &admin).await;
    let (status, _) = s.get("/api/v1/services/databaseServices/name/warehouse", Some(&rita)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.call(Method::PUT, "/api/v1/tables", Some(&rita), Some(create_table("orders"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], json!(403));
    let (status, _) = s.call(Method::DELETE, "/api/v1/services/databaseServices/name/warehouse?recursive=true", Some(&rita), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call(Method::PUT, "/api/v1/tables", Some(&admin), Some(create_table("orders"))).await;
    assert_eq!(status, StatusCode::CREATED, "admins write too");
    for path in ["/api/v1/tables", "/api/v1/search/query?q=orders", "/api/v1/services/testConnectionDefinitions/name/SQLite.testConnectionDefinition"] {
        let (status, body) = s.get(path, None).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!(401)), "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn connection_secrets_are_for_bots_only() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let (svc, _, _) = hierarchy(&s, &bot).await;
    assert_eq!(svc["connection"]["config"]["authType"]["password"], json!("s3cret"), "the bot sees what it wrote");
    let (_, as_admin) = s.get("/api/v1/services/databaseServices/name/warehouse", Some(&admin)).await;
    assert_eq!(as_admin["connection"]["config"]["authType"]["password"], json!("*********"));
    assert_eq!(as_admin["connection"]["config"]["username"], json!("etl"));
    // Sending the masked value back keeps the secret; no new version.
    let mut update = json!({"name": "warehouse", "serviceType": "Postgres", "connection": as_admin["connection"].clone()});
    let (status, same) = s.call(Method::PUT, "/api/v1/services/databaseServices", Some(&admin), Some(update.clone())).await;
    assert_eq!((status, same["version"].clone()), (StatusCode::OK, json!(0.1)));
    let (_, as_bot) = s.get("/api/v1/services/databaseServices/name/warehouse", Some(&bot)).await;
    assert_eq!(as_bot["connection"]["config"]["authType"]["password"], json!("s3cret"));
    update["connection"]["config"]["authType"]["password"] = json!("n3w-passw0rd");
    let (_, changed) = s.call(Method::PUT, "/api/v1/services/databaseServices", Some(&bot), Some(update)).await;
    assert_eq!((changed["version"].clone(), changed["connection"]["config"]["authType"]["password"].clone()), (json!(0.2), json!("n3w-passw0rd")));
    let (_, history) = s.get(&format!("/api/v1/services/databaseServices/{}/versions", svc["id"].as_str().unwrap()), Some(&admin)).await;
    assert!(history["versions"].as_array().unwrap().iter().all(|v| !v.as_str().unwrap().contains("s3cret") && !v.as_str().unwrap().contains("n3w-passw0rd")));
    // At rest the secrets are encrypted, in the entity and in every version.
    let store = ferrometa_store::Store::open_sqlite(&s.data_dir.join("ferrometa.db")).await.unwrap();
    let raw = store.entity_by_fqn("databaseService", "warehouse").await.unwrap().unwrap().json;
    assert!(raw.contains("sealed:") && !raw.contains("n3w-passw0rd") && raw.contains("\"etl\""), "{raw}");
    for (_, stored) in store.entity_versions(svc["id"].as_str().unwrap()).await.unwrap() {
        assert!(!stored.contains("s3cret") && !stored.contains("n3w-passw0rd"), "{stored}");
    }
    s.stop().await;
}

#[tokio::test]
async fn test_connection_definitions_and_search() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let (status, def) = s.get("/api/v1/services/testConnectionDefinitions/name/SQLite.testConnectionDefinition", Some(&bot)).await;
    assert_eq!(status, StatusCode::OK, "{def}");
    assert_eq!((def["fullyQualifiedName"].clone(), def["steps"][0]["name"].clone(), def["steps"][0]["mandatory"].clone()), (json!("SQLite.testConnectionDefinition"), json!("CheckAccess"), json!(true)));
    let (status, _) = s.get("/api/v1/services/testConnectionDefinitions/name/Mysql", Some(&bot)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, none) = s.get("/api/v1/services/testConnectionDefinitions/name/Nope.testConnectionDefinition", Some(&bot)).await;
    assert_eq!((status, none["code"].clone()), (StatusCode::NOT_FOUND, json!(404)));
    let (_, list) = s.get("/api/v1/services/testConnectionDefinitions?limit=100", Some(&bot)).await;
    assert!(list["paging"]["total"].as_i64().unwrap() >= 30);

    hierarchy(&s, &bot).await;
    for name in ["orders", "customers"] {
        s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table(name))).await;
    }
    let (status, hits) = s.get("/api/v1/search/query?q=customer_name&index=table_search_index", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits["hits"]["total"]["value"], json!(2), "a column name finds both tables");
    assert_eq!(hits["hits"]["hits"][0]["_source"]["fullyQualifiedName"], json!("warehouse.sales.public.customers"));
    assert_eq!(hits["hits"]["hits"][0]["_index"], json!("table_search_index"));
    let (_, by_name) = s.get("/api/v1/search/query?q=orders&index=table", Some(&admin)).await;
    assert_eq!(by_name["hits"]["total"]["value"], json!(2), "orders is a name and a word of both descriptions");
    let (_, exact) = s.get("/api/v1/search/query?q=name:orders%20shop&index=table_search_index", Some(&admin)).await;
    assert_eq!(exact["hits"]["total"]["value"], json!(2));
    let (_, everything) = s.get("/api/v1/search/query?q=*", Some(&admin)).await;
    assert_eq!(everything["hits"]["total"]["value"], json!(5), "service, database, schema and two tables");
    let (_, services) = s.get("/api/v1/search/query?q=warehouse&index=database_service_search_index", Some(&admin)).await;
    assert_eq!(services["hits"]["hits"][0]["_source"]["connection"]["config"]["authType"]["password"], json!("*********"));
    let (_, for_bot) = s.get("/api/v1/search/query?q=warehouse&index=database_service_search_index", Some(&bot)).await;
    assert_eq!(for_bot["hits"]["hits"][0]["_source"]["connection"]["config"]["authType"]["password"], json!("s3cret"), "search hits open sealed secrets like a GET");
    let (_, field) = s.get("/api/v1/search/fieldQuery?fieldName=fullyQualifiedName&fieldValue=warehouse.*.public.orders&from=0&size=10&index=table_search_index", Some(&bot)).await;
    assert_eq!(field["hits"]["hits"][0]["_source"]["fullyQualifiedName"], json!("warehouse.sales.public.orders"));
    assert_eq!(field["hits"]["total"]["value"], json!(1));
    let (_, under) = s.get("/api/v1/search/fieldQuery?fieldName=fullyQualifiedName&fieldValue=warehouse.sales.*.*&index=table_search_index", Some(&bot)).await;
    assert_eq!(under["hits"]["total"]["value"], json!(2));
    let (status, _) = s.get("/api/v1/search/query?q=x&index=no_such_index", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

/// Full-text search through `/api/v1/search/query`: prefixes, ranking, columns, `index=`,
/// paging, soft-deleted tables, and query syntax that is never an error.
async fn full_text_search(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(s, &bot).await;
    for name in ["orders", "customers"] {
        let (status, _) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table(name))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut refunds = create_table("refunds");
    refunds["description"] = json!("Money paid back");
    refunds["columns"][1] = json!({"name": "reason", "dataType": "VARCHAR", "dataLength": 200, "description": "Why the customer wanted a refund"});
    let (status, refunds) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(refunds)).await;
    assert_eq!(status, StatusCode::CREATED, "{refunds}");
    let search = async |query: &str| {
        let (status, body) = s.get(&format!("/api/v1/search/query?{query}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let fqns: Vec<String> = body["hits"]["hits"].as_array().unwrap().iter().map(|h| h["_source"]["fullyQualifiedName"].as_str().unwrap().to_string()).collect();
        (body, fqns)
    };

    let (body, fqns) = search("q=custom&index=table_search_index").await;
    assert_eq!(fqns, ["warehouse.sales.public.customers", "warehouse.sales.public.orders", "warehouse.sales.public.refunds"], "a prefix; the named table first");
    assert_eq!(body["hits"]["total"]["value"], json!(3));
    let hit = &body["hits"]["hits"][0];
    assert_eq!((hit["_index"].clone(), hit["_source"]["entityType"].clone()), (json!("table_search_index"), json!("table")));
    assert!(hit["_id"].is_string() && hit["_score"].as_f64().unwrap() > body["hits"]["hits"][1]["_score"].as_f64().unwrap(), "{body}");
    assert_eq!(body["hits"]["max_score"], hit["_score"]);
    let (_, fqns) = search("q=refund%20why&index=table_search_index").await;
    assert_eq!(fqns, ["warehouse.sales.public.refunds"], "a table name and a column description");

    let (_, fqns) = search("q=sales&index=database_search_index").await;
    assert_eq!(fqns, ["warehouse.sales"]);
    let (body, _) = search("q=sales&index=all").await;
    assert_eq!(body["hits"]["total"]["value"], json!(5), "the database by name; the schema and tables by FQN");
    assert_eq!(body["hits"]["hits"][0]["_index"], json!("database_search_index"));
    let (page, fqns) = search("q=warehouse&index=table_search_index&from=1&size=1").await;
    assert_eq!((page["hits"]["total"]["value"].clone(), fqns.len()), (json!(3), 1));

    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/tables/{}", refunds["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, fqns) = search("q=refund&index=table_search_index").await;
    assert!(fqns.is_empty(), "soft-deleted tables are not found");
    let (_, fqns) = search("q=refund&index=table_search_index&deleted=true").await;
    assert_eq!(fqns, ["warehouse.sales.public.refunds"]);

    for q in ["%22", "*", ":", "-", "(", ")", "%27", "%5C", "name:", "orders%22*", "NEAR(orders", "-orders", "a%20OR", "%E2%80%94"] {
        search(&format!("q={q}&index=table_search_index")).await;
    }
    for bad in ["size=10001", "from=-1", "from=9999&size=2"] {
        let (status, body) = s.get(&format!("/api/v1/search/query?q=orders&{bad}"), Some(&admin)).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "{bad}");
    }
}

#[tokio::test]
async fn full_text_search_on_sqlite() {
    let s = TestServer::start(&[]).await;
    full_text_search(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn full_text_search_on_postgres() {
    let Some(s) = TestServer::start_postgres(&[]).await else { return };
    full_text_search(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn client_mistakes_are_openmetadata_errors_never_500() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(&s, &bot).await;
    let cases: Vec<(Method, &str, Option<Value>, StatusCode)> = vec![
        (Method::GET, "/api/v1/tables/00000000-0000-0000-0000-000000000000", None, StatusCode::NOT_FOUND),
        (Method::GET, "/api/v1/tables/name/warehouse.sales.public.nope", None, StatusCode::NOT_FOUND),
        (Method::GET, "/api/v1/tables?limit=-1", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/v1/tables?limit=abc", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/v1/tables?after=%%%", None, StatusCode::BAD_REQUEST),
        (Method::GET, "/api/v1/tables?include=sometimes", None, StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/tables", Some(json!({"name": "t", "databaseSchema": "warehouse.sales.nope", "columns": []})), StatusCode::NOT_FOUND),
        (Method::PUT, "/api/v1/tables", Some(json!({"name": "t", "databaseSchema": "warehouse.sales.public"})), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/tables", Some(json!({"name": "t", "databaseSchema": "warehouse.sales.public", "columns": [{"name": "c", "dataType": "WHATEVER"}]})), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/tables", Some(json!({"name": "t", "databaseSchema": "warehouse.sales.public", "columns": [], "tableType": "Sideways"})), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/tables", Some(json!({"name": "t", "databaseSchema": 42, "columns": []})), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/tables", Some(json!("just a string")), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/databases", Some(json!({"name": "x::y", "service": "warehouse"})), StatusCode::BAD_REQUEST),
        (Method::PUT, "/api/v1/databases", Some(json!({"name": "x", "service": "warehouse", "owners": [{"id": "00000000-0000-0000-0000-000000000000", "type": "user"}]})), StatusCode::NOT_FOUND),
        (Method::PUT, "/api/v1/services/databaseServices/restore", Some(json!({"id": "nope"})), StatusCode::NOT_FOUND),
        (Method::DELETE, "/api/v1/tables/nope", None, StatusCode::NOT_FOUND),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = s.call(method.clone(), path, Some(&bot), body.clone()).await;
        assert_eq!(status, expected, "{method} {path} {body:?}: {answer}");
        assert_eq!(answer["code"], json!(expected.as_u16()), "{answer}");
        assert!(answer["message"].is_string());
    }
    let resp = s.client.put(s.url("/api/v1/tables")).bearer_auth(&bot).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s.client.put(s.url("/api/v1/tables")).bearer_auth(&bot).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(create_table("orders"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = t["id"].as_str().unwrap();
    for ops in [json!([{"op": "replace", "path": "/nope/deeper", "value": 1}]), json!({"not": "a patch"}), json!([{"op": "replace", "path": "/fullyQualifiedName", "value": "x.y"}])] {
        let (status, body) = s.patch(&format!("/api/v1/tables/{id}"), &bot, ops.clone()).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "{ops}: {body}");
    }
    s.stop().await;
}

/// Classification `Privacy` with tags `Privacy.Sensitive`, `Privacy.Sensitive.Email` (nested) and
/// `Privacy."v1.2"` (a dotted name), created by the ingestion bot.
async fn pii_tags(s: &TestServer, bot: &str) -> Value {
    let (status, pii) = s.call(Method::POST, "/api/v1/classifications", Some(bot), Some(json!({"name": "Privacy", "description": "Personal data"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{pii}");
    let (status, again) = s.call(Method::PUT, "/api/v1/classifications", Some(bot), Some(json!({"name": "Privacy", "description": "Personal data"}))).await;
    assert_eq!((status, again["version"].clone()), (StatusCode::OK, json!(0.1)));
    for (request, fqn) in [
        (json!({"name": "Sensitive", "description": "s", "classification": "Privacy"}), "Privacy.Sensitive"),
        (json!({"name": "Email", "description": "e", "classification": "Privacy", "parent": "Privacy.Sensitive"}), "Privacy.Sensitive.Email"),
        (json!({"name": "v1.2", "description": "v", "classification": "privacy"}), "Privacy.\"v1.2\""),
    ] {
        let (status, tag) = s.call(Method::PUT, "/api/v1/tags", Some(bot), Some(request)).await;
        assert_eq!((status, tag["fullyQualifiedName"].clone()), (StatusCode::CREATED, json!(fqn)), "{tag}");
        assert_eq!(tag["classification"]["id"], pii["id"]);
    }
    pii
}

async fn governance_round_trip(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let pii = pii_tags(s, &bot).await;

    // Tags: by nested FQN, listed under their classification with cursors, checked parents.
    let (status, email) = s.get("/api/v1/tags/name/privacy.sensitive.email", Some(&admin)).await;
    assert_eq!((status, email["parent"]["fullyQualifiedName"].clone()), (StatusCode::OK, json!("Privacy.Sensitive")));
    let (_, first) = s.get("/api/v1/tags?classification=Privacy&limit=2", Some(&admin)).await;
    assert_eq!(first["paging"]["total"], json!(3));
    let (_, rest) = s.get(&format!("/api/v1/tags?classification=Privacy&limit=2&after={}", first["paging"]["after"].as_str().unwrap()), Some(&admin)).await;
    let names: Vec<&str> = first["data"].as_array().unwrap().iter().chain(rest["data"].as_array().unwrap()).map(|t| t["fullyQualifiedName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Privacy.\"v1.2\"", "Privacy.Sensitive", "Privacy.Sensitive.Email"]);
    let (_, children) = s.get("/api/v1/tags?parent=Privacy.Sensitive", Some(&admin)).await;
    assert_eq!(children["paging"]["total"], json!(1));
    let (status, body) = s.call(Method::PUT, "/api/v1/tags", Some(&bot), Some(json!({"name": "Gold", "description": "g", "classification": "Tier", "parent": "Privacy.Sensitive"}))).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"code": 400, "message": "parent Privacy.Sensitive is not in the classification Tier"})));
    let (status, body) = s.call(Method::PUT, "/api/v1/tags", Some(&bot), Some(json!({"name": "Gold", "description": "g", "classification": "Nope"}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::NOT_FOUND, json!("classification instance for Nope not found")));

    // Policies with rules, roles naming policies, teams naming users and roles: admins only.
    let policy = json!({"name": "ReadAll", "description": "Read everything",
                        "rules": [{"name": "view", "effect": "allow", "operations": ["ViewAll"], "resources": ["all"]}]});
    let (status, _) = s.call(Method::POST, "/api/v1/policies", Some(&bot), Some(policy.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "bots do not write policies");
    let (status, created) = s.call(Method::POST, "/api/v1/policies", Some(&admin), Some(policy)).await;
    assert_eq!((status, created["rules"][0]["fullyQualifiedName"].clone()), (StatusCode::CREATED, json!("ReadAll.view")), "{created}");
    let (status, body) = s.call(Method::POST, "/api/v1/policies", Some(&admin), Some(json!({"name": "Bad", "rules": [{"name": "r", "effect": "perhaps", "operations": ["ViewAll"], "resources": ["all"]}]}))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "{body}");
    let (status, role) = s.call(Method::PUT, "/api/v1/roles", Some(&admin), Some(json!({"name": "Reader", "policies": ["ReadAll"]}))).await;
    assert_eq!((status, role["policies"][0]["id"].clone()), (StatusCode::CREATED, created["id"].clone()), "{role}");
    let (status, body) = s.call(Method::PUT, "/api/v1/roles", Some(&admin), Some(json!({"name": "Ghost", "policies": ["NoSuchPolicy"]}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::NOT_FOUND, json!("policy instance for NoSuchPolicy not found")));
    let (_, plain) = s.get("/api/v1/roles/name/Reader", Some(&admin)).await;
    assert!(plain.get("policies").is_none(), "relations only with fields=: {plain}");
    let (_, with_policies) = s.get("/api/v1/roles/name/Reader?fields=policies", Some(&admin)).await;
    assert_eq!(with_policies["policies"][0]["fullyQualifiedName"], json!("ReadAll"));
    let (status, _) = s.get("/api/v1/roles?limit=100", Some(&bot)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, ingestion_role) = s.get("/api/v1/roles/name/IngestionBotRole", Some(&admin)).await;
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/roles/{}", ingestion_role["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "the bootstrap roles stay: {body}");
    let (_, admin_user) = s.get("/api/v1/users/name/admin", Some(&admin)).await;
    let team = json!({"name": "Data Platform", "teamType": "Group", "users": [admin_user["id"]], "defaultRoles": [role["id"]]});
    let (status, team) = s.call(Method::POST, "/api/v1/teams", Some(&admin), Some(team)).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!((team["users"][0]["name"].clone(), team["defaultRoles"][0]["name"].clone()), (json!("admin"), json!("Reader")));
    let (status, patched) = s.patch(&format!("/api/v1/teams/{}", team["id"].as_str().unwrap()), &admin, json!([{"op": "add", "path": "/description", "value": "Owns the warehouse"}])).await;
    assert_eq!((status, patched["version"].clone()), (StatusCode::OK, json!(0.2)), "{patched}");
    let (status, _) = s.call(Method::POST, "/api/v1/teams", Some(&admin), Some(json!({"name": "Squad", "teamType": "Squad"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Tables may carry only tags that exist.
    hierarchy(s, &bot).await;
    let mut tagged = create_table("customers");
    tagged["columns"][1]["tags"] = json!([{"tagFQN": "Privacy.Sensitive.Email", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]);
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(tagged.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    tagged["tags"] = json!([{"tagFQN": "Privacy.Nope", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]);
    let (status, body) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(tagged)).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"code": 404, "message": "tag instance for Privacy.Nope not found"})));
    let (status, _) = s.patch(&format!("/api/v1/tables/{}", t["id"].as_str().unwrap()), &bot, json!([{"op": "add", "path": "/tags", "value": [{"tagFQN": "Tier.Nope", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]}])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A classification with tags is deleted recursively, and only its tags go with it (the
    // service `privacy` shares the FQN prefix).
    let svc = json!({"name": "privacy", "serviceType": "Mysql", "connection": {"config": {"type": "Mysql", "username": "u", "hostPort": "h:3306"}}});
    s.call(Method::PUT, "/api/v1/services/databaseServices", Some(&bot), Some(svc)).await;
    let (status, _) = s.call(Method::PUT, "/api/v1/databases", Some(&bot), Some(json!({"name": "crm", "service": "privacy"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let pii_id = pii["id"].as_str().unwrap();
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/classifications/{pii_id}"), Some(&bot), None).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("classification is not empty")));
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/classifications/{pii_id}?recursive=true"), Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get("/api/v1/tags/name/Privacy.Sensitive.Email", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, restored) = s.call(Method::PUT, "/api/v1/classifications/restore", Some(&bot), Some(json!({"id": pii_id}))).await;
    assert_eq!((status, restored["deleted"].clone()), (StatusCode::OK, json!(false)));
    let (status, _) = s.get("/api/v1/tags/name/Privacy.Sensitive.Email", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "restored with its classification");
    let (status, _) = s.call(Method::DELETE, "/api/v1/classifications/name/Privacy?recursive=true&hardDelete=true", Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get("/api/v1/tags/name/Privacy.Sensitive?include=all", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.get("/api/v1/databases/name/privacy.crm", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "the service's database is not the classification's content");
}

#[tokio::test]
async fn teams_roles_policies_classifications_and_tags() {
    let s = TestServer::start(&[]).await;
    governance_round_trip(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn teams_roles_policies_classifications_and_tags_on_postgres() {
    let Some(s) = TestServer::start_postgres(&[]).await else { return };
    governance_round_trip(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn readers_cannot_write_tags_or_teams() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let rita = common::reader(&s, &admin).await;
    let (status, _) = s.call(Method::PUT, "/api/v1/classifications", Some(&admin), Some(json!({"name": "Owned", "description": "d"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    for (path, body) in [
        ("/api/v1/classifications", json!({"name": "Privacy", "description": "d"})),
        ("/api/v1/tags", json!({"name": "x", "description": "d", "classification": "Owned"})),
        ("/api/v1/teams", json!({"name": "t", "teamType": "Group"})),
        ("/api/v1/roles", json!({"name": "r", "policies": ["DataConsumerPolicy"]})),
    ] {
        let (status, answer) = s.call(Method::PUT, path, Some(&rita), Some(body)).await;
        assert_eq!((status, answer["code"].clone()), (StatusCode::FORBIDDEN, json!(403)), "{path}");
    }
    let (status, _) = s.get("/api/v1/roles", Some(&rita)).await;
    assert_eq!(status, StatusCode::OK, "reads are for everyone signed in");
    s.stop().await;
}

#[tokio::test]
async fn fields_select_the_relations_a_response_carries() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    hierarchy(&s, &bot).await;
    pii_tags(&s, &bot).await;
    let (_, admin_user) = s.get("/api/v1/users/name/admin", Some(&admin)).await;
    let mut request = create_table("orders");
    request["owners"] = json!([{"id": admin_user["id"], "type": "user"}]);
    request["tags"] = json!([{"tagFQN": "Privacy.Sensitive", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}]);
    request["tableType"] = json!("View");
    request["schemaDefinition"] = json!("CREATE VIEW orders AS SELECT 1");
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(request)).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    // Columns, constraints and a view's SQL are always there (the client reads them without
    // fields=).
    let keys = |v: &Value| ["owners", "tags", "schemaDefinition", "tableConstraints", "columns"].map(|k| v.get(k).is_some());
    let id = t["id"].as_str().unwrap();
    for (query, expected) in [
        ("", [false, false, true, true, true]),
        ("?fields=owners", [true, false, true, true, true]),
        ("?fields=owners,tags", [true, true, true, true, true]),
        ("?fields=*", [true, true, true, true, true]),
    ] {
        let (status, by_id) = s.get(&format!("/api/v1/tables/{id}{query}"), Some(&admin)).await;
        assert_eq!((status, keys(&by_id)), (StatusCode::OK, expected), "{query}: {by_id}");
        let (_, by_name) = s.get(&format!("/api/v1/tables/name/warehouse.sales.public.orders{query}"), Some(&admin)).await;
        assert_eq!(keys(&by_name), expected, "{query}");
        let (_, list) = s.get(&format!("/api/v1/tables{}{}", if query.is_empty() { "?" } else { query }, "&limit=5"), Some(&admin)).await;
        assert_eq!(keys(&list["data"][0]), expected, "{query}");
    }
    assert_eq!(t["owners"][0]["name"], json!("admin"), "writes answer with every field");
    // Users, bots and test-connection definitions select fields the same way.
    assert!(admin_user.get("roles").is_none() && admin_user.get("teams").is_none(), "{admin_user}");
    let (_, with_roles) = s.get("/api/v1/users/name/admin?fields=roles,teams", Some(&admin)).await;
    assert!(with_roles["roles"].is_array() && with_roles["teams"].is_array(), "{with_roles}");
    let (_, users) = s.get("/api/v1/users?fields=roles&limit=100", Some(&admin)).await;
    assert!(users["data"].as_array().unwrap().iter().all(|u| u["roles"].is_array()), "{users}");
    let (status, _) = s.get("/api/v1/bots/name/ingestion-bot?fields=botUser", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/tables/name/warehouse.sales.public.orders?fields=owners,nope",
        "/api/v1/tables?fields=nope",
        "/api/v1/tags?fields=nope",
        "/api/v1/users/name/admin?fields=nope",
        "/api/v1/users?fields=nope",
        "/api/v1/bots?fields=nope",
        "/api/v1/services/testConnectionDefinitions/name/SQLite.testConnectionDefinition?fields=nope",
    ] {
        let (status, body) = s.get(path, Some(&admin)).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"code": 400, "message": "Invalid field name nope"})), "{path}");
    }
    s.stop().await;
}
