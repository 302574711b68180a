//! The presence contract (since plugin-api 1.3): one unified status per person.
//!
//! The provider of the `presence` namespace (the chat plugin) publishes
//! [`PresenceChanged`] for the user and every contact, and answers `presence.set`.
//! Other plugins use it without knowing the provider: the phone sets `on_call`, a
//! calendar plugin sets a busy "In a meeting".

use super::Contract;
use serde::{Deserialize, Serialize};

/// Topic of [`PresenceChanged`].
pub const TOPIC_CHANGED: &str = "presence.changed";

/// Service names of the `presence` namespace (since plugin-api 1.5).
pub const SET: &str = "presence.set";
pub const LIST: &str = "presence.list";
/// `{idle_seconds}`: the shell's report of user inactivity (away when idle).
pub const ACTIVITY: &str = "presence.activity";

/// Request of [`ACTIVITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub idle_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Available,
    Away,
    Busy,
    /// Do not disturb: chat notifications (mentions included) are suppressed.
    Dnd,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Away => "away",
            Status::Busy => "busy",
            Status::Dnd => "dnd",
            Status::Offline => "offline",
        }
    }
}

/// Which kind of client a person is connected with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
    Web,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Web => "web",
        }
    }
}

/// A person's presence changed (the user's own has `me: true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceChanged {
    /// Bare address.
    pub jid: String,
    #[serde(default)]
    pub me: bool,
    pub status: Status,
    #[serde(default)]
    pub message: Option<String>,
    /// The devices connected now (empty when offline).
    #[serde(default)]
    pub devices: Vec<Device>,
    /// On a call, from any device (the phone's state, not a status).
    #[serde(default)]
    pub on_call: bool,
    /// RFC 3339: when the person was last seen active (for offline people).
    #[serde(default)]
    pub last_active: Option<String>,
    /// RFC 3339: when a status the user set reverts to available.
    #[serde(default)]
    pub expires: Option<String>,
}
impl PresenceChanged {
    /// The person's presence in a few lines for a tooltip (since 1.13): status and
    /// message, devices, phone state, last activity.
    pub fn describe(&self) -> String {
        let status = match self.status {
            Status::Available => "Available",
            Status::Away => "Away",
            Status::Busy => "Busy",
            Status::Dnd => "Do not disturb",
            Status::Offline => "Offline",
        };
        let mut lines = vec![match &self.message {
            Some(m) if !m.is_empty() => format!("{status}: {m}"),
            _ => status.to_string(),
        }];
        if !self.devices.is_empty() {
            let names: Vec<&str> = self.devices.iter().map(|d| d.as_str()).collect();
            lines.push(format!("Connected on {}", names.join(", ")));
        }
        if self.on_call {
            lines.push("On a call".into());
        }
        if let Some(l) = &self.last_active {
            lines.push(format!("Last active {l}"));
        }
        lines.join("\n")
    }
}

impl Contract for PresenceChanged {
    const SCHEMA: &'static str = "presence.changed/v1";
}

/// `presence.set`: the user's status, with an optional message and an expiry in
/// seconds (after which it reverts to available). `on_call` may be set alone (by the
/// phone) and leaves the status as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Set {
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub on_call: Option<bool>,
}
