//! Settings: one JSON file per profile, keys `plugin_id.name`, values checked against
//! the schema each plugin declares in its manifest.
//!
//! Admin policy can preset or lock values ([`SettingsStore::lock`]); a locked value wins
//! over the user's and cannot be changed from the CLI or the preferences page.

use crate::error::SettingsError;
use serde_json::{Map, Value};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Mutex,
};
use ucdesk_plugin_api::{Manifest, SettingKind};

/// The user's settings of one profile.
pub struct SettingsStore {
    path: PathBuf,
    values: Mutex<Map<String, Value>>,
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
    /// Opens (or starts) the settings file. A corrupt file is an error, not silently
    /// replaced: the user's settings must never be lost.
    pub fn open(path: &Path) -> Result<SettingsStore, SettingsError> {
        let values = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(SettingsError::Corrupt {
                        path: path.into(),
                        reason: "not a JSON object".into(),
                    });
                }
                Err(e) => {
                    return Err(SettingsError::Corrupt { path: path.into(), reason: e.to_string() });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(SettingsError::Io { path: path.into(), source: e });
            }
        };
        Ok(SettingsStore {
            path: path.into(),
            values: Mutex::new(values),
            locked: Mutex::default(),
            presets: Mutex::default(),
        })
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

    /// The effective value: locked, else stored, else preset, else the manifest default.
    pub fn get(&self, key: &str, manifest: Option<&Manifest>) -> Option<Value> {
        if let Some(v) = self.locked.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(v.clone());
        }
        if let Some(v) = self.values.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            return Some(v.clone());
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
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(values).expect("a JSON map serializes");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
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
