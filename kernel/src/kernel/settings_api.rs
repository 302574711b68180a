//! The kernel's settings and secrets as the CLI, the shell and the control socket see
//! them: effective values, the list with kinds and locks, checked changes (which the
//! owning plugin hears of), and secrets that are stored but never read back out.

use super::Kernel;
use crate::{
    error::{SecretError, SettingsError},
    settings::split_key,
    state::SettingRow,
};
use serde_json::Value;
use ucdesk_plugin_api::SettingKind;

impl Kernel {
    /// A setting's effective value (locked, stored, or the manifest default).
    pub fn setting(&self, key: &str) -> Result<Option<Value>, SettingsError> {
        let (plugin, name) = split_key(key)?;
        let manifest =
            self.manifest(plugin).ok_or_else(|| SettingsError::UnknownPlugin(plugin.to_string()))?;
        let decl = manifest.setting(name).ok_or_else(|| SettingsError::Unknown(key.to_string()))?;
        if decl.kind == SettingKind::Secret {
            return Err(SettingsError::IsSecret(key.to_string()));
        }
        Ok(self.inner.settings.get(key, Some(&manifest)))
    }

    /// Every setting of `plugin` (or of every installed plugin), with its kind,
    /// default, effective value and lock; secrets by name only. Unknown plugin: empty.
    pub fn settings_list(&self, plugin: Option<&str>) -> Vec<SettingRow> {
        let ids: Vec<String> = match plugin {
            Some(id) => vec![id.to_string()],
            None => self.plugins().into_iter().map(|p| p.id).collect(),
        };
        let mut rows = Vec::new();
        for manifest in ids.iter().filter_map(|id| self.manifest(id)) {
            for decl in &manifest.settings {
                let key = format!("{}.{}", manifest.id, decl.name);
                let secret = decl.kind == SettingKind::Secret;
                rows.push(SettingRow {
                    value: if secret { None } else { self.inner.settings.get(&key, Some(&manifest)) },
                    locked: self.setting_locked(&key),
                    key,
                    label: decl.label.clone(),
                    kind: decl.kind.clone(),
                    default: if secret { None } else { decl.default.clone() },
                });
            }
        }
        rows
    }

    /// Whether the admin's policy locks `key` (the preferences page shows it locked).
    pub fn setting_locked(&self, key: &str) -> bool {
        self.inner.settings.is_locked(key)
    }

    /// Changes a setting (checked against the schema; refused when locked) and tells
    /// the owning plugin if it runs.
    pub fn set_setting(&self, key: &str, value: Value) -> Result<(), SettingsError> {
        let (plugin, name) = split_key(key)?;
        let manifest =
            self.manifest(plugin).ok_or_else(|| SettingsError::UnknownPlugin(plugin.to_string()))?;
        self.inner.settings.set(key, value.clone(), &manifest)?;
        self.inner.setting_changed(plugin, name, value);
        Ok(())
    }

    /// Turns command-line text into a value for `key`: text-like settings take the
    /// text as it is (so `ucdesk settings set chat.nick 42` stores "42"), the others
    /// parse it as JSON (`true`, `15`, `["a","b"]`).
    pub fn parse_setting(&self, key: &str, text: &str) -> Result<Value, SettingsError> {
        let (plugin, name) = split_key(key)?;
        let manifest =
            self.manifest(plugin).ok_or_else(|| SettingsError::UnknownPlugin(plugin.to_string()))?;
        let decl = manifest.setting(name).ok_or_else(|| SettingsError::Unknown(key.to_string()))?;
        match decl.kind {
            SettingKind::Secret => Err(SettingsError::IsSecret(key.to_string())),
            SettingKind::Text { .. } | SettingKind::Enum { .. } | SettingKind::Device { .. } => {
                Ok(serde_json::from_str::<String>(text)
                    .map_or_else(|_| Value::String(text.to_string()), Value::String))
            }
            _ => serde_json::from_str(text).map_err(|e| SettingsError::Invalid {
                key: key.to_string(),
                reason: format!("expects JSON such as true, 15 or [\"a\"] ({e})"),
            }),
        }
    }

    /// Where secrets are kept (for messages).
    pub fn secret_backend(&self) -> &'static str {
        self.inner.secrets.backend()
    }

    /// A secret of the shell itself (a login profile's password), kept in the same
    /// store as the plugins' under `shell.<name>`, a namespace no plugin can own.
    pub fn shell_secret(&self, name: &str) -> Result<Option<String>, SecretError> {
        self.inner.secrets.get(&format!("shell.{name}"))
    }

    pub fn set_shell_secret(&self, name: &str, value: &str) -> Result<(), SecretError> {
        self.inner.secrets.set(&format!("shell.{name}"), value)
    }

    pub fn delete_shell_secret(&self, name: &str) -> Result<bool, SecretError> {
        self.inner.secrets.delete(&format!("shell.{name}"))
    }

    /// Stores a secret declared by an installed plugin (a setting of kind `secret`).
    pub fn set_secret(&self, key: &str, value: &str) -> Result<(), SecretError> {
        let declared = split_key(key).ok().and_then(|(plugin, name)| {
            let m = self.manifest(plugin)?;
            Some(m.setting(name)?.kind == SettingKind::Secret)
        });
        if declared != Some(true) {
            return Err(SecretError::NotASecret(key.to_string()));
        }
        self.inner.secrets.set(key, value)?;
        // The owner hears of it as of any setting (a phone stuck in auth_failed retries
        // with the new password), but the notice carries no value: secrets never travel
        // on the bus. The plugin reads it with `ctx.secret`.
        if let Ok((plugin, name)) = split_key(key) {
            self.inner.setting_changed(plugin, name, Value::Null);
        }
        Ok(())
    }
}
