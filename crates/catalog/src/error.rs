//! Catalog errors; the HTTP layer maps each to a status in one place.

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// 404 with OpenMetadata's `<type> instance for <name> not found`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `Entity already exists`.
    #[error("Entity already exists")]
    AlreadyExists,
    /// 409: a concurrent write changed what the request was computed from.
    #[error("{0}")]
    Conflict(String),
    /// 400: the request is malformed or violates a rule.
    #[error("{0}")]
    BadRequest(String),
    /// 401: the caller's credentials no longer stand for a live user.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 500: the server's own data is broken.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(ferrometa_store::StoreError),
}

impl From<ferrometa_store::StoreError> for CatalogError {
    fn from(e: ferrometa_store::StoreError) -> Self {
        match e {
            ferrometa_store::StoreError::Conflict => CatalogError::AlreadyExists,
            other => CatalogError::Store(other),
        }
    }
}

impl From<serde_json::Error> for CatalogError {
    fn from(e: serde_json::Error) -> Self {
        CatalogError::BadRequest(format!("invalid JSON: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, CatalogError>;

pub fn not_found(entity_type: &str, key: &str) -> CatalogError {
    CatalogError::NotFound(format!("{entity_type} instance for {key} not found"))
}
