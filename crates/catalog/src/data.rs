//! Data assets: database services, databases, schemas, tables and stored procedures, plus the
//! seeded test-connection definitions. Create requests (`CreateTable`, ...) become entities with
//! OpenMetadata's JSON shape: parents named by FQN become `EntityReference`s, FQNs are built from
//! the parent's, columns get their FQNs, and only fields of OpenMetadata's schemas are accepted
//! (the Python client parses responses with `extra="forbid"` models).
//!
//! Tables version column by column: a removed column (or a changed type, which is a removal and
//! an addition) is a breaking change and a new major version; added columns are minor.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::engine::{Catalog, Changes, Draft, EntityKind, Listing, Page, diff_fields};
use crate::policy::{Operation, Target, edit_operations, view_operations};
use crate::error::{CatalogError, Result, not_found};
use crate::fqn::{self, EntityName, quote};
use crate::{domains, families, glossary, quality, usage};
use crate::governance::{CLASSIFICATIONS, POLICIES, ROLES, TAGS, TEAMS};
use crate::kinds::{DATABASE, DATABASE_SCHEMA, DATABASE_SERVICE, GLOSSARY_TERM, STORED_PROCEDURE, TABLE, TAG, TEAM, TEST_CONNECTION_DEFINITION, USER};
use crate::secrets::unmask_secrets;
use ferrometa_store::{Include, Origin};

/// How one entity type served by the generic asset operations is created, checked, contained
/// and shown.
pub struct AssetType {
    pub kind: &'static EntityKind,
    /// Fields of the create request (`Create<Type>`).
    pub(crate) create_fields: &'static [&'static str],
    /// Required fields of the create request.
    pub(crate) required: &'static [&'static str],
    /// Every field of the entity (OpenMetadata's schema); a PATCH cannot add others, and
    /// `fields=` may name only these.
    pub(crate) entity_fields: &'static [&'static str],
    /// The create-request fields naming a container by FQN, with the container's type,
    /// innermost first: the first one present is the container (a tag's parent tag, else its
    /// classification); the others must name containers of that one.
    pub(crate) containers: &'static [(&'static str, &'static EntityKind)],
    /// Fields copied from the container: the references to the containers above it.
    pub(crate) inherited: &'static [&'static str],
    /// Create-request fields listing other entities, stored as `EntityReference`s.
    pub(crate) references: &'static [Reference],
    /// Fields OpenMetadata returns only when `fields=` asks for them (relations). Not what the
    /// client reads back without asking: a table's constraints (it patches foreign keys onto a
    /// table read without `fields=`) and a view's SQL.
    pub(crate) optional_fields: &'static [&'static str],
    pub(crate) check: Option<BodyCheck>,
    /// List filters (`?service=`, `?database=`, ...) and the container type each names: every
    /// entity under that container.
    pub filters: &'static [(&'static str, &'static EntityKind)],
    /// A service's `serviceType` enum (empty for other types).
    pub(crate) service_types: &'static [&'static str],
    /// Its index of `/api/v1/search/query` (`table_search_index`), if searchable by index.
    pub search_index: Option<&'static str>,
}

/// Checks (and normalises) the fields of an entity body that are a type's own, given its FQN.
pub(crate) type BodyCheck = fn(&str, &mut Map<String, Value>) -> Result<()>;

/// A create-request field listing other entities, by id (`CreateTeam.users`) or by FQN
/// (`CreateRole.policies`); a PATCH may also give references (objects with an `id`).
pub struct Reference {
    pub(crate) field: &'static str,
    pub(crate) kind: &'static EntityKind,
    pub(crate) by_name: bool,
}

/// What every service has in common: a top-level entity with a `serviceType`, the relations
/// it answers only when asked for (the base of each service's declaration).
pub(crate) const SERVICE: AssetType = AssetType {
    kind: &DATABASE_SERVICE,
    create_fields: &[],
    required: &["name", "serviceType"],
    entity_fields: &[],
    containers: &[],
    inherited: &[],
    references: &[],
    optional_fields: &["owners", "tags", "followers", "domain", "dataProducts", "pipelines"],
    check: None,
    filters: &[],
    service_types: &[],
    search_index: None,
};

