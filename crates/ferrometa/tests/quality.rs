//! Issue 16: data quality through HTTP with real tokens, as the 1.6 and 2.0 clients drive it —
//! seeded test definitions, a table's basic suite (`/executable`, `/basic`) named by the table,
//! test cases placed under what their entity link names, results over time (1.6 `PUT` and 2.0
//! `POST`), list filters; writes need `EditTests`/`Create` (a Data Consumer has neither), reads
//! `ViewTests`; bad input is a 400 in OpenMetadata's shape.

mod common;

use common::{reader, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const T: &str = "svc.db.sch.orders";

fn message(answer: &Value) -> String {
    answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string())
}

fn unique_email(suite: Option<&str>) -> Value {
    let mut case = json!({"name": "email_unique", "entityLink": format!("<#E::table::{T}::columns::email>"), "testDefinition": "columnValuesToBeUnique"});
    if let Some(suite) = suite {
        case["testSuite"] = json!(suite);
    }
    case
}

fn row_count(suite: &str) -> Value {
    json!({"name": "row_count", "entityLink": format!("<#E::table::{T}>"), "testDefinition": "tableRowCountToBeBetween", "testSuite": suite,
           "parameterValues": [{"name": "minValue", "value": "1"}, {"name": "maxValue", "value": "100"}]})
}

fn result(ts: i64, status: &str) -> Value {
    json!({"timestamp": ts, "testCaseStatus": status, "result": format!("run at {ts}"), "testResultValue": [{"name": "rows", "value": "10"}]})
}

async fn flow_of_the_1_6_client(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    shop_tables(s, &bot, &["orders"]).await;

    let (status, definition) = s.get("/api/v1/dataQuality/testDefinitions/name/columnValuesToBeUnique", Some(&bot)).await;
    assert_eq!(status, StatusCode::OK, "seeded definition: {definition}");
    assert_eq!((definition["entityType"].clone(), definition["testPlatforms"].clone()), (json!("COLUMN"), json!(["OpenMetadata"])));
    let (_, definitions) = s.get("/api/v1/dataQuality/testDefinitions?limit=100", Some(&bot)).await;
    assert_eq!(definitions["paging"]["total"], json!(24), "OpenMetadata 1.6's definitions, one per client validator");

    let suite_fqn = format!("{T}.testSuite");
    let create = json!({"name": suite_fqn, "displayName": "orders suite", "basicEntityReference": T});
    let (status, suite) = s.call(Method::PUT, "/api/v1/dataQuality/testSuites/executable", Some(&bot), Some(create.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{suite}");
    assert_eq!((suite["fullyQualifiedName"].clone(), suite["basic"].clone(), suite["basicEntityReference"]["fullyQualifiedName"].clone()), (json!(suite_fqn), json!(true), json!(T)));
    let (status, again) = s.call(Method::PUT, "/api/v1/dataQuality/testSuites/basic", Some(&bot), Some(create)).await;
    assert_eq!((status, again["id"].clone(), again["version"].clone()), (StatusCode::OK, suite["id"].clone(), json!(0.1)), "one basic suite per table, unchanged: {again}");
    let (_, table) = s.get(&format!("/api/v1/tables/name/{T}?fields=testSuite"), Some(&bot)).await;
    assert_eq!((table["testSuite"]["id"].clone(), table["version"].clone()), (suite["id"].clone(), json!(0.1)), "the table names its suite, no new version: {table}");

    let (status, unique) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&bot), Some(unique_email(Some(&suite_fqn)))).await;
    assert_eq!(status, StatusCode::CREATED, "{unique}");
    assert_eq!(unique["fullyQualifiedName"], json!(format!("{T}.email.email_unique")));
    assert_eq!((unique["entityFQN"].clone(), unique["testSuite"]["id"].clone()), (json!(format!("{T}.email")), suite["id"].clone()));
    assert_eq!(unique["testDefinition"]["fullyQualifiedName"], json!("columnValuesToBeUnique"));
    let (status, rows) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&bot), Some(row_count(&suite_fqn))).await;
    assert_eq!(status, StatusCode::CREATED, "{rows}");

    let (_, listed) = s.get(&format!("/api/v1/dataQuality/testCases?testSuiteId={}&fields=testSuite,entityLink,testDefinition", suite["id"].as_str().unwrap()), Some(&bot)).await;
    let mut names: Vec<String> = listed["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, ["email_unique", "row_count"], "{listed}");
    let link = format!("<%23E::table::{T}>");
    let (_, by_link) = s.get(&format!("/api/v1/dataQuality/testCases?entityLink={link}"), Some(&bot)).await;
    assert_eq!(by_link["paging"]["total"], json!(2), "{by_link}");

    let case_fqn = format!("{T}.row_count");
    for (ts, status) in [(1_000, "Success"), (3_000, "Failed"), (2_000, "Success")] {
        let (code, answer) = s.call(Method::PUT, &format!("/api/v1/dataQuality/testCases/{case_fqn}/testCaseResult"), Some(&bot), Some(result(ts, status))).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
    }
    let (_, range) = s.get(&format!("/api/v1/dataQuality/testCases/{case_fqn}/testCaseResult?startTs=0&endTs=2500"), Some(&bot)).await;
    let statuses: Vec<Value> = range["data"].as_array().unwrap().iter().map(|r| r["timestamp"].clone()).collect();
    assert_eq!(statuses, [json!(2_000), json!(1_000)], "newest first within the range: {range}");
    let (_, case) = s.get(&format!("/api/v1/dataQuality/testCases/name/{case_fqn}?fields=testCaseResult"), Some(&bot)).await;
    assert_eq!((case["testCaseResult"]["timestamp"].clone(), case["testCaseResult"]["testCaseStatus"].clone()), (json!(3_000), json!("Failed")), "the latest run, not the last sent: {case}");
    assert_eq!(case["version"], json!(0.1), "a run is no version of the test case");
    let (_, plain) = s.get(&format!("/api/v1/dataQuality/testCases/name/{case_fqn}"), Some(&bot)).await;
    assert!(plain.get("testCaseResult").is_none(), "only when asked for: {plain}");
}

