//! Application operations that span the catalog and the auth service (a user's deletion ends
//! its credentials; a bot token is a credential of a catalog user). The API handlers and the
//! web pages both call these, or the catalog's own use cases, passing the caller; neither ever
//! calls the other.

pub mod query_filter;
pub mod search;
pub mod tokens;
pub mod users;
