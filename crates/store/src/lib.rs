//! Persistence for ferrometa. One migration set and one set of runtime queries serve SQLite
//! (embedded default, WAL) and PostgreSQL (production, several replicas) through sqlx's `Any`
//! driver. Only `TEXT` and `BIGINT` columns are used so both databases agree on every type.

mod audit;
mod counts;
mod entities;
mod extensions;
mod hierarchy;
mod lineage;
mod notify;
mod relations;
mod search;
mod security;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditCursor, AuditEvent, AuditPage, AuditQuery, AuditRecord, Origin, Outcome};
pub use entities::{EntityRow, Include, ListPage};
pub use extensions::SeriesEntry;
pub use lineage::{Direction, LineageEdge};
pub use relations::RelationSide;
pub use search::SearchHit;
pub use security::{BotTokenRow, PatRow};
pub use sessions::{LoginFlowRow, SessionRow};

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key (id, fully qualified name, email, ...) is taken.
    #[error("already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
        }
    }
}

impl StoreError {
    /// The database cannot be reached right now (down, restarting, no free connection): the
    /// request may succeed later, so it is answered 503, not 500.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else { return false };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (08…) and operator intervention (57P01 admin
            // shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || sqlite_unavailable(&c)),
            _ => false,
        }
    }
}

/// SQLite's (extended) result codes of a database that cannot be written now: BUSY (5),
/// READONLY (8), IOERR (10), FULL (13), CANTOPEN (14).
fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 8 | 10 | 13 | 14))
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL, for the connection that listens to notifications.
    url: Option<std::sync::Arc<str>>,
}

/// One step of a migration.
enum Step {
    /// The same SQL on both backends.
    Sql(&'static str),
    /// SQL that differs by backend (full-text search has no common dialect).
    PerBackend { sqlite: &'static str, postgres: &'static str },
    /// Writes the search document of every existing entity.
    IndexAllForSearch,
}

/// Every migration.
const LATEST: i64 = i64::MAX;

/// Migrations in order; each runs once, recorded in `schema_version`.
const MIGRATIONS: &[(i64, &[Step])] = &[
    (1, &[Step::Sql(include_str!("../migrations/0001_initial.sql"))]),
    (2, &[Step::Sql(include_str!("../migrations/0002_catalog_hierarchy_and_search.sql"))]),
    (3, &[Step::Sql(include_str!("../migrations/0003_sessions.sql"))]),
    (
        4,
        &[
            Step::PerBackend {
                sqlite: include_str!("../migrations/0004_full_text_search.sqlite.sql"),
                postgres: include_str!("../migrations/0004_full_text_search.postgres.sql"),
            },
            Step::IndexAllForSearch,
        ],
    ),
    (5, &[Step::Sql(include_str!("../migrations/0005_entity_counts.sql"))]),
    (6, &[Step::Sql(include_str!("../migrations/0006_entity_relations.sql"))]),
    (8, &[Step::Sql(include_str!("../migrations/0008_credential_generations.sql"))]),
    (9, &[Step::Sql(include_str!("../migrations/0009_audit_trail.sql"))]),
    (10, &[Step::Sql(include_str!("../migrations/0010_lineage.sql"))]),
    (11, &[Step::Sql(include_str!("../migrations/0011_profiles_and_settings.sql"))]),
];

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A read-only or full data directory is named at start-up instead of surfacing as SQLite's
/// "unable to open database file" and a pool time-out.
fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".ferrometa-write-check");
    std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe)).map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })
}

impl Store {
    /// Opens (creating if needed) an SQLite database file in WAL mode.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
            check_writable(dir)?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url, Backend::Sqlite, 4, LATEST).await
    }

    pub async fn open_postgres(url: &str) -> Result<Store> {
        Self::connect(url, Backend::Postgres, 10, LATEST).await
    }

    /// Connects and applies the migrations up to `up_to` (tests of a data migration stop
    /// earlier, write rows as an older schema had them, then open the store normally).
    pub(crate) async fn connect(url: &str, backend: Backend, max: u32, up_to: i64) -> Result<Store> {
        install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // In WAL mode NORMAL syncs at checkpoints instead of at every commit: a
                    // commit survives a crash of ferrometa, and a power loss may undo the last
                    // commits but never corrupts the file (SQLite's recommended WAL setting).
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let url = (backend == Backend::Postgres).then(|| std::sync::Arc::from(url));
        let store = Store { pool, backend, url };
        store.migrate(up_to).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (waiting for those in use): after it, the database files are no
    /// longer open (SQLite checkpoints its log).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies pending migrations inside one transaction each, on one connection: on
    /// PostgreSQL that connection holds an advisory lock, so replicas starting together apply
    /// each migration once (the lock is per session, so lock, work and unlock share it).
    async fn migrate(&self, up_to: i64) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock(72750)").execute(&mut *conn).await?;
        }
        let result = apply_pending(&mut conn, self.backend, up_to).await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(72750)").execute(&mut *conn).await?;
        }
        result
    }

    /// Round trip to the database, for the health check.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn get_setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn put_setting(&self, name: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn apply_pending(conn: &mut sqlx::AnyConnection, backend: Backend, up_to: i64) -> Result<()> {
    use sqlx::Connection;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&mut *conn)
        .await?;
    // Each migration not yet recorded runs, whatever its neighbours: migrations written on
    // parallel branches then apply in any landing order.
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_version")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    for (version, steps) in MIGRATIONS.iter().filter(|(v, _)| *v <= up_to && !applied.contains(v)) {
        let mut tx = conn.begin().await?;
        for step in *steps {
            let sql = match (step, backend) {
                (Step::Sql(sql), _) | (Step::PerBackend { sqlite: sql, .. }, Backend::Sqlite) | (Step::PerBackend { postgres: sql, .. }, Backend::Postgres) => sql,
                (Step::IndexAllForSearch, _) => {
                    search::index_all(&mut tx, backend).await?;
                    continue;
                }
            };
            for statement in without_comments(sql).split(';').map(str::trim).filter(|s| !s.is_empty() && !is_comment_only(s)) {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut *tx).await?;
            }
        }
        sqlx::query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

/// The SQL without its `--` comments, so a `;` in a comment never splits a statement.
fn without_comments(sql: &str) -> String {
    sql.lines().map(|l| l.find("--").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

fn is_comment_only(statement: &str) -> bool {
    statement.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_connections_use_wal_and_sync_at_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
        // Every pooled connection, not only the first: hold them all at once.
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(store.pool().acquire().await.unwrap());
        }
        for conn in &mut conns {
            let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(&mut **conn).await.unwrap().try_get(0).unwrap();
            let sync: i64 = sqlx::query("PRAGMA synchronous").fetch_one(&mut **conn).await.unwrap().try_get(0).unwrap();
            assert_eq!((mode.as_str(), sync), ("wal", 1), "journal mode and synchronous (1 = NORMAL) of each connection");
        }
    }
}
