//! The asset families beyond databases, one declaration per entity type (its collection and
//! name are its `EntityKind`): dashboard services with dashboards, charts and dashboard data
//! models; pipeline services with pipelines; messaging services with topics; ML model services
//! with ML models; storage services with containers; search services with search indexes.
//! Their fields and service types are the official client's (`crate::schema`, generated); the
//! generic asset operations give them OpenMetadata's REST semantics, routes, access checks
//! (the policy resource is the type's name), list filters, versions and search.

use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::data::{ASSET, AssetType, Reference, SERVICE, array_of, bad, integer_field, normalize_columns, one_of};
use crate::engine::Catalog;
use crate::error::Result;
use crate::fqn;
use crate::kinds::*;
use crate::policy::Operation;
use crate::schema::*;
use ferrometa_store::Include;

pub static DASHBOARD_SERVICES: AssetType = AssetType {
    kind: &DASHBOARD_SERVICE,
    create_fields: DASHBOARD_SERVICE_CREATE,
    required: DASHBOARD_SERVICE_REQUIRED,
    entity_fields: DASHBOARD_SERVICE_FIELDS,
    service_types: DASHBOARD_SERVICE_TYPES,
    search_index: Some("dashboard_service_search_index"),
    ..SERVICE
};

pub static DASHBOARDS: AssetType = AssetType {
    kind: &DASHBOARD,
    create_fields: DASHBOARD_CREATE,
    required: DASHBOARD_REQUIRED,
    entity_fields: DASHBOARD_FIELDS,
    containers: &[("service", &DASHBOARD_SERVICE)],
    references: &[Reference { field: "charts", kind: &CHART, by_name: true }, Reference { field: "dataModels", kind: &DASHBOARD_DATA_MODEL, by_name: true }],
    optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension", "charts", "dataModels", "usageSummary"],
    filters: &[("service", &DASHBOARD_SERVICE)],
    search_index: Some("dashboard_search_index"),
    ..ASSET
};

pub static CHARTS: AssetType = AssetType {
    kind: &CHART,
    create_fields: CHART_CREATE,
    required: CHART_REQUIRED,
    entity_fields: CHART_FIELDS,
    containers: &[("service", &DASHBOARD_SERVICE)],
    filters: &[("service", &DASHBOARD_SERVICE)],
    search_index: Some("chart_search_index"),
    ..ASSET
};

pub static DASHBOARD_DATA_MODELS: AssetType = AssetType {
    kind: &DASHBOARD_DATA_MODEL,
    create_fields: DASHBOARD_DATA_MODEL_CREATE,
    required: DASHBOARD_DATA_MODEL_REQUIRED,
    entity_fields: DASHBOARD_DATA_MODEL_FIELDS,
    containers: &[("service", &DASHBOARD_SERVICE)],
    check: Some(check_columns),
    filters: &[("service", &DASHBOARD_SERVICE)],
    search_index: Some("dashboard_data_model_search_index"),
    ..ASSET
};

pub static PIPELINE_SERVICES: AssetType = AssetType {
    kind: &PIPELINE_SERVICE,
    create_fields: PIPELINE_SERVICE_CREATE,
    required: PIPELINE_SERVICE_REQUIRED,
    entity_fields: PIPELINE_SERVICE_FIELDS,
    service_types: PIPELINE_SERVICE_TYPES,
    search_index: Some("pipeline_service_search_index"),
    ..SERVICE
};

pub static PIPELINES: AssetType = AssetType {
    kind: &PIPELINE,
    create_fields: PIPELINE_CREATE,
    required: PIPELINE_REQUIRED,
    entity_fields: PIPELINE_FIELDS,
    containers: &[("service", &PIPELINE_SERVICE)],
    optional_fields: &["owners", "tags", "followers", "votes", "domain", "dataProducts", "extension", "pipelineStatus"],
    filters: &[("service", &PIPELINE_SERVICE)],
    search_index: Some("pipeline_search_index"),
    ..ASSET
};

pub static MESSAGING_SERVICES: AssetType = AssetType {
    kind: &MESSAGING_SERVICE,
    create_fields: MESSAGING_SERVICE_CREATE,
    required: MESSAGING_SERVICE_REQUIRED,
    entity_fields: MESSAGING_SERVICE_FIELDS,
    service_types: MESSAGING_SERVICE_TYPES,
    search_index: Some("messaging_service_search_index"),
    ..SERVICE
};

pub static TOPICS: AssetType = AssetType {
    kind: &TOPIC,
    create_fields: TOPIC_CREATE,
    required: TOPIC_REQUIRED,
    entity_fields: TOPIC_FIELDS,
    containers: &[("service", &MESSAGING_SERVICE)],
    check: Some(check_topic),
    filters: &[("service", &MESSAGING_SERVICE)],
    search_index: Some("topic_search_index"),
    ..ASSET
};

pub static MLMODEL_SERVICES: AssetType = AssetType {
    kind: &MLMODEL_SERVICE,
    create_fields: MLMODEL_SERVICE_CREATE,
    required: MLMODEL_SERVICE_REQUIRED,
    entity_fields: MLMODEL_SERVICE_FIELDS,
    service_types: MLMODEL_SERVICE_TYPES,
    search_index: Some("mlmodel_service_search_index"),
    ..SERVICE
};

