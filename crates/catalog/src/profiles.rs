//! What the profiler workflow writes and reads: the system settings it asks for, a table's
//! profiles over time (table, column and system profiles, kept as time series keyed by the
//! FQN of what they measure), its sample data and its profiler configuration (kept beside the
//! table, outside its versions, as OpenMetadata's entity extensions). Writes need
//! `EditDataProfile` (`EditSampleData` for sample data) on the table, reads `ViewDataProfile`
//! (`ViewSampleData`); settings are read by admins and bots and written by admins.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::access::Key;
use crate::audit::Actor;
use crate::engine::Catalog;
use crate::error::{CatalogError, Result, not_found};
use crate::fqn;
use crate::kinds::TABLE;
use crate::policy::{Operation, Target};
use ferrometa_store::{Include, SeriesEntry};

const TABLE_PROFILE: &str = "table.tableProfile";
const COLUMN_PROFILE: &str = "table.columnProfile";
const SYSTEM_PROFILE: &str = "table.systemProfile";
const SAMPLE_DATA: &str = "table.sampleData";
const PROFILER_CONFIG: &str = "table.tableProfilerConfig";

/// A setting's name and the value a new install answers.
type SettingDefault = (&'static str, fn() -> Value);

/// The settings ferrometa keeps.
const SETTINGS: &[SettingDefault] = &[
    ("profilerConfiguration", || json!({"metricConfiguration": []})),
    ("lineageSettings", || json!({"upstreamDepth": 2, "downstreamDepth": 2, "lineageLayer": "EntityLineage"})),
];

/// `profilerConfiguration`'s value, checked as OpenMetadata's schema has it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // parsed to check the value, never read
struct ProfilerConfiguration {
    metric_configuration: Option<Vec<MetricConfiguration>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // parsed to check the value, never read
struct MetricConfiguration {
    data_type: Option<String>,
    metrics: Option<Vec<String>>,
    disabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // parsed to check the value, never read
struct LineageSettings {
    upstream_depth: Option<u8>,
    downstream_depth: Option<u8>,
    lineage_layer: Option<String>,
}

/// The body of `PUT /v1/system/settings`.
#[derive(Deserialize)]
pub struct Setting {
    pub config_type: String,
    pub config_value: Value,
}

/// `CreateTableProfile`: the profile of one run.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTableProfile {
    pub table_profile: Map<String, Value>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub column_profile: Vec<Map<String, Value>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub system_profile: Vec<Map<String, Value>>,
}

/// `TableData`: sample rows of some columns.
#[derive(Deserialize, serde::Serialize)]
pub struct TableData {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A profile's `timestamp`, which OpenMetadata requires (epoch milliseconds).
fn timestamp(profile: &Map<String, Value>, what: &str) -> Result<i64> {
    profile.get("timestamp").and_then(Value::as_i64).ok_or_else(|| CatalogError::BadRequest(format!("{what}: timestamp is required (epoch milliseconds)")))
}

fn top_column_names(table: &Value) -> Vec<&str> {
    table["columns"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect()
}

/// A top-level column's FQN: the table's, then the column's name (quoted if it has dots).
fn column_fqn(table_fqn: &str, column: &str) -> String {
    format!("{table_fqn}.{}", fqn::quote(column))
}

fn invalid_column(name: &str) -> CatalogError {
    CatalogError::BadRequest(format!("Invalid column name {name}"))
}

fn parse_stored(json: &str) -> Result<Value> {
    serde_json::from_str(json).map_err(|e| CatalogError::Internal(format!("stored profile: {e}")))
}

/// A time range of a series read: `startTs` and `endTs`, both required as in OpenMetadata.
#[derive(Debug, Clone, Copy)]
pub struct TimeRange {
    pub start: i64,
    pub end: i64,
}

impl TimeRange {
    pub fn parse(start: Option<i64>, end: Option<i64>) -> Result<TimeRange> {
        match (start, end) {
            (Some(start), Some(end)) if start <= end => Ok(TimeRange { start, end }),
            (Some(_), Some(_)) => Err(CatalogError::BadRequest("startTs must not be after endTs".into())),
            _ => Err(CatalogError::BadRequest("startTs and endTs are required (epoch milliseconds)".into())),
        }
    }
}

impl Catalog {
    /// `GET /v1/system/settings/{name}`: `{"config_type", "config_value"}`, for admins and bots.
    pub async fn read_setting(&self, actor: Actor<'_>, name: &str) -> Result<Value> {
        if !actor.subject.is_bot() {
            self.require_admin(actor, "system").await?;
        }
        let (name, default) = SETTINGS.iter().find(|(n, _)| *n == name).ok_or_else(|| CatalogError::NotFound(format!("Setting {} not found", name.chars().take(60).collect::<String>())))?;
        let value = match self.store().system_setting(name).await? {
            Some(stored) => parse_stored(&stored)?,
            None => default(),
        };
        Ok(json!({"config_type": name, "config_value": value}))
    }

    /// `PUT /v1/system/settings`, for admins: the value checked against its schema.
    pub async fn put_setting(&self, actor: Actor<'_>, setting: Setting) -> Result<Value> {
        self.require_admin(actor, "system").await?;
        let checked = match setting.config_type.as_str() {
            "profilerConfiguration" => serde_json::from_value::<ProfilerConfiguration>(setting.config_value.clone()).map(|_| ()),
            "lineageSettings" => serde_json::from_value::<LineageSettings>(setting.config_value.clone()).map(|_| ()),
            other => return Err(CatalogError::BadRequest(format!("Setting {} cannot be changed here", other.chars().take(60).collect::<String>()))),
        };
        checked.map_err(|e| CatalogError::BadRequest(format!("{}: {e}", setting.config_type)))?;
        self.store().put_system_setting(&setting.config_type, &serde_json::to_string(&setting.config_value)?).await?;
        Ok(json!({"config_type": setting.config_type, "config_value": setting.config_value}))
    }

    /// A live table the caller may do `operation` on (refused and recorded otherwise).
    pub(crate) async fn table_for(&self, actor: Actor<'_>, key: Key<'_>, operation: Operation) -> Result<Value> {
        let table = match key {
            Key::Id(id) => self.get(&TABLE, id, Include::NonDeleted).await?,
            Key::Fqn(fqn) => self.get_by_name(&TABLE, fqn, Include::NonDeleted).await?,
        };
        self.authorize(actor, &[operation], &Target::entity(TABLE.name, self.facts(&TABLE, &table))).await?;
        Ok(table)
    }

    fn table_id(table: &Value) -> &str {
        table["id"].as_str().unwrap_or_default()
    }

    fn table_fqn(table: &Value) -> &str {
        table["fullyQualifiedName"].as_str().unwrap_or_default()
    }

    /// `PUT /v1/tables/{id}/tableProfile`: stores one run's table, column and system profiles;
    /// answers the table with them.
    pub async fn put_table_profile(&self, actor: Actor<'_>, id: &str, request: CreateTableProfile) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::EditDataProfile).await?;
        let table_fqn = Self::table_fqn(&table);
        let columns = top_column_names(&table);
        let mut entries = vec![SeriesEntry { fqn: table_fqn.to_string(), extension: TABLE_PROFILE, ts: timestamp(&request.table_profile, "tableProfile")?, part: String::new(), json: serde_json::to_string(&request.table_profile)? }];
        for profile in &request.column_profile {
            let name = profile.get("name").and_then(Value::as_str).ok_or_else(|| CatalogError::BadRequest("columnProfile: name is required".into()))?;
            if !columns.contains(&name) {
                return Err(invalid_column(name));
            }
            entries.push(SeriesEntry { fqn: column_fqn(table_fqn, name), extension: COLUMN_PROFILE, ts: timestamp(profile, "columnProfile")?, part: String::new(), json: serde_json::to_string(profile)? });
        }
        for profile in &request.system_profile {
            let part = profile.get("operation").and_then(Value::as_str).unwrap_or_default().to_string();
            entries.push(SeriesEntry { fqn: table_fqn.to_string(), extension: SYSTEM_PROFILE, ts: timestamp(profile, "systemProfile")?, part, json: serde_json::to_string(profile)? });
        }
        self.store().put_series(&entries, self.profiles_kept_after()).await?;
        self.with_latest_profiles(table, true).await
    }

    /// The table with its latest profile and (if asked) its columns' latest profiles.
    async fn with_latest_profiles(&self, mut table: Value, columns: bool) -> Result<Value> {
        let table_fqn = Self::table_fqn(&table).to_string();
        if let Some(latest) = self.store().latest_in_series(&table_fqn, TABLE_PROFILE).await? {
            table["profile"] = parse_stored(&latest)?;
        }
        if columns {
            for column in table["columns"].as_array_mut().into_iter().flatten() {
                let Some(name) = column["name"].as_str() else { continue };
                if let Some(latest) = self.store().latest_in_series(&column_fqn(&table_fqn, name), COLUMN_PROFILE).await? {
                    column["profile"] = parse_stored(&latest)?;
                }
            }
        }
        Ok(table)
    }

    /// `GET /v1/tables/{fqn}/tableProfile/latest`.
    pub async fn latest_table_profile(&self, actor: Actor<'_>, fqn: &str, include_columns: bool) -> Result<Value> {
        let table = self.table_for(actor, Key::Fqn(fqn), Operation::ViewDataProfile).await?;
        self.with_latest_profiles(table, include_columns).await
    }

    /// `GET /v1/tables/{fqn}/tableProfile` and `/systemProfile` (the table's FQN), and
    /// `/columnProfile` (a column's FQN): the entries in the range, newest first, as
    /// `{"data", "paging"}`.
    pub async fn profiles(&self, actor: Actor<'_>, kind: ProfileKind, fqn: &str, range: TimeRange) -> Result<Value> {
        let (table_fqn, extension) = match kind {
            ProfileKind::Table => (fqn.to_string(), TABLE_PROFILE),
            ProfileKind::System => (fqn.to_string(), SYSTEM_PROFILE),
            ProfileKind::Column => (fqn::parent(fqn).ok_or_else(|| not_found("column", fqn))?, COLUMN_PROFILE),
        };
        self.table_for(actor, Key::Fqn(&table_fqn), Operation::ViewDataProfile).await?;
        let data = self.store().series(fqn, extension, range.start, range.end).await?.iter().map(|j| parse_stored(j)).collect::<Result<Vec<_>>>()?;
        Ok(json!({"paging": {"total": data.len()}, "data": data}))
    }

    /// `DELETE /v1/tables/{fqn}/{table|column}/{timestamp}/profile`.
    pub async fn delete_profile(&self, actor: Actor<'_>, kind: ProfileKind, fqn: &str, ts: i64) -> Result<()> {
        let (table_fqn, extensions): (String, &[&str]) = match kind {
            ProfileKind::Table | ProfileKind::System => (fqn.to_string(), &[TABLE_PROFILE, SYSTEM_PROFILE]),
            ProfileKind::Column => (fqn::parent(fqn).ok_or_else(|| not_found("column", fqn))?, &[COLUMN_PROFILE]),
        };
        self.table_for(actor, Key::Fqn(&table_fqn), Operation::EditDataProfile).await?;
        for extension in extensions {
            self.store().delete_series_at(fqn, extension, ts).await?;
        }
        Ok(())
    }

    /// `PUT /v1/tables/{id}/sampleData`: rows of named columns of the table.
    pub async fn put_sample_data(&self, actor: Actor<'_>, id: &str, data: TableData) -> Result<Value> {
        let mut table = self.table_for(actor, Key::Id(id), Operation::EditSampleData).await?;
        let columns = top_column_names(&table);
        if let Some(unknown) = data.columns.iter().find(|c| !columns.contains(&c.as_str())) {
            return Err(invalid_column(unknown));
        }
        if let Some(i) = data.rows.iter().position(|r| r.len() != data.columns.len()) {
            return Err(CatalogError::BadRequest(format!("sampleData: row {i} has {} values for {} columns", data.rows[i].len(), data.columns.len())));
        }
        let value = serde_json::to_value(&data)?;
        self.put_extension(&table, SAMPLE_DATA, &value).await?;
        table["sampleData"] = value;
        Ok(table)
    }

    /// `GET /v1/tables/{id}/sampleData`: the table with its sample data (if any).
    pub async fn sample_data(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::ViewSampleData).await?;
        self.with_extension(table, SAMPLE_DATA, "sampleData").await
    }

    pub async fn delete_sample_data(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::EditSampleData).await?;
        self.store().delete_entity_extension(Self::table_id(&table), SAMPLE_DATA).await?;
        Ok(table)
    }

    /// `PUT /v1/tables/{id}/tableProfilerConfig`.
    pub async fn put_profiler_config(&self, actor: Actor<'_>, id: &str, config: Value) -> Result<Value> {
        let mut table = self.table_for(actor, Key::Id(id), Operation::EditDataProfile).await?;
        if !config.is_object() {
            return Err(CatalogError::BadRequest("tableProfilerConfig must be an object".into()));
        }
        let columns = top_column_names(&table);
        for list in ["includeColumns", "excludeColumns"] {
            for column in config[list].as_array().into_iter().flatten() {
                let name = column.get("columnName").or(Some(column)).and_then(Value::as_str).unwrap_or_default();
                if !columns.contains(&name) {
                    return Err(invalid_column(name));
                }
            }
        }
        self.put_extension(&table, PROFILER_CONFIG, &config).await?;
        table["tableProfilerConfig"] = config;
        Ok(table)
    }

    /// `GET /v1/tables/{id}/tableProfilerConfig`.
    pub async fn profiler_config(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::ViewDataProfile).await?;
        self.with_extension(table, PROFILER_CONFIG, "tableProfilerConfig").await
    }

    pub async fn delete_profiler_config(&self, actor: Actor<'_>, id: &str) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::EditDataProfile).await?;
        self.store().delete_entity_extension(Self::table_id(&table), PROFILER_CONFIG).await?;
        Ok(table)
    }

    /// `PUT /v1/tables/{id}/dataModel` (dbt): the table's data model, a new version of the
    /// table when it changes. A model without SQL keeps the SQL stored before, as OpenMetadata
    /// does; it needs `EditAll`, as in OpenMetadata.
    pub async fn put_data_model(&self, actor: Actor<'_>, id: &str, mut model: Map<String, Value>) -> Result<Value> {
        let table = self.table_for(actor, Key::Id(id), Operation::EditAll).await?;
        for sql in ["rawSql", "sql"] {
            let blank = model.get(sql).and_then(Value::as_str).is_none_or(|s| s.trim().is_empty());
            if let Some(kept) = table["dataModel"].get(sql).filter(|v| blank && v.as_str().is_some_and(|s| !s.trim().is_empty())) {
                model.insert(sql.into(), kept.clone());
            }
        }
        let mut new = table.as_object().cloned().unwrap_or_default();
        new.insert("dataModel".into(), Value::Object(model));
        self.update(&TABLE, &table, new, fqn::parent(Self::table_fqn(&table)), actor.origin()).await
    }

    async fn put_extension(&self, table: &Value, extension: &str, value: &Value) -> Result<()> {
        if !self.store().put_entity_extension(Self::table_id(table), extension, &serde_json::to_string(value)?).await? {
            return Err(not_found(TABLE.name, Self::table_id(table)));
        }
        Ok(())
    }

    async fn with_extension(&self, mut table: Value, extension: &str, field: &str) -> Result<Value> {
        if let Some(stored) = self.store().entity_extension(Self::table_id(&table), extension).await? {
            table[field] = parse_stored(&stored)?;
        }
        Ok(table)
    }
}

/// Which profiles of a table a read or delete is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    Table,
    Column,
    System,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_need_both_ends_in_order() {
        assert!(TimeRange::parse(Some(1), Some(2)).is_ok());
        assert_eq!(TimeRange::parse(Some(3), Some(2)).unwrap_err().to_string(), "startTs must not be after endTs");
        assert_eq!(TimeRange::parse(None, Some(2)).unwrap_err().to_string(), "startTs and endTs are required (epoch milliseconds)");
    }

    #[test]
    fn settings_values_follow_their_schemas() {
        assert!(serde_json::from_value::<ProfilerConfiguration>(json!({"metricConfiguration": [{"dataType": "INT", "metrics": ["mean"], "disabled": false}]})).is_ok());
        assert!(serde_json::from_value::<ProfilerConfiguration>(json!({"metrics": []})).is_err(), "unknown field");
        assert!(serde_json::from_value::<LineageSettings>(json!({"upstreamDepth": 300})).is_err(), "out of range");
        let profile: CreateTableProfile = serde_json::from_value(json!({"tableProfile": {"timestamp": 5, "rowCount": 2}, "columnProfile": null})).unwrap();
        assert_eq!((timestamp(&profile.table_profile, "t").unwrap(), profile.column_profile.len()), (5, 0));
        assert!(timestamp(&Map::new(), "tableProfile").is_err());
    }
}
