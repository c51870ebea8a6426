//! Password hashing: Argon2id (m=19 MiB, t=2, p=1) for new hashes; OpenMetadata's bcrypt hashes
//! verify and are flagged for re-hashing. Hashing runs on blocking threads behind a semaphore so
//! that a login flood cannot starve the API; an unknown user is checked against a dummy hash so
//! that it costs the same time as a wrong password.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AuthError, Result};

pub const POLICY_MESSAGE: &str = "Password must be of minimum 8 characters, with one special, one Upper, one lower case character, and one Digit.";
pub const MAX_PASSWORD_CHARS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match { needs_rehash: bool },
    Mismatch,
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters"))
}

/// OpenMetadata's policy (contract §5.8), allowing up to 64 characters instead of 16.
pub fn check_policy(password: &str) -> Result<()> {
    let n = password.chars().count();
    let ok = (8..=MAX_PASSWORD_CHARS).contains(&n)
        && !password.chars().any(char::is_whitespace)
        && password.chars().any(|c| c.is_uppercase())
        && password.chars().any(|c| c.is_lowercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().any(|c| !c.is_alphanumeric());
    if ok { Ok(()) } else { Err(AuthError::BadRequest(POLICY_MESSAGE.into())) }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    b
}

/// A random password that satisfies the policy (used for the bootstrap admin).
pub fn random_password() -> String {
    const SETS: [&[u8]; 4] = [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!@#%^*_+-="];
    let bytes = random_bytes::<24>();
    bytes.iter().enumerate().map(|(i, b)| {
        let set = SETS[i % 4];
        set[*b as usize % set.len()] as char
    }).collect()
}

fn hash_blocking(password: &str) -> Result<String> {
    let salt = random_bytes::<16>();
    argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(password: &str, stored: &str) -> Verdict {
    if stored.starts_with("$2") {
        // bcrypt from OpenMetadata; bcrypt only reads 72 bytes, so longer passwords never match
        // a bcrypt hash here (a policy of at most 64 characters keeps real users below it).
        return match password.len() <= 72 && bcrypt::verify(password, stored).unwrap_or(false) {
            true => Verdict::Match { needs_rehash: true },
            false => Verdict::Mismatch,
        };
    }
    match argon2().verify_password(password.as_bytes(), stored) {
        Ok(()) => Verdict::Match { needs_rehash: false },
        Err(_) => Verdict::Mismatch,
    }
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Passwords { permits: Arc::new(Semaphore::new(cores)) }
    }
}

/// A real Argon2id hash of a random password, verified against when a user does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking(&random_password()).unwrap_or_default())
}

impl Passwords {
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|_| AuthError::Internal("password hashing is shut down".into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|_| AuthError::Internal("password hashing task failed".into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_string();
        self.run(move || hash_blocking(&password)).await?
    }

    /// Verifies against the stored hash, or against a dummy hash when there is none.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<Verdict> {
        let password = password.to_string();
        self.run(move || match stored {
            Some(h) => verify_blocking(&password, &h),
            None => {
                let _ = verify_blocking(&password, dummy_hash());
                Verdict::Mismatch
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip_with_owasp_parameters() {
        let p = Passwords::default();
        let h = p.hash("Sup3r-secret!").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(p.verify("Sup3r-secret!", Some(h.clone())).await.unwrap(), Verdict::Match { needs_rehash: false });
        assert_eq!(p.verify("wrong", Some(h)).await.unwrap(), Verdict::Mismatch);
        assert_eq!(p.verify("anything", None).await.unwrap(), Verdict::Mismatch);
    }

    #[tokio::test]
    async fn openmetadata_bcrypt_hashes_verify_and_ask_for_rehash() {
        let om_hash = bcrypt::hash("Admin@123", 4).unwrap().replacen("$2b$", "$2a$", 1);
        let p = Passwords::default();
        assert_eq!(p.verify("Admin@123", Some(om_hash.clone())).await.unwrap(), Verdict::Match { needs_rehash: true });
        assert_eq!(p.verify("admin", Some(om_hash)).await.unwrap(), Verdict::Mismatch);
    }

    #[test]
    fn policy_follows_openmetadata_with_a_64_character_maximum() {
        assert!(check_policy("Passw0rd!").is_ok());
        assert!(check_policy(&format!("Aa1!{}", "x".repeat(60))).is_ok());
        for bad in ["Sh0rt!", "alllower1!", "ALLUPPER1!", "NoDigits!!", "NoSpecial12", "With Space1!", &format!("Aa1!{}", "x".repeat(61))] {
            assert_eq!(check_policy(bad).unwrap_err().to_string(), POLICY_MESSAGE, "{bad}");
        }
    }

    #[test]
    fn random_passwords_meet_the_policy() {
        for _ in 0..50 {
            check_policy(&random_password()).unwrap();
        }
    }
}
