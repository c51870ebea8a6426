//! `/api/v1/system/...`: version, the UI's sign-in configuration and our JWKS (contract §7).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;

pub async fn version(State(s): State<AppState>) -> Json<Value> {
    Json(json!({
        "version": s.config.server.om_version,
        "revision": concat!("ferrometa-", env!("CARGO_PKG_VERSION")),
        "timestamp": s.started_at_ms(),
    }))
}

/// What the UI receives: never secrets, always `responseType: id_token` (contract §7.1).
pub async fn auth_config(State(s): State<AppState>) -> Json<Value> {
    let a = &s.config.authentication;
    let mapping: Vec<String> = a.claims_mapping.iter().flat_map(|m| [format!("username:{}", m.username), format!("email:{}", m.email)]).collect();
    Json(json!({
        "clientType": match a.client_type { ferrometa_config::ClientType::Public => "public", ferrometa_config::ClientType::Confidential => "confidential" },
        "provider": a.provider.as_str(),
        "responseType": "id_token",
        "providerName": a.provider_name,
        "publicKeyUrls": [],
        "tokenValidationAlgorithm": a.algorithm.as_str(),
        "authority": a.authority,
        "clientId": a.client_id,
        "callbackUrl": a.callback_url,
        "jwtPrincipalClaims": a.jwt_principal_claims,
        "jwtPrincipalClaimsMapping": mapping,
        "enableSelfSignup": a.enable_self_signup,
    }))
}

pub async fn authorizer_config(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"principalDomain": s.config.authorizer.principal_domain}))
}

/// Current and previous public keys; no private parameter can appear (only `PublicJwk` fields).
pub async fn jwks(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(json!({"keys": s.keys.jwks()})))
}

pub async fn ui_theme() -> Json<Value> {
    Json(json!({
        "customLogoConfig": {"customLogoUrlPath": "", "customMonogramUrlPath": "", "customFaviconUrlPath": ""},
        "customTheme": {"primaryColor": "", "errorColor": "", "successColor": "", "warningColor": "", "infoColor": ""}
    }))
}

pub async fn login_config(State(s): State<AppState>) -> Json<Value> {
    let l = &s.config.login;
    Json(json!({"maxLoginFailAttempts": l.max_login_fail_attempts, "accessBlockTime": l.access_block_time_secs, "jwtTokenExpiryTime": l.jwt_token_expiry_secs}))
}
