//! Relationships kept inside entity JSON before `entity_relations` existed are copied into it
//! once, on SQLite and PostgreSQL.

use ferrometa_catalog::Catalog;
use ferrometa_catalog::kinds::USER;
use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{EntityRow, Include, RelationSide};
use serde_json::json;

#[tokio::test]
async fn relations_stored_in_json_are_backfilled_once() {
    for (store, _dir) in fresh_stores().await {
        let c = Catalog::new(store.clone(), "http://localhost:8585/");
        let role = c.ensure_role("IngestionBotRole", "r").await.unwrap();
        // A bot user as an older ferrometa stored it: its roles only in its JSON.
        let user = json!({"id": "u-1", "name": "ingestion-bot", "fullyQualifiedName": "ingestion-bot", "email": "ingestion-bot@x.org", "isBot": true,
                          "roles": [c.reference(&ferrometa_catalog::kinds::ROLE, &role)], "teams": [], "version": 0.1, "deleted": false});
        let row = EntityRow { id: "u-1".into(), entity_type: "user".into(), fqn: "ingestion-bot".into(), secondary_key: Some("ingestion-bot@x.org".into()),
                              parent_fqn: None, deleted: false, updated_at: 1, json: user.to_string() };
        store.insert_entity(&row).await.unwrap();
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
