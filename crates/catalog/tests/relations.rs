//! Relationships kept inside entity JSON before `entity_relations` existed are copied into it
//! once, on SQLite and PostgreSQL.

use ferrometa_catalog::{Actor, Catalog};
use ferrometa_catalog::kinds::USER;
use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{EntityRow, Include, RelationSide};
use serde_json::json;

mod common;
use common::{admin, by};

#[tokio::test]
async fn relations_stored_in_json_are_backfilled_once() {
    for (store, _dir) in fresh_stores().await {
        let c = Catalog::new(store.clone(), "http://localhost:8585/");
        c.seed_access().await.unwrap();
        let role = c.get_by_name(&ferrometa_catalog::kinds::ROLE, "IngestionBotRole", Include::All).await.unwrap();
        // A bot user as an older ferrometa stored it: its roles only in its JSON.
        let user = json!({"id": "u-1", "name": "ingestion-bot", "fullyQualifiedName": "ingestion-bot", "email": "ingestion-bot@x.org", "isBot": true,
                          "roles": [c.reference(&ferrometa_catalog::kinds::ROLE, &role)], "teams": [], "version": 0.1, "deleted": false});
        let row = EntityRow { id: "u-1".into(), entity_type: "user".into(), fqn: "ingestion-bot".into(), secondary_key: Some("ingestion-bot@x.org".into()),
                              parent_fqn: None, deleted: false, updated_at: 1, json: user.to_string() };
        store.insert_entity(&row, "0.1", &[], None).await.unwrap();
        assert_eq!(c.get(&USER, "u-1", Include::All).await.unwrap()["roles"], json!([]), "not yet an edge");

        c.backfill_relations().await.unwrap();
        let read = c.get(&USER, "u-1", Include::All).await.unwrap();
        assert_eq!(read["roles"][0]["name"], json!("IngestionBotRole"), "{read}");

        // Once only: afterwards the edges are the truth, whatever the stale JSON says.
        let roles = RelationSide { relation: "has", outgoing: true, other_type: "role" };
        store.replace_relations("u-1", "user", roles, &[]).await.unwrap();
        c.backfill_relations().await.unwrap();
        assert_eq!(c.get(&USER, "u-1", Include::All).await.unwrap()["roles"], json!([]));
    }
}

fn message(e: ferrometa_catalog::CatalogError) -> String {
    match e {
        ferrometa_catalog::CatalogError::BadRequest(m) | ferrometa_catalog::CatalogError::NotFound(m) => m,
        other => panic!("expected a 400 or 404, got {other:?}"),
    }
}

fn names(listed: &serde_json::Value) -> Vec<&str> {
    listed.as_array().unwrap_or_else(|| panic!("not a list: {listed}")).iter().map(|r| r["name"].as_str().unwrap()).collect()
}

