//! The catalog: OpenMetadata entities (users, bots, teams, roles, policies, tags, data assets,
//! ...) with their JSON shapes, FQNs, versions and JSON Patch, over the store. No HTTP and no
//! token logic in here.

pub mod data;
pub mod email;
pub mod engine;
pub mod error;
pub mod fqn;
pub mod governance;
pub mod kinds;
pub mod relations;
pub mod secrets;
pub mod users;

pub use engine::{Catalog, Changes, Draft, EntityKind, Page, SecretCipher};
pub use error::{CatalogError, Result};
