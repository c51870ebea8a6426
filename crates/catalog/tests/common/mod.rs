//! Fixtures shared by the catalog tests: a catalog on each backend and the callers acting on it.

#![allow(dead_code)]

use ferrometa_catalog::users::CreateUser;
use ferrometa_catalog::{Catalog, Subject};
use ferrometa_store::Origin;
use ferrometa_store::testing::fresh_stores;

/// Runs `test` on a fresh catalog over SQLite and, when the suite has it, PostgreSQL.
pub async fn each_catalog(test: impl AsyncFn(&Catalog)) {
    for (store, _dir) in fresh_stores().await {
        test(&Catalog::new(store, "http://localhost:8585/")).await;
    }
}

/// A caller backed by the user of that name, created on first use (an admin when `admin`).
pub async fn caller(c: &Catalog, name: &str, admin: bool) -> Subject {
    let user = match c.user_by_name(name).await.expect("read the caller's user") {
        Some(user) => user,
        None => {
            let req = CreateUser { name: name.into(), email: format!("{name}@open-metadata.org"), is_admin: Some(admin), ..Default::default() };
            c.create_user(&req, Origin::SYSTEM).await.expect("create the caller's user")
        }
    };
    c.subject(&user).expect("a live user")
}

/// An admin caller named `name`.
pub async fn admin(c: &Catalog, name: &str) -> Subject {
    caller(c, name, true).await
}

/// A change by `name`, outside any request.
pub fn by(name: &str) -> Origin<'_> {
    Origin { actor: name, client: None }
}
