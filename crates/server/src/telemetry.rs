//! Request ids, tracing spans without secrets, Prometheus metrics, panics as JSON 500s, and the
//! admin listener (`/healthcheck`, `/metrics`).

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, Response, StatusCode};
use axum::middleware::{Next, from_fn};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use ferrometa_store::Store;
use tokio::sync::watch;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The process-wide Prometheus recorder (installed once, also when tests start many servers).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts and times each request by route pattern (never by raw path: ids and names stay out).
async fn record(req: Request, next: Next) -> impl IntoResponse {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("ferrometa_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("ferrometa_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("request handler panicked");
    let body = json!({"code": 500, "message": "Internal server error"}).to_string();
    Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).header("content-type", "application/json").body(Body::from(body)).unwrap_or_default()
}

/// Spans carry the method, the route pattern and the request id; never headers or query strings
/// (they may hold tokens).
fn span_for(req: &Request) -> tracing::Span {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str()).unwrap_or("unmatched");
    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), route, request_id = id)
}

pub fn layers(router: Router, max_body: usize) -> Router {
    router
        .layer(from_fn(record))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(from_fn(crate::error::plain_text_as_json))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn healthcheck(State(store): State<Store>) -> impl IntoResponse {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "healthy", "database": "ok"}))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"code": 503, "message": "database unreachable"})))
        }
    }
}

/// Whether this replica should get traffic: healthy and not shutting down (a stop requested turns
/// it false at once, while the listeners still serve through the drain period).
async fn readiness(State((store, stopping)): State<(Store, watch::Receiver<bool>)>) -> axum::response::Response {
    if *stopping.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"code": 503, "message": "shutting down"}))).into_response();
    }
    healthcheck(State(store)).await.into_response()
}

/// `/healthcheck` (liveness: the database answers) and `/readiness` (also false once a stop is
/// requested) and `/metrics`.
pub fn admin_router(store: Store, metrics: PrometheusHandle, stopping: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/readiness", get(readiness))
        .with_state((store.clone(), stopping))
        .route("/healthcheck", get(healthcheck))
        .with_state(store)
        .route("/metrics", get(move || std::future::ready(metrics.render())))
}
