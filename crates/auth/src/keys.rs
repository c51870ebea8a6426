//! ferrometa's own RSA signing keys.
//!
//! Either configured (OpenMetadata's `rsaprivateKeyFilePath`/`rsapublicKeyFilePath`, DER or PEM,
//! `kid` = `keyId`), or generated per install into `<data dir>/keys/` (mode 0600). Generated keys
//! rotate: the previous public keys stay in the JWKS and keep verifying until retired.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferrometa_config::RsaAlgorithm;
use jsonwebtoken::EncodingKey;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("{path} is not an RSA private key in PKCS#8 DER or PEM form ({reason})")]
    BadPrivateKey { path: String, reason: String },
    #[error("{path} is not the public key of the configured private key")]
    MismatchedPublicKey { path: String },
    #[error("RSA key generation failed")]
    Generate,
    #[error("no previous key with kid {0}")]
    UnknownKid(String),
}

/// A public key as published in the JWKS (`n`, `e` unpadded base64url, no leading zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub kid: String,
    pub n: String,
    pub e: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// A public key that verifies tokens.
#[derive(Clone)]
pub struct VerifyingKey {
    pub jwk: PublicJwk,
    /// Parsed once for each RS algorithm: importing the key on every check (what
    /// `jsonwebtoken::crypto::verify` does) costs a fifth of a verification.
    parsed: Arc<[ParsedPublicKey; 3]>,
    /// Modulus size in bits, for the 2048..=8192 policy.
    pub bits: usize,
}

impl VerifyingKey {
    pub fn from_jwk(jwk: PublicJwk) -> Option<VerifyingKey> {
        let n = URL_SAFE_NO_PAD.decode(jwk.n.trim_end_matches('=')).ok()?;
        let e = URL_SAFE_NO_PAD.decode(jwk.e.trim_end_matches('=')).ok()?;
        let components = RsaPublicKeyComponents { n: strip_leading_zeros(&n), e: strip_leading_zeros(&e) };
        let bits = components.n.len() * 8 - components.n.first().map(|b| b.leading_zeros() as usize).unwrap_or(8);
        let parse = |params| components.to_parsed_public_key(params).ok();
        let parsed = [parse(&RSA_PKCS1_2048_8192_SHA256)?, parse(&RSA_PKCS1_2048_8192_SHA384)?, parse(&RSA_PKCS1_2048_8192_SHA512)?];
        Some(VerifyingKey { jwk, parsed: Arc::new(parsed), bits })
    }

    /// Whether `signature` (raw bytes) is this key's PKCS#1 v1.5 signature of `message`.
    pub fn verifies(&self, algorithm: RsaAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        let parsed = match algorithm {
            RsaAlgorithm::Rs256 => &self.parsed[0],
            RsaAlgorithm::Rs384 => &self.parsed[1],
            RsaAlgorithm::Rs512 => &self.parsed[2],
        };
        parsed.verify_sig(message, signature).is_ok()
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

/// The current signing key and the keys that still verify.
#[derive(Clone)]
pub struct KeySet {
    pub kid: String,
    pub signing: EncodingKey,
    /// Current key first, then previous keys.
    pub verifying: Vec<VerifyingKey>,
    pub generated: bool,
}

impl KeySet {
    pub fn jwks(&self) -> Vec<PublicJwk> {
        self.verifying.iter().map(|k| k.jwk.clone()).collect()
    }

    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.jwk.kid == kid)
    }

    /// SHA-256 of the current public key (modulus and exponent), hex: what replicas compare to
    /// know they sign with one key pair, without sharing the key.
    pub fn fingerprint(&self) -> String {
        let jwk = &self.verifying[0].jwk;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("{}.{}", jwk.n, jwk.e).as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    fs::read(path).map_err(|source| KeyError::Read { path: path.display().to_string(), source })
}

/// DER bytes of a DER or PEM file.
fn der_of(bytes: Vec<u8>) -> Vec<u8> {
    match pem::parse(&bytes) {
        Ok(p) => p.into_contents(),
        Err(_) => bytes,
    }
}

fn public_jwk(pair: &KeyPair, kid: &str) -> PublicJwk {
    let public = pair.public_key();
    PublicJwk {
        kty: "RSA".into(),
        kid: kid.into(),
        n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        alg: "RS256".into(),
        use_: "sig".into(),
    }
}

fn spki_der(pair: &KeyPair) -> Vec<u8> {
    pair.public_key().as_der().map(|d| d.as_ref().to_vec()).unwrap_or_default()
}

/// Builds the signing key from PKCS#8 DER; jsonwebtoken's RSA signer wants PKCS#1 inside a PEM.
fn encoding_key(pkcs8: &[u8], path: &Path) -> Result<EncodingKey, KeyError> {
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec()));
    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| KeyError::BadPrivateKey { path: path.display().to_string(), reason: e.to_string() })
}

