//! The catalog: OpenMetadata entities (users, bots, teams, roles, policies, tags, data assets,
//! ...) with their JSON shapes, FQNs, versions and JSON Patch, over the store. No HTTP and no
//! token logic in here.

pub mod access;
pub mod audit;
pub mod data;
pub mod domains;
pub mod email;
pub mod engine;
pub mod error;
pub mod families;
pub mod follows;
pub mod fqn;
pub mod glossary;
pub mod governance;
pub mod kinds;
pub mod lineage;
pub mod policy;
pub mod profiles;
pub mod quality;
mod reads;
pub mod relations;
mod schema;
pub mod secrets;
pub mod usage;
pub mod users;

pub use access::Key;
pub use audit::Actor;
pub use engine::{Catalog, Changes, Draft, EntityKind, Listing, Page, SecretCipher};
pub use policy::Subject;
pub use error::{CatalogError, Result};
