//! What the usage workflow writes: queries (`/api/v1/queries`, named by OpenMetadata's MD5
//! checksum of their text, with the entities they were used in, their users and the processes
//! that ran them), each entity's daily usage counts (a time series keyed by its FQN) summarised
//! on the entity as `usageSummary` (day, 7 days, 30 days, with percentile ranks among the
//! entities of its type once `compute.percentile` ran for the day), and a table's frequent joins
//! (`joins`, the last 30 days summed). Usage writes need `EditUsage`, reads `ViewUsage`; joins and
//! query relations `EditAll`, as in OpenMetadata.

use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access::Key;
use crate::audit::Actor;
use crate::data::{AssetType, SERVICE, array_of, asset_type, bad, shown, string_field};
use crate::engine::Catalog;
use crate::error::{CatalogError, Result};
use crate::fqn::{self, quote};
use crate::kinds::{DATABASE_SERVICE, QUERY, TABLE, USER, kind_named};
use crate::policy::{Operation, Target};
use crate::schema::*;
use ferrometa_store::{Include, SeriesEntry};

pub static QUERIES: AssetType = AssetType {
    kind: &QUERY,
    create_fields: QUERY_CREATE,
    required: QUERY_REQUIRED,
    entity_fields: QUERY_FIELDS,
    optional_fields: &["owners", "tags", "followers", "votes", "users", "queryUsedIn", "domain"],
    check: Some(check_query),
    search_index: Some("query_search_index"),
    ..SERVICE
};

/// Where an entity's daily usage counts are kept (series key: its FQN; timestamp: the day).
const USAGE: &str = "entity.usage";
/// Where a table's joins are kept, one entry per reported start date.
const JOINS: &str = "table.joins";
const DAY_MS: i64 = 86_400_000;

fn check_query(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    string_field("query", body.get("query").unwrap_or(&Value::Null))?;
    for f in ["query_type", "dialect", "triggeredBy"] {
        if let Some(v) = body.get(f).filter(|v| !v.is_object()) {
            string_field(f, v)?;
        }
    }
    if let Some(v) = body.get("usedBy") {
        for name in array_of("usedBy", v)? {
            string_field("usedBy", name)?;
        }
    }
    Ok(())
}

/// OpenMetadata's checksum of a query: the MD5 of its text, in hex (also its default name).
pub fn checksum(query: &str) -> String {
    Md5::digest(query.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A day as OpenMetadata writes it (`YYYY-MM-DD`), as the epoch milliseconds of its start (UTC).
pub fn day_start_ms(date: &str) -> Result<i64> {
    let invalid = || bad(format!("date must be a day as YYYY-MM-DD, not {}", shown(date)));
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else { return Err(invalid()) };
    let (y, m, d): (i32, u8, u8) = (y.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?, d.parse().map_err(|_| invalid())?);
    let month = time::Month::try_from(m).map_err(|_| invalid())?;
    let day = time::Date::from_calendar_date(y, month, d).map_err(|_| invalid())?;
    Ok(day.midnight().assume_utc().unix_timestamp() * 1000)
}

fn day_of(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map(|t| t.date().to_string()).unwrap_or_default()
}

/// A type whose usage is kept: one with `usageSummary` in its schema.
fn usage_type(entity_type: &str) -> Result<&'static AssetType> {
    asset_type(entity_type).filter(|t| t.has_field("usageSummary")).ok_or_else(|| bad(format!("Usage is not kept for entity type {}", shown(entity_type))))
}

/// `UsageRequest`: how often an entity was used on a day.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRequest {
    pub date: String,
    pub count: u32,
}

/// One day's stored count.
#[derive(Debug, serde::Serialize, Deserialize)]
struct DayCount {
    id: String,
    entity_type: String,
    day: i64,
    count: u64,
}

/// PERCENT_RANK of `value` among `all`, as a percentage (0 for the lowest, 100 for the highest).
fn percent_rank(value: u64, all: &[u64]) -> f64 {
    if all.len() < 2 {
        return 0.0;
    }
    let lower = all.iter().filter(|v| **v < value).count();
    lower as f64 * 100.0 / (all.len() - 1) as f64
}

