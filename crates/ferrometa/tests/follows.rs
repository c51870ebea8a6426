//! Issue 15: followers and votes on any entity whose schema has them — a user follows,
//! unfollows and votes as themself (an admin may change anyone's follow), answered as
//! OpenMetadata's `ChangeEvent`, without a new version; following someone else is refused.

mod common;

use common::{person, shop_tables};
use ferrometa_testkit::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn follows_and_votes(s: &TestServer) {
    let admin = s.admin_token().await;
    let (_, bot) = s.ingestion_bot(&admin).await;
    let ids = shop_tables(s, &bot, &["orders"]).await;
    let (ann, bob) = (person(s, &admin, "ann", json!({})).await, person(s, &admin, "bob", json!({})).await);
    let table = format!("/api/v1/tables/{}", ids["orders"]);

    let (status, event) = s.call(Method::PUT, &format!("{table}/followers"), Some(&ann.token), Some(json!(ann.id))).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!((event["eventType"].clone(), event["entityType"].clone()), (json!("entityUpdated"), json!("table")));
    assert!(event["changeDescription"]["fieldsAdded"][0]["newValue"].as_str().unwrap().contains("ann"), "{event}");
    let (status, refused) = s.call(Method::PUT, &format!("{table}/followers"), Some(&ann.token), Some(json!(bob.id))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "ann cannot make bob follow: {refused}");
    let (status, _) = s.call(Method::PUT, &format!("{table}/followers"), Some(&admin), Some(json!(bob.id))).await;
    assert_eq!(status, StatusCode::OK, "an admin can");
    let (_, read) = s.get(&format!("{table}?fields=followers"), Some(&admin)).await;
    let names: Vec<&str> = read["followers"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!((names, read["version"].clone()), (vec!["ann", "bob"], json!(0.1)), "no new version: {read}");
    let (status, _) = s.call(Method::DELETE, &format!("{table}/followers/{}", bob.id), Some(&bob.token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = s.get(&format!("{table}?fields=followers"), Some(&admin)).await;
    assert_eq!(read["followers"].as_array().map(Vec::len), Some(1), "{read}");

    for (who, vote) in [(&ann.token, "votedUp"), (&bob.token, "votedDown"), (&bob.token, "votedUp")] {
        let (status, event) = s.call(Method::PUT, &format!("{table}/vote"), Some(who), Some(json!({"updatedVoteType": vote}))).await;
        assert_eq!(status, StatusCode::OK, "{event}");
    }
    let (_, read) = s.get(&format!("{table}?fields=votes"), Some(&admin)).await;
    assert_eq!((read["votes"]["upVotes"].clone(), read["votes"]["downVotes"].clone()), (json!(2), json!(0)), "a new vote replaces the voter's last: {read}");
    let (status, _) = s.call(Method::PUT, &format!("{table}/vote"), Some(&ann.token), Some(json!({"updatedVoteType": "loved"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.call(Method::PUT, "/api/v1/services/databaseServices/x/followers", Some(&ann.token), Some(json!(ann.id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a service has no followers in OpenMetadata's schema: no such endpoint");
}

on_both_backends!(follows_and_votes_on_sqlite, follows_and_votes_on_postgres, follows_and_votes);
