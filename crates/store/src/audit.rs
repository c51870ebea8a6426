//! The audit trail (`audit_log`): security events — sign-ins, sessions, tokens, changes to
//! users and to who may do what, refused requests — each with its actor, time, client address,
//! outcome and a short detail. An event that records a change is written in the transaction of
//! that change ([`Store::begin_write`]): both are committed or neither. Every committed event is
//! also logged (target `audit`). Callers build events from names and identifiers only, never
//! from secrets.

use std::net::IpAddr;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Result, Store, now_ms};

pub(crate) type Tx = Transaction<'static, Any>;

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Refused by authorization.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    fn parse(stored: &str) -> Outcome {
        match stored {
            "failure" => Outcome::Failure,
            "denied" => Outcome::Denied,
            // Rows written before outcomes were stored were successes.
            _ => Outcome::Success,
        }
    }
}

/// Who makes a change and from where: the name recorded as actor, and the address of the
/// request's TCP peer (none for the server's own work and the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    pub actor: &'a str,
    pub client: Option<IpAddr>,
}

impl Origin<'static> {
    /// The server itself (start-up seeding, bootstrap).
    pub const SYSTEM: Origin<'static> = Origin { actor: "system", client: None };
}

impl Origin<'_> {
    /// A successful event of `kind` about `target`, by this origin.
    pub fn event(&self, kind: &str, target: &str) -> AuditRecord {
        AuditRecord {
            kind: kind.into(),
            actor: self.actor.into(),
            target: target.into(),
            outcome: Outcome::Success,
            client: self.client.map(|c| c.to_string()),
            detail: String::new(),
        }
    }
}

/// An event as its author hands it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Dotted event type (`login`, `session.start`, `user.admin`, `permission.denied`, ...).
    pub kind: String,
    pub actor: String,
    pub target: String,
    pub outcome: Outcome,
    pub client: Option<String>,
    pub detail: String,
}

impl AuditRecord {
    pub fn outcome(self, outcome: Outcome) -> AuditRecord {
        AuditRecord { outcome, ..self }
    }

