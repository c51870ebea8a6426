//! Changes that replicas must learn of at once (who may do what): announced with PostgreSQL's
//! `NOTIFY` on one channel and heard by every replica's listener. SQLite serves one process,
//! which needs no announcement.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::{Backend, Result, Store};

const CHANNEL: &str = "ferrometa_access";

impl Store {
    /// Tells every replica that users, teams, roles or policies changed.
    pub async fn announce_access_change(&self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_notify('ferrometa_access', '')").execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Starts listening (PostgreSQL only; `None` on SQLite) and, once the listener is in place,
    /// calls `heard` for each announced change on a task of its own. After a lost connection it
    /// calls `heard` too, since announcements may have been missed, and reconnects with a
    /// growing pause (at most 30 s).
    pub async fn listen_for_access_changes(&self, heard: impl Fn() + Send + Sync + 'static) -> Result<Option<tokio::task::JoinHandle<()>>> {
        let Some(url) = self.url.clone() else { return Ok(None) };
        let mut listener = Some(subscribe(&url).await?);
        Ok(Some(tokio::spawn(async move {
            let mut pause = Duration::from_millis(100);
            loop {
                let connected = match listener.take() {
                    Some(l) => Ok(l),
                    None => subscribe(&url).await,
                };
                match connected {
                    Ok(l) => {
                        pause = Duration::from_millis(100);
                        if let Err(e) = relay(l, &heard).await {
                            tracing::warn!(error = %e, "listening for access changes failed; reconnecting");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for access changes; retrying"),
                }
                heard();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        })))
    }
}

async fn subscribe(url: &str) -> std::result::Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Calls `heard` for each notification until the connection is lost.
async fn relay(mut listener: PgListener, heard: &(impl Fn() + Send + Sync)) -> std::result::Result<(), sqlx::Error> {
    while listener.try_recv().await?.is_some() {
        heard();
    }
    Ok(())
}
