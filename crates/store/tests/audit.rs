//! The audit trail in the store: events written with their change or not at all, legacy rows
//! readable after the migration, filters and cursor paging. Every test runs on SQLite and, when
//! configured, on PostgreSQL.

use ferrometa_store::testing::{fresh_stores, stores_seeded_at_version};
use ferrometa_store::{AuditEvent, AuditQuery, AuditRecord, EntityRow, Origin, Outcome, PatRow, Store, StoreError, now_ms};

fn by_admin() -> Origin<'static> {
    Origin { actor: "admin", client: "127.0.0.1".parse().ok() }
}

fn role(id: &str) -> EntityRow {
    EntityRow { id: id.into(), entity_type: "role".into(), fqn: id.into(), secondary_key: None, parent_fqn: None, deleted: false, updated_at: now_ms(), json: "{}".into() }
}

async fn all_events(s: &Store) -> Vec<AuditEvent> {
    s.audit_events(&AuditQuery { limit: 1000, ..Default::default() }).await.expect("read the audit trail").events
}

fn kinds(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.record.kind.as_str()).collect()
}

#[tokio::test]
async fn an_entity_write_and_its_event_are_stored_together_or_not_at_all() {
    for (s, _dir) in fresh_stores().await {
        let created = by_admin().event("role.create", "r1");
        s.insert_entity(&role("r1"), "0.1", &[], Some(&created)).await.unwrap();
        let events = all_events(&s).await;
        assert_eq!(events.len(), 1, "{:?}", s.backend());
        assert_eq!((&events[0].record, events[0].record.client.as_deref()), (&created, Some("127.0.0.1")));

        // The second hierarchy row collides with the first, after the row and its event were
        // written in the same transaction.
        let twice = ["a".to_string(), "a".to_string()];
        let failing = by_admin().event("role.create", "r2");
        assert!(matches!(s.insert_entity(&role("r2"), "0.1", &twice, Some(&failing)).await, Err(StoreError::Conflict)));
        assert!(s.entity_by_id("role", "r2").await.unwrap().is_none(), "{:?}: no row", s.backend());
        assert_eq!(kinds(&all_events(&s).await), ["role.create"], "{:?}: no event of the failed insert", s.backend());

        // Writes that find nothing to change record nothing.
        let nothing = by_admin().event("role.update", "nope");
        assert!(!s.update_entity(&role("nope"), "0.2", Some(&nothing)).await.unwrap());
        assert!(!s.delete_entity("nope", Some(&nothing)).await.unwrap());
        assert!(!s.delete_bot_token("nobody", Some(&nothing)).await.unwrap());
        assert!(!s.delete_pat("nobody", "p", Some(&nothing)).await.unwrap());
        assert_eq!(s.delete_sessions_of("nobody", Some(&nothing)).await.unwrap(), 0);
        assert_eq!(all_events(&s).await.len(), 1, "{:?}: only the one change is recorded", s.backend());

        assert!(s.delete_entity("r1", Some(&by_admin().event("role.delete", "r1").detail("hard"))).await.unwrap());
        let pat = PatRow { id: "p1".into(), user_id: "u".into(), token_name: "ci".into(), token_hash: "h".into(), expires_at: 9, created_at: 1 };
        s.insert_pat(&pat, Some(&by_admin().event("token.pat.create", "u"))).await.unwrap();
        assert_eq!(kinds(&all_events(&s).await), ["token.pat.create", "role.delete", "role.create"], "{:?}: newest first", s.backend());
    }
}

#[tokio::test]
async fn events_without_a_change_are_single_inserts_with_their_outcome() {
    for (s, _dir) in fresh_stores().await {
        let refused = Origin { actor: "rita", client: "::1".parse().ok() }.event("permission.denied", "table").outcome(Outcome::Denied).detail("operations [EditAll] not allowed");
        let stored = s.record_audit(&refused).await.unwrap();
        assert_eq!(stored.record, refused);
        assert_eq!(all_events(&s).await, [stored], "{:?}", s.backend());
    }
}

