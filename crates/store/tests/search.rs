//! Full-text search in the store: every test runs on SQLite (FTS5) and, when configured, on
//! PostgreSQL (`tsvector`), and expects the same answers from both.

use ferrometa_store::testing::{fresh_stores, stores_seeded_at_version};
use ferrometa_store::{EntityRow, Include, Store, now_ms};
use serde_json::{Value, json};

fn table(id: &str, fqn: &str, entity: Value) -> EntityRow {
    EntityRow {
        id: id.into(),
        entity_type: "table".into(),
        fqn: fqn.into(),
        secondary_key: None,
        parent_fqn: None,
        deleted: false,
        updated_at: now_ms(),
        json: entity.to_string(),
    }
}

async fn each_store(test: impl AsyncFn(&Store)) {
    for (store, _dir) in fresh_stores().await {
        test(&store).await;
    }
}

/// FQNs of the hits of a table search (non-deleted), best first.
async fn found(s: &Store, q: &str) -> Vec<String> {
    found_in(s, q, Include::NonDeleted).await
}

async fn found_in(s: &Store, q: &str, include: Include) -> Vec<String> {
    let (hits, total) = s.search(&["table"], q, include, 0, 100).await.unwrap();
    assert_eq!(total, hits.len() as i64, "total of {q:?}");
    hits.into_iter().map(|h| h.row.fqn).collect()
}

/// `shop.orders` (named), `shop.audit` (mentions orders in its description), `shop.items`
/// (an `order_id` column and a nested `currency` column).
async fn shop(s: &Store) {
    s.insert_entity(&table("1", "shop.audit", json!({"name": "audit", "description": "Every change to orders, kept for a year"})), "0.1", &[], None)
        .await
        .unwrap();
    s.insert_entity(&table("2", "shop.orders", json!({"name": "orders", "displayName": "Customer orders"})), "0.1", &[], None).await.unwrap();
    let columns = json!([{"name": "order_id", "description": "The order"}, {"name": "price", "children": [{"name": "currency", "description": "ISO code"}]}]);
    s.insert_entity(&table("3", "shop.items", json!({"name": "items", "columns": columns})), "0.1", &[], None).await.unwrap();
}

#[tokio::test]
async fn a_name_match_ranks_before_a_description_match() {
    each_store(async |s| {
        shop(s).await;
        let (hits, total) = s.search(&["table"], "orders", Include::NonDeleted, 0, 10).await.unwrap();
        let fqns: Vec<&str> = hits.iter().map(|h| h.row.fqn.as_str()).collect();
        assert_eq!((fqns.as_slice(), total), (["shop.orders", "shop.audit"].as_slice(), 2), "{:?}", s.backend());
        assert!(hits[0].score > hits[1].score, "{hits:?}");
    })
    .await;
}

#[tokio::test]
async fn partial_words_match_as_prefixes_and_every_word_is_required() {
    each_store(async |s| {
        shop(s).await;
        assert_eq!(found(s, "ord").await, ["shop.orders", "shop.items", "shop.audit"], "a name, then a column name, then a description");
        assert_eq!(found(s, "Custom ORD").await, ["shop.orders"], "display name, any case");
        assert_eq!(found(s, "orders year").await, ["shop.audit"]);
        assert!(found(s, "orders nothing").await.is_empty());
        assert_eq!(found(s, "shop.ite").await, ["shop.items"], "FQN");
    })
    .await;
}

#[tokio::test]
async fn columns_nested_columns_and_their_descriptions_are_found() {
    each_store(async |s| {
        shop(s).await;
        assert_eq!(found(s, "order_id").await, ["shop.items"]);
        assert_eq!(found(s, "currency").await, ["shop.items"], "a nested column");
        assert_eq!(found(s, "iso").await, ["shop.items"], "a column description");
    })
    .await;
}

#[tokio::test]
async fn soft_deleted_entities_are_found_only_when_asked_for() {
    each_store(async |s| {
        shop(s).await;
        let mut orders = s.entity_by_id("table", "2").await.unwrap().unwrap();
        orders.deleted = true;
        s.update_entity(&orders, "0.2", None).await.unwrap();
        assert_eq!(found(s, "orders").await, ["shop.audit"]);
        assert_eq!(found_in(s, "orders", Include::Deleted).await, ["shop.orders"]);
        assert_eq!(found_in(s, "orders", Include::All).await, ["shop.orders", "shop.audit"]);
    })
    .await;
}

