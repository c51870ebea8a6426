//! Encryption at rest for stored bot tokens (OpenMetadata uses Fernet with `FERNET_KEY`):
//! AES-256-GCM with a key derived from `FERNET_KEY`, or from a per-install key file.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{AuthError, Result};
use crate::keys::{KeyError, write_private};

pub struct SecretBox {
    key: LessSafeKey,
}

const PREFIX: &str = "v1:";

impl SecretBox {
    /// Derives the key from `FERNET_KEY` if given, else from `<data dir>/secret.key` (created once, 0600).
    pub fn open(fernet_key: &str, data_dir: &Path) -> std::result::Result<SecretBox, KeyError> {
        let material = if fernet_key.is_empty() {
            let path = data_dir.join("secret.key");
            if !path.exists() {
                let mut fresh = [0u8; 32];
                aws_lc_rs::rand::fill(&mut fresh).map_err(|_| KeyError::Generate)?;
                write_private(&path, &fresh)?;
            }
            std::fs::read(&path).map_err(|source| KeyError::Read { path: path.display().to_string(), source })?
        } else {
            fernet_key.as_bytes().to_vec()
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &material);
        let key = UnboundKey::new(&AES_256_GCM, digest.as_ref()).map_err(|_| KeyError::Generate)?;
        Ok(SecretBox { key: LessSafeKey::new(key) })
    }

    pub fn seal(&self, plaintext: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| AuthError::Internal("random source failed".into()))?;
        let mut data = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| AuthError::Internal("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    pub fn open_sealed(&self, sealed: &str) -> Result<String> {
        let fail = || AuthError::Internal("stored secret cannot be decrypted (was FERNET_KEY changed?)".into());
        let raw = STANDARD.decode(sealed.strip_prefix(PREFIX).ok_or_else(fail)?).map_err(|_| fail())?;
        if raw.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let mut data = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let plain = self.key.open_in_place(nonce, Aad::empty(), &mut data).map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_a_fresh_nonce_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::open("", dir.path()).unwrap();
        let a1 = b.seal("eyJ.token").unwrap();
        let a2 = b.seal("eyJ.token").unwrap();
        assert_ne!(a1, a2);
        assert!(!a1.contains("eyJ"));
        assert_eq!(b.open_sealed(&a1).unwrap(), "eyJ.token");
        let again = SecretBox::open("", dir.path()).unwrap();
        assert_eq!(again.open_sealed(&a2).unwrap(), "eyJ.token", "the per-install key is reused");
        let other = SecretBox::open("another-key", dir.path()).unwrap();
        assert!(other.open_sealed(&a1).is_err());
    }
}
