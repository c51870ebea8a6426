//! Issue 15: the asset families beyond databases, declared once each in the registry and served
//! with OpenMetadata's REST semantics: services and their assets created, read by id and name,
//! listed under their service, patched, versioned, searched, soft-deleted with the service and
//! restored; their policy resources judge who may write them.

mod common;

use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// One family: its service collection and create request, and one asset of it.
struct Family {
    services: &'static str,
    service: fn() -> Value,
    assets: &'static str,
    asset: fn(&str) -> Value,
    index: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        services: "dashboardServices",
        service: || json!({"name": "bi", "serviceType": "Superset", "connection": {"config": {"type": "Superset", "hostPort": "http://superset:8088"}}}),
        assets: "charts",
        asset: |svc| json!({"name": "revenue", "service": svc, "chartType": "Line", "description": "Revenue by month"}),
        index: "chart_search_index",
    },
    Family {
        services: "pipelineServices",
        service: || json!({"name": "airflow", "serviceType": "Airflow"}),
        assets: "pipelines",
        asset: |svc| json!({"name": "nightly", "service": svc, "tasks": [{"name": "extract"}, {"name": "load", "downstreamTasks": []}]}),
        index: "pipeline_search_index",
    },
    Family {
        services: "messagingServices",
        service: || json!({"name": "kafka", "serviceType": "Kafka"}),
        assets: "topics",
        asset: |svc| json!({"name": "orders.v1", "service": svc, "partitions": 3}),
        index: "topic_search_index",
    },
    Family {
        services: "mlmodelServices",
        service: || json!({"name": "mlflow", "serviceType": "Mlflow"}),
        assets: "mlmodels",
        asset: |svc| json!({"name": "churn", "service": svc, "algorithm": "xgboost"}),
        index: "mlmodel_search_index",
    },
    Family {
        services: "storageServices",
        service: || json!({"name": "lake", "serviceType": "S3"}),
        assets: "containers",
        asset: |svc| json!({"name": "raw", "service": svc}),
        index: "container_search_index",
    },
    Family {
        services: "searchServices",
        service: || json!({"name": "es", "serviceType": "ElasticSearch"}),
        assets: "searchIndexes",
        asset: |svc| json!({"name": "products", "service": svc, "fields": [{"name": "title", "dataType": "TEXT"}]}),
        index: "search_entity_search_index",
    },
];

fn quoted(name: &str) -> String {
    if name.contains('.') { format!("\"{name}\"") } else { name.to_string() }
}