fn parse_private(pkcs8: &[u8], path: &Path) -> Result<KeyPair, KeyError> {
    KeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError::BadPrivateKey { path: path.display().to_string(), reason: e.to_string() })
}

/// A stable kid for a generated key: base64url of the first 12 bytes of SHA-256(SPKI).
pub fn derived_kid(spki: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki);
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12])
}

/// Loads the operator's key pair (OpenMetadata's key files).
pub fn load_configured(private_path: &Path, public_path: &Path, kid: &str) -> Result<KeySet, KeyError> {
    let pkcs8 = der_of(read(private_path)?);
    let pair = parse_private(&pkcs8, private_path)?;
    let public_der = der_of(read(public_path)?);
    if public_der != spki_der(&pair) {
        return Err(KeyError::MismatchedPublicKey { path: public_path.display().to_string() });
    }
    let jwk = public_jwk(&pair, kid);
    let verifying = VerifyingKey::from_jwk(jwk).ok_or(KeyError::Generate)?;
    Ok(KeySet { kid: kid.into(), signing: encoding_key(&pkcs8, private_path)?, verifying: vec![verifying], generated: false })
}

/// Layout of generated keys in the data dir.
pub struct KeyDir {
    root: PathBuf,
}

impl KeyDir {
    pub fn new(data_dir: &Path) -> KeyDir {
        KeyDir { root: data_dir.join("keys") }
    }

    fn private_path(&self) -> PathBuf {
        self.root.join("private_key.der")
    }

    fn previous_dir(&self) -> PathBuf {
        self.root.join("previous")
    }

    /// Loads the generated key set, generating a first key pair when there is none.
    pub fn load_or_generate(&self) -> Result<KeySet, KeyError> {
        if !self.private_path().exists() {
            self.write_new_current()?;
            tracing::info!(dir = %self.root.display(), "generated a new RSA key pair for this install");
        }
        self.load()
    }

    fn load(&self) -> Result<KeySet, KeyError> {
        let path = self.private_path();
        let pkcs8 = read(&path)?;
        let pair = parse_private(&pkcs8, &path)?;
        let kid = derived_kid(&spki_der(&pair));
        let mut verifying = vec![VerifyingKey::from_jwk(public_jwk(&pair, &kid)).ok_or(KeyError::Generate)?];
        for jwk in self.previous()? {
            verifying.extend(VerifyingKey::from_jwk(jwk));
        }
        Ok(KeySet { kid, signing: encoding_key(&pkcs8, &path)?, verifying, generated: true })
    }

    fn previous(&self) -> Result<Vec<PublicJwk>, KeyError> {
        let dir = self.previous_dir();
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(vec![]) };
        let mut keys = vec![];
        for entry in entries.flatten() {
            let bytes = read(&entry.path())?;
            match serde_json::from_slice::<PublicJwk>(&bytes) {
                Ok(jwk) => keys.push(jwk),
                Err(e) => tracing::warn!(file = %entry.path().display(), error = %e, "skipping unreadable previous key"),
            }
        }
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Ok(keys)
    }

    fn write_new_current(&self) -> Result<(), KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let pkcs8 = pair.as_der().map_err(|_| KeyError::Generate)?;
        write_private(&self.private_path(), pkcs8.as_ref())?;
        write_file(&self.root.join("public_key.der"), &spki_der(&pair), 0o644)
    }

    /// New current key; the old public key moves to `previous/` and keeps verifying.
    pub fn rotate(&self) -> Result<String, KeyError> {
        let old = self.load_or_generate()?;
        let old_jwk = old.verifying[0].jwk.clone();
        let json = serde_json::to_vec_pretty(&old_jwk).unwrap_or_default();
        write_file(&self.previous_dir().join(format!("{}.json", file_safe(&old_jwk.kid))), &json, 0o644)?;
        self.write_new_current()?;
        Ok(self.load()?.kid)
    }

    /// Removes one previous key (or all with `None`); its tokens stop verifying.
    pub fn retire(&self, kid: Option<&str>) -> Result<Vec<String>, KeyError> {
        let mut removed = vec![];
        for jwk in self.previous()? {
            if kid.is_none_or(|k| k == jwk.kid) {
                let path = self.previous_dir().join(format!("{}.json", file_safe(&jwk.kid)));
                fs::remove_file(&path).map_err(|source| KeyError::Write { path: path.display().to_string(), source })?;
                removed.push(jwk.kid);
            }
        }
        match (kid, removed.is_empty()) {
            (Some(k), true) => Err(KeyError::UnknownKid(k.into())),
            _ => Ok(removed),
        }
    }
}

