//! Identity logic for ferrometa, with no HTTP framework inside: signing keys and JWKS, token
//! minting and verification, the identity provider's keys, principal resolution, passwords and
//! the database-backed checks that make revocation hold on every replica.

pub mod claims;
pub mod error;
#[cfg(any(test, feature = "testing"))]
pub mod fake_idp;
pub mod flight;
pub mod jwks;
pub mod keys;
pub mod oidc;
pub mod password;
pub mod principal;
pub mod secret;
pub mod service;
pub mod tokens;
pub mod verify;

pub use error::{AuthError, Result};
pub use principal::Principal;
pub use service::{bearer_token, Account, AuthService, Authenticated, JwtAuthMechanism, JwtResponse, LoginAttempt, PersonalAccessToken};
pub use tokens::{OwnTokenType, TokenExpiry};
