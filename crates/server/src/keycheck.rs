//! Replicas sharing one database must sign with one key pair: a token one replica signs is
//! verified by any other. Each start records its signing key's public fingerprint in the shared
//! store (`signing-key:<kid>`) and which kid signed last (`signing-key`), so a replica started with
//! another pair can say so at start-up and in `check-config`, without any replica holding
//! another's key.

use ferrometa_auth::keys::KeySet;
use ferrometa_store::{Store, StoreError};

const LAST_KID: &str = "signing-key";

fn fingerprint_setting(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// How this replica's key pair compares with what the other replicas recorded.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyAgreement {
    /// Nothing recorded yet, or the same key pair.
    Agrees,
    /// The same kid was recorded with another public key: tokens carrying that kid verify on one
    /// side only. Never a rotation (a rotation takes a new kid).
    Conflicts { kid: String, recorded: String, own: String },
    /// The last replica to start signed with a kid this one does not verify: either a rotation is
    /// under way, or the replicas were given different key pairs.
    Differs { recorded_kid: String, own_kid: String },
}

impl KeyAgreement {
    pub fn message(&self) -> Option<String> {
        match self {
            KeyAgreement::Agrees => None,
            KeyAgreement::Conflicts { kid, recorded, own } => Some(format!(
                "this replica's key pair does not match the one other replicas signed with under kid {kid} \
                 (public key SHA-256 {own}, recorded {recorded}): their tokens fail here and ours there. \
                 Give every replica the same RSA_PRIVATE_KEY_FILE_PATH/RSA_PUBLIC_KEY_FILE_PATH files, \
                 or give a new key pair a new JWT_KEY_ID"
            )),
            KeyAgreement::Differs { recorded_kid, own_kid } => Some(format!(
                "other replicas sign with kid {recorded_kid}, this one with kid {own_kid} and cannot verify theirs: \
                 unless a key rotation is under way, give every replica the same key pair \
                 (RSA_*_KEY_FILE_PATH, JWT_KEY_ID)"
            )),
        }
    }
}

/// At start-up: refuses a conflicting key pair, warns about a differing one, records ours.
pub async fn at_startup(store: &Store, keys: &KeySet) -> Result<(), crate::StartupError> {
    let agreement = compare_and_record(store, keys).await?;
    match (&agreement, agreement.message()) {
        (KeyAgreement::Conflicts { .. }, Some(message)) => Err(crate::StartupError::KeyConflict(message)),
        (_, Some(message)) => {
            tracing::warn!(kid = %keys.kid, fingerprint = %keys.fingerprint(), "{message}");
            Ok(())
        }
        (_, None) => {
            tracing::info!(kid = %keys.kid, fingerprint = %keys.fingerprint(), "signing key recorded for the other replicas");
            Ok(())
        }
    }
}

/// Compares without recording (`check-config`).
pub async fn compare(store: &Store, keys: &KeySet) -> Result<KeyAgreement, StoreError> {
    let own = keys.fingerprint();
    if let Some(recorded) = store.get_setting(&fingerprint_setting(&keys.kid)).await?
        && recorded != own
    {
        return Ok(KeyAgreement::Conflicts { kid: keys.kid.clone(), recorded, own });
    }
    match store.get_setting(LAST_KID).await? {
        Some(recorded_kid) if recorded_kid != keys.kid && keys.find(&recorded_kid).is_none() => {
            Ok(KeyAgreement::Differs { recorded_kid, own_kid: keys.kid.clone() })
        }
        _ => Ok(KeyAgreement::Agrees),
    }
}

/// At start-up: compares, then records this replica's key unless it conflicts (the first
/// recording of a kid stays the reference).
pub async fn compare_and_record(store: &Store, keys: &KeySet) -> Result<KeyAgreement, StoreError> {
    let agreement = compare(store, keys).await?;
    if matches!(agreement, KeyAgreement::Conflicts { .. }) {
        return Ok(agreement);
    }
    let setting = fingerprint_setting(&keys.kid);
    if store.get_setting(&setting).await?.is_none() {
        store.put_setting(&setting, &keys.fingerprint()).await?;
    }
    store.put_setting(LAST_KID, &keys.kid).await?;
    Ok(agreement)
}
