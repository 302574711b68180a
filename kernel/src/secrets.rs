//! Secrets (passwords, tokens): never in settings files, never in logs.
//!
//! Where a Secret Service keyring runs (GNOME Keyring, KWallet, KeePassXC on the
//! session D-Bus), secrets live there, as items with the attributes
//! `application=ucdesk`, `profile=<config dir>`, `key=<plugin_id.name>`. Elsewhere
//! (headless machines, CI) they go to a ChaCha20-Poly1305 sealed file under the
//! profile's data directory, with a random 256-bit key in the config directory (mode
//! 0600). The file keeps secrets out of plain text, logs and backups of the data
//! directory; it does not protect against code running as the same user, which could
//! read the key too.
//!
//! `UCDESK_SECRET_STORE` chooses: `keyring`, `file`, or `auto` (default: the keyring when
//! a session bus is there and answers, else the file). A secret stored in the file
//! before a keyring was available is still found, and moves to the keyring when it is
//! next set.

use crate::error::SecretError;
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use dbus_secret_service::{EncryptionType, SecretService};
use serde::{Deserialize, Serialize};
use std::{
    collections::{BTreeMap, HashMap},
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

/// The secret store of one profile: the keyring when there is one, else the sealed
/// file.
pub struct SecretStore {
    file: SealedFile,
    keyring: Option<Keyring>,
}

impl SecretStore {
    /// A store that only uses the sealed file at `file`, keyed by `key_file`.
    pub fn sealed_file(file: PathBuf, key_file: PathBuf) -> SecretStore {
        SecretStore { file: SealedFile::new(file, key_file), keyring: None }
    }

    /// Where secrets go: for messages such as "stored in ...".
    pub fn backend(&self) -> &'static str {
        if self.keyring.is_some() { "the Secret Service keyring" } else { "the encrypted secret file" }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        if let Some(k) = &self.keyring
            && let Some(v) = k.get(key)?
        {
            return Ok(Some(v));
        }
        self.file.get(key)
    }

    pub fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        match &self.keyring {
            Some(k) => {
                k.set(key, value)?;
                // Moved: an older copy in the file must not linger.
                self.file.delete(key)?;
                Ok(())
            }
            None => self.file.set(key, value),
        }
    }

    pub fn delete(&self, key: &str) -> Result<bool, SecretError> {
        let in_keyring = match &self.keyring {
            Some(k) => k.delete(key)?,
            None => false,
        };
        Ok(self.file.delete(key)? || in_keyring)
    }
}

/// The sealed-file backend.
struct SealedFile {
    file: PathBuf,
    key_file: PathBuf,
    lock: Mutex<()>,
}

impl SealedFile {
    fn new(file: PathBuf, key_file: PathBuf) -> SealedFile {
        SealedFile { file, key_file, lock: Mutex::new(()) }
    }

    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.load()?.get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load()?;
        map.insert(key.to_string(), value.to_string());
        self.store(&map)
    }

    fn delete(&self, key: &str) -> Result<bool, SecretError> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.load()?;
        let existed = map.remove(key).is_some();
        if existed {
            self.store(&map)?;
        }
        Ok(existed)
    }

    #[cfg(test)]
    fn names(&self) -> Result<Vec<String>, SecretError> {
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

/// The Secret Service backend (over the session D-Bus).
struct Keyring {
    profile: String,
}

/// How long a keyring may wait for the user to answer an unlock prompt.
const PROMPT_SECONDS: u64 = 30;

impl Keyring {
    /// The keyring, if a session bus exists and a Secret Service answers on it. Without
    /// a bus address we do not even try: libdbus would otherwise try to autolaunch one.
    fn connect_if_running(profile: String) -> Option<Keyring> {
        let runtime_bus = std::env::var_os("XDG_RUNTIME_DIR").map(|d| PathBuf::from(d).join("bus"));
        let has_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
            || runtime_bus.is_some_and(|b| b.exists());
        if !has_bus {
            return None;
        }
        let keyring = Keyring { profile };
        match keyring.service().and_then(|ss| ss.get_default_collection().map(drop).map_err(keyring_error)) {
            Ok(()) => Some(keyring),
            Err(e) => {
                tracing::debug!("no usable Secret Service keyring ({e}); using the encrypted file");
                None
            }
        }
    }

    fn service(&self) -> Result<SecretService, SecretError> {
        SecretService::connect_with_max_prompt_timeout(EncryptionType::Dh, PROMPT_SECONDS)
            .map_err(keyring_error)
    }

    fn attributes<'a>(&'a self, key: &'a str) -> HashMap<&'a str, &'a str> {
        HashMap::from([("application", "ucdesk"), ("profile", self.profile.as_str()), ("key", key)])
    }

    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        let ss = self.service()?;
        let found = ss.search_items(self.attributes(key)).map_err(keyring_error)?;
        let Some(item) = found.unlocked.into_iter().chain(found.locked).next() else { return Ok(None) };
        item.ensure_unlocked().map_err(keyring_error)?;
        let bytes = item.get_secret().map_err(keyring_error)?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| SecretError::Keyring(format!("the keyring item for {key} is not text")))
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let ss = self.service()?;
        let collection = ss.get_default_collection().map_err(keyring_error)?;
        collection.ensure_unlocked().map_err(keyring_error)?;
        let label = format!("ucdesk: {key}");
        collection
            .create_item(&label, self.attributes(key), value.as_bytes(), true, "text/plain")
            .map(drop)
            .map_err(keyring_error)
    }

    fn delete(&self, key: &str) -> Result<bool, SecretError> {
        let ss = self.service()?;
        let found = ss.search_items(self.attributes(key)).map_err(keyring_error)?;
        let mut any = false;
        for item in found.unlocked.into_iter().chain(found.locked) {
            item.delete().map_err(keyring_error)?;
            any = true;
        }
        Ok(any)
    }
}

fn keyring_error(e: dbus_secret_service::Error) -> SecretError {
    SecretError::Keyring(e.to_string())
}

/// The store of a profile: the keyring or `data/secrets.sealed` (key in
/// `config/secrets.key`), as `UCDESK_SECRET_STORE` and the session allow.
pub fn profile_store(home: &crate::Home) -> Result<SecretStore, SecretError> {
    let mut store =
        SecretStore::sealed_file(home.data.join("secrets.sealed"), home.config.join("secrets.key"));
    let profile = home.config.to_string_lossy().into_owned();
    match std::env::var("UCDESK_SECRET_STORE").as_deref() {
        Ok("file") => {}
        Ok("keyring") => {
            store.keyring = Some(Keyring::connect_if_running(profile).ok_or_else(|| {
                SecretError::Keyring(
                    "UCDESK_SECRET_STORE=keyring, but no Secret Service answers on the session bus".into(),
                )
            })?);
        }
        Ok("auto") | Err(_) => store.keyring = Keyring::connect_if_running(profile),
        Ok(other) => {
            return Err(SecretError::Keyring(format!(
                "UCDESK_SECRET_STORE={other:?}: expected keyring, file or auto"
            )));
        }
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = SealedFile::new(dir.path().join("s"), dir.path().join("k"));
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
        let store = SecretStore::sealed_file(dir.path().join("s"), dir.path().join("k"));
        store.set("a.b", "c").unwrap();
        let mut sealed: Sealed =
            serde_json::from_slice(&std::fs::read(dir.path().join("s")).unwrap()).unwrap();
        sealed.ciphertext[0] ^= 1;
        std::fs::write(dir.path().join("s"), serde_json::to_vec(&sealed).unwrap()).unwrap();
        assert!(matches!(store.get("a.b"), Err(SecretError::Corrupt(_))));
    }
}
