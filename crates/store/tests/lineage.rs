//! Lineage edges in the store, on SQLite and (when configured) PostgreSQL: depth-bounded walks
//! both ways, live entities only, upserts, conditional detail rewrites, deletes by source and
//! with the entity.

use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{Direction, EntityRow, LineageEdge, Store, now_ms};

fn row(id: &str) -> EntityRow {
    EntityRow { id: id.into(), entity_type: "table".into(), fqn: format!("s.d.x.{id}"), secondary_key: None, parent_fqn: None, deleted: false, updated_at: now_ms(), json: "{}".into() }
}

fn edge(from: &str, to: &str, source: &str) -> LineageEdge {
    LineageEdge { from_id: from.into(), from_type: "table".into(), to_id: to.into(), to_type: "table".into(), source: source.into(), details: format!("{{\"source\":\"{source}\"}}") }
}

async fn walk(s: &Store, id: &str, direction: Direction, depth: i64) -> Vec<(String, String)> {
    s.lineage_walk(id, direction, depth).await.unwrap().into_iter().map(|e| (e.from_id, e.to_id)).collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// a → b → c → d → e, and x → c; every entity live.
async fn chain(s: &Store) {
    for id in ["a", "b", "c", "d", "e", "x"] {
        s.insert_entity(&row(id), "0.1", &[], None).await.unwrap();
    }
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("x", "c")] {
        assert!(s.put_lineage_edge(&edge(from, to, "Manual")).await.unwrap(), "{from} → {to} written");
    }
}

#[tokio::test]
async fn walks_stop_at_their_depth_in_either_direction() {
    for (s, _dir) in fresh_stores().await {
        chain(&s).await;
        assert_eq!(walk(&s, "c", Direction::Upstream, 0).await, pairs(&[]), "depth 0");
        assert_eq!(walk(&s, "c", Direction::Upstream, 1).await, pairs(&[("b", "c"), ("x", "c")]), "upstream 1");
        assert_eq!(walk(&s, "c", Direction::Upstream, 2).await, pairs(&[("a", "b"), ("b", "c"), ("x", "c")]), "upstream 2");
        assert_eq!(walk(&s, "c", Direction::Downstream, 1).await, pairs(&[("c", "d")]), "downstream 1");
        assert_eq!(walk(&s, "a", Direction::Downstream, 3).await, pairs(&[("a", "b"), ("b", "c"), ("c", "d")]), "downstream 3");
    }
}

#[tokio::test]
async fn cycles_end_and_deleted_entities_cut_the_walk() {
    for (s, _dir) in fresh_stores().await {
        chain(&s).await;
        assert!(s.put_lineage_edge(&edge("e", "a", "Manual")).await.unwrap());
        assert_eq!(walk(&s, "a", Direction::Downstream, 3).await.len(), 3, "a cycle is walked to the depth, not forever");
        let mut b = row("b");
        b.deleted = true;
        assert!(s.update_entity(&b, "0.2", None).await.unwrap());
        assert_eq!(walk(&s, "a", Direction::Downstream, 3).await, pairs(&[]), "nothing past a soft-deleted entity");
        assert!(!s.put_lineage_edge(&edge("b", "d", "Manual")).await.unwrap(), "no new edge to a deleted entity");
        assert!(!s.put_lineage_edge(&edge("a", "nobody", "Manual")).await.unwrap(), "no edge to a missing entity");
        assert!(s.delete_entity("c", None).await.unwrap());
        assert_eq!(s.lineage_edge("x", "c").await.unwrap(), None, "a hard delete takes the entity's edges");
        assert_eq!(walk(&s, "d", Direction::Upstream, 3).await, pairs(&[]));
    }
}

#[tokio::test]
async fn an_edge_is_replaced_patched_only_if_unchanged_and_deleted_by_source() {
    for (s, _dir) in fresh_stores().await {
        chain(&s).await;
        assert!(s.put_lineage_edge(&edge("a", "b", "QueryLineage")).await.unwrap(), "second put replaces");
        let stored = s.lineage_edge("a", "b").await.unwrap().unwrap();
        assert_eq!(stored.source, "QueryLineage");
        assert!(!s.replace_lineage_details("a", "b", "{\"stale\":1}", "Manual", "{}").await.unwrap(), "a stale rewrite is refused");
        assert!(s.replace_lineage_details("a", "b", &stored.details, "ViewLineage", "{\"source\":\"ViewLineage\"}").await.unwrap());
        assert_eq!(s.delete_lineage_of_source("b", "ViewLineage").await.unwrap(), 1, "only the edge of that source");
        assert_eq!(walk(&s, "b", Direction::Upstream, 1).await, pairs(&[]));
        assert!(s.delete_lineage_edge("b", "c").await.unwrap());
        assert!(!s.delete_lineage_edge("b", "c").await.unwrap(), "gone already");
        let found = s.entities_by_ids(&["d", "e", "nobody"]).await.unwrap();
        assert_eq!(found.len(), 2, "entities by ids");
    }
}