/// What every asset directly in a service has in common (the base of their declarations).
pub(crate) const ASSET: AssetType =
    AssetType { inherited: &["serviceType"], optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension"], ..SERVICE };

pub static DATABASE_SERVICES: AssetType = AssetType {
    kind: &DATABASE_SERVICE,
    create_fields: &["name", "displayName", "description", "tags", "serviceType", "connection", "owners", "dataProducts", "domain"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "serviceType", "description", "connection", "pipelines", "testConnectionResult", "tags", "version",
        "updatedAt", "updatedBy", "owners", "href", "changeDescription", "incrementalChangeDescription", "deleted", "dataProducts", "domain",
    ],
    service_types: DATABASE_SERVICE_TYPES,
    search_index: Some("database_service_search_index"),
    ..SERVICE
};

pub static DATABASES: AssetType = AssetType {
    kind: &DATABASE,
    create_fields: &[
        "name", "displayName", "description", "tags", "owners", "service", "dataProducts", "default", "retentionPeriod", "extension", "sourceUrl", "domain", "lifeCycle",
        "sourceHash",
    ],
    required: &["name", "service"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "dataProducts", "tags", "version", "updatedAt", "updatedBy", "href", "owners", "service",
        "serviceType", "location", "usageSummary", "databaseSchemas", "changeDescription", "incrementalChangeDescription", "default", "deleted", "retentionPeriod",
        "extension", "sourceUrl", "domain", "votes", "lifeCycle", "certification", "sourceHash", "databaseProfilerConfig",
    ],
    containers: &[("service", &DATABASE_SERVICE)],
    inherited: &["serviceType"],
    references: &[],
    optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension", "usageSummary", "databaseSchemas", "location"],
    check: None,
    filters: &[("service", &DATABASE_SERVICE)],
    service_types: &[],
    search_index: Some("database_search_index"),
};

pub static DATABASE_SCHEMAS: AssetType = AssetType {
    kind: &DATABASE_SCHEMA,
    create_fields: &[
        "name", "displayName", "description", "owners", "database", "dataProducts", "tags", "retentionPeriod", "extension", "sourceUrl", "domain", "lifeCycle", "sourceHash",
    ],
    required: &["name", "database"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "dataProducts", "version", "updatedAt", "updatedBy", "href", "owners", "service", "serviceType",
        "database", "tables", "usageSummary", "tags", "changeDescription", "incrementalChangeDescription", "deleted", "retentionPeriod", "extension", "sourceUrl", "domain",
        "votes", "lifeCycle", "certification", "sourceHash", "databaseSchemaProfilerConfig",
    ],
    containers: &[("database", &DATABASE)],
    inherited: &["service", "serviceType"],
    references: &[],
    optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension", "usageSummary", "tables"],
    check: None,
    filters: &[("database", &DATABASE), ("service", &DATABASE_SERVICE)],
    service_types: &[],
    search_index: Some("database_schema_search_index"),
};

pub static TABLES: AssetType = AssetType {
    kind: &TABLE,
    create_fields: &[
        "name", "displayName", "description", "tableType", "columns", "dataModel", "locationPath", "tableConstraints", "tablePartition", "tableProfilerConfig", "owners",
        "databaseSchema", "tags", "schemaDefinition", "retentionPeriod", "extension", "sourceUrl", "domain", "dataProducts", "fileFormat", "lifeCycle", "sourceHash",
    ],
    required: &["name", "columns", "databaseSchema"],
    entity_fields: &[
        "id", "name", "displayName", "fullyQualifiedName", "description", "version", "updatedAt", "updatedBy", "href", "tableType", "columns", "tableConstraints",
        "tablePartition", "owners", "databaseSchema", "database", "service", "serviceType", "location", "locationPath", "schemaDefinition", "tags", "usageSummary",
        "followers", "joins", "sampleData", "tableProfilerConfig", "customMetrics", "profile", "testSuite", "dataModel", "changeDescription",
        "incrementalChangeDescription", "deleted", "retentionPeriod", "extension", "sourceUrl", "domain", "dataProducts", "fileFormat", "votes", "lifeCycle",
        "certification", "sourceHash", "processedLineage",
    ],
    containers: &[("databaseSchema", &DATABASE_SCHEMA)],
    inherited: &["service", "database", "serviceType"],
    references: &[],
    optional_fields: &[
        "owners", "tags", "followers", "votes", "domain", "dataProducts", "extension", "usageSummary", "joins", "customMetrics", "testSuite", "tableProfilerConfig",
        "profile", "sampleData",
    ],
    check: Some(check_table),
    filters: &[("databaseSchema", &DATABASE_SCHEMA), ("database", &DATABASE), ("service", &DATABASE_SERVICE)],
    service_types: &[],
    search_index: Some("table_search_index"),
};

pub static STORED_PROCEDURES: AssetType = AssetType {
    kind: &STORED_PROCEDURE,
    create_fields: &[
        "name", "displayName", "description", "owners", "tags", "storedProcedureCode", "storedProcedureType", "databaseSchema", "extension", "dataProducts", "sourceUrl",
        "domain", "lifeCycle", "sourceHash",
    ],
    required: &["name", "storedProcedureCode", "databaseSchema"],
    entity_fields: &[
        "id", "name", "fullyQualifiedName", "displayName", "description", "storedProcedureCode", "version", "dataProducts", "updatedAt", "storedProcedureType",
        "updatedBy", "href", "changeDescription", "incrementalChangeDescription", "databaseSchema", "database", "service", "serviceType", "deleted", "owners", "followers",
        "votes", "code", "tags", "extension", "sourceUrl", "domain", "lifeCycle", "certification", "sourceHash", "processedLineage",
    ],
    containers: &[("databaseSchema", &DATABASE_SCHEMA)],
    inherited: &["service", "database", "serviceType"],
    references: &[],
    optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension"],
    check: Some(check_stored_procedure),
    filters: &[("databaseSchema", &DATABASE_SCHEMA), ("database", &DATABASE), ("service", &DATABASE_SERVICE)],
    service_types: &[],
    search_index: Some("stored_procedure_search_index"),
};

/// The registry: every type served by the generic asset operations, data assets (containers
/// before their contents) then governance entities. Routes, access checks, list filters,
/// versions and search indexes follow from these declarations.
pub static ENTITY_TYPES: &[&AssetType] = &[
    &DATABASE_SERVICES, &DATABASES, &DATABASE_SCHEMAS, &TABLES, &STORED_PROCEDURES, &families::DASHBOARD_SERVICES, &families::CHARTS, &families::DASHBOARD_DATA_MODELS,
    &families::DASHBOARDS, &families::PIPELINE_SERVICES, &families::PIPELINES, &families::MESSAGING_SERVICES, &families::TOPICS, &families::MLMODEL_SERVICES,
    &families::MLMODELS, &families::STORAGE_SERVICES, &families::CONTAINERS, &families::SEARCH_SERVICES, &families::SEARCH_INDEXES, &usage::QUERIES, &quality::TEST_DEFINITIONS,
    &quality::TEST_SUITES, &quality::TEST_CASES, &glossary::GLOSSARIES, &glossary::GLOSSARY_TERMS, &domains::DOMAINS, &domains::DATA_PRODUCTS, &TEAMS, &ROLES, &POLICIES, &CLASSIFICATIONS, &TAGS,
];

/// Every data asset type (queries too): the registry without its three data-quality, two
/// glossary, two domain and five governance types.
pub static ASSET_TYPES: &[&AssetType] = ENTITY_TYPES.split_at(ENTITY_TYPES.len() - 12).0;

pub fn asset_type(entity_type: &str) -> Option<&'static AssetType> {
    ENTITY_TYPES.iter().copied().find(|t| t.kind.name == entity_type)
}

/// OpenMetadata's `BulkOperationResult` of a batch whose requests passed or failed (each a
/// `{request, message}`).
pub fn bulk_result(passed: Vec<Value>, failed: Vec<Value>) -> Value {
    let status = match (passed.is_empty(), failed.is_empty()) {
        (_, true) => "success",
        (true, false) => "failure",
        (false, false) => "partialSuccess",
    };
    json!({
        "dryRun": false,
        "status": status,
        "numberOfRowsProcessed": passed.len() + failed.len(),
        "numberOfRowsPassed": passed.len(),
        "numberOfRowsFailed": failed.len(),
        "successRequest": passed,
        "failedRequest": failed,
    })
}

impl AssetType {
    /// The names of the types held (at any depth) by containers of this type.
    pub(crate) fn content_types(&self) -> Vec<&'static str> {
        let mut found: Vec<&'static str> = vec![];
        let mut containers = vec![self.kind.name];
        while let Some(container) = containers.pop() {
            for t in ENTITY_TYPES.iter().filter(|t| t.containers.iter().any(|(_, k)| k.name == container)) {
                if !found.contains(&t.kind.name) {
                    found.push(t.kind.name);
                    containers.push(t.kind.name);
                }
            }
        }
        found
    }

    /// Whether OpenMetadata's schema of the type has this field.
    pub fn has_field(&self, field: &str) -> bool {
        self.entity_fields.contains(&field)
    }

    /// What a response carries for this `fields=` (see [`select_fields`]).
    pub fn selected_fields(&self, requested: Option<&str>) -> Result<FieldSelection> {
        select_fields(self.entity_fields, self.optional_fields, requested)
    }
}

/// Relation fields that are lists: OpenMetadata answers `[]` for one that is asked for and
/// empty (the client's JSON patches append to them, `add /tags/0`).
const LIST_FIELDS: &[&str] = &[
    "owners", "tags", "followers", "dataProducts", "reviewers", "children", "databaseSchemas", "tables", "pipelines", "customMetrics", "teams", "roles", "users",
    "policies", "domains", "defaultRoles", "parents", "owns", "follows", "personas", "charts", "dataModels", "experts", "assets", "relatedTerms", "synonyms",
    "associatedTags", "queryUsedIn",
];

/// OpenMetadata's `fields=`: the optional fields a response leaves out and the requested list
/// fields it always carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelection {
    pub omitted: Vec<&'static str>,
    pub lists: Vec<&'static str>,
}

impl FieldSelection {
    /// An entity as a response carries it: without the omitted fields, with every requested
    /// list field (`[]` when empty).
    pub fn apply(&self, mut entity: Value) -> Value {
        if let Some(obj) = entity.as_object_mut() {
            obj.retain(|k, _| !self.omitted.contains(&k.as_str()));
            for f in &self.lists {
                if obj.get(*f).is_none_or(Value::is_null) {
                    obj.insert((*f).into(), json!([]));
                }
            }
        }
        entity
    }
}