/// OpenMetadata's team hierarchy: parents and children read from the same edges, the
/// Organization as the parent of teams without one and the team of users in none, the counts,
/// and the rules of which team types may sit where.
#[tokio::test]
async fn teams_form_a_hierarchy_under_the_organization() {
    use ferrometa_catalog::governance::TEAMS;
    use ferrometa_catalog::kinds::TEAM;
    use ferrometa_catalog::users::CreateUser;
    for (store, _dir) in fresh_stores().await {
        let c = Catalog::new(store.clone(), "http://localhost:8585/");
        let org = c.ensure_organization().await.unwrap();
        let team = |name: &str, team_type: &str, parents: Vec<&serde_json::Value>| {
            json!({"name": name, "teamType": team_type, "parents": parents.iter().map(|p| p["id"].clone()).collect::<Vec<_>>()})
        };
        let sales = c.create_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, json!({"name": "sales", "teamType": "BusinessUnit"})).await.unwrap();
        assert_eq!(names(&sales["parents"]), ["Organization"], "a team without parents is under the Organization");
        let emea = c.create_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, team("emea", "Division", vec![&sales])).await.unwrap();
        let group = c.create_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, team("emea-analysts", "Group", vec![&emea])).await.unwrap();
        let analyst = c.create_user(&CreateUser { name: "ana".into(), email: "ana@x.org".into(), teams: Some(vec![group["id"].as_str().unwrap().into()]), ..Default::default() }, by("admin")).await.unwrap();
        let loner = c.create_user(&CreateUser { name: "lone".into(), email: "lone@x.org".into(), ..Default::default() }, by("admin")).await.unwrap();
        assert_eq!(names(&loner["teams"]), ["Organization"], "a user in no team is in the Organization");
        assert_eq!(names(&analyst["teams"]), ["emea-analysts"]);

        let get = |id: &serde_json::Value| {
            let id = id.as_str().unwrap().to_string();
            let c = c.clone();
            async move { c.get(&TEAM, &id, Include::NonDeleted).await }
        };
        let sales = get(&sales["id"]).await.unwrap();
        assert_eq!((names(&sales["children"]), &sales["childrenCount"], &sales["userCount"]), (vec!["emea"], &json!(1), &json!(1)), "{sales}");
        let org = get(&org["id"]).await.unwrap();
        assert_eq!(names(&org["children"]), ["sales"], "only the teams without parents are the Organization's children");
        assert_eq!((&org["parents"], &org["userCount"]), (&json!([]), &json!(1)));
        assert_eq!(names(&get(&group["id"]).await.unwrap()["parents"]), ["emea"]);

        let refused = [
            (team("squad", "Group", vec![&group]), "Team emea-analysts of type Group can't be of parent of team squad of type Group"),
            (json!({"name": "bu2", "teamType": "BusinessUnit", "parents": [sales["id"], org["id"]]}), "Team of type BusinessUnit can have only 1 parents"),
            (json!({"name": "g2", "teamType": "Group", "children": [emea["id"]]}), "Team of type Group can't have children of type team. Only users are allowed as part of the team"),
            (json!({"name": "dept", "teamType": "Department", "children": [sales["id"]]}), "Team dept of type Department can't have child team sales of type BusinessUnit"),
            (json!({"name": "org2", "teamType": "Organization"}), "Only one Organization is allowed. New Organization type can't be created"),
            (team("emea-analysts", "Department", vec![&emea]), "Team of type Group cannot be updated"),
            (team("emea", "Group", vec![&sales]), "A team with children cannot be updated to type Group"),
        ];
        for (request, expected) in refused {
            assert_eq!(message(c.put_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, request.clone()).await.unwrap_err()), expected, "{request}");
        }

        // A user's teams naming a team that does not exist: 404, and the user is unchanged.
        let patch: json_patch::Patch = serde_json::from_value(json!([{"op": "add", "path": "/teams/0", "value": {"id": "no-such-team", "type": "team"}}])).unwrap();
        assert_eq!(message(c.patch(&USER, analyst["id"].as_str().unwrap(), &patch, by("admin")).await.unwrap_err()), "team instance for no-such-team not found");
        assert_eq!(names(&c.get(&USER, analyst["id"].as_str().unwrap(), Include::NonDeleted).await.unwrap()["teams"]), ["emea-analysts"]);

        // A team with teams below it is deleted only recursively, with them; its users are
        // then in no team, so in the Organization.
        let refused = c.delete_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, emea["id"].as_str().unwrap(), true, false).await.unwrap_err();
        assert_eq!(message(refused), "team is not empty");
        c.delete_asset(Actor::local(&admin(&c, "admin").await), &TEAMS, emea["id"].as_str().unwrap(), true, true).await.unwrap();
        assert!(get(&group["id"]).await.is_err(), "the group below went with it");
        assert_eq!(names(&get(&org["id"]).await.unwrap()["children"]), ["sales"]);
        assert_eq!(names(&c.get(&USER, analyst["id"].as_str().unwrap(), Include::NonDeleted).await.unwrap()["teams"]), ["Organization"]);
    }
}
