//! The store suite: every test runs on SQLite and, when configured, on PostgreSQL.

use ferrometa_store::testing::fresh_stores;
use ferrometa_store::{BotTokenRow, EntityRow, Include, PatRow, RelationSide, Store, StoreError, now_ms};

fn entity(id: &str, fqn: &str, parent: Option<&str>) -> EntityRow {
    EntityRow {
        id: id.into(),
        entity_type: "table".into(),
        fqn: fqn.into(),
        secondary_key: None,
        parent_fqn: parent.map(str::to_lowercase),
        deleted: false,
        updated_at: now_ms(),
        json: format!("{{\"name\":\"{fqn}\"}}"),
    }
}

async fn each_store(test: impl AsyncFn(&Store)) {
    for (store, _dir) in fresh_stores().await {
        test(&store).await;
    }
}

#[tokio::test]
async fn entities_insert_lookup_update_and_conflicts() {
    each_store(async |s| {
        let e = entity("1", "svc.db.Schema.Orders", Some("svc.db.Schema"));
        s.insert_entity(&e, "0.1", &[], None).await.unwrap();
        assert_eq!(s.entity_by_id("table", "1").await.unwrap().unwrap(), e);
        assert_eq!(s.entity_by_fqn("table", "SVC.DB.schema.orders").await.unwrap().unwrap().id, "1", "FQN lookup is case-insensitive");
        assert!(s.entity_by_fqn("database", "svc.db.Schema.Orders").await.unwrap().is_none(), "types are separate");
        let dup = entity("2", "svc.db.schema.ORDERS", None);
        assert!(matches!(s.insert_entity(&dup, "0.1", &[], None).await, Err(StoreError::Conflict)), "same FQN in another case is a conflict");
        let mut changed = e.clone();
        changed.json = "{\"changed\":true}".into();
        changed.deleted = true;
        assert!(s.update_entity(&changed, "0.2", None).await.unwrap());
        assert_eq!(s.entity_by_id("table", "1").await.unwrap().unwrap(), changed);
        assert!(!s.update_entity(&entity("nope", "x", None), "0.2", None).await.unwrap());
        assert!(s.delete_entity("1", None).await.unwrap());
        assert!(s.entity_by_id("table", "1").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn secondary_keys_are_unique_per_type() {
    each_store(async |s| {
        let mut a = entity("a", "alice", None);
        a.secondary_key = Some("alice@example.com".into());
        s.insert_entity(&a, "0.1", &[], None).await.unwrap();
        let mut b = entity("b", "alice2", None);
        b.secondary_key = Some("alice@example.com".into());
        assert!(matches!(s.insert_entity(&b, "0.1", &[], None).await, Err(StoreError::Conflict)));
        b.secondary_key = None;
        s.insert_entity(&b, "0.1", &[], None).await.unwrap();
        let mut c = entity("c", "carol", None);
        c.secondary_key = None;
        s.insert_entity(&c, "0.1", &[], None).await.unwrap();
        assert_eq!(s.entity_by_secondary_key("table", "alice@example.com").await.unwrap().unwrap().id, "a");
    })
    .await;
}

#[tokio::test]
async fn cursor_paging_walks_forward_and_back_by_fqn() {
    each_store(async |s| {
        for i in 0..7 {
            s.insert_entity(&entity(&format!("id{i}"), &format!("svc.t{i}"), Some("svc")), "0.1", &[], None).await.unwrap();
        }
        s.insert_entity(&entity("other", "other.t", Some("other")), "0.1", &[], None).await.unwrap();
        let p1 = s.list_entities("table", Some("svc"), Include::NonDeleted, 3, None, None).await.unwrap();
        assert_eq!(p1.total, 7);
        assert_eq!(p1.rows.iter().map(|r| r.fqn.as_str()).collect::<Vec<_>>(), ["svc.t0", "svc.t1", "svc.t2"]);
        assert_eq!(p1.before, None);
        let p2 = s.list_entities("table", Some("svc"), Include::NonDeleted, 3, p1.after.as_deref(), None).await.unwrap();
        assert_eq!(p2.rows.iter().map(|r| r.fqn.as_str()).collect::<Vec<_>>(), ["svc.t3", "svc.t4", "svc.t5"]);
        let p3 = s.list_entities("table", Some("svc"), Include::NonDeleted, 3, p2.after.as_deref(), None).await.unwrap();
        assert_eq!(p3.rows.len(), 1);
        assert_eq!(p3.after, None, "last page has no after cursor");
        let back = s.list_entities("table", Some("svc"), Include::NonDeleted, 3, None, p3.before.as_deref()).await.unwrap();
        assert_eq!(back.rows.iter().map(|r| r.fqn.as_str()).collect::<Vec<_>>(), ["svc.t3", "svc.t4", "svc.t5"]);
        let all = s.list_entities("table", None, Include::All, 100, None, None).await.unwrap();
        assert_eq!(all.total, 8);
    })
    .await;
}

#[tokio::test]
async fn include_filters_deleted_rows() {
    each_store(async |s| {
        s.insert_entity(&entity("1", "a", None), "0.1", &[], None).await.unwrap();
        let mut d = entity("2", "b", None);
        d.deleted = true;
        s.insert_entity(&d, "0.1", &[], None).await.unwrap();
        let count = async |i| s.list_entities("table", None, i, 10, None, None).await.unwrap().total;
        assert_eq!((count(Include::NonDeleted).await, count(Include::Deleted).await, count(Include::All).await), (1, 1, 2));
    })
    .await;
}

#[tokio::test]
async fn versions_and_sso_bindings() {
    each_store(async |s| {
        let mut e = entity("1", "a", None);
        s.insert_entity(&e, "0.1", &[], None).await.unwrap();
        e.json = "{\"a\":1}".into();
        s.update_entity(&e, "0.2", None).await.unwrap();
        let versions = s.entity_versions("1").await.unwrap();
        assert_eq!(versions.len(), 2, "the insert and the update each store a version: {versions:?}");
        assert!(versions.contains(&("0.2".to_string(), e.json.clone())), "a version holds the JSON written with it: {versions:?}");
        s.bind_sso_subject("https://idp/pool", "sub-1", "user-1", None).await.unwrap();
        assert!(matches!(s.bind_sso_subject("https://idp/pool", "sub-1", "user-2", None).await, Err(StoreError::Conflict)));
        assert_eq!(s.sso_subject_user("https://idp/pool", "sub-1").await.unwrap().as_deref(), Some("user-1"));
        assert_eq!(s.sso_subject_user("https://other/pool", "sub-1").await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn rewrites_in_place_only_replace_the_json_they_were_computed_from() {
    each_store(async |s| {
        let e = entity("1", "a", None);
        s.insert_entity(&e, "0.1", &[], None).await.unwrap();
        assert!(s.rewrite_entity_json(&e, "{\"n\":1}").await.unwrap(), "the row still held the JSON read");
        assert!(!s.rewrite_entity_json(&e, "{\"n\":2}").await.unwrap(), "a rewrite from a stale read must not win");
        assert_eq!(s.entity_by_id("table", "1").await.unwrap().unwrap().json, "{\"n\":1}");
        assert!(s.rewrite_entity_version("1", "0.1", &e.json, "{\"v\":1}").await.unwrap());
        assert!(!s.rewrite_entity_version("1", "0.1", &e.json, "{\"v\":2}").await.unwrap(), "a stale version rewrite must not win");
        assert_eq!(s.entity_versions("1").await.unwrap(), [("0.1".to_string(), "{\"v\":1}".to_string())], "no version is added by a rewrite");
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_are_single_use() {
    each_store(async |s| {
        s.insert_refresh_token("h1", "u1", now_ms() + 1000, None).await.unwrap();
        assert_eq!(s.take_refresh_token("h1").await.unwrap().unwrap().0, "u1");
        assert!(s.take_refresh_token("h1").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn login_attempts_are_claimed_up_to_the_limit_within_the_window_and_reset() {
    each_store(async |s| {
        for n in 1..=3 {
            assert!(s.claim_login_attempt("a@x", 3, 60_000).await.unwrap(), "attempt {n} of 3 is granted");
        }
        assert!(!s.claim_login_attempt("a@x", 3, 60_000).await.unwrap(), "the 4th attempt within the window is refused");
        assert!(s.claim_login_attempt("b@x", 3, 60_000).await.unwrap(), "other emails have their own count");
        assert!(s.claim_login_attempt("a@x", 3, -1).await.unwrap(), "claims outside the window do not count");
        for n in 2..=3 {
            assert!(s.claim_login_attempt("a@x", 3, 60_000).await.unwrap(), "an expired window restarts at 1: attempt {n} is granted");
        }
        assert!(!s.claim_login_attempt("a@x", 3, 60_000).await.unwrap(), "the restarted window blocks after 3 again");
        s.clear_login_failures("a@x", None).await.unwrap();
        assert!(s.claim_login_attempt("a@x", 3, 60_000).await.unwrap(), "clearing (a successful login) unblocks");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_login_claims_grant_exactly_the_limit() {
    each_store(async |s| {
        let mut claims = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let store = s.clone();
            claims.spawn(async move { store.claim_login_attempt("race@x", 3, 60_000).await.unwrap() });
        }
        let granted = claims.join_all().await.into_iter().filter(|granted| *granted).count();
        assert_eq!(granted, 3, "20 concurrent claims with a limit of 3 on {:?}", s.backend());
    })
    .await;
}

#[tokio::test]
async fn denylist_bot_tokens_and_pats() {
    each_store(async |s| {
        s.revoke_token("t1", now_ms() + 60_000, None).await.unwrap();
        s.revoke_token("t1", now_ms() + 60_000, None).await.unwrap();
        assert!(s.is_token_revoked("t1").await.unwrap());
        assert!(!s.is_token_revoked("t2").await.unwrap());

        let bot = BotTokenRow { user_id: "b".into(), token_hash: "h".into(), token_ciphertext: "c".into(), expiry: "Unlimited".into(), expires_at: None };
        s.put_bot_token(&bot, None).await.unwrap();
        let newer = BotTokenRow { token_hash: "h2".into(), expiry: "7".into(), expires_at: Some(5), ..bot.clone() };
        s.put_bot_token(&newer, None).await.unwrap();
        assert_eq!(s.bot_token("b").await.unwrap().unwrap(), newer);
        s.delete_bot_token("b", None).await.unwrap();
        assert!(s.bot_token("b").await.unwrap().is_none());

        let pat = PatRow { id: "p1".into(), user_id: "u".into(), token_name: "ci".into(), token_hash: "ph".into(), expires_at: 9, created_at: 1 };
        s.insert_pat(&pat, None).await.unwrap();
        assert!(s.pat_exists("ph").await.unwrap());
        assert_eq!(s.pats_of("u").await.unwrap(), vec![pat]);
        assert!(s.delete_pat("u", "p1", None).await.unwrap());
        assert!(!s.pat_exists("ph").await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn settings_and_ping() {
    each_store(async |s| {
        s.ping().await.unwrap();
        assert_eq!(s.get_setting("x").await.unwrap(), None);
        s.put_setting("x", "1").await.unwrap();
        s.put_setting("x", "2").await.unwrap();
        assert_eq!(s.get_setting("x").await.unwrap().as_deref(), Some("2"));
    })
    .await;
}

/// `paging.total` of every list a table is in: the type, its parent, each of its ancestors.
async fn totals(s: &Store, include: Include) -> (i64, i64, i64) {
    let of_type = s.list_entities("table", None, include, 1, None, None).await.unwrap().total;
    let in_parent = s.list_entities("table", Some("svc.db.sch"), include, 1, None, None).await.unwrap().total;
    let under_db = s.list_entities_under("table", "svc.db", include, 1, None, None).await.unwrap().total;
    (of_type, in_parent, under_db)
}

#[tokio::test]
async fn list_totals_follow_inserts_soft_deletes_restores_and_hard_deletes() {
    each_store(async |s| {
        let ancestors = ["svc".to_string(), "svc.db".to_string(), "svc.db.sch".to_string()];
        for i in 0..3 {
            let t = entity(&format!("t{i}"), &format!("svc.db.sch.T{i}"), Some("svc.db.sch"));
            s.insert_entity(&t, "0.1", &ancestors, None).await.unwrap();
        }
        assert_eq!(totals(s, Include::NonDeleted).await, (3, 3, 3), "each insert counts in its type, its parent and each ancestor");

        let mut t0 = s.entity_by_id("table", "t0").await.unwrap().unwrap();
        t0.deleted = true;
        s.update_entity(&t0, "0.2", None).await.unwrap();
        assert_eq!(totals(s, Include::NonDeleted).await, (2, 2, 2), "a soft delete leaves the non-deleted lists");
        assert_eq!(totals(s, Include::Deleted).await, (1, 1, 1));
        assert_eq!(totals(s, Include::All).await, (3, 3, 3));

        t0.json = "{\"description\":\"changed while deleted\"}".into();
        s.update_entity(&t0, "0.3", None).await.unwrap();
        assert_eq!(totals(s, Include::Deleted).await, (1, 1, 1), "an update that keeps the flag changes no count");

        t0.deleted = false;
        s.update_entity(&t0, "0.4", None).await.unwrap();
        assert_eq!(totals(s, Include::NonDeleted).await, (3, 3, 3), "a restore counts again");

        assert!(s.delete_entity("t1", None).await.unwrap());
        assert!(!s.delete_entity("t1", None).await.unwrap(), "a second hard delete finds nothing");
        assert_eq!(totals(s, Include::All).await, (2, 2, 2), "a hard delete leaves every list");
        let under = s.list_entities_under("table", "svc.db", Include::All, 10, None, None).await.unwrap();
        assert_eq!(under.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["t0", "t2"], "no hierarchy row outlives its entity");
        assert_eq!(s.list_entities_under("table", "svc.db.other", Include::All, 1, None, None).await.unwrap().total, 0);
    })
    .await;
}

#[tokio::test]
async fn the_counts_migration_counts_rows_written_before_it() {
    let seed = [
        "INSERT INTO entities (id, entity_type, fqn, fqn_key, parent_fqn_key, deleted, updated_at, json) VALUES ('a', 'table', 'svc.db.sch.A', 'svc.db.sch.a', 'svc.db.sch', 0, 0, '{}')",
        "INSERT INTO entities (id, entity_type, fqn, fqn_key, parent_fqn_key, deleted, updated_at, json) VALUES ('b', 'table', 'svc.db.sch.B', 'svc.db.sch.b', 'svc.db.sch', 1, 0, '{}')",
        "INSERT INTO entity_ancestors (ancestor_key, entity_type, fqn_key, id) VALUES ('svc.db', 'table', 'svc.db.sch.a', 'a')",
        "INSERT INTO entity_ancestors (ancestor_key, entity_type, fqn_key, id) VALUES ('svc.db', 'table', 'svc.db.sch.b', 'b')",
        // Left behind by a hard delete before the hierarchy rows went with their entity.
        "INSERT INTO entity_ancestors (ancestor_key, entity_type, fqn_key, id) VALUES ('svc.db', 'table', 'svc.db.sch.gone', 'gone')",
    ];
    for (s, _dir) in ferrometa_store::testing::stores_seeded_at_version(4, &seed).await {
        assert_eq!(totals(&s, Include::NonDeleted).await, (1, 1, 1), "{:?}", s.backend());
        assert_eq!(totals(&s, Include::All).await, (2, 2, 2), "{:?}: the orphaned hierarchy row is not counted", s.backend());
        s.insert_entity(&entity("c", "svc.db.sch.gone", Some("svc.db.sch")), "0.1", &["svc.db".to_string()], None).await.unwrap();
        assert_eq!(totals(&s, Include::All).await, (3, 3, 3), "{:?}: a new entity at the orphan's FQN is listed and counted", s.backend());
    }
}

#[tokio::test]
async fn a_hard_delete_takes_the_relationship_edges_of_both_ends() {
    each_store(async |s| {
        let team_side = RelationSide { relation: "has", outgoing: true, other_type: "table" };
        let table_side = RelationSide { relation: "has", outgoing: false, other_type: "table" };
        s.insert_entity(&entity("team", "team", None), "0.1", &[], None).await.unwrap();
        s.insert_entity(&entity("member", "member", None), "0.1", &[], None).await.unwrap();
        s.replace_relations("team", "table", team_side, &["member".to_string()]).await.unwrap();
        assert_eq!(s.related("member", table_side).await.unwrap().len(), 1);
        assert!(s.delete_entity("team", None).await.unwrap());
        // An entity stored again under the same id starts without the old edges.
        s.insert_entity(&entity("team", "team", None), "0.1", &[], None).await.unwrap();
        assert!(s.related("member", table_side).await.unwrap().is_empty(), "the edge went with the deleted entity");
        assert!(s.related("team", team_side).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_insert_that_fails_part_way_stores_nothing() {
    each_store(async |s| {
        let t = entity("t", "svc.db.sch.t", Some("svc.db.sch"));
        // The second hierarchy row collides with the first, after the row, its counts, its
        // search document and its version were written in the same transaction.
        let twice = ["svc.db".to_string(), "svc.db".to_string()];
        assert!(matches!(s.insert_entity(&t, "0.1", &twice, None).await, Err(StoreError::Conflict)));
        assert!(s.entity_by_id("table", "t").await.unwrap().is_none(), "no row");
        assert!(s.entity_versions("t").await.unwrap().is_empty(), "no version");
        assert_eq!(totals(s, Include::All).await, (0, 0, 0), "no count and no hierarchy row");
        s.insert_entity(&t, "0.1", &twice[..1], None).await.unwrap();
        assert_eq!(totals(s, Include::All).await, (1, 1, 1), "the same entity inserts cleanly afterwards");
    })
    .await;
}

/// Replicas learn of access changes at once: an announcement on one PostgreSQL handle is heard
/// by a listener on another; SQLite (one process) neither announces nor listens.
#[tokio::test]
async fn access_changes_announced_on_postgres_are_heard_by_other_replicas() {
    for (store, _dir) in fresh_stores().await {
        let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
        let listening = store.listen_for_access_changes(move || {
            let _ = heard.send(());
        }).await.unwrap();
        store.announce_access_change().await.unwrap();
        match (store.backend(), listening) {
            (ferrometa_store::Backend::Sqlite, None) => {}
            (ferrometa_store::Backend::Postgres, Some(task)) => {
                // The bound only turns a lost notification into a failure instead of a hang.
                let got = tokio::time::timeout(std::time::Duration::from_secs(10), hearing.recv()).await;
                assert_eq!(got, Ok(Some(())), "the listener hears the announcement");
                task.abort();
            }
            (backend, task) => panic!("{backend:?} listens: {}", task.is_some()),
        }
    }
}