/// OpenMetadata's `fields=` of an entity type. Without the parameter every optional field is
/// left out, `*` keeps all; a name that is not a field of the entity is refused.
pub fn select_fields(entity_fields: &[&str], optional_fields: &[&'static str], requested: Option<&str>) -> Result<FieldSelection> {
    let requested: Vec<&str> = requested.unwrap_or_default().split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
    if let Some(unknown) = requested.iter().find(|f| **f != "*" && !entity_fields.contains(f)) {
        return Err(bad(format!("Invalid field name {}", shown(unknown))));
    }
    let all = requested.contains(&"*");
    let (kept, omitted): (Vec<&'static str>, Vec<&'static str>) = optional_fields.iter().copied().partition(|f| all || requested.contains(f));
    // Only the entity's own fields: the client's models forbid others (a service has no `followers`).
    Ok(FieldSelection { omitted, lists: kept.into_iter().filter(|f| LIST_FIELDS.contains(f) && entity_fields.contains(f)).collect() })
}

// --- OpenMetadata's enums (from the client's generated models) ---

pub const DATABASE_SERVICE_TYPES: &[&str] = &[
    "BigQuery", "BigTable", "Mysql", "Redshift", "Snowflake", "Postgres", "Mssql", "Oracle", "Athena", "Hive", "Impala", "Presto", "Trino", "Vertica", "Glue", "MariaDB",
    "Druid", "Db2", "Clickhouse", "Databricks", "AzureSQL", "DynamoDB", "SingleStore", "SQLite", "DeltaLake", "Salesforce", "PinotDB", "Datalake", "DomoDatabase",
    "QueryLog", "CustomDatabase", "Dbt", "SapHana", "MongoDB", "Couchbase", "Greenplum", "Doris", "UnityCatalog", "SAS", "Iceberg", "Teradata", "SapErp", "Synapse",
    "Exasol",
];

pub const DATA_TYPES: &[&str] = &[
    "NUMBER", "TINYINT", "SMALLINT", "INT", "BIGINT", "BYTEINT", "BYTES", "FLOAT", "DOUBLE", "DECIMAL", "NUMERIC", "TIMESTAMP", "TIMESTAMPZ", "TIME", "DATE", "DATETIME",
    "INTERVAL", "STRING", "MEDIUMTEXT", "TEXT", "CHAR", "LONG", "VARCHAR", "BOOLEAN", "BINARY", "VARBINARY", "ARRAY", "BLOB", "LONGBLOB", "MEDIUMBLOB", "MAP", "STRUCT",
    "UNION", "SET", "GEOGRAPHY", "ENUM", "JSON", "UUID", "VARIANT", "GEOMETRY", "BYTEA", "AGGREGATEFUNCTION", "ERROR", "FIXED", "RECORD", "NULL", "SUPER", "HLLSKETCH",
    "PG_LSN", "PG_SNAPSHOT", "TSQUERY", "TXID_SNAPSHOT", "XML", "MACADDR", "TSVECTOR", "UNKNOWN", "CIDR", "INET", "CLOB", "ROWID", "LOWCARDINALITY", "YEAR", "POINT",
    "POLYGON", "TUPLE", "SPATIAL", "TABLE", "NTEXT", "IMAGE", "IPV4", "IPV6", "DATETIMERANGE", "HLL", "LARGEINT", "QUANTILE_STATE", "AGG_STATE", "BITMAP", "UINT", "BIT",
    "MONEY", "MEASURE HIDDEN", "MEASURE VISIBLE",
];

const TABLE_TYPES: &[&str] = &["Regular", "External", "Dynamic", "View", "SecureView", "MaterializedView", "Iceberg", "Local", "Partitioned", "Foreign", "Transient"];
const COLUMN_CONSTRAINTS: &[&str] = &["NULL", "NOT_NULL", "UNIQUE", "PRIMARY_KEY"];
const TABLE_CONSTRAINT_TYPES: &[&str] = &["UNIQUE", "PRIMARY_KEY", "FOREIGN_KEY", "SORT_KEY", "DIST_KEY", "CLUSTER_KEY"];
const RELATIONSHIP_TYPES: &[&str] = &["ONE_TO_ONE", "ONE_TO_MANY", "MANY_TO_ONE", "MANY_TO_MANY"];
const STORED_PROCEDURE_TYPES: &[&str] = &["StoredProcedure", "UDF"];
const TAG_SOURCES: &[&str] = &["Classification", "Glossary"];
const LABEL_TYPES: &[&str] = &["Manual", "Propagated", "Automated", "Derived"];
const TAG_STATES: &[&str] = &["Suggested", "Confirmed"];

const COLUMN_FIELDS: &[&str] = &[
    "name", "displayName", "dataType", "arrayDataType", "dataLength", "precision", "scale", "dataTypeDisplay", "description", "fullyQualifiedName", "tags", "constraint",
    "ordinalPosition", "jsonSchema", "children", "profile", "customMetrics",
];
const TABLE_CONSTRAINT_FIELDS: &[&str] = &["constraintType", "columns", "referredColumns", "relationshipType"];
const TAG_LABEL_FIELDS: &[&str] = &["tagFQN", "name", "displayName", "description", "style", "source", "labelType", "state", "href"];

/// Every field of OpenMetadata's `TestConnectionDefinition` (what `fields=` may name).
pub const TEST_CONNECTION_DEFINITION_FIELDS: &[&str] = &[
    "id", "name", "displayName", "fullyQualifiedName", "description", "steps", "owners", "version", "updatedAt", "updatedBy", "href", "changeDescription",
    "incrementalChangeDescription", "deleted", "domain",
];

pub(crate) fn bad(msg: impl Into<String>) -> CatalogError {
    CatalogError::BadRequest(msg.into())
}

pub(crate) fn shown(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

pub(crate) fn one_of(field: &str, value: &Value, allowed: &[&str]) -> Result<()> {
    match value.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        Some(s) => Err(bad(format!("{field} must be one of {}; got \"{}\"", allowed.join(", "), shown(s)))),
        None => Err(bad(format!("{field} must be a string"))),
    }
}

/// A boolean, or a string holding one (as Jackson reads `"false"`, which the 1.6 client sends
/// for `mutuallyExclusive`).
pub(crate) fn boolean(field: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(bad(format!("{field} must be a boolean"))),
    }
}

pub(crate) fn string_field(field: &str, value: &Value) -> Result<()> {
    if value.is_string() { Ok(()) } else { Err(bad(format!("{field} must be a string"))) }
}

pub(crate) fn integer_field(field: &str, value: &Value) -> Result<()> {
    if value.is_i64() || value.is_u64() { Ok(()) } else { Err(bad(format!("{field} must be an integer"))) }
}

pub(crate) fn object_field(field: &str, value: &Value) -> Result<()> {
    if value.is_object() { Ok(()) } else { Err(bad(format!("{field} must be an object"))) }
}

pub(crate) fn array_of<'a>(field: &str, value: &'a Value) -> Result<&'a Vec<Value>> {
    value.as_array().ok_or_else(|| bad(format!("{field} must be an array")))
}

/// Rejects fields outside OpenMetadata's schema (nulls count as absent).
pub(crate) fn known_fields(what: &str, obj: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match obj.iter().find(|(k, v)| !v.is_null() && !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(bad(format!("Unrecognized field \"{}\" in {what}", shown(k)))),
        None => Ok(()),
    }
}