async fn family_round_trip(s: &TestServer, f: &Family, bot: &str, admin: &str, reader: &str) {
    let services = format!("/api/v1/services/{}", f.services);
    let (status, svc) = s.call(Method::PUT, &services, Some(bot), Some((f.service)())).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {svc}", f.services);
    let svc_name = svc["name"].as_str().unwrap();
    let collection = format!("/api/v1/{}", f.assets);
    let request = (f.asset)(svc_name);
    let (status, asset) = s.call(Method::PUT, &collection, Some(bot), Some(request.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{}: {asset}", f.assets);
    let name = request["name"].as_str().unwrap();
    let fqn = format!("{svc_name}.{}", quoted(name));
    assert_eq!((asset["fullyQualifiedName"].as_str(), asset["service"]["id"].clone(), asset["serviceType"].clone()), (Some(fqn.as_str()), svc["id"].clone(), svc["serviceType"].clone()));
    let (status, again) = s.call(Method::PUT, &collection, Some(bot), Some(request.clone())).await;
    assert_eq!((status, again["version"].clone()), (StatusCode::OK, json!(0.1)), "{}: unchanged", f.assets);
    assert_eq!(s.call(Method::POST, &collection, Some(bot), Some(request)).await.0, StatusCode::CONFLICT);

    // Reads by id and name, with requested lists; lists under the service.
    let id = asset["id"].as_str().unwrap();
    let (_, by_name) = s.get(&format!("{collection}/name/{fqn}?fields=owners,tags,followers"), Some(reader)).await;
    assert_eq!((by_name["id"].as_str(), by_name["tags"].clone(), by_name["followers"].clone()), (Some(id), json!([]), json!([])), "{by_name}");
    let (_, listed) = s.get(&format!("{collection}?service={svc_name}"), Some(reader)).await;
    assert_eq!(listed["paging"]["total"], json!(1), "{listed}");

    // A patch (description and a seeded tag) is a new version; a reader may not delete.
    let ops = json!([{"op": "add", "path": "/description", "value": "curated"}, {"op": "add", "path": "/tags/0", "value": {"tagFQN": "Tier.Tier2", "source": "Classification", "labelType": "Manual", "state": "Confirmed"}}]);
    assert_eq!(s.call(Method::DELETE, &format!("{collection}/{id}"), Some(reader), None).await.0, StatusCode::FORBIDDEN, "{}", f.assets);
    let (status, patched) = s.patch(&format!("{collection}/{id}"), admin, ops).await;
    assert_eq!((status, patched["version"].clone(), patched["tags"][0]["name"].clone()), (StatusCode::OK, json!(0.2), json!("Tier2")), "{patched}");
    let (_, history) = s.get(&format!("{collection}/{id}/versions"), Some(reader)).await;
    assert_eq!(history["versions"].as_array().map(Vec::len), Some(2));
    let (_, found) = s.get(&format!("/api/v1/search/query?q=curated&index={}", f.index), Some(reader)).await;
    assert_eq!(found["hits"]["hits"][0]["_source"]["id"].as_str(), Some(id), "{found}");

    // The service goes (soft) with its assets, and comes back with them.
    assert_eq!(s.call(Method::DELETE, &format!("{services}/{}", svc["id"].as_str().unwrap()), Some(admin), None).await.0, StatusCode::BAD_REQUEST, "not empty");
    let (status, _) = s.call(Method::DELETE, &format!("{services}/{}?recursive=true", svc["id"].as_str().unwrap()), Some(admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get(&format!("{collection}/{id}"), Some(admin)).await.0, StatusCode::NOT_FOUND);
    let (status, _) = s.call(Method::PUT, &format!("{services}/restore"), Some(admin), Some(json!({"id": svc["id"]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.get(&format!("{collection}/{id}"), Some(admin)).await.1["deleted"], json!(false));
}

async fn every_family(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let reader = common::reader(s, &admin).await;
    for f in FAMILIES {
        family_round_trip(s, f, &bot, &admin, &reader).await;
    }
}

on_both_backends!(every_family_round_trips, every_family_round_trips_on_postgres, every_family);

#[tokio::test]
async fn dashboards_reference_their_charts_and_data_models() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let put = |path: &'static str, body: Value| {
        let (s, bot) = (&s, bot.clone());
        async move { s.call(Method::PUT, path, Some(&bot), Some(body)).await }
    };
    assert_eq!(put("/api/v1/services/dashboardServices", json!({"name": "bi", "serviceType": "Looker"})).await.0, StatusCode::CREATED);
    assert_eq!(put("/api/v1/charts", json!({"name": "c1", "service": "bi"})).await.0, StatusCode::CREATED);
    let model = json!({"name": "m1", "service": "bi", "dataModelType": "LookMlView", "columns": [{"name": "id", "dataType": "INT"}]});
    let (status, m) = put("/api/v1/dashboard/datamodels", model).await;
    assert_eq!((status, m["columns"][0]["fullyQualifiedName"].clone()), (StatusCode::CREATED, json!("bi.m1.id")), "{m}");
    let (status, d) = put("/api/v1/dashboards", json!({"name": "sales", "service": "bi", "charts": ["bi.c1"], "dataModels": ["bi.m1"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!((d["charts"][0]["type"].clone(), d["dataModels"][0]["fullyQualifiedName"].clone()), (json!("chart"), json!("bi.m1")));
    let answer = put("/api/v1/dashboards", json!({"name": "x", "service": "bi", "charts": ["bi.nope"]})).await;
    assert_eq!(answer, (StatusCode::NOT_FOUND, json!({"code": 404, "message": "chart instance for bi.nope not found"})));
    let answer = put("/api/v1/services/dashboardServices", json!({"name": "odd", "serviceType": "Excel"})).await;
    assert_eq!((answer.0, answer.1["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)));
    s.stop().await;
}

#[tokio::test]
async fn pipeline_runs_are_recorded_without_versions() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let reader = common::reader(&s, &admin).await;
    s.call(Method::PUT, "/api/v1/services/pipelineServices", Some(&bot), Some(json!({"name": "airflow", "serviceType": "Airflow"}))).await;
    let (_, p) = s.call(Method::PUT, "/api/v1/pipelines", Some(&bot), Some(json!({"name": "nightly", "service": "airflow", "tasks": [{"name": "load"}]}))).await;
    let run = |ts: i64, outcome: &str| json!({"timestamp": ts, "executionStatus": outcome, "taskStatus": [{"name": "load", "executionStatus": outcome}]});
    let path = "/api/v1/pipelines/airflow.nightly/status";
    let (status, body) = s.call(Method::PUT, path, Some(&bot), Some(run(2000, "Successful"))).await;
    assert_eq!((status, body["pipelineStatus"]["executionStatus"].clone(), body["version"].clone()), (StatusCode::OK, json!("Successful"), p["version"].clone()), "{body}");
    // An older run does not replace the latest.
    s.call(Method::PUT, path, Some(&bot), Some(run(1000, "Failed"))).await;
    let (_, read) = s.get("/api/v1/pipelines/name/airflow.nightly?fields=pipelineStatus", Some(&reader)).await;
    assert_eq!((read["pipelineStatus"]["timestamp"].clone(), read["version"].clone()), (json!(2000), json!(0.1)));
    let (_, plain) = s.get("/api/v1/pipelines/name/airflow.nightly", Some(&reader)).await;
    assert!(plain.get("pipelineStatus").is_none(), "only when asked for: {plain}");
    assert_eq!(s.call(Method::PUT, path, Some(&reader), Some(run(3000, "Failed"))).await.0, StatusCode::FORBIDDEN);
    let answer = s.call(Method::PUT, path, Some(&bot), Some(json!({"timestamp": 1, "executionStatus": "Great"}))).await;
    assert_eq!((answer.0, answer.1["code"].clone()), (StatusCode::BAD_REQUEST, json!(400)), "{answer:?}");
    let answer = s.call(Method::PUT, "/api/v1/pipelines/airflow.nope/status", Some(&bot), Some(run(1, "Failed"))).await;
    assert_eq!(answer, (StatusCode::NOT_FOUND, json!({"code": 404, "message": "pipeline instance for airflow.nope not found"})));
    s.stop().await;
}
