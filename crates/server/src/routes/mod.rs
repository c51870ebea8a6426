//! Route handlers, one module per resource.

pub mod bots;
pub mod common;
pub mod system;
pub mod users;