/// `TagLabel`s: shape and enums (that each tag exists is checked by `Catalog::label_tags`).
fn check_tags(field: &str, value: &Value) -> Result<()> {
    for label in array_of(field, value)? {
        let obj = label.as_object().ok_or_else(|| bad(format!("{field} must hold TagLabel objects")))?;
        known_fields("TagLabel", obj, TAG_LABEL_FIELDS)?;
        string_field(&format!("{field}.tagFQN"), obj.get("tagFQN").unwrap_or(&Value::Null))?;
        one_of(&format!("{field}.source"), obj.get("source").unwrap_or(&Value::Null), TAG_SOURCES)?;
        one_of(&format!("{field}.labelType"), obj.get("labelType").unwrap_or(&Value::Null), LABEL_TYPES)?;
        one_of(&format!("{field}.state"), obj.get("state").unwrap_or(&Value::Null), TAG_STATES)?;
    }
    Ok(())
}

/// Columns with their FQNs under `parent_fqn`, checked against OpenMetadata's `Column` schema.
pub fn normalize_columns(parent_fqn: &str, columns: &Value, field: &str) -> Result<Value> {
    let mut seen: Vec<String> = vec![];
    let mut out = vec![];
    for column in array_of(field, columns)? {
        let mut col = column.as_object().cloned().ok_or_else(|| bad(format!("{field} must hold column objects")))?;
        col.retain(|_, v| !v.is_null());
        known_fields("Column", &col, COLUMN_FIELDS)?;
        let name = col.get("name").and_then(Value::as_str).ok_or_else(|| bad(format!("{field}: every column needs a name")))?;
        let name = EntityName::parse(name).map_err(|e| bad(format!("{field}: column {e}")))?.as_str().to_string();
        if seen.contains(&name.to_lowercase()) {
            return Err(bad(format!("Column name {} is repeated", shown(&name))));
        }
        seen.push(name.to_lowercase());
        let path = format!("{field}.{}", shown(&name));
        one_of(&format!("{path}.dataType"), col.get("dataType").ok_or_else(|| bad(format!("{path}.dataType must not be null")))?, DATA_TYPES)?;
        if let Some(v) = col.get("arrayDataType") {
            one_of(&format!("{path}.arrayDataType"), v, DATA_TYPES)?;
        }
        if let Some(v) = col.get("constraint") {
            one_of(&format!("{path}.constraint"), v, COLUMN_CONSTRAINTS)?;
        }
        for f in ["dataLength", "precision", "scale", "ordinalPosition"] {
            if let Some(v) = col.get(f) {
                integer_field(&format!("{path}.{f}"), v)?;
            }
        }
        for f in ["displayName", "dataTypeDisplay", "description", "jsonSchema"] {
            if let Some(v) = col.get(f) {
                string_field(&format!("{path}.{f}"), v)?;
            }
        }
        match col.get("tags") {
            Some(v) => check_tags(&format!("{path}.tags"), v)?,
            // As OpenMetadata answers: every column has its (possibly empty) tag list.
            None => {
                col.insert("tags".into(), json!([]));
            }
        }
        let col_fqn = format!("{parent_fqn}.{}", quote(&name));
        if let Some(children) = col.get("children").cloned() {
            col.insert("children".into(), normalize_columns(&col_fqn, &children, &format!("{path}.children"))?);
        }
        col.insert("name".into(), json!(name));
        col.insert("fullyQualifiedName".into(), json!(col_fqn));
        out.push(Value::Object(col));
    }
    Ok(Value::Array(out))
}

/// `tableConstraints`: enums, and every constrained column must be a column of the table.
fn check_table_constraints(constraints: &Value, columns: &Value) -> Result<()> {
    let names: Vec<String> = columns.as_array().map(|c| c.iter().filter_map(|c| c["name"].as_str().map(str::to_lowercase)).collect()).unwrap_or_default();
    for c in array_of("tableConstraints", constraints)? {
        let obj = c.as_object().ok_or_else(|| bad("tableConstraints must hold objects"))?;
        known_fields("TableConstraint", obj, TABLE_CONSTRAINT_FIELDS)?;
        if let Some(t) = obj.get("constraintType").filter(|v| !v.is_null()) {
            one_of("tableConstraints.constraintType", t, TABLE_CONSTRAINT_TYPES)?;
        }
        if let Some(t) = obj.get("relationshipType").filter(|v| !v.is_null()) {
            one_of("tableConstraints.relationshipType", t, RELATIONSHIP_TYPES)?;
        }
        for col in obj.get("columns").filter(|v| !v.is_null()).map(|v| array_of("tableConstraints.columns", v)).transpose()?.into_iter().flatten() {
            let col = col.as_str().ok_or_else(|| bad("tableConstraints.columns must hold column names"))?;
            if !names.contains(&col.to_lowercase()) {
                return Err(bad(format!("Invalid column name found in table constraint: {}", shown(col))));
            }
        }
        for col in obj.get("referredColumns").filter(|v| !v.is_null()).map(|v| array_of("tableConstraints.referredColumns", v)).transpose()?.into_iter().flatten() {
            string_field("tableConstraints.referredColumns", col)?;
        }
    }
    Ok(())
}

/// Checks the fields of an entity body (from a create request or a patch) common to every
/// type, then the type's own.
fn check_body(t: &AssetType, fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    body.retain(|_, v| !v.is_null());
    for f in ["displayName", "description", "sourceUrl", "retentionPeriod", "sourceHash", "locationPath", "email"] {
        if let Some(v) = body.get(f) {
            string_field(f, v)?;
        }
    }
    for f in ["extension", "lifeCycle", "connection", "tableProfilerConfig", "dataModel", "tablePartition", "profile", "style"] {
        if let Some(v) = body.get(f) {
            object_field(f, v)?;
        }
    }
    for f in ["default", "mutuallyExclusive", "isJoinable", "enabled", "deprecated", "disabled"] {
        if let Some(v) = body.get_mut(f) {
            *v = json!(boolean(f, v)?);
        }
    }
    if let Some(v) = body.get("provider") {
        one_of("provider", v, &["system", "user"])?;
    }
    if let Some(v) = body.get("tags") {
        check_tags("tags", v)?;
    }
    if !t.service_types.is_empty() {
        one_of("serviceType", body.get("serviceType").unwrap_or(&Value::Null), t.service_types)?;
    }
    match t.check {
        Some(check) => check(fqn, body),
        None => Ok(()),
    }
}

/// Columns (with their FQNs), table type, constraints and the view's SQL.
fn check_table(fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    let columns = body.get("columns").ok_or_else(|| bad("columns must not be null"))?;
    let columns = normalize_columns(fqn, columns, "columns")?;
    if let Some(tt) = body.get("tableType") {
        one_of("tableType", tt, TABLE_TYPES)?;
    }
    if let Some(c) = body.get("tableConstraints") {
        check_table_constraints(c, &columns)?;
    }
    if let Some(v) = body.get("schemaDefinition") {
        string_field("schemaDefinition", v)?;
    }
    body.insert("columns".into(), columns);
    Ok(())
}

fn check_stored_procedure(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    let code = body.get("storedProcedureCode").ok_or_else(|| bad("storedProcedureCode must not be null"))?;
    let code = code.as_object().ok_or_else(|| bad("storedProcedureCode must be an object"))?;
    known_fields("StoredProcedureCode", code, &["language", "code"])?;
    if let Some(v) = body.get("storedProcedureType") {
        one_of("storedProcedureType", v, STORED_PROCEDURE_TYPES)?;
    }
    Ok(())
}

