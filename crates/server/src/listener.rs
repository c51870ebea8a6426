//! The accept loop: a cap on open connections (more wait in the listen backlog, with a log line),
//! a bound on reading a request's headers (slowloris), keep-alive connections closed when idle,
//! and a graceful stop that lets in-flight requests finish within the grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use ferrometa_config::ListenerLimits;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// At most one "connection limit reached" line per this long.
const LIMIT_LOG_EVERY: Duration = Duration::from_secs(60);

/// What one listener enforces.
#[derive(Clone, Copy)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
    /// After a stop, how long the listener still serves (while `/readiness` answers 503).
    pub drain: Duration,
    pub grace: Duration,
}

impl Limits {
    pub fn new(limits: &ListenerLimits, drain: Duration, grace: Duration) -> Limits {
        Limits {
            header_read: Duration::from_secs(limits.header_read_timeout_secs),
            idle: Duration::from_secs(limits.idle_timeout_secs),
            max_connections: limits.max_connections,
            drain,
            grace,
        }
    }
}

/// `stopped`, later by `drain`: a load balancer takes the replica out (its `/readiness` answers
/// 503 at once) while the listener still serves.
fn drained(mut stopped: watch::Receiver<bool>, drain: Duration) -> watch::Receiver<bool> {
    if drain.is_zero() {
        return stopped;
    }
    let (tx, rx) = watch::channel(*stopped.borrow());
    tokio::spawn(async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(drain).await;
        let _ = tx.send(true);
    });
    rx
}

/// Serves `app` until `stopped` turns true and the drain is over, then gives open connections
/// `grace` to finish.
pub async fn run(listener: TcpListener, app: Router, stopped: watch::Receiver<bool>, limits: Limits) {
    let mut stopped = drained(stopped, limits.drain);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut last_limit_log: Option<Instant> = None;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                log_limit_reached(&listener, limits.max_connections, &mut last_limit_log);
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = stop_requested(&mut stopped) => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop_requested(&mut stopped) => break,
        };
        let (app, stopped) = (app.clone(), stopped.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, stopped, limits).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a slot until it closes: all slots back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.grace, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(grace = ?limits.grace, "shutdown grace period over; closing remaining connections");
    }
}

/// Resolves once a stop was requested (the receiver's guard is not held across awaits).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

fn log_limit_reached(listener: &TcpListener, max: usize, last: &mut Option<Instant>) {
    metrics::counter!("ferrometa_connection_limit_reached_total").increment(1);
    if last.is_none_or(|t| t.elapsed() >= LIMIT_LOG_EVERY) {
        let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::warn!(%addr, max_connections = max, "connection limit reached: new connections wait in the listen backlog (server.maxConnections)");
        *last = Some(Instant::now());
    }
}

/// Requests in flight on one connection and when the last one ended (ms since `opened`).
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        Some(self.opened.elapsed().saturating_sub(last))
    }

    fn ended(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts a request as in flight until its response is ready.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.ended();
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, app: Router, mut stopped: watch::Receiver<bool>, limits: Limits) {
    let activity = Arc::new(Activity { opened: Instant::now(), in_flight: AtomicUsize::new(0), last_ms: AtomicU64::new(0) });
    let counted = activity.clone();
    let service = tower::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let (app, in_flight) = (app.clone(), InFlight::start(&counted));
        async move {
            let response = app.oneshot(req.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let mut closing = false;
    let mut tick = tokio::time::interval(idle_tick(limits.idle));
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop_requested(&mut stopped), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick(), if !closing => {
                if activity.idle_for().is_some_and(|idle| idle >= limits.idle) {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// How often idleness is checked: a tenth of the idle timeout, at least every 100 ms.
fn idle_tick(idle: Duration) -> Duration {
    (idle / 10).max(Duration::from_millis(100))
}
