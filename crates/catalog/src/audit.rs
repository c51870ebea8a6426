//! The catalog's part of the audit trail: who acts in a request ([`Actor`]), the events of
//! entity writes (handed to the store, which writes each in the transaction of its change),
//! refused requests (recorded at most once a minute per actor, operations and resource, so
//! that a caller cannot flood the table) and the use case that reads the trail.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferrometa_store::{AuditPage, AuditQuery, AuditRecord, Origin, Outcome};
use serde_json::{Value, json};

use crate::engine::{Catalog, Changes, EntityKind};
use crate::error::{CatalogError, Result};
use crate::policy::Subject;

/// Who acts in one request: the caller as authorization sees it (cached across requests) and
/// the address of the request's TCP peer, which the audit trail records with what it does.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub subject: &'a Subject,
    pub client: Option<IpAddr>,
}

impl<'a> Actor<'a> {
    pub fn new(subject: &'a Subject, client: Option<IpAddr>) -> Actor<'a> {
        Actor { subject, client }
    }

    /// A caller inside this process, with no request (tests, benchmarks).
    pub fn local(subject: &'a Subject) -> Actor<'a> {
        Actor { subject, client: None }
    }

    pub fn name(&self) -> &'a str {
        self.subject.name()
    }

    /// The actor of the changes it makes.
    pub fn origin(&self) -> Origin<'a> {
        Origin { actor: self.subject.name(), client: self.client }
    }
}

/// What a write did to an entity.
pub(crate) enum Change<'a> {
    Created,
    Updated { old: &'a Value, changes: &'a Changes },
    Deleted { hard: bool },
    Restored,
}

/// Types whose every write is audited: those that decide who may do what.
const AUDITED_TYPES: &[&str] = &["user", "bot", "team", "role", "policy"];

/// The audit event of a write: every write of users, bots, teams, roles and policies, and the
/// deletions and restores of every type. Its detail names fields, never their values (a
/// service connection's are secret).
pub(crate) fn entity_event(kind: &EntityKind, entity: &Value, change: Change<'_>, by: Origin<'_>) -> Option<AuditRecord> {
    let audited = AUDITED_TYPES.contains(&kind.name);
    let (action, detail) = match change {
        Change::Created if audited => ("create", String::new()),
        Change::Updated { old, changes } if audited => return Some(update_event(kind, old, entity, changes, by)),
        Change::Deleted { hard } => ("delete", if hard { "hard" } else { "soft" }.to_string()),
        Change::Restored => ("restore", String::new()),
        _ => return None,
    };
    Some(by.event(&format!("{}.{action}", kind.name), target_of(entity)).detail(detail))
}

fn target_of(entity: &Value) -> &str {
    entity["fullyQualifiedName"].as_str().or(entity["name"].as_str()).unwrap_or_default()
}

/// `user.admin` when a user's admin flag flips (granted or revoked), else `<type>.update`; the
/// detail lists the changed fields.
fn update_event(kind: &EntityKind, old: &Value, new: &Value, changes: &Changes, by: Origin<'_>) -> AuditRecord {
    let fields: Vec<&str> = changes.added.iter().chain(&changes.updated).chain(&changes.deleted).filter_map(|c| c["name"].as_str()).collect();
    let is_admin = |v: &Value| v["isAdmin"] == json!(true);
    let (kind_name, detail) = if kind.name == "user" && is_admin(old) != is_admin(new) {
        let flag = if is_admin(new) { "admin granted" } else { "admin revoked" };
        ("user.admin".to_string(), format!("{flag}; fields: {}", fields.join(", ")))
    } else {
        (format!("{}.update", kind.name), format!("fields: {}", fields.join(", ")))
    };
    by.event(&kind_name, target_of(new)).detail(detail)
}

/// How long one refusal's event stands for the same refusals after it.
const DENIAL_WINDOW: Duration = Duration::from_secs(60);
/// Keys remembered before expired ones are forgotten.
const DENIAL_KEYS: usize = 10_000;

/// Who was refused what: (actor, operations, resource).
type DenialKey = (String, String, String);

struct DenialWindow {
    started: Instant,
    /// Refusals of the key left out since `started`.
    dropped: u64,
}

/// Admits at most one denial event per key and window in this process.
pub(crate) struct DenialLimiter {
    windows: Mutex<HashMap<DenialKey, DenialWindow>>,
}

impl DenialLimiter {
    pub(crate) fn new() -> DenialLimiter {
        DenialLimiter { windows: Mutex::new(HashMap::new()) }
    }