/// The `TagLabel`s of an entity body: its own and its columns' (at any depth).
fn tag_labels(body: &Map<String, Value>) -> Vec<&Value> {
    fn of_columns<'a>(columns: Option<&'a Value>, labels: &mut Vec<&'a Value>) {
        for column in columns.and_then(Value::as_array).into_iter().flatten() {
            labels.extend(column.get("tags").and_then(Value::as_array).into_iter().flatten());
            of_columns(column.get("children"), labels);
        }
    }
    let mut labels: Vec<&Value> = body.get("tags").and_then(Value::as_array).into_iter().flatten().collect();
    of_columns(body.get("columns"), &mut labels);
    labels
}

/// How [`Catalog::label_tags`] treats a label naming no tag.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MissingTag {
    Refuse,
    Drop,
}

/// Calls `f` with every tag list of an entity body: its own and its columns' (at any depth).
fn for_each_tag_list(body: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Vec<Value>)) {
    fn of_columns(columns: Option<&mut Value>, f: &mut dyn FnMut(&mut Vec<Value>)) {
        for column in columns.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(labels) = column.get_mut("tags").and_then(Value::as_array_mut) {
                f(labels);
            }
            of_columns(column.get_mut("children"), f);
        }
    }
    if let Some(labels) = body.get_mut("tags").and_then(Value::as_array_mut) {
        f(labels);
    }
    of_columns(body.get_mut("columns"), f);
}

/// Fills a label from its tag (found in `tags` by lower-case FQN); false when it names none.
fn label_with_tag(label: &mut Value, tags: &HashMap<String, Option<Value>>) -> bool {
    let key = label["tagFQN"].as_str().unwrap_or_default().to_lowercase();
    let (Some(Some(tag)), Some(obj)) = (tags.get(&key), label.as_object_mut()) else { return false };
    obj.insert("tagFQN".into(), tag["fullyQualifiedName"].clone());
    for f in ["name", "displayName", "description", "style"] {
        match tag.get(f).filter(|v| !v.is_null()) {
            Some(v) => obj.insert(f.into(), v.clone()),
            None => obj.remove(f),
        };
    }
    true
}

// --- versions of tables: column by column, as OpenMetadata's `updateColumns` ---

fn same_column(a: &Value, b: &Value) -> bool {
    let name = |v: &Value| v["name"].as_str().map(str::to_lowercase);
    name(a) == name(b) && a.get("dataType") == b.get("dataType") && a.get("arrayDataType") == b.get("arrayDataType")
}

const COLUMN_PROPERTIES: &[&str] = &["description", "displayName", "dataLength", "precision", "scale", "dataTypeDisplay", "tags", "constraint", "ordinalPosition", "jsonSchema"];

fn column_changes(field: &str, old: &[Value], new: &[Value], c: &mut Changes) {
    let added: Vec<&Value> = new.iter().filter(|n| !old.iter().any(|o| same_column(o, n))).collect();
    let deleted: Vec<&Value> = old.iter().filter(|o| !new.iter().any(|n| same_column(o, n))).collect();
    if !added.is_empty() {
        c.added.push(json!({"name": field, "newValue": serde_json::to_string(&added).unwrap_or_default()}));
    }
    if !deleted.is_empty() {
        c.deleted.push(json!({"name": field, "oldValue": serde_json::to_string(&deleted).unwrap_or_default()}));
        c.major = true;
    }
    for n in new {
        let Some(o) = old.iter().find(|o| same_column(o, n)) else { continue };
        let prefix = format!("{field}.{}", quote(n["name"].as_str().unwrap_or_default()));
        // Null, "" and [] all mean "none".
        let present = |v: &&Value| !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty());
        for p in COLUMN_PROPERTIES {
            let name = format!("{prefix}.{p}");
            match (o.get(*p).filter(present), n.get(*p).filter(present)) {
                (None, Some(nv)) => c.added.push(json!({"name": name, "newValue": nv.to_string()})),
                (Some(ov), None) => c.deleted.push(json!({"name": name, "oldValue": ov.to_string()})),
                (Some(ov), Some(nv)) if ov != nv => {
                    // A shorter column breaks consumers (OpenMetadata: data length decrease).
                    if *p == "dataLength" && nv.as_i64() < ov.as_i64() {
                        c.major = true;
                    }
                    c.updated.push(json!({"name": name, "oldValue": ov.to_string(), "newValue": nv.to_string()}));
                }
                _ => {}
            }
        }
        let children = |v: &Value| v.get("children").and_then(Value::as_array).cloned().unwrap_or_default();
        let (oc, nc) = (children(o), children(n));
        if !oc.is_empty() || !nc.is_empty() {
            column_changes(&prefix, &oc, &nc, c);
        }
    }
}

/// The [`Changes`] of a table: columns one by one (a removed column is a major change), the
/// other fields as the engine compares them.
pub fn table_changes(old: &Value, new: &Map<String, Value>) -> Changes {
    let mut c = diff_fields(old, new, &["columns"]);
    let none = vec![];
    let old_cols = old.get("columns").and_then(Value::as_array).unwrap_or(&none);
    let new_cols = new.get("columns").and_then(Value::as_array).unwrap_or(&none);
    let before = c.clone();
    column_changes("columns", old_cols, new_cols, &mut c);
    if c == before && old_cols != new_cols {
        // Same columns, new order.
        c.updated.push(json!({"name": "columns", "oldValue": Value::Array(old_cols.clone()).to_string(), "newValue": Value::Array(new_cols.clone()).to_string()}));
    }
    c
}

/// On PUT (an ingestion run), columns keep what people added in the catalog (descriptions,
/// display names, tags), and their positions, when the source sends none.
fn carry_forward_columns(new: &mut Value, old: &Value) {
    let (Some(new_cols), Some(old_cols)) = (new.as_array_mut(), old.as_array()) else { return };
    for n in new_cols.iter_mut() {
        let Some(o) = old_cols.iter().find(|o| same_column(o, n)) else { continue };
        for f in ["description", "displayName", "tags", "ordinalPosition"] {
            let missing = n.get(f).is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty) || v.as_str().is_some_and(str::is_empty));
            if missing
                && let Some(v) = o.get(f).filter(|v| !v.is_null())
                && let Some(obj) = n.as_object_mut()
            {
                obj.insert(f.into(), v.clone());
            }
        }
        if let (Some(nc), Some(oc)) = (n.get("children").cloned(), o.get("children")) {
            let mut nc = nc;
            carry_forward_columns(&mut nc, oc);
            if let Some(obj) = n.as_object_mut() {
                obj.insert("children".into(), nc);
            }
        }
    }
}

impl Catalog {
    /// The owners of a create request or patch as full references (users and teams by id).
    async fn resolve_owners(&self, owners: &Value) -> Result<Value> {
        let mut refs = vec![];
        for owner in array_of("owners", owners)? {
            let id = owner["id"].as_str().ok_or_else(|| bad("owners must hold references with an id"))?;
            let kind = match owner["type"].as_str() {
                Some("user") => &USER,
                Some("team") => &TEAM,
                other => return Err(bad(format!("owners can be users or teams, not {}", shown(other.unwrap_or("null"))))),
            };
            let entity = self.get(kind, id, Include::NonDeleted).await?;
            refs.push(self.reference(kind, &entity));
        }
        Ok(Value::Array(refs))
    }