/// `TableJoins`: a table's joins reported from a day on.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableJoins {
    pub start_date: Option<String>,
    pub day_count: Option<u32>,
    #[serde(default)]
    pub column_joins: Vec<ColumnJoins>,
    #[serde(default)]
    pub direct_table_joins: Vec<JoinedWith>,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColumnJoins {
    pub column_name: String,
    #[serde(default)]
    pub joined_with: Vec<JoinedWith>,
}

#[derive(Debug, Deserialize, serde::Serialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinedWith {
    pub fully_qualified_name: String,
    pub join_count: u64,
}

/// Joins added up by what is joined (column by column, then tables).
fn sum_joins(entries: &[(Vec<ColumnJoins>, Vec<JoinedWith>)]) -> (Vec<ColumnJoins>, Vec<JoinedWith>) {
    fn add(into: &mut Vec<JoinedWith>, from: &[JoinedWith]) {
        for j in from {
            match into.iter_mut().find(|i| i.fully_qualified_name == j.fully_qualified_name) {
                Some(i) => i.join_count += j.join_count,
                None => into.push(j.clone()),
            }
        }
    }
    let (mut columns, mut tables): (Vec<ColumnJoins>, Vec<JoinedWith>) = (vec![], vec![]);
    for (column_joins, table_joins) in entries {
        for c in column_joins {
            match columns.iter_mut().find(|i| i.column_name == c.column_name) {
                Some(i) => add(&mut i.joined_with, &c.joined_with),
                None => columns.push(c.clone()),
            }
        }
        add(&mut tables, table_joins);
    }
    (columns, tables)
}

impl Catalog {
    /// A query's name when its create request has none: its checksum.
    pub(crate) fn name_query(request: &mut Value) {
        if request.get("name").is_none_or(Value::is_null)
            && let Some(sql) = request.get("query").and_then(Value::as_str)
        {
            request["name"] = json!(checksum(sql));
        }
    }

    /// A query's service (by FQN), users (by name) and the entities it was used in (references)
    /// as references, and its checksum; its FQN is its name.
    pub(crate) async fn place_query(&self, name: &str, req: &mut Map<String, Value>) -> Result<(String, Option<String>)> {
        let service_fqn = req.remove("service").and_then(|v| v.as_str().map(str::to_string)).ok_or_else(|| bad("service must be the FQN of a database service"))?;
        let service = self.get_by_name(&DATABASE_SERVICE, &service_fqn, Include::NonDeleted).await?;
        req.insert("service".into(), self.reference(&DATABASE_SERVICE, &service));
        let sql = req.get("query").and_then(Value::as_str).ok_or_else(|| bad("query must be a string"))?;
        req.insert("checksum".into(), json!(checksum(sql)));
        // How to parse it, not part of the stored query.
        req.remove("dialect");
        if let Some(users) = req.remove("users") {
            req.insert("users".into(), json!(self.users_named(&users).await?));
        }
        if let Some(used_in) = req.remove("queryUsedIn") {
            req.insert("queryUsedIn".into(), json!(self.referenced(&used_in).await?));
        }
        Ok((quote(name), None))
    }

    async fn users_named(&self, names: &Value) -> Result<Vec<Value>> {
        let mut refs = vec![];
        for name in array_of("users", names)? {
            let name = name.as_str().or_else(|| name["name"].as_str()).ok_or_else(|| bad("users must hold user names"))?;
            refs.push(self.reference(&USER, &self.get_by_name(&USER, name, Include::NonDeleted).await?));
        }
        Ok(refs)
    }

    /// Entity references (`{id, type}`) as full references to live entities.
    async fn referenced(&self, listed: &Value) -> Result<Vec<Value>> {
        let mut refs = vec![];
        for r in array_of("queryUsedIn", listed)? {
            let kind = r["type"].as_str().and_then(kind_named).ok_or_else(|| bad(format!("Unknown entity type {}", shown(r["type"].as_str().unwrap_or("null")))))?;
            let id = r["id"].as_str().ok_or_else(|| bad("an entity reference needs an id"))?;
            refs.push(self.reference(kind, &self.get(kind, id, Include::NonDeleted).await?));
        }
        Ok(refs)
    }

