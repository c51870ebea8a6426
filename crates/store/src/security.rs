//! Security state that every replica must agree on: refresh tokens, failed-login counters,
//! the logout denylist, bot tokens and personal access tokens. Tokens are stored as hashes
//! (the bot token also as ciphertext, so that an admin can read it back as in OpenMetadata).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{AuditRecord, Result, Store, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct BotTokenRow {
    pub user_id: String,
    pub token_hash: String,
    pub token_ciphertext: String,
    /// `JWTTokenExpiry` value (`OneHour`, `7`, `Unlimited`, ...).
    pub expiry: String,
    /// Epoch ms, `None` for Unlimited.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatRow {
    pub id: String,
    pub user_id: String,
    pub token_name: String,
    pub token_hash: String,
    pub expires_at: i64,
    pub created_at: i64,
}

fn pat_from_row(r: &AnyRow) -> Result<PatRow> {
    Ok(PatRow {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        token_name: r.try_get(2)?,
        token_hash: r.try_get(3)?,
        expires_at: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

impl Store {
    // --- refresh tokens (basic auth) ---

    /// Stores a refresh token's hash, with the audit event of the session it starts (if any).
    pub async fn insert_refresh_token(&self, token_hash: &str, user_id: &str, expires_at: i64, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// Removes and returns (user_id, expires_at) of a refresh token: each token is used once.
    pub async fn take_refresh_token(&self, token_hash: &str) -> Result<Option<(String, i64)>> {
        let row = sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = $1 RETURNING user_id, expires_at")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
    }

    pub async fn delete_refresh_tokens_of(&self, user_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1").bind(user_id).execute(self.pool()).await?;
        Ok(())
    }

    // --- failed logins ---

    /// Claims one login attempt for an email before its password is checked: granted while
    /// fewer than `max` (≥ 1, see the config) attempts were claimed within `window_ms`. One
    /// statement counts and decides, so parallel requests on any replica cannot all pass. A
    /// granted claim restarts the window (expire-after-write) and stays counted unless the login
    /// succeeds; a refused one changes nothing, so it never extends a block. `failures` counts
    /// claimed attempts, in flight or failed.
    pub async fn claim_login_attempt(&self, email_key: &str, max: i64, window_ms: i64) -> Result<bool> {
        // A DO UPDATE whose WHERE is false returns no row, on SQLite as on PostgreSQL (which
        // re-checks the WHERE against the row it locked, so concurrent claims serialise).
        let row = sqlx::query(
            "INSERT INTO login_failures (email_key, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (email_key) DO UPDATE SET \
               failures = CASE WHEN login_failures.last_failure_at + $3 > $2 THEN login_failures.failures + 1 ELSE 1 END, \
               last_failure_at = $2 \
             WHERE login_failures.last_failure_at + $3 <= $2 OR login_failures.failures < $4 \
             RETURNING failures",
        )
        .bind(email_key)
        .bind(now_ms())
        .bind(window_ms)
        .bind(max)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Forgets the claimed attempts of an email, with the audit event of the successful
    /// sign-in that ends them (if any).
    pub async fn clear_login_failures(&self, email_key: &str, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query("DELETE FROM login_failures WHERE email_key = $1").bind(email_key).execute(&mut *w.tx).await?;
        w.commit().await
    }

    // --- credential generations ---

    /// A user's credential generation and when it last moved (epoch ms); (0, 0) for a user
    /// never deleted.
    pub async fn credential_generation(&self, user_name: &str) -> Result<(i64, i64)> {
        let row = sqlx::query("SELECT generation, revoked_at FROM credential_generations WHERE user_name = $1")
            .bind(user_name.to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, 0),
        })
    }

    /// Moves a user's credential generation on (when the user is deleted); returns the new one.
    pub async fn advance_credential_generation(&self, user_name: &str) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO credential_generations (user_name, generation, revoked_at) VALUES ($1, 1, $2) \
             ON CONFLICT (user_name) DO UPDATE SET generation = credential_generations.generation + 1, revoked_at = $2 \
             RETURNING generation",
        )
        .bind(user_name.to_lowercase())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get(0)?)
    }

    // --- logout denylist ---

    /// Denies a token until it expires, with the audit event of the session it ends (if any;
    /// recorded only when the token was not denied already).
    pub async fn revoke_token(&self, token_hash: &str, expires_at: i64, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("INSERT INTO revoked_tokens (token_hash, expires_at) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING")
            .bind(token_hash)
            .bind(expires_at)
            .execute(&mut *w.tx)
            .await?;
        w.finish(done.rows_affected() > 0).await?;
        // Expired entries can go: the token's own exp already refuses it.
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1").bind(now_ms()).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn is_token_revoked(&self, token_hash: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM revoked_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(self.pool()).await?;
        Ok(row.is_some())
    }

    // --- bot tokens ---

    /// Stores a bot's one valid token, with the audit event of its generation (if any).
    pub async fn put_bot_token(&self, t: &BotTokenRow, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query(
            "INSERT INTO bot_tokens (user_id, token_hash, token_ciphertext, expiry, expires_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, token_ciphertext = excluded.token_ciphertext, \
             expiry = excluded.expiry, expires_at = excluded.expires_at",
        )
        .bind(&t.user_id)
        .bind(&t.token_hash)
        .bind(&t.token_ciphertext)
        .bind(&t.expiry)
        .bind(t.expires_at)
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    pub async fn bot_token(&self, user_id: &str) -> Result<Option<BotTokenRow>> {
        let row = sqlx::query("SELECT user_id, token_hash, token_ciphertext, expiry, expires_at FROM bot_tokens WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(BotTokenRow {
                user_id: r.try_get(0)?,
                token_hash: r.try_get(1)?,
                token_ciphertext: r.try_get(2)?,
                expiry: r.try_get(3)?,
                expires_at: r.try_get(4)?,
            })
        })
        .transpose()
    }

    /// The bot token row whose hash this is: only a bot's current token has one.
    pub async fn bot_token_by_hash(&self, token_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT user_id FROM bot_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Deletes a bot's token, with the audit event of its revocation (if any); false (and
    /// nothing recorded) when the bot had none.
    pub async fn delete_bot_token(&self, user_id: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("DELETE FROM bot_tokens WHERE user_id = $1").bind(user_id).execute(&mut *w.tx).await?;
        w.finish(done.rows_affected() > 0).await
    }

    // --- personal access tokens ---

    /// Stores a personal access token's hash, with the audit event of its creation (if any).
    pub async fn insert_pat(&self, p: &PatRow, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query("INSERT INTO personal_access_tokens (id, user_id, token_name, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&p.id)
            .bind(&p.user_id)
            .bind(&p.token_name)
            .bind(&p.token_hash)
            .bind(p.expires_at)
            .bind(p.created_at)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    pub async fn pats_of(&self, user_id: &str) -> Result<Vec<PatRow>> {
        let rows = sqlx::query("SELECT id, user_id, token_name, token_hash, expires_at, created_at FROM personal_access_tokens WHERE user_id = $1 ORDER BY created_at")
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(pat_from_row).collect()
    }

    pub async fn pat_exists(&self, token_hash: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM personal_access_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(self.pool()).await?;
        Ok(row.is_some())
    }

    /// Deletes one token of a user, with the audit event of its revocation (if any); false
    /// (and nothing recorded) when there is no such token.
    pub async fn delete_pat(&self, user_id: &str, id: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("DELETE FROM personal_access_tokens WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.finish(done.rows_affected() > 0).await
    }

    /// Deletes every token of a user, with the audit event of their revocation (if any); false
    /// (and nothing recorded) when there were none.
    pub async fn delete_pats_of(&self, user_id: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("DELETE FROM personal_access_tokens WHERE user_id = $1").bind(user_id).execute(&mut *w.tx).await?;
        w.finish(done.rows_affected() > 0).await
    }
}

impl Store {
    pub async fn password_hash(&self, user_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM credentials WHERE user_id = $1").bind(user_id).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Stores a user's password hash, with the audit event of the change (if any).
    pub async fn put_password_hash(&self, user_id: &str, hash: &str, audit: Option<&AuditRecord>) -> Result<()> {
        let mut w = self.begin_write(audit).await?;
        sqlx::query(
            "INSERT INTO credentials (user_id, password_hash, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now_ms())
        .execute(&mut *w.tx)
        .await?;
        w.commit().await
    }

    /// Removes a user's password, with the audit event of the removal (if any); false (and
    /// nothing recorded) when the user had none.
    pub async fn delete_password_hash(&self, user_id: &str, audit: Option<&AuditRecord>) -> Result<bool> {
        let mut w = self.begin_write(audit).await?;
        let done = sqlx::query("DELETE FROM credentials WHERE user_id = $1").bind(user_id).execute(&mut *w.tx).await?;
        w.finish(done.rows_affected() > 0).await
    }

    /// Ids of every user that still holds a password (the startup warning with SSO).
    pub async fn users_with_passwords(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT user_id FROM credentials ORDER BY user_id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::testing::fresh_stores;
    use crate::{Store, now_ms};

    async fn claim_row(store: &Store, email_key: &str) -> (i64, i64) {
        let row = sqlx::query("SELECT failures, last_failure_at FROM login_failures WHERE email_key = $1").bind(email_key).fetch_one(store.pool()).await.unwrap();
        (row.try_get(0).unwrap(), row.try_get(1).unwrap())
    }

    #[tokio::test]
    async fn a_refused_claim_neither_counts_nor_extends_the_block() {
        for (store, _dir) in fresh_stores().await {
            for _ in 0..3 {
                assert!(store.claim_login_attempt("a@x", 3, 60_000).await.unwrap());
            }
            // An old block start, still inside a window as long as the clock's reading.
            sqlx::query("UPDATE login_failures SET last_failure_at = 1000 WHERE email_key = 'a@x'").execute(store.pool()).await.unwrap();
            assert!(!store.claim_login_attempt("a@x", 3, now_ms()).await.unwrap(), "blocked on {:?}", store.backend());
            assert_eq!(claim_row(&store, "a@x").await, (3, 1000), "a refused attempt changed the count or the window start on {:?}", store.backend());
        }
    }
}
