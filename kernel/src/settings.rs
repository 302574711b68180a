//! Settings: one JSON file per profile, keys `plugin_id.name`, values checked against
//! the schema each plugin declares in its manifest.
//!
//! Admin policy can preset or lock values ([`SettingsStore::lock`]); a locked value wins
//! over the user's and cannot be changed from the CLI or the preferences page. With the
//! policy's *shared configuration*, settings a plugin declares `shared` (login account,
//! phone mode, edition) live in one machine-wide file that every user's ucdesk reads.

use crate::error::SettingsError;
use serde_json::{Map, Value};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Mutex,
};
use ucdesk_plugin_api::{Manifest, SettingKind};

/// One JSON settings file and its contents in memory.
struct FileMap {
    path: PathBuf,
    values: Mutex<Map<String, Value>>,
}

impl FileMap {
    /// A corrupt file is an error, not silently replaced: settings must never be lost.
    fn read(path: &Path) -> Result<Map<String, Value>, SettingsError> {
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => {
                    Err(SettingsError::Corrupt { path: path.into(), reason: "not a JSON object".into() })
                }
                Err(e) => Err(SettingsError::Corrupt { path: path.into(), reason: e.to_string() }),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
            Err(e) => Err(SettingsError::Io { path: path.into(), source: e }),
        }
    }

    fn open(path: &Path) -> Result<FileMap, SettingsError> {
        Ok(FileMap { path: path.into(), values: Mutex::new(FileMap::read(path)?) })
    }

    /// Picks up what other processes wrote (the shared file has several writers).
    fn reload(&self) -> Result<(), SettingsError> {
        let fresh = FileMap::read(&self.path)?;
        *self.values.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Value> {
        self.values.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    fn insert(&self, key: &str, value: Value) -> Result<(), SettingsError> {
        let mut values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let previous = values.insert(key.to_string(), value);
        if let Err(e) = self.save(&values) {
            // Keep memory and disk in agreement.
            match previous {
                Some(p) => values.insert(key.to_string(), p),
                None => values.remove(key),
            };
            return Err(e);
        }
        Ok(())
    }

    /// Writes atomically (temp file + rename) so a crash or full disk never leaves a
    /// half-written settings file.
    fn save(&self, values: &Map<String, Value>) -> Result<(), SettingsError> {
        let io = |source| SettingsError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension(format!("json.{}.tmp", std::process::id()));
        let bytes = serde_json::to_vec_pretty(values).expect("a JSON map serializes");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// The settings of one profile.
pub struct SettingsStore {
    user: FileMap,
    /// The machine-wide file of shared settings, when the policy enables it.
    shared: Option<FileMap>,
    /// Locked by policy: key -> value.
    locked: Mutex<BTreeMap<String, Value>>,
    /// Preset by policy: the default the user starts from.
    presets: Mutex<BTreeMap<String, Value>>,
}

/// Splits `plugin_id.name`.
pub fn split_key(key: &str) -> Result<(&str, &str), SettingsError> {
    key.split_once('.')
        .filter(|(p, n)| !p.is_empty() && !n.is_empty())
        .ok_or_else(|| SettingsError::BadKey(key.to_string()))
}

impl SettingsStore {
    /// Opens (or starts) the user's settings file.
    pub fn open(path: &Path) -> Result<SettingsStore, SettingsError> {
        Ok(SettingsStore {
            user: FileMap::open(path)?,
            shared: None,
            locked: Mutex::default(),
            presets: Mutex::default(),
        })
    }

    /// Keeps settings declared `shared` in the machine-wide file at `path`.
    pub fn share(&mut self, path: &Path) -> Result<(), SettingsError> {
        self.shared = Some(FileMap::open(path)?);
        Ok(())
    }

    /// Locks `key` to `value` (admin policy).
    pub fn lock(&self, key: &str, value: Value) {
        self.locked.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), value);
    }

    /// Presets `key` to `value` (admin policy): used until the user sets their own.
    pub fn preset(&self, key: &str, value: Value) {
        self.presets.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_string(), value);
    }

    pub fn is_locked(&self, key: &str) -> bool {
        self.locked.lock().unwrap_or_else(|p| p.into_inner()).contains_key(key)
    }

    /// The file a key is kept in: the shared one for settings declared `shared`.
    fn file_for(&self, key: &str, manifest: Option<&Manifest>) -> &FileMap {
        let shared_decl =
            split_key(key).ok().and_then(|(_, name)| manifest?.setting(name)).is_some_and(|d| d.shared);
        match (&self.shared, shared_decl) {
            (Some(shared), true) => shared,
            _ => &self.user,
        }
    }

    /// The effective value: locked, else stored, else preset, else the manifest default.
    pub fn get(&self, key: &str, manifest: Option<&Manifest>) -> Option<Value> {
        if let Some(v) = self.locked.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(v.clone());
        }
        let file = self.file_for(key, manifest);
        if !std::ptr::eq(file, &self.user)
            && let Err(e) = file.reload()
        {
            tracing::warn!("{e}");
        }
        if let Some(v) = file.get(key) {
            return Some(v);
        }
        if let Some(v) = self.presets.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(v.clone());
        }
        let (_, name) = split_key(key).ok()?;
        manifest?.setting(name)?.default.clone()
    }

    /// Checks `value` against the plugin's schema and stores it.
    pub fn set(&self, key: &str, value: Value, manifest: &Manifest) -> Result<(), SettingsError> {
        let (_, name) = split_key(key)?;
        let decl = manifest.setting(name).ok_or_else(|| SettingsError::Unknown(key.to_string()))?;
        if decl.kind == SettingKind::Secret {
            return Err(SettingsError::IsSecret(key.to_string()));
        }
        if self.is_locked(key) {
            return Err(SettingsError::Locked(key.to_string()));
        }
        decl.check(&value).map_err(|reason| SettingsError::Invalid { key: key.to_string(), reason })?;
        let file = self.file_for(key, Some(manifest));
        if !std::ptr::eq(file, &self.user) {
            file.reload()?;
        }
        file.insert(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> Manifest {
        Manifest::from_json(
            r#"{"id":"hello","version":"1.0.0","api_version":"1.0.0",
                "settings":[{"name":"salutation","type":"text","max_len":5,"default":"Hello"},
                            {"name":"password","type":"secret"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn set_checks_persists_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let store = SettingsStore::open(&path).unwrap();
        let m = manifest();
        assert_eq!(store.get("hello.salutation", Some(&m)), Some(json!("Hello")));
        assert!(matches!(
            store.set("hello.salutation", json!("Greetings"), &m),
            Err(SettingsError::Invalid { .. })
        ));
        assert!(matches!(store.set("hello.nope", json!(1), &m), Err(SettingsError::Unknown(_))));
        assert!(matches!(store.set("hello.password", json!("x"), &m), Err(SettingsError::IsSecret(_))));
        store.set("hello.salutation", json!("Hi"), &m).unwrap();
        let again = SettingsStore::open(&path).unwrap();
        assert_eq!(again.get("hello.salutation", Some(&m)), Some(json!("Hi")));
        again.lock("hello.salutation", json!("Yo"));
        assert!(matches!(again.set("hello.salutation", json!("Hey"), &m), Err(SettingsError::Locked(_))));
        assert_eq!(again.get("hello.salutation", Some(&m)), Some(json!("Yo")));
    }

    #[test]
    fn a_corrupt_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(matches!(SettingsStore::open(&path), Err(SettingsError::Corrupt { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
    }
}