#[tokio::test]
async fn long_fields_are_capped() {
    for (s, _dir) in fresh_stores().await {
        let email = "x".repeat(5000);
        let stored = s.record_audit(&Origin { actor: &email, client: None }.event("login", &email).outcome(Outcome::Failure).detail(email.clone())).await.unwrap();
        let read = &all_events(&s).await[0];
        assert_eq!(read, &stored, "{:?}", s.backend());
        assert_eq!((read.record.actor.len(), read.record.target.len(), read.record.detail.len()), (320, 512, 1000));
    }
}

/// Rows as the audit log held them before migration 9 (no outcome, no client), at known times.
const LEGACY: &[&str] = &[
    "INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ('1000-1-0', 1000, 'admin', 'login', 'admin', 'basic')",
    "INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ('2000-1-1', 2000, 'admin', 'bot_token.generate', 'ingestion-bot', 'Unlimited')",
    "INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ('2000-1-2', 2000, 'bob', 'login', 'bob', 'basic')",
    "INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ('3000-1-3', 3000, 'admin', 'loginx', 'admin', '')",
    "INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ('4000-1-4', 4000, 'bob', 'user.delete', 'carol', '')",
];

fn query(f: impl FnOnce(&mut AuditQuery<'static>)) -> AuditQuery<'static> {
    let mut q = AuditQuery { limit: 100, ..Default::default() };
    f(&mut q);
    q
}

async fn ids(s: &Store, q: &AuditQuery<'_>) -> Vec<String> {
    s.audit_events(q).await.unwrap().events.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn rows_written_before_the_migration_are_read_filtered_and_paged() {
    for (s, _dir) in stores_seeded_at_version(8, LEGACY).await {
        let b = s.backend();
        let events = all_events(&s).await;
        assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["4000-1-4", "3000-1-3", "2000-1-2", "2000-1-1", "1000-1-0"], "{b:?}: newest first, ids break ties");
        assert_eq!((events[0].record.outcome, events[0].record.client.as_deref()), (Outcome::Success, None), "{b:?}: legacy rows are successes without an address");

        assert_eq!(ids(&s, &query(|q| q.actor = Some("bob"))).await, ["4000-1-4", "2000-1-2"], "{b:?}");
        assert_eq!(ids(&s, &query(|q| q.kind = Some("login"))).await, ["2000-1-2", "1000-1-0"], "{b:?}: a kind is exact or a dotted prefix, not `loginx`");
        assert_eq!(ids(&s, &query(|q| q.kind = Some("bot_token"))).await, ["2000-1-1"], "{b:?}: a prefix");
        assert!(ids(&s, &query(|q| q.kind = Some("%"))).await.is_empty(), "{b:?}: wildcards are literal");
        assert!(ids(&s, &query(|q| q.kind = Some("bot%"))).await.is_empty(), "{b:?}: wildcards are literal");
        assert_eq!(ids(&s, &query(|q| (q.start, q.end) = (Some(2000), Some(3000)))).await, ["3000-1-3", "2000-1-2", "2000-1-1"], "{b:?}: bounds are inclusive");
        assert_eq!(ids(&s, &query(|q| (q.actor, q.kind, q.start) = (Some("admin"), Some("login"), Some(1001)))).await, Vec::<String>::new(), "{b:?}");

        let mut walked = vec![];
        let mut after = None;
        loop {
            let page = s.audit_events(&AuditQuery { limit: 2, after, ..Default::default() }).await.unwrap();
            assert!(page.events.len() <= 2);
            walked.extend(page.events.into_iter().map(|e| e.id));
            match page.after {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        assert_eq!(walked, events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), "{b:?}: pages of 2 walk every event once, in order");

        let new = s.record_audit(&AuditRecord { kind: "login".into(), actor: "bob".into(), target: "bob".into(), outcome: Outcome::Failure, client: Some("10.0.0.1".into()), detail: "api: invalid credentials".into() }).await.unwrap();
        assert_eq!(ids(&s, &query(|q| q.actor = Some("bob"))).await, [new.id.as_str(), "4000-1-4", "2000-1-2"], "{b:?}: new rows after the old ones");
    }
}
