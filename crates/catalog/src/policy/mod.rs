//! OpenMetadata's access control: operations, resources, policies with rules and conditions,
//! and the evaluation that decides a request and answers the permissions API. Pure logic; the
//! catalog's `access` module feeds it the caller's roles and teams and the entity at hand.

pub mod condition;
pub mod evaluate;
pub mod operation;
pub mod requests;
pub mod resources;
pub mod rules;

pub use condition::{Condition, ConditionError, FUNCTIONS, Function};
pub use evaluate::{Access, Denial, EntityFacts, Grant, Permission, Standing, Subject, Target, decide, permissions};
pub use operation::Operation;
pub use requests::{edit_operations, field_edit_operation, view_operations};
pub use resources::{ALL_RESOURCES, Resource, resource, resources};
pub use rules::{Effect, Policy, Rule, normalise_rules};
