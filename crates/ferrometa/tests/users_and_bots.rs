//! Issue: tokens (users and bots). User and bot CRUD through the API with admin checks,
//! OpenMetadata's shapes, paging cursors and versions.

mod common;

use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn patch(s: &TestServer, path: &str, token: &str, ops: Value) -> (StatusCode, Value) {
    let resp = s.client.patch(s.url(path)).bearer_auth(token).header("content-type", "application/json-patch+json").body(ops.to_string()).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn put_creates_then_updates_users_and_lists_page_by_cursor() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (status, u) = s.call(Method::PUT, "/api/v1/users", Some(&admin), Some(json!({"name": "Zoe", "email": "zoe@open-metadata.org"}))).await;
    assert_eq!((status, u["name"].clone()), (StatusCode::CREATED, json!("zoe")));
    let (status, u2) = s.call(Method::PUT, "/api/v1/users", Some(&admin), Some(json!({"name": "zoe", "email": "zoe@open-metadata.org", "displayName": "Zoe Z"}))).await;
    assert_eq!((status, u2["displayName"].clone(), u2["version"].clone()), (StatusCode::OK, json!("Zoe Z"), json!(0.2)));
    let (status, body) = s.call(Method::PUT, "/api/v1/users", Some(&admin), Some(json!({"name": "zoe", "email": "other@open-metadata.org"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, history) = s.get(&format!("/api/v1/users/{}/versions", u["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!((status, history["versions"].as_array().unwrap().len()), (StatusCode::OK, 2));

    // admin, ingestion-bot, zoe: three users, walked one page at a time.
    let mut names = vec![];
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/users?limit=1&after={a}"),
            None => "/api/v1/users?limit=1".to_string(),
        };
        let (status, page) = s.get(&path, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["paging"]["total"], json!(3));
        names.push(page["data"][0]["name"].as_str().unwrap().to_string());
        match page["paging"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["admin", "ingestion-bot", "zoe"]);
    let (status, _) = s.get("/api/v1/users?after=not*a*cursor", Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.get("/api/v1/users/name/ZOE", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "names are case-insensitive");
    s.stop().await;
}

#[tokio::test]
async fn bots_are_created_patched_and_deleted_but_system_bots_stay() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (status, bot_user) = s.call(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"name": "etl-bot", "email": "etl-bot@open-metadata.org", "isBot": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{bot_user}");
    let create = json!({"name": "etl-bot", "botUser": "etl-bot", "description": "ETL"});
    let (status, bot) = s.call(Method::POST, "/api/v1/bots", Some(&admin), Some(create.clone())).await;
    assert_eq!((status, bot["provider"].clone(), bot["botUser"]["name"].clone()), (StatusCode::CREATED, json!("user"), json!("etl-bot")));
    let (status, body) = s.call(Method::POST, "/api/v1/bots", Some(&admin), Some(create)).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, json!({"code": 409, "message": "Entity already exists"})));
    let bot_path = format!("/api/v1/bots/{}", bot["id"].as_str().unwrap());
    let (status, patched) = patch(&s, &bot_path, &admin, json!([{"op": "replace", "path": "/description", "value": "nightly ETL"}])).await;
    assert_eq!((status, patched["description"].clone()), (StatusCode::OK, json!("nightly ETL")));
    let (status, _) = patch(&s, &bot_path, &admin, json!([{"op": "replace", "path": "/botUser/name", "value": "admin"}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, minted) = s.call(Method::PUT, &format!("/api/v1/users/generateToken/{}", bot_user["id"].as_str().unwrap()), Some(&admin), Some(json!({"JWTTokenExpiry": "7"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, me) = s.get("/api/v1/users/loggedInUser", Some(minted["JWTToken"].as_str().unwrap())).await;
    assert_eq!((status, me["name"].clone()), (StatusCode::OK, json!("etl-bot")));

    let (status, _) = s.call(Method::POST, "/api/v1/bots", Some(&admin), Some(json!({"name": "x", "botUser": "admin"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a bot needs a bot user");
    let (status, _) = s.call(Method::DELETE, &bot_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, ingestion) = s.get("/api/v1/bots/name/ingestion-bot", Some(&admin)).await;
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/bots/{}", ingestion["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("System bot ingestion-bot cannot be deleted.")));
    let (status, body) = s.call(Method::DELETE, &format!("/api/v1/users/{}", ingestion["botUser"]["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    s.stop().await;
}
