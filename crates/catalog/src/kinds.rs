//! The entity types ferrometa serves.

use crate::engine::EntityKind;

pub static USER: EntityKind = EntityKind { name: "user", collection: "users", secondary_key: Some("email") };
pub static BOT: EntityKind = EntityKind { name: "bot", collection: "bots", secondary_key: None };
pub static ROLE: EntityKind = EntityKind { name: "role", collection: "roles", secondary_key: None };
pub static TEAM: EntityKind = EntityKind { name: "team", collection: "teams", secondary_key: None };
