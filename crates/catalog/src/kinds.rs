//! The entity types ferrometa serves.

use crate::engine::EntityKind;

pub static USER: EntityKind = EntityKind { name: "user", collection: "users", secondary_key: Some("email"), differ: None };
pub static BOT: EntityKind = EntityKind { name: "bot", collection: "bots", secondary_key: None, differ: None };
pub static ROLE: EntityKind = EntityKind { name: "role", collection: "roles", secondary_key: None, differ: None };
pub static TEAM: EntityKind = EntityKind { name: "team", collection: "teams", secondary_key: None, differ: None };

// Data assets (see `crate::data`).
pub static DATABASE_SERVICE: EntityKind = EntityKind { name: "databaseService", collection: "services/databaseServices", secondary_key: None, differ: None };
pub static DATABASE: EntityKind = EntityKind { name: "database", collection: "databases", secondary_key: None, differ: None };
pub static DATABASE_SCHEMA: EntityKind = EntityKind { name: "databaseSchema", collection: "databaseSchemas", secondary_key: None, differ: None };
pub static TABLE: EntityKind = EntityKind { name: "table", collection: "tables", secondary_key: None, differ: Some(crate::data::table_changes) };
pub static STORED_PROCEDURE: EntityKind = EntityKind { name: "storedProcedure", collection: "storedProcedures", secondary_key: None, differ: None };
pub static TEST_CONNECTION_DEFINITION: EntityKind =
    EntityKind { name: "testConnectionDefinition", collection: "services/testConnectionDefinitions", secondary_key: None, differ: None };

// The other asset families (see `crate::families`).
pub static DASHBOARD_SERVICE: EntityKind = EntityKind { name: "dashboardService", collection: "services/dashboardServices", secondary_key: None, differ: None };
pub static DASHBOARD: EntityKind = EntityKind { name: "dashboard", collection: "dashboards", secondary_key: None, differ: None };
pub static CHART: EntityKind = EntityKind { name: "chart", collection: "charts", secondary_key: None, differ: None };
pub static DASHBOARD_DATA_MODEL: EntityKind = EntityKind { name: "dashboardDataModel", collection: "dashboard/datamodels", secondary_key: None, differ: None };
pub static PIPELINE_SERVICE: EntityKind = EntityKind { name: "pipelineService", collection: "services/pipelineServices", secondary_key: None, differ: None };
pub static PIPELINE: EntityKind = EntityKind { name: "pipeline", collection: "pipelines", secondary_key: None, differ: None };
pub static MESSAGING_SERVICE: EntityKind = EntityKind { name: "messagingService", collection: "services/messagingServices", secondary_key: None, differ: None };
pub static TOPIC: EntityKind = EntityKind { name: "topic", collection: "topics", secondary_key: None, differ: None };
pub static MLMODEL_SERVICE: EntityKind = EntityKind { name: "mlmodelService", collection: "services/mlmodelServices", secondary_key: None, differ: None };
pub static MLMODEL: EntityKind = EntityKind { name: "mlmodel", collection: "mlmodels", secondary_key: None, differ: None };
pub static STORAGE_SERVICE: EntityKind = EntityKind { name: "storageService", collection: "services/storageServices", secondary_key: None, differ: None };
pub static CONTAINER: EntityKind = EntityKind { name: "container", collection: "containers", secondary_key: None, differ: None };
pub static SEARCH_SERVICE: EntityKind = EntityKind { name: "searchService", collection: "services/searchServices", secondary_key: None, differ: None };
pub static SEARCH_INDEX: EntityKind = EntityKind { name: "searchIndex", collection: "searchIndexes", secondary_key: None, differ: None };

// Glossaries (see `crate::glossary`).
pub static GLOSSARY: EntityKind = EntityKind { name: "glossary", collection: "glossaries", secondary_key: None, differ: None };
pub static GLOSSARY_TERM: EntityKind = EntityKind { name: "glossaryTerm", collection: "glossaryTerms", secondary_key: None, differ: None };

// Domains (see `crate::domains`).
pub static DOMAIN: EntityKind = EntityKind { name: "domain", collection: "domains", secondary_key: None, differ: None };
pub static DATA_PRODUCT: EntityKind = EntityKind { name: "dataProduct", collection: "dataProducts", secondary_key: None, differ: None };

// Usage (see `crate::usage`).
pub static QUERY: EntityKind = EntityKind { name: "query", collection: "queries", secondary_key: None, differ: None };

// Data quality (see `crate::quality`).
pub static TEST_DEFINITION: EntityKind = EntityKind { name: "testDefinition", collection: "dataQuality/testDefinitions", secondary_key: None, differ: None };
pub static TEST_SUITE: EntityKind = EntityKind { name: "testSuite", collection: "dataQuality/testSuites", secondary_key: None, differ: None };
pub static TEST_CASE: EntityKind = EntityKind { name: "testCase", collection: "dataQuality/testCases", secondary_key: None, differ: None };

// Governance (see `crate::governance`).
pub static POLICY: EntityKind = EntityKind { name: "policy", collection: "policies", secondary_key: None, differ: None };
pub static CLASSIFICATION: EntityKind = EntityKind { name: "classification", collection: "classifications", secondary_key: None, differ: None };
pub static TAG: EntityKind = EntityKind { name: "tag", collection: "tags", secondary_key: None, differ: None };

/// Every entity type, for lookups by OpenMetadata's type name.
pub static KINDS: &[&EntityKind] = &[
    &USER, &BOT, &ROLE, &TEAM, &DATABASE_SERVICE, &DATABASE, &DATABASE_SCHEMA, &TABLE, &STORED_PROCEDURE, &TEST_CONNECTION_DEFINITION, &DASHBOARD_SERVICE, &DASHBOARD, &CHART,
    &DASHBOARD_DATA_MODEL, &PIPELINE_SERVICE, &PIPELINE, &MESSAGING_SERVICE, &TOPIC, &MLMODEL_SERVICE, &MLMODEL, &STORAGE_SERVICE, &CONTAINER, &SEARCH_SERVICE, &SEARCH_INDEX,
    &GLOSSARY, &GLOSSARY_TERM, &DOMAIN, &DATA_PRODUCT, &QUERY, &TEST_DEFINITION, &TEST_SUITE, &TEST_CASE, &POLICY, &CLASSIFICATION, &TAG,
];

/// The entity type of this name (`table`, `databaseService`, ...).
pub fn kind_named(name: &str) -> Option<&'static EntityKind> {
    KINDS.iter().copied().find(|k| k.name.eq_ignore_ascii_case(name))
}