on_both_backends!(the_1_6_flow_basic_suite_test_cases_and_results_over_time, the_1_6_flow_on_postgres, flow_of_the_1_6_client);

async fn flow_of_the_2_0_client(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    shop_tables(s, &bot, &["orders"]).await;

    let (status, case) = s.call(Method::POST, "/api/v1/dataQuality/testCases", Some(&bot), Some(unique_email(None))).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    let (_, suite) = s.get(&format!("/api/v1/dataQuality/testSuites/name/{T}.testSuite"), Some(&bot)).await;
    assert_eq!((case["testSuite"]["id"].clone(), suite["basic"].clone()), (suite["id"].clone(), json!(true)), "the table's basic suite, created for it: {suite}");

    let fqn = format!("{T}.email.email_unique");
    let mut posted = result(5_000, "Success");
    posted["fqn"] = json!(fqn);
    let (status, answer) = s.call(Method::POST, &format!("/api/v1/dataQuality/testCases/testCaseResults/{fqn}"), Some(&bot), Some(posted)).await;
    assert_eq!((status, answer["testCaseFQN"].clone()), (StatusCode::OK, json!(fqn)), "{answer}");
    let (_, read) = s.get(&format!("/api/v1/dataQuality/testCases/testCaseResults/{fqn}?startTs=0&endTs=9000"), Some(&bot)).await;
    assert_eq!(read["data"][0]["testCaseStatus"], json!("Success"), "{read}");
}

on_both_backends!(the_2_0_flow_test_cases_without_a_suite_and_posted_results, the_2_0_flow_on_postgres, flow_of_the_2_0_client);

#[tokio::test]
async fn consumers_read_tests_but_cannot_write_them_and_bad_input_is_a_400() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    shop_tables(&s, &bot, &["orders"]).await;
    let consumer = reader(&s, &admin).await;
    let suite_fqn = format!("{T}.testSuite");
    s.call(Method::PUT, "/api/v1/dataQuality/testSuites/basic", Some(&bot), Some(json!({"name": suite_fqn, "basicEntityReference": T}))).await;
    let (status, _) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&bot), Some(row_count(&suite_fqn))).await;
    assert_eq!(status, StatusCode::CREATED);
    let case_fqn = format!("{T}.row_count");

    let (status, answer) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&consumer), Some(unique_email(Some(&suite_fqn)))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a Data Consumer creates no test case: {answer}");
    let (status, answer) = s.call(Method::PUT, &format!("/api/v1/dataQuality/testCases/{case_fqn}/testCaseResult"), Some(&consumer), Some(result(1, "Success"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor records a result: {answer}");
    assert!(message(&answer).contains("EditTests"), "{answer}");
    let (status, _) = s.get(&format!("/api/v1/dataQuality/testCases/{case_fqn}/testCaseResult?startTs=0&endTs=10"), Some(&consumer)).await;
    assert_eq!(status, StatusCode::OK, "but reads them (ViewAll)");

    let cases = [
        (json!({"name": "x", "entityLink": "orders", "testDefinition": "columnValuesToBeUnique", "testSuite": suite_fqn}), "Invalid entityLink"),
        (json!({"name": "x", "entityLink": format!("<#E::table::{T}::columns::nope>"), "testDefinition": "columnValuesToBeUnique", "testSuite": suite_fqn}), "Invalid column name nope"),
        (json!({"name": "x", "entityLink": format!("<#E::table::{T}>"), "testDefinition": "columnValuesToBeUnique", "testSuite": suite_fqn}), "tests a column"),
        (json!({"name": "x", "entityLink": format!("<#E::table::{T}>"), "testDefinition": "tableRowCountToEqual", "testSuite": suite_fqn}), "Required parameter value"),
        (json!({"name": "x", "entityLink": format!("<#E::table::{T}>"), "testDefinition": "tableRowCountToEqual", "testSuite": "other.testSuite",
                "parameterValues": [{"name": "value", "value": "3"}]}), "basic test suite"),
    ];
    for (case, expected) in cases {
        let (status, answer) = s.call(Method::PUT, "/api/v1/dataQuality/testCases", Some(&bot), Some(case.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {answer}");
        assert!(message(&answer).contains(expected), "{case}: {answer}");
    }
    let (status, answer) = s.call(Method::PUT, "/api/v1/dataQuality/testCases/name-of/testCaseResult", Some(&bot), Some(result(1, "Success"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    for (body, expected) in [(json!({"testCaseStatus": "Success"}), "timestamp is required"), (json!({"timestamp": 1, "testCaseStatus": "Great"}), "testCaseStatus must be one of")] {
        let (status, answer) = s.call(Method::PUT, &format!("/api/v1/dataQuality/testCases/{case_fqn}/testCaseResult"), Some(&bot), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message(&answer).contains(expected), "{answer}");
    }
    let (status, answer) = s.call(Method::PUT, "/api/v1/dataQuality/testSuites/basic", Some(&bot), Some(json!({"name": "loose"}))).await;
    assert_eq!((status, message(&answer)), (StatusCode::BAD_REQUEST, "basicEntityReference must be the FQN of the table the suite tests".to_string()));
}
