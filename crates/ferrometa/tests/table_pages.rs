//! Issue 16: a table's page in the web UI gains lineage, profile, data-quality and sample-data tabs, drawn on
//! the server from the same use cases as the API with the viewer as caller: the lineage graph
//! links its neighbours and follows the depth controls, the profile charts row counts and
//! column ratios, and sample rows are shown only to those their policies let see them.

mod common;

use common::browser::{form_sign_in, http, set_cookie};
use common::{person, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn page(s: &TestServer, cookie: &str, path: &str) -> String {
    let resp = http().get(s.url(path)).header(COOKIE, cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

async fn session(s: &TestServer, name: &str) -> String {
    let resp = form_sign_in(s, &format!("{name}@open-metadata.org"), &format!("{}-Passw0rd!", name.to_uppercase())).await;
    set_cookie(&resp, "fm_session").expect("signed in").0
}

/// A browser session of `fenced`, whose role denies `operation` on tables.
async fn fenced_session(s: &TestServer, admin: &str, operation: &str) -> String {
    let policy = json!({"name": "Fence", "rules": [{"name": "fence", "effect": "deny", "operations": [operation], "resources": ["table"]}]});
    assert_eq!(s.call(Method::POST, "/api/v1/policies", Some(admin), Some(policy)).await.0, StatusCode::CREATED);
    let (_, role) = s.call(Method::POST, "/api/v1/roles", Some(admin), Some(json!({"name": "Fence", "policies": ["Fence"]}))).await;
    person(s, admin, "fenced", json!({"roles": [role["id"]]})).await;
    session(s, "fenced").await
}

#[tokio::test]
async fn table_pages_show_lineage_profile_and_sample_data_as_the_api_would() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(&s, &bot, &["raw", "clean", "report"]).await;
    let describe = json!([{"op": "add", "path": "/displayName", "value": "<b>Report</b>"}]);
    assert_eq!(s.patch(&format!("/api/v1/tables/{}", ids["report"]), &admin, describe).await.0, StatusCode::OK);
    for (from, to) in [("raw", "clean"), ("clean", "report")] {
        let edge = json!({"edge": {"fromEntity": {"id": ids[from], "type": "table"}, "toEntity": {"id": ids[to], "type": "table"}}});
        assert_eq!(s.call(Method::PUT, "/api/v1/lineage", Some(&bot), Some(edge)).await.0, StatusCode::OK);
    }
    for (ts, rows) in [(2_000, 3), (1_000, 5)] {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let run = json!({"tableProfile": {"timestamp": now - ts, "rowCount": rows}, "columnProfile": [{"name": "email", "timestamp": now - ts, "nullCount": 1, "valuesCount": rows - 1, "distinctProportion": 0.5}]});
        assert_eq!(s.call(Method::PUT, &format!("/api/v1/tables/{}/tableProfile", ids["clean"]), Some(&bot), Some(run)).await.0, StatusCode::OK);
    }
    let sample = json!({"columns": ["id", "email"], "rows": [[1, "<i>a@x.org</i>"]]});
    assert_eq!(s.call(Method::PUT, &format!("/api/v1/tables/{}/sampleData", ids["clean"]), Some(&bot), Some(sample)).await.0, StatusCode::OK);

    person(&s, &admin, "carol", json!({})).await;
    let carol = session(&s, "carol").await;
    let overview = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.clean").await;
    assert!(overview.contains(r#"id="table-tabs""#) && overview.contains(r#"id="tab-lineage""#) && overview.contains(r#"id="column-list""#), "tabs on the overview");

    let lineage = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.clean&tab=lineage").await;
    assert!(lineage.contains(r#"id="lineage-graph""#), "{lineage}");
    assert!(lineage.contains("/catalog/table?fqn=svc.db.sch.raw&amp;tab=lineage"), "upstream neighbour linked");
    assert!(lineage.contains("&lt;b&gt;Report&lt;/b&gt;") && !lineage.contains("<b>Report</b>"), "names escaped");
    let shallow = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.raw&tab=lineage&up=0&down=1").await;
    assert!(shallow.contains(r#"data-fqn="svc.db.sch.clean""#) && !shallow.contains(r#"data-fqn="svc.db.sch.report""#), "depth 1 stops at clean");
    let deep = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.raw&tab=lineage&up=0&down=2").await;
    assert!(deep.contains(r#"data-fqn="svc.db.sch.report""#), "depth 2 reaches report");
    let none = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.raw&tab=lineage&up=0&down=0").await;
    assert!(none.contains(r#"id="no-lineage""#));

    let profile = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.clean&tab=profile").await;
    assert!(profile.contains(r#"id="row-count-chart""#) && profile.contains("2 runs, at most 5"), "{profile}");
    assert!(profile.contains(r#"aria-label="20%""#) && profile.contains(r#"aria-label="50%""#), "null ratio 1/5 and distinct ratio 1/2 of the latest run");

    let rows = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.clean&tab=sample").await;
    assert!(rows.contains(r#"id="sample-rows""#) && rows.contains("&lt;i&gt;a@x.org&lt;/i&gt;"), "{rows}");

    // A policy that denies sample data: the tab says so, and the rows are not on the page.
    let fenced = fenced_session(&s, &admin, "ViewSampleData").await;
    let hidden = page(&s, &fenced, "/catalog/table?fqn=svc.db.sch.clean&tab=sample").await;
    assert!(hidden.contains(r#"id="sample-refused""#) && !hidden.contains("a@x.org"), "{hidden}");
    s.stop().await;
}

#[tokio::test]
async fn the_data_quality_tab_shows_each_tests_latest_result_and_history_to_those_who_may_view_tests() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    shop_tables(&s, &bot, &["orders"]).await;
    let suite = json!({"name": "svc.db.sch.orders.testSuite", "basicEntityReference": "svc.db.sch.orders"});
    assert_eq!(s.call(Method::PUT, "/api/v1/dataQuality/testSuites/basic", Some(&bot), Some(suite)).await.0, StatusCode::CREATED);
    let case = json!({"name": "<u>unique</u>", "entityLink": "<#E::table::svc.db.sch.orders::columns::email>", "testDefinition": "columnValuesToBeUnique", "testSuite": "svc.db.sch.orders.testSuite"});
    let (status, case) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&bot), Some(case)).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let fqn = case["fullyQualifiedName"].as_str().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for (ago, status) in [(2_000, "Success"), (1_000, "Failed")] {
        let result = json!({"timestamp": now - ago, "testCaseStatus": status, "result": "checked"});
        let path = format!("/api/v1/dataQuality/testCases/{}/testCaseResult", url::form_urlencoded::byte_serialize(fqn.as_bytes()).collect::<String>());
        assert_eq!(s.call(Method::PUT, &path, Some(&bot), Some(result)).await.0, StatusCode::OK);
    }

    person(&s, &admin, "carol", json!({})).await;
    let carol = session(&s, "carol").await;
    let quality = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.orders&tab=quality").await;
    assert!(quality.contains(r#"id="test-results""#) && quality.contains("columnValuesToBeUnique"), "{quality}");
    assert!(quality.contains(r#"<td class="status">Failed</td>"#), "the latest run: {quality}");
    let history = quality.split(r#"class="history""#).nth(1).unwrap_or_default();
    let failed_at = history.find("run failed").expect("a failed run");
    let success_at = history.find("run success").expect("a successful run");
    assert!(failed_at < success_at, "newest first: {history}");
    assert!(quality.contains("&lt;u&gt;unique&lt;/u&gt;") && !quality.contains("<u>unique</u>"), "names escaped");
    let empty = page(&s, &carol, "/catalog/table?fqn=svc.db.sch.orders&tab=overview").await;
    assert!(empty.contains(r#"id="tab-quality""#), "the tab is offered");

    let fenced = fenced_session(&s, &admin, "ViewTests").await;
    let hidden = page(&s, &fenced, "/catalog/table?fqn=svc.db.sch.orders&tab=quality").await;
    assert!(hidden.contains(r#"id="quality-refused""#) && !hidden.contains("columnValuesToBeUnique"), "{hidden}");
    s.stop().await;
}