    /// Whether a refusal is recorded now: `Some(n)` with the `n` refusals of its key left out
    /// since the last recorded one, or `None` to leave it out (and count it).
    fn admit(&self, key: DenialKey, now: Instant) -> Option<u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = windows.get_mut(&key).filter(|w| now.duration_since(w.started) < DENIAL_WINDOW) {
            w.dropped += 1;
            return None;
        }
        if windows.len() >= DENIAL_KEYS {
            windows.retain(|_, w| now.duration_since(w.started) < DENIAL_WINDOW);
        }
        let previous = windows.insert(key, DenialWindow { started: now, dropped: 0 });
        Some(previous.map_or(0, |w| w.dropped))
    }
}

impl Catalog {
    /// A refused request: recorded as a `permission.denied` event (rate limited, see
    /// [`DenialLimiter`]), returned as the 403 error. A failure to record it is logged and the
    /// refusal stands.
    pub(crate) async fn refused(&self, actor: Actor<'_>, operations: &str, resource: &str, message: String) -> CatalogError {
        let key = (actor.name().to_string(), operations.to_string(), resource.to_string());
        if let Some(dropped) = self.denials().admit(key, Instant::now()) {
            let detail = match dropped {
                0 => message.clone(),
                n => format!("{message} ({n} more refused since the last recorded)"),
            };
            let record = actor.origin().event("permission.denied", resource).outcome(Outcome::Denied).detail(detail);
            if let Err(e) = self.store().record_audit(&record).await {
                tracing::error!(error = %e, "a refused request could not be recorded in the audit trail");
            }
        }
        CatalogError::Forbidden(message)
    }

    /// `GET /api/v1/audit/events`: a page of the audit trail, for admins only.
    pub async fn audit_events(&self, actor: Actor<'_>, query: &AuditQuery<'_>) -> Result<AuditPage> {
        self.require_admin(actor, "audit").await?;
        Ok(self.store().audit_events(query).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{TABLE, USER};

    fn key(actor: &str) -> DenialKey {
        (actor.into(), "[EditAll]".into(), "table".into())
    }

    #[test]
    fn one_denial_per_key_and_minute_is_admitted_and_the_rest_counted() {
        let limiter = DenialLimiter::new();
        let start = Instant::now();
        assert_eq!(limiter.admit(key("u1"), start), Some(0));
        for _ in 0..49 {
            assert_eq!(limiter.admit(key("u1"), start + Duration::from_secs(30)), None);
        }
        assert_eq!(limiter.admit(key("u2"), start), Some(0), "another actor has its own window");
        assert_eq!(limiter.admit(key("u1"), start + DENIAL_WINDOW), Some(49), "the next window reports what was left out");
        assert_eq!(limiter.admit(key("u1"), start + DENIAL_WINDOW), None);
    }

    #[test]
    fn expired_windows_are_forgotten_when_the_map_is_full() {
        let limiter = DenialLimiter::new();
        let start = Instant::now();
        for i in 0..DENIAL_KEYS {
            limiter.admit(key(&format!("u{i}")), start);
        }
        limiter.admit(key("late"), start + DENIAL_WINDOW);
        assert_eq!(limiter.windows.lock().unwrap().len(), 1, "only the live window stays");
    }

    #[test]
    fn entity_events_name_fields_and_admin_changes_but_no_values() {
        let by = Origin { actor: "admin", client: "127.0.0.1".parse().ok() };
        let old = json!({"name": "bob", "fullyQualifiedName": "bob", "isAdmin": false});
        let new = json!({"name": "bob", "fullyQualifiedName": "bob", "isAdmin": true, "displayName": "Bob"});
        let changes = Changes { updated: vec![json!({"name": "isAdmin", "oldValue": "false", "newValue": "true"})], added: vec![json!({"name": "displayName", "newValue": "\"Bob\""})], ..Default::default() };
        let admin = entity_event(&USER, &new, Change::Updated { old: &old, changes: &changes }, by).expect("audited");
        assert_eq!((admin.kind.as_str(), admin.target.as_str(), admin.actor.as_str(), admin.client.as_deref()), ("user.admin", "bob", "admin", Some("127.0.0.1")));
        assert_eq!(admin.detail, "admin granted; fields: displayName, isAdmin");
        let plain = entity_event(&USER, &new, Change::Updated { old: &new, changes: &changes }, by).expect("audited");
        assert_eq!(plain.kind, "user.update");
        assert!(!plain.detail.contains("Bob"), "values stay out: {}", plain.detail);
        let table = json!({"name": "t", "fullyQualifiedName": "svc.db.s.t"});
        assert!(entity_event(&TABLE, &table, Change::Created, by).is_none(), "data assets: only deletions and restores");
        let deleted = entity_event(&TABLE, &table, Change::Deleted { hard: true }, by).expect("audited");
        assert_eq!((deleted.kind.as_str(), deleted.target.as_str(), deleted.detail.as_str()), ("table.delete", "svc.db.s.t", "hard"));
    }
}