#[tokio::test]
async fn updates_replace_the_indexed_words_and_deletes_remove_them() {
    each_store(async |s| {
        shop(s).await;
        s.update_entity(&table("2", "shop.orders", json!({"name": "orders", "description": "renamed purchases"})), "0.3", None).await.unwrap();
        assert!(found(s, "customer").await.is_empty(), "the old display name is gone");
        assert_eq!(found(s, "purchases").await, ["shop.orders"]);
        assert!(s.delete_entity("2", None).await.unwrap());
        assert!(found(s, "purchases").await.is_empty());
        assert_eq!(found(s, "orders").await, ["shop.audit"]);
    })
    .await;
}

#[tokio::test]
async fn query_syntax_characters_are_plain_text_never_errors() {
    each_store(async |s| {
        shop(s).await;
        for q in ["\"", "*", ":", "-", "(", ")", "'", "\\", "^", "NEAR(", "\"orders", "orders\"*", "-orders", "orders:", "(orders", "'orders'", "orders OR", "AND", "¯\\_(ツ)_/¯", "\u{0}"] {
            let result = s.search(&["table"], q, Include::NonDeleted, 0, 10).await;
            assert!(result.is_ok(), "{q:?} on {:?}: {result:?}", s.backend());
        }
        assert_eq!(found(s, "\"orders\"*").await, ["shop.orders", "shop.audit"], "quotes and wildcards are not words");
        assert_eq!(found(s, "(order-id)").await, ["shop.items"], "order-id is the words order and id");
        assert_eq!(found(s, "*").await, ["shop.audit", "shop.items", "shop.orders"], "no words: everything, in FQN order");
        let long = "x".repeat(10_000);
        assert!(found(s, &long).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn types_and_paging_bound_the_hits() {
    each_store(async |s| {
        shop(s).await;
        let mut db = table("9", "shop", json!({"name": "shop"}));
        db.entity_type = "database".into();
        s.insert_entity(&db, "0.1", &[], None).await.unwrap();
        let (hits, total) = s.search(&["database"], "shop", Include::NonDeleted, 0, 10).await.unwrap();
        assert_eq!((hits.len(), total), (1, 1));
        let (both, total) = s.search(&["table", "database"], "shop", Include::NonDeleted, 0, 10).await.unwrap();
        assert_eq!((both[0].row.fqn.as_str(), total), ("shop", 4), "the database is named shop, the tables only under it");
        let (page, total) = s.search(&["table", "database"], "shop", Include::NonDeleted, 1, 2).await.unwrap();
        assert_eq!((page.iter().map(|h| h.row.id.clone()).collect::<Vec<_>>(), total), (vec![both[1].row.id.clone(), both[2].row.id.clone()], 4));
        assert!(s.search(&[], "shop", Include::NonDeleted, 0, 10).await.unwrap().0.is_empty());
    })
    .await;
}

#[tokio::test]
async fn exact_names_are_looked_up_case_insensitively() {
    each_store(async |s| {
        shop(s).await;
        s.insert_entity(&table("4", "other.Orders", json!({"name": "Orders"})), "0.1", &[], None).await.unwrap();
        let named: Vec<String> = s.entities_named("table", "ORDERS", 10).await.unwrap().into_iter().map(|r| r.fqn).collect();
        assert_eq!(named, ["other.Orders", "shop.orders"]);
        assert!(s.entities_named("table", "order", 10).await.unwrap().is_empty(), "names are whole");
        assert!(s.entities_named("database", "orders", 10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_migration_indexes_entities_written_before_it() {
    let seed = [
        r#"INSERT INTO entities (id, entity_type, fqn, fqn_key, deleted, updated_at, json) VALUES ('old', 'table', 'legacy.Invoices', 'legacy.invoices', 0, 0, '{"name":"Invoices","columns":[{"name":"vat_rate"}]}')"#,
        "INSERT INTO search_terms (term, entity_type, id) VALUES ('invoices', 'table', 'old')",
    ];
    for (s, _dir) in stores_seeded_at_version(3, &seed).await {
        assert_eq!(found(&s, "invoi").await, ["legacy.Invoices"], "{:?}", s.backend());
        assert_eq!(found(&s, "vat").await, ["legacy.Invoices"]);
        assert_eq!(s.entities_named("table", "invoices", 10).await.unwrap().len(), 1);
    }
}
