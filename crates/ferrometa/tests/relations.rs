//! Relationships shown on both sides (a team's users and a user's teams, a user's roles and a
//! role's users, a team's default roles and a role's teams), the Organization team at the root
//! of the team hierarchy, tag labels as OpenMetadata returns them, and bot restore.

mod common;

use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Creates an entity; panics unless the server answers 201.
async fn created(s: &TestServer, path: &str, token: &str, body: Value) -> Value {
    let (status, entity) = s.call(Method::POST, path, Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {entity}");
    entity
}

/// The names of the references one field of an entity lists, read with `fields=<field>`.
async fn names(s: &TestServer, token: &str, collection: &str, entity: &Value, field: &str) -> Vec<String> {
    let (status, read) = s.get(&format!("/api/v1/{collection}/{}?fields={field}", entity["id"].as_str().unwrap()), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    read[field].as_array().unwrap_or_else(|| panic!("{field} of {read}")).iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

async fn both_sides(s: &TestServer) {
    let admin = s.admin_token().await;
    let role = created(s, "/api/v1/roles", &admin, json!({"name": "Reader", "policies": ["DataConsumerPolicy"]})).await;
    let alice = created(s, "/api/v1/users", &admin, json!({"name": "alice", "email": "alice@open-metadata.org", "roles": [role["id"]]})).await;
    assert_eq!(names(s, &admin, "roles", &role, "users").await, ["alice"], "a user's roles list the user on the role");

    let team = json!({"name": "Platform", "teamType": "Group", "users": [alice["id"]], "defaultRoles": [role["id"]]});
    let team = created(s, "/api/v1/teams", &admin, team).await;
    assert_eq!(names(s, &admin, "users", &alice, "teams").await, ["Platform"], "a team's users list the team on the user");
    assert_eq!(names(s, &admin, "roles", &role, "teams").await, ["Platform"], "a team's default roles list the team on the role");

    // The user side writes too: a user created (or put) with teams joins them.
    let bob = created(s, "/api/v1/users", &admin, json!({"name": "bob", "email": "bob@open-metadata.org", "teams": [team["id"]]})).await;
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice", "bob"]);
    let (status, _) = s.call(Method::PUT, "/api/v1/users", Some(&admin), Some(json!({"name": "bob", "email": "bob@open-metadata.org", "teams": []}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice"]);
    let (status, _) = s.patch(&format!("/api/v1/users/{}", bob["id"].as_str().unwrap()), &admin, json!([{"op": "add", "path": "/teams", "value": [{"id": team["id"], "type": "team"}]}])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice", "bob"]);
    // A team write that leaves `users` alone keeps the members the user side added.
    let (status, _) = s.patch(&format!("/api/v1/teams/{}", team["id"].as_str().unwrap()), &admin, json!([{"op": "add", "path": "/description", "value": "d"}])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice", "bob"]);

    // Members join teams through admins: a team's default roles are its users' roles.
    let rita = common::reader(s, &admin).await;
    let (_, me) = s.get("/api/v1/users/loggedInUser", Some(&rita)).await;
    let (status, body) = s.patch(&format!("/api/v1/users/{}", me["id"].as_str().unwrap()), &rita, json!([{"op": "add", "path": "/teams", "value": [{"id": team["id"], "type": "team"}]}])).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!(403)), "{body}");

    // Soft-deleted users drop out of the other side and come back when restored; hard-deleted
    // entities leave nothing behind.
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}", alice["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["bob"]);
    assert!(names(s, &admin, "roles", &role, "users").await.is_empty());
    let (status, _) = s.call(Method::PUT, "/api/v1/users/restore", Some(&admin), Some(json!({"id": alice["id"]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice", "bob"]);
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/users/{}?hardDelete=true", bob["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "teams", &team, "users").await, ["alice"]);
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/teams/{}?hardDelete=true", team["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(s, &admin, "users", &alice, "teams").await, ["Organization"], "a user in no team is shown in the Organization, as OpenMetadata does");
    assert!(names(s, &admin, "roles", &role, "teams").await.is_empty());
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/roles/{}?hardDelete=true", role["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(names(s, &admin, "users", &alice, "roles").await.is_empty());
    // The bootstrap bot keeps its role (its edges were written at bootstrap).
    let (_, bot) = s.get("/api/v1/users/name/ingestion-bot?fields=roles", Some(&admin)).await;
    assert_eq!(bot["roles"][0]["name"], json!("IngestionBotRole"), "{bot}");
}

#[tokio::test]
async fn relationships_read_the_same_from_both_sides() {
    let s = TestServer::start(&[]).await;
    both_sides(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn relationships_read_the_same_from_both_sides_on_postgres() {
    let Some(s) = TestServer::start_postgres(&[]).await else { return };
    both_sides(&s).await;
    s.stop().await;
}

/// Callers of identity-provider tokens are cached; a role write changing who has the role
/// (its `users`, read back as the users' `roles`) must reach them.
#[tokio::test]
async fn a_role_listing_users_reaches_cached_sso_callers() {
    let idp = ferrometa_auth::fake_idp::FakeIdp::start("om-test-client").await;
    let keys = format!("[{}]", idp.jwks_url());
    let env = [
        ("AUTHENTICATION_PROVIDER", "aws-cognito"),
        ("AUTHENTICATION_AUTHORITY", idp.issuer.as_str()),
        ("AUTHENTICATION_CLIENT_ID", "om-test-client"),
        ("AUTHENTICATION_PUBLIC_KEYS", keys.as_str()),
        ("AUTHENTICATION_CALLBACK_URL", "http://127.0.0.1:1/callback"),
        ("AUTHORIZER_ADMIN_PRINCIPALS", "[alice]"),
    ];
    let s = TestServer::start(&env).await;
    let token = idp.id_token(None, 600);
    let (status, me) = s.get("/api/v1/users/loggedInUser", Some(&token)).await;
    assert_eq!((status, me["roles"].clone()), (StatusCode::OK, json!([])), "{me}");
    let role = created(&s, "/api/v1/roles", &token, json!({"name": "Steward", "policies": ["DataConsumerPolicy"]})).await;
    let (status, _) = s.patch(&format!("/api/v1/roles/{}", role["id"].as_str().unwrap()), &token, json!([{"op": "add", "path": "/users", "value": [{"id": me["id"], "type": "user"}]}])).await;
    assert_eq!(status, StatusCode::OK);
    let (_, me) = s.get("/api/v1/users/loggedInUser", Some(&token)).await;
    assert_eq!(me["roles"][0]["name"], json!("Steward"), "the cached caller was refreshed: {me}");
    s.stop().await;
}

#[tokio::test]
async fn teams_without_parents_belong_to_the_organization() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_in(dir.path(), &[]).await;
    let admin = s.admin_token().await;
    let (status, org) = s.get("/api/v1/teams/name/Organization", Some(&admin)).await;
    assert_eq!((status, org["teamType"].clone()), (StatusCode::OK, json!("Organization")), "{org}");
    let team = created(&s, "/api/v1/teams", &admin, json!({"name": "Sales", "teamType": "Department"})).await;
    assert_eq!(team["parents"][0]["name"], json!("Organization"), "{team}");
    let child = created(&s, "/api/v1/teams", &admin, json!({"name": "Deals", "teamType": "Group", "parents": [team["id"]]})).await;
    assert_eq!(child["parents"][0]["name"], json!("Sales"), "given parents stay");
    let (_, org_read) = s.get(&format!("/api/v1/teams/{}?fields=children,childrenCount", org["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!((&org_read["children"][0]["name"], &org_read["childrenCount"]), (&json!("Sales"), &json!(1)), "teams with a parent are not the Organization's children: {org_read}");
    let (_, admin_user) = s.get("/api/v1/users/name/admin", Some(&admin)).await;
    let no_team = json!([{"op": "add", "path": "/teams", "value": [{"id": "00000000-0000-4000-8000-000000000000", "type": "team"}]}]);
    let (status, body) = s.patch(&format!("/api/v1/users/{}", admin_user["id"].as_str().unwrap()), &admin, no_team).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"code": 404, "message": "team instance for 00000000-0000-4000-8000-000000000000 not found"})));
    let (status, body) = s.call(Method::POST, "/api/v1/teams", Some(&admin), Some(json!({"name": "Other", "teamType": "Organization"}))).await;
    assert_eq!((status, body["message"].clone()), (StatusCode::BAD_REQUEST, json!("Only one Organization is allowed. New Organization type can't be created")));
    for hard in ["false", "true"] {
        let (status, body) = s.call(Method::DELETE, &format!("/api/v1/teams/{}?hardDelete={hard}", org["id"].as_str().unwrap()), Some(&admin), None).await;
        assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"code": 400, "message": "Organization team type can't be deleted"})));
    }
    s.stop().await;
    // Seeded once: a restart finds it.
    let s = TestServer::start_in(dir.path(), &[]).await;
    let admin = s.admin_token().await;
    let (_, again) = s.get("/api/v1/teams/name/Organization", Some(&admin)).await;
    assert_eq!(again["id"], org["id"]);
    s.stop().await;
}

async fn tag_labels(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    created(s, "/api/v1/classifications", &bot, json!({"name": "Privacy", "description": "Personal data"})).await;
    let tag = json!({"name": "Sensitive", "displayName": "Sensitive data", "description": "Handle with care", "classification": "Privacy", "style": {"color": "#ff0000"}});
    created(s, "/api/v1/tags", &bot, tag).await;
    for (path, body) in [
        ("/api/v1/services/databaseServices", json!({"name": "warehouse", "serviceType": "Postgres"})),
        ("/api/v1/databases", json!({"name": "sales", "service": "warehouse"})),
        ("/api/v1/databaseSchemas", json!({"name": "public", "database": "warehouse.sales"})),
    ] {
        created(s, path, &bot, body).await;
    }
    // Labels as the ingestion client sends them: FQN (in any case) and how it was applied.
    let label = json!({"tagFQN": "privacy.sensitive", "source": "Classification", "labelType": "Automated", "state": "Suggested"});
    let table = json!({"name": "orders", "databaseSchema": "warehouse.sales.public", "tags": [label],
                       "columns": [{"name": "email", "dataType": "VARCHAR", "dataLength": 64, "tags": [label]}]});
    let (status, t) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(table.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let expected = json!({"tagFQN": "Privacy.Sensitive", "name": "Sensitive", "displayName": "Sensitive data", "description": "Handle with care",
                          "style": {"color": "#ff0000"}, "source": "Classification", "labelType": "Automated", "state": "Suggested"});
    let path = format!("/api/v1/tables/{}?fields=tags", t["id"].as_str().unwrap());
    let (_, read) = s.get(&path, Some(&admin)).await;
    assert_eq!((read["tags"][0].clone(), read["columns"][0]["tags"][0].clone()), (expected.clone(), expected));
    let (status, again) = s.call(Method::PUT, "/api/v1/tables", Some(&bot), Some(table)).await;
    assert_eq!((status, again["version"].clone()), (StatusCode::OK, json!(0.1)), "the same labels are no change: {again}");

    // A hard-deleted classification takes its tags' labels with it; a soft-deleted one not.
    let (status, _) = s.call(Method::DELETE, "/api/v1/classifications/name/Privacy?recursive=true", Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = s.get(&path, Some(&admin)).await;
    assert_eq!(read["tags"][0]["tagFQN"], json!("Privacy.Sensitive"));
    let (status, _) = s.call(Method::DELETE, "/api/v1/classifications/name/Privacy?recursive=true&hardDelete=true", Some(&bot), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = s.get(&path, Some(&admin)).await;
    assert_eq!((read["tags"].clone(), read["columns"][0]["tags"].clone()), (json!([]), json!([])), "{read}");
}

#[tokio::test]
async fn tag_labels_carry_their_tag_and_go_with_it() {
    let s = TestServer::start(&[]).await;
    tag_labels(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn tag_labels_carry_their_tag_and_go_with_it_on_postgres() {
    let Some(s) = TestServer::start_postgres(&[]).await else { return };
    tag_labels(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn admins_restore_deleted_bots() {
    let s = TestServer::start(&[]).await;
    let admin = s.admin_token().await;
    let (_, bot_token) = s.ingestion_bot(&admin).await;
    created(&s, "/api/v1/users", &admin, json!({"name": "etl-bot", "email": "etl-bot@open-metadata.org", "isBot": true})).await;
    let bot = created(&s, "/api/v1/bots", &admin, json!({"name": "etl-bot", "botUser": "etl-bot"})).await;
    let (status, _) = s.call(Method::DELETE, &format!("/api/v1/bots/{}", bot["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.call(Method::PUT, "/api/v1/bots/restore", Some(&bot_token), Some(json!({"id": bot["id"]}))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!(403)), "admins only: {body}");
    let (status, restored) = s.call(Method::PUT, "/api/v1/bots/restore", Some(&admin), Some(json!({"id": bot["id"]}))).await;
    assert_eq!((status, restored["deleted"].clone()), (StatusCode::OK, json!(false)), "{restored}");
    let (status, _) = s.get("/api/v1/bots/name/etl-bot", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.call(Method::PUT, "/api/v1/bots/restore", Some(&admin), Some(json!({"id": "00000000-0000-0000-0000-000000000000"}))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!(404)));

    // The delete and the restore are versions of the bot, as in OpenMetadata's BotResource.
    let id = bot["id"].as_str().unwrap();
    let (status, history) = s.get(&format!("/api/v1/bots/{id}/versions"), Some(&admin)).await;
    assert_eq!((status, history["entityType"].clone()), (StatusCode::OK, json!("bot")), "{history}");
    assert_eq!(history["versions"].as_array().map(Vec::len), Some(3), "created, deleted, restored: {history}");
    let (status, first) = s.get(&format!("/api/v1/bots/{id}/versions/0.1"), Some(&admin)).await;
    assert_eq!((status, first["name"].clone(), first["deleted"].clone()), (StatusCode::OK, json!("etl-bot"), json!(false)), "{first}");
    let (status, body) = s.get(&format!("/api/v1/bots/{id}/versions/9.9"), Some(&admin)).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!(404)), "{body}");
    s.stop().await;
}
