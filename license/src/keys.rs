//! Ed25519 keys as small hex text files, key ids, and the set of trusted keys.

use crate::error::KeyError;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::Path;

/// 32 bytes from 64 hex characters (surrounding whitespace allowed).
fn key_bytes(text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| KeyError::Format(what.into()))
}

fn read_key_file(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.display().to_string(), source })
}

/// A public key that verifies licenses or plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From 64 hex characters (surrounding whitespace allowed).
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bytes = key_bytes(text, "public key")?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| KeyError::Format("public key".into()))
    }

    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        PublicKey::from_hex(&read_key_file(path)?).map_err(|_| KeyError::Format(path.display().to_string()))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// A short stable name for the key: the first 8 bytes of its SHA-256, in hex.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// Whether `signature_hex` is this key's signature of `message`.
    /// Only the canonical lowercase hex is accepted, so a signature has one spelling.
    pub fn verify(&self, message: &[u8], signature_hex: &str) -> bool {
        if !signature_hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return false;
        }
        let Some(bytes) = hex::decode(signature_hex).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        self.0.verify(message, &Signature::from_bytes(&bytes)).is_ok()
    }
}

/// A signing key pair (the vendor's, or an admin's for plugins).
pub struct KeyPair(SigningKey);

impl KeyPair {
    pub fn generate() -> Result<KeyPair, KeyError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(KeyPair(SigningKey::from_bytes(&secret)))
    }

    /// From the secret key's 64 hex characters.
    pub fn from_hex(text: &str) -> Result<KeyPair, KeyError> {
        let bytes = key_bytes(text, "secret key")?;
        Ok(KeyPair(SigningKey::from_bytes(&bytes)))
    }

    pub fn read(path: &Path) -> Result<KeyPair, KeyError> {
        KeyPair::from_hex(&read_key_file(path)?).map_err(|_| KeyError::Format(path.display().to_string()))
    }

    /// The secret key as hex, for writing to a 0600 file. Handle with care.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`; the signature in hex.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }
}

/// Keys the kernel accepts signatures from, looked up by id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys(Vec<PublicKey>);

impl TrustedKeys {
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> TrustedKeys {
        TrustedKeys(keys.into_iter().collect())
    }

    pub fn add(&mut self, key: PublicKey) {
        if !self.0.contains(&key) {
            self.0.push(key);
        }
    }

    pub fn get(&self, id: &str) -> Option<&PublicKey> {
        self.0.iter().find(|k| k.id() == id)
    }

    pub fn ids(&self) -> Vec<String> {
        self.0.iter().map(PublicKey::id).collect()
    }
}

/// The development vendor key, shipped in the repository for tests and development
/// builds. Its secret half is `license/keys/dev-vendor.key`: never trust it in a
/// release.
pub const DEV_VENDOR_PUBLIC_KEY: &str = include_str!("../keys/dev-vendor.pub");

/// The vendor key this build trusts: `UCDESK_VENDOR_PUBKEY` (64 hex characters) at
/// build time, else the development key.
pub fn vendor_key() -> PublicKey {
    let text = option_env!("UCDESK_VENDOR_PUBKEY").unwrap_or(DEV_VENDOR_PUBLIC_KEY);
    PublicKey::from_hex(text).expect("the vendor key compiled into this build is a valid public key")
}

/// True when this build trusts the development key: licenses and plugins signed with
/// the repository's key are accepted (`ucdesk license show` says so).
pub fn vendor_key_is_development() -> bool {
    vendor_key() == PublicKey::from_hex(DEV_VENDOR_PUBLIC_KEY).expect("the development key is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_vendor_key_pair_matches() {
        let pair =
            KeyPair::read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/dev-vendor.key"))).unwrap();
        println!("derived public key: {}", pair.public().to_hex());
        assert_eq!(pair.public().to_hex(), DEV_VENDOR_PUBLIC_KEY.trim());
    }
}