    /// Adds to one of a query's lists (`queryUsedIn`, `users`, `usedBy`) what it does not hold
    /// yet (`EditAll` on the query); a new version only when something was added.
    async fn add_to_query(&self, actor: Actor<'_>, id: &str, field: &str, added: Vec<Value>) -> Result<Value> {
        let old = self.get(&QUERY, id, Include::NonDeleted).await?;
        self.authorize_change(actor, &QUERY, &old, &[Operation::EditAll], &Map::new()).await?;
        let same = |a: &Value, b: &Value| match (a.get("id"), b.get("id")) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        };
        let mut list = old[field].as_array().cloned().unwrap_or_default();
        for item in added {
            if !list.iter().any(|held| same(held, &item)) {
                list.push(item);
            }
        }
        let mut new = old.as_object().cloned().unwrap_or_default();
        new.insert(field.into(), Value::Array(list));
        self.update(&QUERY, &old, new, None, actor.origin()).await
    }

    /// `PUT /queries/{id}/usage`: entities the query was used in.
    pub async fn add_query_usage(&self, actor: Actor<'_>, id: &str, used_in: Value) -> Result<Value> {
        let refs = self.referenced(&used_in).await?;
        self.add_to_query(actor, id, "queryUsedIn", refs).await
    }

    /// `PUT /queries/{id}/users`: users (by name) who ran it.
    pub async fn add_query_users(&self, actor: Actor<'_>, id: &str, names: Value) -> Result<Value> {
        let refs = self.users_named(&names).await?;
        self.add_to_query(actor, id, "users", refs).await
    }

    /// `PUT /queries/{id}/usedBy`: processes or people outside the catalog who ran it.
    pub async fn add_query_used_by(&self, actor: Actor<'_>, id: &str, names: Value) -> Result<Value> {
        for name in array_of("usedBy", &names)? {
            string_field("usedBy", name)?;
        }
        let names = names.as_array().cloned().unwrap_or_default();
        self.add_to_query(actor, id, "usedBy", names).await
    }

    /// A live entity of a type that has usage, which the caller may do `operation` on.
    async fn used_entity(&self, actor: Actor<'_>, entity_type: &str, key: Key<'_>, operation: Operation) -> Result<(&'static AssetType, Value)> {
        let t = usage_type(entity_type)?;
        let entity = match key {
            Key::Id(id) => self.get(t.kind, id, Include::NonDeleted).await?,
            Key::Fqn(fqn) => self.get_by_name(t.kind, fqn, Include::NonDeleted).await?,
        };
        self.authorize(actor, &[operation], &Target::entity(t.kind.name, self.facts(t.kind, &entity))).await?;
        Ok((t, entity))
    }

    /// The counts of an entity's days in `[from, to]`.
    async fn day_counts(&self, fqn: &str, from: i64, to: i64) -> Result<Vec<DayCount>> {
        self.store().series(fqn, USAGE, from, to).await?.iter().map(|j| serde_json::from_str(j).map_err(|e| CatalogError::Internal(format!("stored usage: {e}")))).collect()
    }

    /// Day, week and month counts of an entity up to a day.
    async fn window_counts(&self, fqn: &str, day: i64) -> Result<[u64; 3]> {
        let days = self.day_counts(fqn, day - 29 * DAY_MS, day).await?;
        let sum = |n: i64| days.iter().filter(|d| d.day > day - n * DAY_MS).map(|d| d.count).sum();
        Ok([sum(1), sum(7), sum(30)])
    }

    /// `POST /usage/{entity}/{id}` (the day's count, replacing what was there) and `PUT` (added
    /// to it); the entity's `usageSummary` follows when the day is its newest.
    pub async fn record_usage(&self, actor: Actor<'_>, entity_type: &str, id: &str, usage: UsageRequest, add: bool) -> Result<Value> {
        let (t, entity) = self.used_entity(actor, entity_type, Key::Id(id), Operation::EditUsage).await?;
        let day = day_start_ms(&usage.date)?;
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        let before: u64 = if add { self.day_counts(&fqn, day, day).await?.iter().map(|d| d.count).sum() } else { 0 };
        let count = DayCount { id: id.to_string(), entity_type: t.kind.name.to_string(), day, count: before + u64::from(usage.count) };
        let entry = SeriesEntry { fqn: fqn.clone(), extension: USAGE, ts: day, part: String::new(), json: serde_json::to_string(&count)? };
        self.store().put_series(&[entry], None).await?;
        if entity["usageSummary"]["date"].as_str().is_none_or(|latest| day_start_ms(latest).is_ok_and(|latest| latest <= day)) {
            let [daily, weekly, monthly] = self.window_counts(&fqn, day).await?;
            let summary = json!({"dailyStats": {"count": daily}, "weeklyStats": {"count": weekly}, "monthlyStats": {"count": monthly}, "date": day_of(day)});
            return self.set_usage_summary(t, &entity, summary).await;
        }
        Ok(entity)
    }

    async fn set_usage_summary(&self, t: &AssetType, entity: &Value, summary: Value) -> Result<Value> {
        let mut new = entity.as_object().cloned().unwrap_or_default();
        new.insert("usageSummary".into(), summary);
        self.update_asset(t, entity, new, ferrometa_store::Origin::SYSTEM).await
    }

    /// `POST /usage/compute.percentile/{entity}/{date}` (admins and bots): ranks the day's,
    /// week's and month's counts of every entity of the type used that day.
    pub async fn compute_percentile(&self, actor: Actor<'_>, entity_type: &str, date: &str) -> Result<()> {
        if !actor.subject.is_bot() {
            self.require_admin(actor, "usage").await?;
        }
        let t = usage_type(entity_type)?;
        let day = day_start_ms(date)?;
        let mut used = vec![];
        for json in self.store().series_at(USAGE, day).await? {
            let count: DayCount = serde_json::from_str(&json).map_err(|e| CatalogError::Internal(format!("stored usage: {e}")))?;
            if count.entity_type == t.kind.name
                && let Ok(entity) = self.get(t.kind, &count.id, Include::NonDeleted).await
            {
                let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
                used.push((entity, self.window_counts(&fqn, day).await?));
            }
        }
        let column = |i: usize| used.iter().map(|(_, c)| c[i]).collect::<Vec<u64>>();
        let all = [column(0), column(1), column(2)];
        for (entity, counts) in &used {
            let stats = |i: usize| json!({"count": counts[i], "percentileRank": percent_rank(counts[i], &all[i])});
            let summary = json!({"dailyStats": stats(0), "weeklyStats": stats(1), "monthlyStats": stats(2), "date": day_of(day)});
            self.set_usage_summary(t, entity, summary).await?;
        }
        Ok(())
    }

    /// `GET /usage/{entity}/{id}?date=&days=`: the entity's daily usage up to `date` (default
    /// today) over `days` days (default 1), newest first, as `EntityUsage`.
    pub async fn usage(&self, actor: Actor<'_>, entity_type: &str, key: Key<'_>, date: Option<&str>, days: Option<u32>) -> Result<Value> {
        let (t, entity) = self.used_entity(actor, entity_type, key, Operation::ViewUsage).await?;
        let day = match date {
            Some(d) => day_start_ms(d)?,
            None => ferrometa_store::now_ms().div_euclid(DAY_MS) * DAY_MS,
        };
        let days = i64::from(days.unwrap_or(1).clamp(1, 365));
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default();
        let counts = self.day_counts(fqn, day - (days - 1) * DAY_MS, day).await?;
        let usage: Vec<Value> = counts.iter().map(|c| json!({"date": day_of(c.day), "dailyStats": {"count": c.count}})).collect();
        Ok(json!({"entity": self.reference(t.kind, &entity), "usage": usage}))
    }

    /// `PUT /tables/{id}/joins`: joins seen from a day on (`EditAll` on the table). Each
    /// column must be the table's, each joined column one of an existing table's; the table's
    /// `joins` are the last 30 days' reports added up (no new version).
    pub async fn put_joins(&self, actor: Actor<'_>, id: &str, joins: TableJoins) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::EditAll).await?;
        let columns: Vec<&str> = table["columns"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
        for c in &joins.column_joins {
            if !columns.contains(&c.column_name.as_str()) {
                return Err(bad(format!("Invalid column name {}", shown(&c.column_name))));
            }
            for j in &c.joined_with {
                self.check_joined_column(&j.fully_qualified_name).await?;
            }
        }
        for j in &joins.direct_table_joins {
            self.get_by_name(&TABLE, &j.fully_qualified_name, Include::NonDeleted).await?;
        }
        let today = ferrometa_store::now_ms().div_euclid(DAY_MS) * DAY_MS;
        let start = joins.start_date.as_deref().map(day_start_ms).transpose()?.unwrap_or(today);
        let fqn = table["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        let entry = json!({"columnJoins": joins.column_joins, "directTableJoins": joins.direct_table_joins, "dayCount": joins.day_count.unwrap_or(1)});
        self.store().put_series(&[SeriesEntry { fqn: fqn.clone(), extension: JOINS, ts: start, part: String::new(), json: entry.to_string() }], None).await?;
        let from = today - 30 * DAY_MS;
        let mut reported = vec![];
        for json in self.store().series(&fqn, JOINS, from, i64::MAX).await? {
            let v: Value = serde_json::from_str(&json)?;
            let columns: Vec<ColumnJoins> = serde_json::from_value(v["columnJoins"].clone()).unwrap_or_default();
            let tables: Vec<JoinedWith> = serde_json::from_value(v["directTableJoins"].clone()).unwrap_or_default();
            reported.push((columns, tables));
        }
        let (column_joins, direct_table_joins) = sum_joins(&reported);
        let mut new = table.as_object().cloned().unwrap_or_default();
        new.insert("joins".into(), json!({"startDate": day_of(from), "dayCount": 30, "columnJoins": column_joins, "directTableJoins": direct_table_joins}));
        self.update(&TABLE, &table, new, fqn::parent(&fqn), actor.origin()).await
    }

    /// A joined column's FQN names a column of a live table.
    async fn check_joined_column(&self, column_fqn: &str) -> Result<()> {
        let invalid = || bad(format!("Invalid column name {}", shown(column_fqn)));
        let table_fqn = fqn::parent(column_fqn).ok_or_else(invalid)?;
        let table = self.get_by_name(&TABLE, &table_fqn, Include::NonDeleted).await?;
        let name = fqn::split(column_fqn).pop().ok_or_else(invalid)?;
        match table["columns"].as_array().into_iter().flatten().any(|c| c["name"].as_str() == Some(name.as_str())) {
            true => Ok(()),
            false => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_openmetadatas_md5_of_the_text() {
        assert_eq!(checksum(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(checksum("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn days_are_parsed_strictly_and_written_back() {
        assert_eq!(day_start_ms("1970-01-02").unwrap(), DAY_MS);
        assert_eq!(day_of(day_start_ms("2026-12-03").unwrap() + 5), "2026-12-03");
        for bad_day in ["2026-13-01", "2026-02-30", "2026-1", "yesterday", "2026-01-01-01", ""] {
            assert!(matches!(day_start_ms(bad_day), Err(CatalogError::BadRequest(_))), "{bad_day}");
        }
    }

    #[test]
    fn ranks_are_percent_ranks() {
        let all = [1, 5, 5, 10];
        assert_eq!((percent_rank(1, &all), percent_rank(5, &all), percent_rank(10, &all)), (0.0, 100.0 / 3.0, 100.0));
        assert_eq!(percent_rank(7, &[7]), 0.0);
    }

    #[test]
    fn joins_add_up_by_column_and_table() {
        let j = |fqn: &str, n| JoinedWith { fully_qualified_name: fqn.into(), join_count: n };
        let day1 = (vec![ColumnJoins { column_name: "id".into(), joined_with: vec![j("s.d.x.o.cid", 2)] }], vec![j("s.d.x.o", 2)]);
        let day2 = (vec![ColumnJoins { column_name: "id".into(), joined_with: vec![j("s.d.x.o.cid", 1), j("s.d.x.p.cid", 4)] }], vec![j("s.d.x.o", 1)]);
        let (columns, tables) = sum_joins(&[day1, day2]);
        assert_eq!(columns.len(), 1);
        let counts: Vec<(String, u64)> = columns[0].joined_with.iter().map(|w| (w.fully_qualified_name.clone(), w.join_count)).collect();
        assert_eq!(counts, [("s.d.x.o.cid".to_string(), 3), ("s.d.x.p.cid".to_string(), 4)]);
        assert_eq!(tables[0].join_count, 3);
    }
}
