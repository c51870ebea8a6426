//! Fresh stores for tests: always SQLite, plus PostgreSQL when `FERROMETA_TEST_POSTGRES_URL`
//! points at a server (CI sets it; `CI=true` without it is an error, so PostgreSQL is never
//! skipped silently there).

use crate::{Backend, Store};

/// URL of an empty, newly created PostgreSQL database, or `None` outside CI without PostgreSQL.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(admin_url) = std::env::var("FERROMETA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").is_err(), "CI must set FERROMETA_TEST_POSTGRES_URL: the store suite runs on PostgreSQL too");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("ferrometa_test_{}_{}", std::process::id(), unique());
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("connect to FERROMETA_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create test database");
    admin.close().await;
    let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
    Some(format!("{base}/{name}"))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    crate::now_ms() as u64 * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

/// For tests of a data migration: a fresh database of each available backend, migrated only up
/// to `version`, then `seed` (SQL statements of that schema) run on it, then opened as a
/// [`Store`], which applies the later migrations.
pub async fn stores_seeded_at_version(version: i64, seed: &[&str]) -> Vec<(Store, Option<tempfile::TempDir>)> {
    async fn seeded(url: &str, backend: Backend, version: i64, seed: &[&str]) {
        let old = Store::connect(url, backend, 1, version).await.expect("open at an older version");
        for statement in seed {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(old.pool()).await.expect("seed statement");
        }
        old.pool().close().await;
    }
    let dir = tempfile::tempdir().expect("create temp dir");
    let path = dir.path().join("test.db");
    seeded(&format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite, version, seed).await;
    let mut stores = vec![(Store::open_sqlite(&path).await.expect("open sqlite"), Some(dir))];
    if let Some(url) = fresh_postgres_url().await {
        seeded(&url, Backend::Postgres, version, seed).await;
        stores.push((Store::open_postgres(&url).await.expect("open postgres"), None));
    }
    stores
}

/// A fresh store of each available backend, with the temp dir that holds the SQLite file.
pub async fn fresh_stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("create temp dir");
    let mut stores = vec![(Store::open_sqlite(&dir.path().join("test.db")).await.expect("open sqlite"), Some(dir))];
    if let Some(url) = fresh_postgres_url().await {
        let pg = Store::open_postgres(&url).await.expect("open postgres");
        assert_eq!(pg.backend(), Backend::Postgres);
        stores.push((pg, None));
    }
    stores
}
