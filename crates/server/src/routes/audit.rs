//! `GET /api/v1/audit/events`: the audit trail, newest first, for admins. Filters: `actor`,
//! `kind` (an event type, or a dotted prefix such as `login` or `token`), `startTs`/`endTs`
//! (epoch ms, inclusive); paging: `limit` (default 10, at most 1000) and the opaque `after`
//! cursor of the previous page.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferrometa_store::{AuditCursor, AuditEvent, AuditQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::AppState;

const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventParams {
    limit: Option<i64>,
    after: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    start_ts: Option<i64>,
    end_ts: Option<i64>,
}

/// One event as the API shows it: camelCase, absent values left out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    id: &'a str,
    timestamp: i64,
    kind: &'a str,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

fn present(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

impl<'a> From<&'a AuditEvent> for EventView<'a> {
    fn from(e: &'a AuditEvent) -> Self {
        let r = &e.record;
        EventView {
            id: &e.id,
            timestamp: e.at,
            kind: &r.kind,
            actor: &r.actor,
            target: present(&r.target),
            outcome: r.outcome.as_str(),
            client_address: r.client.as_deref(),
            detail: present(&r.detail),
        }
    }
}

/// Cursors are opaque to clients: base64url of `<epoch ms>:<event id>`.
fn encode_cursor(c: &AuditCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.at, c.id))
}

fn decode_cursor(raw: &str) -> ApiResult<AuditCursor> {
    let text = URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')).ok().and_then(|b| String::from_utf8(b).ok());
    let (at, id) = text.as_deref().and_then(|t| t.split_once(':')).ok_or_else(|| ApiError::bad_request("after is not a cursor returned by this server"))?;
    let at = at.parse().map_err(|_| ApiError::bad_request("after is not a cursor returned by this server"))?;
    Ok(AuditCursor { at, id: id.to_string() })
}

fn limit(raw: Option<i64>) -> ApiResult<i64> {
    match raw.unwrap_or(10) {
        l @ 1..=MAX_LIMIT => Ok(l),
        _ => Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_LIMIT}"))),
    }
}

/// A filter's value, when one is given.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn query(p: &EventParams) -> ApiResult<AuditQuery<'_>> {
    let after = p.after.as_deref().map(decode_cursor).transpose()?;
    Ok(AuditQuery { actor: given(&p.actor), kind: given(&p.kind), start: p.start_ts, end: p.end_ts, after, limit: limit(p.limit)? })
}

pub async fn events(State(s): State<AppState>, Extension(caller): Extension<Caller>, Query(p): Query<EventParams>) -> ApiResult<Json<Value>> {
    let q = query(&p)?;
    let page = s.catalog.audit_events(caller.actor()?, &q).await?;
    let data: Vec<EventView> = page.events.iter().map(EventView::from).collect();
    let mut paging = json!({});
    if let Some(after) = &page.after {
        paging["after"] = json!(encode_cursor(after));
    }
    Ok(Json(json!({"data": data, "paging": paging})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_bad_request() {
        let c = AuditCursor { at: 1_700_000_000_123, id: "0190-abc:def".into() };
        assert_eq!(decode_cursor(&encode_cursor(&c)).unwrap(), c, "an id may hold a colon");
        for bad in ["", "%%%", &URL_SAFE_NO_PAD.encode("no-colon"), &URL_SAFE_NO_PAD.encode("x:1")] {
            assert_eq!(decode_cursor(bad).unwrap_err().status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn limits_default_to_ten_and_stay_within_bounds() {
        assert_eq!(limit(None).unwrap(), 10);
        assert_eq!(limit(Some(1000)).unwrap(), 1000);
        assert!(limit(Some(0)).is_err() && limit(Some(1001)).is_err() && limit(Some(-5)).is_err());
    }

    #[test]
    fn absent_values_are_left_out() {
        let e = AuditEvent {
            id: "i".into(),
            at: 5,
            record: ferrometa_store::Origin { actor: "a", client: None }.event("login", "").outcome(ferrometa_store::Outcome::Failure),
        };
        assert_eq!(serde_json::to_value(EventView::from(&e)).unwrap(), json!({"id": "i", "timestamp": 5, "kind": "login", "actor": "a", "outcome": "failure"}));
    }
}
