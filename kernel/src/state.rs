//! The states a plugin can be in, and the row `ucdesk plugins` prints for each.

use serde::{Deserialize, Serialize};
use std::{fmt, path::PathBuf};
use ucdesk_plugin_api::{Dependency, Manifest};

/// Where a plugin stands after an activation pass (or a survey, which starts nothing).
/// Every state but `Active`, `Installed` and `Starting` comes with a human reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    /// Found and checked, not started yet (only seen during an activation pass).
    Starting,
    /// Running.
    Active,
    /// Would start with the app; seen when the plugins are listed while the app is not
    /// running (a listing runs no plugin: it would register a phone, log in to chat).
    Installed,
    /// Panicked or returned an error from `new`/`start`; no longer routed to.
    Failed,
    /// Built against an incompatible plugin-api, or not a ucdesk plugin at all.
    Incompatible,
    /// Cannot run because of its dependencies (missing, conflicting, cyclic, failed),
    /// or was shadowed by another library of the same id.
    Disabled,
    /// Its license feature is missing or expired.
    Locked,
    /// Policy refused it (allow-list, hash, signature) before it was loaded.
    Refused,
    /// Cleanly stopped at shutdown.
    Stopped,
}

impl PluginState {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::Starting => "starting",
            PluginState::Active => "active",
            PluginState::Installed => "installed",
            PluginState::Failed => "failed",
            PluginState::Incompatible => "incompatible",
            PluginState::Disabled => "disabled",
            PluginState::Locked => "locked",
            PluginState::Refused => "refused",
            PluginState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for PluginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One discovered plugin as reported by `ucdesk plugins --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub id: String,
    /// The plugin's own version (null when its manifest could not be read).
    pub version: Option<String>,
    /// The plugin-api version it was built with.
    pub api_version: Option<String>,
    pub path: PathBuf,
    pub state: PluginState,
    pub reason: Option<String>,
    pub requires: Vec<Dependency>,
    pub feature: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub panels: Vec<String>,
    /// Contract namespaces it serves besides its id.
    #[serde(default)]
    pub provides: Vec<String>,
    /// Its setting keys (`softphone.dnd`, ...); `ucdesk settings list` tells more.
    #[serde(default)]
    pub settings: Vec<String>,
}

impl PluginInfo {
    pub(crate) fn new(id: &str, path: PathBuf) -> Self {
        PluginInfo {
            id: id.to_string(),
            version: None,
            api_version: None,
            path,
            state: PluginState::Starting,
            reason: None,
            requires: Vec::new(),
            feature: None,
            name: None,
            services: Vec::new(),
            panels: Vec::new(),
            provides: Vec::new(),
            settings: Vec::new(),
        }
    }

    pub(crate) fn fill_from(&mut self, m: &Manifest) {
        self.version = Some(m.version.to_string());
        self.api_version = Some(m.api_version.to_string());
        self.requires = m.requires.clone();
        self.feature = m.feature.clone();
        self.name = Some(m.name.clone());
        self.services = m.services.iter().map(|s| s.name.clone()).collect();
        self.panels = m.panels.iter().map(|p| p.id.clone()).collect();
        self.provides = m.provides.clone();
        self.settings = m.settings.iter().map(|s| format!("{}.{}", m.id, s.name)).collect();
    }

    pub(crate) fn set(&mut self, state: PluginState, reason: Option<String>) {
        self.state = state;
        self.reason = reason;
    }
}

/// One setting as `ucdesk settings list` shows it: what it is and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingRow {
    pub key: String,
    pub label: String,
    pub kind: ucdesk_plugin_api::SettingKind,
    pub default: Option<serde_json::Value>,
    /// The effective value (locked, stored, or the default); `None` for secrets, which
    /// are listed by name only.
    pub value: Option<serde_json::Value>,
    /// The admin's policy fixes it.
    pub locked: bool,
}
