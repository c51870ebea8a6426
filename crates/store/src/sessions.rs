//! Browser sign-in state shared by every replica: started sign-ins (`login_flows`) and browser
//! sessions (`browser_sessions`). Secrets are stored as hashes or ciphertext by the caller.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{AuditRecord, Result, Store};

/// A started sign-in (state, nonce and PKCE verifier), consumed by its callback.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginFlowRow {
    pub state_hash: String,
    pub browser_hash: String,
    pub nonce: String,
    pub code_verifier: String,
    pub return_to: String,
    pub expires_at: i64,
}

/// A browser session; times are epoch ms.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub id_hash: String,
    /// `sso` or `basic`.
    pub kind: String,
    pub user_id: String,
    pub user_name: String,
    /// The identity provider's `sub` (SSO) or the user name (basic).
    pub subject: String,
    pub csrf_token: String,
    pub token_ciphertext: String,
    pub token_expires_at: i64,
    /// Empty when there is no refresh token.
    pub refresh_ciphertext: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub refresh_lock_until: i64,
}

const SESSION_COLUMNS: &str = "id_hash, kind, user_id, user_name, subject, csrf_token, token_ciphertext, token_expires_at, refresh_ciphertext, created_at, last_seen_at, refresh_lock_until";

fn session_from_row(r: &AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.try_get(0)?,
        kind: r.try_get(1)?,
        user_id: r.try_get(2)?,
        user_name: r.try_get(3)?,
        subject: r.try_get(4)?,
        csrf_token: r.try_get(5)?,
        token_ciphertext: r.try_get(6)?,
        token_expires_at: r.try_get(7)?,
        refresh_ciphertext: r.try_get(8)?,
        created_at: r.try_get(9)?,
        last_seen_at: r.try_get(10)?,
        refresh_lock_until: r.try_get(11)?,
    })
}

impl Store {
    // --- started sign-ins ---

    pub async fn insert_login_flow(&self, f: &LoginFlowRow) -> Result<()> {
        sqlx::query("INSERT INTO login_flows (state_hash, browser_hash, nonce, code_verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&f.state_hash)
            .bind(&f.browser_hash)
            .bind(&f.nonce)
            .bind(&f.code_verifier)
            .bind(&f.return_to)
            .bind(f.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes and returns a started sign-in: a `state` works once, on any replica.
    pub async fn take_login_flow(&self, state_hash: &str) -> Result<Option<LoginFlowRow>> {
        let row = sqlx::query("DELETE FROM login_flows WHERE state_hash = $1 RETURNING state_hash, browser_hash, nonce, code_verifier, return_to, expires_at")
            .bind(state_hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(LoginFlowRow {
                state_hash: r.try_get(0)?,
                browser_hash: r.try_get(1)?,
                nonce: r.try_get(2)?,
                code_verifier: r.try_get(3)?,
                return_to: r.try_get(4)?,
                expires_at: r.try_get(5)?,
            })
        })
        .transpose()
    }

    pub async fn delete_expired_login_flows(&self, now: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_flows WHERE expires_at < $1").bind(now).execute(self.pool()).await?;
        Ok(())
    }

    // --- browser sessions ---

    /// Stores a session, with the audit event of its start (if any).
    pub async fn insert_session(&self, s: &SessionRow, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query(
            "INSERT INTO browser_sessions (id_hash, kind, user_id, user_name, subject, csrf_token, token_ciphertext, token_expires_at, refresh_ciphertext, created_at, last_seen_at, refresh_lock_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&s.id_hash)
        .bind(&s.kind)
        .bind(&s.user_id)
        .bind(&s.user_name)
        .bind(&s.subject)
        .bind(&s.csrf_token)
        .bind(&s.token_ciphertext)
        .bind(s.token_expires_at)
        .bind(&s.refresh_ciphertext)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.refresh_lock_until)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM browser_sessions WHERE id_hash = $1")))
            .bind(id_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE browser_sessions SET last_seen_at = $1 WHERE id_hash = $2").bind(now).bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Takes the refresh lease of a session if nobody holds it: one refresh per session at a
    /// time across replicas. Returns whether this caller got it.
    pub async fn claim_session_refresh(&self, id_hash: &str, now: i64, until: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE browser_sessions SET refresh_lock_until = $1 WHERE id_hash = $2 AND refresh_lock_until < $3")
            .bind(until)
            .bind(id_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores refreshed tokens and releases the refresh lease.
    pub async fn update_session_tokens(&self, id_hash: &str, token_ciphertext: &str, token_expires_at: i64, refresh_ciphertext: &str) -> Result<()> {
        sqlx::query("UPDATE browser_sessions SET token_ciphertext = $1, token_expires_at = $2, refresh_ciphertext = $3, refresh_lock_until = 0 WHERE id_hash = $4")
            .bind(token_ciphertext)
            .bind(token_expires_at)
            .bind(refresh_ciphertext)
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn release_session_refresh(&self, id_hash: &str) -> Result<()> {
        sqlx::query("UPDATE browser_sessions SET refresh_lock_until = 0 WHERE id_hash = $1").bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Deletes a session and returns it (for revoking its tokens), with the audit event of its
    /// end (if any; recorded only when the session existed).
    pub async fn delete_session(&self, id_hash: &str, audit: Option<&AuditRecord>) -> Result<Option<SessionRow>> {
        let mut w = self.begin_write(audit).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM browser_sessions WHERE id_hash = $1 RETURNING {SESSION_COLUMNS}")))
            .bind(id_hash)
            .fetch_optional(&mut *w.tx)
            .await?;
        w.finish(row.is_some()).await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Ends every session of a user (sign out everywhere, deletion), with the audit event of
    /// their end (if any; recorded only when there was one); returns how many.
    pub async fn delete_sessions_of(&self, user_id: &str, audit: Option<&AuditRecord>) -> Result<u64> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("DELETE FROM browser_sessions WHERE user_id = $1").bind(user_id).execute(&mut *w.tx).await?;
        w.finish(done.rows_affected() > 0).await?;
        Ok(done.rows_affected())
    }

    /// Purges sessions idle since `idle_before` or created before `created_before`.
    pub async fn delete_stale_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM browser_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn count_sessions_of(&self, user_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM browser_sessions WHERE user_id = $1").bind(user_id).fetch_one(self.pool()).await?;
        Ok(row.try_get(0)?)
    }
}