    /// The entities a reference field lists, as references: names or ids as the type's create
    /// request gives them, or references (objects with an `id`) as a patch gives them.
    async fn resolve_references(&self, r: &Reference, listed: &Value) -> Result<Value> {
        let mut refs = vec![];
        for item in array_of(r.field, listed)? {
            let entity = match (item.as_str(), item.get("id").and_then(Value::as_str)) {
                (Some(name), _) if r.by_name => self.get_by_name(r.kind, name, Include::NonDeleted).await?,
                (Some(id), _) | (None, Some(id)) => self.get(r.kind, id, Include::NonDeleted).await?,
                (None, None) => return Err(bad(format!("{} must hold {} {}", r.field, r.kind.name, if r.by_name { "names" } else { "ids" }))),
            };
            refs.push(self.reference(r.kind, &entity));
        }
        Ok(Value::Array(refs))
    }

    /// The tag labels of an entity body (its own and its columns') as OpenMetadata returns
    /// them: with the tag's (or, for source `Glossary`, the glossary term's) FQN, name, display
    /// name, description and style. A label naming none is refused on a write and left out on a
    /// read: its tag was hard-deleted since, and OpenMetadata deletes a tag's usages with it.
    pub(crate) async fn label_tags(&self, body: &mut Map<String, Value>, missing: MissingTag) -> Result<()> {
        let mut tags: HashMap<String, Option<Value>> = HashMap::new();
        for label in tag_labels(body) {
            let tag_fqn = label["tagFQN"].as_str().unwrap_or_default();
            if tags.contains_key(&tag_fqn.to_lowercase()) {
                continue;
            }
            // From the store, not through `get_by_name`: reads call this, and a tag has no
            // labels or relations of its own to load.
            let kind = if label["source"] == json!("Glossary") { &GLOSSARY_TERM } else { &TAG };
            let row = self.store().entity_by_fqn(kind.name, tag_fqn).await?;
            let tag = match (missing, row) {
                (MissingTag::Refuse, Some(row)) if !row.deleted => Some(self.entity_of(&row)?),
                (MissingTag::Refuse, _) => return Err(not_found(kind.name, &shown(tag_fqn))),
                (MissingTag::Drop, row) => row.map(|row| self.entity_of(&row)).transpose()?,
            };
            tags.insert(tag_fqn.to_lowercase(), tag);
        }
        if !tags.is_empty() {
            for_each_tag_list(body, &mut |labels| labels.retain_mut(|label| label_with_tag(label, &tags)));
        }
        Ok(())
    }

    /// The container named by a create request: the entity it names by FQN, and that the other
    /// container fields of the request name containers of that one.
    async fn container(&self, t: &AssetType, req: &mut Map<String, Value>) -> Result<Option<(&'static str, &'static EntityKind, Value)>> {
        let Some(&(field, kind)) = t.containers.iter().find(|(f, _)| req.contains_key(*f)) else { return Ok(None) };
        let named = |req: &mut Map<String, Value>, f: &str, k: &EntityKind| {
            req.remove(f).and_then(|v| v.as_str().map(str::to_string)).ok_or_else(|| bad(format!("{f} must be the FQN of a {}", k.name)))
        };
        let container = self.get_by_name(kind, &named(req, field, kind)?, Include::NonDeleted).await?;
        for &(outer, outer_kind) in t.containers.iter().filter(|(f, _)| *f != field) {
            if req.contains_key(outer) {
                let outer_fqn = named(req, outer, outer_kind)?;
                if container[outer]["fullyQualifiedName"].as_str().map(str::to_lowercase) != Some(outer_fqn.to_lowercase()) {
                    let inner_fqn = container["fullyQualifiedName"].as_str().unwrap_or_default();
                    return Err(bad(format!("{field} {} is not in the {outer} {}", shown(inner_fqn), shown(&outer_fqn))));
                }
            }
        }
        Ok(Some((field, kind, container)))
    }

