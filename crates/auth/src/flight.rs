//! One outbound fetch at a time, and callers that queued behind a fetch take its outcome
//! instead of starting their own: however many requests pile up behind a slow provider, none
//! waits longer than one fetch timeout.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct SingleFlight {
    lock: tokio::sync::Mutex<()>,
    finished: AtomicU64,
}

impl SingleFlight {
    /// Runs `fetch` unless another fetch finished while this caller waited for its turn
    /// (then the caller reads what that fetch left behind). Returns whether `fetch` ran.
    pub async fn run_or_join<F: Future<Output = ()>>(&self, fetch: impl FnOnce() -> F) -> bool {
        let seen = self.finished.load(Ordering::Acquire);
        let _turn = self.lock.lock().await;
        if self.finished.load(Ordering::Acquire) != seen {
            return false;
        }
        fetch().await;
        self.finished.fetch_add(1, Ordering::AcqRel);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn callers_queued_behind_a_fetch_join_it_instead_of_fetching_again() {
        let flight = Arc::new(SingleFlight::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let (flight, fetches) = (flight.clone(), fetches.clone());
            tokio::spawn(async move {
                flight
                    .run_or_join(|| async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let _ = released.await;
                    })
                    .await
            })
        };
        while fetches.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let (flight, fetches) = (flight.clone(), fetches.clone());
            tokio::spawn(async move { flight.run_or_join(|| async move { fetches.fetch_add(1, Ordering::SeqCst); }).await })
        };
        tokio::task::yield_now().await;
        let _ = release.send(());
        assert!(first.await.expect("first fetch"), "the first caller fetches");
        assert!(!second.await.expect("second caller"), "a caller queued behind a fetch takes its outcome");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(flight.run_or_join(|| async {}).await, "a later caller fetches again");
    }
}
