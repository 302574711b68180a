//! Secrets (passwords, tokens): never in settings files, never in logs.
//!
//! They are kept in a ChaCha20-Poly1305 encrypted file under the profile's data
//! directory, with a random 256-bit key in the config directory (mode 0600). This
//! protects secrets that travel in backups or bug reports of the data directory and
//! keeps them out of plain-text files; it does not protect against code running as the
//! same user, which could read the key too. An OS keyring backend (Secret Service) is
//! the next step; it will sit behind the same [`SecretStore`] API.

use crate::error::SecretError;
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::PathBuf,
    sync::Mutex,
};

/// The file format: a nonce and the sealed JSON map.
#[derive(Serialize, Deserialize)]
struct Sealed {
    version: u32,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// Associated data binding ciphertexts to this purpose.
const AAD: &[u8] = b"ucdesk secrets v1";

/// The secret store of one profile.
pub struct SecretStore {
    file: PathBuf,
    key_file: PathBuf,
    lock: Mutex<()>,
}

impl SecretStore {
    pub fn new(file: PathBuf, key_file: PathBuf) -> SecretStore {
        SecretStore { file, key_file, lock: Mutex::new(()) }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.load()?.get(key).cloned())
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load()?;
        map.insert(key.to_string(), value.to_string());
        self.store(&map)
    }

    pub fn delete(&self, key: &str) -> Result<bool, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load()?;
        let existed = map.remove(key).is_some();
        self.store(&map)?;
        Ok(existed)
    }

    /// Names of stored secrets (never their values).
    pub fn names(&self) -> Result<Vec<String>, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.load()?.into_keys().collect())
    }

    fn cipher(&self, create: bool) -> Result<Option<ChaCha20Poly1305>, SecretError> {
        let io = |source| SecretError::Io { path: self.key_file.clone(), source };
        match std::fs::read(&self.key_file) {
            Ok(key) if key.len() == 32 => Ok(Some(ChaCha20Poly1305::new(key.as_slice().into()))),
            Ok(_) => Err(SecretError::BadKey(self.key_file.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
                if let Some(dir) = self.key_file.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&self.key_file)
                    .map_err(io)?;
                f.write_all(&key).map_err(io)?;
                Ok(Some(ChaCha20Poly1305::new((&key).into())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        let bytes = match std::fs::read(&self.file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => {
                return Err(SecretError::Io { path: self.file.clone(), source });
            }
        };
        let sealed: Sealed =
            serde_json::from_slice(&bytes).map_err(|_| SecretError::Corrupt(self.file.clone()))?;
        let cipher = self.cipher(false)?.ok_or_else(|| SecretError::BadKey(self.key_file.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(SecretError::Corrupt(self.file.clone()));
        }
        let plain = cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: AAD })
            .map_err(|_| SecretError::Corrupt(self.file.clone()))?;
        serde_json::from_slice(&plain).map_err(|_| SecretError::Corrupt(self.file.clone()))
    }

    fn store(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let io = |source| SecretError::Io { path: self.file.clone(), source };
        let cipher = self.cipher(true)?.expect("created when missing");
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
        let plain = serde_json::to_vec(map).expect("a string map serializes");
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: AAD })
            .map_err(|_| SecretError::Random("encryption failed".into()))?;
        let sealed = Sealed { version: 1, nonce: nonce.to_vec(), ciphertext };
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.file.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&sealed).expect("serializes")).map_err(io)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        std::fs::rename(&tmp, &self.file).map_err(io)
    }
}

/// The store of a profile: `data/secrets.sealed` with its key in `config/secrets.key`.
pub fn profile_store(home: &crate::Home) -> SecretStore {
    SecretStore::new(home.data.join("secrets.sealed"), home.config.join("secrets.key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("s"), dir.path().join("k"));
        assert_eq!(store.get("chat.password").unwrap(), None);
        store.set("chat.password", "hunter2-very-secret").unwrap();
        assert_eq!(store.get("chat.password").unwrap().as_deref(), Some("hunter2-very-secret"));
        let on_disk = std::fs::read(dir.path().join("s")).unwrap();
        assert!(!String::from_utf8_lossy(&on_disk).contains("hunter2"));
        let mode = std::fs::metadata(dir.path().join("k")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.delete("chat.password").unwrap());
        assert_eq!(store.names().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = SecretStore::new(dir.path().join("s"), dir.path().join("k"));
        store.set("a.b", "c").unwrap();
        let mut sealed: Sealed =
            serde_json::from_slice(&std::fs::read(dir.path().join("s")).unwrap()).unwrap();
        sealed.ciphertext[0] ^= 1;
        std::fs::write(dir.path().join("s"), serde_json::to_vec(&sealed).unwrap()).unwrap();
        assert!(matches!(store.get("a.b"), Err(SecretError::Corrupt(_))));
    }
}
