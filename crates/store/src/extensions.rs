//! Documents kept beside entities: system settings by name, per-entity extensions (sample data,
//! profiler configuration) and time series (profiles) keyed by the FQN of what they measure.
//! A hard delete of an entity removes its extensions and the series under its FQN.

use sqlx::Row;

use crate::entities::fqn_key;
use crate::{Result, Store};

/// One entry of a time series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesEntry {
    pub fqn: String,
    pub extension: &'static str,
    pub ts: i64,
    /// Tells apart entries of one timestamp ("" when there is one per timestamp).
    pub part: String,
    pub json: String,
}

impl Store {
    pub async fn system_setting(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT json FROM system_settings WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn put_system_setting(&self, name: &str, json: &str) -> Result<()> {
        sqlx::query("INSERT INTO system_settings (name, json) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET json = excluded.json").bind(name).bind(json).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn entity_extension(&self, id: &str, extension: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT json FROM entity_extensions WHERE id = $1 AND extension = $2").bind(id).bind(extension).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Stores an extension of a live entity (false, nothing stored, when it is missing or
    /// deleted: the check and the write are one statement).
    pub async fn put_entity_extension(&self, id: &str, extension: &str, json: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO entity_extensions (id, extension, json) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM entities WHERE id = $1 AND deleted = 0) \
             ON CONFLICT (id, extension) DO UPDATE SET json = excluded.json",
        )
        .bind(id)
        .bind(extension)
        .bind(json)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_entity_extension(&self, id: &str, extension: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM entity_extensions WHERE id = $1 AND extension = $2").bind(id).bind(extension).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds entries (an entry of the same key, timestamp and part replaces the old one), in one
    /// transaction, and drops the entries of these keys older than `keep_after` (retention).
    pub async fn put_series(&self, entries: &[SeriesEntry], keep_after: Option<i64>) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO entity_time_series (fqn_key, extension, ts, part, json) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (fqn_key, extension, ts, part) DO UPDATE SET json = excluded.json",
            )
            .bind(fqn_key(&e.fqn))
            .bind(e.extension)
            .bind(e.ts)
            .bind(&e.part)
            .bind(&e.json)
            .execute(&mut *tx)
            .await?;
            if let Some(limit) = keep_after {
                sqlx::query("DELETE FROM entity_time_series WHERE fqn_key = $1 AND extension = $2 AND ts < $3").bind(fqn_key(&e.fqn)).bind(e.extension).bind(limit).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The entries of one key and extension with `start <= ts <= end`, newest first.
    pub async fn series(&self, fqn: &str, extension: &str, start: i64, end: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT json FROM entity_time_series WHERE fqn_key = $1 AND extension = $2 AND ts >= $3 AND ts <= $4 ORDER BY ts DESC, part")
            .bind(fqn_key(fqn))
            .bind(extension)
            .bind(start)
            .bind(end)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The entries of one extension at one timestamp, of every key (a day's usage of every
    /// table, to rank them).
    pub async fn series_at(&self, extension: &str, ts: i64) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT json FROM entity_time_series WHERE extension = $1 AND ts = $2 ORDER BY fqn_key, part").bind(extension).bind(ts).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The newest entry of one key and extension.
    pub async fn latest_in_series(&self, fqn: &str, extension: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT json FROM entity_time_series WHERE fqn_key = $1 AND extension = $2 ORDER BY ts DESC, part LIMIT 1")
            .bind(fqn_key(fqn))
            .bind(extension)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Removes the entries of one key and extension at one timestamp; how many went.
    pub async fn delete_series_at(&self, fqn: &str, extension: &str, ts: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM entity_time_series WHERE fqn_key = $1 AND extension = $2 AND ts = $3").bind(fqn_key(fqn)).bind(extension).bind(ts).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