    pub fn detail(self, detail: impl Into<String>) -> AuditRecord {
        AuditRecord { detail: detail.into(), ..self }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    /// Epoch ms.
    pub at: i64,
    pub record: AuditRecord,
}

impl AuditEvent {
    fn log(&self) {
        let r = &self.record;
        tracing::info!(
            target: "audit",
            id = %self.id,
            kind = %r.kind,
            actor = %r.actor,
            target = %r.target,
            outcome = r.outcome.as_str(),
            client = r.client.as_deref().unwrap_or("-"),
            detail = %r.detail,
            "audit event"
        );
    }
}

/// Where a page of events ends: the last event's time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery<'a> {
    pub actor: Option<&'a str>,
    /// An event type, or a dotted prefix of types (`login`, `token`, `user`).
    pub kind: Option<&'a str>,
    /// Epoch ms, inclusive.
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Events older than this one (the previous page's cursor).
    pub after: Option<AuditCursor>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The cursor of the next (older) page, when there is one.
    pub after: Option<AuditCursor>,
}

/// Longest stored text per field: a client cannot grow the table by sending a huge email.
const MAX_ACTOR: usize = 320;
const MAX_TARGET: usize = 512;
const MAX_DETAIL: usize = 1000;

fn capped(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Writes an event in a transaction; it is logged by [`Audited::commit`] once committed.
async fn insert(tx: &mut Tx, record: &AuditRecord) -> Result<AuditEvent> {
    // Version 7: ordered by time, so ties within a millisecond keep insertion order per process.
    let id = uuid::Uuid::now_v7().to_string();
    let at = now_ms();
    let record = AuditRecord {
        actor: capped(&record.actor, MAX_ACTOR),
        target: capped(&record.target, MAX_TARGET),
        detail: capped(&record.detail, MAX_DETAIL),
        ..record.clone()
    };
    sqlx::query("INSERT INTO audit_log (id, at, action, actor, target, outcome, client, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&id)
        .bind(at)
        .bind(&record.kind)
        .bind(&record.actor)
        .bind(&record.target)
        .bind(record.outcome.as_str())
        .bind(&record.client)
        .bind(&record.detail)
        .execute(&mut **tx)
        .await?;
    Ok(AuditEvent { id, at, record })
}

/// A transaction that carries the audit event of the change made in it. The event is written
/// first; dropped without [`Audited::commit`] (an error, or nothing to change), the transaction
/// rolls back with it, so there is never an event without its change nor a change without it.
pub(crate) struct Audited {
    pub(crate) tx: Tx,
    event: Option<AuditEvent>,
}

impl Audited {
    /// Commits, then logs the event.
    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        if let Some(event) = &self.event {
            event.log();
        }
        Ok(())
    }

    /// Commits when the write changed something; otherwise rolls back, event included.
    pub(crate) async fn finish(self, changed: bool) -> Result<bool> {
        if changed {
            self.commit().await?;
        } else {
            self.tx.rollback().await?;
        }
        Ok(changed)
    }
}

fn event_from_row(r: &AnyRow) -> Result<AuditEvent> {
    let outcome: String = r.try_get(5)?;
    Ok(AuditEvent {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        record: AuditRecord { kind: r.try_get(2)?, actor: r.try_get(3)?, target: r.try_get(4)?, outcome: Outcome::parse(&outcome), client: r.try_get(6)?, detail: r.try_get(7)? },
    })
}

/// A bound value of the events query.
enum Param {
    Text(String),
    Int(i64),
}

/// `%`, `_` and `\` of a LIKE pattern taken literally.
fn like_literal(text: &str) -> String {
    text.chars().fold(String::new(), |mut s, c| {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
        s
    })
}

/// The WHERE conditions of a query and their parameters, numbered from `$1`.
fn conditions(q: &AuditQuery<'_>) -> (Vec<String>, Vec<Param>) {
    fn next(p: Param, params: &mut Vec<Param>) -> String {
        params.push(p);
        format!("${}", params.len())
    }
    let mut clauses = vec![];
    let mut params = vec![];
    if let Some(actor) = q.actor {
        clauses.push(format!("actor = {}", next(Param::Text(actor.into()), &mut params)));
    }
    if let Some(kind) = q.kind {
        let exact = next(Param::Text(kind.into()), &mut params);
        let under = next(Param::Text(format!("{}.%", like_literal(kind))), &mut params);
        clauses.push(format!("(action = {exact} OR action LIKE {under} ESCAPE '\\')"));
    }
    if let Some(start) = q.start {
        clauses.push(format!("at >= {}", next(Param::Int(start), &mut params)));
    }
    if let Some(end) = q.end {
        clauses.push(format!("at <= {}", next(Param::Int(end), &mut params)));
    }
    if let Some(AuditCursor { at, id }) = &q.after {
        let at = next(Param::Int(*at), &mut params);
        let id = next(Param::Text(id.clone()), &mut params);
        clauses.push(format!("(at < {at} OR (at = {at} AND id < {id}))"));
    }
    (clauses, params)
}

impl Store {
    /// Begins a transaction for a change, holding its audit event (if it has one).
    pub(crate) async fn begin_write(&self, audit: Option<&AuditRecord>) -> Result<Audited> {
        let mut tx = self.pool().begin().await?;
        let event = match audit {
            Some(record) => Some(insert(&mut tx, record).await?),
            None => None,
        };
        Ok(Audited { tx, event })
    }

    /// Records an event that goes with no change of ours (a failed sign-in, a refused request).
    pub async fn record_audit(&self, record: &AuditRecord) -> Result<AuditEvent> {
        let mut tx = self.pool().begin().await?;
        let event = insert(&mut tx, record).await?;
        tx.commit().await?;
        event.log();
        Ok(event)
    }

    /// One page of events, newest first (ties in time by id), over the `(at, id)` and
    /// `(actor, at, id)` indexes.
    pub async fn audit_events(&self, q: &AuditQuery<'_>) -> Result<AuditPage> {
        let (clauses, params) = conditions(q);
        let filter = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!(
            "SELECT id, at, action, actor, target, outcome, client, detail FROM audit_log{filter} ORDER BY at DESC, id DESC LIMIT ${}",
            params.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in params {
            query = match p {
                Param::Text(t) => query.bind(t),
                Param::Int(i) => query.bind(i),
            };
        }
        let limit = q.limit.max(0);
        let rows = query.bind(limit + 1).fetch_all(self.pool()).await?;
        let mut events = rows.iter().map(event_from_row).collect::<Result<Vec<_>>>()?;
        let more = events.len() as i64 > limit;
        events.truncate(limit as usize);
        let after = events.last().filter(|_| more).map(|e| AuditCursor { at: e.at, id: e.id.clone() });
        Ok(AuditPage { events, after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_literal("token"), "token");
        assert_eq!(like_literal("a_b%c\\"), "a\\_b\\%c\\\\");
    }

    #[test]
    fn long_fields_are_capped_by_characters() {
        assert_eq!(capped("ééé", 2), "éé");
        assert_eq!(capped("ab", 5), "ab");
    }

    #[test]
    fn conditions_number_their_parameters_in_order() {
        let q = AuditQuery { actor: Some("a"), kind: Some("login"), start: Some(1), end: None, after: Some(AuditCursor { at: 5, id: "x".into() }), limit: 10 };
        let (clauses, params) = conditions(&q);
        assert_eq!(clauses, ["actor = $1", "(action = $2 OR action LIKE $3 ESCAPE '\\')", "at >= $4", "(at < $5 OR (at = $5 AND id < $6))"]);
        assert_eq!(params.len(), 6);
    }
}