    /// The FQN and container of an entity whose create request names its container by a field.
    async fn place_in_container(&self, t: &AssetType, name: &str, req: &mut Map<String, Value>) -> Result<(String, Option<String>)> {
        Ok(match self.container(t, req).await? {
            None => (quote(name), None),
            Some((field, kind, container)) => {
                let container_fqn = container["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
                req.insert(field.into(), self.reference(kind, &container));
                for &above in t.inherited {
                    if let Some(r) = container.get(above).filter(|v| !v.is_null()) {
                        req.insert(above.into(), r.clone());
                    }
                }
                (format!("{container_fqn}.{}", quote(name)), Some(container_fqn))
            }
        })
    }

    /// What a type needs before its create request is drafted, as the caller: a test case's
    /// basic suite, a query's name.
    async fn before_draft(&self, actor: Actor<'_>, t: &AssetType, request: &mut Value) -> Result<()> {
        match t.kind.name {
            "testCase" => self.ensure_basic_suite(actor, request).await,
            "query" => {
                Self::name_query(request);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// What follows a write of a type: a basic suite is named by its table.
    async fn after_write(&self, t: &AssetType, written: &Value) -> Result<()> {
        match t.kind.name {
            "testSuite" => self.link_basic_suite(written).await,
            _ => Ok(()),
        }
    }

    /// Turns a create request into a draft: checks fields, resolves the container, owners and
    /// references, builds the FQN and the references to the containers.
    pub async fn asset_draft(&self, t: &'static AssetType, request: Value) -> Result<Draft> {
        let Value::Object(mut req) = request else { return Err(bad("the request body must be a JSON object")) };
        req.retain(|_, v| !v.is_null());
        known_fields(&format!("the create request of {}", t.kind.name), &req, t.create_fields)?;
        for f in t.required {
            if !req.contains_key(*f) {
                return Err(bad(format!("[{f} must not be null]")));
            }
        }
        let name = EntityName::parse(req.get("name").and_then(Value::as_str).ok_or_else(|| bad("name must be a string"))?)?.as_str().to_string();
        self.place_domain_entity(t.kind.name, &mut req).await?;
        self.resolve_domains(&mut req, None).await?;
        req.remove("name");
        let (fqn, parent_fqn) = match t.kind.name {
            "query" => self.place_query(&name, &mut req).await?,
            kind => match self.place_quality_entity(kind, &name, &mut req).await? {
                Some(placed) => placed,
                None => self.place_in_container(t, &name, &mut req).await?,
            },
        };
        for field in ["owners", "reviewers"] {
            if let Some(listed) = req.get(field).cloned() {
                req.insert(field.into(), self.resolve_owners(&listed).await?);
            }
        }
        for r in t.references {
            if let Some(listed) = req.get(r.field).cloned() {
                req.insert(r.field.into(), self.resolve_references(r, &listed).await?);
            }
        }
        check_body(t, &fqn, &mut req)?;
        self.check_related(t, &name, &req, None).await?;
        self.label_tags(&mut req, MissingTag::Refuse).await?;
        Ok(Draft { kind: t.kind, name, fqn, parent_fqn, body: req })
    }

    /// The checks of a type that read other entities (`old` is the entity as read before an
    /// update): a team's place in the team hierarchy.
    async fn check_related(&self, t: &AssetType, name: &str, body: &Map<String, Value>, old: Option<&Value>) -> Result<()> {
        match t.kind.name {
            "team" => self.check_team_write(name, body, old).await,
            "policy" => self.check_condition_names(body).await,
            _ => Ok(()),
        }
    }

    /// POST: creates the entity (`Create`, judged on its container); 409 when its FQN is
    /// taken (also by a soft-deleted one).
    pub async fn create_asset(&self, actor: Actor<'_>, t: &'static AssetType, mut request: Value) -> Result<Value> {
        self.before_draft(actor, t, &mut request).await?;
        let draft = self.asset_draft(t, request).await?;
        self.authorize_create(actor, t, &draft).await?;
        let created = self.create(draft, actor.origin()).await?;
        self.after_write(t, &created).await?;
        Ok(created)
    }

    /// PUT: creates the entity (`Create`) or updates the one with this FQN (`EditAll`, as
    /// OpenMetadata requires of any PUT on an existing entity), restoring it when it was soft
    /// deleted; no new version when nothing changed. Returns the entity and whether it is new.
    pub async fn put_asset(&self, actor: Actor<'_>, t: &'static AssetType, mut request: Value) -> Result<(Value, bool)> {
        self.before_draft(actor, t, &mut request).await?;
        for attempt in 0..2 {
            let mut draft = self.asset_draft(t, request.clone()).await?;
            let existing = match self.get_by_name(t.kind, &draft.fqn, Include::All).await {
                Ok(e) => Some(e),
                Err(CatalogError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            match &existing {
                None => self.authorize_create(actor, t, &draft).await?,
                Some(old) => self.authorize_change(actor, t.kind, old, &[Operation::EditAll], &draft.body).await?,
            }
            if let Some(old) = &existing {
                self.check_related(t, &draft.name, &draft.body, Some(old)).await?;
                if old["deleted"] == json!(true) {
                    self.restore_with_contents(t, old, actor.origin()).await?;
                }
                if let (Some(new_cols), Some(old_cols)) = (draft.body.get_mut("columns"), old.get("columns")) {
                    carry_forward_columns(new_cols, old_cols);
                }
                unmask_secrets(&mut draft.body, old);
            }
            match self.create_or_update(draft, actor.origin()).await {
                Ok(written) => {
                    self.after_write(t, &written.0).await?;
                    return Ok(written);
                }
                // Another request created it between our read and our insert: update it.
                Err(CatalogError::AlreadyExists) if existing.is_none() && attempt == 0 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CatalogError::AlreadyExists)
    }

    /// PATCH (RFC 6902) of an asset: the result must still be a valid entity of its type; name,
    /// FQN and containers cannot change. Authorized by what the result changes (see
    /// `policy::edit_operations`), not by the patch's paths.
    pub async fn patch_asset(&self, actor: Actor<'_>, t: &'static AssetType, id: &str, patch: &json_patch::Patch) -> Result<Value> {
        let old = self.get(t.kind, id, Include::NonDeleted).await?;
        // Patched as the client read it: every list field present (`add /tags/0` on none).
        let lists = t.selected_fields(Some("*"))?;
        let doc = crate::engine::apply_patch(&lists.apply(old.clone()), patch)?;
        let Value::Object(mut body) = doc else { return Err(bad("the patched entity is not an object")) };
        body.retain(|k, v| old.get(k).is_some() || !lists.lists.contains(&k.as_str()) || v.as_array().is_none_or(|a| !a.is_empty()));
        // Judged on the patched document before it is checked and normalised: what a caller may
        // not do is refused before anything about the request is answered.
        self.authorize_change(actor, t.kind, &old, &edit_operations(&old, &body), &body).await?;
        let containers = t.containers.iter().map(|(f, _)| *f);
        for f in ["id", "name", "fullyQualifiedName"].into_iter().chain(containers).chain(t.inherited.iter().copied()) {
            if body.get(f) != old.get(f) {
                return Err(bad(format!("the field {f} cannot be changed with PATCH")));
            }
        }
        known_fields(t.kind.name, &body, t.entity_fields)?;
        self.resolve_domains(&mut body, Some(&old)).await?;
        for field in ["owners", "reviewers"] {
            if let Some(listed) = body.get(field).filter(|v| !v.is_null()).cloned()
                && Some(&listed) != old.get(field)
            {
                body.insert(field.into(), self.resolve_owners(&listed).await?);
            }
        }
        for r in t.references {
            if let Some(listed) = body.get(r.field).filter(|v| !v.is_null()).cloned()
                && Some(&listed) != old.get(r.field)
            {
                body.insert(r.field.into(), self.resolve_references(r, &listed).await?);
            }
        }
        unmask_secrets(&mut body, &old);
        let fqn = old["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        check_body(t, &fqn, &mut body)?;
        self.check_related(t, old["name"].as_str().unwrap_or_default(), &body, Some(&old)).await?;
        self.label_tags(&mut body, MissingTag::Refuse).await?;
        self.update_asset(t, &old, body, actor.origin()).await
    }

    /// Stores `new` as the next state of `old`, an entity of type `t` that stays in its container.
    pub(crate) async fn update_asset(&self, t: &AssetType, old: &Value, new: Map<String, Value>, by: Origin<'_>) -> Result<Value> {
        let fqn = old["fullyQualifiedName"].as_str().unwrap_or_default();
        let parent = fqn::parent(fqn).filter(|_| !t.containers.is_empty());
        self.update(t.kind, old, new, parent, by).await
    }

    /// One page of an asset type, optionally only those under a container (any level): the
    /// view operations of `fields`, judged on that container when there is one.
    pub async fn list_assets(&self, actor: Actor<'_>, t: &'static AssetType, listing: &Listing<'_>, fields: Option<&str>) -> Result<Page> {
        let target = match listing.under {
            Some(container) => self.container_target(t, container).await?,
            None => Target::of_type(t.kind.name),
        };
        self.authorize(actor, &view_operations(t.kind.name, fields), &target).await?;
        let Some(container) = listing.under else { return self.list(t.kind, None, listing.include, listing.limit, listing.after, listing.before).await };
        crate::engine::check_limit(listing.limit)?;
        let page = self.store().list_entities_under(t.kind.name, container, listing.include, listing.limit, listing.after, listing.before).await?;
        let data = self.loaded_all(t.kind, &page.rows).await?;
        Ok(Page { data, before: page.before, after: page.after, total: page.total })
    }

    /// The container a list filter names, as the target its conditions read (none: type level).
    async fn container_target(&self, t: &AssetType, container: &str) -> Result<Target> {
        for (_, kind) in t.filters {
            if let Some(row) = self.store().entity_by_fqn(kind.name, container).await? {
                return Ok(Target::entity(t.kind.name, self.facts(kind, &self.entity_of(&row)?)));
            }
        }
        Ok(Target::of_type(t.kind.name))
    }

    /// The rows of the entities a container holds (at any depth), outermost first: by FQN, or
    /// for a team the teams below it. Entities of other type families may share the FQN prefix
    /// (a service and a classification both named `pii`): only the types this type contains
    /// count.
    async fn contents(&self, t: &AssetType, entity: &Value) -> Result<Vec<ferrometa_store::EntityRow>> {
        if t.kind.name == TEAM.name {
            return self.teams_below(vec![entity["id"].as_str().unwrap_or_default().to_string()]).await;
        }
        let types = t.content_types();
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default();
        Ok(self.store().descendants(fqn).await?.into_iter().filter(|r| types.contains(&r.entity_type.as_str())).collect())
    }

    /// DELETE: soft (a new version marked deleted) or hard (gone, with its history), needing
    /// `Delete` on the entity. A container with contents needs `recursive`, which deletes the
    /// contents the same way. Entities the system relies on (`allowDelete: false`, e.g. the
    /// seeded roles and policies) stay.
    pub async fn delete_asset(&self, actor: Actor<'_>, t: &'static AssetType, id: &str, hard: bool, recursive: bool) -> Result<Value> {
        let entity = self.get(t.kind, id, if hard { Include::All } else { Include::NonDeleted }).await?;
        self.authorize_change(actor, t.kind, &entity, &[Operation::Delete], &Map::new()).await?;
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        if entity["teamType"] == json!(crate::governance::ORGANIZATION) {
            return Err(bad("Organization team type can't be deleted"));
        }
        if entity["allowDelete"] == json!(false) {
            return Err(bad(format!("System entity [{}] of type {} can not be deleted.", shown(&fqn), t.kind.name)));
        }
        let contents = self.contents(t, &entity).await?;
        if !recursive && contents.iter().any(|row| hard || !row.deleted) {
            return Err(bad(format!("{} is not empty", t.kind.name)));
        }
        // Innermost first, so no container is ever left holding live contents.
        for row in contents.iter().rev() {
            let Some(child) = asset_type(&row.entity_type) else { continue };
            if hard {
                self.delete(child.kind, &row.id, true, actor.origin()).await?;
            } else if !row.deleted {
                self.delete(child.kind, &row.id, false, actor.origin()).await?;
            }
        }
        self.delete(t.kind, id, hard, actor.origin()).await
    }

    /// Restores a soft-deleted asset and the contents deleted with it (`EditAll` on it, as
    /// OpenMetadata); its containers must not be deleted.
    pub async fn restore_asset(&self, actor: Actor<'_>, t: &'static AssetType, id: &str) -> Result<Value> {
        let entity = self.get(t.kind, id, Include::All).await?;
        self.authorize_change(actor, t.kind, &entity, &[Operation::EditAll], &Map::new()).await?;
        self.restore_with_contents(t, &entity, actor.origin()).await
    }

    async fn restore_with_contents(&self, t: &'static AssetType, entity: &Value, by: Origin<'_>) -> Result<Value> {
        let id = entity["id"].as_str().unwrap_or_default();
        let fqn = entity["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        for &(field, container_kind) in t.containers {
            if entity[field]["deleted"] == json!(true) {
                let container_id = entity[field]["id"].as_str().unwrap_or_default();
                if self.get(container_kind, container_id, Include::Deleted).await.is_ok() {
                    return Err(bad(format!("Cannot restore {} {fqn}: its {field} is deleted; restore that first", t.kind.name)));
                }
            }
        }
        let restored = self.restore(t.kind, id, by).await?;
        for row in self.contents(t, entity).await? {
            if row.deleted && let Some(child) = asset_type(&row.entity_type) {
                self.restore(child.kind, &row.id, by).await?;
            }
        }
        Ok(restored)
    }

    /// Creates or refreshes the test-connection definitions of the database connectors (the
    /// client fetches `<ServiceType>.testConnectionDefinition` before every run). Their steps
    /// are the ones the 1.6 client's connectors implement (its `test_fn` tables).
    pub async fn seed_test_connection_definitions(&self) -> Result<()> {
        let seeds: Vec<Value> = serde_json::from_str(include_str!("seed/test_connections.json")).map_err(|e| CatalogError::Internal(format!("test connection seed: {e}")))?;
        for seed in seeds {
            let Value::Object(mut body) = seed else { continue };
            let name = body.remove("name").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let fqn = format!("{}.testConnectionDefinition", quote(&name));
            let draft = || Draft { kind: &TEST_CONNECTION_DEFINITION, name: name.clone(), fqn: fqn.clone(), parent_fqn: None, body: body.clone() };
            match self.create_or_update(draft(), Origin::SYSTEM).await {
                Ok(_) => {}
                // Another replica seeded it between our read and our insert.
                Err(CatalogError::AlreadyExists) => {
                    self.create_or_update(draft(), Origin::SYSTEM).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_get_fqns_and_are_checked() {
        let cols = json!([{"name": "id", "dataType": "INT", "constraint": "PRIMARY_KEY"},
                          {"name": "a.b", "dataType": "STRUCT", "children": [{"name": "x", "dataType": "STRING"}]}]);
        let out = normalize_columns("svc.db.sch.t", &cols, "columns").unwrap();
        assert_eq!(out[0]["fullyQualifiedName"], json!("svc.db.sch.t.id"));
        assert_eq!(out[1]["fullyQualifiedName"], json!("svc.db.sch.t.\"a.b\""));
        assert_eq!(out[1]["children"][0]["fullyQualifiedName"], json!("svc.db.sch.t.\"a.b\".x"));
        for bad_cols in [
            json!([{"name": "id", "dataType": "INTEGERISH"}]),
            json!([{"name": "id"}]),
            json!([{"name": "id", "dataType": "INT", "surprise": 1}]),
            json!([{"name": "id", "dataType": "INT"}, {"name": "ID", "dataType": "INT"}]),
            json!([{"name": "", "dataType": "INT"}]),
            json!([{"name": "id", "dataType": "INT", "constraint": "MAYBE"}]),
            json!([{"name": "id", "dataType": "INT", "dataLength": "long"}]),
            json!({"name": "id"}),
        ] {
            assert!(matches!(normalize_columns("t", &bad_cols, "columns"), Err(CatalogError::BadRequest(_))), "{bad_cols}");
        }
    }

    #[test]
    fn asset_types_are_the_registry_without_quality_and_governance_types() {
        let names: Vec<&str> = ASSET_TYPES.iter().map(|t| t.kind.name).collect();
        assert!(names.contains(&"table") && names.contains(&"searchIndex"), "{names:?}");
        for other in ["testDefinition", "testSuite", "testCase", "glossary", "glossaryTerm", "domain", "dataProduct", "team", "role", "policy", "classification", "tag"] {
            assert!(!names.contains(&other), "{other} is no data asset");
        }
    }

    #[test]
    fn table_versions_go_column_by_column() {
        let old = json!({"name": "t", "columns": [{"name": "id", "dataType": "INT"}, {"name": "note", "dataType": "VARCHAR", "dataLength": 20}]});
        let add = json!({"name": "t", "columns": [{"name": "id", "dataType": "INT"}, {"name": "note", "dataType": "VARCHAR", "dataLength": 20}, {"name": "extra", "dataType": "DATE"}]});
        let c = table_changes(&old, add.as_object().unwrap());
        assert!(!c.major);
        assert_eq!(c.added[0]["name"], json!("columns"));
        assert!(c.added[0]["newValue"].as_str().unwrap().contains("extra"));

        let removed = json!({"name": "t", "columns": [{"name": "id", "dataType": "INT"}]});
        let c = table_changes(&old, removed.as_object().unwrap());
        assert!(c.major);
        assert_eq!(c.deleted[0]["name"], json!("columns"));
        assert!(c.deleted[0]["oldValue"].as_str().unwrap().contains("note"));

        let retyped = json!({"name": "t", "columns": [{"name": "id", "dataType": "BIGINT"}, {"name": "note", "dataType": "VARCHAR", "dataLength": 20}]});
        let c = table_changes(&old, retyped.as_object().unwrap());
        assert!(c.major, "a new type is a removal and an addition");

        let shorter = json!({"name": "t", "columns": [{"name": "id", "dataType": "INT"}, {"name": "note", "dataType": "VARCHAR", "dataLength": 10}]});
        let c = table_changes(&old, shorter.as_object().unwrap());
        assert!(c.major);
        assert_eq!(c.updated[0]["name"], json!("columns.note.dataLength"));

        let described = json!({"name": "t", "columns": [{"name": "id", "dataType": "INT", "description": "key"}, {"name": "note", "dataType": "VARCHAR", "dataLength": 20}]});
        let c = table_changes(&old, described.as_object().unwrap());
        assert!(!c.major);
        assert_eq!(c.added[0]["name"], json!("columns.id.description"));

        assert!(table_changes(&old, old.as_object().unwrap()).is_empty());
    }
}
