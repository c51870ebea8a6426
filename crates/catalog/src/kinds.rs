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

// Governance (see `crate::governance`).
pub static POLICY: EntityKind = EntityKind { name: "policy", collection: "policies", secondary_key: None, differ: None };
pub static CLASSIFICATION: EntityKind = EntityKind { name: "classification", collection: "classifications", secondary_key: None, differ: None };
pub static TAG: EntityKind = EntityKind { name: "tag", collection: "tags", secondary_key: None, differ: None };

/// Every entity type, for lookups by OpenMetadata's type name.
pub static KINDS: &[&EntityKind] = &[&USER, &BOT, &ROLE, &TEAM, &DATABASE_SERVICE, &DATABASE, &DATABASE_SCHEMA, &TABLE, &STORED_PROCEDURE, &TEST_CONNECTION_DEFINITION, &POLICY, &CLASSIFICATION, &TAG];

/// The entity type of this name (`table`, `databaseService`, ...).
pub fn kind_named(name: &str) -> Option<&'static EntityKind> {
    KINDS.iter().copied().find(|k| k.name.eq_ignore_ascii_case(name))
}