pub static MLMODELS: AssetType = AssetType {
    kind: &MLMODEL,
    create_fields: MLMODEL_CREATE,
    required: MLMODEL_REQUIRED,
    entity_fields: MLMODEL_FIELDS,
    containers: &[("service", &MLMODEL_SERVICE)],
    filters: &[("service", &MLMODEL_SERVICE)],
    search_index: Some("mlmodel_search_index"),
    ..ASSET
};

pub static STORAGE_SERVICES: AssetType = AssetType {
    kind: &STORAGE_SERVICE,
    create_fields: STORAGE_SERVICE_CREATE,
    required: STORAGE_SERVICE_REQUIRED,
    entity_fields: STORAGE_SERVICE_FIELDS,
    service_types: STORAGE_SERVICE_TYPES,
    search_index: Some("storage_service_search_index"),
    ..SERVICE
};

pub static CONTAINERS: AssetType = AssetType {
    kind: &CONTAINER,
    create_fields: CONTAINER_CREATE,
    required: CONTAINER_REQUIRED,
    entity_fields: CONTAINER_FIELDS,
    containers: &[("service", &STORAGE_SERVICE)],
    check: Some(check_container),
    filters: &[("service", &STORAGE_SERVICE)],
    search_index: Some("container_search_index"),
    ..ASSET
};

pub static SEARCH_SERVICES: AssetType = AssetType {
    kind: &SEARCH_SERVICE,
    create_fields: SEARCH_SERVICE_CREATE,
    required: SEARCH_SERVICE_REQUIRED,
    entity_fields: SEARCH_SERVICE_FIELDS,
    service_types: SEARCH_SERVICE_TYPES,
    search_index: Some("search_service_search_index"),
    ..SERVICE
};

pub static SEARCH_INDEXES: AssetType = AssetType {
    kind: &SEARCH_INDEX,
    create_fields: SEARCH_INDEX_CREATE,
    required: SEARCH_INDEX_REQUIRED,
    entity_fields: SEARCH_INDEX_FIELDS,
    containers: &[("service", &SEARCH_SERVICE)],
    filters: &[("service", &SEARCH_SERVICE)],
    search_index: Some("search_entity_search_index"),
    ..ASSET
};

/// A data model's columns get their FQNs and are checked as a table's.
fn check_columns(fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    if let Some(columns) = body.get("columns") {
        let columns = normalize_columns(fqn, columns, "columns")?;
        body.insert("columns".into(), columns);
    }
    Ok(())
}

fn check_topic(_fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    integer_field("partitions", body.get("partitions").unwrap_or(&Value::Null))
}

/// Nested containers (`parent`) would need their FQN under the parent's: not served yet.
fn check_container(fqn: &str, body: &mut Map<String, Value>) -> Result<()> {
    if body.contains_key("parent") {
        return Err(bad("containers inside containers (parent) are not supported yet"));
    }
    check_columns(fqn, body)
}

/// OpenMetadata's `StatusType` of a pipeline run and of its tasks.
const RUN_STATUSES: &[&str] = &["Successful", "Failed", "Pending", "Skipped"];

/// A `PipelineStatus`: when the run was (`timestamp`, ms) and how it went, task by task.
fn check_pipeline_status(status: &Value) -> Result<()> {
    let obj = status.as_object().ok_or_else(|| bad("the pipeline status must be an object"))?;
    crate::data::known_fields("PipelineStatus", obj, &["executionStatus", "taskStatus", "timestamp", "executionId", "endTime", "version"])?;
    integer_field("timestamp", obj.get("timestamp").unwrap_or(&Value::Null))?;
    one_of("executionStatus", obj.get("executionStatus").unwrap_or(&Value::Null), RUN_STATUSES)?;
    for task in obj.get("taskStatus").filter(|v| !v.is_null()).map(|v| array_of("taskStatus", v)).transpose()?.into_iter().flatten() {
        one_of("taskStatus.executionStatus", &task["executionStatus"], RUN_STATUSES)?;
    }
    Ok(())
}

impl Catalog {
    /// `PUT /pipelines/{fqn}/status`: records a run of a pipeline (`EditStatus` on it). Its
    /// `pipelineStatus` is the latest run; a run is not a version of the pipeline.
    pub async fn put_pipeline_status(&self, actor: Actor<'_>, pipeline_fqn: &str, mut status: Value) -> Result<Value> {
        let old = self.get_by_name(&PIPELINE, pipeline_fqn, Include::NonDeleted).await?;
        self.authorize_change(actor, &PIPELINE, &old, &[Operation::EditStatus], &Map::new()).await?;
        check_pipeline_status(&status)?;
        // The client sends every field of its model, unset ones as nulls.
        if let Some(obj) = status.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        if old["pipelineStatus"]["timestamp"].as_i64() > status["timestamp"].as_i64() {
            return Ok(old);
        }
        let mut new = old.as_object().cloned().unwrap_or_default();
        new.insert("pipelineStatus".into(), json!(status));
        let fqn = old["fullyQualifiedName"].as_str().unwrap_or_default().to_string();
        self.update(&PIPELINE, &old, new, fqn::parent(&fqn), actor.origin()).await
    }
}