fn file_safe(kid: &str) -> String {
    kid.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| KeyError::Write { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}

/// Private key material is only ever written with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_file(path, bytes, 0o600)
}

/// `ferrometa keys generate --out DIR`: the files of OpenMetadata's openssl recipe, DER and PEM.
pub fn generate_files(out: &Path) -> Result<Vec<PathBuf>, KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let pkcs8 = pair.as_der().map_err(|_| KeyError::Generate)?.as_ref().to_vec();
    let spki = spki_der(&pair);
    let files = [
        ("private_key.der", pkcs8.clone(), 0o600),
        ("private_key.pem", pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8)).into_bytes(), 0o600),
        ("public_key.der", spki.clone(), 0o644),
        ("public_key.pem", pem::encode(&pem::Pem::new("PUBLIC KEY", spki)).into_bytes(), 0o644),
    ];
    files
        .into_iter()
        .map(|(name, bytes, mode)| {
            let p = out.join(name);
            write_file(&p, &bytes, mode).map(|_| p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_are_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::new(dir.path());
        let first = keys.load_or_generate().unwrap();
        let mode = fs::metadata(dir.path().join("keys/private_key.der")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = keys.load_or_generate().unwrap();
        assert_eq!(first.kid, again.kid, "the same key is reused on restart");
        assert!(first.generated);
    }

    #[test]
    fn rotate_keeps_previous_until_retired() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyDir::new(dir.path());
        let first = keys.load_or_generate().unwrap().kid;
        let second = keys.rotate().unwrap();
        assert_ne!(first, second);
        let set = keys.load_or_generate().unwrap();
        assert_eq!(set.kid, second);
        assert!(set.find(&first).is_some(), "previous key still verifies");
        assert_eq!(keys.retire(Some(&first)).unwrap(), vec![first.clone()]);
        assert!(keys.load_or_generate().unwrap().find(&first).is_none());
        assert!(matches!(keys.retire(Some("nope")), Err(KeyError::UnknownKid(_))));
    }

    #[test]
    fn generated_files_load_as_configured_keys_in_der_and_pem() {
        let dir = tempfile::tempdir().unwrap();
        generate_files(dir.path()).unwrap();
        let p = |n: &str| dir.path().join(n);
        let der = load_configured(&p("private_key.der"), &p("public_key.der"), "kid-1").unwrap();
        let pem = load_configured(&p("private_key.pem"), &p("public_key.pem"), "kid-1").unwrap();
        assert_eq!(der.jwks(), pem.jwks());
        assert_eq!(der.kid, "kid-1");
        assert_eq!(der.verifying[0].bits, 2048);
    }

    #[test]
    fn mismatched_public_key_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        generate_files(a.path()).unwrap();
        generate_files(b.path()).unwrap();
        let err = load_configured(&a.path().join("private_key.der"), &b.path().join("public_key.der"), "k").err().unwrap();
        assert!(matches!(err, KeyError::MismatchedPublicKey { .. }));
    }

    #[test]
    fn garbage_private_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("p.der"), b"not a key").unwrap();
        fs::write(dir.path().join("q.der"), b"x").unwrap();
        let err = load_configured(&dir.path().join("p.der"), &dir.path().join("q.der"), "k").err().unwrap();
        assert!(err.to_string().contains("is not an RSA private key"), "{err}");
    }
}
