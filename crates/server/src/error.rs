//! The one place where errors of every layer become HTTP answers: OpenMetadata's body
//! `{"code": <status>, "message": "<text>"}`, `WWW-Authenticate` on 401, never a 500 for a
//! client's fault, and server faults logged with a reference instead of shown.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferrometa_auth::AuthError;
use ferrometa_catalog::CatalogError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    /// A server fault: logged in full, answered with a reference only.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        let reference = uuid::Uuid::new_v4();
        tracing::error!(%reference, error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("Internal server error (reference {reference})"))
    }
    pub fn not_admin(name: &str) -> ApiError {
        Self::forbidden(format!("Principal: CatalogPrincipal{{name='{name}'}} is not admin"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({"code": self.status.as_u16(), "message": self.message}))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        metrics::counter!("ferrometa_auth_failures_total", "reason" => e.reason()).increment(1);
        match e {
            AuthError::Unauthorized(m) => Self::unauthorized(m),
            AuthError::Expired => Self::unauthorized("Expired token!"),
            AuthError::KeysUnavailable(m) | AuthError::StoreUnavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
            AuthError::BadRequest(m) => Self::bad_request(m),
            AuthError::Forbidden(m) => Self::forbidden(m),
            AuthError::Internal(m) => Self::internal(m),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => Self::not_found(m),
            CatalogError::AlreadyExists => Self::new(StatusCode::CONFLICT, "Entity already exists"),
            CatalogError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            CatalogError::BadRequest(m) => Self::bad_request(m),
            CatalogError::Unauthorized(m) => Self::unauthorized(m),
            CatalogError::Forbidden(m) => Self::forbidden(m),
            CatalogError::Internal(m) => Self::internal(m),
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<ferrometa_store::StoreError> for ApiError {
    fn from(e: ferrometa_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return Self::new(StatusCode::SERVICE_UNAVAILABLE, ferrometa_auth::error::DATABASE_UNAVAILABLE);
        }
        Self::internal(e)
    }
}

/// Largest plain-text error body rewritten by [`plain_text_as_json`] (axum's rejections are short).
const MAX_REJECTION_TEXT: usize = 4096;

/// Errors answered in plain text by the framework (axum's path, query and form rejections,
/// the body limit's 413) become OpenMetadata's `{code, message}` like every other error.
pub async fn plain_text_as_json(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let plain = response.headers().get(header::CONTENT_TYPE).is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !(response.status().is_client_error() || response.status().is_server_error()) || !plain {
        return response;
    }
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT).await.unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is larger than the configured limit (server.maxBodyMegabytes)".to_string(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("Request refused").to_string(),
        _ => String::from_utf8_lossy(&text).into_owned(),
    };
    ApiError::new(status, message).into_response()
}
